package e2e

// Telemetry end to end: the built binary exports its traces over OTLP/HTTP to an
// in-process receiver that decodes the protobuf payloads, logs the same trace id in the
// dd object of the request's log line, and serves /metrics on its own port for a
// Prometheus scrape. Run with `go test ./e2e/ -run Telemetry`.

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// spanSeen is one span the receiver decoded.
type spanSeen struct {
	name, traceID, spanID, parentID string
	service                         string
}

// traceReceiver is an OTLP/HTTP collector for traces only.
type traceReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []spanSeen
}

func newTraceReceiver(t *testing.T) *traceReceiver {
	t.Helper()
	r := &traceReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			defer gz.Close()
			body = gz
		}
		raw, err := io.ReadAll(io.LimitReader(body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if req.URL.Path != "/v1/traces" {
			w.WriteHeader(http.StatusOK) // metrics: accepted, not kept
			return
		}
		var msg coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range msg.GetResourceSpans() {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					r.spans = append(r.spans, spanSeen{
						name: s.GetName(), traceID: hex.EncodeToString(s.GetTraceId()), spanID: hex.EncodeToString(s.GetSpanId()),
						parentID: hex.EncodeToString(s.GetParentSpanId()), service: service,
					})
				}
			}
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *traceReceiver) seen() []spanSeen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]spanSeen(nil), r.spans...)
}

// ddTraceID is Datadog's form of a trace id: the decimal low 64 bits.
func ddTraceID(hexID string) string {
	if len(hexID) != 32 {
		return ""
	}
	n, err := strconv.ParseUint(hexID[16:], 16, 64)
	if err != nil {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

// TestTelemetryTraceAndLog is the acceptance: with PROXY_TELEMETRY=on and
// DD_SERVICE=ecluse, one package request produces a trace holding the request span
// and, beneath it, an upstream fetch and the policy decision, at the local receiver,
// and the request's log line carries the same trace id in its dd object.
func TestTelemetryTraceAndLog(t *testing.T) {
	recv := newTraceReceiver(t)
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	public.Add(Pkg{Name: "e2e-traced", Versions: []Ver{{Version: "1.0.0", PublishedAgo: oldEnough}}})
	env := baseEnv(public.URL, private.URL)
	env["PROXY_TELEMETRY"] = "on"
	env["DD_SERVICE"] = "ecluse"
	env["DD_ENV"] = "e2e"
	env["OTEL_SERVICE_NAME"] = "loses-to-dd"
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = recv.srv.URL
	env["OTEL_BSP_SCHEDULE_DELAY"] = "100"
	p := startEcluse(t, env)

	if status, body := get(t, p.URL+"/e2e-traced", nil); status != http.StatusOK {
		t.Fatalf("GET the package = %d %s", status, body)
	}

	var request spanSeen
	var names map[string]bool
	pollUntil(t, 30*time.Second, "the request's trace at the receiver", func() (bool, error) {
		spans := recv.seen()
		for _, s := range spans {
			if strings.HasPrefix(s.name, "GET ") && s.parentID == "" {
				request = s
			}
		}
		if request.traceID == "" {
			return false, nil
		}
		names = map[string]bool{}
		for _, s := range spans {
			if s.traceID == request.traceID {
				names[s.name] = true
			}
		}
		return names["policy.decide"] && names["upstream public"], nil
	})
	if request.service != "ecluse" {
		t.Errorf("service.name = %q, want DD_SERVICE's ecluse (DD wins over OTEL_SERVICE_NAME)", request.service)
	}

	// The request's own log line carries the same trace in Datadog's decimal form.
	want := ddTraceID(request.traceID)
	found := false
	sc := bufio.NewScanner(strings.NewReader(p.Logs()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Path string `json:"path"`
			DD   struct {
				Service string `json:"service"`
				Env     string `json:"env"`
				TraceID string `json:"trace_id"`
			} `json:"dd"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Path != "/e2e-traced" {
			continue
		}
		found = true
		if line.DD.TraceID != want || line.DD.Service != "ecluse" || line.DD.Env != "e2e" {
			t.Errorf("request log line dd = %+v, want trace_id %s, service ecluse, env e2e", line.DD, want)
		}
	}
	if !found {
		t.Errorf("no request log line for /e2e-traced in:\n%s", p.Logs())
	}
}

// TestTelemetryPrometheus: PROXY_METRICS=prometheus serves /metrics on its own port,
// and a scrape, parsed with the Prometheus text parser, counts requests by route and
// status. The front door's port does not serve it.
func TestTelemetryPrometheus(t *testing.T) {
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	public.Add(Pkg{Name: "e2e-counted", Versions: []Ver{{Version: "1.0.0", PublishedAgo: oldEnough}}})
	env := baseEnv(public.URL, private.URL)
	env["PROXY_METRICS"] = "prometheus"
	port := freePort(t)
	env["PROXY_METRICS_PORT"] = strconv.Itoa(port)
	p := startEcluse(t, env)

	for range 3 {
		if status, body := get(t, p.URL+"/e2e-counted", nil); status != http.StatusOK {
			t.Fatalf("GET the package = %d %s", status, body)
		}
	}
	if status, _ := get(t, p.URL+"/nope/-/nope-1.0.0.tgz", nil); status == http.StatusOK {
		t.Fatal("a tarball of a package that does not exist was served")
	}
	if status, _ := get(t, p.URL+"/metrics", nil); status == http.StatusOK {
		t.Error("the front door serves /metrics; it must only be on PROXY_METRICS_PORT")
	}

	resp, err := httpClient.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the scrape does not parse as Prometheus text: %v", err)
	}
	fam, ok := families["http_server_request_duration_seconds"]
	if !ok {
		var have []string
		for name := range families {
			have = append(have, name)
		}
		t.Fatalf("no http_server_request_duration_seconds family; have %v", have)
	}
	counts := map[string]uint64{}
	for _, m := range fam.GetMetric() {
		labels := model.LabelSet{}
		for _, l := range m.GetLabel() {
			labels[model.LabelName(l.GetName())] = model.LabelValue(l.GetValue())
		}
		key := string(labels["http_route"]) + " " + string(labels["http_response_status_code"])
		counts[key] += m.GetHistogram().GetSampleCount()
	}
	if counts["packument 200"] != 3 {
		t.Errorf("requests by route and status = %v, want 3 for packument 200", counts)
	}
	for key := range counts {
		if strings.Contains(key, "e2e-counted") {
			t.Errorf("a package name became a label: %q", key)
		}
	}
}
