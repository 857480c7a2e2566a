package observe

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestOutageSampler: while the collector is up the configured sampler decides; while it
// is down, root spans are dropped apart from one probe a second (which the configured
// sampler may still refuse, without using up the second's probe), children follow
// their local parent, and a caller's sampled traceparent does not bypass the outage.
func TestOutageSampler(t *testing.T) {
	traceID := trace.TraceID{1, 2, 3}
	parent := func(sampled, remote bool) context.Context {
		var flags trace.TraceFlags
		if sampled {
			flags = trace.FlagsSampled
		}
		return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: traceID, SpanID: trace.SpanID{9}, TraceFlags: flags, Remote: remote,
		}))
	}
	root := context.Background()
	type step struct {
		at   time.Duration // since the start of the case
		ctx  context.Context
		want sdktrace.SamplingDecision
	}
	cases := []struct {
		name  string
		inner sdktrace.Sampler
		down  bool
		steps []step
	}{
		{"up: the configured sampler decides", sdktrace.ParentBased(sdktrace.AlwaysSample()), false, []step{
			{0, root, sdktrace.RecordAndSample},
			{0, root, sdktrace.RecordAndSample},
			{0, parent(false, false), sdktrace.Drop},
			{0, parent(true, true), sdktrace.RecordAndSample},
		}},
		{"up: always_off stays off", sdktrace.NeverSample(), false, []step{
			{0, root, sdktrace.Drop},
		}},
		{"down: one probe a second", sdktrace.ParentBased(sdktrace.AlwaysSample()), true, []step{
			{0, root, sdktrace.RecordAndSample},
			{0, root, sdktrace.Drop},
			{500 * time.Millisecond, root, sdktrace.Drop},
			{time.Second, root, sdktrace.RecordAndSample},
			{time.Second, root, sdktrace.Drop},
			{3 * time.Second, root, sdktrace.RecordAndSample},
		}},
		{"down: children follow their local parent", sdktrace.ParentBased(sdktrace.AlwaysSample()), true, []step{
			{0, parent(true, false), sdktrace.RecordAndSample},
			{0, parent(true, false), sdktrace.RecordAndSample},
			{0, parent(false, false), sdktrace.Drop},
		}},
		{"down: a local unsampled parent is not overridden by an always_on sampler", sdktrace.AlwaysSample(), true, []step{
			{0, parent(false, false), sdktrace.Drop},
		}},
		{"down: a caller's sampled traceparent is a root", sdktrace.ParentBased(sdktrace.AlwaysSample()), true, []step{
			{0, parent(true, true), sdktrace.RecordAndSample},
			{0, parent(true, true), sdktrace.Drop},
		}},
		{"down: a refused probe does not use up the second", sdktrace.ParentBased(sdktrace.AlwaysSample()), true, []step{
			{0, parent(false, true), sdktrace.Drop},
			{0, root, sdktrace.RecordAndSample},
		}},
		{"down: always_off stays off", sdktrace.NeverSample(), true, []step{
			{0, root, sdktrace.Drop},
			{2 * time.Second, root, sdktrace.Drop},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Unix(1_800_000_000, 0)
			now := start
			h := &collectorHealth{log: slog.New(slog.DiscardHandler)}
			h.down.Store(tc.down)
			s := &outageSampler{inner: tc.inner, health: h, now: func() time.Time { return now }}
			for i, st := range tc.steps {
				now = start.Add(st.at)
				got := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: st.ctx, TraceID: traceID, Name: "x"})
				if got.Decision != st.want {
					t.Errorf("step %d (at %v): decision %v, want %v", i, st.at, got.Decision, st.want)
				}
			}
		})
	}
}

