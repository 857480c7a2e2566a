package observe

import (
	"reflect"
	"testing"
)

// TestResolveIdentity: DD_* wins field by field over OTEL_*, which wins over the
// defaults; OTEL_SERVICE_NAME wins over the service.name resource attribute.
func TestResolveIdentity(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Identity
	}{
		{"nothing set", nil, Identity{Service: "ecluse", Version: "v1.0.0"}},
		{"datadog only", map[string]string{"DD_SERVICE": "proxy", "DD_ENV": "prod", "DD_VERSION": "2.0.0"},
			Identity{Service: "proxy", Env: "prod", Version: "2.0.0"}},
		{"otel only", map[string]string{"OTEL_SERVICE_NAME": "otel-proxy",
			"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging,service.version=3.0.0,team=infra"},
			Identity{Service: "otel-proxy", Env: "staging", Version: "3.0.0"}},
		{"service.name attribute", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=attr-proxy"},
			Identity{Service: "attr-proxy", Version: "v1.0.0"}},
		{"OTEL_SERVICE_NAME over service.name", map[string]string{"OTEL_SERVICE_NAME": "named", "OTEL_RESOURCE_ATTRIBUTES": "service.name=attr"},
			Identity{Service: "named", Version: "v1.0.0"}},
		{"older deployment.environment", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=qa"},
			Identity{Service: "ecluse", Env: "qa", Version: "v1.0.0"}},
		{"deployment.environment.name over the older key", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=old,deployment.environment.name=new"},
			Identity{Service: "ecluse", Env: "new", Version: "v1.0.0"}},
		{"both dialects: DD wins", map[string]string{
			"DD_SERVICE": "dd-svc", "DD_ENV": "dd-env", "DD_VERSION": "dd-ver",
			"OTEL_SERVICE_NAME": "otel-svc", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=otel-env,service.version=otel-ver"},
			Identity{Service: "dd-svc", Env: "dd-env", Version: "dd-ver"}},
		{"field by field: DD_ENV only", map[string]string{
			"DD_ENV": "dd-env", "OTEL_SERVICE_NAME": "otel-svc", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=otel-env,service.version=otel-ver"},
			Identity{Service: "otel-svc", Env: "dd-env", Version: "otel-ver"}},
		{"field by field: DD_SERVICE only", map[string]string{"DD_SERVICE": "dd-svc", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=otel-env"},
			Identity{Service: "dd-svc", Env: "otel-env", Version: "v1.0.0"}},
		{"blank counts as unset", map[string]string{"DD_SERVICE": "  ", "DD_VERSION": "", "OTEL_SERVICE_NAME": " otel-svc "},
			Identity{Service: "otel-svc", Version: "v1.0.0"}},
		{"percent-encoded attribute", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=eu%20west"},
			Identity{Service: "ecluse", Env: "eu west", Version: "v1.0.0"}},
		{"malformed entries are skipped", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "junk,=x,service.version=4.0.0,bad=%zz"},
			Identity{Service: "ecluse", Version: "4.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResolveIdentity(envMap(tt.env), "v1.0.0"); got != tt.want {
				t.Errorf("ResolveIdentity(%v) = %+v, want %+v", tt.env, got, tt.want)
			}
		})
	}
}

func TestParseKeyValues(t *testing.T) {
	tests := []struct {
		in   string
		want []keyValue
		bad  int
	}{
		{"", nil, 0},
		{"a=1", []keyValue{{"a", "1"}}, 0},
		{" a = 1 , b=2,", []keyValue{{"a", "1"}, {"b", "2"}}, 0},
		{"a=1,a=2", []keyValue{{"a", "2"}}, 0},
		{"k=a%3Db%2Cc", []keyValue{{"k", "a=b,c"}}, 0},
		{"k=", []keyValue{{"k", ""}}, 0},
		{"novalue,=x,k=%zz,ok=1", []keyValue{{"ok", "1"}}, 3},
	}
	for _, tt := range tests {
		got, bad := parseKeyValues(tt.in)
		if !reflect.DeepEqual(got, tt.want) || bad != tt.bad {
			t.Errorf("parseKeyValues(%q) = %v, %d, want %v, %d", tt.in, got, bad, tt.want, tt.bad)
		}
	}
}
