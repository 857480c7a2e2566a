package egress

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

func TestCheckTarballURL(t *testing.T) {
	const origin = "https://registry.example.test/"
	tests := []struct {
		name    string
		tarball string
		origin  string
		strict  string // reason under the default policy, "" for allowed
		relaxed string // reason with RespectUpstreamTarballHost, "" for allowed
	}{
		{name: "same origin", tarball: "https://registry.example.test/pkg/-/pkg-1.0.0.tgz", origin: origin},
		{name: "explicit default port", tarball: "https://registry.example.test:443/pkg/-/pkg-1.0.0.tgz", origin: origin},
		{name: "case and trailing dot", tarball: "https://Registry.Example.Test./pkg.tgz", origin: origin},
		{name: "origin with path and port", tarball: "https://registry.example.test/pkg.tgz", origin: "https://registry.example.test:443/npm/"},
		{name: "other allowlisted host", tarball: "https://cdn.example.test/pkg.tgz", origin: origin, strict: "differs from the packument's origin"},
		{name: "same host other port", tarball: "https://registry.example.test:8443/pkg.tgz", origin: origin, strict: "port 8443 not in egress allowlist", relaxed: "port 8443 not in egress allowlist"},
		{name: "same host, http port over https", tarball: "https://registry.example.test:80/pkg.tgz", origin: origin, strict: "scheme https on port 80", relaxed: "scheme https on port 80"},
		{name: "allowlisted host other port", tarball: "https://cdn.example.test:8443/pkg.tgz", origin: origin, strict: "port 8443 not in egress allowlist", relaxed: "port 8443 not in egress allowlist"},
		{name: "allowlisted origin on its port", tarball: "https://files.example.test:8443/pkg.tgz", origin: origin, strict: "differs"},
		{name: "allowlisted origin, default port", tarball: "https://files.example.test/pkg.tgz", origin: origin, strict: "port 443 not in egress allowlist", relaxed: "port 443 not in egress allowlist"},
		{name: "allowlisted origin, other scheme", tarball: "http://files.example.test:8443/pkg.tgz", origin: "http://registry.example.test/", strict: "scheme http on port 8443", relaxed: "scheme http on port 8443"},
		{name: "packument on the allowlisted origin", tarball: "https://files.example.test:8443/pkg.tgz", origin: "https://files.example.test:8443/npm/"},
		{name: "http origin, https tarball", tarball: "https://registry.example.test/pkg.tgz", origin: "http://registry.example.test/", strict: "differs"},
		{name: "downgrade", tarball: "http://registry.example.test/pkg.tgz", origin: origin, strict: "downgrades", relaxed: "downgrades"},
		{name: "not allowlisted", tarball: "https://evil.example.com/pkg.tgz", origin: origin, strict: "allowlist", relaxed: "allowlist"},
		{name: "internal literal", tarball: "https://169.254.169.254/pkg.tgz", origin: origin, strict: "link-local", relaxed: "link-local"},
		{name: "octal literal", tarball: "https://0177.1/pkg.tgz", origin: origin, strict: "reads as 127.0.0.1", relaxed: "reads as 127.0.0.1"},
		{name: "userinfo", tarball: "https://u:p@registry.example.test/pkg.tgz", origin: origin, strict: "userinfo", relaxed: "userinfo"},
		{name: "no origin", tarball: "https://cdn.example.test/pkg.tgz", strict: "without a packument origin"},
		{name: "no tarball", origin: origin, strict: "no URL", relaxed: "no URL"},
	}
	for _, tc := range tests {
		for _, relaxed := range []bool{false, true} {
			want := tc.strict
			if relaxed {
				want = tc.relaxed
			}
			t.Run(tc.name+map[bool]string{false: "/default", true: "/respect"}[relaxed], func(t *testing.T) {
				g := newGuard(t, Options{
					AllowedHosts:               []string{registryHost, "cdn.example.test", "https://files.example.test:8443"},
					RespectUpstreamTarballHost: relaxed,
					Resolver:                   newResolver(t, nil),
				})
				err := g.CheckTarballURL(mustURL(t, tc.tarball), mustURL(t, tc.origin))
				if want == "" {
					if err != nil {
						t.Errorf("CheckTarballURL(%s, %s) = %v, want nil", tc.tarball, tc.origin, err)
					}
					return
				}
				wantRefused(t, err, want)
			})
		}
	}
}

