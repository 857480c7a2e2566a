package egress

import (
	"net/netip"
	"strings"
	"testing"
)

// teredoFor builds a Teredo address whose client is v4 and whose server is a public
// address.
func teredoFor(v4 netip.Addr) netip.Addr {
	b := [16]byte{0x20, 0x01, 0, 0, 65, 54, 227, 120, 0x80, 0, 0x63, 0xbf}
	c := v4.As4()
	for i := range 4 {
		b[12+i] = ^c[i]
	}
	return netip.AddrFrom16(b)
}

func embeddings(v4 netip.Addr) map[string]netip.Addr {
	c := v4.As4()
	mk := func(prefix []byte, at int) netip.Addr {
		var b [16]byte
		copy(b[:], prefix)
		copy(b[at:], c[:])
		return netip.AddrFrom16(b)
	}
	return map[string]netip.Addr{
		"mapped":     netip.AddrFrom16(v4.As16()),
		"translated": mk([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 12),
		"compatible": mk(nil, 12),
		"nat64":      mk([]byte{0, 0x64, 0xff, 0x9b}, 12),
		"6to4":       mk([]byte{0x20, 0x02}, 2),
		"teredo":     teredoFor(v4),
	}
}

var blockedAddrs = []struct {
	addr   string
	reason string // a word the reason must contain
}{
	{"127.0.0.1", "loopback"},
	{"127.255.255.254", "loopback"},
	{"0.0.0.0", "unspecified"},
	{"0.1.2.3", "unspecified"},
	{"10.0.0.1", "private"},
	{"172.16.0.1", "private"},
	{"172.31.255.255", "private"},
	{"192.168.1.1", "private"},
	{"100.64.0.1", "carrier-grade"},
	{"100.127.255.255", "carrier-grade"},
	{"169.254.169.254", "link-local"},
	{"192.0.0.8", "IETF"},
	{"198.18.0.1", "benchmarking"},
	{"198.19.255.255", "benchmarking"},
	{"192.88.99.1", "6to4 relay"},
	{"224.0.0.1", "multicast"},
	{"239.255.255.250", "multicast"},
	{"240.0.0.1", "reserved"},
	{"255.255.255.255", "broadcast"},
	{"::", "unspecified"},
	{"::1", "loopback"},
	{"fe80::1", "link-local"},
	{"fe80::1%eth0", "link-local"},
	{"febf:ffff::1", "link-local"},
	{"fc00::1", "unique local"},
	{"fd00:ec2::254", "unique local"},
	{"ff02::1", "multicast"},
	{"fec0::1", "site-local"},
	{"100::1", "discard"},
	{"2001:2::1", "benchmarking"},
	{"2001:10::1", "ORCHID"},
	{"64:ff9b:1::1", "local-use NAT64"},
	{"::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1 (loopback"},
	{"::ffff:7f00:1", "IPv4-mapped"},
	{"::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254"},
	{"::ffff:0:7f00:1", "IPv4-translated"},
	{"::127.0.0.1", "IPv4-compatible"},
	{"::8.8.8.8", "IPv4-compatible"},
	{"64:ff9b::7f00:1", "NAT64 form of 127.0.0.1"},
	{"64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"},
	{"2002:7f00:1::", "6to4 form of 127.0.0.1"},
	{"2002:a00:1::1", "6to4 form of 10.0.0.1"},
	{"2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo form of 127.0.0.1"},
	{"2001:0:a00:1::f7f7:f7f7", "Teredo form of 10.0.0.1"}, // public client, private server
	{"::1:2:3:4", "reserved"},
}

var publicAddrs = []string{
	"192.0.2.1", // documentation ranges are not internal
	"203.0.113.9",
	"2001:db8::1",
	"8.8.8.8",
	"1.1.1.1",
	"93.184.216.34",
	"100.63.255.255",
	"100.128.0.0",
	"172.15.255.255",
	"172.32.0.0",
	"192.167.255.255",
	"192.169.0.0",
	"169.253.255.255",
	"223.255.255.255",
	"2606:4700::1111",
	"2a00:1450:4001::1",
	"::ffff:8.8.8.8",
	"64:ff9b::808:808",
	"2002:808:808::1",
}

func TestBlockedReason(t *testing.T) {
	for _, tc := range blockedAddrs {
		t.Run(tc.addr, func(t *testing.T) {
			got := blockedReason(netip.MustParseAddr(tc.addr))
			if !strings.Contains(got, tc.reason) {
				t.Errorf("blockedReason(%s) = %q, want it to contain %q", tc.addr, got, tc.reason)
			}
		})
	}
	for _, a := range publicAddrs {
		t.Run(a, func(t *testing.T) {
			if got := blockedReason(netip.MustParseAddr(a)); got != "" {
				t.Errorf("blockedReason(%s) = %q, want \"\" (public)", a, got)
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		if got := blockedReason(netip.Addr{}); got == "" {
			t.Error("blockedReason(zero Addr) = \"\", want a reason")
		}
	})
}

func TestTeredoForMatchesKnownAddress(t *testing.T) {
	want := netip.MustParseAddr("2001:0:4136:e378:8000:63bf:80ff:fffe")
	if got := teredoFor(netip.MustParseAddr("127.0.0.1")); got != want {
		t.Fatalf("teredoFor(127.0.0.1) = %s, want %s", got, want)
	}
}

func TestEmbeddedFormsOfBlockedIPv4AreBlocked(t *testing.T) {
	for _, tc := range blockedAddrs {
		v4 := netip.MustParseAddr(tc.addr)
		if !v4.Is4() {
			continue
		}
		for form, a := range embeddings(v4) {
			if got := blockedReason(a); got == "" {
				t.Errorf("blockedReason(%s, %s form of %s) = \"\", want blocked", a, form, v4)
			}
		}
	}
}

func TestAddrReasonAllowInternal(t *testing.T) {
	g := newGuard(t, Options{AllowInternal: []netip.Prefix{
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("fd12::/64"),
	}})
	tests := []struct {
		addr    string
		allowed bool
	}{
		{"10.1.2.3", true},
		{"::ffff:10.1.2.3", true}, // mapped form: judged on the IPv4 inside as well
		{"10.2.0.1", false},
		{"10.0.255.255", false},
		{"fd12::5", true},
		{"fd13::5", false},
		{"64:ff9b::a01:203", false}, // NAT64 of 10.1.2.3: only the mapped form is unwrapped
		{"2002:a01:203::", false},
		{"127.0.0.1", false},
		{"169.254.169.254", false},
		{"8.8.8.8", true},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			got := g.addrReason(netip.MustParseAddr(tc.addr))
			if (got == "") != tc.allowed {
				t.Errorf("addrReason(%s) = %q, want allowed=%v", tc.addr, got, tc.allowed)
			}
		})
	}
}
