package api

import (
	"testing"
	"time"
)

func TestIsoformat(t *testing.T) {
	cases := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2030, 1, 1, 10, 0, 0, 250000000, time.UTC), "2030-01-01T10:00:00.250000"},
		{time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC), "2030-01-01T10:00:00"},
		{time.Date(2030, 1, 1, 10, 0, 0, 999, time.UTC), "2030-01-01T10:00:00"},
		{time.Date(2030, 1, 1, 11, 0, 0, 1000, time.FixedZone("x", 3600)), "2030-01-01T10:00:00.000001"},
	}
	for _, tc := range cases {
		if got := isoformat(tc.in); got != tc.want {
			t.Errorf("isoformat(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCanonicalIP(t *testing.T) {
	cases := map[string]string{
		"1.2.3.4":              "1.2.3.4",
		"::FFFF:1.2.3.4":       "::ffff:102:304",
		"2001:DB8::1":          "2001:db8::1",
		"2001:db8:0:0:1:0:0:1": "2001:db8::1:0:0:1",
		"fe80::1%eth0":         "fe80::1%eth0",
		"01.2.3.4":             "",
		"not-an-ip":            "",
	}
	for in, want := range cases {
		got, err := canonicalIP(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("canonicalIP(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestPyJSON pins the claims encoding against Python's json.dumps output.
func TestPyJSON(t *testing.T) {
	got, err := pyJSON([]claim{{"iss", "caf\u00e9 \"x\"\n"}, {"ver", int64(1)}, {"sub", "<a&b> \U0001F600"}})
	if err != nil {
		t.Fatal(err)
	}
	// python3 -c 'import json; print(json.dumps({"iss": "café \"x\"\n", "ver": 1, "sub": "<a&b> 😀"}))'
	want := `{"iss": "caf\u00e9 \"x\"\n", "ver": 1, "sub": "<a&b> \ud83d\ude00"}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
