package server

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/ecluse/ecluse/internal/instrument"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// This file is the front door's telemetry: the inbound request's span and the
// http.server.request.duration histogram, through the OpenTelemetry API's global
// providers. With none installed the request path starts no span and builds nothing:
// attributes are made only for a span that records or an instrument that is enabled,
// and the span names and metric attribute sets are made once per method, route and
// status.

const scope = "github.com/ecluse/ecluse/internal/server"

// Attribute keys: the HTTP semantic conventions', and Écluse's own.
const (
	keyMethod    = attribute.Key("http.request.method")
	keyRoute     = attribute.Key("http.route")
	keyStatus    = attribute.Key("http.response.status_code")
	keyBodySize  = attribute.Key("http.response.body.size")
	keyURLPath   = attribute.Key("url.path")
	keyUserAgent = attribute.Key("user_agent.original")
	keyRequestID = attribute.Key("ecluse.request_id")
	keyAborted   = attribute.Key("ecluse.aborted")
)

// durationBuckets are the semantic conventions' advice for http.server.request.duration.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// telemetry is the package's tracer and instruments, made from the global providers.
type telemetry struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	// untraced is set while no tracer provider has been installed: the request path
	// then starts no span, which would record nothing and still cost allocations.
	untraced bool
}

// apiDefault is the API's own global tracer provider, as it is before anything is
// installed (package initialisation runs before the composition root can install
// one). Its spans record nothing until a provider is installed, and installing one
// makes otel.GetTracerProvider return that provider instead.
var apiDefault = otel.GetTracerProvider()

// noSpan stands for the request's span when none is started: it records nothing and
// ending it does nothing (unlike ending a span found in the request's context, which
// belongs to whoever started it).
var noSpan = trace.SpanFromContext(context.Background())

var instruments = instrument.Bind(func(p instrument.Providers) *telemetry {
	return &telemetry{
		tracer: p.Tracer.Tracer(scope),
		duration: instrument.Histogram(p.Meter.Meter(scope), "http.server.request.duration", "s",
			"Duration of HTTP server requests, by method, route name and status.", durationBuckets),
		untraced: p.Tracer == apiDefault,
	}
})

// tel returns the tracer and instruments of the global providers installed now.
func tel() *telemetry { return instruments.Get() }

// serverSpan is the start option of every request span, made once.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// spanMethod is the method as a span name or attribute holds it: one of the methods
// HTTP defines, or "_OTHER" (the semantic conventions' value), so that a client cannot
// make up values.
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodPatch, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// spanName is the request span's name before its route is known.
func spanName(method string) string {
	if method == "_OTHER" {
		return "HTTP"
	}
	return method
}

// routeKey is what one attribute set of http.server.request.duration holds. Every part
// is bounded: the method is normalised, route names are the server's own (and the
// operator's mount names), and statuses are the server's.
type routeKey struct {
	method, route string
	status        int
}

// routeTelemetry is what the end of a request with one routeKey needs, made once: its
// span's name and its duration's record options.
type routeTelemetry struct {
	name   string
	record []metric.RecordOption
}

// maxRoutes bounds the routeTelemetry values kept; past it one is made per request.
const maxRoutes = 1024

// routes keeps a routeTelemetry per routeKey, so that a request ends without building
// a name or an attribute set. The map is replaced, never changed, so reading it takes
// no lock.
var routes struct {
	mu sync.Mutex
	m  atomic.Pointer[map[routeKey]*routeTelemetry]
}

// routeOf returns the routeTelemetry of k.
func routeOf(k routeKey) *routeTelemetry {
	if m := routes.m.Load(); m != nil {
		if rt, ok := (*m)[k]; ok {
			return rt
		}
	}
	rt := &routeTelemetry{
		name: spanName(k.method) + " " + k.route,
		record: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
			keyMethod.String(k.method), keyRoute.String(k.route), keyStatus.Int(k.status)))},
	}
	routes.mu.Lock()
	defer routes.mu.Unlock()
	var old map[routeKey]*routeTelemetry
	if p := routes.m.Load(); p != nil {
		old = *p
	}
	if len(old) >= maxRoutes {
		return rt
	}
	next := make(map[routeKey]*routeTelemetry, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = rt
	routes.m.Store(&next)
	return rt
}

// headerCarrier reads trace context from request headers. It is
// propagation.HeaderCarrier without the allocation http.Header.Get makes for each of
// the lower-case names the propagators ask for ("traceparent"), which it canonicalises
// into a new string on every call.
type headerCarrier http.Header

// canonicalKeys are the header names the W3C propagators read, in canonical form.
var canonicalKeys = map[string]string{
	"traceparent": "Traceparent",
	"tracestate":  "Tracestate",
	"baggage":     "Baggage",
}

func (c headerCarrier) Get(key string) string {
	if k, ok := canonicalKeys[key]; ok {
		if v := c[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return http.Header(c).Get(key)
}

func (c headerCarrier) Set(key, value string) { http.Header(c).Set(key, value) }

func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
