package egress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

const registryHost = "registry.example.test"

// hostileCase is one URL, with the resolver's answers, that the guarded client must
// refuse without opening a connection.
type hostileCase struct {
	name    string
	url     string              // "{port}" is replaced with the canary's port
	answers map[string][]string // the resolver's table for this case
	allow   []string            // allowlist entries beyond registryHost
	reason  string              // text the refusal's reason must contain
	// lookup says whether the resolver must be consulted. A name refused before
	// resolution must not reach DNS at all.
	lookup bool
	// loopback marks cases whose every possible destination is on this machine, so
	// they can also run with the real dialer without touching the network.
	loopback bool
}

func resolvesTo(addrs ...string) map[string][]string {
	return map[string][]string{registryHost: addrs}
}

var hostileCases = []hostileCase{
	// IPv4 literals.
	{name: "loopback", url: "http://127.0.0.1:{port}/", reason: "loopback", loopback: true},
	{name: "loopback 127.0.0.2", url: "http://127.0.0.2:{port}/", reason: "loopback", loopback: true},
	{name: "loopback trailing dot", url: "http://127.0.0.1.:{port}/", reason: "loopback", loopback: true},
	{name: "unspecified", url: "http://0.0.0.0:{port}/", reason: "unspecified", loopback: true},
	{name: "metadata", url: "http://169.254.169.254/latest/meta-data/", reason: "link-local"},
	{name: "metadata with port", url: "http://169.254.169.254:{port}/", reason: "link-local"},
	{name: "private 10", url: "http://10.0.0.1/", reason: "private"},
	{name: "private 172", url: "http://172.16.0.1/", reason: "private"},
	{name: "private 192", url: "http://192.168.1.1/", reason: "private"},
	{name: "cgnat", url: "http://100.64.0.1/", reason: "carrier-grade"},
	{name: "benchmarking", url: "http://198.18.0.1/", reason: "benchmarking"},
	{name: "multicast", url: "http://224.0.0.1/", reason: "multicast"},
	{name: "broadcast", url: "http://255.255.255.255/", reason: "broadcast"},
	{name: "reserved", url: "http://240.0.0.1/", reason: "reserved"},
	{name: "allowlisted private literal", url: "http://10.0.0.1/", allow: []string{"10.0.0.1"}, reason: "private"},
	// IPv6 literals, including the forms that carry an IPv4 address.
	{name: "ipv6 loopback", url: "http://[::1]:{port}/", reason: "loopback", loopback: true},
	{name: "ipv6 unspecified", url: "http://[::]:{port}/", reason: "unspecified", loopback: true},
	{name: "aws ipv6 metadata", url: "http://[fd00:ec2::254]/", reason: "unique local"},
	{name: "link-local with zone", url: "http://[fe80::1%25lo]:{port}/", reason: "link-local"},
	{name: "ipv6 multicast", url: "http://[ff02::1]/", reason: "multicast"},
	{name: "mapped dotted", url: "http://[::ffff:127.0.0.1]:{port}/", reason: "IPv4-mapped form of 127.0.0.1", loopback: true},
	{name: "mapped hex", url: "http://[::ffff:7f00:1]:{port}/", reason: "IPv4-mapped form of 127.0.0.1", loopback: true},
	{name: "mapped metadata", url: "http://[::ffff:a9fe:a9fe]/", reason: "IPv4-mapped form of 169.254.169.254"},
	{name: "translated", url: "http://[::ffff:0:7f00:1]:{port}/", reason: "IPv4-translated"},
	{name: "compatible", url: "http://[::127.0.0.1]:{port}/", reason: "IPv4-compatible"},
	{name: "nat64", url: "http://[64:ff9b::7f00:1]:{port}/", reason: "NAT64 form of 127.0.0.1"},
	{name: "nat64 metadata", url: "http://[64:ff9b::a9fe:a9fe]/", reason: "NAT64 form of 169.254.169.254"},
	{name: "6to4", url: "http://[2002:7f00:1::]:{port}/", reason: "6to4 form of 127.0.0.1"},
	{name: "teredo", url: "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/", reason: "Teredo form of 127.0.0.1"},
	// IPv4 literals a C resolver would read as loopback or metadata.
	{name: "decimal", url: "http://2130706433:{port}/", reason: "reads as 127.0.0.1"},
	{name: "octal", url: "http://0177.0.0.1:{port}/", reason: "reads as 127.0.0.1"},
	{name: "hex dotted", url: "http://0x7f.0.0.1:{port}/", reason: "reads as 127.0.0.1"},
	{name: "hex short", url: "http://0x7f.1:{port}/", reason: "reads as 127.0.0.1"},
	{name: "hex whole", url: "http://0x7f000001:{port}/", reason: "reads as 127.0.0.1"},
	{name: "octal whole", url: "http://017700000001:{port}/", reason: "reads as 127.0.0.1"},
	{name: "two parts", url: "http://127.1:{port}/", reason: "reads as 127.0.0.1"},
	{name: "three parts", url: "http://127.0.1:{port}/", reason: "reads as 127.0.0.1"},
	{name: "zero padded", url: "http://127.000.000.001:{port}/", reason: "reads as 127.0.0.1"},
	{name: "zero", url: "http://0:{port}/", reason: "reads as 0.0.0.0"},
	{name: "metadata decimal", url: "http://2852039166/", reason: "reads as 169.254.169.254"},
	{name: "numeric last label", url: "http://registry.example.test.1/", reason: "numeric"},
	// Allowlisted names whose answers point inward.
	{name: "name to private", url: "http://registry.example.test/", answers: resolvesTo("10.0.0.1"), reason: "resolves to 10.0.0.1", lookup: true},
	{name: "name to loopback", url: "http://registry.example.test:{port}/", answers: resolvesTo("127.0.0.1"), reason: "resolves to 127.0.0.1", lookup: true, loopback: true},
	{name: "name to public then loopback", url: "http://registry.example.test:{port}/", answers: resolvesTo("8.8.8.8", "127.0.0.1"), reason: "resolves to 127.0.0.1", lookup: true},
	{name: "name to loopback then public", url: "http://registry.example.test:{port}/", answers: resolvesTo("127.0.0.1", "8.8.8.8"), reason: "resolves to 127.0.0.1", lookup: true},
	{name: "name to mapped loopback", url: "http://registry.example.test:{port}/", answers: resolvesTo("::ffff:127.0.0.1"), reason: "IPv4-mapped", lookup: true, loopback: true},
	{name: "name to ipv6 loopback", url: "http://registry.example.test:{port}/", answers: resolvesTo("::1"), reason: "loopback", lookup: true, loopback: true},
	{name: "name to unspecified", url: "http://registry.example.test:{port}/", answers: resolvesTo("0.0.0.0"), reason: "unspecified", lookup: true, loopback: true},
	{name: "name to metadata", url: "http://registry.example.test/", answers: resolvesTo("169.254.169.254"), reason: "link-local", lookup: true},
	{name: "name to aws ipv6 metadata", url: "http://registry.example.test/", answers: resolvesTo("fd00:ec2::254"), reason: "unique local", lookup: true},
	{name: "name to nat64 metadata", url: "http://registry.example.test/", answers: resolvesTo("64:ff9b::a9fe:a9fe"), reason: "NAT64", lookup: true},
	{name: "name to link-local with zone", url: "http://registry.example.test/", answers: resolvesTo("fe80::1%lo"), reason: "link-local", lookup: true},
	{name: "name to cgnat over https", url: "https://registry.example.test/", answers: resolvesTo("100.64.0.1"), reason: "carrier-grade", lookup: true},
	// URL shapes refused whatever the host resolves to.
	{name: "userinfo", url: "http://user:pass@registry.example.test:{port}/", answers: resolvesTo("8.8.8.8"), reason: "userinfo"},
	{name: "user only", url: "http://user@registry.example.test/", answers: resolvesTo("8.8.8.8"), reason: "userinfo"},
	{name: "ftp", url: "ftp://registry.example.test/", answers: resolvesTo("8.8.8.8"), reason: "scheme"},
	{name: "file", url: "file:///etc/passwd", reason: "scheme"},
	{name: "gopher", url: "gopher://registry.example.test:{port}/_", answers: resolvesTo("8.8.8.8"), reason: "scheme"},
	{name: "no host", url: "http:///pkg", reason: "empty host"},
	{name: "port zero", url: "http://registry.example.test:0/", answers: resolvesTo("8.8.8.8"), reason: "port 0"},
	{name: "not allowlisted", url: "http://evil.example.com:{port}/", answers: map[string][]string{"evil.example.com": {"8.8.8.8"}}, reason: "allowlist"},
	{name: "localhost", url: "http://localhost:{port}/", answers: map[string][]string{"localhost": {"127.0.0.1"}}, reason: "allowlist"},
	{name: "allowlisted name as suffix", url: "http://registry.example.test.evil.example.com/", answers: map[string][]string{"registry.example.test.evil.example.com": {"8.8.8.8"}}, reason: "allowlist"},
	{name: "allowlisted name as prefix", url: "http://evil-registry.example.test/", answers: map[string][]string{"evil-registry.example.test": {"8.8.8.8"}}, reason: "allowlist"},
	// An allowlisted name on a port its entry does not name. The guard under test
	// admits registryHost on the default ports and the canary's port only.
	{name: "allowlisted name off port", url: "http://registry.example.test:8443/", answers: resolvesTo("127.0.0.1"), reason: "port 8443 not in egress allowlist"},
	{name: "allowlisted name, https on the http port", url: "https://registry.example.test:80/", answers: resolvesTo("127.0.0.1"), reason: "scheme https on port 80"},
	{name: "allowlisted name, redis port", url: "http://registry.example.test:6379/", answers: resolvesTo("8.8.8.8"), reason: "port 6379 not in egress allowlist"},
	{name: "allowlisted name, port 0", url: "http://registry.example.test:00/", answers: resolvesTo("8.8.8.8"), reason: "port 0"},
	{name: "allowlisted name, port out of range", url: "http://registry.example.test:65616/", answers: resolvesTo("127.0.0.1"), reason: "out of range"},
	{name: "kelvin sign folds to allowlisted name", url: "http://\u212aegistry.example.test/", allow: []string{"kegistry.example.test"}, answers: map[string][]string{"kegistry.example.test": {"8.8.8.8"}}, reason: "non-ASCII"},
}

