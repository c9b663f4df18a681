package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // CRAM-MD5 is defined on HMAC-MD5
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// serverConf is the test SMTP server's behaviour, read from
// testdata/mail/send_cases.json.
type serverConf struct {
	// TLS is "none" (no STARTTLS), "starttls", "implicit" (TLS from the
	// first byte) or "closed" (nothing listens on the port).
	TLS string `json:"tls"`
	// CertName "" puts 127.0.0.1 in the certificate; any other value is
	// the certificate's only DNS name (so verification of 127.0.0.1 fails
	// on the name).
	CertName string `json:"cert_name"`
	// Mechs are the SASL mechanisms advertised in AUTH (none: no AUTH).
	Mechs []string `json:"mechs"`
	User  string   `json:"user"`
	Pass  string   `json:"pass"`
	// RequireAuth answers MAIL FROM with 530 until AUTH succeeded.
	RequireAuth bool `json:"require_auth"`
	// InsecureAuth advertises AUTH without TLS.
	InsecureAuth bool `json:"insecure_auth"`
	// RefuseRcpt refuses every recipient, echoing the address.
	RefuseRcpt bool `json:"refuse_rcpt"`
}

// received is one mail the test server accepted.
type received struct {
	From string
	To   []string
	Data string
	Auth string // the user that authenticated, if any
	TLS  bool   // the session was encrypted
}

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) in the test
// process.
type smtpServer struct {
	conf serverConf
	Host string
	Port int
	Cert *x509.Certificate // the server's self-signed certificate

	mu       sync.Mutex
	got      []received
	attempts []string // the mechanisms of every AUTH command
}

// selfSigned returns a self-signed server certificate for 127.0.0.1, or for
// the DNS name only when name is not empty.
func selfSigned(t testing.TB, name string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test relay"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if name == "" {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, cert
}

// startSMTP starts a server configured by conf, stopped at the end of t.
func startSMTP(t testing.TB, conf serverConf) *smtpServer {
	t.Helper()
	ss := &smtpServer{conf: conf}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	ss.Host = host
	ss.Port, _ = strconv.Atoi(port)
	if conf.TLS == "closed" {
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		return ss
	}
	srv := smtp.NewServer(ss)
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = conf.InsecureAuth
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point of some cases
	var tc *tls.Config
	if conf.TLS == "starttls" || conf.TLS == "implicit" {
		cert, parsed := selfSigned(t, conf.CertName)
		ss.Cert = parsed
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	switch conf.TLS {
	case "starttls":
		srv.TLSConfig = tc
	case "implicit":
		ln = tls.NewListener(ln, tc)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		_ = ln.Close() // Close misses the listener when Serve has not started yet
		<-done
	})
	return ss
}

func (ss *smtpServer) mails() []received {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]received(nil), ss.got...)
}

func (ss *smtpServer) authAttempts() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]string(nil), ss.attempts...)
}

// NewSession implements smtp.Backend.
func (ss *smtpServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &smtpSession{srv: ss, conn: c, cur: received{TLS: isTLS}}, nil
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	cur  received
	auth string
}

// errBadCredentials is the usual reply to refused credentials.
var errBadCredentials = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}

// check compares credentials in constant time.
func (s *smtpSession) check(user, pass string) error {
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(s.srv.conf.User))
	okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(s.srv.conf.Pass))
	if okUser&okPass != 1 {
		return errBadCredentials
	}
	s.auth = user
	return nil
}

// AuthMechanisms implements smtp.AuthSession.
func (s *smtpSession) AuthMechanisms() []string { return s.srv.conf.Mechs }

// Auth implements smtp.AuthSession.
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	s.srv.mu.Lock()
	s.srv.attempts = append(s.srv.attempts, mech)
	s.srv.mu.Unlock()
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return s.check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: s.check}, nil
	case "CRAM-MD5":
		return &cramServer{s: s}, nil
	}
	return nil, &smtp.SMTPError{Code: 504, EnhancedCode: smtp.EnhancedCode{5, 5, 4}, Message: "mechanism not supported"}
}

// loginServer is the server side of the LOGIN mechanism.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

// cramServer is the server side of CRAM-MD5 (RFC 2195).
type cramServer struct {
	s         *smtpSession
	challenge string
}

func (c *cramServer) Next(resp []byte) ([]byte, bool, error) {
	if c.challenge == "" {
		c.challenge = "<1896.697170952@relay.test>"
		return []byte(c.challenge), false, nil
	}
	user, digest, ok := strings.Cut(string(resp), " ")
	if !ok {
		return nil, true, errBadCredentials
	}
	want := hmac.New(md5.New, []byte(c.s.srv.conf.Pass))
	want.Write([]byte(c.challenge))
	got, err := hex.DecodeString(digest)
	if err != nil || !hmac.Equal(got, want.Sum(nil)) || user != c.s.srv.conf.User {
		return nil, true, errBadCredentials
	}
	c.s.auth = user
	return nil, true, nil
}

// Mail implements smtp.Session.
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.conf.RequireAuth && s.auth == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.cur.From = from
	return nil
}

// Rcpt implements smtp.Session.
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.srv.conf.RefuseRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected: User unknown"}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

// Data implements smtp.Session.
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur.Data, s.cur.Auth, s.cur.TLS = string(b), s.auth, isTLS
	s.srv.mu.Lock()
	s.srv.got = append(s.srv.got, s.cur)
	s.srv.mu.Unlock()
	s.cur = received{}
	return nil
}

// Reset implements smtp.Session.
func (s *smtpSession) Reset() { s.cur = received{} }

// Logout implements smtp.Session.
func (s *smtpSession) Logout() error { return nil }
