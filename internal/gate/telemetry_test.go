package gate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ecluse/ecluse/internal/observe/observetest"
)

// The tests in this file install global OpenTelemetry providers: none of them may run
// in parallel with another.

// children returns the spans tel saw end whose parent is parent, by name (several of a
// name are joined, in the order they ended).
func children(tel *observetest.Fixture, parent sdktrace.ReadOnlySpan) map[string][]sdktrace.ReadOnlySpan {
	out := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range tel.Spans.Ended() {
		if s.Parent().SpanID() == parent.SpanContext().SpanID() {
			out[s.Name()] = append(out[s.Name()], s)
		}
	}
	return out
}

// request runs do under a span standing for the front door's request span, and
// returns that span once ended.
func request(t *testing.T, do func(ctx context.Context)) sdktrace.ReadOnlySpan {
	t.Helper()
	ctx, span := otel.Tracer("test").Start(context.Background(), "GET request")
	do(ctx)
	span.End()
	ro, ok := span.(sdktrace.ReadOnlySpan)
	if !ok {
		t.Fatalf("request span is a %T", span)
	}
	return ro
}

func wantAttrs(t *testing.T, what string, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	got := observetest.Attrs(s)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s attribute %s = %q, want %q (all: %v)", what, k, got[k], v, got)
		}
	}
}

func TestPackumentTelemetry(t *testing.T) {
	tel := observetest.Install(t, observetest.WithPropagator(propagation.TraceContext{}))
	f := newFixture(t, `{"rules":{"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200},"quarantine":{"type":"MinAge","ageSeconds":604800,"precedence":100}}}`, nil)
	f.pub.add("left-pad", "1.2.0",
		ver{v: "1.0.0", age: 30 * day},
		ver{v: "1.1.0", age: 20 * day, shaOnly: true},
		ver{v: "1.2.0", age: 2 * day},
		ver{v: "2.0.0-rc.1", age: 10 * day, postinstal: true},
	)

	// A miss: both upstreams asked, every version decided.
	var doc *Document
	miss := request(t, func(ctx context.Context) {
		var err error
		if doc, err = f.gate.Packument(ctx, Query{Name: "left-pad"}); err != nil {
			t.Fatal(err)
		}
	})
	if doc.Cache != "miss" || doc.Blocked != 3 {
		t.Fatalf("first request: cache %s, blocked %d; want miss, 3", doc.Cache, doc.Blocked)
	}
	wantAttrs(t, "request span", miss, map[string]string{"ecluse.cache": "miss", "ecluse.package": "left-pad"})
	kids := children(tel, miss)
	for _, name := range []string{"upstream private", "upstream public", "policy.decide"} {
		if len(kids[name]) != 1 {
			t.Errorf("the request span has %d %q children, want 1 (children: %v)", len(kids[name]), name, kids)
		}
	}
	if d := kids["policy.decide"]; len(d) == 1 {
		wantAttrs(t, "policy.decide", d[0], map[string]string{
			"ecluse.package": "left-pad", "ecluse.versions": "4", "ecluse.versions.blocked": "3",
			"ecluse.blocked.integrity-floor": "1", "ecluse.blocked.deny-scripts": "1", "ecluse.blocked.default-deny": "1",
		})
	}
	if p := kids["upstream private"]; len(p) == 1 {
		wantAttrs(t, "upstream private", p[0], map[string]string{"ecluse.outcome": "not_found", "ecluse.package": "left-pad"})
	}

	// A hit: nothing asked, nothing decided.
	tel.Spans.Reset()
	hit := request(t, func(ctx context.Context) {
		var err error
		if doc, err = f.gate.Packument(ctx, Query{Name: "left-pad"}); err != nil {
			t.Fatal(err)
		}
	})
	if doc.Cache != "hit" {
		t.Fatalf("second request: cache %s, want hit", doc.Cache)
	}
	wantAttrs(t, "request span", hit, map[string]string{"ecluse.cache": "hit"})
	if kids := children(tel, hit); len(kids) != 0 {
		t.Errorf("a cache hit made spans %v, want none", kids)
	}

	if got, want := tel.Sums(t, "ecluse.cache.requests"), map[string]int64{"ecluse.cache=hit": 1, "ecluse.cache=miss": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ecluse.cache.requests = %v, want %v", got, want)
	}
	wantBlocked := map[string]int64{"ecluse.rule=deny-scripts": 1, "ecluse.rule=integrity-floor": 1, "ecluse.rule=default-deny": 1}
	if got := tel.Sums(t, "ecluse.policy.versions.blocked"); fmt.Sprint(got) != fmt.Sprint(wantBlocked) {
		t.Errorf("ecluse.policy.versions.blocked = %v, want %v", got, wantBlocked)
	}
}

func TestTarballStreamTelemetry(t *testing.T) {
	tel := observetest.Install(t, observetest.WithPropagator(propagation.TraceContext{}))
	const rules = `{"rules":{"quarantine":{"type":"MinAge","ageSeconds":604800}}}`
	quiet := func(o *Options) { o.Logger = slog.New(slog.DiscardHandler) }
	f := newFixture(t, rules, quiet)
	f.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day, body: "the left-pad tarball"})
	// With its contents checked, the same bytes are refused: they are no archive.
	checked := newFixture(t, rules, func(o *Options) { quiet(o); o.TarballManifest = &ManifestChecks{} })
	checked.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day, body: "the left-pad tarball"})
	const size = int64(len("the left-pad tarball"))

	tests := []struct {
		desc    string
		f       *fixture
		corrupt bool
		read    bool // to the end; else closed at once
		outcome string
		status  codes.Code
		bytes   int64
	}{
		{"delivered", f, false, true, "ok", codes.Unset, size},
		{"mismatch", f, true, true, "integrity-mismatch", codes.Error, size},
		{"refused", checked, false, true, "refused", codes.Error, size},
		{"closed unread", f, false, false, "aborted", codes.Unset, 0},
	}
	want := map[string]int64{}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			tel.Spans.Reset()
			tt.f.pub.mu.Lock()
			tt.f.pub.corrupt = tt.corrupt
			tt.f.pub.mu.Unlock()
			req := request(t, func(ctx context.Context) {
				art, err := tt.f.gate.Tarball(ctx, TarballQuery{Name: "left-pad", Version: "1.0.0"})
				if err != nil {
					t.Fatal(err)
				}
				if tt.read {
					_, err = io.Copy(io.Discard, art.Body)
					if wantErr := tt.outcome != "ok"; wantErr != (err != nil) {
						t.Errorf("reading the tarball: error %v, want one %v", err, wantErr)
					}
				}
				art.Body.Close()
			})
			wantAttrs(t, "request span", req, map[string]string{"ecluse.package": "left-pad", "ecluse.version": "1.0.0"})
			streams := children(tel, req)["tarball.stream"]
			if len(streams) != 1 {
				t.Fatalf("%d tarball.stream children of the request span, want 1", len(streams))
			}
			wantAttrs(t, "tarball.stream", streams[0], map[string]string{
				"ecluse.package": "left-pad", "ecluse.version": "1.0.0",
				"ecluse.outcome": tt.outcome, "ecluse.tarball.bytes": fmt.Sprint(tt.bytes),
			})
			if streams[0].Status().Code != tt.status {
				t.Errorf("tarball.stream status = %v, want %v", streams[0].Status(), tt.status)
			}
			want["ecluse.outcome="+tt.outcome] += tt.bytes
		})
	}
	if got := tel.Sums(t, "ecluse.tarball.bytes"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ecluse.tarball.bytes = %v, want %v", got, want)
	}
}
