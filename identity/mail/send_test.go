package mail_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/identity/mail"
)

// clientConf is the Settings side of a case.
type clientConf struct {
	Security      string  `json:"security"`
	User          *string `json:"user"`
	Pass          *string `json:"pass"`
	SkipVerify    bool    `json:"skip_verify"`
	Trust         bool    `json:"trust"` // trust the server's certificate
	CleartextAuth bool    `json:"cleartext_auth"`
	Cancelled     bool    `json:"cancelled"` // the context ends before the send
	To            string  `json:"to"`        // the recipient, when not the usual one
}

// wantConf is what a case expects.
type wantConf struct {
	Error     string   `json:"error"`    // a key of errKinds; "" = delivered
	Contains  []string `json:"contains"` // in the error message
	Encrypted bool     `json:"encrypted"`
	Mechanism string   `json:"mechanism"`
	Note      string   `json:"note"`     // a key of notes
	AuthAs    string   `json:"auth_as"`  // the user the server saw authenticate
	Attempts  []string `json:"attempts"` // the AUTH commands the server saw
}

type sendCase struct {
	Name   string     `json:"name"`
	Server serverConf `json:"server"`
	Client clientConf `json:"client"`
	Want   wantConf   `json:"want"`
}

var errKinds = map[string]error{
	"unreachable":     mail.ErrUnreachable,
	"tls-verify":      mail.ErrTLSVerify,
	"tls-handshake":   mail.ErrTLSHandshake,
	"no-starttls":     mail.ErrNoSTARTTLS,
	"auth-failed":     mail.ErrAuthFailed,
	"auth-required":   mail.ErrAuthRequired,
	"rejected":        mail.ErrRejected,
	"invalid-address": mail.ErrInvalidAddress,
	"protocol":        mail.ErrProtocol,
	"canceled":        context.Canceled,
}

var notes = map[string]mail.Note{
	"":                    mail.NoteNone,
	"auth-not-offered":    mail.NoteAuthNotOffered,
	"no-credentials":      mail.NoteNoCredentials,
	"cleartext-refused":   mail.NoteCleartextRefused,
	"no-common-mechanism": mail.NoteNoCommonMechanism,
}

const (
	sender    = "Auth Server <noreply@authnzrv.test>"
	recipient = "someone@example.org"
)

func loadCases(t *testing.T) []sendCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mail", "send_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []sendCase
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	return cases
}