func (tc hostileCase) rawURL(port uint16) string {
	return strings.ReplaceAll(tc.url, "{port}", strconv.Itoa(int(port)))
}

// guard builds the guard a case runs against: registryHost on the default ports and
// on port, plus the case's own entries.
func (tc hostileCase) guard(t *testing.T, port uint16) (*Guard, *fakeResolver) {
	t.Helper()
	r := newResolver(t, tc.answers)
	allow := append([]string{registryHost, hostPort(registryHost, port)}, tc.allow...)
	g := newGuard(t, Options{AllowedHosts: allow, Resolver: r})
	return g, r
}

func get(t *testing.T, c *http.Client, rawURL string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatalf("NewRequest(%q): %v", rawURL, err)
	}
	return c.Do(req)
}

func wantRefused(t *testing.T, err error, reason string) *RefusedError {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want a *RefusedError", err)
	}
	if !strings.Contains(re.Reason, reason) {
		t.Errorf("refusal reason = %q, want it to contain %q", re.Reason, reason)
	}
	return re
}

func TestHostileCasesNeverConnect(t *testing.T) {
	if len(hostileCases) < 40 {
		t.Fatalf("len(hostileCases) = %d, want at least 40", len(hostileCases))
	}
	can := newCanary(t)
	for _, tc := range hostileCases {
		rawURL := tc.rawURL(can.port())
		// Observed: whatever a broken check let through is dialled to the canary
		// instead of its real destination, so no case can reach the network.
		t.Run(tc.name+"/observed", func(t *testing.T) {
			g, r := tc.guard(t, can.port())
			var dialled atomic.Int64
			g.connect = func(ctx context.Context, _ string, _ netip.AddrPort) (net.Conn, error) {
				dialled.Add(1)
				var d net.Dialer
				return d.DialContext(ctx, "tcp", can.addr())
			}
			resp, err := get(t, g.Client(), rawURL)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatalf("GET %s succeeded, want a refusal", rawURL)
			}
			wantRefused(t, err, tc.reason)
			if n := dialled.Load(); n != 0 {
				t.Errorf("GET %s dialled %d addresses, want 0", rawURL, n)
			}
			if got := r.calls.Load() > 0; got != tc.lookup {
				t.Errorf("GET %s resolver consulted = %v, want %v", rawURL, got, tc.lookup)
			}
		})
		if !tc.loopback {
			continue
		}
		// Real: the production dialer, for cases that can only ever land on this host.
		t.Run(tc.name+"/real", func(t *testing.T) {
			g, _ := tc.guard(t, can.port())
			resp, err := get(t, g.Client(), rawURL)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatalf("GET %s succeeded, want a refusal", rawURL)
			}
			wantRefused(t, err, tc.reason)
		})
	}
	if n := can.accepted.Load(); n != 0 {
		t.Fatalf("canary accepted %d connections, want 0", n)
	}
}

