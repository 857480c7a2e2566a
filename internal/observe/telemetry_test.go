package observe

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"
)

// TestTelemetryOff: with neither OTLP nor Prometheus on, StartTelemetry installs no
// provider, no propagator and starts no goroutine, and the Telemetry it returns does
// nothing. It runs first in this file, before any test installs a provider.
func TestTelemetryOff(t *testing.T) {
	tracerBefore, meterBefore := otel.GetTracerProvider(), otel.GetMeterProvider()
	fieldsBefore := otel.GetTextMapPropagator().Fields()
	ignore := goleak.IgnoreCurrent()

	var buf logBuffer
	tel, err := StartTelemetry(TelemetryOptions{
		Identity: testID,
		Getenv:   envMap(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}),
		Logger:   slog.New(slog.NewJSONHandler(&buf, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != tracerBefore || otel.GetMeterProvider() != meterBefore {
		t.Error("StartTelemetry installed a provider with telemetry off")
	}
	if got := otel.GetTextMapPropagator().Fields(); len(got) != len(fieldsBefore) {
		t.Errorf("propagator fields = %v, want %v (unchanged)", got, fieldsBefore)
	}
	if _, sdk := tracerBefore.(*sdktrace.TracerProvider); !sdk {
		_, span := otel.Tracer("test").Start(context.Background(), "op")
		if span.IsRecording() {
			t.Error("the global tracer records with telemetry off")
		}
		span.End()
	}
	if h := tel.MetricsHandler(); h != nil {
		t.Errorf("MetricsHandler() = %v, want nil", h)
	}
	if err := tel.Gauge("ecluse.test.gauge", "1", "unused", func() float64 { return 1 }); err != nil {
		t.Errorf("Gauge() = %v, want a silent no-op", err)
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
	if buf.String() != "" {
		t.Errorf("telemetry off logged %s", buf.String())
	}
	goleak.VerifyNone(t, ignore)

	var none *Telemetry
	if none.MetricsHandler() != nil || none.Gauge("x", "1", "", func() float64 { return 0 }) != nil || none.Shutdown(context.Background()) != nil {
		t.Error("a nil *Telemetry is not a no-op")
	}
}

// recordSome records one span and a counter through the otel globals, the way the
// instrumented packages do, and registers a gauge through tel.
func recordSome(t *testing.T, tel *Telemetry) {
	t.Helper()
	ctx := context.Background()
	_, span := otel.Tracer("github.com/ecluse/ecluse/internal/test").Start(ctx, "ecluse.test.lookup")
	span.End()
	counter, err := otel.Meter("github.com/ecluse/ecluse/internal/test").Int64Counter("ecluse.test.requests",
		metric.WithUnit("{request}"), metric.WithDescription("Requests served in the test."))
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(ctx, 3, metric.WithAttributes(attribute.String("mount", "npm")))
	if err := tel.Gauge("ecluse.test.queue_depth", "{job}", "Jobs waiting in the test.", func() float64 { return 7 }); err != nil {
		t.Fatal(err)
	}
}

// wantIdentity checks a received item's resource against testID.
func wantIdentity(t *testing.T, what string, got received) {
	t.Helper()
	for k, v := range map[string]string{"service.name": "ecluse", "deployment.environment.name": "prod", "service.version": "1.2.3"} {
		if got.resource[k] != v {
			t.Errorf("%s resource %s = %q, want %q (resource %v)", what, k, got.resource[k], v, got.resource)
		}
	}
}

// TestExportOTLP: with telemetry on and the endpoint named by OTEL_* variables, a span
// and a counter recorded through the otel globals reach the collector over OTLP/HTTP,
// under the identity's resource, with the configured headers, once Shutdown flushes.
func TestExportOTLP(t *testing.T) {
	tests := []struct {
		name string
		env  func(url string) map[string]string
		// process is set in the process environment, which the SDK also reads: what
		// StartTelemetry resolved must win over it.
		process map[string]string
	}{
		{"OTEL_EXPORTER_OTLP_ENDPOINT", func(url string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_EXPORTER_OTLP_HEADERS": "X-Collector-Token=tok%2Cen"}
		}, nil},
		{"per-signal endpoints", func(url string) map[string]string {
			return map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT":         "http://127.0.0.1:1", // loses to the per-signal ones
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":  url + "/v1/traces",
				"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": url + "/v1/metrics",
				"OTEL_EXPORTER_OTLP_HEADERS":          "X-Collector-Token=tok%2Cen",
				"OTEL_EXPORTER_OTLP_PROTOCOL":         "http/json",
			}
		}, nil},
		{"the SDK's own reading of the process environment loses", func(url string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_EXPORTER_OTLP_HEADERS": "X-Collector-Token=tok%2Cen"}
		}, map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
			"OTEL_EXPORTER_OTLP_HEADERS":  "X-Collector-Token=from-the-process",
			// Only http/protobuf is built: the span exporter must not switch to JSON.
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.process {
				t.Setenv(k, v)
			}
			recv := newOTLPReceiver(t, nil)
			exportTo(t, recv, tt.env(recv.URL()))
			_, _, _, auth := recv.snapshot()
			if auth != "tok,en" {
				t.Errorf("X-Collector-Token = %q, want the decoded OTEL_EXPORTER_OTLP_HEADERS value", auth)
			}
		})
	}
}

// exportTo starts telemetry with env, records, shuts down and checks what recv got.
func exportTo(t *testing.T, recv *otlpReceiver, env map[string]string) {
	t.Helper()
	var buf logBuffer
	tel, err := StartTelemetry(TelemetryOptions{
		Enabled:        true,
		Identity:       testID,
		Getenv:         envMap(env),
		Logger:         slog.New(slog.NewJSONHandler(&buf, nil)),
		ExportInterval: time.Hour, // only Shutdown's flush exports
	})
	if err != nil {
		t.Fatal(err)
	}
	recordSome(t, tel)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}
	spans, metrics, posts, _ := recv.snapshot()
	span, ok := find(spans, "ecluse.test.lookup")
	if !ok {
		t.Fatalf("span not received; posts %v, spans %v", posts, spans)
	}
	wantIdentity(t, "span", span)
	counter, ok := find(metrics, "ecluse.test.requests")
	if !ok || counter.value != 3 {
		t.Fatalf("counter = %+v (found %v), want 3; metrics %v", counter, ok, metrics)
	}
	wantIdentity(t, "counter", counter)
	if gauge, ok := find(metrics, "ecluse.test.queue_depth"); !ok || gauge.value != 7 {
		t.Errorf("gauge = %+v (found %v), want 7", gauge, ok)
	}
	if len(buf.withMsg(t, "telemetry export failed")) != 0 {
		t.Errorf("export failures logged: %s", buf.String())
	}
}

// TestExportToDatadogAgent: DD_AGENT_HOST sends to port 4318 of that host and wins
// over OTEL_EXPORTER_OTLP_ENDPOINT. The receiver takes 127.0.0.1:4318 when it is free;
// when it is not, the same resolution is checked without export.
func TestExportToDatadogAgent(t *testing.T) {
	env := map[string]string{"DD_AGENT_HOST": "127.0.0.1", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:4318")
	if err != nil {
		t.Logf("127.0.0.1:4318 is taken (%v): checking the resolution only", err)
		target, err := resolveExport(envMap(env))
		if err != nil {
			t.Fatal(err)
		}
		if target.traces.url.String() != "http://127.0.0.1:4318/v1/traces" || target.metrics.url.String() != "http://127.0.0.1:4318/v1/metrics" {
			t.Errorf("DD_AGENT_HOST=127.0.0.1 resolves to %s and %s", target.traces.url, target.metrics.url)
		}
		return
	}
	recv := newOTLPReceiver(t, ln)
	exportTo(t, recv, env)
}

// TestBootLines: what StartTelemetry says at boot about the environment, and what it
// never prints.
func TestBootLines(t *testing.T) {
	const (
		ignoredDD  = "DD_API_KEY and DD_SITE are ignored: telemetry goes only to the collector or Agent at the OTLP endpoint"
		fallback   = "no telemetry endpoint is set (DD_AGENT_HOST or OTEL_EXPORTER_OTLP_ENDPOINT): export falls back to http://localhost:4318"
		protocol   = "only the http/protobuf OTLP protocol is built: exporting with http/protobuf instead"
		overridden = "DD_AGENT_HOST is set and wins over the OTEL_EXPORTER_OTLP endpoint variables, which are ignored"
		enabled    = "telemetry export enabled"
	)
	recv := newOTLPReceiver(t, nil)
	tests := []struct {
		name    string
		enabled bool
		env     map[string]string
		// want maps each expected message to one attribute it must carry.
		want    map[string][2]string
		absent  []string
		secrets []string
	}{
		{"nothing set", true, nil,
			map[string][2]string{fallback: {"signals", "[traces metrics]"}, enabled: {"traces_endpoint", "http://localhost:4318/v1/traces"}},
			[]string{ignoredDD, protocol, overridden}, nil},
		{"endpoint set", true, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL()},
			map[string][2]string{enabled: {"metrics_endpoint_from", "OTEL_EXPORTER_OTLP_ENDPOINT"}},
			[]string{fallback, ignoredDD, protocol, overridden}, nil},
		{"DD_API_KEY and DD_SITE", true, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL(), "DD_API_KEY": "k-0123456789abcdef", "DD_SITE": "intake.example.test"},
			map[string][2]string{ignoredDD: {"set", "[DD_API_KEY DD_SITE]"}},
			[]string{fallback}, []string{"k-0123456789abcdef", "intake.example.test"}},
		{"DD_API_KEY with telemetry off", false, map[string]string{"DD_API_KEY": "k-0123456789abcdef"},
			map[string][2]string{ignoredDD: {"set", "[DD_API_KEY]"}},
			[]string{enabled, fallback}, []string{"k-0123456789abcdef"}},
		{"another protocol", true, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL(), "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			map[string][2]string{protocol: {"settings", "[OTEL_EXPORTER_OTLP_PROTOCOL=grpc]"}},
			[]string{fallback}, nil},
		{"both dialects", true, map[string]string{"DD_AGENT_HOST": "127.0.0.1", "OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL()},
			map[string][2]string{overridden: {"ignored", "[OTEL_EXPORTER_OTLP_ENDPOINT]"}, enabled: {"traces_endpoint_from", "DD_AGENT_HOST"}},
			[]string{fallback}, nil},
		{"header values are never printed", true, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL(), "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20hunter2"},
			map[string][2]string{enabled: {"traces_endpoint", recv.URL() + "/v1/traces"}},
			nil, []string{"hunter2"}},
		{"malformed resource attributes", true, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL(), "OTEL_RESOURCE_ATTRIBUTES": "team=infra,oops"},
			map[string][2]string{"OTEL_RESOURCE_ATTRIBUTES has entries that are not key=value; they are ignored": {"entries", "1"}},
			nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf logBuffer
			tel, err := StartTelemetry(TelemetryOptions{
				Enabled: tt.enabled, Identity: testID, Getenv: envMap(tt.env),
				Logger: slog.New(slog.NewJSONHandler(&buf, nil)), ExportInterval: time.Hour,
			})
			if err != nil {
				t.Fatal(err)
			}
			// Nothing was recorded; the final flush may still find no collector on
			// localhost, which does not matter here.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = tel.Shutdown(ctx)
			for msg, attr := range tt.want {
				lines := buf.withMsg(t, msg)
				if len(lines) != 1 {
					t.Errorf("%d lines %q, want one:\n%s", len(lines), msg, buf.String())
					continue
				}
				if got := fmtAttr(lines[0][attr[0]]); got != attr[1] {
					t.Errorf("%q %s = %s, want %s", msg, attr[0], got, attr[1])
				}
			}
			for _, msg := range tt.absent {
				if n := len(buf.withMsg(t, msg)); n != 0 {
					t.Errorf("%q logged %d times, want never", msg, n)
				}
			}
			for _, s := range tt.secrets {
				if strings.Contains(buf.String(), s) {
					t.Errorf("boot lines print %q:\n%s", s, buf.String())
				}
			}
		})
	}
}

