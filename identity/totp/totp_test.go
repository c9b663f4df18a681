package totp_test

import (
	"bytes"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/authnzrv/authnzrv/identity/totp"
)

// testSecret is 20 bytes of base32 used where the secret does not matter.
const testSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// base is a fixed clock reading: 29 s into step 56666666.
var base = time.Unix(56666666*30+29, 0)

func b32(s string) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(s))
}

func algorithm(t *testing.T, name string) totp.Algorithm {
	t.Helper()
	switch name {
	case "SHA1":
		return totp.SHA1
	case "SHA256":
		return totp.SHA256
	case "SHA512":
		return totp.SHA512
	}
	t.Fatalf("unknown algorithm %q", name)
	return 0
}

// codeAt is pquerna/otp's code for secret at step (6 digits, SHA1 unless
// told otherwise).
func codeAt(t *testing.T, secret string, step int64, o totp.Options) string {
	t.Helper()
	if o.Digits == 0 {
		o.Digits = 6
	}
	c, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.Digits(o.Digits), Algorithm: o.Algorithm})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type rfcVectors struct {
	Seeds   map[string]string `json:"seeds"`
	Vectors []struct {
		Time      int64  `json:"time"`
		Step      int64  `json:"step"`
		Algorithm string `json:"algorithm"`
		Code      string `json:"code"`
	} `json:"vectors"`
}

// TestRFC6238Vectors runs RFC 6238 Appendix B through Check with the
// algorithm and 8 digits as options; the SHA1 codes' last six digits also
// pass the default Check.
func TestRFC6238Vectors(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../testdata/totp/rfc6238.json")
	if err != nil {
		t.Fatal(err)
	}
	var v rfcVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) != 18 {
		t.Fatalf("%d vectors, want 18", len(v.Vectors))
	}
	for _, tc := range v.Vectors {
		t.Run(fmt.Sprintf("%s/%d", tc.Algorithm, tc.Time), func(t *testing.T) {
			t.Parallel()
			secret := b32(v.Seeds[tc.Algorithm])
			at := time.Unix(tc.Time, 0).UTC()
			o := totp.Options{Algorithm: algorithm(t, tc.Algorithm), Digits: 8}
			gen, err := pqtotp.GenerateCodeCustom(secret, at, pqtotp.ValidateOpts{Digits: otp.DigitsEight, Algorithm: o.Algorithm})
			if err != nil || gen != tc.Code {
				t.Fatalf("pquerna/otp generates %q (%v), RFC says %q", gen, err, tc.Code)
			}
			step, err := o.Check(secret, tc.Code, at, 0)
			if err != nil || step != tc.Step {
				t.Fatalf("Check = %d, %v; want step %d", step, err, tc.Step)
			}
			if _, err := o.Check(secret, tc.Code, at, tc.Step); !errors.Is(err, totp.ErrReused) {
				t.Fatalf("second use: %v, want ErrReused", err)
			}
			if _, err := o.Check(secret, tc.Code, at.Add(2*30*time.Second), 0); !errors.Is(err, totp.ErrInvalidCode) {
				t.Fatalf("two steps later: %v, want ErrInvalidCode", err)
			}
			if _, err := o.Check(secret, tc.Code[2:], at, 0); !errors.Is(err, totp.ErrMalformed) {
				t.Fatalf("6 digits with Digits 8: %v, want ErrMalformed", err)
			}
			if tc.Algorithm == "SHA1" {
				step, err := totp.Check(secret, tc.Code[2:], at, 0)
				if err != nil || step != tc.Step {
					t.Fatalf("default Check of %s = %d, %v; want step %d", tc.Code[2:], step, err, tc.Step)
				}
			} else {
				sha1 := totp.Options{Algorithm: totp.SHA1, Digits: 8}
				if _, err := sha1.Check(secret, tc.Code, at, 0); !errors.Is(err, totp.ErrInvalidCode) {
					t.Fatalf("%s code checked as SHA1: %v, want ErrInvalidCode", tc.Algorithm, err)
				}
			}
		})
	}
}

// TestSkewWindow: codes of the current step and one step either side are
// accepted, and Check returns the code's own step; two steps away are not.
func TestSkewWindow(t *testing.T) {
	t.Parallel()
	const now = int64(56666666)
	for _, at := range []time.Time{base, time.Unix(now*30, 0)} { // end and start of the step
		for _, tc := range []struct {
			offset int64
			ok     bool
		}{{-3, false}, {-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}, {3, false}} {
			t.Run(fmt.Sprintf("%d/%+d", at.Unix()%30, tc.offset), func(t *testing.T) {
				t.Parallel()
				step, err := totp.Check(testSecret, codeAt(t, testSecret, now+tc.offset, totp.Options{}), at, 0)
				switch {
				case tc.ok && (err != nil || step != now+tc.offset):
					t.Fatalf("Check = %d, %v; want step %d", step, err, now+tc.offset)
				case !tc.ok && !errors.Is(err, totp.ErrInvalidCode):
					t.Fatalf("Check = %d, %v; want ErrInvalidCode", step, err)
				}
			})
		}
	}
	// A 60 s period moves the window with it.
	o := totp.Options{Period: time.Minute}
	step, err := o.Check(testSecret, codeAt(t, testSecret, base.Unix()/60+1, o), base, 0)
	if err != nil || step != base.Unix()/60+1 {
		t.Fatalf("60 s period: %d, %v", step, err)
	}
}

