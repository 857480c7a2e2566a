package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// defaultExportInterval is how often metrics are exported over OTLP when
// TelemetryOptions.ExportInterval is zero.
const defaultExportInterval = 60 * time.Second

// meterScope names the instrumentation scope of the gauges registered through
// Telemetry.Gauge.
const meterScope = "github.com/ecluse/ecluse"

// TelemetryOptions says which telemetry to start. The zero value starts nothing.
type TelemetryOptions struct {
	// Enabled is PROXY_TELEMETRY=on: traces and metrics exported over OTLP/HTTP. False
	// means no tracer provider, no propagator and no OTLP exporter.
	Enabled bool
	// Prometheus is PROXY_METRICS=prometheus: the metrics served for scraping by
	// MetricsHandler. False means MetricsHandler is nil.
	Prometheus bool
	// Identity stamps the resource of every span and metric. A zero Service is exported
	// as DefaultService; a zero Env or Version is left out of the resource.
	Identity Identity
	// Getenv looks up the OTEL_*, DD_AGENT_HOST, DD_API_KEY and DD_SITE variables; nil
	// means os.LookupEnv. (The SDK reads its other standard variables, such as
	// OTEL_TRACES_SAMPLER or OTEL_EXPORTER_OTLP_TIMEOUT, from the process environment.)
	Getenv func(string) (string, bool)
	// Logger receives the boot lines and the throttled export errors; nil means
	// slog.Default().
	Logger *slog.Logger
	// ExportInterval is the metric export interval; zero means 60s (tests set it short).
	ExportInterval time.Duration
	// ExportRetry is how long one span export keeps retrying before it counts as
	// failed and span recording pauses (see outageSampler); zero means 15s, a negative
	// value no retry at all (tests set it short).
	ExportRetry time.Duration
}

// Telemetry is the running telemetry: the providers StartTelemetry installed, or none.
// Its methods are safe on a Telemetry that started nothing (they do nothing) and on a
// nil *Telemetry.
type Telemetry struct {
	// tracer is nil unless OTLP export is on; health is then what its exporter last
	// learnt about the collector.
	tracer *sdktrace.TracerProvider
	health *collectorHealth
	// meters is nil unless OTLP export or Prometheus is on; meter is its Meter for the
	// gauges.
	meters *sdkmetric.MeterProvider
	meter  metric.Meter
	// scrape is the Prometheus handler; nil unless Prometheus is on.
	scrape http.Handler

	stopOnce sync.Once
	stopErr  error
}

