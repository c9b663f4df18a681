// Package mail renders and sends the sign-up verification and
// forgot-password e-mails over SMTP (STARTTLS, implicit TLS or plain, with
// optional authentication) through github.com/wneessen/go-mail.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"
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

// Security is how the SMTP connection is protected.
type Security string

// Connection security modes.
const (
	StartTLS Security = "starttls" // STARTTLS required (the reference's only mode)
	TLS      Security = "tls"      // implicit TLS (SMTPS)
	Plain    Security = "none"     // no encryption (local relays only)
)

// Settings are one send's SMTP parameters.
type Settings struct {
	Server   string
	Port     int
	User     *string // nil: no authentication
	Pass     *string
	Sender   string
	Security Security
	// SkipVerify disables certificate verification (the reference never
	// verifies; we verify unless told not to).
	SkipVerify bool
	Timeout    time.Duration
}

// Message is one mail to send.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Send delivers msg. Any refusal by the server (connection, TLS, auth,
// sender, recipient, data) is an error: the caller must not record the mail
// as sent.
func Send(ctx context.Context, s Settings, msg Message) error {
	m := gomail.NewMsg()
	if err := m.From(s.Sender); err != nil {
		return fmt.Errorf("mail: sender: %w", err)
	}
	if err := m.To(msg.To); err != nil {
		return fmt.Errorf("mail: recipient: %w", err)
	}
	m.Subject(strings.ReplaceAll(msg.Subject, "\n", " "))
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	opts := []gomail.Option{
		gomail.WithPort(s.Port), gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.Server, InsecureSkipVerify: s.SkipVerify, MinVersion: tls.VersionTLS12}), //nolint:gosec // operator's choice
	}
	switch s.Security {
	case TLS:
		opts = append(opts, gomail.WithSSL())
	case Plain:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.User != nil && s.Pass != nil && *s.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(*s.User), gomail.WithPassword(*s.Pass))
	}
	c, err := gomail.NewClient(s.Server, opts...)
	if err != nil {
		return fmt.Errorf("mail: client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return nil
}
