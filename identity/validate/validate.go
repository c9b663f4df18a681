// Package validate checks sign-up e-mail addresses, full names and passwords
// the way authnzerver does (security.md §2–§3): the HTML5-style e-mail
// pattern, reserved local parts and the bundled disposable-domain list; full
// names free of links and public-suffix strings; and passwords checked for
// length, presence on the bundled list of common passwords, similarity to the
// server's name and the user's e-mail and name, character frequency, digits
// only, and optionally the Have I Been Pwned range API.
package validate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // the Pwned Passwords API is keyed by SHA-1
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

//go:embed data/top-10k-passwords.txt
var commonPasswords []byte

//go:embed data/disposable_email_blocklist.conf
var disposableDomains []byte

// DefaultSuffixFile is the Public Suffix List Debian's publicsuffix package
// installs.
const DefaultSuffixFile = "/usr/share/publicsuffix/public_suffix_list.dat"

// DefaultPwnedURL is the Pwned Passwords range API.
const DefaultPwnedURL = "https://api.pwnedpasswords.com/range/"

// Errors of FullName.
var (
	// ErrFullNameLink means the name contains a link or a domain suffix.
	ErrFullNameLink = errors.New("validate: full name contains a link")
	// ErrNoSuffixList means the Public Suffix List could not be loaded.
	ErrNoSuffixList = errors.New("validate: public suffix list not present")
)

// Policy is the password policy (the passpolicy configuration item).
type Policy struct {
	MinLength           int
	MaxUnsafeSimilarity int
	MaxCharFrequency    float64
	MinPwnedMatches     int
}

// DefaultPolicy is the passpolicy default: 12 / 50 / 0.3 / 25.
func DefaultPolicy() Policy {
	return Policy{MinLength: 12, MaxUnsafeSimilarity: 50, MaxCharFrequency: 0.3, MinPwnedMatches: 25}
}

// ParsePolicy reads "min_pass_length:12; max_unsafe_similarity:50;
// max_char_frequency:0.3; min_pwned_matches:25": exactly four parts, values
// read by position as the reference does. "" gives DefaultPolicy. Unlike the
// reference (which applies a bad policy partially), any error is returned.
func ParsePolicy(s string) (Policy, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultPolicy(), nil
	}
	parts := strings.Split(s, ";")
	if len(parts) != 4 {
		return Policy{}, fmt.Errorf("want four name:value parts separated by ';', got %d", len(parts))
	}
	names := []string{"min_pass_length", "max_unsafe_similarity", "max_char_frequency", "min_pwned_matches"}
	vals := make([]string, 4)
	for i, p := range parts {
		p = strings.ReplaceAll(strings.TrimSpace(p), " ", "")
		_, v, ok := strings.Cut(p, ":")
		if !ok || v == "" {
			return Policy{}, fmt.Errorf("%s: %q is not name:value", names[i], p)
		}
		vals[i] = v
	}
	var pol Policy
	var err error
	if pol.MinLength, err = strconv.Atoi(vals[0]); err != nil || pol.MinLength < 0 {
		return Policy{}, fmt.Errorf("%s: %q is not a non-negative integer", names[0], vals[0])
	}
	if pol.MaxUnsafeSimilarity, err = strconv.Atoi(vals[1]); err != nil || pol.MaxUnsafeSimilarity < 0 {
		return Policy{}, fmt.Errorf("%s: %q is not a non-negative integer", names[1], vals[1])
	}
	if pol.MaxCharFrequency, err = strconv.ParseFloat(vals[2], 64); err != nil || pol.MaxCharFrequency < 0 {
		return Policy{}, fmt.Errorf("%s: %q is not a non-negative number", names[2], vals[2])
	}
	if pol.MinPwnedMatches, err = strconv.Atoi(vals[3]); err != nil || pol.MinPwnedMatches < 0 {
		return Policy{}, fmt.Errorf("%s: %q is not a non-negative integer", names[3], vals[3])
	}
	return pol, nil
}

