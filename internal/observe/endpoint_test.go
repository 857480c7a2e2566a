package observe

import (
	"reflect"
	"strings"
	"testing"
)

// TestResolveExport: where each signal goes, and what the boot lines will say, for
// each way the environment can name the destination.
func TestResolveExport(t *testing.T) {
	tests := []struct {
		name             string
		env              map[string]string
		traces, metrics  string
		tracesFrom       string
		fallback         []string
		overridden       []string
		badProtocols     []string
		tracesHeaders    map[string]string
		metricsHeaders   map[string]string
		wantErr          string
		errMustNotRepeat string
	}{
		{name: "nothing set falls back to localhost", env: nil,
			traces: "http://localhost:4318/v1/traces", metrics: "http://localhost:4318/v1/metrics", fallback: []string{"traces", "metrics"}},
		{name: "DD_AGENT_HOST", env: map[string]string{"DD_AGENT_HOST": "10.0.0.7"},
			traces: "http://10.0.0.7:4318/v1/traces", metrics: "http://10.0.0.7:4318/v1/metrics", tracesFrom: "DD_AGENT_HOST"},
		{name: "DD_AGENT_HOST by name", env: map[string]string{"DD_AGENT_HOST": " datadog-agent.monitoring.svc "},
			traces: "http://datadog-agent.monitoring.svc:4318/v1/traces", metrics: "http://datadog-agent.monitoring.svc:4318/v1/metrics", tracesFrom: "DD_AGENT_HOST"},
		{name: "DD_AGENT_HOST IPv6", env: map[string]string{"DD_AGENT_HOST": "fd00::7"},
			traces: "http://[fd00::7]:4318/v1/traces", metrics: "http://[fd00::7]:4318/v1/metrics", tracesFrom: "DD_AGENT_HOST"},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT gets the signal paths", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example.test:4318"},
			traces: "https://collector.example.test:4318/v1/traces", metrics: "https://collector.example.test:4318/v1/metrics", tracesFrom: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{name: "base endpoint with a path", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example.test/otlp/"},
			traces: "http://collector.example.test/otlp/v1/traces", metrics: "http://collector.example.test/otlp/v1/metrics", tracesFrom: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{name: "per-signal endpoints are used as written", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":         "http://base.example.test:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":  "http://traces.example.test:9000/in/spans",
			"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://metrics.example.test:9001/"},
			traces: "http://traces.example.test:9000/in/spans", metrics: "http://metrics.example.test:9001/", tracesFrom: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{name: "one signal set, the other falls back", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces.example.test/v1/traces"},
			traces: "http://traces.example.test/v1/traces", metrics: "http://localhost:4318/v1/metrics", tracesFrom: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", fallback: []string{"metrics"}},
		{name: "both dialects: DD_AGENT_HOST wins", env: map[string]string{
			"DD_AGENT_HOST":                      "agent.example.test",
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://collector.example.test:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces.example.test/v1/traces"},
			traces: "http://agent.example.test:4318/v1/traces", metrics: "http://agent.example.test:4318/v1/metrics", tracesFrom: "DD_AGENT_HOST",
			overridden: []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}},
		{name: "headers, shared and per signal", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://collector.example.test",
			"OTEL_EXPORTER_OTLP_HEADERS":         "X-Collector-Token=s3cr%20t, X-Team=infra",
			"OTEL_EXPORTER_OTLP_METRICS_HEADERS": "X-Metrics-Token=m"},
			traces: "http://collector.example.test/v1/traces", metrics: "http://collector.example.test/v1/metrics", tracesFrom: "OTEL_EXPORTER_OTLP_ENDPOINT",
			tracesHeaders: map[string]string{"X-Collector-Token": "s3cr t", "X-Team": "infra"}, metricsHeaders: map[string]string{"X-Metrics-Token": "m"}},
		{name: "another protocol is named", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example.test", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"},
			traces: "http://collector.example.test/v1/traces", metrics: "http://collector.example.test/v1/metrics", tracesFrom: "OTEL_EXPORTER_OTLP_ENDPOINT",
			badProtocols: []string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/json"}},
		{name: "http/protobuf is quiet", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example.test", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
			traces: "http://collector.example.test/v1/traces", metrics: "http://collector.example.test/v1/metrics", tracesFrom: "OTEL_EXPORTER_OTLP_ENDPOINT"},

		{name: "DD_AGENT_HOST with a port", env: map[string]string{"DD_AGENT_HOST": "agent.example.test:8126"}, wantErr: "DD_AGENT_HOST: must be a host name or IP address alone"},
		{name: "DD_AGENT_HOST with a scheme", env: map[string]string{"DD_AGENT_HOST": "http://agent.example.test"}, wantErr: "DD_AGENT_HOST: must be a host name"},
		{name: "grpc-style endpoint without a scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector.example.test:4317"}, wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT: "},
		{name: "endpoint with credentials", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://user:hunter2@collector.example.test/v1/traces"},
			wantErr: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must not carry user information", errMustNotRepeat: "hunter2"},
		{name: "endpoint with a query", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://collector.example.test/v1/metrics?token=hunter2"},
			wantErr: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: must not carry a query", errMustNotRepeat: "hunter2"},
		{name: "endpoint without a host", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http:///v1"}, wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT: has no host"},
		{name: "malformed headers", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "Authorization Bearer hunter2"},
			wantErr: "OTEL_EXPORTER_OTLP_HEADERS: 1 of its entries", errMustNotRepeat: "hunter2"},
		{name: "bad header name", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "Bad Name=hunter2"},
			wantErr: "OTEL_EXPORTER_OTLP_TRACES_HEADERS: 1 of its entries", errMustNotRepeat: "hunter2"},
		{name: "an overridden endpoint is still checked", env: map[string]string{"DD_AGENT_HOST": "agent.example.test", "OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x.example.test"},
			wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT: must be an http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveExport(envMap(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolveExport(%v) error = %v, want one containing %q", tt.env, err, tt.wantErr)
				}
				if tt.errMustNotRepeat != "" && strings.Contains(err.Error(), tt.errMustNotRepeat) {
					t.Errorf("resolveExport(%v) error %q repeats a secret", tt.env, err)
				}
				if strings.Count(err.Error(), "\n") > 0 {
					t.Errorf("resolveExport(%v) error reports one problem more than once: %q", tt.env, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveExport(%v) error = %v", tt.env, err)
			}
			if got.traces.url.String() != tt.traces || got.metrics.url.String() != tt.metrics {
				t.Errorf("resolveExport(%v) = traces %s metrics %s, want %s %s", tt.env, got.traces.url, got.metrics.url, tt.traces, tt.metrics)
			}
			if got.traces.from != tt.tracesFrom {
				t.Errorf("resolveExport(%v) traces from %q, want %q", tt.env, got.traces.from, tt.tracesFrom)
			}
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"fallback", got.fallback, tt.fallback},
				{"overridden", got.overridden, tt.overridden},
				{"badProtocols", got.badProtocols, tt.badProtocols},
				{"traces headers", got.traces.headers, tt.tracesHeaders},
				{"metrics headers", got.metrics.headers, tt.metricsHeaders},
			} {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("resolveExport(%v) %s = %#v, want %#v", tt.env, c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestIgnoredDatadog(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want []string
	}{
		{nil, nil},
		{map[string]string{"DD_API_KEY": "k"}, []string{"DD_API_KEY"}},
		{map[string]string{"DD_SITE": "example.test"}, []string{"DD_SITE"}},
		{map[string]string{"DD_API_KEY": "k", "DD_SITE": "example.test"}, []string{"DD_API_KEY", "DD_SITE"}},
		{map[string]string{"DD_API_KEY": " "}, nil},
	}
	for _, tt := range tests {
		if got := ignoredDatadog(envMap(tt.env)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ignoredDatadog(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}