// StartTelemetry installs the global tracer and meter providers and the W3C trace-context
// propagator (otel.SetTextMapPropagator(propagation.TraceContext{} + Baggage)) as configured, and
// returns a Telemetry whose Shutdown flushes and stops them. With neither enabled it installs nothing
// and returns a Telemetry whose methods are no-ops. It does no network I/O.
//
// With Enabled, spans go through a batching processor and metrics through a periodic
// reader to the OTLP/HTTP endpoints resolveExport finds; the sampler is the one
// OTEL_TRACES_SAMPLER names, behind an outageSampler that stops recording spans while
// span exports fail; the tracer provider and the
// propagator are installed only then. With Prometheus, the same meter provider also
// feeds a Prometheus exporter on a private registry, served by MetricsHandler. With
// either, an error handler that logs export failures once and then a heartbeat at most
// every five minutes is installed with otel.SetErrorHandler. Boot lines say which
// endpoint is used and why, and never print a header value or DD_API_KEY.
//
// An endpoint, header or sampler variable that cannot be used is an error, and
// nothing is installed.
func StartTelemetry(opts TelemetryOptions) (*Telemetry, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if set := ignoredDatadog(getenv); len(set) > 0 {
		log.Info("DD_API_KEY and DD_SITE are ignored: telemetry goes only to the collector or Agent at the OTLP endpoint", "set", set)
	}
	t := &Telemetry{}
	if !opts.Enabled && !opts.Prometheus {
		return t, nil
	}
	res, err := newResource(opts.Identity, getenv, log)
	if err != nil {
		return nil, err
	}
	// Everything that can fail is built before anything starts or is installed.
	var (
		spans   sdktrace.SpanExporter
		metrics sdkmetric.Exporter
		target  exportTarget
		sampler sdktrace.Sampler
	)
	var readers []sdkmetric.Option
	if opts.Prometheus {
		reg := prometheus.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
		}
		readers = append(readers, sdkmetric.WithReader(exp))
		t.scrape = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			ErrorLog:      scrapeLog{log},
			ErrorHandling: promhttp.ContinueOnError,
		})
	}
	// The OTLP exporters last: they are the only part with something to stop.
	if opts.Enabled {
		if target, err = resolveExport(getenv); err != nil {
			return nil, fmt.Errorf("telemetry: %w", err)
		}
		if sampler, err = samplerFromEnv(getenv); err != nil {
			return nil, fmt.Errorf("telemetry: %w", err)
		}
		if spans, metrics, err = newOTLPExporters(target, opts.ExportRetry); err != nil {
			return nil, err
		}
	}
	interval := opts.ExportInterval
	if interval <= 0 {
		interval = defaultExportInterval
	}
	if metrics != nil {
		readers = append(readers, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics, sdkmetric.WithInterval(interval))))
	}
	// No exemplars: sampling one per measurement costs every request a little, and
	// the traces already say which requests were slow.
	t.meters = sdkmetric.NewMeterProvider(append(readers, sdkmetric.WithResource(res),
		sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))...)
	t.meter = t.meters.Meter(meterScope)
	if spans != nil {
		// While the collector cannot be reached, spans are not recorded (see
		// outageSampler): a dead collector then costs requests nothing.
		t.health = &collectorHealth{log: log}
		t.tracer = sdktrace.NewTracerProvider(
			sdktrace.WithBatcher(watchedExporter{SpanExporter: spans, health: t.health}),
			sdktrace.WithSampler(&outageSampler{inner: sampler, health: t.health, now: time.Now}),
			sdktrace.WithResource(res))
	}

	otel.SetErrorHandler(newExportErrors(log, time.Now, exportHeartbeat))
	otel.SetMeterProvider(t.meters)
	if t.tracer != nil {
		otel.SetTracerProvider(t.tracer)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
		logExportTarget(log, target, interval)
	}
	return t, nil
}

// newOTLPExporters builds the OTLP/HTTP span and metric exporters for target. Neither
// connects until it first exports. A span export retries for retry (see
// TelemetryOptions.ExportRetry).
func newOTLPExporters(target exportTarget, retry time.Duration) (sdktrace.SpanExporter, sdkmetric.Exporter, error) {
	ctx := context.Background()
	spans, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(target.traces.url.String()),
		otlptracehttp.WithHeaders(target.traces.headers),
		// OTEL_EXPORTER_OTLP_PROTOCOL=http/json would otherwise switch the encoding.
		otlptracehttp.WithEncoding(otlptracehttp.EncodingProtobuf),
		otlptracehttp.WithRetry(spanRetry(retry)),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: span exporter: %w", err)
	}
	metrics, err := otlpmetrichttp.New(ctx,
		otlpmetrichttp.WithEndpointURL(target.metrics.url.String()),
		otlpmetrichttp.WithHeaders(target.metrics.headers),
	)
	if err != nil {
		_ = spans.Shutdown(ctx)
		return nil, nil, fmt.Errorf("telemetry: metric exporter: %w", err)
	}
	return spans, metrics, nil
}

// spanRetry is the span exporter's retry policy for one export lasting at most retry.
func spanRetry(retry time.Duration) otlptracehttp.RetryConfig {
	switch {
	case retry < 0:
		return otlptracehttp.RetryConfig{Enabled: false}
	case retry == 0:
		retry = defaultExportRetry
	}
	return otlptracehttp.RetryConfig{
		Enabled:         true,
		InitialInterval: min(time.Second, retry/10),
		MaxInterval:     min(5*time.Second, retry/2),
		MaxElapsedTime:  retry,
	}
}

