// Command example is a minimal web frontend on authnzrv (client/frontend):
// sign-up, login, a page for logged-in users, logout. It sends no mail: new
// accounts log in once verified (user-set-emailverified, which a real
// frontend calls when the user follows the mailed link).
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/client/frontend"
)

//go:embed page.html
var pageHTML string

func main() {
	url := flag.String("authnzrv", "http://127.0.0.1:13431", "authnzrv URL")
	secretFile := flag.String("secret-file", "", "file holding the shared Fernet key (mode 0600)")
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	insecure := flag.Bool("insecure-cookie", false, "session cookie without Secure (plain-HTTP development only)")
	flag.Parse()
	secret, err := readSecret(*secretFile)
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(*url, secret)
	if err != nil {
		log.Fatal(err)
	}
	m := frontend.New(c, frontend.Options{InsecureCookie: *insecure, LoginURL: "/login", Logger: slog.Default()})
	srv := &http.Server{Addr: *listen, Handler: newHandler(m), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// readSecret reads the shared key from a file only its owner can read.
func readSecret(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("secret file %s: mode %v, want 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// page is what the template shows.
type page struct {
	View, Next string
	Session    frontend.Session
	Messages   []string
}

// newHandler is the example's application behind the middleware.
func newHandler(m *frontend.Middleware) http.Handler {
	tmpl := template.Must(template.New("page").Parse(pageHTML))
	show := func(w http.ResponseWriter, r *http.Request, p page) {
		p.Session, _ = frontend.SessionFrom(r.Context())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := tmpl.Execute(w, p); err != nil {
			slog.Error("render", "error", err)
		}
	}
	fail := func(w http.ResponseWriter, err error) {
		slog.Error("authnzrv", "error", err)
		http.Error(w, "the service is unavailable; try again later", http.StatusServiceUnavailable)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { show(w, r, page{View: "home"}) })
	mux.Handle("GET /private", m.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		show(w, r, page{View: "private"})
	})))
	mux.HandleFunc("GET /signup", func(w http.ResponseWriter, r *http.Request) { show(w, r, page{View: "signup"}) })
	mux.HandleFunc("POST /signup", func(w http.ResponseWriter, r *http.Request) {
		res, err := m.SignUp(r.Context(), r.FormValue("full_name"), r.FormValue("email"), r.FormValue("password"))
		if err != nil {
			fail(w, err)
			return
		}
		show(w, r, page{View: "signup", Messages: res.Messages})
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		show(w, r, page{View: "login", Next: r.FormValue("next")})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		res, err := m.Login(w, r, r.FormValue("email"), r.FormValue("password"))
		if err != nil {
			fail(w, err)
			return
		}
		if !res.OK {
			show(w, r, page{View: "login", Messages: res.Messages, Next: r.FormValue("next")})
			return
		}
		http.Redirect(w, r, localPath(r.FormValue("next")), http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.Logout(w, r); err != nil {
			fail(w, err)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return m.Handler(mux)
}

// localPath returns next when it is a path on this site, else "/private"
// (no open redirects).
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return "/private"
	}
	return next
}
