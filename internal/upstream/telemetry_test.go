package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecluse/ecluse/internal/observe/observetest"
	"github.com/ecluse/ecluse/internal/redact"
)

// The tests in this file install global OpenTelemetry providers: none of them may run
// in parallel with another.

func TestFetchTelemetry(t *testing.T) {
	// The W3C trace context and baggage propagators are installed, so that anything
	// injecting trace headers upstream would.
	tel := observetest.Install(t, observetest.WithPropagator(
		propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))
	var (
		mu      sync.Mutex
		headers []string // trace headers received, by name
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		for _, h := range []string{"Traceparent", "Tracestate", "Baggage"} {
			if r.Header.Get(h) != "" {
				headers = append(headers, h)
			}
		}
		mu.Unlock()
		switch r.URL.Path {
		case "/left-pad", "/example.com/mod/@v/list":
			_, _ = w.Write([]byte(`{"name":"left-pad"}`))
		case "/left-pad/-/left-pad-1.3.0.tgz":
			w.Header().Set("Content-Length", "7")
			_, _ = w.Write([]byte("tarball"))
		case "/broken":
			w.WriteHeader(http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	public := New(Options{Origin: "public", Base: mustURL(t, srv.URL+"/"), HTTP: srv.Client(), Anonymous: true})
	private := New(Options{Origin: "private", Base: mustURL(t, srv.URL+"/"), HTTP: srv.Client()})

	type want struct {
		name     string
		status   codes.Code
		attrs    map[string]string
		noAttrOf []string
	}
	tests := []struct {
		desc  string
		fetch func(ctx context.Context) error
		want  want
	}{
		{"packument", func(ctx context.Context) error {
			_, err := public.Packument(ctx, "left-pad", redact.Secret{}, nil)
			return err
		}, want{"upstream public", codes.Unset, map[string]string{
			"ecluse.upstream": "public", "ecluse.package": "left-pad", "ecluse.outcome": "ok",
			"http.response.status_code": "200", "ecluse.response.bytes": "19",
		}, nil}},
		{"missing packument", func(ctx context.Context) error {
			_, err := public.Packument(ctx, "missing", redact.Secret{}, nil)
			return nilIf(err, ErrNotFound)
		}, want{"upstream public", codes.Unset, map[string]string{
			"ecluse.package": "missing", "ecluse.outcome": "not_found", "http.response.status_code": "404",
		}, []string{"ecluse.response.bytes"}}},
		{"failing packument", func(ctx context.Context) error {
			_, err := public.Packument(ctx, "broken", redact.Secret{}, nil)
			if err == nil {
				return errors.New("no error from a 502")
			}
			return nil
		}, want{"upstream public", codes.Error, map[string]string{
			"ecluse.package": "broken", "ecluse.outcome": "error", "http.response.status_code": "502",
		}, nil}},
		{"probe", func(ctx context.Context) error {
			has, err := private.Has(ctx, "missing")
			if has {
				return errors.New("Has(missing) = true")
			}
			return err
		}, want{"upstream private", codes.Unset, map[string]string{
			"ecluse.upstream": "private", "ecluse.package": "missing", "ecluse.outcome": "not_found",
		}, nil}},
		{"tarball", func(ctx context.Context) error {
			body, _, err := public.Open(ctx, mustURL(t, srv.URL+"/left-pad/-/left-pad-1.3.0.tgz"), redact.Secret{})
			if err == nil {
				body.Close()
			}
			return err
		}, want{"upstream public", codes.Unset, map[string]string{
			"ecluse.outcome": "ok", "ecluse.response.bytes": "7", "url.path": "/left-pad/-/left-pad-1.3.0.tgz",
		}, nil}},
		{"module list", func(ctx context.Context) error {
			_, err := private.Get(ctx, "/example.com/mod/@v/list", redact.Secret{}, 0, nil)
			return err
		}, want{"upstream private", codes.Unset, map[string]string{
			"ecluse.package": "example.com/mod", "ecluse.outcome": "ok", "ecluse.response.bytes": "19",
		}, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			tel.Spans.Reset()
			ctx, parent := otel.Tracer("test").Start(context.Background(), "request")
			err := tt.fetch(ctx)
			parent.End()
			if err != nil {
				t.Fatal(err)
			}
			var fetches []sdktrace.ReadOnlySpan
			for _, s := range tel.Spans.Ended() {
				if s.Name() != "request" {
					fetches = append(fetches, s)
				}
			}
			if len(fetches) != 1 {
				t.Fatalf("%d fetch spans ended, want 1", len(fetches))
			}
			sp := fetches[0]
			if sp.Name() != tt.want.name || sp.SpanKind() != trace.SpanKindClient {
				t.Errorf("span = %q (%v), want %q (client)", sp.Name(), sp.SpanKind(), tt.want.name)
			}
			if sp.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("span parent = %v, want the caller's span %v", sp.Parent().SpanID(), parent.SpanContext().SpanID())
			}
			if sp.Status().Code != tt.want.status {
				t.Errorf("span status = %v, want %v", sp.Status(), tt.want.status)
			}
			got := observetest.Attrs(sp)
			for k, v := range tt.want.attrs {
				if got[k] != v {
					t.Errorf("span attribute %s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.want.noAttrOf {
				if v, ok := got[k]; ok {
					t.Errorf("span attribute %s = %q, want none", k, v)
				}
			}
		})
	}

	mu.Lock()
	if len(headers) > 0 {
		t.Errorf("trace headers sent upstream: %v, want none", headers)
	}
	mu.Unlock()
	wantDurations := map[string]uint64{
		"ecluse.outcome=ok,ecluse.upstream=public":         2,
		"ecluse.outcome=not_found,ecluse.upstream=public":  1,
		"ecluse.outcome=error,ecluse.upstream=public":      1,
		"ecluse.outcome=not_found,ecluse.upstream=private": 1,
		"ecluse.outcome=ok,ecluse.upstream=private":        1,
	}
	if got := tel.HistogramCounts(t, "ecluse.upstream.request.duration"); fmt.Sprint(got) != fmt.Sprint(wantDurations) {
		t.Errorf("ecluse.upstream.request.duration counts = %v, want %v", got, wantDurations)
	}
	if got, want := tel.Sums(t, "ecluse.upstream.errors"), map[string]int64{"ecluse.upstream=public": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ecluse.upstream.errors = %v, want %v", got, want)
	}
}

// nilIf returns nil when err is (or wraps) target, else err or an error saying that
// target was expected.
func nilIf(err, target error) error {
	if err == nil {
		return fmt.Errorf("no error, want %w", target)
	}
	if errors.Is(err, target) {
		return nil
	}
	return err
}
