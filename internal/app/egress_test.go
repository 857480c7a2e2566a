package app

import (
	"log/slog"
	"net/url"
	"testing"

	"github.com/ecluse/ecluse/internal/egress"
)

// TestEgressOptionsAllowUpstreamOrigin checks that the guard built from the
// configuration admits the public upstream's own origin, port included, and the
// operator's bare host names on the default ports only.
func TestEgressOptionsAllowUpstreamOrigin(t *testing.T) {
	tests := []struct {
		name     string
		upstream string
		tarball  string
		ok       bool
	}{
		{"upstream origin", "http://public.example.test:8080/npm/", "http://public.example.test:8080/pkg/-/pkg-1.0.0.tgz", true},
		{"upstream host, other port", "http://public.example.test:8080/npm/", "http://public.example.test:8081/pkg/-/pkg-1.0.0.tgz", false},
		{"upstream host, default port", "http://public.example.test:8080/npm/", "http://public.example.test/pkg/-/pkg-1.0.0.tgz", false},
		{"default port upstream", "https://public.example.test/", "https://public.example.test:443/pkg/-/pkg-1.0.0.tgz", true},
		{"default port upstream, other scheme", "https://public.example.test/", "http://public.example.test/pkg/-/pkg-1.0.0.tgz", false},
		{"extra host", "https://public.example.test/", "https://files.example.test/pkg/-/pkg-1.0.0.tgz", true},
		{"extra host, other port", "https://public.example.test/", "https://files.example.test:8443/pkg/-/pkg-1.0.0.tgz", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, problems := Load(envSource(map[string]string{
				"PUBLIC_UPSTREAM_URL":                 tc.upstream,
				"PROXY_EGRESS_ALLOWED_HOSTS":          "files.example.test",
				"PROXY_RESPECT_UPSTREAM_TARBALL_HOST": "true",
			}))
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			g, err := egress.New(egressOptions(l.Config, slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatalf("egress.New = %v", err)
			}
			tarball, err := url.Parse(tc.tarball)
			if err != nil {
				t.Fatal(err)
			}
			err = g.CheckTarballURL(tarball, l.Config.PublicUpstream)
			if got := err == nil; got != tc.ok {
				t.Errorf("CheckTarballURL(%s) with upstream %s = %v, want allowed %v", tc.tarball, tc.upstream, err, tc.ok)
			}
		})
	}
}