// fmtAttr renders a decoded JSON attribute: lists as [a b], numbers plainly.
func fmtAttr(v any) string {
	switch v := v.(type) {
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fmtAttr(p)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return v
	default:
		return "?"
	}
}

// TestStartTelemetryRefusesBadEndpoint: an unusable endpoint is an error naming the
// variable, and nothing is installed.
func TestStartTelemetryRefusesBadEndpoint(t *testing.T) {
	tracerBefore := otel.GetTracerProvider()
	ignore := goleak.IgnoreCurrent()
	_, err := StartTelemetry(TelemetryOptions{
		Enabled: true, Prometheus: true, Identity: testID,
		Getenv: envMap(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector.example.test:4317"}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Fatalf("StartTelemetry() error = %v, want one naming OTEL_EXPORTER_OTLP_ENDPOINT", err)
	}
	if otel.GetTracerProvider() != tracerBefore {
		t.Error("a provider was installed although StartTelemetry failed")
	}
	goleak.VerifyNone(t, ignore)
}

// TestExportFailureThrottled: a collector refusing every export gets one warning,
// not one per export, and requests recording telemetry meanwhile are not held up.
func TestExportFailureThrottled(t *testing.T) {
	recv := newOTLPReceiver(t, nil)
	recv.setStatus(http.StatusInternalServerError)
	var buf logBuffer
	tel, err := StartTelemetry(TelemetryOptions{
		Enabled: true, Identity: testID,
		Getenv:         envMap(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL()}),
		Logger:         slog.New(slog.NewJSONHandler(&buf, nil)),
		ExportInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	recordSome(t, tel)
	eventually(t, "several failed metric exports", func() bool {
		_, _, posts, _ := recv.snapshot()
		return posts["/v1/metrics"] >= 4
	})
	eventually(t, "the export failure line", func() bool {
		return strings.Contains(buf.String(), "telemetry export failed")
	})
	if n := len(buf.withMsg(t, "telemetry export failed")); n != 1 {
		t.Errorf("%d failure lines, want 1:\n%s", n, buf.String())
	}
	if n := len(buf.withMsg(t, "telemetry export still failing")); n != 0 {
		t.Errorf("%d heartbeats within five minutes, want none", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err == nil {
		t.Error("Shutdown() = nil, want the final export's failure")
	}
}

// TestPrometheusScrape: with PROXY_METRICS=prometheus alone, the metrics recorded
// through the otel globals are served by MetricsHandler in the Prometheus text format,
// and no tracer provider is installed.
func TestPrometheusScrape(t *testing.T) {
	tracerBefore := otel.GetTracerProvider()
	tel, err := StartTelemetry(TelemetryOptions{
		Prometheus: true, Identity: testID, Getenv: envMap(nil), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown() = %v", err)
		}
	}()
	if otel.GetTracerProvider() != tracerBefore {
		t.Error("PROXY_METRICS=prometheus alone installed a tracer provider")
	}
	if tel.MetricsHandler() == nil {
		t.Fatal("MetricsHandler() = nil with Prometheus on")
	}
	recordSome(t, tel)

	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	tests := []struct {
		family string
		kind   string
		labels map[string]string
		value  float64
	}{
		{"ecluse_test_requests_total", "COUNTER", map[string]string{"mount": "npm"}, 3},
		{"ecluse_test_queue_depth", "GAUGE", nil, 7},
		{"target_info", "GAUGE", map[string]string{"service_name": "ecluse", "deployment_environment_name": "prod", "service_version": "1.2.3"}, 1},
	}
	for _, tt := range tests {
		f, ok := families[tt.family]
		if !ok {
			names := make([]string, 0, len(families))
			for n := range families {
				names = append(names, n)
			}
			t.Errorf("family %s not scraped; got %v", tt.family, names)
			continue
		}
		if f.GetType().String() != tt.kind || len(f.GetMetric()) != 1 {
			t.Errorf("%s: type %s with %d series, want %s with 1", tt.family, f.GetType(), len(f.GetMetric()), tt.kind)
			continue
		}
		m := f.GetMetric()[0]
		got := m.GetCounter().GetValue() + m.GetGauge().GetValue()
		if got != tt.value {
			t.Errorf("%s = %v, want %v", tt.family, got, tt.value)
		}
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range tt.labels {
			if labels[k] != v {
				t.Errorf("%s label %s = %q, want %q (labels %v)", tt.family, k, labels[k], v, labels)
			}
		}
	}
}

// TestGaugeErrors: a gauge without a read function, or with a name the SDK refuses, is
// an error.
func TestGaugeErrors(t *testing.T) {
	tel, err := StartTelemetry(TelemetryOptions{Prometheus: true, Identity: testID, Getenv: envMap(nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()
	if err := tel.Gauge("ecluse.test.nil", "1", "", nil); err == nil {
		t.Error("Gauge(nil read) = nil, want an error")
	}
	if err := tel.Gauge("9 bad name", "1", "", func() float64 { return 0 }); err == nil {
		t.Error("Gauge(invalid name) = nil, want an error")
	}
}

// TestShutdownTwice: a second Shutdown returns the first's result without exporting
// again.
func TestShutdownTwice(t *testing.T) {
	recv := newOTLPReceiver(t, nil)
	recv.setStatus(http.StatusBadRequest)
	tel, err := StartTelemetry(TelemetryOptions{
		Enabled: true, Identity: testID, Logger: slog.New(slog.DiscardHandler), ExportInterval: time.Hour,
		Getenv: envMap(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL()}),
	})
	if err != nil {
		t.Fatal(err)
	}
	recordSome(t, tel)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := tel.Shutdown(ctx)
	if first == nil {
		t.Fatal("Shutdown() = nil, want the refused final export")
	}
	_, _, postsBefore, _ := recv.snapshot()
	second := tel.Shutdown(ctx)
	if !errors.Is(second, first) {
		t.Errorf("second Shutdown() = %v, want %v", second, first)
	}
	if _, _, posts, _ := recv.snapshot(); !reflect.DeepEqual(posts, postsBefore) {
		t.Errorf("second Shutdown() exported again: posts %v, then %v", postsBefore, posts)
	}
}
