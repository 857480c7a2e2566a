package upstream

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/instrument"
)

// This file is the clients' telemetry: one span per fetch, named "upstream <origin>",
// and the ecluse.upstream.request.duration and ecluse.upstream.errors instruments,
// through the OpenTelemetry API's global providers. Nothing is propagated: no trace
// header is ever sent to an upstream (the public one is untrusted). A fetch that
// streams (Open, OpenPath) is measured to its response's header; the stream itself is
// its reader's to measure.

const scope = "github.com/ecluse/ecluse/internal/upstream"

// Attribute keys.
const (
	keyUpstream = attribute.Key("ecluse.upstream")
	keyOutcome  = attribute.Key("ecluse.outcome")
	keyPackage  = attribute.Key("ecluse.package")
	keyStatus   = attribute.Key("http.response.status_code")
	keyBytes    = attribute.Key("ecluse.response.bytes")
	keyURLPath  = attribute.Key("url.path")
)

// outcome is how a fetch ended, a closed set for the duration's attribute.
type outcome uint8

const (
	outcomeOK          outcome = iota
	outcomeNotModified         // a conditional fetch answered 304
	outcomeNotFound            // 404 (or 410 from a module proxy)
	outcomeDenied              // 401 or 403
	outcomeTooLarge            // a body past its bound
	outcomeBusy                // no memory budget in time
	outcomeCanceled            // the caller went away
	outcomeError               // anything else: unreachable, refused, 5xx, malformed
	numOutcomes
)

func (o outcome) String() string {
	switch o {
	case outcomeOK:
		return "ok"
	case outcomeNotModified:
		return "not_modified"
	case outcomeNotFound:
		return "not_found"
	case outcomeDenied:
		return "denied"
	case outcomeTooLarge:
		return "too_large"
	case outcomeBusy:
		return "busy"
	case outcomeCanceled:
		return "canceled"
	}
	return "error"
}

// failed reports whether the outcome counts in ecluse.upstream.errors: the upstream
// gave no usable answer.
func (o outcome) failed() bool { return o == outcomeError || o == outcomeTooLarge }

// outcomeOf classifies a fetch's error.
func outcomeOf(err error) outcome {
	var denied *DeniedError
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, ErrNotModified):
		return outcomeNotModified
	case errors.Is(err, ErrNotFound):
		return outcomeNotFound
	case errors.As(err, &denied):
		return outcomeDenied
	case errors.Is(err, ErrTooLarge):
		return outcomeTooLarge
	case errors.Is(err, budget.ErrExhausted):
		return outcomeBusy
	case errors.Is(err, context.Canceled):
		return outcomeCanceled
	}
	return outcomeError
}

// telemetry is the package's tracer and instruments, made from the global providers.
type telemetry struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	errors   metric.Int64Counter
}

var instruments = instrument.Bind(func(p instrument.Providers) *telemetry {
	meter := p.Meter.Meter(scope)
	return &telemetry{
		tracer: p.Tracer.Tracer(scope),
		duration: instrument.Histogram(meter, "ecluse.upstream.request.duration", "s",
			"Duration of upstream fetches (to the response header for a streamed file), by upstream and outcome.",
			[]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
		errors: instrument.Counter(meter, "ecluse.upstream.errors", "{error}",
			"Upstream fetches that got no usable answer (unreachable, refused, 5xx, malformed or too large), by upstream."),
	}
})

// tel returns the tracer and instruments of the global providers installed now.
func tel() *telemetry { return instruments.Get() }

// clientTelemetry is what a Client's fetches record with, made once per Client.
type clientTelemetry struct {
	spanName string
	start    []trace.SpanStartOption
	upstream attribute.KeyValue
	record   [numOutcomes][]metric.RecordOption
	errors   []metric.AddOption
}

func newClientTelemetry(origin string) *clientTelemetry {
	ct := &clientTelemetry{
		spanName: "upstream " + origin,
		start:    []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)},
		upstream: keyUpstream.String(origin),
		errors:   []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyUpstream.String(origin)))},
	}
	for o := range numOutcomes {
		ct.record[o] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
			keyUpstream.String(origin), keyOutcome.String(o.String())))}
	}
	return ct
}

// fetch is one fetch being observed.
type fetch struct {
	ct    *clientTelemetry
	t     *telemetry
	span  trace.Span
	start time.Time
}

// begin starts observing a fetch of pkg's document or file (pkg may be empty). The
// returned context carries the fetch's span; nothing in it is sent upstream.
func (c *Client) begin(ctx context.Context, pkg string) (context.Context, fetch) {
	t := tel()
	ctx, span := t.tracer.Start(ctx, c.tel.spanName, c.tel.start...)
	if span.IsRecording() && pkg != "" {
		span.SetAttributes(keyPackage.String(pkg))
	}
	return ctx, fetch{ct: c.tel, t: t, span: span, start: time.Now()}
}

// end records the fetch's end: status is the HTTP status received (0 when none was),
// bytes the body's length (the announced one for a streamed file; negative when
// unknown, unused after a failure), err its error.
func (f fetch) end(ctx context.Context, status int, bytes int64, err error) {
	o := outcomeOf(err)
	if f.span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 4)
		attrs = append(attrs, f.ct.upstream, keyOutcome.String(o.String()))
		if status > 0 {
			attrs = append(attrs, keyStatus.Int(status))
		}
		if bytes >= 0 && err == nil {
			attrs = append(attrs, keyBytes.Int64(bytes))
		}
		f.span.SetAttributes(attrs...)
		if o.failed() {
			f.span.SetStatus(codes.Error, err.Error())
		}
	}
	f.span.End()
	if f.t.duration.Enabled(ctx) {
		f.t.duration.Record(ctx, time.Since(f.start).Seconds(), f.ct.record[o]...)
	}
	if o.failed() {
		f.t.errors.Add(ctx, 1, f.ct.errors...)
	}
}

// modulePath returns the module path part of a GOPROXY path ("/{module}/@v/..." or
// "/{module}/@latest"), still escaped; "" for another path (a checksum database's).
func modulePath(path string) string {
	for i := 0; i+2 < len(path); i++ {
		if path[i] == '/' && path[i+1] == '@' && (path[i+2] == 'v' || path[i+2] == 'l') {
			return path[1:i]
		}
	}
	return ""
}

// clipURLPath bounds a path kept as a span attribute, without cutting a character.
func clipURLPath(p string) string {
	const limit = 512
	if len(p) <= limit {
		return p
	}
	cut := limit
	for cut > 0 && p[cut]&0xC0 == 0x80 {
		cut--
	}
	return p[:cut]
}
