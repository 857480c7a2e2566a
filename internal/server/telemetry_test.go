package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/observe/observetest"
	"github.com/ecluse/ecluse/internal/redact"
)

// The tests in this file install global OpenTelemetry providers: none of them may run
// in parallel with another.

// spanGate is a Gate that keeps the span context its packument call was made under.
type spanGate struct {
	*fakeGate
	mu   sync.Mutex
	seen trace.SpanContext
}

func (g *spanGate) Packument(ctx context.Context, q gate.Query) (*gate.Document, error) {
	g.mu.Lock()
	g.seen = trace.SpanContextFromContext(ctx)
	g.mu.Unlock()
	return g.fakeGate.Packument(ctx, q)
}

func TestRequestTelemetry(t *testing.T) {
	tel := observetest.Install(t, observetest.WithPropagator(propagation.TraceContext{}))
	doc := &gate.Document{Body: npm.TextOf([]byte(`{"name":"left-pad"}`)), ContentType: gate.ContentTypeJSON, ETag: `"e"`, Source: "public", Cache: "hit"}
	g := &spanGate{fakeGate: &fakeGate{doc: doc, body: "tarball bytes"}}
	serve, explain := NPMHandlers(g, redact.Secret{})
	s, _ := newTestServer(t, Options{NPM: serve, Explain: explain})
	failing := &fakeGate{err: errors.New("the gate broke")}
	serveFailing, _ := NPMHandlers(failing, redact.Secret{})
	broken, _ := newTestServer(t, Options{NPM: serveFailing})

	tests := []struct {
		server       http.Handler
		method, path string
		status       int
		name         string // the span's
		wantMethod   string // http.request.method
		route        string
		wantError    bool
	}{
		{s, "GET", "/left-pad", 200, "GET packument", "GET", "packument", false},
		{s, "GET", "/left-pad/-/left-pad-1.3.0.tgz", 200, "GET tarball", "GET", "tarball", false},
		{s, "HEAD", "/-/ping", 200, "HEAD ping", "HEAD", "ping", false},
		{s, "GET", "/-/whoami", 404, "GET unknown", "GET", "unknown", false},
		{s, "BREW", "/left-pad", 405, "HTTP npm", "_OTHER", "npm", false},
		{broken, "GET", "/left-pad", 500, "GET packument", "GET", "packument", true},
	}
	wantCounts := map[string]uint64{}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %d", tt.method, tt.path, tt.status), func(t *testing.T) {
			tel.Spans.Reset()
			w := do(tt.server, tt.method, tt.path, http.Header{"User-Agent": {"npm/10.8.2 node/v22.11.0"}})
			if w.Code != tt.status {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, w.Code, tt.status)
			}
			ended := tel.Spans.Ended()
			if len(ended) != 1 {
				t.Fatalf("%s %s ended %d spans, want 1", tt.method, tt.path, len(ended))
			}
			sp := ended[0]
			if sp.Name() != tt.name || sp.SpanKind() != trace.SpanKindServer {
				t.Errorf("span = %q (%v), want %q (server)", sp.Name(), sp.SpanKind(), tt.name)
			}
			for key, want := range map[string]string{
				"http.request.method":       tt.wantMethod,
				"http.route":                tt.route,
				"http.response.status_code": fmt.Sprint(tt.status),
				"url.path":                  tt.path,
				"user_agent.original":       "npm/10.8.2 node/v22.11.0",
				"ecluse.request_id":         w.Header().Get("X-Request-Id"),
			} {
				if got := observetest.Attrs(sp)[key]; got != want {
					t.Errorf("span attribute %s = %q, want %q", key, got, want)
				}
			}
			if gotErr := sp.Status().Code == codes.Error; gotErr != tt.wantError {
				t.Errorf("span status = %v, want error %v", sp.Status(), tt.wantError)
			}
			if sp.Parent().IsValid() {
				t.Errorf("span parent = %v, want none (no traceparent was sent)", sp.Parent())
			}
			if tt.route == "packument" && !tt.wantError {
				g.mu.Lock()
				seen := g.seen
				g.mu.Unlock()
				if seen.SpanID() != sp.SpanContext().SpanID() {
					t.Errorf("the gate ran under span %v, want the request's %v", seen.SpanID(), sp.SpanContext().SpanID())
				}
			}
			wantCounts[fmt.Sprintf("http.request.method=%s,http.response.status_code=%d,http.route=%s", tt.wantMethod, tt.status, tt.route)]++
		})
	}
	for _, unit := range tel.Units(t, "http.server.request.duration") {
		if unit != "s" {
			t.Errorf("http.server.request.duration unit = %q, want s", unit)
		}
	}
	got := tel.HistogramCounts(t, "http.server.request.duration")
	if fmt.Sprint(got) != fmt.Sprint(wantCounts) {
		t.Errorf("http.server.request.duration counts = %v, want %v", got, wantCounts)
	}
}

