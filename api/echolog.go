package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync/atomic"

	"github.com/labstack/gommon/log"
)

// echoLogger is Echo's logger (echo.Logger) writing through the server's
// slog logger, so that Echo's own lines (e.g. "response already committed")
// come out in the server's format, JSON with --logformat json, marked
// "source": "echo". Echo's level filters as Echo's own logger does
// (default: warnings and above); the slog handler's level applies after.
type echoLogger struct {
	log    *slog.Logger
	level  atomic.Uint32 // a log.Lvl
	prefix atomic.Pointer[string]
}

// newEchoLogger returns Echo's logger on l.
func newEchoLogger(l *slog.Logger) *echoLogger {
	e := &echoLogger{log: l.With("source", "echo")}
	e.level.Store(uint32(log.WARN))
	prefix := "echo"
	e.prefix.Store(&prefix)
	return e
}

// slogLevel maps Echo's levels to slog's.
func slogLevel(l log.Lvl) slog.Level {
	switch l {
	case log.DEBUG:
		return slog.LevelDebug
	case log.INFO:
		return slog.LevelInfo
	case log.WARN:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (e *echoLogger) emit(l log.Lvl, msg string, attrs ...any) {
	if l < log.Lvl(e.level.Load()) {
		return
	}
	e.log.Log(context.Background(), slogLevel(l), msg, attrs...)
}

func (e *echoLogger) emitJSON(l log.Lvl, j log.JSON) {
	if l < log.Lvl(e.level.Load()) {
		return
	}
	e.logJSON(slogLevel(l), j)
}

// logJSON logs a JSON object's "message" as the message and its other keys
// as attributes.
func (e *echoLogger) logJSON(l slog.Level, j log.JSON) {
	keys := make([]string, 0, len(j))
	for k := range j {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]any, 0, 2*len(keys))
	msg := ""
	for _, k := range keys {
		if k == "message" || k == "msg" {
			msg = fmt.Sprint(j[k])
			continue
		}
		attrs = append(attrs, k, j[k])
	}
	e.log.Log(context.Background(), l, msg, attrs...)
}

// lineWriter logs each Write as one line of the logger, at error level
// (Echo hands Output to the standard library's logger, for its server's
// errors).
type lineWriter struct{ e *echoLogger }

func (w lineWriter) Write(p []byte) (int, error) {
	w.e.emit(log.ERROR, string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// Output is a writer whose every write becomes one log line.
func (e *echoLogger) Output() io.Writer { return lineWriter{e} }

// SetOutput is ignored: the lines go to the server's logger.
func (e *echoLogger) SetOutput(io.Writer) {}

// Prefix returns the prefix (unused in the lines).
func (e *echoLogger) Prefix() string { return *e.prefix.Load() }

// SetPrefix sets the prefix.
func (e *echoLogger) SetPrefix(p string) { e.prefix.Store(&p) }

// Level returns the lowest level logged.
func (e *echoLogger) Level() log.Lvl { return log.Lvl(e.level.Load()) }

// SetLevel sets the lowest level logged.
func (e *echoLogger) SetLevel(v log.Lvl) { e.level.Store(uint32(v)) }

// SetHeader is ignored: the slog handler formats the lines.
func (e *echoLogger) SetHeader(string) {}

// Print logs at info level (unfiltered, as Echo's own logger does).
func (e *echoLogger) Print(i ...any) {
	e.log.Info(fmt.Sprint(i...))
}

// Printf logs at info level, unfiltered.
func (e *echoLogger) Printf(format string, args ...any) { e.log.Info(fmt.Sprintf(format, args...)) }

// Printj logs a JSON object's keys as attributes, unfiltered.
func (e *echoLogger) Printj(j log.JSON) { e.logJSON(slog.LevelInfo, j) }

// Debug logs at debug level.
func (e *echoLogger) Debug(i ...any) { e.emit(log.DEBUG, fmt.Sprint(i...)) }

// Debugf logs at debug level.
func (e *echoLogger) Debugf(format string, args ...any) {
	e.emit(log.DEBUG, fmt.Sprintf(format, args...))
}

// Debugj logs at debug level.
func (e *echoLogger) Debugj(j log.JSON) { e.emitJSON(log.DEBUG, j) }

// Info logs at info level.
func (e *echoLogger) Info(i ...any) { e.emit(log.INFO, fmt.Sprint(i...)) }

// Infof logs at info level.
func (e *echoLogger) Infof(format string, args ...any) {
	e.emit(log.INFO, fmt.Sprintf(format, args...))
}

// Infoj logs at info level.
func (e *echoLogger) Infoj(j log.JSON) { e.emitJSON(log.INFO, j) }

// Warn logs at warning level.
func (e *echoLogger) Warn(i ...any) { e.emit(log.WARN, fmt.Sprint(i...)) }

// Warnf logs at warning level.
func (e *echoLogger) Warnf(format string, args ...any) {
	e.emit(log.WARN, fmt.Sprintf(format, args...))
}

// Warnj logs at warning level.
func (e *echoLogger) Warnj(j log.JSON) { e.emitJSON(log.WARN, j) }

// Error logs at error level.
func (e *echoLogger) Error(i ...any) { e.emit(log.ERROR, fmt.Sprint(i...)) }

// Errorf logs at error level.
func (e *echoLogger) Errorf(format string, args ...any) {
	e.emit(log.ERROR, fmt.Sprintf(format, args...))
}

// Errorj logs at error level.
func (e *echoLogger) Errorj(j log.JSON) { e.emitJSON(log.ERROR, j) }

// Fatal logs at error level and exits with status 1, as Echo's logger does.
func (e *echoLogger) Fatal(i ...any) { e.Error(i...); os.Exit(1) }

// Fatalj logs at error level and exits with status 1.
func (e *echoLogger) Fatalj(j log.JSON) { e.Errorj(j); os.Exit(1) }

// Fatalf logs at error level and exits with status 1.
func (e *echoLogger) Fatalf(format string, args ...any) { e.Errorf(format, args...); os.Exit(1) }

// Panic logs at error level and panics with the message.
func (e *echoLogger) Panic(i ...any) { s := fmt.Sprint(i...); e.Error(s); panic(s) }

// Panicj logs at error level and panics with the object.
func (e *echoLogger) Panicj(j log.JSON) { e.Errorj(j); panic(j) }

// Panicf logs at error level and panics with the message.
func (e *echoLogger) Panicf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	e.Error(s)
	panic(s)
}
