package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/client"
)

// keepAlive is a raw client connection that made one request and stays
// open, idle, as a keep-alive client leaves it.
type keepAlive struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialKeepAlive connects to addr and, when request is not "", sends it and
// reads the reply (a connection with nothing sent is a slow-header client).
func dialKeepAlive(t *testing.T, addr, request string) *keepAlive {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	k := &keepAlive{conn: c, r: bufio.NewReader(c)}
	if request != "" {
		if err := k.roundTrip(request); err != nil {
			t.Fatalf("first request: %v", err)
		}
	}
	return k
}

func (k *keepAlive) roundTrip(request string) error {
	if _, err := io.WriteString(k.conn, request); err != nil {
		return err
	}
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// closedByServer waits (up to 10 s) for the server to close the
// connection.
func (k *keepAlive) closedByServer() bool {
	k.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := k.r.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

const getHealth = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

// startLimited serves h through newHTTPServer with lim on a local port.
func startLimited(t *testing.T, h http.Handler, lim serverLimits) (string, *connLimit) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs, cl := newHTTPServer(ln, h, lim)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(cl) }()
	t.Cleanup(func() {
		hs.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String(), cl
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
}

func testLimits(maxConns int) serverLimits {
	l := limitsOf(maxConns, 120)
	l.NewGrace = time.Hour
	return l
}

// TestConnLimitIdleConnectionsMakeRoom: 80 idle keep-alive connections
// against a limit of 50: each newcomer past the limit closes the one idle
// the longest; the server never holds more than 50, and a normal client is
// served.
func TestConnLimitIdleConnectionsMakeRoom(t *testing.T) {
	t.Parallel()
	addr, cl := startLimited(t, okHandler(), testLimits(50))
	conns := make([]*keepAlive, 80)
	for i := range conns {
		conns[i] = dialKeepAlive(t, addr, getHealth)
		if n := cl.Open(); n > 50 {
			t.Fatalf("%d connections open after %d clients, limit 50", n, i+1)
		}
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatalf("normal client at the limit: %v", err)
	}
	resp.Body.Close()
	// 31 idle connections made room (30 for the idle newcomers, 1 for the
	// normal client), the one idle the longest first; the newest still
	// serves.
	if got := cl.Evicted(); got != 31 {
		t.Fatalf("evicted %d, want 31", got)
	}
	if !conns[0].closedByServer() {
		t.Fatal("the connection idle the longest is still open")
	}
	if err := conns[79].roundTrip(getHealth); err != nil {
		t.Fatalf("newest idle connection: %v", err)
	}
}

// TestConnLimitBusyConnectionsWait: with every connection serving a
// request, a newcomer is not served (and nothing is closed) until one of
// them finishes; then it is.
func TestConnLimitBusyConnectionsWait(t *testing.T) {
	t.Parallel()
	release, entered := make(chan struct{}), make(chan string, 10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- r.URL.Path
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "ok")
	})
	addr, cl := startLimited(t, h, testLimits(2))
	busy := make([]*keepAlive, 2)
	errs := make(chan error, 2)
	for i := range busy {
		busy[i] = dialKeepAlive(t, addr, "")
		go func() { errs <- busy[i].roundTrip("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") }()
		<-entered
	}
	newcomer := dialKeepAlive(t, addr, "")
	got := make(chan error, 1)
	go func() { got <- newcomer.roundTrip("GET /fast HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") }()
	select {
	case p := <-entered:
		t.Fatalf("newcomer %s served while every connection is busy", p)
	case <-time.After(200 * time.Millisecond): // a bound on "not yet", not a wait for work
	}
	release <- struct{}{}
	if err := <-errs; err != nil {
		t.Fatalf("busy request: %v", err)
	}
	if p := <-entered; p != "/fast" {
		t.Fatalf("entered %s", p)
	}
	if err := <-got; err != nil {
		t.Fatalf("newcomer: %v", err)
	}
	close(release)
	if err := <-errs; err != nil {
		t.Fatalf("busy request: %v", err)
	}
	if cl.Evicted() != 1 {
		// The finished busy connection turned idle and made room.
		t.Fatalf("evicted %d, want 1 (the connection that turned idle)", cl.Evicted())
	}
}

// TestConnLimitSlowHeadersMakeRoom: at the limit with only connections
// that have not sent a complete request header after the grace period, the
// oldest of them gives its slot to a newcomer.
func TestConnLimitSlowHeadersMakeRoom(t *testing.T) {
	t.Parallel()
	lim := testLimits(3)
	lim.NewGrace, lim.ReadHeaderTimeout = 0, time.Hour // the limit, not the timeout, must cut them
	addr, _ := startLimited(t, okHandler(), lim)
	slow := make([]*keepAlive, 3)
	for i := range slow {
		slow[i] = dialKeepAlive(t, addr, "")
		io.WriteString(slow[i].conn, "GET /health HTTP/1.1\r\n") // and nothing more
	}
	k := dialKeepAlive(t, addr, "")
	if err := k.roundTrip(getHealth); err != nil {
		t.Fatalf("newcomer: %v", err)
	}
	if !slow[0].closedByServer() {
		t.Fatal("the oldest slow-header connection kept its slot")
	}
}

