package observe

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// The OTLP/HTTP defaults: the port a collector or Datadog Agent listens on, the
// endpoint used when nothing is set, and the one protocol built.
const (
	otlpHTTPPort         = "4318"
	defaultEndpoint      = "http://localhost:" + otlpHTTPPort
	protocolHTTPProtobuf = "http/protobuf"
)

// The signals exported over OTLP, as they name their URL paths and variables.
const (
	signalTraces  = "traces"
	signalMetrics = "metrics"
)

// exportTarget is where OTLP goes and what the environment said about it, resolved
// without I/O by resolveExport.
type exportTarget struct {
	traces, metrics signalTarget
	// fallback lists the signals for which no endpoint was set, exported to
	// defaultEndpoint.
	fallback []string
	// overridden lists the OTEL_* endpoint variables that are set but lose to
	// DD_AGENT_HOST.
	overridden []string
	// badProtocols lists the protocol settings ("NAME=value") naming a protocol other
	// than http/protobuf, which are not built.
	badProtocols []string
}

// signalTarget is one signal's destination.
type signalTarget struct {
	// url is the full URL the signal is posted to.
	url *url.URL
	// from names the variable url came from; "" means the default.
	from string
	// headers are sent with every export; nil means none.
	headers map[string]string
}

// resolveExport resolves the OTLP/HTTP destination of traces and metrics from the
// environment. DD_AGENT_HOST, when set, sends both to http://{host}:4318 and wins over
// every OTEL_* endpoint variable; otherwise a signal's own
// OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT is used as it is written, then
// OTEL_EXPORTER_OTLP_ENDPOINT with /v1/{signal} appended to its path, then
// http://localhost:4318/v1/{signal}. Headers come from the signal's own
// OTEL_EXPORTER_OTLP_{TRACES,METRICS}_HEADERS, else OTEL_EXPORTER_OTLP_HEADERS. An
// endpoint that is not a plain http(s) URL, or a malformed header list, is an error
// that names the variable and never repeats its value.
func resolveExport(getenv func(string) (string, bool)) (exportTarget, error) {
	var (
		t    exportTarget
		errs []error
	)
	// Every variable is checked once, whether or not another one wins over it.
	endpoint := func(name string) *url.URL {
		v := lookup(getenv, name)
		if v == "" {
			return nil
		}
		u, err := endpointURL(name, v)
		if err != nil {
			errs = append(errs, err)
		}
		return u
	}
	headerList := func(name string) (map[string]string, bool) {
		v := lookup(getenv, name)
		h, err := headers(name, v)
		if err != nil {
			errs = append(errs, err)
		}
		return h, v != ""
	}
	var agent *url.URL
	if host := lookup(getenv, "DD_AGENT_HOST"); host != "" {
		u, err := agentURL(host)
		if err != nil {
			errs = append(errs, err)
		}
		agent = u
	}
	base := endpoint("OTEL_EXPORTER_OTLP_ENDPOINT")
	commonHeaders, _ := headerList("OTEL_EXPORTER_OTLP_HEADERS")
	def, _ := url.Parse(defaultEndpoint)
	for _, s := range []struct {
		signal string
		dst    *signalTarget
	}{{signalTraces, &t.traces}, {signalMetrics, &t.metrics}} {
		own := "OTEL_EXPORTER_OTLP_" + strings.ToUpper(s.signal) + "_ENDPOINT"
		ownURL := endpoint(own)
		switch {
		case agent != nil:
			s.dst.url, s.dst.from = withSignalPath(agent, s.signal), "DD_AGENT_HOST"
		case ownURL != nil:
			s.dst.url, s.dst.from = ownURL, own
		case base != nil:
			s.dst.url, s.dst.from = withSignalPath(base, s.signal), "OTEL_EXPORTER_OTLP_ENDPOINT"
		default:
			s.dst.url = withSignalPath(def, s.signal)
			t.fallback = append(t.fallback, s.signal)
		}
		if agent != nil && lookup(getenv, own) != "" {
			t.overridden = append(t.overridden, own)
		}
		var set bool
		s.dst.headers, set = headerList("OTEL_EXPORTER_OTLP_" + strings.ToUpper(s.signal) + "_HEADERS")
		if !set {
			s.dst.headers = commonHeaders
		}
	}
	if agent != nil && lookup(getenv, "OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		t.overridden = append([]string{"OTEL_EXPORTER_OTLP_ENDPOINT"}, t.overridden...)
	}
	if len(errs) > 0 {
		return exportTarget{}, errors.Join(errs...)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"} {
		if v := lookup(getenv, name); v != "" && v != protocolHTTPProtobuf {
			t.badProtocols = append(t.badProtocols, name+"="+v)
		}
	}
	return t, nil
}

// agentURL is the OTLP/HTTP base URL of the Datadog Agent on host.
func agentURL(host string) (*url.URL, error) {
	bad := errors.New("DD_AGENT_HOST: must be a host name or IP address alone (no scheme, port or path; the OTLP/HTTP port 4318 is implied)")
	if strings.ContainsAny(host, "/@?# ") {
		return nil, bad
	}
	u, err := url.Parse("http://" + net.JoinHostPort(strings.Trim(host, "[]"), otlpHTTPPort))
	if err != nil || u.Hostname() != strings.Trim(host, "[]") || u.Port() != otlpHTTPPort {
		return nil, bad
	}
	return u, nil
}

// endpointURL parses an OTEL_* endpoint: an absolute http(s) URL with a host, and no
// user information, query or fragment (the exporter would drop them silently).
func endpointURL(name, v string) (*url.URL, error) {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: is not a valid URL", name)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%s: must be an http or https URL (only OTLP over HTTP is built)", name)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%s: has no host", name)
	case u.User != nil:
		return nil, fmt.Errorf("%s: must not carry user information; send credentials with OTEL_EXPORTER_OTLP_HEADERS", name)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("%s: must not carry a query or fragment", name)
	}
	return u, nil
}

// withSignalPath is base with /v1/{signal} appended to its path.
func withSignalPath(base *url.URL, signal string) *url.URL {
	u := *base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/" + signal
	u.RawPath = ""
	return &u
}

// headers parses an OTEL_EXPORTER_OTLP_*HEADERS value. The error names the variable
// and counts the bad entries; it never repeats a value, which is usually a credential.
func headers(name, v string) (map[string]string, error) {
	if v == "" {
		return nil, nil
	}
	kvs, bad := parseKeyValues(v)
	for _, kv := range kvs {
		if !validHeaderName(kv.key) || strings.ContainsAny(kv.value, "\r\n\x00") {
			bad++
		}
	}
	if bad > 0 {
		return nil, fmt.Errorf("%s: %d of its entries are not name=value with a valid header name (values are percent-encoded)", name, bad)
	}
	h := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		h[kv.key] = kv.value
	}
	return h, nil
}

// validHeaderName reports whether s is an HTTP header name (an RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 127 || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// ignoredDatadog lists which of DD_API_KEY and DD_SITE are set: Écluse never sends to
// Datadog's intake directly, only to a collector or Agent.
func ignoredDatadog(getenv func(string) (string, bool)) []string {
	var set []string
	for _, name := range []string{"DD_API_KEY", "DD_SITE"} {
		if lookup(getenv, name) != "" {
			set = append(set, name)
		}
	}
	return set
}
