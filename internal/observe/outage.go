package observe

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// probeEvery is how often, while the collector cannot be reached, one trace is still
// recorded: its export is what finds out that the collector is back.
const probeEvery = time.Second

// defaultExportRetry is how long one span export keeps retrying before it is counted
// as failed. The SDK's own default is a minute, during which every request would keep
// paying to record spans that cannot be delivered.
const defaultExportRetry = 15 * time.Second

// collectorHealth is what the last span export learnt about the collector. It is read
// on every sampling decision (one atomic load) and written by the exporter goroutine.
type collectorHealth struct {
	down atomic.Bool
	log  *slog.Logger
}

// record takes the outcome of one export (retries included) and logs the transitions.
func (h *collectorHealth) record(err error) {
	if err != nil {
		if !h.down.Swap(true) {
			h.log.Warn("the trace collector cannot be reached: spans are not recorded until an export succeeds again, apart from one trace a second that finds out when",
				"error", err.Error())
		}
		return
	}
	if h.down.Swap(false) {
		h.log.Info("the trace collector is reachable again: spans are recorded")
	}
}

// watchedExporter is a span exporter that tells health how each export went.
type watchedExporter struct {
	sdktrace.SpanExporter
	health *collectorHealth
}

func (w watchedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := w.SpanExporter.ExportSpans(ctx, spans)
	w.health.record(err)
	return err
}

// outageSampler is the configured sampler while the collector is reachable. While it is
// not, spans would only be recorded to be dropped at the full export queue, and
// recording them is most of what telemetry costs a request; so it drops them instead,
// apart from one trace per probeEvery (the configured sampler still has its say on
// that one), whose export tells when the collector is back. A span whose parent is a
// local span follows that parent: a probe trace is whole, and no span of a dropped one
// is recorded. A parent from the caller's traceparent does not override an outage.
type outageSampler struct {
	inner     sdktrace.Sampler
	health    *collectorHealth
	now       func() time.Time
	lastProbe atomic.Int64 // unix nanoseconds of the last probe trace
}

var _ sdktrace.Sampler = (*outageSampler)(nil)

func (s *outageSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if !s.health.down.Load() {
		return s.inner.ShouldSample(p)
	}
	parent := trace.SpanContextFromContext(p.ParentContext)
	if parent.IsValid() && !parent.IsRemote() {
		if parent.IsSampled() {
			return s.inner.ShouldSample(p)
		}
		return drop(parent)
	}
	now := s.now().UnixNano()
	last := s.lastProbe.Load()
	if now-last >= int64(probeEvery) {
		r := s.inner.ShouldSample(p)
		if r.Decision == sdktrace.RecordAndSample && s.lastProbe.CompareAndSwap(last, now) {
			return r
		}
	}
	return drop(parent)
}

func drop(parent trace.SpanContext) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: parent.TraceState()}
}

func (s *outageSampler) Description() string {
	return "OutageSampler{" + s.inner.Description() + "}"
}

// samplerFromEnv is the sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name,
// with the SDK's names and default (parentbased_always_on). The SDK reads them itself
// only when no sampler is given, and the outage sampler has to wrap whatever they name.
// A name or argument it cannot use is an error.
func samplerFromEnv(getenv func(string) (string, bool)) (sdktrace.Sampler, error) {
	name := strings.ToLower(strings.TrimSpace(lookup(getenv, "OTEL_TRACES_SAMPLER")))
	arg := strings.TrimSpace(lookup(getenv, "OTEL_TRACES_SAMPLER_ARG"))
	ratio := func() (sdktrace.Sampler, error) {
		if arg == "" {
			return sdktrace.TraceIDRatioBased(1), nil
		}
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil || v < 0 || v > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1", arg)
		}
		return sdktrace.TraceIDRatioBased(v), nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		return ratio()
	case "parentbased_traceidratio":
		s, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.ParentBased(s), nil
	default:
		return nil, fmt.Errorf("OTEL_TRACES_SAMPLER=%q: want always_on, always_off, traceidratio or their parentbased_ forms", name)
	}
}