// TestCanaryDetectsConnections is the positive control for the canary: with a hole
// opened for it, the same request does reach it.
func TestCanaryDetectsConnections(t *testing.T) {
	can := newCanary(t)
	g := newGuard(t, Options{
		AllowedHosts:  []string{hostPort(registryHost, can.port())},
		AllowInternal: loopbackOnly,
		Resolver:      newResolver(t, resolvesTo("127.0.0.1")),
	})
	resp, err := get(t, g.Client(), "http://"+hostPort(registryHost, can.port())+"/")
	if err == nil {
		_ = resp.Body.Close()
	}
	if n := can.accepted.Load(); n != 1 {
		t.Fatalf("canary accepted %d connections, want 1", n)
	}
}

func okServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func serverPort(t *testing.T, srv *httptest.Server) uint16 {
	t.Helper()
	return netip.MustParseAddrPort(srv.Listener.Addr().String()).Port()
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestGuardedClientReachesAllowedHost(t *testing.T) {
	srv := okServer(t, "packument")
	port := serverPort(t, srv)
	tests := []struct {
		name    string
		host    string
		answers []string
		allow   []string
	}{
		{"name", registryHost, []string{"127.0.0.1"}, nil},
		{"upper case name", "REGISTRY.Example.Test", []string{"127.0.0.1"}, nil},
		{"trailing dot", registryHost + ".", []string{"127.0.0.1"}, nil},
		{"mapped answer", registryHost, []string{"::ffff:127.0.0.1"}, nil},
		{"allowlisted literal", "127.0.0.1", nil, nil},
		{"origin entry", registryHost, []string{"127.0.0.1"}, []string{"http://" + hostPort(registryHost, port)}},
		{"origin entry with slash, upper case", registryHost, []string{"127.0.0.1"}, []string{"HTTP://" + hostPort("Registry.Example.Test", port) + "/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			allow := tc.allow
			if allow == nil {
				allow = []string{hostPort(registryHost, port), hostPort("127.0.0.1", port)}
			}
			g := newGuard(t, Options{
				AllowedHosts:  allow,
				AllowInternal: loopbackOnly,
				Resolver:      newResolver(t, resolvesTo(tc.answers...)),
			})
			resp, err := get(t, g.Client(), "http://"+hostPort(tc.host, port)+"/pkg")
			if err != nil {
				t.Fatalf("GET = %v, want success", err)
			}
			if got := readAll(t, resp); got != "packument" {
				t.Errorf("GET body = %q, want %q", got, "packument")
			}
		})
	}
}

// TestRebindingIsRefusedAtConnect models a name server that answers with an
// admitted address first and an internal one next. Each connection resolves once
// and dials what it checked, so the second connection is refused.
func TestRebindingIsRefusedAtConnect(t *testing.T) {
	srv := okServer(t, "ok")
	r := newResolver(t, nil)
	r.sequence[registryHost] = [][]netip.Addr{
		mustAddrs(t, []string{"127.0.0.1"}), // stands in for a public answer
		mustAddrs(t, []string{"127.0.0.2"}), // internal, outside the test's hole
	}
	u := "http://" + hostPort(registryHost, serverPort(t, srv)) + "/"
	g := newGuard(t, Options{AllowedHosts: []string{u}, AllowInternal: loopbackOnly, Resolver: r})

	resp, err := get(t, g.Client(), u)
	if err != nil {
		t.Fatalf("first GET = %v, want success", err)
	}
	readAll(t, resp)
	if n := r.calls.Load(); n != 1 {
		t.Fatalf("lookups after one connection = %d, want 1", n)
	}

	g.Client().CloseIdleConnections() // force a new connection
	resp, err = get(t, g.Client(), u)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("second GET succeeded, want refusal after rebinding")
	}
	re := wantRefused(t, err, "resolves to 127.0.0.2")
	if re.URL != "" {
		t.Errorf("connect-time refusal URL = %q, want empty", re.URL)
	}
}

