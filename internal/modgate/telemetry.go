package modgate

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel"
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
type providerTracer struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
}

// tracers keeps the tracer of the global provider installed now, made once per
// provider (a tracer made once at init would stay bound to the first provider ever
// installed, and a test could not install its own).
var tracers atomic.Pointer[providerTracer]

func tracer() trace.Tracer {
	tp := otel.GetTracerProvider()
	if t := tracers.Load(); t != nil && t.tp == tp {
		return t.tracer
	}
	t := &providerTracer{tp: tp, tracer: tp.Tracer(scope)}
	tracers.Store(t)
	return t.tracer
}

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