// Options configure a Validator.
type Options struct {
	// FQDN is the server's host name for the similarity check (default:
	// os.Hostname).
	FQDN string
	// PublicSuffixFile is the Public Suffix List (default DefaultSuffixFile).
	PublicSuffixFile string
	// PwnedCheck enables the Pwned Passwords check.
	PwnedCheck bool
	// PwnedURL is the range API's base URL (default DefaultPwnedURL).
	PwnedURL string
	// PwnedTimeout bounds one range request (default 5 s).
	PwnedTimeout time.Duration
	// PwnedNoJitter skips the random 0.1–0.7 s wait before the range
	// request (tests).
	PwnedNoJitter bool
	// HTTPClient makes the range requests (default http.DefaultClient).
	HTTPClient *http.Client
}

// Validator holds the word lists. It is safe for concurrent use.
type Validator struct {
	o          Options
	fqdn       string
	common     map[string]struct{}
	disposable map[string]struct{}
	// suffixes finds ".com", ".co.uk", ".*.ck", … in a text; nil when the
	// list is unavailable.
	suffixes *matcher
}

// lines returns the non-empty lines of b.
func lines(b []byte, skip func(string) bool) map[string]struct{} {
	m := map[string]struct{}{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if l == "" || (skip != nil && skip(l)) {
			continue
		}
		m[l] = struct{}{}
	}
	return m
}

// New loads the bundled lists and the Public Suffix List.
func New(o Options) (*Validator, error) {
	v := &Validator{o: o, fqdn: o.FQDN}
	if v.fqdn == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "localhost"
		}
		v.fqdn = h
	}
	if v.o.PwnedURL == "" {
		v.o.PwnedURL = DefaultPwnedURL
	}
	if v.o.PwnedTimeout <= 0 {
		v.o.PwnedTimeout = 5 * time.Second
	}
	if v.o.HTTPClient == nil {
		v.o.HTTPClient = http.DefaultClient
	}
	v.common = lines(commonPasswords, nil)
	v.disposable = map[string]struct{}{}
	for d := range lines(disposableDomains, nil) {
		v.disposable[strings.TrimSpace(d)] = struct{}{}
	}
	path := o.PublicSuffixFile
	if path == "" {
		path = DefaultSuffixFile
	}
	if b, err := os.ReadFile(path); err == nil {
		var suffixes []string
		for l := range lines(b, func(l string) bool { return strings.HasPrefix(l, "//") }) {
			if t := strings.TrimSpace(l); t != "" {
				suffixes = append(suffixes, "."+t)
			}
		}
		v.suffixes = newMatcher(suffixes)
	}
	return v, nil
}

// HasSuffixList reports whether the Public Suffix List was loaded.
func (v *Validator) HasSuffixList() bool { return v.suffixes != nil }

var folder = cases.Fold()

// casefold is Python's str.casefold (Unicode full case folding).
func casefold(s string) string { return folder.String(s) }