// TestControlIsTheBackstop makes the dial land somewhere other than the checked
// address and expects the socket-level check to refuse it.
func TestControlIsTheBackstop(t *testing.T) {
	can := newCanary(t)
	g := newGuard(t, Options{AllowedHosts: []string{registryHost}, Resolver: newResolver(t, resolvesTo("8.8.8.8"))})
	g.connect = func(ctx context.Context, network string, _ netip.AddrPort) (net.Conn, error) {
		return g.dialer.DialContext(ctx, network, can.addr())
	}
	resp, err := get(t, g.Client(), "http://"+registryHost+"/")
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("GET succeeded, want the connect-time check to refuse")
	}
	wantRefused(t, err, "address 127.0.0.1: loopback")
	if n := can.accepted.Load(); n != 0 {
		t.Fatalf("canary accepted %d connections, want 0", n)
	}
}

func TestControl(t *testing.T) {
	closed := newGuard(t, Options{})
	open := newGuard(t, Options{AllowInternal: loopbackOnly})
	tests := []struct {
		g       *Guard
		network string
		address string
		reason  string // "" when the connect may go ahead
	}{
		{closed, "tcp4", "127.0.0.1:80", "loopback"},
		{closed, "tcp4", "169.254.169.254:80", "link-local"},
		{closed, "tcp6", "[::ffff:127.0.0.1]:80", "IPv4-mapped"},
		{closed, "tcp6", "[fe80::1%lo]:80", "link-local"},
		{closed, "tcp6", "[fd00:ec2::254]:80", "unique local"},
		{closed, "udp4", "8.8.8.8:53", "network"},
		{closed, "tcp4", "not-an-address:80", "unparseable"},
		{closed, "tcp4", "8.8.8.8:443", ""},
		{open, "tcp4", "127.0.0.1:80", ""},
		{open, "tcp6", "[::ffff:127.0.0.1]:80", ""},
		{open, "tcp4", "127.0.0.2:80", "loopback"},
	}
	for _, tc := range tests {
		t.Run(tc.network+" "+tc.address, func(t *testing.T) {
			err := tc.g.control(t.Context(), tc.network, tc.address, nil)
			if tc.reason == "" {
				if err != nil {
					t.Errorf("control(%s, %s) = %v, want nil", tc.network, tc.address, err)
				}
				return
			}
			wantRefused(t, err, tc.reason)
		})
	}
}

func TestRefusalIsLoggedWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	g := newGuard(t, Options{
		AllowedHosts: []string{registryHost},
		Resolver:     newResolver(t, nil),
		Logger:       slog.New(slog.NewJSONHandler(&buf, nil)),
	})
	tests := []struct {
		url, host, reason string
	}{
		{"http://user:s3cret@" + registryHost + "/pkg?token=abc#frag", registryHost, "userinfo"},
		{"http://evil.example.com:8080/pkg/-/pkg-1.0.0.tgz?X-Signature=abc", "evil.example.com:8080", "allowlist"},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			buf.Reset()
			_, err := get(t, g.Client(), tc.url)
			re := wantRefused(t, err, tc.reason)
			if re.Host != tc.host {
				t.Errorf("RefusedError.Host = %q, want %q", re.Host, tc.host)
			}
			if want := `egress refused host "` + tc.host + `": `; !strings.HasPrefix(re.Error(), want) {
				t.Errorf("RefusedError.Error() = %q, want prefix %q", re.Error(), want)
			}
			var line struct {
				Level, Msg, Host, Reason, URL string
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			if line.Level != "WARN" || line.Msg != "egress refused" || line.Host != tc.host || !strings.Contains(line.Reason, tc.reason) {
				t.Errorf("log line = %+v, want a warning naming host %q and reason %q", line, tc.host, tc.reason)
			}
			// The *url.Error wrapping it comes from net/http and keeps the query; callers
			// report the RefusedError, which must not.
			for _, secret := range []string{"s3cret", "user:", "token", "abc", "frag", "Signature"} {
				if strings.Contains(buf.String(), secret) || strings.Contains(re.URL, secret) || strings.Contains(re.Error(), secret) {
					t.Errorf("refusal leaks %q: log %s, RefusedError %q, URL %q", secret, buf.String(), re, re.URL)
				}
			}
		})
	}
}

// TestDialFallsBackToTheNextAddress fails the first checked address and expects the
// second to be tried, the first with a share of the dial timeout.
func TestDialFallsBackToTheNextAddress(t *testing.T) {
	srv := okServer(t, "ok")
	g := newGuard(t, Options{
		AllowedHosts:  []string{hostPort(registryHost, serverPort(t, srv))},
		AllowInternal: loopbackOnly,
		Resolver:      newResolver(t, resolvesTo("8.8.8.8", "127.0.0.1")),
	})
	var tried []netip.Addr
	g.connect = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
		tried = append(tried, ap.Addr())
		if ap.Addr() != netip.MustParseAddr("127.0.0.1") {
			if _, ok := ctx.Deadline(); !ok {
				t.Errorf("attempt on %s has no deadline, want a share of the dial timeout", ap)
			}
			return nil, errors.New("test: unreachable")
		}
		return g.dialChecked(ctx, network, ap)
	}
	resp, err := get(t, g.Client(), "http://"+hostPort(registryHost, serverPort(t, srv))+"/")
	if err != nil {
		t.Fatalf("GET = %v, want success through the second address", err)
	}
	readAll(t, resp)
	if len(tried) != 2 {
		t.Errorf("tried %v, want both addresses in order", tried)
	}
}
