package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/client"
)

// TestGracefulShutdownUnderLoad: SIGTERM while requests are in flight; every
// one of them is answered, and afterwards connections are refused.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte(clusterKey), 0o600)
	port := freePort(t)
	env := []string{
		"AUTHNZERVER_AUTHDB=sqlite:///" + filepath.Join(dir, "db.sqlite"), "AUTHNZERVER_SECRET=" + secret,
		"AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_RATELIMITS=none",
		"AUTHNZERVER_ADMIN_EMAIL=boss@example.org", "AUTHNZERVER_ADMIN_PASSWORD=the boss password 1!",
		"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", fmt.Sprintf("AUTHNZERVER_PORT=%d", port),
	}
	cmd := start(t, bin, port, env)
	c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), clusterKey, client.WithHTTPClient(&http.Client{
		// A fresh connection per request: an idle keep-alive connection closed
		// by the shutdown is a client-side race, not a dropped request.
		Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second,
	}))
	if err != nil {
		t.Fatal(err)
	}
	var answered, refused, dropped atomic.Int64
	var inflight atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Failed password checks of unknown e-mails are answered after the
	// lock-out back-off (1 s for a first failure): requests that stay in
	// flight without keeping the CPU busy.
	var seq atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				inflight.Add(1)
				email := fmt.Sprintf("nobody-%d@example.org", seq.Add(1))
				_, err := c.Do(context.Background(), "user-passcheck-nosession", map[string]any{"email": email, "password": "wrong"})
				inflight.Add(-1)
				var se *client.StatusError
				switch {
				case err == nil:
					answered.Add(1)
				case isConnRefused(err):
					refused.Add(1)
					time.Sleep(10 * time.Millisecond)
				case errors.As(err, &se):
					t.Errorf("HTTP error during shutdown: %v", err)
				default:
					dropped.Add(1)
					t.Errorf("request dropped: %v", err)
				}
			}
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); answered.Load() < 8 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	// No new requests from here on: the connections of those in flight are
	// accepted well before the signal (a connection still in the kernel's
	// accept queue when the listener closes is reset, which is "not
	// accepted", but a client cannot tell that from a drop).
	close(stop)
	time.Sleep(100 * time.Millisecond)
	before, busy := answered.Load(), inflight.Load()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("server did not exit within the drain timeout")
	}
	wg.Wait()
	// After the exit, new connections are refused.
	if _, err := c.Do(context.Background(), "session-exists", map[string]any{"session_token": "x"}); !isConnRefused(err) {
		t.Fatalf("after exit: %v, want connection refused", err)
	}
	t.Logf("answered %d (%d before SIGTERM, %d in flight at SIGTERM), dropped %d", answered.Load(), before, busy, dropped.Load())
	if before == 0 || busy == 0 || answered.Load() != before+busy || dropped.Load() != 0 {
		t.Fatalf("answered before SIGTERM %d, dropped %d", before, dropped.Load())
	}
}

func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