// TestReuse plays a sequence of logins, each storing the returned step.
func TestReuse(t *testing.T) {
	t.Parallel()
	const now = int64(56666666)
	last := int64(0)
	for i, tc := range []struct {
		codeStep int64
		want     error
	}{
		{now, nil},
		{now, totp.ErrReused},     // the same code again
		{now - 1, totp.ErrReused}, // an older code of the window
		{now + 1, nil},            // the next code, early
		{now, totp.ErrReused},     // older than the last accepted
		{now + 1, totp.ErrReused},
		{now + 2, totp.ErrInvalidCode},
	} {
		step, err := totp.Check(testSecret, codeAt(t, testSecret, tc.codeStep, totp.Options{}), base, last)
		if !errors.Is(err, tc.want) || (err == nil && step != tc.codeStep) {
			t.Fatalf("login %d (code of step %+d, last %d): %d, %v; want %v", i, tc.codeStep-now, last, step, err, tc.want)
		}
		if err == nil {
			last = step
		}
	}
}

// TestMalformed: anything but exactly Digits ASCII digits is refused before
// the secret is even looked at (here it is not base32).
func TestMalformed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code   string
		digits int
	}{
		{"", 6}, {"12345", 6}, {"1234567", 6}, {"12345a", 6}, {" 12345", 6}, {"123 45", 6},
		{"+12345", 6}, {"-12345", 6}, {"１２３４５６", 6}, {"12345\x00", 6}, {"123456", 8},
		{"1234567", 8}, {"12345678 ", 8}, {"1e+0005", 7},
	} {
		for _, secret := range []string{testSecret, "!!not base32!!"} {
			_, err := totp.Options{Digits: tc.digits}.Check(secret, tc.code, base, 0)
			if !errors.Is(err, totp.ErrMalformed) {
				t.Errorf("%q (%d digits, secret %q): %v, want ErrMalformed", tc.code, tc.digits, secret, err)
			}
		}
	}
}

// TestWrongCodes: a right code with any one digit changed is refused.
func TestWrongCodes(t *testing.T) {
	t.Parallel()
	right := codeAt(t, testSecret, base.Unix()/30, totp.Options{})
	for i := range len(right) {
		for d := byte(1); d < 10; d++ {
			c := []byte(right)
			c[i] = '0' + (c[i]-'0'+d)%10
			if _, err := totp.Check(testSecret, string(c), base, 0); !errors.Is(err, totp.ErrInvalidCode) {
				t.Fatalf("%s (right %s): %v, want ErrInvalidCode", c, right, err)
			}
		}
	}
	if _, err := totp.Check(testSecret, right, base, 0); err != nil {
		t.Fatalf("right code: %v", err)
	}
	other := b32("another secret of 20b")
	if _, err := totp.Check(other, right, base, 0); !errors.Is(err, totp.ErrInvalidCode) {
		t.Fatalf("code of another secret: %v, want ErrInvalidCode", err)
	}
}

// TestSecretForms: the secret may be lower case or padded; it must be
// base32 of at least 16 bytes.
func TestSecretForms(t *testing.T) {
	t.Parallel()
	s16 := b32("0123456789abcdef") // 16 bytes: 26 symbols, padded to 32
	s15 := b32("0123456789abcde")  // 15 bytes
	padded := s16 + strings.Repeat("=", 6)
	for _, tc := range []struct {
		secret string
		ok     bool
	}{
		{testSecret, true}, {strings.ToLower(testSecret), true}, {s16, true}, {padded, true},
		{"", false}, {s15, false}, {"JBSWY3DPEHPK3PX!JBSWY3DPEHPK3PXP", false},
		{testSecret + "1", false}, {" " + testSecret, false},
	} {
		code := "123456"
		if tc.ok {
			code = codeAt(t, tc.secret, base.Unix()/30, totp.Options{})
		}
		_, err := totp.Check(tc.secret, code, base, 0)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, totp.ErrBadSecret) {
			t.Errorf("secret %q: %v (want ok=%v)", tc.secret, err, tc.ok)
		}
	}
}

