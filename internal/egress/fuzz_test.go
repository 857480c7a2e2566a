package egress

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func FuzzVetURL(f *testing.F) {
	for _, tc := range hostileCases {
		f.Add(tc.rawURL(8080))
	}
	for _, s := range []string{
		"https://registry.example.test/pkg",
		"https://REGISTRY.example.test./@scope%2fpkg",
		"http://cdn.example.test:8443/pkg/-/pkg-1.0.0.tgz?x=1#y",
		"https://[2606:4700::1111]/",
		"http://8.8.8.8/",
	} {
		f.Add(s)
	}
	g, err := New(Options{
		AllowedHosts: []string{registryHost, "cdn.example.test", "8.8.8.8", "2606:4700::1111", "0x7f.example.test"},
		Resolver:     &fakeResolver{},
		Logger:       discardLogger,
	})
	if err != nil {
		f.Fatal(err)
	}
	origin := &url.URL{Scheme: "https", Host: registryHost}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		_ = g.CheckTarballURL(u, origin)
		if reason := g.vetURL(u); reason != "" {
			return
		}
		// Accepted: it must really be an allowlisted http(s) URL with a public literal
		// or a name no resolver would read as an IPv4 address.
		if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
			t.Fatalf("vetURL(%q) accepted scheme %q", raw, u.Scheme)
		}
		if u.User != nil {
			t.Fatalf("vetURL(%q) accepted userinfo", raw)
		}
		tg, reason := parseHost(u.Hostname())
		if reason != "" {
			t.Fatalf("vetURL(%q) accepted a host parseHost refuses: %s", raw, reason)
		}
		if _, ok := g.allowed[tg.key()]; !ok {
			t.Fatalf("vetURL(%q) accepted host %q, not in the allowlist", raw, tg.key())
		}
		if tg.addr.IsValid() && blockedReason(tg.addr) != "" {
			t.Fatalf("vetURL(%q) accepted blocked address %s", raw, tg.addr)
		}
	})
}

func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "127.1", "0x", "1.2.3.4.5",
		"registry.example.test", "0x7f.example.test", "::ffff:127.0.0.1", "fe80::1%eth0", "127.0.0.1.", "Ｋ.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tg, reason := parseHost(h)
		if a, err := netip.ParseAddr(h); err == nil && a.Is4() {
			if loose, ok := parseLooseIPv4(h); !ok || loose != a {
				t.Fatalf("parseLooseIPv4(%q) = %s, %v, want %s", h, loose, ok, a)
			}
		}
		if reason != "" {
			return
		}
		if tg.name != "" {
			// A name must never be something a C resolver would read as an address.
			if a, ok := parseLooseIPv4(tg.name); ok {
				t.Fatalf("parseHost(%q) accepted name %q, which inet_aton reads as %s", h, tg.name, a)
			}
			if tg.name != strings.ToLower(tg.name) || strings.HasSuffix(tg.name, ".") {
				t.Fatalf("parseHost(%q) = name %q, want lower case without trailing dot", h, tg.name)
			}
			return
		}
		if !tg.addr.IsValid() {
			t.Fatalf("parseHost(%q) accepted neither a name nor an address", h)
		}
		if loose, ok := parseLooseIPv4(strings.ToLower(strings.TrimSuffix(h, "."))); ok && loose != tg.addr {
			t.Fatalf("parseHost(%q) = %s, but inet_aton reads %s", h, tg.addr, loose)
		}
	})
}

func FuzzBlockedReason(f *testing.F) {
	for _, tc := range blockedAddrs {
		a := netip.MustParseAddr(tc.addr).WithZone("")
		f.Add(a.AsSlice())
	}
	for _, s := range publicAddrs {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		reason := blockedReason(a)
		// The standard library's own classification is an independent floor.
		if reason == "" && (a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsMulticast() ||
			a.IsUnspecified() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast()) {
			t.Fatalf("blockedReason(%s) = \"\", but net/netip says it is not global", a)
		}
		if a.Is4In6() && (reason == "") != (blockedReason(a.Unmap()) == "") {
			t.Fatalf("blockedReason(%s) = %q but blockedReason(%s) = %q", a, reason, a.Unmap(), blockedReason(a.Unmap()))
		}
		if a.Is4() && reason != "" {
			for form, e := range embeddings(a) {
				if blockedReason(e) == "" {
					t.Fatalf("blockedReason(%s) = \"\", the %s form of blocked %s", e, form, a)
				}
			}
		}
	})
}
