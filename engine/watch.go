package engine

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// signature summarises the policy files and the model: names, sizes and
// modification times.
func (e *Engine) signature() string {
	var b strings.Builder
	if e.o.ModelFile != "" {
		if st, err := os.Stat(e.o.ModelFile); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", e.o.ModelFile, st.Size(), st.ModTime().UnixNano())
		}
	}
	if e.o.PolicyDir != "" {
		_ = filepath.WalkDir(e.o.PolicyDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
				return nil
			}
			if info, err := d.Info(); err == nil {
				fmt.Fprintf(&b, "%s %d %d\n", p, info.Size(), info.ModTime().UnixNano())
			}
			return nil
		})
	}
	return b.String()
}

// Watch reloads the policies whenever a file of the policy directory or the
// model changes (checked every interval; 0 = one second), until ctx ends.
// A refused set is logged and the active one keeps serving.
func (e *Engine) Watch(ctx context.Context) error {
	return e.WatchEvery(ctx, time.Second)
}

// WatchEvery is Watch with a polling interval.
func (e *Engine) WatchEvery(ctx context.Context, interval time.Duration) error {
	if e.o.PolicyDir == "" && e.o.ModelFile == "" {
		<-ctx.Done()
		return ctx.Err()
	}
	if interval <= 0 {
		interval = time.Second
	}
	last := e.signature()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		sig := e.signature()
		if sig == last {
			continue
		}
		last = sig
		if err := e.Reload(ctx); err != nil {
			e.log.Error("policy reload refused; the previous policies keep serving", "error", err, "revision", e.Revision())
			continue
		}
		e.log.Info("policies reloaded", "revision", e.Revision())
	}
}