// squeeze replaces every run of U+0000–U+0020 with one space and trims.
func squeeze(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r <= 0x20 {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// NormalizeEmail is the stored form of an e-mail: each side of the '@'
// NFKC-normalised and case-folded.
func NormalizeEmail(email string) string {
	if local, domain, ok := strings.Cut(email, "@"); ok && !strings.Contains(domain, "@") {
		return casefold(norm.NFKC.String(local)) + "@" + casefold(norm.NFKC.String(domain))
	}
	return casefold(norm.NFKC.String(email))
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// NormalizeFullName is the stored form of a full name: NFKC, HTML-escaped,
// whitespace squeezed. Any number of '@' is ordinary text (quirk #12 fixed).
func NormalizeFullName(name string) string {
	return squeeze(htmlEscaper.Replace(norm.NFKC.String(name)))
}

// reserved are the local parts no one may sign up with.
var reserved = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, n := range strings.Fields(`autoconfig autodiscover broadcasthost isatap localdomain localhost
wpad ftp imap mail news pop pop3 smtp usenet uucp webmail www admin administrator hostmaster info is it
mis postmaster root ssladmin ssladministrator sslwebmaster sysadmin webmaster abuse marketing noc sales
security support mailer-daemon nobody noreply no-reply clientaccesspolicy.xml crossdomain.xml favicon.ico
humans.txt keybase.txt robots.txt .htaccess .htpasswd account accounts auth authorize blog buy cart
clients contact contactus contact-us copyright dashboard doc docs download downloads enquiry faq help
inquiry license login logout me myaccount oauth pay payment payments plans portfolio preferences pricing
privacy profile register secure settings signin signup ssl status store subscribe terms tos user users
weblog work`) {
		m[n] = struct{}{}
	}
	return m
}()

// emailRe is the HTML5-style pattern of security.md §3.1 (U+2019 allowed in
// the local part, the ASCII apostrophe not); it anchors at the very end, so
// a trailing newline is refused (quirk #15 fixed).
var emailRe = regexp.MustCompile("^[A-Za-z0-9.!#$%&\u2019*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,253}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,253}[A-Za-z0-9])?)*$")

// MaxEmailLength is the longest e-mail address Email accepts, in
// characters (the API's limit for every e-mail argument).
const MaxEmailLength = 280

// Email reports whether a raw sign-up e-mail is acceptable: at most
// MaxEmailLength characters, one '@', a local part that is not reserved
// (compared case-folded: quirk #14 fixed), the HTML5 pattern, and a domain
// not on the disposable list. (The confusables rule can never reject what the
// pattern accepts, security.md §3.1.) Its time is bounded whatever the
// input's length.
func (v *Validator) Email(email string) bool {
	if len(email) > utf8.UTFMax*MaxEmailLength || utf8.RuneCountInString(email) > MaxEmailLength {
		return false
	}
	if strings.Count(email, "@") != 1 {
		return false
	}
	local, domain, _ := strings.Cut(email, "@")
	if _, bad := reserved[casefold(local)]; bad {
		return false
	}
	if !emailRe.MatchString(email) {
		return false
	}
	_, disposable := v.disposable[casefold(domain)]
	return !disposable
}

// FullName checks a normalised full name for links: "http" (any case), "://"
// or any public-suffix string. Its time is linear in the name's length
// whatever the name holds (one pass of an Aho–Corasick automaton), and it
// stops with ctx's error when ctx ends.
func (v *Validator) FullName(ctx context.Context, normalized string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	folded := casefold(normalized)
	if strings.Contains(folded, "http") || strings.Contains(normalized, "://") {
		return ErrFullNameLink
	}
	if v.suffixes == nil {
		return ErrNoSuffixList
	}
	hit, err := v.suffixes.in(ctx, folded)
	switch {
	case err != nil:
		return err
	case hit:
		return ErrFullNameLink
	}
	return nil
}

// Similarity is 100 × Python's difflib.SequenceMatcher(None, a, b).ratio()
// over code points.
func Similarity(a, b string) float64 {
	ar, br := runeStrings(a), runeStrings(b)
	if len(ar)+len(br) == 0 {
		return 100
	}
	return 100 * difflib.NewMatcher(ar, br).Ratio()
}

func runeStrings(s string) []string {
	out := make([]string, 0, len(s))
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}

// isDigit is Python's str.isdigit for one code point: decimal digits plus
// the digit-valued superscripts, subscripts and circled/parenthesised digits.
func isDigit(r rune) bool {
	if unicode.IsDigit(r) {
		return true
	}
	switch {
	case r == 0xB2 || r == 0xB3 || r == 0xB9, r == 0x2070, r >= 0x2074 && r <= 0x2079, r >= 0x2080 && r <= 0x2089,
		r >= 0x2460 && r <= 0x2468, r >= 0x2474 && r <= 0x247C, r >= 0x2488 && r <= 0x2490, r == 0x24EA,
		r >= 0x24F5 && r <= 0x24FD, r == 0x24FF, r >= 0x2776 && r <= 0x277E, r >= 0x2780 && r <= 0x2788,
		r >= 0x278A && r <= 0x2792, r >= 0x1369 && r <= 0x1371, r == 0x19DA, r >= 0x1F100 && r <= 0x1F10A:
		return true
	}
	return false
}

// Messages of the password checks (security.md §2.2).
const (
	msgCommon   = "Your password is on the list of the most common passwords and is vulnerable to guessing."
	msgSimilar  = "Your password is too similar to either the domain name of this server or your own name or email address."
	msgFrequent = "Your password is not complex enough. One or more characters appear appear too frequently."
	msgDigits   = "Your password cannot be all numbers."
)

// maxCompared bounds, in characters, what the similarity check compares of
// the password and of each string it is compared with. Similarity is
// quadratic; the bound is above the API's limits (1024 for a password, 280
// for a name or an e-mail), so that it changes no answer there, while longer
// input costs a bounded time.
const maxCompared = 1024

// prefix returns the first n characters of s.
func prefix(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// MsgCancelled is Password's message when its context ended before the
// checks did.
const MsgCancelled = "The password could not be checked: the request was cancelled."

// Password runs the policy's checks on a (truncated) password and returns
// the failure messages in the reference's order. Its time is linear in the
// inputs' length (the similarity check compares bounded prefixes); when ctx
// ends first, it fails with MsgCancelled.
func (v *Validator) Password(ctx context.Context, pw, email, fullName string, p Policy) (bool, []string) {
	if ctx.Err() != nil {
		return false, []string{MsgCancelled}
	}
	var msgs []string
	if n := len([]rune(squeeze(strings.TrimSpace(pw)))); n < p.MinLength {
		msgs = append(msgs, fmt.Sprintf("Your password is too short. It must have at least %d characters.", p.MinLength))
	}
	if _, common := v.common[casefold(pw)]; common {
		msgs = append(msgs, msgCommon)
	}
	folded := prefix(squeeze(strings.TrimSpace(casefold(pw))), maxCompared)
	for _, other := range []string{v.fqdn, email, fullName} {
		if ctx.Err() != nil {
			return false, []string{MsgCancelled}
		}
		if Similarity(folded, casefold(prefix(other, maxCompared))) >= float64(p.MaxUnsafeSimilarity) {
			msgs = append(msgs, msgSimilar)
			break
		}
	}
	runes := []rune(pw)
	counts := map[rune]int{}
	for _, r := range runes {
		counts[r]++
	}
	for _, c := range counts {
		if float64(c)/float64(len(runes)) > p.MaxCharFrequency {
			msgs = append(msgs, msgFrequent)
			break
		}
	}
	if len(runes) > 0 {
		all := true
		for _, r := range runes {
			if !isDigit(r) {
				all = false
				break
			}
		}
		if all {
			msgs = append(msgs, msgDigits)
		}
	}
	if ctx.Err() != nil {
		return false, []string{MsgCancelled}
	}
	if len(msgs) == 0 && v.o.PwnedCheck {
		if n := v.pwnedCount(ctx, pw); n >= p.MinPwnedMatches && n > 0 {
			msgs = append(msgs, fmt.Sprintf("Your password was found with %d matches in the database of recently compromised Web account passwords from https://haveibeenpwned.com/Passwords and is not secure.", n))
		}
	}
	return len(msgs) == 0, msgs
}

// pwnedCount asks the range API how often the password was seen; any
// failure counts as 0 (the check fails open, as the reference's does).
func (v *Validator) pwnedCount(ctx context.Context, pw string) int {
	sum := sha1.Sum([]byte(pw)) //nolint:gosec // the API's key
	h := hex.EncodeToString(sum[:])
	prefix, suffix := h[:5], h[5:]
	if !v.o.PwnedNoJitter {
		d := time.Duration((0.1 + abs(rand.Float64()-0.4)) * float64(time.Second))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0
		}
	}
	ctx, cancel := context.WithTimeout(ctx, v.o.PwnedTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.o.PwnedURL+prefix, nil)
	if err != nil {
		return 0
	}
	resp, err := v.o.HTTPClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(body), "\n") {
		s, c, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.EqualFold(s, suffix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