// TestCollectorHealthTransitions: one line when export starts failing, one when it
// recovers, none for repeated failures or successes.
func TestCollectorHealthTransitions(t *testing.T) {
	var buf logBuffer
	h := &collectorHealth{log: slog.New(slog.NewJSONHandler(&buf, nil))}
	fail := errors.New("connection refused")
	for _, err := range []error{nil, fail, fail, fail, nil, nil, fail} {
		h.record(err)
	}
	if n := len(buf.withMsg(t, "the trace collector cannot be reached: spans are not recorded until an export succeeds again, apart from one trace a second that finds out when")); n != 2 {
		t.Errorf("%d lines about the collector going down, want 2:\n%s", n, buf.String())
	}
	if n := len(buf.withMsg(t, "the trace collector is reachable again: spans are recorded")); n != 1 {
		t.Errorf("%d lines about the collector coming back, want 1:\n%s", n, buf.String())
	}
	if !h.down.Load() {
		t.Error("down = false after a failed export")
	}
}

func TestSamplerFromEnv(t *testing.T) {
	cases := []struct {
		env     map[string]string
		want    string // the sampler's Description, or a piece of the error
		wantErr bool
	}{
		{nil, sdktrace.ParentBased(sdktrace.AlwaysSample()).Description(), false},
		{map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, sdktrace.NeverSample().Description(), false},
		{map[string]string{"OTEL_TRACES_SAMPLER": " Always_On "}, sdktrace.AlwaysSample().Description(), false},
		{map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_always_off"}, sdktrace.ParentBased(sdktrace.NeverSample()).Description(), false},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio"}, sdktrace.TraceIDRatioBased(1).Description(), false},
		{map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
			sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.25)).Description(), false},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG", true},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"}, "OTEL_TRACES_SAMPLER_ARG", true},
		{map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"}, "OTEL_TRACES_SAMPLER", true},
	}
	for _, tc := range cases {
		s, err := samplerFromEnv(envMap(tc.env))
		switch {
		case tc.wantErr && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("samplerFromEnv(%v) error = %v, want one naming %s", tc.env, err, tc.want)
		case !tc.wantErr && err != nil:
			t.Errorf("samplerFromEnv(%v) error = %v", tc.env, err)
		case !tc.wantErr && s.Description() != tc.want:
			t.Errorf("samplerFromEnv(%v) = %s, want %s", tc.env, s.Description(), tc.want)
		}
	}
}

// TestSpansPauseWhileCollectorDown runs the real exporter against a receiver that
// refuses, then accepts: once an export has failed, requests stop recording spans
// (apart from the probe), and once the probe's export succeeds they record again.
func TestSpansPauseWhileCollectorDown(t *testing.T) {
	recv := newOTLPReceiver(t, nil)
	recv.setStatus(http.StatusServiceUnavailable)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "10")
	var buf logBuffer
	tel, err := StartTelemetry(TelemetryOptions{
		Enabled: true, Identity: testID,
		Getenv:      envMap(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL()}),
		Logger:      slog.New(slog.NewJSONHandler(&buf, nil)),
		ExportRetry: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(ctx)
	})
	tracer := otel.Tracer("outage-test")
	request := func() (root, child bool) {
		ctx, span := tracer.Start(context.Background(), "request")
		_, c := tracer.Start(ctx, "upstream")
		root, child = span.IsRecording(), c.IsRecording() // false once ended
		c.End()
		span.End()
		return root, child
	}
	if tel.SpansPaused() {
		t.Fatal("paused before any export")
	}
	eventually(t, "a failed export to pause spans", func() bool {
		request()
		return tel.SpansPaused()
	})
	recording := 0
	for range 1000 {
		if root, child := request(); root {
			recording++
		} else if child {
			t.Fatal("a child of a dropped request span is recorded")
		}
	}
	if recording > 2 {
		t.Errorf("%d of 1000 requests recorded spans while the collector was down, want at most the probes", recording)
	}
	recv.setStatus(0)
	eventually(t, "a probe's export to resume spans", func() bool {
		request()
		return !tel.SpansPaused()
	})
	for i := range 10 {
		if root, child := request(); !root || !child {
			t.Fatalf("request %d: spans not recorded once the collector is back (root %v, child %v, paused %v):\n%s", i, root, child, tel.SpansPaused(), buf.String())
		}
	}
	for _, msg := range []string{"the trace collector cannot be reached", "the trace collector is reachable again"} {
		if !strings.Contains(buf.String(), msg) {
			t.Errorf("no log line %q:\n%s", msg, buf.String())
		}
	}
}
