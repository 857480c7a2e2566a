package mirror

import (
	"context"

	"github.com/ecluse/ecluse/internal/instrument"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// This file is the worker's telemetry, through the OpenTelemetry API's global
// providers: a "mirror.job" span per delivery the worker runs, and the ecluse.mirror.jobs
// counter by how each ended.

const scope = "github.com/ecluse/ecluse/internal/mirror"

// Attribute keys.
const (
	keyPackage   = attribute.Key("ecluse.package")
	keyVersion   = attribute.Key("ecluse.version")
	keyMount     = attribute.Key("ecluse.mount")
	keyEcosystem = attribute.Key("ecluse.ecosystem")
	keyAttempt   = attribute.Key("ecluse.attempt")
	keyOutcome   = attribute.Key("ecluse.outcome")
	keyReason    = attribute.Key("ecluse.reason")
	spanJob      = "mirror.job"
)

// jobResult is how a delivery ended, a closed set for ecluse.mirror.jobs.
type jobResult uint8

const (
	resultPublished jobResult = iota // copied to the target
	resultSkipped                    // on the target before anything was fetched
	resultAlready                    // the target refused the publish as a duplicate
	resultRetried                    // a transient failure, given back with a backoff
	resultFailed                     // a permanent failure, given back with the long delay
	resultPoison                     // undecodable, dropped
	resultGivenBack                  // cut off by shutdown, given back
	numJobResults
)

func (r jobResult) String() string {
	switch r {
	case resultPublished:
		return "published"
	case resultSkipped:
		return "skipped"
	case resultAlready:
		return "already_present"
	case resultRetried:
		return "retried"
	case resultFailed:
		return "failed"
	case resultPoison:
		return "poison"
	}
	return "given_back"
}

// failure reports whether the result is a failure of the job.
func (r jobResult) failure() bool {
	return r == resultRetried || r == resultFailed || r == resultPoison
}

// telemetry is the package's tracer and instruments, made from the global providers.
type telemetry struct {
	tracer trace.Tracer
	jobs   metric.Int64Counter
}

var instruments = instrument.Bind(func(p instrument.Providers) *telemetry {
	return &telemetry{
		tracer: p.Tracer.Tracer(scope),
		jobs: instrument.Counter(p.Meter.Meter(scope), "ecluse.mirror.jobs", "{job}",
			"Mirror job deliveries run, by how they ended."),
	}
})

// tel returns the tracer and instruments of the global providers installed now.
func tel() *telemetry { return instruments.Get() }

// jobOptions are ecluse.mirror.jobs' attribute sets, by result.
var jobOptions = func() (o [numJobResults][]metric.AddOption) {
	for r := range numJobResults {
		o[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyOutcome.String(r.String())))}
	}
	return o
}()

// jobSpan is one delivery being observed.
type jobSpan struct {
	t    *telemetry
	span trace.Span
}

// startJob starts the "mirror.job" span of a delivery.
func startJob(ctx context.Context, attempt int) (context.Context, jobSpan) {
	t := tel()
	ctx, span := t.tracer.Start(ctx, spanJob, trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		span.SetAttributes(keyAttempt.Int(attempt))
	}
	return ctx, jobSpan{t: t, span: span}
}

// describe names the job the delivery carries, once decoded.
func (j jobSpan) describe(job Job) {
	if j.span.IsRecording() {
		j.span.SetAttributes(keyPackage.String(job.Name), keyVersion.String(job.Version),
			keyMount.String(job.Mount), keyEcosystem.String(job.Ecosystem))
	}
}

// end records how the delivery ended (err is its failure, or nil) and ends the span.
func (j jobSpan) end(ctx context.Context, r jobResult, err error) {
	if j.span.IsRecording() {
		j.span.SetAttributes(keyOutcome.String(r.String()))
		if err != nil && r != resultGivenBack {
			if reason := ReasonOf(err); reason != "" {
				j.span.SetAttributes(keyReason.String(string(reason)))
			}
		}
		if r.failure() && err != nil {
			j.span.SetStatus(codes.Error, err.Error())
		}
	}
	j.span.End()
	j.t.jobs.Add(ctx, 1, jobOptions[r]...)
}
