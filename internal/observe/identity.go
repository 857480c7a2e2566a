package observe

import (
	"net/url"
	"os"
	"slices"
	"strings"
)

// DefaultService is the service name used when neither DD_SERVICE, OTEL_SERVICE_NAME
// nor a service.name resource attribute is set.
const DefaultService = "ecluse"

// Identity is the resolved service identity. The same three values stamp the
// OpenTelemetry resource of traces and metrics and the dd object of every log line.
type Identity struct {
	// Service is the service name. Empty is logged as empty and exported as
	// DefaultService; ResolveIdentity never returns it empty.
	Service string
	// Env is the deployment environment. Empty means none: the dd object carries
	// "env":"" and the resource has no environment attribute.
	Env string
	// Version is the service version. Empty is logged as empty and exported without a
	// service.version attribute.
	Version string
}

// Resource attribute keys of the identity (OpenTelemetry semantic conventions).
const (
	attrServiceName         = "service.name"
	attrServiceVersion      = "service.version"
	attrDeploymentEnv       = "deployment.environment.name"
	attrDeploymentEnvLegacy = "deployment.environment"
)

// ResolveIdentity resolves the service identity field by field: DD_SERVICE, DD_ENV and
// DD_VERSION where set; else OTEL_SERVICE_NAME and the service.name,
// deployment.environment.name (or the older deployment.environment) and service.version
// entries of OTEL_RESOURCE_ATTRIBUTES; else DefaultService, no environment, and
// buildVersion. A nil getenv means os.LookupEnv. Values are trimmed; a variable set to
// blanks counts as unset.
func ResolveIdentity(getenv func(string) (string, bool), buildVersion string) Identity {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	attrs, _ := parseKeyValues(lookup(getenv, "OTEL_RESOURCE_ATTRIBUTES"))
	attr := func(key string) string {
		for _, kv := range attrs {
			if kv.key == key {
				return kv.value
			}
		}
		return ""
	}
	return Identity{
		Service: first(lookup(getenv, "DD_SERVICE"), lookup(getenv, "OTEL_SERVICE_NAME"), attr(attrServiceName), DefaultService),
		Env:     first(lookup(getenv, "DD_ENV"), attr(attrDeploymentEnv), attr(attrDeploymentEnvLegacy)),
		Version: first(lookup(getenv, "DD_VERSION"), attr(attrServiceVersion), strings.TrimSpace(buildVersion)),
	}
}

// lookup returns a variable's value with surrounding space removed; unset and blank
// are the same.
func lookup(getenv func(string) (string, bool), name string) string {
	v, ok := getenv(name)
	if !ok {
		return ""
	}
	return strings.TrimSpace(v)
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// keyValue is one entry of a key=value list.
type keyValue struct{ key, value string }

// parseKeyValues parses the list format of OTEL_RESOURCE_ATTRIBUTES and
// OTEL_EXPORTER_OTLP_HEADERS: comma-separated key=value entries, values
// percent-decoded, space around keys and values ignored, empty entries skipped. It
// returns the well-formed entries in order and how many entries were not; a later
// entry with the same key wins. It never returns a value in an error, since header
// values are credentials.
func parseKeyValues(s string) ([]keyValue, int) {
	var out []keyValue
	bad := 0
	for _, entry := range strings.Split(s, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		k, v, ok := strings.Cut(entry, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			bad++
			continue
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			bad++
			continue
		}
		if i := slices.IndexFunc(out, func(kv keyValue) bool { return kv.key == k }); i >= 0 {
			out[i].value = dv // a later entry with the same key wins
			continue
		}
		out = append(out, keyValue{key: k, value: dv})
	}
	return out, bad
}
