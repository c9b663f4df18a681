package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Security is how the SMTP connection is protected.
type Security string

// Connection security modes.
const (
	StartTLS Security = "starttls" // STARTTLS required (the reference's only mode); the default
	TLS      Security = "tls"      // implicit TLS (SMTPS)
	Plain    Security = "none"     // no encryption (local relays only)
)

// DefaultTimeout bounds a whole send when Settings.Timeout is not set.
const DefaultTimeout = 15 * time.Second

// Settings are one send's SMTP parameters.
type Settings struct {
	Server string
	Port   int
	// User and Pass are the credentials. Deliver authenticates only when
	// both are non-nil and non-empty and the server offers AUTH.
	User   *string
	Pass   *string
	Sender string
	// Security is StartTLS (also when empty), TLS or Plain.
	Security Security
	// SkipVerify disables certificate verification (the reference never
	// verifies; we verify unless told not to with --emailtlsverify 0).
	SkipVerify bool
	// RootCAs are the certificate authorities to verify the server with;
	// nil means the system's.
	RootCAs *x509.CertPool
	// CleartextAuth allows PLAIN and LOGIN without TLS. It is honoured
	// only when Security is Plain: an operator who chose no encryption
	// must also say explicitly that the password may cross the network in
	// the clear. Without it such a server gets CRAM-MD5 or no AUTH.
	CleartextAuth bool
	// Timeout bounds the whole send, connection to QUIT (DefaultTimeout
	// when zero or negative).
	Timeout time.Duration
}

// Message is one mail to send.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Result describes a send: whether TLS protected it, which mechanism
// authenticated it, and why it was not authenticated when it was not.
// Deliver fills it as far as the send got, also when it fails.
type Result struct {
	Encrypted bool   // STARTTLS or implicit TLS protected the session
	Mechanism string // the SASL mechanism that authenticated; "" when none
	Note      Note   // why no authentication took place; NoteNone otherwise
}

// Send delivers msg and reports only the error; see Deliver.
func Send(ctx context.Context, s Settings, msg Message) error {
	_, err := Deliver(ctx, s, msg)
	return err
}

// Deliver sends msg in one SMTP session and returns what happened. Any
// refusal by the server (connection, TLS, authentication, sender,
// recipient, data) is an error, an *Error of one of the Err* kinds: the
// caller must not record the mail as sent.
//
// The session:
//   - connects to Server:Port (ErrUnreachable when it cannot); with TLS,
//     completes the TLS handshake first (ErrTLSVerify, ErrTLSHandshake);
//   - sends EHLO; with StartTLS requires the STARTTLS extension
//     (ErrNoSTARTTLS), upgrades (ErrTLSVerify, ErrTLSHandshake) and sends
//     EHLO again; with Plain never upgrades;
//   - authenticates only when the server advertises AUTH and both User and
//     Pass are non-empty, with the first of CRAM-MD5, PLAIN, LOGIN the
//     server offers; PLAIN and LOGIN only over TLS, or with Plain security
//     and CleartextAuth (ErrAuthFailed when the server refuses). Otherwise
//     it sends without AUTH, as the reference does, and says why in
//     Result.Note: the caller should log NoteAuthNotOffered and
//     NoteCleartextRefused as warnings (a configured password goes
//     unused), the others at debug level;
//   - sends MAIL FROM, RCPT TO and DATA (ErrRejected; ErrAuthRequired when
//     the server answers 530).
func Deliver(ctx context.Context, s Settings, msg Message) (Result, error) {
	var res Result
	addr := net.JoinHostPort(s.Server, strconv.Itoa(s.Port))
	fail := func(kind error, step string, code int, cause error) (Result, error) {
		if err := ctx.Err(); err != nil {
			kind = err
		}
		return res, &Error{Kind: kind, Server: addr, Step: step, Code: code, Note: res.Note, Err: cause}
	}
	m, from, to, err := compose(s, msg)
	if err != nil {
		return fail(ErrInvalidAddress, "compose", 0, err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fail(ErrUnreachable, "connect", 0, err)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := raw.SetDeadline(dl); err != nil {
			return fail(ErrProtocol, "connect", 0, err)
		}
	}
	// Cancelling ctx aborts any read or write in progress.
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	conn := raw

	tc := &tls.Config{
		ServerName:         s.Server,
		RootCAs:            s.RootCAs,
		InsecureSkipVerify: s.SkipVerify, //nolint:gosec // the operator's explicit --emailtlsverify 0
		MinVersion:         tls.VersionTLS12,
	}
	security := s.Security
	if security != TLS && security != Plain {
		security = StartTLS
	}
	if security == TLS {
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			return fail(tlsKind(err), "TLS handshake", 0, err)
		}
		conn = tconn
		res.Encrypted = true
	}

	c, err := smtp.NewClient(conn, s.Server)
	if err != nil {
		return fail(replyKind(err, ErrRejected), "greeting", replyCode(err), err)
	}
	defer c.Close() //nolint:errcheck // after QUIT or on failure; nothing to report
	if err := c.Hello(heloName()); err != nil {
		return fail(replyKind(err, ErrProtocol), "EHLO", replyCode(err), err)
	}
	if security == StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fail(ErrNoSTARTTLS, "EHLO", 0, nil)
		}
		if err := c.StartTLS(tc); err != nil {
			var reply *textproto.Error
			if errors.As(err, &reply) {
				return fail(ErrProtocol, "STARTTLS", reply.Code, err)
			}
			return fail(tlsKind(err), "STARTTLS", 0, err)
		}
		res.Encrypted = true
	}

	if err := authenticate(c, s, security, &res); err != nil {
		kind := ErrAuthFailed
		var ne net.Error
		if errors.As(err, &ne) {
			kind = ErrProtocol
		}
		return fail(kind, "AUTH "+res.Mechanism, replyCode(err), err)
	}

	if err := c.Mail(from); err != nil {
		return fail(replyKind(err, ErrRejected), "MAIL FROM", replyCode(err), err)
	}
	if err := c.Rcpt(to); err != nil {
		return fail(replyKind(err, ErrRejected), "RCPT TO", replyCode(err), err)
	}
	w, err := c.Data()
	if err != nil {
		return fail(replyKind(err, ErrRejected), "DATA", replyCode(err), err)
	}
	if _, err := m.WriteTo(w); err != nil {
		return fail(ErrProtocol, "DATA", 0, err)
	}
	if err := w.Close(); err != nil {
		return fail(replyKind(err, ErrRejected), "end of DATA", replyCode(err), err)
	}
	// The server has taken the mail; a failed QUIT changes nothing.
	_ = c.Quit()
	return res, nil
}

