//go:build !unix

package main

import "log/slog"

// warnDescriptors has no descriptor limit to check on this system.
func warnDescriptors(*slog.Logger, int) {}
