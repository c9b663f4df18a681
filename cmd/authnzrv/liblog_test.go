package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// lockedBuffer is a buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// jsonLogLines parses every non-empty line of out as a JSON object and
// fails on any other line.
func jsonLogLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("not a JSON line: %q", l)
			continue
		}
		lines = append(lines, m)
	}
	return lines
}

// TestLibraryLogsRouteProcessWideLoggers (issue 16 item 7): once main's
// forwarder is installed and pointed at the server's JSON logger, a real
// go-redis log line (a client whose read buffer is below the RESP3
// minimum, which go-redis clamps and reports), a MySQL driver line and a
// standard-library log line come out as JSON lines naming their library.
// Not parallel: it sets the process-wide loggers, as main does.
func TestLibraryLogsRouteProcessWideLoggers(t *testing.T) {
	var out lockedBuffer
	libs := newLibraryLogs(io.Discard)
	libs.install()
	t.Cleanup(func() {
		libs.use(slog.New(slog.NewTextHandler(os.Stderr, nil)))
		stdlog.SetOutput(os.Stderr)
	})
	routeLibraryLogs(withLibraryLogs(context.Background(), libs), slog.New(slog.NewJSONHandler(&out, nil)))

	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", Protocol: 3, ReadBufferSize: 16})
	c.Close()
	mysqlLog{libs}.Print("packets.go:", "busy buffer")
	stdlog.Printf("a line of the %s package", "log")

	want := map[string]string{"go-redis": "ReadBufferSize=16 is below the RESP3 minimum", "mysql": "packets.go:busy buffer", "log": "a line of the log package"}
	for _, l := range jsonLogLines(t, out.String()) {
		lib, _ := l["library"].(string)
		if w, ok := want[lib]; ok && strings.Contains(fmt.Sprint(l["msg"]), w) && l["level"] == "WARN" {
			delete(want, lib)
		}
	}
	if len(want) > 0 {
		t.Fatalf("missing lines %v in:\n%s", want, out.String())
	}
	// Without main's forwarder in the context, nothing is rerouted.
	routeLibraryLogs(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

// selfSignedCert writes a certificate and key for 127.0.0.1 to dir.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "authnzrv test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestLogFormatJSONOnlyJSONLines (item 7): the binary started with
// --logformat json over TLS (and with --redis when AUTHNZRV_TEST_REDIS is
// set) writes only JSON lines to stderr, including net/http's own line for
// a TLS handshake error (a plain-HTTP request to the TLS port), which is
// marked source net/http.
func TestLogFormatJSONOnlyJSONLines(t *testing.T) {
	bin := sharedBinary(t)
	dir := t.TempDir()
	cert, key := selfSignedCert(t, dir)
	port := freePort(t)
	env := []string{"AUTHNZERVER_AUTHDB=sqlite:///" + filepath.Join(dir, "auth.sqlite"), "AUTHNZERVER_SECRET=" + configKey,
		"AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_BASEDIR=" + dir, "AUTHNZERVER_ARGON2PARAMS=m=1024,t=1,p=1",
		"AUTHNZERVER_ADMIN_EMAIL=admin@example.org"}
	if u := os.Getenv("AUTHNZRV_TEST_REDIS"); u != "" {
		env = append(env, "AUTHNZERVER_REDIS="+u)
	} else {
		t.Log("AUTHNZRV_TEST_REDIS is unset: the server runs without Redis")
	}
	srv := launch(t, bin, env, "--logformat", "json", "--port", fmt.Sprint(port), "--tlscertfile", cert, "--tlscertkey", key)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-srv.exited:
			t.Fatalf("server exited:\n%s", srv.logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy:\n%s", srv.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Plain HTTP to the TLS port: net/http logs a handshake error.
	if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port)); err == nil {
		resp.Body.Close()
	}
	var handshake map[string]any
	for deadline := time.Now().Add(30 * time.Second); handshake == nil && time.Now().Before(deadline); {
		for _, l := range jsonLogLines(t, srv.logText()) {
			if strings.Contains(fmt.Sprint(l["msg"]), "TLS handshake error") {
				handshake = l
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.stop(t)
	lines := jsonLogLines(t, srv.logText())
	if handshake == nil || handshake["source"] != "net/http" || handshake["level"] != "WARN" {
		t.Fatalf("net/http's handshake line %v not found as JSON:\n%s", handshake, srv.logText())
	}
	if len(lines) < 3 {
		t.Fatalf("only %d lines:\n%s", len(lines), srv.logText())
	}
}

// TestLogFormatJSONRoutesRedisLines (item 7): the binary with --logformat
// json and a Redis that does not answer stops at start; go-redis's own line
// about the failed dials comes out as a JSON line marked library go-redis,
// and every line before the one-line error is JSON.
func TestLogFormatJSONRoutesRedisLines(t *testing.T) {
	bin := sharedBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--logformat", "json", "--port", fmt.Sprint(freePort(t)))
	cmd.Env = append(clearedEnv(), "AUTHNZERVER_AUTHDB=sqlite:///"+filepath.Join(dir, "auth.sqlite"), "AUTHNZERVER_SECRET="+configKey,
		"AUTHNZERVER_PIISALT=salt", "AUTHNZERVER_BASEDIR="+dir, "AUTHNZERVER_REDIS=redis://127.0.0.1:1/0")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("started without Redis")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "authnzrv: redis:") {
		t.Fatalf("last line %q", last)
	}
	var redisLine map[string]any
	for _, l := range jsonLogLines(t, strings.Join(lines[:len(lines)-1], "\n")) {
		if l["library"] == "go-redis" {
			redisLine = l
		}
	}
	if redisLine == nil || !strings.Contains(fmt.Sprint(redisLine["msg"]), "dial") {
		t.Fatalf("no go-redis JSON line:\n%s", stderr.String())
	}
}
