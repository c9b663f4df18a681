package mail

import (
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// Note says why a send that succeeded (or failed for another reason) did
// not authenticate. The caller decides how loudly to log it; NoteNone
// needs nothing.
type Note string

// The notes Deliver reports.
const (
	// NoteNone: authenticated, or neither offered nor configured.
	NoteNone Note = ""
	// NoteAuthNotOffered: credentials were configured but the server does
	// not advertise AUTH, so the mail went without authentication (as the
	// reference sends it). Worth a warning: a password is configured that
	// is never used, perhaps because --emailserver or --emailport points at
	// a relay rather than the intended submission server.
	NoteAuthNotOffered Note = "credentials configured but the server does not offer AUTH; sent without authenticating"
	// NoteNoCredentials: the server offers AUTH but no user and password
	// (both non-empty) are configured, so the mail went without
	// authentication. The default configuration (the OS user name and an
	// empty password) lands here.
	NoteNoCredentials Note = "the server offers AUTH but no user and password are configured; sent without authenticating"
	// NoteCleartextRefused: the server offers only PLAIN or LOGIN on an
	// unencrypted connection, and Settings.CleartextAuth was not set, so
	// the password was not sent and the mail went without authentication.
	NoteCleartextRefused Note = "the server offers only PLAIN/LOGIN on an unencrypted connection; the password was not sent"
	// NoteNoCommonMechanism: the server offers AUTH but none of the
	// mechanisms Deliver uses (CRAM-MD5, PLAIN, LOGIN), so the mail went
	// without authentication.
	NoteNoCommonMechanism Note = "the server offers no AUTH mechanism this server uses (CRAM-MD5, PLAIN, LOGIN); sent without authenticating"
)

// SASL mechanisms Deliver uses, in the order of preference of the
// reference (Python's smtplib: CRAM-MD5, PLAIN, LOGIN).
const (
	mechCRAMMD5 = "CRAM-MD5"
	mechPlain   = "PLAIN"
	mechLogin   = "LOGIN"
)

// pickMechanism chooses the mechanism to authenticate with from the
// parameters of the server's AUTH extension (space-separated mechanism
// names, matched case-insensitively). Over an encrypted connection it takes
// the first of CRAM-MD5, PLAIN, LOGIN that the server offers. Over an
// unencrypted one it takes only CRAM-MD5, which does not reveal the
// password, unless cleartext is true, when PLAIN and LOGIN are allowed too.
// It returns "" and the reason when none is usable.
func pickMechanism(offered string, encrypted, cleartext bool) (string, Note) {
	have := map[string]bool{}
	for _, m := range strings.Fields(offered) {
		have[strings.ToUpper(m)] = true
	}
	for _, m := range []string{mechCRAMMD5, mechPlain, mechLogin} {
		if !have[m] {
			continue
		}
		if m != mechCRAMMD5 && !encrypted && !cleartext {
			continue
		}
		return m, NoteNone
	}
	if !encrypted && !cleartext && (have[mechPlain] || have[mechLogin]) {
		return "", NoteCleartextRefused
	}
	return "", NoteNoCommonMechanism
}

// saslAuth returns go-mail's client for mechanism m. allowCleartext lets
// PLAIN and LOGIN send the password without TLS (pickMechanism has already
// decided that it may); host must be the name the connection was opened
// with.
func saslAuth(m, user, pass, host string, allowCleartext bool) smtp.Auth {
	switch m {
	case mechCRAMMD5:
		return smtp.CRAMMD5Auth(user, pass)
	case mechPlain:
		return smtp.PlainAuth("", user, pass, host, allowCleartext)
	default:
		return smtp.LoginAuth(user, pass, host, allowCleartext)
	}
}
