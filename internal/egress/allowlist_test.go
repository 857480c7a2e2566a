package egress

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

func TestParseAllowEntry(t *testing.T) {
	const (
		h  = "http"
		hs = "https"
		a  = "http+https"
	)
	tests := []struct {
		in   string
		want []string // "scheme host port" per grant; nil for an error
		err  string   // a word of the error
	}{
		{in: "registry.example.test", want: []string{"http registry.example.test 80", "https registry.example.test 443"}},
		{in: " CDN.Example.Test. ", want: []string{"http cdn.example.test 80", "https cdn.example.test 443"}},
		{in: "203.0.113.5", want: []string{"http 203.0.113.5 80", "https 203.0.113.5 443"}},
		{in: "2001:db8::1", want: []string{"http 2001:db8::1 80", "https 2001:db8::1 443"}},
		{in: "[2001:db8::1]", want: []string{"http 2001:db8::1 80", "https 2001:db8::1 443"}},
		{in: "::FFFF:7F00:1", want: []string{"http ::ffff:127.0.0.1 80", "https ::ffff:127.0.0.1 443"}},
		{in: "files.example.test:8443", want: []string{a + " files.example.test 8443"}},
		{in: "files.example.test:443", want: []string{a + " files.example.test 443"}},
		{in: "files.example.test:65535", want: []string{a + " files.example.test 65535"}},
		{in: "203.0.113.5:8080", want: []string{a + " 203.0.113.5 8080"}},
		{in: "[2001:db8::1]:8443", want: []string{a + " 2001:db8::1 8443"}},
		{in: "https://files.example.test:8443", want: []string{hs + " files.example.test 8443"}},
		{in: "HTTPS://Files.Example.Test:8443/", want: []string{hs + " files.example.test 8443"}},
		{in: "https://files.example.test", want: []string{hs + " files.example.test 443"}},
		{in: "http://files.example.test", want: []string{h + " files.example.test 80"}},
		{in: "http://files.example.test:443", want: []string{h + " files.example.test 443"}},
		{in: "https://[2001:db8::1]:8443", want: []string{hs + " 2001:db8::1 8443"}},
		{in: "https://[2001:db8::1]", want: []string{hs + " 2001:db8::1 443"}},

		{in: "", err: "empty"},
		{in: "   ", err: "empty"},
		{in: "files.example.test:", err: "port"},
		{in: "files.example.test:0", err: "port"},
		{in: "files.example.test:08443", err: "leading zeros"},
		{in: "files.example.test:65536", err: "65535"},
		{in: "files.example.test:123456", err: "port"},
		{in: "files.example.test:+443", err: "port"},
		{in: "files.example.test:https", err: "port"},
		{in: "files.example.test:80:81", err: "IPv6"},
		{in: "registry.example.test/path", err: "path"},
		{in: "user@registry.example.test", err: "userinfo"},
		{in: "registry.example.test?x", err: "query"},
		{in: "registry.example.test\\x", err: "path"},
		{in: "*.example.test", err: "malformed"},
		{in: "*:8443", err: "malformed"},
		{in: "0x7f.1", err: "reads as 127.0.0.1"},
		{in: "0x7f.1:8080", err: "reads as 127.0.0.1"},
		{in: "\u212aegistry.example.test", err: "non-ASCII"},
		{in: ":8443", err: "empty host"},
		{in: "[2001:db8::1", err: "unclosed"},
		{in: "[2001:db8::1]8443", err: "unexpected"},
		{in: "[files.example.test]:8443", err: "IPv6"},
		{in: "[]:8443", err: "IPv6"},
		{in: "ftp://files.example.test", err: "scheme"},
		{in: "://files.example.test", err: "scheme"},
		{in: "https://", err: "empty host"},
		{in: "https://:8443", err: "empty host"},
		{in: "https://files.example.test/npm", err: "path"},
		{in: "https://files.example.test//", err: "path"},
		{in: "https://user:pw@files.example.test", err: "userinfo"},
		{in: "https://files.example.test?x=1", err: "query"},
		{in: "https://files.example.test#x", err: "fragment"},
		{in: "https://files.example.test:0", err: "port"},
		{in: "https://files.example.test:0443", err: "leading zeros"},
		{in: "https://2001:db8::1", err: "brackets"},
		{in: "https://https://files.example.test", err: "path"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			grants, err := parseAllowEntry(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("parseAllowEntry(%q) = %v, %v; want an error mentioning %q", tc.in, grants, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseAllowEntry(%q) = %v, want %v", tc.in, err, tc.want)
			}
			var got []string
			for _, g := range grants {
				got = append(got, fmt.Sprintf("%s %s %d", schemesText(g.schemes), g.host, g.port))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("parseAllowEntry(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func schemesText(s schemeSet) string {
	switch s {
	case schemeHTTP:
		return "http"
	case schemeHTTPS:
		return "https"
	case schemeAny:
		return "http+https"
	}
	return fmt.Sprintf("schemes(%d)", s)
}

// TestAllowlistMatchesOrigins checks that the allowlist admits scheme, host and port
// together: a bare name only on the default ports of its scheme, host:port on that
// port only, an origin exactly.
func TestAllowlistMatchesOrigins(t *testing.T) {
	g := newGuard(t, Options{
		AllowedHosts: []string{
			"bare.example.test",
			"hp.example.test:8443",
			"https://o.example.test:9443",
			"http://p.example.test",
			"[2001:db8::1]:8080",
			"203.0.113.5",
		},
		Resolver: newResolver(t, nil),
	})
	tests := []struct {
		url    string
		reason string // "" when admitted
	}{
		{url: "http://bare.example.test/"},
		{url: "https://bare.example.test/"},
		{url: "http://bare.example.test:80/"},
		{url: "https://bare.example.test:443/"},
		{url: "https://BARE.example.test.:443/"},
		{url: "https://bare.example.test:0443/"}, // dialled as 443
		{url: "http://bare.example.test:443/", reason: "scheme http on port 443 not in egress allowlist"},
		{url: "https://bare.example.test:80/", reason: "scheme https on port 80 not in egress allowlist"},
		{url: "http://bare.example.test:8080/", reason: "port 8080 not in egress allowlist for this host"},
		{url: "https://bare.example.test:22/", reason: "port 22 not in egress allowlist"},
		{url: "https://bare.example.test:65536/", reason: "out of range"},
		{url: "https://bare.example.test:0/", reason: "port 0"},
		{url: "https://bare.example.test:000/", reason: "port 0"},
		{url: "http://hp.example.test:8443/"},
		{url: "https://hp.example.test:8443/"},
		{url: "https://hp.example.test/", reason: "port 443 not in egress allowlist"},
		{url: "http://hp.example.test/", reason: "port 80 not in egress allowlist"},
		{url: "https://o.example.test:9443/"},
		{url: "http://o.example.test:9443/", reason: "scheme http on port 9443"},
		{url: "https://o.example.test/", reason: "port 443 not in egress allowlist"},
		{url: "http://p.example.test/"},
		{url: "http://p.example.test:80/"},
		{url: "https://p.example.test/", reason: "port 443 not in egress allowlist"},
		{url: "http://[2001:db8::1]:8080/"},
		{url: "https://[2001:db8::1]:8080/"},
		{url: "http://[2001:db8::1]/", reason: "port 80 not in egress allowlist"},
		{url: "http://203.0.113.5/"},
		{url: "http://203.0.113.5:8080/", reason: "port 8080 not in egress allowlist"},
		{url: "http://other.example.test/", reason: "host not in egress allowlist"},
		{url: "http://other.example.test:8443/", reason: "host not in egress allowlist"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got := g.vetURL(mustURL(t, tc.url))
			if tc.reason == "" {
				if got != "" {
					t.Errorf("vetURL(%s) = %q, want admitted", tc.url, got)
				}
				return
			}
			if !strings.Contains(got, tc.reason) {
				t.Errorf("vetURL(%s) = %q, want a refusal containing %q", tc.url, got, tc.reason)
			}
		})
	}
}

// TestDialChecksThePort calls the dialer directly, as a transport that skipped the
// request checks would, and expects a port the allowlist does not admit to be refused
// before any lookup or connection.
func TestDialChecksThePort(t *testing.T) {
	r := newResolver(t, resolvesTo("127.0.0.1"))
	g := newGuard(t, Options{AllowedHosts: []string{registryHost}, AllowInternal: loopbackOnly, Resolver: r})
	var dialled atomic.Int64
	g.connect = func(context.Context, string, netip.AddrPort) (net.Conn, error) {
		dialled.Add(1)
		return nil, fmt.Errorf("test: no network")
	}
	for _, port := range []string{"8443", "22", "6379"} {
		_, err := g.dialContext(t.Context(), "tcp", registryHost+":"+port)
		wantRefused(t, err, "port "+port+" not in egress allowlist")
	}
	if n := r.calls.Load(); n != 0 {
		t.Errorf("resolver consulted %d times, want 0", n)
	}
	if n := dialled.Load(); n != 0 {
		t.Errorf("dialled %d times, want 0", n)
	}
	// The admitted ports get as far as connecting.
	for _, port := range []string{"80", "443"} {
		if _, err := g.dialContext(t.Context(), "tcp", registryHost+":"+port); err == nil || !strings.Contains(err.Error(), "no network") {
			t.Errorf("dial %s:%s = %v, want the test's connect error", registryHost, port, err)
		}
	}
}
