package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/argon2"
)

func newHashersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hashers",
		Short: "password hashing tools",
		Args:  cobra.NoArgs,
	}
	var (
		target  time.Duration
		memory  uint32
		threads uint8
	)
	calibrate := &cobra.Command{
		Use:   "calibrate",
		Short: "find argon2id parameters that take about --target on this machine",
		Long: `calibrate hashes with the given memory and lanes and increases the number of
passes until one hash takes about --target, then prints the --argon2params
value to use (each measurement is the median of three hashes).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if memory < 8*uint32(threads) || threads == 0 {
				return fmt.Errorf("--memory must be at least 8 KiB per lane and --threads at least 1")
			}
			if target <= 0 {
				return fmt.Errorf("--target must be positive")
			}
			measure := func(t uint32) time.Duration {
				var d [3]time.Duration
				for i := range d {
					start := time.Now()
					argon2.IDKey([]byte("calibration password"), []byte("calibration salt"), t, memory, threads, 32)
					d[i] = time.Since(start)
				}
				a, b, c := d[0], d[1], d[2]
				if a > b {
					a, b = b, a
				}
				if b > c {
					b = c
				}
				if a > b {
					b = a
				}
				return b
			}
			best, bestD := uint32(1), measure(1)
			for t := uint32(2); t <= 20; t++ {
				d := measure(t)
				fmt.Fprintf(cmd.ErrOrStderr(), "t=%d: %v\n", t, d.Round(time.Millisecond))
				if d > target {
					break
				}
				best, bestD = t, d
			}
			fmt.Fprintf(cmd.OutOrStdout(), "m=%d,t=%d,p=%d\n", memory, best, threads)
			fmt.Fprintf(cmd.ErrOrStderr(), "one hash takes %v here (target %v); use --argon2params \"m=%d,t=%d,p=%d\"\n", bestD.Round(time.Millisecond), target, memory, best, threads)
			return nil
		},
	}
	defThreads := uint8(4)
	if n := runtime.NumCPU(); n < 4 {
		defThreads = uint8(n)
	}
	calibrate.Flags().DurationVar(&target, "target", 250*time.Millisecond, "time one hash should take")
	calibrate.Flags().Uint32Var(&memory, "memory", 65536, "memory per hash in KiB")
	calibrate.Flags().Uint8Var(&threads, "threads", defThreads, "lanes (parallelism)")
	cmd.AddCommand(calibrate)
	return cmd
}
