package mirror

import (
	"context"
	"fmt"
	"log/slog"
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

// attrs returns a span's attributes, as text.
func attrs(s sdktrace.ReadOnlySpan) map[string]string {
	out := map[string]string{}
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

func TestJobTelemetry(t *testing.T) {
	tel := installTelemetry(t)
	r := newRig(t)
	tgz := []byte("the left-pad tarball")
	r.public.add("left-pad", "1.3.0", tgz)
	w := r.worker(t, func(o *WorkerOptions) { o.Logger = slog.New(slog.DiscardHandler) })

	tests := []struct {
		name    string
		body    []byte
		outcome string
		status  codes.Code
		attrs   map[string]string
	}{
		{"published", mustEncode(t, r.job("left-pad", "1.3.0", tgz)), "published", codes.Unset,
			map[string]string{"ecluse.package": "left-pad", "ecluse.version": "1.3.0", "ecluse.mount": "npm", "ecluse.ecosystem": "npm", "ecluse.attempt": "1"}},
		{"already there", mustEncode(t, r.job("left-pad", "1.3.0", tgz)), "skipped", codes.Unset,
			map[string]string{"ecluse.package": "left-pad"}},
		{"not upstream", mustEncode(t, r.job("left-pad", "9.9.9", tgz)), "failed", codes.Error,
			map[string]string{"ecluse.version": "9.9.9", "ecluse.reason": "not_found"}},
		{"undecodable", []byte("not a job"), "poison", codes.Error, nil},
	}
	want := map[string]int64{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel.spans.Reset()
			// One delivery, run as the worker runs each it receives.
			w.begin()
			w.handle(context.Background(), &fakeMsg{body: tt.body, attempt: 1, settled: make(chan struct{})})
			var job sdktrace.ReadOnlySpan
			for _, s := range tel.spans.Ended() {
				if s.Name() == "mirror.job" {
					job = s
				}
			}
			if job == nil {
				t.Fatal("no mirror.job span ended")
			}
			got := attrs(job)
			if got["ecluse.outcome"] != tt.outcome {
				t.Errorf("mirror.job outcome = %q, want %q", got["ecluse.outcome"], tt.outcome)
			}
			for k, v := range tt.attrs {
				if got[k] != v {
					t.Errorf("mirror.job attribute %s = %q, want %q", k, got[k], v)
				}
			}
			if job.Status().Code != tt.status {
				t.Errorf("mirror.job status = %v, want %v", job.Status(), tt.status)
			}
			if tt.outcome == "published" {
				fetched := false
				for _, s := range tel.spans.Ended() {
					fetched = fetched || s.Name() == "upstream public" && s.Parent().SpanID() == job.SpanContext().SpanID()
				}
				if !fetched {
					t.Error("no upstream fetch is a child of mirror.job")
				}
			}
			want["ecluse.outcome="+tt.outcome]++
		})
	}
	if got := tel.sums(t, "ecluse.mirror.jobs"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ecluse.mirror.jobs = %v, want %v", got, want)
	}
}
