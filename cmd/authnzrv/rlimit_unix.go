//go:build unix

package main

import (
	"log/slog"
	"syscall"
)

// descriptorReserve is what the server needs besides client connections:
// the listener, database and Redis pools, files.
const descriptorReserve = 128

// warnDescriptors logs a warning when maxconns client connections would not
// fit in the process's descriptor limit (which Go raises to the hard limit
// at start).
func warnDescriptors(log *slog.Logger, maxConns int) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if uint64(maxConns)+descriptorReserve > rl.Cur {
		log.Warn("maxconns is above what the open-file limit allows: connections may fail with 'too many open files'; lower --maxconns or raise the limit (ulimit -n, LimitNOFILE=)",
			"maxconns", maxConns, "open_file_limit", rl.Cur)
	}
}
