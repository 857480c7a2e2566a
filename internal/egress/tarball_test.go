package egress

import (
	"net/http"
	"net/http/httptest"
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
		{name: "same host other port", tarball: "https://registry.example.test:8443/pkg.tgz", origin: origin, strict: "differs"},
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
					AllowedHosts:               []string{registryHost, "cdn.example.test"},
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
					AllowedHosts:               []string{registryHost, "cdn.example.test"},
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
			AllowedHosts:  []string{registryHost, "cdn.example.test"},
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
