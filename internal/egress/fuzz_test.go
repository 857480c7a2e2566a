package egress

import (
	"net/netip"
	"net/url"
	"strconv"
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
		"https://cdn.example.test/pkg",
		"https://origin.example.test:9443/pkg",
		"http://origin.example.test:9443/pkg",
		"https://registry.example.test:08443/pkg",
		"https://registry.example.test:443/pkg",
		"http://registry.example.test:65536/pkg",
		"http://[2606:4700::1111]:8080/",
		"https://[2606:4700::1111]/",
		"http://8.8.8.8/",
	} {
		f.Add(s)
	}
	g, err := New(Options{
		AllowedHosts: []string{registryHost, "cdn.example.test:8443", "https://origin.example.test:9443", "8.8.8.8", "[2606:4700::1111]:8080", "0x7f.example.test"},
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
		// The port is read independently of effectivePort: the URL's own, or the
		// scheme's default.
		port := map[string]uint64{"http": 80, "https": 443}[strings.ToLower(u.Scheme)]
		if p := u.Port(); p != "" {
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil || n == 0 {
				t.Fatalf("vetURL(%q) accepted port %q", raw, p)
			}
			port = n
		}
		if !g.allowed.allows(tg.key(), uint16(port), schemeOf(u.Scheme)) {
			t.Fatalf("vetURL(%q) accepted %s://%s port %d, not in the allowlist", raw, u.Scheme, tg.key(), port)
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

// FuzzParseAllowEntry feeds operator allowlist entries (env and document) to their
// parser. A refused entry admits nothing, and New refuses it too. An accepted one
// grants ports (1 to 65535) and schemes (http, https) on a host that is lower case,
// bare and a fixed point of the parser; the host is admitted on each granted port and
// scheme as any URL spells it (any case, a trailing dot, the default port left out)
// unless the address itself is blocked, and refused on a port no grant names. A bare
// name grants http on port 80 and https on port 443, nothing else.
func FuzzParseAllowEntry(f *testing.F) {
	for _, s := range []string{
		"registry.example.test", " CDN.Example.Test. ", "203.0.113.5", "2001:db8::1", "[2001:db8::1]",
		"files.example.test:8443", "[2001:db8::1]:8443", "https://files.example.test:8443",
		"HTTPS://Files.Example.Test:8443/", "http://files.example.test", "https://[2001:db8::1]",
		"files.example.test:08443", "files.example.test:65536", "https://files.example.test/npm",
		"https://user@files.example.test", "0x7f.1:8080", "[files.example.test]:80", "https://2001:db8::1",
		"x.example.test:443", "fe80::1%eth0", "10.0.0.1:8080", "a/b", "", "é.example.test",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		grants, err := parseAllowEntry(entry)
		g, newErr := New(Options{AllowedHosts: []string{entry}, Logger: discardLogger})
		if (err == nil) != (newErr == nil) {
			t.Fatalf("parseAllowEntry(%q) = %v but New = %v", entry, err, newErr)
		}
		if err != nil {
			if grants != nil {
				t.Fatalf("parseAllowEntry(%q) = %v with error %v, want no grants", entry, grants, err)
			}
			return
		}
		if len(grants) == 0 {
			t.Fatalf("parseAllowEntry(%q) admitted nothing without an error", entry)
		}
		granted := map[uint16]bool{}
		for _, gr := range grants {
			granted[gr.port] = true
		}
		for _, gr := range grants {
			if gr.port == 0 || gr.schemes == 0 || gr.schemes&^schemeAny != 0 {
				t.Fatalf("parseAllowEntry(%q) = grant %+v, want a port and http or https", entry, gr)
			}
			// The host must be a key the request side can produce: parsing it again
			// gives it back unchanged.
			tg, reason := parseHost(gr.host)
			if reason != "" || tg.key() != gr.host || strings.ContainsAny(gr.host, "/@?#[]* ") {
				t.Fatalf("parseAllowEntry(%q) = host %q, which parses to %+v, %q", entry, gr.host, tg, reason)
			}
			if again, err := parseAllowEntry(gr.host); err != nil || again[0].host != gr.host {
				t.Fatalf("parseAllowEntry(%q) = host %q, but parseAllowEntry(%q) = %v, %v", entry, gr.host, gr.host, again, err)
			}
			if tg.addr.IsValid() && blockedReason(tg.addr) != "" {
				continue // listed, but the address block still refuses it
			}
			spellings := []string{gr.host, strings.ToUpper(gr.host) + "."}
			if tg.addr.Is6() {
				spellings = []string{"[" + gr.host + "]", "[" + strings.ToUpper(gr.host) + "]"}
			}
			for _, scheme := range []schemeSet{schemeHTTP, schemeHTTPS} {
				if gr.schemes&scheme == 0 {
					continue
				}
				for _, sp := range spellings {
					hosts := []string{sp + ":" + strconv.Itoa(int(gr.port))}
					if gr.port == scheme.defaultPort() {
						hosts = append(hosts, sp)
					}
					for _, h := range hosts {
						u := &url.URL{Scheme: schemeName(scheme), Host: h, Path: "/"}
						if reason := g.vetURL(u); reason != "" {
							t.Fatalf("allowlist entry %q (grant %+v) does not admit %s: %s", entry, gr, u, reason)
						}
					}
				}
			}
			if other := gr.port%65535 + 1; !granted[other] {
				u := &url.URL{Scheme: "https", Host: spellings[0] + ":" + strconv.Itoa(int(other)), Path: "/"}
				if g.vetURL(u) == "" {
					t.Fatalf("allowlist entry %q (grants %+v) admits %s, a port it does not name", entry, grants, u)
				}
			}
		}
		// A bare name (no port, no scheme) admits the default ports only.
		if !strings.ContainsAny(entry, ":[") {
			if len(grants) != 2 || grants[0].port != 80 || grants[0].schemes != schemeHTTP ||
				grants[1].port != 443 || grants[1].schemes != schemeHTTPS {
				t.Fatalf("parseAllowEntry(%q) = %+v, want http on 80 and https on 443", entry, grants)
			}
		}
	})
}
