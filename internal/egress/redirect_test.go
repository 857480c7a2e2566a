package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// redirector serves /hop/N, which redirects to /hop/N-1 until N is 0, and /to?u=X,
// which redirects to X. It counts the requests it sees.
type redirector struct {
	hits atomic.Int64
}

func (rd *redirector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rd.hits.Add(1)
	if n, ok := strings.CutPrefix(r.URL.Path, "/hop/"); ok {
		left, err := strconv.Atoi(n)
		if err != nil {
			http.Error(w, "bad hop", http.StatusBadRequest)
			return
		}
		if left == 0 {
			_, _ = w.Write([]byte("done"))
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", left-1), http.StatusFound)
		return
	}
	if r.URL.Path == "/to" {
		http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
		return
	}
	_, _ = w.Write([]byte("ok"))
}

// pinDials lets g connect only to the given test servers; any other dial is counted
// and fails without touching the network.
func pinDials(t *testing.T, g *Guard, servers ...*httptest.Server) *atomic.Int64 {
	t.Helper()
	allowed := map[netip.AddrPort]bool{}
	for _, s := range servers {
		allowed[netip.MustParseAddrPort(s.Listener.Addr().String())] = true
	}
	var strays atomic.Int64
	g.connect = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
		if !allowed[ap] {
			strays.Add(1)
			return nil, errors.New("test: dial outside the test servers")
		}
		return g.dialChecked(ctx, network, ap)
	}
	t.Cleanup(func() {
		if n := strays.Load(); n != 0 {
			t.Errorf("guard dialled %d addresses outside the test servers, want 0", n)
		}
	})
	return &strays
}

func to(base, target string) string {
	return base + "/to?u=" + url.QueryEscape(target)
}

func TestRedirectChecks(t *testing.T) {
	rd := &redirector{}
	srv := httptest.NewServer(rd)
	t.Cleanup(srv.Close)
	port := serverPort(t, srv)
	base := "http://" + hostPort(registryHost, port)

	tests := []struct {
		name   string
		url    string
		max    int
		reason string // "" for success
		hits   int64  // requests the server must have seen
	}{
		{name: "same host", url: to(base, "/hop/0"), hits: 2},
		{name: "five hops", url: base + "/hop/5", hits: 6},
		{name: "six hops", url: base + "/hop/6", reason: "more than 5 redirects", hits: 6},
		{name: "custom limit", url: base + "/hop/3", max: 2, reason: "more than 2 redirects", hits: 3},
		{name: "no redirects", url: base + "/hop/1", max: -1, reason: "not followed", hits: 1},
		{name: "to private literal", url: to(base, "http://10.0.0.1/"), reason: "private", hits: 1},
		{name: "to metadata", url: to(base, "http://169.254.169.254/latest/meta-data/"), reason: "link-local", hits: 1},
		{name: "to loopback outside the hole", url: to(base, "http://"+hostPort("127.0.0.2", port)+"/"), reason: "loopback", hits: 1},
		{name: "to decimal literal", url: to(base, "http://2130706433:"+strconv.Itoa(int(port))+"/"), reason: "reads as 127.0.0.1", hits: 1},
		{name: "to mapped literal", url: to(base, "http://[::ffff:a9fe:a9fe]/"), reason: "IPv4-mapped", hits: 1},
		{name: "to allowlisted name resolving to metadata", url: to(base, "http://metadata.example.test/"), reason: "resolves to 169.254.169.254", hits: 1},
		{name: "to host not allowlisted", url: to(base, "http://"+hostPort("evil.example.com", port)+"/"), reason: "allowlist", hits: 1},
		{name: "to ftp", url: to(base, "ftp://"+registryHost+"/"), reason: "scheme", hits: 1},
		{name: "to userinfo", url: to(base, "http://user:pass@"+hostPort(registryHost, port)+"/"), reason: "userinfo", hits: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd.hits.Store(0)
			g := newGuard(t, Options{
				AllowedHosts:  []string{registryHost, "metadata.example.test"},
				AllowInternal: loopbackOnly,
				MaxRedirects:  tc.max,
				Resolver: newResolver(t, map[string][]string{
					registryHost:            {"127.0.0.1"},
					"metadata.example.test": {"169.254.169.254"},
					"evil.example.com":      {"127.0.0.1"},
				}),
			})
			pinDials(t, g, srv)
			resp, err := get(t, g.Client(), tc.url)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("GET %s = %v, want success", tc.url, err)
				}
				readAll(t, resp)
			} else {
				if err == nil {
					_ = resp.Body.Close()
					t.Fatalf("GET %s succeeded, want refusal %q", tc.url, tc.reason)
				}
				wantRefused(t, err, tc.reason)
			}
			if got := rd.hits.Load(); got != tc.hits {
				t.Errorf("server saw %d requests, want %d", got, tc.hits)
			}
		})
	}
}

func TestRedirectDowngradeIsRefused(t *testing.T) {
	plain := &redirector{}
	plainSrv := httptest.NewServer(plain)
	t.Cleanup(plainSrv.Close)
	tlsSrv := httptest.NewTLSServer(&redirector{})
	t.Cleanup(tlsSrv.Close)

	// The test certificate names example.com and *.example.com.
	const host = "registry.example.com"
	g := newGuard(t, Options{
		AllowedHosts:  []string{host},
		AllowInternal: loopbackOnly,
		Resolver:      newResolver(t, map[string][]string{host: {"127.0.0.1"}}),
		TLSConfig:     tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig,
	})
	pinDials(t, g, plainSrv, tlsSrv)
	secure := "https://" + hostPort(host, serverPort(t, tlsSrv))
	insecure := "http://" + hostPort(host, serverPort(t, plainSrv))

	resp, err := get(t, g.Client(), to(secure, secure+"/hop/0"))
	if err != nil {
		t.Fatalf("https to https redirect = %v, want success", err)
	}
	readAll(t, resp)

	resp, err = get(t, g.Client(), to(secure, insecure+"/hop/0"))
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("https to http redirect succeeded, want refusal")
	}
	wantRefused(t, err, "downgrades https to http")
	if n := plain.hits.Load(); n != 0 {
		t.Errorf("plain server saw %d requests, want 0", n)
	}
}

func TestTLSMinimumVersion(t *testing.T) {
	g := newGuard(t, Options{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS10}})
	if got := g.transport.TLSClientConfig.MinVersion; got != tls.VersionTLS12 {
		t.Errorf("TLS minimum = %x, want %x", got, tls.VersionTLS12)
	}
	if g.transport.Proxy != nil {
		t.Error("guarded transport has a Proxy func, want none (a proxy hides the destination)")
	}
}
