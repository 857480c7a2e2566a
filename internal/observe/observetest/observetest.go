// Package observetest installs OpenTelemetry SDK tracer and meter providers as the
// otel globals for one test, and reads back the spans and metrics they record.
//
// It is for tests only: it imports testing, and no package but a test may import it.
// It must not be used by tests that run in parallel with another (t.Parallel), since
// the providers it installs are process-wide globals; it must not leave anything
// installed once the test ends, and it imports none of the module's packages.
package observetest

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Fixture is an SDK tracer and meter provider installed as the globals for one test,
// and what they recorded.
type Fixture struct {
	// Spans records every span the tracer provider starts and ends.
	Spans *tracetest.SpanRecorder
	// Metrics is the meter provider's reader, collected on demand.
	Metrics *sdkmetric.ManualReader
}

// Option changes what Install installs.
type Option func(*options)

type options struct {
	propagator propagation.TextMapPropagator
}

// WithPropagator installs p as the global text map propagator too, for as long as
// the providers, and puts the previous one back after. Without it the propagator is
// left alone.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(o *options) { o.propagator = p }
}

// Install installs SDK providers as the globals until the test ends, then puts the
// previous ones back and shuts the SDK providers down.
func Install(t testing.TB, opts ...Option) *Fixture {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	f := &Fixture{Spans: tracetest.NewSpanRecorder(), Metrics: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.Spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.Metrics))
	prevTP, prevMP, prevProp := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	if o.propagator != nil {
		otel.SetTextMapPropagator(o.propagator)
	}
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		if o.propagator != nil {
			otel.SetTextMapPropagator(prevProp)
		}
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return f
}

// Ended returns the ended spans named name, in the order they ended.
func (f *Fixture) Ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range f.Spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// Attrs returns a span's attributes, as text.
func Attrs(s sdktrace.ReadOnlySpan) map[string]string {
	out := map[string]string{}
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

// Sums collects the named int64 counter: its sums by their attribute sets (encoded
// "k=v,k=v"). The test fails at once if the instrument is anything else.
func (f *Fixture) Sums(t testing.TB, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, m := range f.collect(t, name) {
		d, ok := m.Data.(metricdata.Sum[int64])
		if !ok || !d.IsMonotonic {
			t.Fatalf("%s is a %T, want an int64 counter", name, m.Data)
		}
		for _, dp := range d.DataPoints {
			out[dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Value
		}
	}
	return out
}

// HistogramCounts collects the named float64 histogram: its data points' counts by
// their attribute sets (encoded "k=v,k=v"). The test fails at once if the instrument
// is anything else.
func (f *Fixture) HistogramCounts(t testing.TB, name string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, m := range f.collect(t, name) {
		h, ok := m.Data.(metricdata.Histogram[float64])
		if !ok {
			t.Fatalf("%s is a %T, want a float64 histogram", name, m.Data)
		}
		for _, dp := range h.DataPoints {
			out[dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Count
		}
	}
	return out
}

// Units collects the named instrument's units, one for each scope that recorded it
// (none if nothing did).
func (f *Fixture) Units(t testing.TB, name string) []string {
	t.Helper()
	var out []string
	for _, m := range f.collect(t, name) {
		out = append(out, m.Unit)
	}
	return out
}

// collect collects the metrics recorded so far and returns those named name.
func (f *Fixture) collect(t testing.TB, name string) []metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := f.Metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var out []metricdata.Metrics
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				out = append(out, m)
			}
		}
	}
	return out
}
