package api

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Result is an action response: at least "success" (bool) and "messages"
// ([]string), plus the request type's own keys.
type Result map[string]any

// isoformat renders a time as Python's naive-UTC isoformat(): microseconds,
// omitted when zero, no zone suffix.
func isoformat(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// isoPtr renders a nullable time: nil becomes JSON null.
func isoPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return isoformat(*t)
}

// expiresRe is Python's strptime("%Y-%m-%dT%H:%M:%S.%f"): one- or two-digit
// fields, and a mandatory 1–6 digit fraction.
var expiresRe = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})\.(\d{1,6})$`)

// parseExpires parses session-new's expires the way the reference does:
// every "Z" removed, then a naive UTC timestamp with a mandatory fraction.
func parseExpires(s string) (time.Time, error) {
	s = strings.ReplaceAll(s, "Z", "")
	m := expiresRe.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("expires %q does not match YYYY-MM-DDTHH:MM:SS.ffffff", s)
	}
	n := make([]int, 6)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	frac := m[7] + strings.Repeat("0", 6-len(m[7]))
	us, _ := strconv.Atoi(frac)
	if n[1] < 1 || n[1] > 12 || n[2] < 1 || n[3] > 23 || n[4] > 59 || n[5] > 61 {
		return time.Time{}, fmt.Errorf("expires %q is out of range", s)
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], us*1000, time.UTC)
	if t.Day() != n[2] || n[5] > 59 {
		return time.Time{}, fmt.Errorf("expires %q is not a valid date", s)
	}
	return t, nil
}

// canonicalIP returns the text form of an IP address as Python's ipaddress
// module prints it: IPv4-mapped IPv6 addresses in pure hex.
func canonicalIP(s string) (string, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return "", fmt.Errorf("invalid IP address: %w", err)
	}
	if addr.Is4In6() {
		b := addr.As16()
		out := fmt.Sprintf("::ffff:%x:%x", uint16(b[12])<<8|uint16(b[13]), uint16(b[14])<<8|uint16(b[15]))
		if z := addr.Zone(); z != "" {
			out += "%" + z
		}
		return out, nil
	}
	return addr.String(), nil
}