// message is the mail every case sends: a non-ASCII subject and bodies
// with a line longer than quoted-printable's 76 columns.
func message(to string) mail.Message {
	long := strings.Repeat("0123456789", 12)
	return mail.Message{
		To:      to,
		Subject: mail.Subject(mail.Signup, "Zürich Auth"),
		Text:    "Hello from Zürich,\n\ntoken:\n" + long + "\n",
		HTML:    "<p>Hello from Zürich</p><p>" + long + "</p>",
	}
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	for _, tc := range loadCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			srv := startSMTP(t, tc.Server)
			st := mail.Settings{
				Server: srv.Host, Port: srv.Port, Sender: sender,
				User: tc.Client.User, Pass: tc.Client.Pass,
				Security: mail.Security(tc.Client.Security), SkipVerify: tc.Client.SkipVerify,
				CleartextAuth: tc.Client.CleartextAuth, Timeout: 10 * time.Second,
			}
			if tc.Client.Trust {
				if srv.Cert == nil {
					t.Fatal("trust: the server has no certificate")
				}
				st.RootCAs = x509.NewCertPool()
				st.RootCAs.AddCert(srv.Cert)
			}
			to := recipient
			if tc.Client.To != "" {
				to = tc.Client.To
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.Client.Cancelled {
				cancel()
			}
			msg := message(to)

			res, err := mail.Deliver(ctx, st, msg)

			note, ok := notes[tc.Want.Note]
			if !ok {
				t.Fatalf("unknown note %q", tc.Want.Note)
			}
			want := mail.Result{Encrypted: tc.Want.Encrypted, Mechanism: tc.Want.Mechanism, Note: note}
			if res != want {
				t.Errorf("result = %+v, want %+v", res, want)
			}
			if got := srv.authAttempts(); !slices.Equal(got, tc.Want.Attempts) {
				t.Errorf("AUTH commands = %q, want %q", got, tc.Want.Attempts)
			}
			if tc.Want.Error != "" {
				checkError(t, err, tc, to, note)
				if got := srv.mails(); len(got) != 0 {
					t.Errorf("server received %d mails after a failed send", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			got := srv.mails()
			if len(got) != 1 {
				t.Fatalf("server received %d mails, want 1", len(got))
			}
			if got[0].Auth != tc.Want.AuthAs {
				t.Errorf("authenticated as %q, want %q", got[0].Auth, tc.Want.AuthAs)
			}
			if got[0].TLS != tc.Want.Encrypted {
				t.Errorf("server saw TLS = %v, want %v", got[0].TLS, tc.Want.Encrypted)
			}
			checkDelivered(t, got[0], msg)
		})
	}
}

// checkError asserts the kind and text of a failed send, and that the
// error says nothing secret.
func checkError(t *testing.T, err error, tc sendCase, to string, note mail.Note) {
	t.Helper()
	kind, ok := errKinds[tc.Want.Error]
	if !ok {
		t.Fatalf("unknown error kind %q", tc.Want.Error)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want %v", err, kind)
	}
	for name, other := range errKinds {
		if other != kind && errors.Is(err, other) {
			t.Errorf("error %v is also %s", err, name)
		}
	}
	var me *mail.Error
	if !errors.As(err, &me) {
		t.Fatalf("error %T is not a *mail.Error", err)
	}
	if me.Note != note {
		t.Errorf("error note = %q, want %q", me.Note, note)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, s := range tc.Want.Contains {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
	rcpt := recipient
	for _, secret := range []*string{tc.Client.Pass, tc.Client.User, &to, &rcpt} {
		if secret != nil && *secret != "" && strings.Contains(msg, *secret) {
			t.Errorf("error %q reveals %q", msg, *secret)
		}
	}
	if strings.Contains(msg, "@") {
		t.Errorf("error %q holds an address", msg)
	}
}

// checkDelivered asserts the envelope and the content of a delivered mail.
func checkDelivered(t *testing.T, got received, msg mail.Message) {
	t.Helper()
	if got.From != "noreply@authnzrv.test" {
		t.Errorf("MAIL FROM %q", got.From)
	}
	if !slices.Equal(got.To, []string{msg.To}) {
		t.Errorf("RCPT TO %q, want %q", got.To, msg.To)
	}
	m, err := netmail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		t.Fatalf("parse mail: %v", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil || subject != msg.Subject {
		t.Errorf("Subject = %q (%v), want %q", subject, err, msg.Subject)
	}
	if to, err := m.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != msg.To {
		t.Errorf("To = %v (%v)", to, err)
	}
	if from, err := m.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "noreply@authnzrv.test" {
		t.Errorf("From = %v (%v)", from, err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v)", mt, err)
	}
	bodies := map[string]string{}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("part: %v", err)
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("part body: %v", err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		bodies[pt] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if got := strings.TrimRight(bodies["text/plain"], "\n"); got != strings.TrimRight(msg.Text, "\n") {
		t.Errorf("text body = %q, want %q", got, msg.Text)
	}
	if got := strings.TrimRight(bodies["text/html"], "\n"); got != msg.HTML {
		t.Errorf("HTML body = %q, want %q", got, msg.HTML)
	}
}

// TestSendReportsDeliverError checks that Send returns Deliver's error
// and nil on success.
func TestSendReportsDeliverError(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, serverConf{TLS: "none"})
	st := mail.Settings{Server: srv.Host, Port: srv.Port, Sender: sender, Security: mail.Plain, Timeout: 10 * time.Second}
	if err := mail.Send(t.Context(), st, message(recipient)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	st.Security = mail.StartTLS
	if err := mail.Send(t.Context(), st, message(recipient)); !errors.Is(err, mail.ErrNoSTARTTLS) {
		t.Fatalf("Send = %v, want ErrNoSTARTTLS", err)
	}
	if got := len(srv.mails()); got != 1 {
		t.Fatalf("server received %d mails, want 1", got)
	}
}

// TestTLSVerifyMessage pins the advice the issue asks for.
func TestTLSVerifyMessage(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"--emailtlsverify 0", "self-signed", "only safe on a trusted network"} {
		if !strings.Contains(mail.ErrTLSVerify.Error(), s) {
			t.Errorf("ErrTLSVerify %q does not say %q", mail.ErrTLSVerify, s)
		}
	}
}
