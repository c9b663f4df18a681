package mail

import (
	"errors"
	"strings"
	"unicode"
)

// The kinds of send failure. Every error Send and Deliver return after
// composing the message is an *Error whose Kind is one of these (or the
// context's error when the context ended), so that the caller can test it
// with errors.Is and log err.Error() as one line that says what to change.
var (
	// ErrUnreachable: no TCP connection to the SMTP server could be made
	// (wrong --emailserver or --emailport, server down, firewall).
	ErrUnreachable = errors.New("cannot connect to the SMTP server (check --emailserver and --emailport)")
	// ErrTLSVerify: the server's certificate failed verification on
	// STARTTLS or implicit TLS.
	ErrTLSVerify = errors.New("the SMTP server's TLS certificate failed verification; " +
		"--emailtlsverify 0 accepts a self-signed relay certificate (such as Debian's default), " +
		"which is only safe on a trusted network")
	// ErrTLSHandshake: the TLS handshake failed for a reason other than
	// certificate verification (often implicit TLS against a STARTTLS
	// port or the reverse).
	ErrTLSHandshake = errors.New("TLS handshake with the SMTP server failed " +
		"(--emailsecurity tls is implicit TLS, usually port 465; starttls is usually port 587 or 25)")
	// ErrNoSTARTTLS: --emailsecurity is starttls but the server does not
	// offer STARTTLS.
	ErrNoSTARTTLS = errors.New("the SMTP server does not offer STARTTLS, which --emailsecurity starttls requires " +
		"(use --emailsecurity tls for an implicit-TLS port, or none for a local relay without TLS)")
	// ErrAuthFailed: the server refused the configured credentials.
	ErrAuthFailed = errors.New("SMTP authentication failed (check --emailuser and --emailpass)")
	// ErrAuthRequired: the server requires authentication but Send did not
	// authenticate (no credentials, or none usable; see Error.Note).
	ErrAuthRequired = errors.New("the SMTP server requires authentication " +
		"(set --emailuser and --emailpass, both non-empty)")
	// ErrRejected: the server refused the sender, the recipient or the
	// message.
	ErrRejected = errors.New("the SMTP server refused the mail")
	// ErrInvalidAddress: the sender or recipient address does not parse.
	ErrInvalidAddress = errors.New("invalid mail address")
	// ErrProtocol: the SMTP conversation failed otherwise (time-out, closed
	// connection, unexpected reply).
	ErrProtocol = errors.New("the SMTP conversation failed")
)

// Error is a failed send. Its message names the server, the step, the kind
// of failure with the advice of its sentinel, the reason and the Note when
// there is one. Passwords never appear in it, and e-mail addresses in the
// server's replies and in the cause are redacted.
type Error struct {
	Kind   error  // one of the Err* sentinels, or the context's error
	Server string // host:port
	Step   string // "connect", "STARTTLS", "AUTH PLAIN", "RCPT TO", ...
	Code   int    // the server's SMTP reply code, 0 when there was no reply
	Note   Note   // why no authentication took place, when it did not
	Err    error  // the cause, nil when there is none
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("mail: SMTP ")
	b.WriteString(e.Server)
	b.WriteString(", ")
	b.WriteString(e.Step)
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(redact(e.Err.Error()))
	}
	if e.Note != NoteNone {
		b.WriteString(" [")
		b.WriteString(string(e.Note))
		b.WriteString("]")
	}
	return b.String()
}

// Unwrap returns the kind and the cause, so errors.Is(err, ErrTLSVerify)
// and errors.As(err, **tls.CertificateVerificationError) both work.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// redacted replaces every word of a server reply or cause that holds an
// e-mail address.
const redacted = "[address]"

// redact replaces each whitespace-separated word containing '@' by
// [address], and control characters by spaces, so that a server reply such
// as "550 5.1.1 <someone@example.org>: unknown" can be logged on one line
// without the address.
func redact(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if strings.ContainsRune(w, '@') {
			words[i] = redacted
			continue
		}
		words[i] = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, w)
	}
	return strings.Join(words, " ")
}
