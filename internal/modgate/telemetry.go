package modgate

import (
	"context"

	"github.com/ecluse/ecluse/internal/instrument"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// This file is the gate's telemetry, through the OpenTelemetry API's global tracer
// provider: a "policy.decide" span per public version decided, covering the fetch of
// what the policy reads about it (its .info and checksum database record) and the
// decision.

const scope = "github.com/ecluse/ecluse/internal/modgate"

// Attribute keys.
const (
	keyModule  = attribute.Key("ecluse.module")
	keyVersion = attribute.Key("ecluse.version")
	keyRule    = attribute.Key("ecluse.rule")
	keyAllowed = attribute.Key("ecluse.allowed")
	spanDecide = "policy.decide"
)

// providerTracer is a tracer and the provider it came from.
// tracers keeps the tracer of the global provider installed now.
var tracers = instrument.Bind(func(p instrument.Providers) trace.Tracer { return p.Tracer.Tracer(scope) })

func tracer() trace.Tracer { return tracers.Get() }

// startDecide starts the "policy.decide" span of mod@version.
func startDecide(ctx context.Context, mod, version string) (context.Context, trace.Span) {
	ctx, span := tracer().Start(ctx, spanDecide)
	if span.IsRecording() {
		span.SetAttributes(keyModule.String(mod), keyVersion.String(version))
	}
	return ctx, span
}

// endDecide records a version's decision (or the failure to make one) and ends its span.
func endDecide(span trace.Span, dv decided, err error) {
	if span.IsRecording() {
		switch {
		case err != nil:
			if !isNotFound(err) {
				span.SetStatus(codes.Error, err.Error())
			}
		default:
			span.SetAttributes(keyRule.String(dv.d.Rule), keyAllowed.Bool(dv.d.Allowed))
		}
	}
	span.End()
}