// authenticate runs AUTH when the server offers it and credentials are
// configured, and records the mechanism or the reason for not
// authenticating in res.
func authenticate(c *smtp.Client, s Settings, security Security, res *Result) error {
	offered, mechs := c.Extension("AUTH")
	creds := s.User != nil && s.Pass != nil && *s.User != "" && *s.Pass != ""
	switch {
	case !offered && !creds:
		return nil
	case !offered:
		res.Note = NoteAuthNotOffered
		return nil
	case !creds:
		res.Note = NoteNoCredentials
		return nil
	}
	cleartext := security == Plain && s.CleartextAuth
	mech, note := pickMechanism(mechs, res.Encrypted, cleartext)
	if mech == "" {
		res.Note = note
		return nil
	}
	res.Mechanism = mech
	if err := c.Auth(saslAuth(mech, *s.User, *s.Pass, s.Server, cleartext)); err != nil {
		return err
	}
	return nil
}

// compose builds the message and returns it with the envelope sender and
// recipient.
func compose(s Settings, msg Message) (*gomail.Msg, string, string, error) {
	m := gomail.NewMsg()
	if err := m.From(s.Sender); err != nil {
		return nil, "", "", fmt.Errorf("sender: %w", err)
	}
	if err := m.To(msg.To); err != nil {
		return nil, "", "", fmt.Errorf("recipient: %w", err)
	}
	m.Subject(strings.ReplaceAll(strings.ReplaceAll(msg.Subject, "\r", " "), "\n", " "))
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	from, err := m.GetSender(false)
	if err != nil {
		return nil, "", "", fmt.Errorf("sender: %w", err)
	}
	rcpts, err := m.GetRecipients()
	if err != nil {
		return nil, "", "", fmt.Errorf("recipient: %w", err)
	}
	if len(rcpts) != 1 {
		return nil, "", "", fmt.Errorf("recipient: %d addresses, want one", len(rcpts))
	}
	return m, from, rcpts[0], nil
}

// heloName is the name this host gives in EHLO: its host name, or
// "localhost" when that is unknown or unusable in a command line.
func heloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}

// tlsKind classifies a TLS handshake failure.
func tlsKind(err error) error {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	if errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return ErrTLSVerify
	}
	return ErrTLSHandshake
}

// replyKind classifies a failed command: a 530 reply means authentication
// is required, any other reply is kind, and no reply (a network error) is
// ErrProtocol.
func replyKind(err error, kind error) error {
	var reply *textproto.Error
	if !errors.As(err, &reply) {
		return ErrProtocol
	}
	if reply.Code == 530 {
		return ErrAuthRequired
	}
	return kind
}

// replyCode is the SMTP reply code in err, 0 when there is none.
func replyCode(err error) int {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return reply.Code
	}
	return 0
}
