package advisory

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// The tests in this file install global OpenTelemetry providers: none of them may run
// in parallel with another.

// telemetryFixture is an SDK tracer and meter provider installed as the globals for
// one test, and what they recorded.
type telemetryFixture struct {
	spans   *tracetest.SpanRecorder
	metrics *sdkmetric.ManualReader
}

// installTelemetry installs SDK providers as the globals until the test ends, then
// puts the previous ones back.
func installTelemetry(t *testing.T) *telemetryFixture {
	t.Helper()
	f := &telemetryFixture{spans: tracetest.NewSpanRecorder(), metrics: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.metrics))
	prevTP, prevMP := otel.GetTracerProvider(), otel.GetMeterProvider()
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return f
}

// sums collects the named int64 counter: its sums by their attribute sets (encoded
// "k=v,k=v").
func (f *telemetryFixture) sums(t *testing.T, name string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := f.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			d, ok := m.Data.(metricdata.Sum[int64])
			if !ok || !d.IsMonotonic {
				t.Fatalf("%s is a %T, want an int64 counter", name, m.Data)
			}
			for _, dp := range d.DataPoints {
				out[dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Value
			}
		}
	}
	return out
}

func TestSyncTelemetry(t *testing.T) {
	tel := installTelemetry(t)
	f := newFixture(t, nil)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		before func()
		ctx    context.Context
		attrs  map[string]string // absent: "-"
		status codes.Code
	}{
		{"first load", func() {}, syncCtx(t), map[string]string{
			"ecluse.outcome": "loaded", "ecluse.advisory.unchanged": "false", "ecluse.advisory.generation": "1", "ecluse.advisory.records": "1",
		}, codes.Unset},
		{"unchanged", func() {}, syncCtx(t), map[string]string{
			"ecluse.outcome": "unchanged", "ecluse.advisory.unchanged": "true", "ecluse.advisory.generation": "1",
		}, codes.Unset},
		{"cancelled", func() {}, cancelled, map[string]string{
			"ecluse.outcome": "cancelled", "ecluse.advisory.unchanged": "-",
		}, codes.Unset},
		{"source down", f.srv.Close, syncCtx(t), map[string]string{
			"ecluse.outcome": "failed", "ecluse.advisory.unchanged": "-", "ecluse.advisory.generation": "1",
		}, codes.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel.spans.Reset()
			tt.before()
			ctx, parent := otel.Tracer("test").Start(tt.ctx, "sync loop")
			_ = f.sync.Sync(ctx)
			parent.End()
			var round sdktrace.ReadOnlySpan
			for _, s := range tel.spans.Ended() {
				if s.Name() == "advisory.sync" {
					round = s
				}
			}
			if round == nil {
				t.Fatal("no advisory.sync span ended")
			}
			if round.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("advisory.sync parent = %v, want the caller's span", round.Parent().SpanID())
			}
			got := map[string]string{}
			for _, kv := range round.Attributes() {
				got[string(kv.Key)] = kv.Value.String()
			}
			for k, v := range tt.attrs {
				g, ok := got[k]
				if !ok {
					g = "-"
				}
				if g != v {
					t.Errorf("advisory.sync attribute %s = %q, want %q", k, g, v)
				}
			}
			if round.Status().Code != tt.status {
				t.Errorf("advisory.sync status = %v, want %v", round.Status(), tt.status)
			}
		})
	}
	want := map[string]int64{"ecluse.outcome=failed": 1, "ecluse.outcome=loaded": 1, "ecluse.outcome=unchanged": 1}
	if got := tel.sums(t, "ecluse.advisory.syncs"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ecluse.advisory.syncs = %v, want %v (a cancelled round is not counted)", got, want)
	}
}