// ctxHandler is a slog.Handler that keeps each record's message and the span context
// of the context it was logged with.
type ctxHandler struct {
	mu   *sync.Mutex
	recs *[]ctxRecord
}

type ctxRecord struct {
	msg string
	sc  trace.SpanContext
}

func (h ctxHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h ctxHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h ctxHandler) WithGroup(string) slog.Handler            { return h }
func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, ctxRecord{msg: r.Message, sc: trace.SpanContextFromContext(ctx)})
	return nil
}

func TestTraceparentParentsRequestSpan(t *testing.T) {
	tel := observetest.Install(t, observetest.WithPropagator(propagation.TraceContext{}))
	var (
		mu   sync.Mutex
		recs []ctxRecord
	)
	g := &fakeGate{err: &gate.DeniedError{Name: "evil", Version: "1.0.0", Rule: "deny-evil", Message: "evil is denied"}}
	serve, explain := NPMHandlers(g, redact.Secret{})
	s := New(Options{NPM: serve, Explain: explain, Logger: slog.New(ctxHandler{mu: &mu, recs: &recs})})

	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)
	w := do(s, "GET", "/evil", http.Header{"Traceparent": {"00-" + traceID + "-" + spanID + "-01"}})
	if w.Code != http.StatusForbidden {
		t.Fatalf("GET /evil = %d, want 403", w.Code)
	}
	spans := tel.Ended("GET packument")
	if len(spans) != 1 {
		t.Fatalf("ended %d request spans, want 1", len(spans))
	}
	sp := spans[0]
	parent := sp.Parent()
	if parent.TraceID().String() != traceID || parent.SpanID().String() != spanID || !parent.IsRemote() {
		t.Errorf("request span parent = %s/%s (remote %v), want %s/%s (remote)",
			parent.TraceID(), parent.SpanID(), parent.IsRemote(), traceID, spanID)
	}
	if sp.SpanContext().TraceID().String() != traceID {
		t.Errorf("request span trace = %s, want the caller's %s", sp.SpanContext().TraceID(), traceID)
	}

	mu.Lock()
	defer mu.Unlock()
	logged := map[string]trace.SpanContext{}
	for _, r := range recs {
		logged[r.msg] = r.sc
	}
	for _, msg := range []string{"request", "request failed"} {
		sc, ok := logged[msg]
		if !ok {
			t.Errorf("no %q line logged (lines: %v)", msg, recs)
			continue
		}
		if sc.TraceID() != sp.SpanContext().TraceID() || sc.SpanID() != sp.SpanContext().SpanID() {
			t.Errorf("%q line logged under span %s/%s, want the request span %s/%s",
				msg, sc.TraceID(), sc.SpanID(), sp.SpanContext().TraceID(), sp.SpanContext().SpanID())
		}
	}
}

// errCollectorDown is what the benchmark's exporters answer.
var errCollectorDown = errors.New("collector down")

// discardingSpanExporter accepts every export, like a collector that is up.
type discardingSpanExporter struct{}

func (discardingSpanExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return nil
}
func (discardingSpanExporter) Shutdown(context.Context) error { return nil }

// refusingSpanExporter fails every export at once, like a collector refusing
// connections.
type refusingSpanExporter struct{}

func (refusingSpanExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errCollectorDown
}
func (refusingSpanExporter) Shutdown(context.Context) error { return nil }

// hangingSpanExporter blocks every export until released (or its context ends), like
// a collector that accepts connections and never answers.
type hangingSpanExporter struct{ release chan struct{} }

func (e hangingSpanExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	select {
	case <-e.release:
	case <-ctx.Done():
	}
	return errCollectorDown
}
func (hangingSpanExporter) Shutdown(context.Context) error { return nil }