// TestBadOptions: Enroll and Check refuse what they do not support.
func TestBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []totp.Options{
		{Digits: 5}, {Digits: 9}, {Digits: -6}, {Algorithm: otp.AlgorithmMD5}, {Algorithm: 42},
		{Period: 1500 * time.Millisecond}, {Period: -30 * time.Second}, {Period: time.Millisecond},
		{SecretSize: 10}, {SecretSize: 129}, {QRSize: 10}, {QRSize: 5000},
	} {
		if _, err := totp.Enroll("Example", "alice", o); !errors.Is(err, totp.ErrBadOptions) {
			t.Errorf("Enroll with %+v: %v, want ErrBadOptions", o, err)
		}
		if o.SecretSize != 0 || o.QRSize != 0 {
			continue // Enroll only
		}
		if _, err := o.Check(testSecret, "123456", base, 0); !errors.Is(err, totp.ErrBadOptions) {
			t.Errorf("Check with %+v: %v, want ErrBadOptions", o, err)
		}
	}
}

// TestEnroll: the key URI carries what was asked, the QR code is a PNG of
// the asked size, and the secret's codes pass Check.
func TestEnroll(t *testing.T) {
	t.Parallel()
	seq := make([]byte, 64)
	for i := range seq {
		seq[i] = byte(i)
	}
	for _, tc := range []struct {
		name, issuer, account string
		opts                  totp.Options
		algorithm             otp.Algorithm
		digits, period, size  int
		qr                    int
	}{
		{"defaults", "authnzrv", "alice@example.org", totp.Options{}, otp.AlgorithmSHA1, 6, 30, 20, 256},
		{"custom", "Example Org & Co+=;#?%", "bob smith+totp@example.org/&=?#%",
			totp.Options{Algorithm: totp.SHA256, Digits: 8, Period: time.Minute, SecretSize: 32, QRSize: 128},
			otp.AlgorithmSHA256, 8, 60, 32, 128},
		{"unicode", "Société Générale", "josé@例え.jp", totp.Options{Algorithm: totp.SHA512, Digits: 7}, otp.AlgorithmSHA512, 7, 30, 20, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tc.opts
			o.Rand = bytes.NewReader(seq)
			e, err := totp.Enroll(tc.issuer, tc.account, o)
			if err != nil {
				t.Fatal(err)
			}
			if want := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(seq[:tc.size]); e.Secret != want {
				t.Fatalf("secret %q, want %q", e.Secret, want)
			}
			if !strings.HasPrefix(e.URL, "otpauth://totp/") {
				t.Fatalf("URL %q", e.URL)
			}
			k, err := otp.NewKeyFromURL(e.URL)
			if err != nil {
				t.Fatal(err)
			}
			if k.Type() != "totp" || k.Issuer() != tc.issuer || k.AccountName() != tc.account || k.Secret() != e.Secret ||
				k.Algorithm() != tc.algorithm || int(k.Digits()) != tc.digits || k.Period() != uint64(tc.period) {
				t.Fatalf("URL %s reads as %s %q %q %s %v %d %d", e.URL, k.Type(), k.Issuer(), k.AccountName(), k.Secret(), k.Algorithm(), k.Digits(), k.Period())
			}
			img, err := png.Decode(bytes.NewReader(e.QRCode))
			if err != nil {
				t.Fatalf("QR code is not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tc.qr || b.Dy() != tc.qr {
				t.Fatalf("QR code %v, want %dx%d", b, tc.qr, tc.qr)
			}
			code, err := pqtotp.GenerateCodeCustom(e.Secret, base, pqtotp.ValidateOpts{Period: uint(tc.period), Digits: otp.Digits(tc.digits), Algorithm: tc.algorithm})
			if err != nil {
				t.Fatal(err)
			}
			if step, err := tc.opts.Check(e.Secret, code, base, 0); err != nil || step != base.Unix()/int64(tc.period) {
				t.Fatalf("Check of the enrolled secret: %d, %v", step, err)
			}
		})
	}
}

// TestEnrollRandom: without Rand, two secrets differ.
func TestEnrollRandom(t *testing.T) {
	t.Parallel()
	a, err := totp.Enroll("authnzrv", "alice", totp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := totp.Enroll("authnzrv", "alice", totp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Secret == b.Secret || len(a.Secret) != 32 {
		t.Fatalf("secrets %q and %q", a.Secret, b.Secret)
	}
}

// TestEnrollRefusesNames: issuer and account must be non-empty and hold
// no colon; a short random source is an error.
func TestEnrollRefusesNames(t *testing.T) {
	t.Parallel()
	for _, tc := range [][2]string{{"", "alice"}, {"authnzrv", ""}, {" ", "alice"}, {"a:b", "alice"}, {"authnzrv", "alice:x"}} {
		if _, err := totp.Enroll(tc[0], tc[1], totp.Options{}); err == nil {
			t.Errorf("Enroll(%q, %q) accepted", tc[0], tc[1])
		}
	}
	if _, err := totp.Enroll("authnzrv", "alice", totp.Options{Rand: bytes.NewReader(make([]byte, 19))}); err == nil {
		t.Error("19 random bytes made a 20-byte secret")
	}
}
