package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/gommon/log"
)

// syncBuffer is a buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLines decodes every line of out as a JSON object.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestEchoLogsThroughServerLogger (issue 16 item 7): Echo's own log line
// ("response already committed", from a handler that answers twice) comes
// out of the server's JSON logger, marked source echo, and so do lines
// Echo's standard-library logger writes.
func TestEchoLogsThroughServerLogger(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&out, nil)), hosts: hostPattern("localhost")}
	e := s.router()
	e.GET("/twice", func(c echo.Context) error {
		_ = c.String(http.StatusOK, "one")
		return c.String(http.StatusOK, "two")
	})
	req := httptest.NewRequest(http.MethodGet, "/twice", nil)
	req.Host = "localhost"
	e.ServeHTTP(httptest.NewRecorder(), req)
	e.StdLogger.Print("http: a standard-library line")
	lines := jsonLines(t, out.String())
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", out.String())
	}
	if l := lines[0]; l["msg"] != "response already committed" || l["level"] != "WARN" || l["source"] != "echo" {
		t.Errorf("Echo's line: %v", l)
	}
	if l := lines[1]; l["msg"] != "http: a standard-library line" || l["level"] != "ERROR" || l["source"] != "echo" {
		t.Errorf("Echo's standard-library line: %v", l)
	}
}

// TestEchoLoggerLevels: every method of Echo's logger interface writes one
// JSON line at the mapped level when at or above Echo's level, nothing
// below it; Print* are unfiltered; a JSON object's "message" is the
// message and its other keys attributes.
func TestEchoLoggerLevels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		level log.Lvl
		call  func(l echo.Logger)
		want  map[string]any // nil: no line
	}{
		{"debug below warn", log.WARN, func(l echo.Logger) { l.Debugf("d %d", 1) }, nil},
		{"info below warn", log.WARN, func(l echo.Logger) { l.Info("i") }, nil},
		{"debug at debug", log.DEBUG, func(l echo.Logger) { l.Debugf("d %d", 1) }, map[string]any{"msg": "d 1", "level": "DEBUG"}},
		{"infoj at info", log.INFO, func(l echo.Logger) { l.Infoj(log.JSON{"message": "m", "k": "v"}) }, map[string]any{"msg": "m", "k": "v", "level": "INFO"}},
		{"warn", log.WARN, func(l echo.Logger) { l.Warn("w", 2) }, map[string]any{"msg": "w2", "level": "WARN"}},
		{"warnf", log.WARN, func(l echo.Logger) { l.Warnf("w%s", "f") }, map[string]any{"msg": "wf", "level": "WARN"}},
		{"errorf above warn", log.WARN, func(l echo.Logger) { l.Errorf("e%d", 3) }, map[string]any{"msg": "e3", "level": "ERROR"}},
		{"errorj", log.WARN, func(l echo.Logger) { l.Errorj(log.JSON{"message": "ej"}) }, map[string]any{"msg": "ej", "level": "ERROR"}},
		{"error below off", log.OFF, func(l echo.Logger) { l.Error("e") }, nil},
		{"print ignores the level", log.OFF, func(l echo.Logger) { l.Print("p") }, map[string]any{"msg": "p", "level": "INFO"}},
		{"printj ignores the level", log.OFF, func(l echo.Logger) { l.Printj(log.JSON{"message": "pj", "n": 1}) }, map[string]any{"msg": "pj", "n": 1.0, "level": "INFO"}},
		{"output writes a line", log.WARN, func(l echo.Logger) { l.Output().Write([]byte("from output\n")) }, map[string]any{"msg": "from output", "level": "ERROR"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out syncBuffer
			l := newEchoLogger(slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
			l.SetOutput(&bytes.Buffer{}) // ignored
			l.SetLevel(tc.level)
			if l.Level() != tc.level {
				t.Fatalf("Level = %v", l.Level())
			}
			tc.call(l)
			if tc.want == nil {
				if out.String() != "" {
					t.Fatalf("logged %q", out.String())
				}
				return
			}
			lines := jsonLines(t, out.String())
			if len(lines) != 1 {
				t.Fatalf("lines: %q", out.String())
			}
			for k, v := range tc.want {
				if lines[0][k] != v {
					t.Errorf("%s = %v, want %v (%v)", k, lines[0][k], v, lines[0])
				}
			}
			if lines[0]["source"] != "echo" {
				t.Errorf("no source: %v", lines[0])
			}
		})
	}
}