// refusingMetricExporter fails every metric export.
type refusingMetricExporter struct{}

func (refusingMetricExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (refusingMetricExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (refusingMetricExporter) Export(context.Context, *metricdata.ResourceMetrics) error {
	return errCollectorDown
}
func (refusingMetricExporter) ForceFlush(context.Context) error { return nil }
func (refusingMetricExporter) Shutdown(context.Context) error   { return nil }

// BenchmarkTelemetryOverhead measures a warm packument serve through the front door
// four ways in one run: with no provider installed (telemetry off), and with SDK
// providers, every span sampled, whose batch span processor's exporter succeeds
// ("up"), fails at once ("refused") or never answers ("hung"). It reports each per
// request, in time and allocations, and the ratios to the no-op cost: a collector that
// is down must cost the request path nothing more than one that is up.
//
//	go test -run '^$' -bench TelemetryOverhead -benchtime 200000x ./internal/server/
func BenchmarkTelemetryOverhead(b *testing.B) {
	body := strings.Repeat(`{"name":"left-pad","version":"1.3.0"},`, 40)
	doc := &gate.Document{Body: npm.TextOf([]byte(body)), ContentType: gate.ContentTypeAbbreviated, ETag: `"0123456789abcdef-400"`, Source: "public", Cache: "hit"}
	serve, explain := NPMHandlers(&fakeGate{doc: doc}, redact.Secret{})
	s := New(Options{NPM: serve, Explain: explain, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}) //nolint:sloglint // formatting the access line is part of the cost
	req, _ := http.NewRequest(http.MethodGet, "http://ecluse.test/left-pad", nil)
	req.Header.Set("Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
	w := &discardWriter{h: http.Header{}}

	prevTP, prevMP, prevProp, prevEH := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator(), otel.GetErrorHandler()
	defer func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		otel.SetTextMapPropagator(prevProp)
		otel.SetErrorHandler(prevEH)
	}()
	// The batch processor reports each failed export; a collector down is not news here.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))

	serve1 := func() {
		clear(w.h)
		s.ServeHTTP(w, req)
	}
	measure := func() (perReq, allocs float64) {
		start := time.Now()
		for range b.N {
			serve1()
		}
		took := time.Since(start)
		return float64(took.Nanoseconds()) / float64(b.N), testing.AllocsPerRun(1000, serve1)
	}
	withSDK := func(exp sdktrace.SpanExporter) (perReq, allocs float64) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(refusingMetricExporter{})))
		otel.SetTracerProvider(tp)
		otel.SetMeterProvider(mp)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
		perReq, allocs = measure()
		b.StopTimer()
		if h, ok := exp.(hangingSpanExporter); ok {
			close(h.release)
		}
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
		b.StartTimer()
		return perReq, allocs
	}

	b.ResetTimer()
	// Telemetry off, as the composition root leaves it: no tracer provider installed
	// (the API's own), no propagator, and a meter whose instruments are disabled.
	if otel.GetTracerProvider() != apiDefault {
		otel.SetTracerProvider(apiDefault)
	}
	otel.SetMeterProvider(metricnoop.NewMeterProvider())
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	off, offAllocs := measure()
	up, upAllocs := withSDK(discardingSpanExporter{})
	refused, refusedAllocs := withSDK(refusingSpanExporter{})
	hung, hungAllocs := withSDK(hangingSpanExporter{release: make(chan struct{})})

	// The costs below replace the framework's own figures, which would be their sum.
	for _, unit := range []string{"ns/op", "B/op", "allocs/op"} {
		b.ReportMetric(0, unit)
	}
	for _, m := range []struct {
		v    float64
		unit string
	}{
		{off, "off-ns/req"}, {up, "up-ns/req"}, {refused, "refused-ns/req"}, {hung, "hung-ns/req"},
		{up / off, "up/off"}, {refused / off, "refused/off"}, {hung / off, "hung/off"},
		{offAllocs, "off-allocs/req"}, {upAllocs, "up-allocs/req"}, {refusedAllocs, "refused-allocs/req"}, {hungAllocs, "hung-allocs/req"},
	} {
		b.ReportMetric(m.v, m.unit)
	}
}
