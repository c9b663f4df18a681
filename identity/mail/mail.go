// Package mail renders and sends the sign-up verification and
// forgot-password e-mails over SMTP (STARTTLS, implicit TLS or plain) with
// github.com/wneessen/go-mail, authenticating only when the server offers
// AUTH and credentials are configured (see Deliver).
package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

//go:embed templates/*
var builtin embed.FS

// Kind names a mail.
type Kind string

// The mails the server sends.
const (
	Signup     Kind = "signup"
	ForgotPass Kind = "forgotpass"
)

// Data fills a template.
type Data struct {
	ServerName string
	BaseURL    string
	Email      string
	Browser    string
	IPAddress  string
	Token      string // wrapped at 70 columns
	Link       string
	Expiry     string
}

// Templates are the plain-text and HTML bodies of each Kind.
type Templates struct {
	text map[Kind]*texttemplate.Template
	html map[Kind]*htmltemplate.Template
}

// LoadTemplates loads the built-in templates, each replaced by
// <dir>/<kind>.txt or <dir>/<kind>.html when such a file exists ("" = none).
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{text: map[Kind]*texttemplate.Template{}, html: map[Kind]*htmltemplate.Template{}}
	for _, k := range []Kind{Signup, ForgotPass} {
		for _, ext := range []string{"txt", "html"} {
			name := string(k) + "." + ext
			src, err := builtin.ReadFile("templates/" + name)
			if err != nil {
				return nil, fmt.Errorf("mail: %w", err)
			}
			if dir != "" {
				if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
					src = b
				} else if !errors.Is(err, os.ErrNotExist) {
					return nil, fmt.Errorf("mail: template %s: %w", name, err)
				}
			}
			if ext == "txt" {
				tt, err := texttemplate.New(name).Option("missingkey=error").Parse(string(src))
				if err != nil {
					return nil, fmt.Errorf("mail: template %s: %w", name, err)
				}
				t.text[k] = tt
			} else {
				ht, err := htmltemplate.New(name).Option("missingkey=error").Parse(string(src))
				if err != nil {
					return nil, fmt.Errorf("mail: template %s: %w", name, err)
				}
				t.html[k] = ht
			}
		}
	}
	return t, nil
}

// Subject returns the reference's subject line of a mail.
func Subject(k Kind, serverName string) string {
	if k == Signup {
		return fmt.Sprintf("[%s] Please verify your account sign up request", serverName)
	}
	return fmt.Sprintf("[%s] Please verify your password reset request", serverName)
}

// Render returns the plain-text and HTML bodies.
func (t *Templates) Render(k Kind, d Data) (text, html string, err error) {
	var tb, hb bytes.Buffer
	if err := t.text[k].Execute(&tb, d); err != nil {
		return "", "", fmt.Errorf("mail: render %s: %w", k, err)
	}
	if err := t.html[k].Execute(&hb, d); err != nil {
		return "", "", fmt.Errorf("mail: render %s: %w", k, err)
	}
	return tb.String(), hb.String(), nil
}

// Wrap breaks s into lines of at most width characters joined by "\n", as
// the reference wraps verification tokens (textwrap.wrap at 70 columns).
func Wrap(s string, width int) string {
	var lines []string
	r := []rune(s)
	for len(r) > width {
		lines = append(lines, string(r[:width]))
		r = r[width:]
	}
	lines = append(lines, string(r))
	return strings.Join(lines, "\n")
}
