package pypigate

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecluse/ecluse/internal/instrument"
)

// This file is the gate's telemetry, through the OpenTelemetry API's global providers:
// a "policy.decide" span per public page decided, and the
// ecluse.policy.versions.blocked counter (by rule) for the files it leaves out.

const scope = "github.com/ecluse/ecluse/internal/pypigate"

const (
	keyPackage    = attribute.Key("ecluse.package")
	keyVersions   = attribute.Key("ecluse.versions")
	keyBlocked    = attribute.Key("ecluse.versions.blocked")
	keyRule       = attribute.Key("ecluse.rule")
	blockedPrefix = "ecluse.blocked."
	spanDecide    = "policy.decide"
)

type telemetry struct {
	tracer  trace.Tracer
	blocked metric.Int64Counter
}

var instruments = instrument.Bind(func(p instrument.Providers) *telemetry {
	meter := p.Meter.Meter(scope)
	return &telemetry{
		tracer: p.Tracer.Tracer(scope),
		blocked: instrument.Counter(meter, "ecluse.policy.versions.blocked", "{version}",
			"public versions (for PyPI, files) refused, by the rule that refused them"),
	}
})

// decideSpan is one page's decision being recorded; its methods do nothing when
// neither the span records nor the counter is enabled.
type decideSpan struct {
	ctx    context.Context
	t      *telemetry
	span   trace.Span
	byRule map[string]int
}

func startDecide(ctx context.Context) decideSpan {
	t := instruments.Get()
	ctx, span := t.tracer.Start(ctx, spanDecide)
	d := decideSpan{ctx: ctx, t: t, span: span}
	if span.IsRecording() || t.blocked.Enabled(ctx) {
		d.byRule = map[string]int{}
	}
	return d
}

// refused counts one file refused by rule.
func (d decideSpan) refused(rule string) {
	if d.byRule != nil {
		d.byRule[rule]++
	}
}

// end records the page's figures and ends the span.
func (d decideSpan) end(name string, files, blocked int) {
	if d.span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 3+len(d.byRule))
		attrs = append(attrs, keyPackage.String(name), keyVersions.Int(files), keyBlocked.Int(blocked))
		for rule, n := range d.byRule {
			attrs = append(attrs, attribute.Int(blockedPrefix+rule, n))
		}
		d.span.SetAttributes(attrs...)
	}
	d.span.End()
	for rule, n := range d.byRule {
		d.t.blocked.Add(d.ctx, int64(n), metric.WithAttributes(keyRule.String(rule)))
	}
}
