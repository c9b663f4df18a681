package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// libraryLogs receives the log lines of the libraries whose logger is one
// per process, not per client: go-redis (redis.SetLogger), the MySQL driver
// (mysql.SetLogger) and the standard library's log package. Their defaults
// write plain text to stderr, which would break --logformat json. main
// installs one libraryLogs for them, once, before any command runs; the
// serving command then points it at the server's slog logger (use), so
// those lines come out in the server's format, marked with the library.
//
// Setting these process-global loggers is acceptable because a process runs
// one command with one configuration: there is never a second server
// logger in the same process to route them to. Tests that build servers in
// process do not go through main and leave the libraries' loggers alone.
type libraryLogs struct {
	log atomic.Pointer[slog.Logger]
}

// newLibraryLogs writes to w in slog's text format until use is called.
func newLibraryLogs(w io.Writer) *libraryLogs {
	l := &libraryLogs{}
	l.log.Store(slog.New(slog.NewTextHandler(w, nil)))
	return l
}

// use sends the libraries' lines to log from now on.
func (l *libraryLogs) use(log *slog.Logger) { l.log.Store(log) }

// line logs one library line as a warning: these libraries log what went
// wrong (a connection closed badly, a setting clamped), never routine.
func (l *libraryLogs) line(ctx context.Context, library, msg string) {
	l.log.Load().Log(ctx, slog.LevelWarn, strings.TrimSpace(msg), "library", library)
}

// install makes l the logger of go-redis, the MySQL driver and the log
// package. Called once, by main.
func (l *libraryLogs) install() {
	redis.SetLogger(redisLog{l})
	_ = mysql.SetLogger(mysqlLog{l}) // fails only for a nil logger
	stdlog.SetFlags(0)
	stdlog.SetPrefix("")
	stdlog.SetOutput(stdLogWriter{l})
}

// redisLog is go-redis's Logging.
type redisLog struct{ l *libraryLogs }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.line(ctx, "go-redis", fmt.Sprintf(format, v...))
}

// mysqlLog is the MySQL driver's Logger.
type mysqlLog struct{ l *libraryLogs }

func (m mysqlLog) Print(v ...any) { m.l.line(context.Background(), "mysql", fmt.Sprint(v...)) }

// stdLogWriter is the log package's output: one line per write.
type stdLogWriter struct{ l *libraryLogs }

func (w stdLogWriter) Write(p []byte) (int, error) {
	w.l.line(context.Background(), "log", string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// libraryLogsKey carries main's libraryLogs in a command's context.
type libraryLogsKey struct{}

// withLibraryLogs returns ctx carrying l.
func withLibraryLogs(ctx context.Context, l *libraryLogs) context.Context {
	return context.WithValue(ctx, libraryLogsKey{}, l)
}

// routeLibraryLogs points the libraries' lines at log when ctx carries
// main's libraryLogs (in-process tests do not).
func routeLibraryLogs(ctx context.Context, log *slog.Logger) {
	if l, ok := ctx.Value(libraryLogsKey{}).(*libraryLogs); ok {
		l.use(log)
	}
}