// TestTarballPolicyAcrossRedirects fetches tarballs with the packument's origin on
// the context and checks the policy on the first hop and on every redirect.
func TestTarballPolicyAcrossRedirects(t *testing.T) {
	regRD, cdnRD := &redirector{}, &redirector{}
	reg := httptest.NewServer(regRD)
	t.Cleanup(reg.Close)
	cdn := httptest.NewServer(cdnRD)
	t.Cleanup(cdn.Close)
	regBase := "http://" + hostPort(registryHost, serverPort(t, reg))
	cdnBase := "http://" + hostPort("cdn.example.test", serverPort(t, cdn))
	evil := "http://" + hostPort("evil.example.com", serverPort(t, cdn))
	origin := mustURL(t, regBase+"/")

	tests := []struct {
		name    string
		url     string
		strict  string // reason under the default policy, "" for allowed
		relaxed string // reason with RespectUpstreamTarballHost
	}{
		{name: "same origin", url: regBase + "/pkg.tgz"},
		{name: "redirects within origin", url: regBase + "/hop/3"},
		{name: "redirect to allowlisted cdn", url: to(regBase, cdnBase+"/pkg.tgz"), strict: "differs"},
		{name: "cdn on the first hop", url: cdnBase + "/pkg.tgz", strict: "differs"},
		{name: "redirect to cdn then back", url: to(regBase, to(cdnBase, regBase+"/pkg.tgz")), strict: "differs"},
		{name: "redirect to host not allowlisted", url: to(regBase, evil+"/pkg.tgz"), strict: "allowlist", relaxed: "allowlist"},
		{name: "redirect to the registry host on the cdn's port", url: to(regBase, "http://"+hostPort(registryHost, serverPort(t, cdn))+"/pkg.tgz"), strict: "not in egress allowlist", relaxed: "not in egress allowlist"},
		{name: "cdn host on the registry's port", url: "http://" + hostPort("cdn.example.test", serverPort(t, reg)) + "/pkg.tgz", strict: "not in egress allowlist", relaxed: "not in egress allowlist"},
		{name: "redirect to metadata", url: to(regBase, "http://169.254.169.254/"), strict: "link-local", relaxed: "link-local"},
	}
	for _, tc := range tests {
		for _, relaxed := range []bool{false, true} {
			want := tc.strict
			if relaxed {
				want = tc.relaxed
			}
			t.Run(tc.name+map[bool]string{false: "/default", true: "/respect"}[relaxed], func(t *testing.T) {
				g := newGuard(t, Options{
					AllowedHosts:               []string{regBase, cdnBase},
					AllowInternal:              loopbackOnly,
					RespectUpstreamTarballHost: relaxed,
					Resolver: newResolver(t, map[string][]string{
						registryHost:       {"127.0.0.1"},
						"cdn.example.test": {"127.0.0.1"},
						"evil.example.com": {"127.0.0.1"},
					}),
				})
				pinDials(t, g, reg, cdn)
				req, err := http.NewRequestWithContext(WithOrigin(t.Context(), origin), http.MethodGet, tc.url, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := g.Client().Do(req)
				if want == "" {
					if err != nil {
						t.Fatalf("GET %s = %v, want success", tc.url, err)
					}
					readAll(t, resp)
					return
				}
				if err == nil {
					_ = resp.Body.Close()
					t.Fatalf("GET %s succeeded, want refusal %q", tc.url, want)
				}
				wantRefused(t, err, want)
			})
		}
	}

	t.Run("cdn without origin is not a tarball fetch", func(t *testing.T) {
		g := newGuard(t, Options{
			AllowedHosts:  []string{regBase, cdnBase},
			AllowInternal: loopbackOnly,
			Resolver:      newResolver(t, map[string][]string{"cdn.example.test": {"127.0.0.1"}}),
		})
		pinDials(t, g, cdn)
		resp, err := get(t, g.Client(), cdnBase+"/any")
		if err != nil {
			t.Fatalf("GET without origin = %v, want success", err)
		}
		readAll(t, resp)
	})
}

// TestTarballOnAnotherPortNeverConnects reproduces the review's finding for tarballs:
// with RespectUpstreamTarballHost set, a dist.tarball (or a redirect from the
// registry) naming another port of an allowlisted host must not be fetched. The guard
// dials for real with a hole open for 127.0.0.1, so a check that ignored the port
// would reach the canary.
func TestTarballOnAnotherPortNeverConnects(t *testing.T) {
	can := newCanary(t)
	reg := httptest.NewServer(&redirector{})
	t.Cleanup(reg.Close)
	regAddr := netip.MustParseAddrPort(reg.Listener.Addr().String())
	origin := mustURL(t, "http://"+registryHost+"/")
	canaryOn := func(host string) string { return "http://" + hostPort(host, can.port()) + "/pkg/-/pkg-1.0.0.tgz" }

	tests := []struct{ name, url string }{
		{"first hop, packument's host", canaryOn(registryHost)},
		{"first hop, other allowlisted host", canaryOn("cdn.example.test")},
		{"redirect, packument's host", to("http://"+registryHost, canaryOn(registryHost))},
		{"redirect, other allowlisted host", to("http://"+registryHost, canaryOn("cdn.example.test"))},
	}
	for _, respect := range []bool{true, false} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/respect=%v", tc.name, respect), func(t *testing.T) {
				// Bare entries, as PROXY_EGRESS_ALLOWED_HOSTS is written.
				g := newGuard(t, Options{
					AllowedHosts:               []string{registryHost, "cdn.example.test"},
					AllowInternal:              loopbackOnly,
					RespectUpstreamTarballHost: respect,
					Resolver: newResolver(t, map[string][]string{
						registryHost:       {"127.0.0.1"},
						"cdn.example.test": {"127.0.0.1"},
					}),
				})
				g.connect = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
					if ap.Port() == 80 {
						ap = regAddr // the registry's default port is the test server
					}
					return g.dialChecked(ctx, network, ap)
				}
				if err := g.CheckTarballURL(mustURL(t, canaryOn(registryHost)), origin); err == nil {
					t.Errorf("CheckTarballURL(%s) = nil, want a refusal", canaryOn(registryHost))
				}
				req, err := http.NewRequestWithContext(WithOrigin(t.Context(), origin), http.MethodGet, tc.url, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := g.Client().Do(req)
				if err == nil {
					_ = resp.Body.Close()
					t.Fatalf("GET %s succeeded, want a refusal", tc.url)
				}
				wantRefused(t, err, fmt.Sprintf("port %d not in egress allowlist", can.port()))
			})
		}
	}
	if n := can.accepted.Load(); n != 0 {
		t.Fatalf("canary on another port accepted %d connections, want 0", n)
	}

	// Positive control: with the canary's port allowlisted for the cdn host, the
	// same tarball is fetched from it.
	g := newGuard(t, Options{
		AllowedHosts:               []string{registryHost, hostPort("cdn.example.test", can.port())},
		AllowInternal:              loopbackOnly,
		RespectUpstreamTarballHost: true,
		Resolver:                   newResolver(t, map[string][]string{"cdn.example.test": {"127.0.0.1"}}),
	})
	req, err := http.NewRequestWithContext(WithOrigin(t.Context(), origin), http.MethodGet, canaryOn("cdn.example.test"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := g.Client().Do(req); err == nil {
		_ = resp.Body.Close()
	}
	if n := can.accepted.Load(); n != 1 {
		t.Fatalf("with its port allowlisted, the canary accepted %d connections, want 1", n)
	}
}
