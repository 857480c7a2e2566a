package gate

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/upstream"
)

// tableResolver answers from a fixed table; unknown names fail.
type tableResolver map[string][]netip.Addr

func (r tableResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %q", host)
}

// canary counts the connections it accepts.
type canary struct {
	ln    net.Listener
	count atomic.Int64
}

func newCanary(t *testing.T) *canary {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.count.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

// TestTarballEgressRefusals proves the acceptance: a packument whose tarball
// points at an internal address never causes a connection there, and the client gets a
// 502-class error naming the host; a tarball on another public host is fetched only when
// PROXY_RESPECT_UPSTREAM_TARBALL_HOST is set and that host is allowlisted.
func TestTarballEgressRefusals(t *testing.T) {
	can := newCanary(t)
	canPort := can.ln.Addr().(*net.TCPAddr).Port
	body := []byte("cdn-served tarball")
	sum := sha512.Sum512(body)
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])

	cdnHits := atomic.Int64{}
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		cdnHits.Add(1)
		_, _ = w.Write(body)
	}))
	t.Cleanup(cdn.Close)
	cdnPort := cdn.Listener.Addr().(*net.TCPAddr).Port

	var tarball atomic.Value
	pub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/pkg" {
			http.NotFound(w, r)
			return
		}
		old := now.Add(-30 * day).Format(time.RFC3339)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name": "pkg", "dist-tags": map[string]string{"latest": "1.0.0"},
			"time":     map[string]string{"1.0.0": old},
			"versions": map[string]any{"1.0.0": map[string]any{"name": "pkg", "version": "1.0.0", "dist": map[string]string{"integrity": integrity, "tarball": tarball.Load().(string)}}},
		})
	}))
	t.Cleanup(pub.Close)
	pubPort := pub.Listener.Addr().(*net.TCPAddr).Port
	loop := netip.MustParseAddr("127.0.0.1")
	resolver := tableResolver{
		"public.example.test": {loop},
		"cdn.example.test":    {loop},
		"evil.example.test":   {netip.MustParseAddr("10.0.0.1")},
		"rebind.example.test": {netip.MustParseAddr("169.254.169.254")},
	}
	pol, _ := policy.Build(nil, policy.Options{Ordering: npm.Semver{}})
	build := func(t *testing.T, respect bool, extra ...string) *Gate {
		// The allowlist matches ports: admit the test servers' random ports, as an
		// operator allowlists a registry on a non-default port.
		allow := []string{fmt.Sprintf("public.example.test:%d", pubPort)}
		for _, h := range extra {
			if h == "cdn.example.test" {
				h = fmt.Sprintf("cdn.example.test:%d", cdnPort)
			}
			allow = append(allow, h)
		}
		g, err := egress.New(egress.Options{
			AllowedHosts:               allow,
			AllowInternal:              []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, // the test servers; a hole opened per test
			RespectUpstreamTarballHost: respect,
			Resolver:                   resolver,
		})
		if err != nil {
			t.Fatal(err)
		}
		base := mustURL(t, fmt.Sprintf("http://public.example.test:%d/", pubPort))
		priv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(priv.Close)
		return New(Options{
			Private:      upstream.New(upstream.Options{Origin: "private", Base: mustURL(t, priv.URL+"/"), HTTP: priv.Client()}),
			Public:       upstream.New(upstream.Options{Origin: "public", Base: base, HTTP: g.Client(), Anonymous: true}),
			Policy:       pol,
			Limits:       npm.Limits{MaxBytes: 1 << 20},
			CheckTarball: g.CheckTarballURL,
			Now:          func() time.Time { return now },
			CacheTTL:     time.Nanosecond, // every case re-reads the packument
		})
	}
	hostile := []struct{ name, url, host string }{
		{"loopback literal", fmt.Sprintf("http://127.0.0.1:%d/pkg/-/pkg-1.0.0.tgz", canPort), "127.0.0.1"},
		{"metadata endpoint", "http://169.254.169.254/latest/meta-data/", "169.254.169.254"},
		{"ipv4-mapped loopback", fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/x.tgz", canPort), "::ffff:127.0.0.1"},
		{"decimal loopback", fmt.Sprintf("http://2130706433:%d/x.tgz", canPort), "2130706433"},
		{"name resolving to 10.0.0.1", "http://evil.example.test/x.tgz", "evil.example.test"},
		{"name resolving to metadata", "http://rebind.example.test/x.tgz", "rebind.example.test"},
	}
	for _, respect := range []bool{false, true} {
		for _, tc := range hostile {
			t.Run(fmt.Sprintf("respect=%v/%s", respect, tc.name), func(t *testing.T) {
				tarball.Store(tc.url)
				g := build(t, respect, "evil.example.test", "rebind.example.test")
				_, err := g.Tarball(context.Background(), TarballQuery{Name: "pkg", Version: "1.0.0"})
				var ue *UpstreamError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v (%T), want an UpstreamError (502)", err, err)
				}
				if !strings.Contains(ue.Message, tc.host) {
					t.Errorf("message %q does not name the refused host %q", ue.Message, tc.host)
				}
			})
		}
	}
	if n := can.count.Load(); n != 0 {
		t.Errorf("the canary on 127.0.0.1 accepted %d connections", n)
	}

	cdnURL := fmt.Sprintf("http://cdn.example.test:%d/pkg/-/pkg-1.0.0.tgz", cdnPort)
	tarball.Store(cdnURL)
	for _, tc := range []struct {
		name      string
		respect   bool
		allowlist []string
		ok        bool
	}{
		{"other host refused by default", false, []string{"cdn.example.test"}, false},
		{"respect but not allowlisted", true, nil, false},
		{"respect and allowlisted", true, []string{"cdn.example.test"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := cdnHits.Load()
			g := build(t, tc.respect, tc.allowlist...)
			art, err := g.Tarball(context.Background(), TarballQuery{Name: "pkg", Version: "1.0.0"})
			if !tc.ok {
				var ue *UpstreamError
				if !errors.As(err, &ue) || !strings.Contains(ue.Message, "cdn.example.test") {
					t.Fatalf("err = %v, want a refusal naming cdn.example.test", err)
				}
				if cdnHits.Load() != before {
					t.Error("the refused host was contacted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(art.Body)
			art.Body.Close()
			if err != nil || string(got) != string(body) {
				t.Errorf("body %q err %v", got, err)
			}
		})
	}
}
