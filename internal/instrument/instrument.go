// Package instrument is what the instrumented packages share about the OpenTelemetry
// API's global providers: a value (a package's tracer and instruments) made from the
// providers installed now, made again when they change, and instruments created without
// repeating the API's error handling.
//
// It imports only the OpenTelemetry API, never the SDK: installing providers is
// internal/observe's work. It must stay cheap enough for the request path: Get costs two
// interface loads and a comparison.
package instrument

import (
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Providers are the global tracer and meter providers at one moment.
type Providers struct {
	Tracer trace.TracerProvider
	Meter  metric.MeterProvider
}

// Current returns the global providers installed now.
func Current() Providers {
	return Providers{Tracer: otel.GetTracerProvider(), Meter: otel.GetMeterProvider()}
}

// Bound is a value made from the global providers. Instruments made once, at package
// initialisation, would stay bound to the first providers ever installed through the
// API's delegation; a Bound is made again whenever other providers are installed (the
// composition root at start, a test for its own run).
type Bound[T any] struct {
	make func(Providers) T
	cur  atomic.Pointer[made[T]]
}

type made[T any] struct {
	p Providers
	v T
}

// Bind returns a Bound made by make. make runs on first use and after each change of
// providers; it may run more than once concurrently, and any of its results may be kept.
func Bind[T any](make func(Providers) T) *Bound[T] {
	return &Bound[T]{make: make}
}

// Get returns the value made from the providers installed now.
func (b *Bound[T]) Get() T {
	p := Current()
	if m := b.cur.Load(); m != nil && m.p == p {
		return m.v
	}
	m := &made[T]{p: p, v: b.make(p)}
	b.cur.Store(m)
	return m.v
}

// Counter creates an int64 counter on m. An error is handed to the API's error handler:
// the instrument returned with it still works.
func Counter(m metric.Meter, name, unit, description string) metric.Int64Counter {
	c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(description))
	if err != nil {
		otel.Handle(err)
	}
	return c
}

// Histogram creates a float64 histogram on m with explicit bucket boundaries. An error
// is handled as Counter handles it.
func Histogram(m metric.Meter, name, unit, description string, buckets []float64) metric.Float64Histogram {
	h, err := m.Float64Histogram(name, metric.WithUnit(unit), metric.WithDescription(description),
		metric.WithExplicitBucketBoundaries(buckets...))
	if err != nil {
		otel.Handle(err)
	}
	return h
}
