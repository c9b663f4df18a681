package frontend

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// fallbackIP is the address of peers without an IP address (Unix-socket
// listeners): they are local.
const fallbackIP = "127.0.0.1"

// clientIP is the end user's address: the peer's, or, when the peer is a
// trusted proxy, the rightmost address in the proxy header that is not a
// trusted proxy (the leftmost when all are).
func (m *Middleware) clientIP(r *http.Request) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return fallbackIP
	}
	if m.opts.ProxyHeader == "" || !m.trusted(peer) {
		return peer.String()
	}
	var chain []netip.Addr
	for _, v := range r.Header.Values(m.opts.ProxyHeader) {
		for part := range strings.SplitSeq(v, ",") {
			a, ok := parseAddr(strings.TrimSpace(part))
			if !ok {
				// An unreadable hop ends what can be believed.
				chain = chain[:0]
				continue
			}
			chain = append(chain, a)
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if !m.trusted(chain[i]) {
			return chain[i].String()
		}
	}
	if len(chain) > 0 {
		return chain[0].String()
	}
	return peer.String()
}

// trusted reports whether a is a trusted proxy.
func (m *Middleware) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range m.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads "ip", "ip:port" or "[ipv6]:port".
func parseAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	return a, err == nil
}
