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
		{name: "to allowlisted host on another port", url: to(base, "http://"+hostPort(registryHost, port^1)+"/"), reason: "not in egress allowlist", hits: 1},
		{name: "to allowlisted host on its default port", url: to(base, "http://"+registryHost+"/"), reason: "port 80 not in egress allowlist", hits: 1},
		{name: "to allowlisted host and port over https", url: to(base, "https://"+hostPort(registryHost, port)+"/"), reason: "scheme https", hits: 1},
		{name: "to ftp", url: to(base, "ftp://"+registryHost+"/"), reason: "scheme", hits: 1},
		{name: "to userinfo", url: to(base, "http://user:pass@"+hostPort(registryHost, port)+"/"), reason: "userinfo", hits: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd.hits.Store(0)
			g := newGuard(t, Options{
				AllowedHosts:  []string{base, "metadata.example.test"},
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

// TestRedirectToAnotherPortNeverConnects reproduces the review's finding: a public
// upstream answering with a redirect to another port of its own (allowlisted) host,
// where something else listens. The guard dials for real with a hole open for
// 127.0.0.1, so a check that ignored the port would reach the canary.
func TestRedirectToAnotherPortNeverConnects(t *testing.T) {
	can := newCanary(t)
	rd := &redirector{}
	srv := httptest.NewServer(rd)
	t.Cleanup(srv.Close)
	srvAddr := netip.MustParseAddrPort(srv.Listener.Addr().String())
	offPort := func(scheme string) string { return scheme + "://" + hostPort(registryHost, can.port()) + "/" }

	tests := []struct {
		name   string
		allow  []string
		base   string // the upstream as the client addresses it
		target string
		reason string
	}{
		// A bare entry, as PROXY_EGRESS_ALLOWED_HOSTS is written: the upstream is on
		// port 80 (routed to the test server below).
		{name: "bare entry, http", allow: []string{registryHost}, base: "http://" + registryHost, target: offPort("http"), reason: "not in egress allowlist"},
		{name: "bare entry, https", allow: []string{registryHost}, base: "http://" + registryHost, target: offPort("https"), reason: "not in egress allowlist"},
		{name: "origin entry", allow: []string{"http://" + hostPort(registryHost, srvAddr.Port())}, base: "http://" + hostPort(registryHost, srvAddr.Port()), target: offPort("http"), reason: "not in egress allowlist"},
		{name: "host:port entry", allow: []string{hostPort(registryHost, srvAddr.Port())}, base: "http://" + hostPort(registryHost, srvAddr.Port()), target: offPort("http"), reason: "not in egress allowlist"},
		{name: "ip literal entry", allow: []string{hostPort("127.0.0.1", srvAddr.Port())}, base: "http://" + srvAddr.String(), target: "http://" + can.addr() + "/", reason: "not in egress allowlist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd.hits.Store(0)
			g := newGuard(t, Options{
				AllowedHosts:  tc.allow,
				AllowInternal: loopbackOnly,
				Resolver:      newResolver(t, resolvesTo("127.0.0.1")),
			})
			g.connect = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
				if ap.Port() == 80 {
					ap = srvAddr // the upstream's default port is the test server
				}
				return g.dialChecked(ctx, network, ap)
			}
			u := to(tc.base, tc.target)
			resp, err := get(t, g.Client(), u)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatalf("GET %s succeeded, want the redirect refused", u)
			}
			wantRefused(t, err, tc.reason)
			if n := rd.hits.Load(); n != 1 {
				t.Errorf("upstream saw %d requests, want 1 (the redirect)", n)
			}
		})
	}
	if n := can.accepted.Load(); n != 0 {
		t.Fatalf("canary on another port of the allowlisted host accepted %d connections, want 0", n)
	}

	// Positive control: once the canary's origin is allowlisted, the same redirect
	// reaches it, so the zero above is the allowlist's doing.
	g := newGuard(t, Options{
		AllowedHosts:  []string{hostPort(registryHost, srvAddr.Port()), offPort("http")},
		AllowInternal: loopbackOnly,
		Resolver:      newResolver(t, resolvesTo("127.0.0.1")),
	})
	resp, err := get(t, g.Client(), to("http://"+hostPort(registryHost, srvAddr.Port()), offPort("http")))
	if err == nil {
		_ = resp.Body.Close()
	}
	if n := can.accepted.Load(); n != 1 {
		t.Fatalf("with its origin allowlisted, the canary accepted %d connections, want 1", n)
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
		AllowedHosts:  []string{"https://" + hostPort(host, serverPort(t, tlsSrv)), hostPort(host, serverPort(t, plainSrv))},
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