// TestConnLimitReadHeaderTimeout: a client that never finishes its headers
// is cut at ReadHeaderTimeout.
func TestConnLimitReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	lim := testLimits(10)
	lim.ReadHeaderTimeout = 100 * time.Millisecond
	addr, cl := startLimited(t, okHandler(), lim)
	k := dialKeepAlive(t, addr, "")
	io.WriteString(k.conn, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	if !k.closedByServer() {
		t.Fatal("slow-header connection not cut")
	}
	if cl.Evicted() != 0 {
		t.Fatalf("evicted %d: the timeout, not the limit, should cut it", cl.Evicted())
	}
}

// TestConnLimitIdleTimeout: the server closes a keep-alive connection idle
// for IdleTimeout.
func TestConnLimitIdleTimeout(t *testing.T) {
	t.Parallel()
	lim := testLimits(10)
	lim.IdleTimeout = 100 * time.Millisecond
	addr, _ := startLimited(t, okHandler(), lim)
	k := dialKeepAlive(t, addr, getHealth)
	if !k.closedByServer() {
		t.Fatal("idle connection not closed")
	}
}

// TestConnLimitCloseEndsWaitingAccept: closing the listener ends an Accept
// that waits for room.
func TestConnLimitCloseEndsWaitingAccept(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := newConnLimit(ln, 1, time.Hour)
	first := make(chan net.Conn, 1)
	go func() {
		c, _ := cl.Accept()
		cl.connState(c, http.StateActive)
		first <- c
	}()
	a := dialKeepAlive(t, ln.Addr().String(), "")
	defer a.conn.Close()
	c := <-first
	defer c.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := cl.Accept()
		errc <- err
	}()
	dialKeepAlive(t, ln.Addr().String(), "")
	for deadline := time.Now().Add(10 * time.Second); cl.Open() != 2 && time.Now().Before(deadline); {
		runtime.Gosched() // until the second Accept holds its newcomer
	}
	cl.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("waiting Accept after Close: %v", err)
	}
	if cl.Open() != 1 {
		t.Fatalf("%d open after the refused newcomer", cl.Open())
	}
}

// TestFinding5IdleConnectionsCannotExhaust: the binary with --maxconns 50
// holds 300 idle keep-alive connections' worth of clients without running
// out: a normal client is still served through the encrypted API, and
// /health answers.
func TestFinding5IdleConnectionsCannotExhaust(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(clusterKey), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	env := []string{
		"AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_AUTHDB=sqlite:///" + filepath.Join(dir, "auth.sqlite"),
		"AUTHNZERVER_SECRET=" + secret, "AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_PORT=" + fmt.Sprint(port),
		"AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1", "AUTHNZERVER_MAXCONNS=50", "AUTHNZERVER_RATELIMITS=none",
	}
	start(t, bin, port, env)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	idle := make([]*keepAlive, 300)
	for i := range idle {
		idle[i] = dialKeepAlive(t, addr, getHealth)
	}
	c, err := client.New("http://"+addr, clusterKey)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r, err := c.Do(context.Background(), "session-exists", map[string]any{"session_token": "none"})
		if err != nil || r.Success {
			t.Fatalf("normal client, request %d, with 300 idle connections made: %v %+v", i, err, r)
		}
	}
	// The oldest idle connections were closed to make room.
	if !idle[0].closedByServer() {
		t.Fatal("the oldest idle connection is still open")
	}
	if err := idle[299].roundTrip(getHealth); err != nil {
		t.Fatalf("the newest idle connection: %v", err)
	}
}

// selfSignedTLS is a TLS configuration with a fresh certificate for
// 127.0.0.1.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

// TestConnLimitOverTLS: the limit sees through TLS: idle TLS keep-alive
// connections make room for new ones as plain ones do.
func TestConnLimitOverTLS(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs, cl := newHTTPServer(ln, okHandler(), testLimits(5))
	hs.TLSConfig = selfSignedTLS(t)
	done := make(chan error, 1)
	go func() { done <- hs.ServeTLS(cl, "", "") }()
	t.Cleanup(func() {
		hs.Close()
		<-done
	})
	var conns []*tls.Conn
	for range 8 {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test's own certificate
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		k := &keepAlive{conn: c, r: bufio.NewReader(c)}
		if err := k.roundTrip(getHealth); err != nil {
			t.Fatalf("TLS request: %v", err)
		}
		conns = append(conns, c)
	}
	if n, ev := cl.Open(), cl.Evicted(); n > 5 || ev != 3 {
		t.Fatalf("%d open, %d evicted after 8 idle TLS connections with a limit of 5", n, ev)
	}
}
