package egress

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeResolver answers from a fixed table and counts its lookups. A name it does not
// know fails, so no test can fall through to real DNS.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]netip.Addr
	// sequence, when set for a name, is consumed one answer per lookup (the last
	// answer repeats); it models a rebinding name server.
	sequence map[string][][]netip.Addr
	calls    atomic.Int64
}

var _ Resolver = (*fakeResolver)(nil)

func newResolver(t testing.TB, table map[string][]string) *fakeResolver {
	t.Helper()
	r := &fakeResolver{answers: map[string][]netip.Addr{}, sequence: map[string][][]netip.Addr{}}
	for name, addrs := range table {
		r.answers[name] = mustAddrs(t, addrs)
	}
	return r
}

func mustAddrs(t testing.TB, addrs []string) []netip.Addr {
	t.Helper()
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.calls.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq := r.sequence[host]; len(seq) > 0 {
		answer := seq[0]
		if len(seq) > 1 {
			r.sequence[host] = seq[1:]
		}
		return answer, nil
	}
	if a, ok := r.answers[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// canary is a listener on 127.0.0.1 that counts the connections it accepts. A
// hostile case that reaches it has escaped the guard.
type canary struct {
	ln       net.Listener
	accepted atomic.Int64
	done     chan struct{}
}

func newCanary(t testing.TB) *canary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("canary listen: %v", err)
	}
	c := &canary{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted.Add(1)
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-c.done
	})
	return c
}

func (c *canary) port() uint16 { return netip.MustParseAddrPort(c.ln.Addr().String()).Port() }

func (c *canary) addr() string { return c.ln.Addr().String() }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newGuard builds a guard for a test and closes its idle connections afterwards.
func newGuard(t testing.TB, opts Options) *Guard {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	g, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v) = %v, want nil error", opts, err)
	}
	t.Cleanup(g.Client().CloseIdleConnections)
	return g
}

// loopbackOnly is the per-test hole that lets a guard reach httptest servers.
var loopbackOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func hostPort(host string, port uint16) string { return fmt.Sprintf("%s:%d", host, port) }

var discardLogger = slog.New(slog.DiscardHandler)