// logExportTarget writes the boot lines about where OTLP goes.
func logExportTarget(log *slog.Logger, target exportTarget, interval time.Duration) {
	if len(target.overridden) > 0 {
		log.Info("DD_AGENT_HOST is set and wins over the OTEL_EXPORTER_OTLP endpoint variables, which are ignored", "ignored", target.overridden)
	}
	if len(target.fallback) > 0 {
		log.Warn("no telemetry endpoint is set (DD_AGENT_HOST or OTEL_EXPORTER_OTLP_ENDPOINT): export falls back to http://localhost:4318",
			"signals", target.fallback)
	}
	if len(target.badProtocols) > 0 {
		log.Warn("only the http/protobuf OTLP protocol is built: exporting with http/protobuf instead", "settings", target.badProtocols)
	}
	log.Info("telemetry export enabled",
		"traces_endpoint", target.traces.url.Redacted(), "traces_endpoint_from", first(target.traces.from, "default"),
		"metrics_endpoint", target.metrics.url.Redacted(), "metrics_endpoint_from", first(target.metrics.from, "default"),
		"metric_interval_seconds", interval.Seconds())
}

// Shutdown flushes what is buffered and stops the exporters, within ctx. Later calls
// return the first call's result. The providers stay installed (as no-ops once
// stopped).
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.stopOnce.Do(func() {
		var errs []error
		if t.tracer != nil {
			if err := t.tracer.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("traces: %w", err))
			}
		}
		if t.meters != nil {
			if err := t.meters.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("metrics: %w", err))
			}
		}
		if len(errs) > 0 {
			t.stopErr = fmt.Errorf("telemetry shutdown: %w", errors.Join(errs...))
		}
	})
	return t.stopErr
}

// SpansPaused reports that the last span export failed, so that spans are not being
// recorded (apart from one probe trace a second) until one succeeds.
func (t *Telemetry) SpansPaused() bool {
	return t != nil && t.health != nil && t.health.down.Load()
}

// MetricsHandler is the Prometheus /metrics handler, nil unless Prometheus is on.
func (t *Telemetry) MetricsHandler() http.Handler {
	if t == nil {
		return nil
	}
	return t.scrape
}

// Gauge registers an observable gauge read at each collection (for the composition root: queue
// depth, budget use, cache bytes, advisory index age). unit like "By", "s", "{job}". No-op when
// metrics are off.
//
// read is called on the collecting goroutine, once per export or scrape; it must be
// quick and safe for concurrent use. An invalid name or a nil read is an error.
func (t *Telemetry) Gauge(name, unit, description string, read func() float64) error {
	if t == nil || t.meter == nil {
		return nil
	}
	if read == nil {
		return fmt.Errorf("gauge %s: no read function", name)
	}
	_, err := t.meter.Float64ObservableGauge(name,
		metric.WithUnit(unit),
		metric.WithDescription(description),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(read())
			return nil
		}))
	if err != nil {
		return fmt.Errorf("gauge %s: %w", name, err)
	}
	return nil
}

// scrapeLog passes the Prometheus handler's errors to the logger.
type scrapeLog struct{ log *slog.Logger }

func (s scrapeLog) Println(v ...any) {
	s.log.Warn("prometheus scrape error", "error", fmt.Sprint(v...))
}

// newResource is the OpenTelemetry resource of the identity: the telemetry SDK's own
// attributes, the entries of OTEL_RESOURCE_ATTRIBUTES, then the identity over them.
func newResource(id Identity, getenv func(string) (string, bool), log *slog.Logger) (*resource.Resource, error) {
	entries, bad := parseKeyValues(lookup(getenv, "OTEL_RESOURCE_ATTRIBUTES"))
	if bad > 0 {
		log.Warn("OTEL_RESOURCE_ATTRIBUTES has entries that are not key=value; they are ignored", "entries", bad)
	}
	attrs := make([]attribute.KeyValue, 0, len(entries)+3)
	for _, kv := range entries {
		switch kv.key {
		case attrServiceName, attrServiceVersion, attrDeploymentEnv, attrDeploymentEnvLegacy:
			continue // the identity's, set below
		}
		attrs = append(attrs, attribute.String(kv.key, kv.value))
	}
	attrs = append(attrs, attribute.String(attrServiceName, first(id.Service, DefaultService)))
	if id.Env != "" {
		attrs = append(attrs, attribute.String(attrDeploymentEnv, id.Env))
	}
	if id.Version != "" {
		attrs = append(attrs, attribute.String(attrServiceVersion, id.Version))
	}
	res, err := resource.New(context.Background(), resource.WithTelemetrySDK(), resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	return res, nil
}
