package egress

import (
	"fmt"
	"net/netip"
)

// rangeRule names one blocked address range.
type rangeRule struct {
	prefix netip.Prefix
	reason string
}

func rule(cidr, reason string) rangeRule {
	return rangeRule{prefix: netip.MustParsePrefix(cidr), reason: reason}
}

// blockedV4 lists every IPv4 range the guarded client refuses to connect to. The
// documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are deliberately
// absent: nothing internal lives there, and some sandboxed networks route real registries
// through them. The order
// matters only for the wording of the reason: the first match is reported.
var blockedV4 = []rangeRule{
	rule("0.0.0.0/8", "unspecified (this-network) address"),
	rule("10.0.0.0/8", "private network address"),
	rule("100.64.0.0/10", "carrier-grade NAT shared address"),
	rule("127.0.0.0/8", "loopback address"),
	rule("169.254.0.0/16", "link-local address (cloud metadata lives here)"),
	rule("172.16.0.0/12", "private network address"),
	rule("192.0.0.0/24", "IETF protocol assignment address"),
	rule("192.88.99.0/24", "deprecated 6to4 relay anycast address"),
	rule("192.168.0.0/16", "private network address"),
	rule("198.18.0.0/15", "benchmarking address"),
	rule("224.0.0.0/4", "multicast address"),
	rule("255.255.255.255/32", "broadcast address"),
	rule("240.0.0.0/4", "reserved address"),
}

// blockedV6 lists the IPv6 ranges refused outright. Ranges that carry an IPv4 address
// (mapped, translated, NAT64, 6to4, Teredo) are handled by embeddedV4 instead, which
// judges them by the IPv4 address inside.
var blockedV6 = []rangeRule{
	rule("::/128", "unspecified address"),
	rule("::1/128", "loopback address"),
	rule("100::/64", "discard-only address"),
	rule("64:ff9b:1::/48", "local-use NAT64 address"),
	rule("2001:2::/48", "benchmarking address"),
	rule("2001:10::/28", "non-routable ORCHID address"),
	rule("2001:20::/28", "non-routable ORCHID address"),
	rule("fc00::/7", "unique local address"),
	rule("fe80::/10", "link-local address"),
	rule("fec0::/10", "deprecated site-local address"),
	rule("ff00::/8", "multicast address"),
}

var (
	mappedV4     = netip.MustParsePrefix("::ffff:0:0/96")
	translatedV4 = netip.MustParsePrefix("::ffff:0:0:0/96")
	compatibleV4 = netip.MustParsePrefix("::/96")
	reservedV6   = netip.MustParsePrefix("::/8")
	nat64        = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour    = netip.MustParsePrefix("2002::/16")
	teredo       = netip.MustParsePrefix("2001::/32")
)

// blockedReason says why a is not a public unicast address, or returns "" when it is.
// It knows nothing of the operator's AllowInternal holes; see Guard.addrReason.
func blockedReason(a netip.Addr) string {
	a = a.WithZone("")
	if !a.IsValid() {
		return "invalid address"
	}
	if a.Is4() {
		for _, r := range blockedV4 {
			if r.prefix.Contains(a) {
				return r.reason
			}
		}
		return ""
	}
	for _, r := range blockedV6 {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	if v4, form, ok := embeddedV4(a); ok {
		for _, v := range v4 {
			if reason := blockedReason(v); reason != "" {
				return fmt.Sprintf("%s form of %s (%s)", form, v, reason)
			}
		}
		return ""
	}
	if compatibleV4.Contains(a) {
		return "deprecated IPv4-compatible address"
	}
	if reservedV6.Contains(a) {
		return "reserved address"
	}
	return ""
}

// embeddedV4 extracts the IPv4 addresses an IPv6 address carries in the standard
// transition forms. A Teredo address carries two: the client (the last 32 bits,
// inverted) and the server (bits 32 to 63); both are judged.
func embeddedV4(a netip.Addr) (v4 []netip.Addr, form string, ok bool) {
	b := a.As16()
	last := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case mappedV4.Contains(a):
		return []netip.Addr{last}, "IPv4-mapped", true
	case translatedV4.Contains(a):
		return []netip.Addr{last}, "IPv4-translated", true
	case nat64.Contains(a):
		return []netip.Addr{last}, "NAT64", true
	case sixToFour.Contains(a):
		return []netip.Addr{netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})}, "6to4", true
	case teredo.Contains(a):
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		server := netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]})
		return []netip.Addr{client, server}, "Teredo", true
	}
	return nil, "", false
}
