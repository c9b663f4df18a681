package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authnzrv/authnzrv/client/frontend"
	"github.com/authnzrv/authnzrv/client/frontend/frontendtest"
)

// browser walks the example with a cookie jar over HTTPS (the session
// cookie is Secure).
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

// visit sends a request, follows redirects, and returns the final path and
// page.
func (b *browser) visit(method, path string, form url.Values) (string, string) {
	b.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = b.c.PostForm(b.base+path, form)
	} else {
		resp, err = b.c.Get(b.base + path)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: HTTP %d %v %s", method, path, resp.StatusCode, err, body)
	}
	return resp.Request.URL.RequestURI(), string(body)
}

// expect fails unless the page holds every want.
func (b *browser) expect(step, page string, want ...string) {
	b.t.Helper()
	for _, w := range want {
		if !strings.Contains(page, w) {
			b.t.Fatalf("%s: page lacks %q:\n%s", step, w, page)
		}
	}
}

// TestFlow: sign-up, verification, a failed and a good login, the private
// page, logout, against an in-process authnzrv.
func TestFlow(t *testing.T) {
	t.Parallel()
	srv := frontendtest.New(t)
	ts := httptest.NewTLSServer(newHandler(frontend.New(srv.Client, frontend.Options{LoginURL: "/login"})))
	t.Cleanup(ts.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.Client()
	c.Jar = jar
	b := &browser{t: t, base: ts.URL, c: c}

	at, page := b.visit("GET", "/", nil)
	b.expect("home", page, "You are not logged in.", `href="/login"`)
	at, page = b.visit("GET", "/private", nil)
	if at != "/login?next=%2Fprivate" {
		t.Fatalf("private page while anonymous ended at %s", at)
	}
	b.expect("redirected to login", page, `name="next" value="/private"`)

	const email = "walker@example.org"
	_, page = b.visit("POST", "/signup", url.Values{"full_name": {"Wanda Walker"}, "email": {email}, "password": {frontendtest.GoodPassword}})
	b.expect("signup", page, "User account created. Please verify your email address to log in.")
	srv.Verify(email)

	_, page = b.visit("POST", "/login", url.Values{"email": {email}, "password": {"wrong password 12345"}, "next": {"/private"}})
	b.expect("bad login", page, "Sorry, that user ID and password combination didn", "<h1>Log in</h1>")

	at, page = b.visit("POST", "/login", url.Values{"email": {email}, "password": {frontendtest.GoodPassword}, "next": {"/private"}})
	if at != "/private" {
		t.Fatalf("login ended at %s", at)
	}
	b.expect("private page", page, "Welcome, Wanda Walker (authenticated).", email, "Log out")

	at, page = b.visit("POST", "/logout", nil)
	if at != "/" {
		t.Fatalf("logout ended at %s", at)
	}
	b.expect("after logout", page, "You are not logged in.")
	if at, _ = b.visit("GET", "/private", nil); !strings.HasPrefix(at, "/login") {
		t.Fatalf("private page after logout ended at %s", at)
	}
}

// TestLocalPath: the login's "next" is never an open redirect.
func TestLocalPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/private": "/private", "/a?b=c": "/a?b=c", "": "/private", "https://evil.test/": "/private",
		"//evil.test": "/private", `/\evil.test`: "/private", "private": "/private",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReadSecret: the key file must be private to its owner.
func TestReadSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, c := range map[string]struct {
		mode os.FileMode
		ok   bool
	}{"private": {0o600, true}, "group-readable": {0o640, false}, "world-readable": {0o644, false}} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(frontendtest.Secret+"\n"), c.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		s, err := readSecret(p)
		if (err == nil) != c.ok || (c.ok && s != frontendtest.Secret) {
			t.Errorf("%s: %q, %v", name, s, err)
		}
	}
	if _, err := readSecret(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}
