package egress

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// target is a URL host after parsing: either a DNS name (lower case, no trailing dot)
// or an IP address literal.
type target struct {
	name string
	addr netip.Addr
}

// key is the form the allowlist is indexed by.
func (t target) key() string {
	if t.addr.IsValid() {
		return t.addr.WithZone("").String()
	}
	return t.name
}

// parseHost classifies a host as it appears in a URL (brackets and port already
// removed). It returns a reason when the host must be refused without ever reaching a
// resolver: malformed names, non-ASCII names, and IPv4 literals in any form other than
// canonical dotted decimal. The last matters because C resolvers read "2130706433",
// "0177.0.0.1", "0x7f.1" and "127.1" as 127.0.0.1, while Go's URL parser and
// net/netip treat them as names; we refuse them rather than guess which reading the
// resolver will choose.
func parseHost(h string) (target, string) {
	if h == "" {
		return target{}, "empty host"
	}
	if len(h) > 254 {
		return target{}, "host name too long"
	}
	if strings.Contains(h, ":") {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() {
			return target{}, "malformed IPv6 literal"
		}
		return target{addr: a}, ""
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return target{}, "non-ASCII host name (use its punycode form)"
		}
	}
	name := strings.ToLower(strings.TrimSuffix(h, "."))
	if endsInNumber(name) {
		if a, err := netip.ParseAddr(name); err == nil && a.Is4() && a.String() == name {
			return target{addr: a}, ""
		}
		if a, ok := parseLooseIPv4(name); ok {
			return target{}, fmt.Sprintf("non-canonical IPv4 literal (reads as %s)", a)
		}
		return target{}, "malformed numeric host"
	}
	if len(name) > 253 {
		return target{}, "host name too long"
	}
	for _, label := range strings.Split(name, ".") {
		if !validLabel(label) {
			return target{}, "malformed host name"
		}
	}
	return target{name: name}, ""
}

// validLabel accepts a DNS label of letters, digits, hyphens and underscores.
func validLabel(l string) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// endsInNumber reports whether the last label of a lower-case host is a number
// (decimal digits, or 0x followed by hex digits). Such a host can only be an attempt at
// an IPv4 literal: no top-level domain is numeric. This is the test the WHATWG URL
// standard applies before its own IPv4 parser.
func endsInNumber(h string) bool {
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(last, "0x"); ok {
		return allIn(rest, isHex)
	}
	return allIn(last, isDigit)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }

func allIn(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// parseLooseIPv4 reads s the way inet_aton(3) does: one to four dot-separated parts,
// each decimal, octal (leading 0) or hex (leading 0x); the last part fills all the
// bytes that remain. It is used only to say what a refused literal would have meant.
func parseLooseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals [4]uint64
	for i, p := range parts {
		v, ok := parseLoosePart(p)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	n := len(parts)
	for i := 0; i < n-1; i++ {
		if vals[i] > 0xff {
			return netip.Addr{}, false
		}
	}
	lastBits := uint(8 * (5 - n))
	if vals[n-1] >= 1<<lastBits {
		return netip.Addr{}, false
	}
	var ip uint32
	for i := 0; i < n-1; i++ {
		ip |= uint32(vals[i]) << (24 - 8*uint(i))
	}
	ip |= uint32(vals[n-1])
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

func parseLoosePart(p string) (uint64, bool) {
	if p == "" || len(p) > 40 {
		return 0, false
	}
	base, digits := 10, p
	switch {
	case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
		base, digits = 16, p[2:]
		if digits == "" {
			return 0, true
		}
	case len(p) > 1 && p[0] == '0':
		base, digits = 8, p[1:]
	}
	if digits[0] == '+' || digits[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}
