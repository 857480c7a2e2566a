package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is the smallest valid environment.
func base() map[string]string {
	return map[string]string{
		"PRIVATE_UPSTREAM_URL":  "http://private.example.test:4874/",
		"PUBLIC_UPSTREAM_URL":   "https://public.example.test/",
		"MIRROR_QUEUE_PROVIDER": "memory",
	}
}

func env(over map[string]string) func(string) (string, bool) {
	m := base()
	for k, v := range over {
		if v == "<unset>" {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadDefaults(t *testing.T) {
	c, problems := Load(Source{Getenv: env(nil)})
	if len(problems) > 0 {
		t.Fatalf("Load(base) problems = %v, want none", problems)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Port", c.Port, 4873},
		{"LogFormat", c.LogFormat, "json"},
		{"MaxResponseBytes", c.MaxResponseBytes, int64(67108864)},
		{"MaxInflightBytes", c.MaxInflightBytes, int64(134217728)},
		{"MaxTarballBytes", c.MaxTarballBytes, int64(1073741824)},
		{"MaxSpoolBytes", c.MaxSpoolBytes, int64(4294967296)},
		{"MaxDistTagCount", c.MaxDistTagCount, 10000},
		{"MaxVersionCount", c.MaxVersionCount, 100000},
		{"MaxNestingDepth", c.MaxNestingDepth, 64},
		{"MinPublicIntegrity", c.MinPublicIntegrity, "sha256"},
		{"CVESyncInterval", c.CVESyncInterval, time.Hour},
		{"MemoryMaxDepth", c.Mirror.MemoryMaxDepth, 50000},
		{"CredentialProvider", c.Mirror.CredentialProvider, "static"},
		{"MirrorTarget", c.Mirror.TargetURL.String(), "http://private.example.test:4874/"},
		{"CredentialStrategy", c.CredentialStrategy, "passthrough"},
		{"CacheTTL", c.CacheTTL, 5 * time.Minute},
		{"AuthToken set", c.AuthToken.IsSet(), false},
		{"RespectUpstreamTarballHost", c.RespectUpstreamTarballHost, false},
		{"Telemetry", c.Telemetry, false},
		{"Metrics", c.Metrics, "off"},
		{"MetricsPort", c.MetricsPort, 9464},
		{"MetricsAddr", c.MetricsAddr(), ":9464"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // each a substring of one problem line
	}{
		{"private required", map[string]string{"PRIVATE_UPSTREAM_URL": "<unset>"}, []string{"PRIVATE_UPSTREAM_URL: is required"}},
		{"public required says how", map[string]string{"PUBLIC_UPSTREAM_URL": "<unset>"}, []string{"PUBLIC_UPSTREAM_URL: is required", "npm config get registry"}},
		{"ftp url", map[string]string{"PRIVATE_UPSTREAM_URL": "ftp://x.example.test/"}, []string{`PRIVATE_UPSTREAM_URL: must be an http or https URL, got scheme "ftp"`}},
		{"userinfo", map[string]string{"PUBLIC_UPSTREAM_URL": "https://user:hunter2@x.example.test/"}, []string{"PUBLIC_UPSTREAM_URL: must not carry user information"}},
		{"no host", map[string]string{"PROXY_PUBLIC_URL": "http:///path"}, []string{"PROXY_PUBLIC_URL: has no host"}},
		{"relative", map[string]string{"MIRROR_TARGET_URL": "/just/a/path"}, []string{"MIRROR_TARGET_URL: must be an http or https URL"}},
		{"bad port in url", map[string]string{"PRIVATE_UPSTREAM_URL": "http://x.example.test:99999/"}, []string{"PRIVATE_UPSTREAM_URL: "}},
		{"port zero", map[string]string{"PROXY_PORT": "0"}, []string{"PROXY_PORT: must be a port number"}},
		{"port text", map[string]string{"PROXY_PORT": "http"}, []string{"PROXY_PORT: must be a port number"}},
		{"negative bytes", map[string]string{"PROXY_MAX_RESPONSE_BYTES": "-5"}, []string{`PROXY_MAX_RESPONSE_BYTES: must be a positive integer, got "-5"`}},
		{"document bound over 1 GiB", map[string]string{"PROXY_MAX_RESPONSE_BYTES": "9223372036854775807"}, []string{`PROXY_MAX_RESPONSE_BYTES: must be at most 1073741824`}},
		{"escaped slash ends the path", map[string]string{"PROXY_PUBLIC_URL": "http://ecluse.example.test/npm%2F"}, []string{`PROXY_PUBLIC_URL: has a path ending in an escaped slash`}},
		{"zero in-flight budget", map[string]string{"PROXY_MAX_INFLIGHT_BYTES": "0"}, []string{`PROXY_MAX_INFLIGHT_BYTES: must be a positive integer, got "0"`}},
		{"zero versions", map[string]string{"PROXY_MAX_VERSION_COUNT": "0"}, []string{"PROXY_MAX_VERSION_COUNT: must be a positive integer"}},
		{"depth text", map[string]string{"PROXY_MAX_NESTING_DEPTH": "deep"}, []string{"PROXY_MAX_NESTING_DEPTH: must be a positive integer"}},
		{"cve interval", map[string]string{"CVE_SYNC_INTERVAL_SECONDS": "1.5"}, []string{"CVE_SYNC_INTERVAL_SECONDS: must be a positive integer"}},
		{"memory depth", map[string]string{"MIRROR_QUEUE_MEMORY_MAX_DEPTH": "-1"}, []string{"MIRROR_QUEUE_MEMORY_MAX_DEPTH: must be a positive integer"}},
		{"log format", map[string]string{"PROXY_LOG_FORMAT": "xml"}, []string{`PROXY_LOG_FORMAT: unknown value "xml"`}},
		{"queue provider", map[string]string{"MIRROR_QUEUE_PROVIDER": "kafka"}, []string{`MIRROR_QUEUE_PROVIDER: unknown value "kafka"`}},
		{"credential provider", map[string]string{"MIRROR_TARGET_CREDENTIAL_PROVIDER": "vault"}, []string{`MIRROR_TARGET_CREDENTIAL_PROVIDER: unknown value "vault"`}},
		{"sha1 floor", map[string]string{"PROXY_MIN_PUBLIC_INTEGRITY": "sha1"}, []string{"PROXY_MIN_PUBLIC_INTEGRITY: sha1 is below the SHA-256 floor"}},
		{"md5 floor", map[string]string{"PROXY_MIN_PUBLIC_INTEGRITY": "MD5"}, []string{"PROXY_MIN_PUBLIC_INTEGRITY: md5 is below"}},
		{"unknown floor", map[string]string{"PROXY_MIN_PUBLIC_INTEGRITY": "crc32"}, []string{`PROXY_MIN_PUBLIC_INTEGRITY: unknown algorithm "crc32"`}},
		{"sqs without url", map[string]string{"MIRROR_QUEUE_PROVIDER": "sqs"}, []string{"MIRROR_QUEUE_URL: is required when MIRROR_QUEUE_PROVIDER=sqs"}},
		{"default queue is sqs", map[string]string{"MIRROR_QUEUE_PROVIDER": "<unset>"}, []string{"MIRROR_QUEUE_URL: is required when MIRROR_QUEUE_PROVIDER=sqs"}},
		{"pubsub without url", map[string]string{"MIRROR_QUEUE_PROVIDER": "pubsub"}, []string{"MIRROR_QUEUE_URL: is required when MIRROR_QUEUE_PROVIDER=pubsub"}},
		{"pubsub bad topic", map[string]string{"MIRROR_QUEUE_PROVIDER": "pubsub", "MIRROR_QUEUE_URL": "my-topic"}, []string{"MIRROR_QUEUE_URL: must look like projects/"}},
		{"codeartifact owner", map[string]string{"MIRROR_TARGET_CREDENTIAL_PROVIDER": "codeartifact", "MIRROR_TARGET_CODEARTIFACT_DOMAIN": "d", "MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER": "12345", "AWS_REGION": "eu-west-1"}, []string{`MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER: must be a 12-digit AWS account id, got "12345"`}},
		{"codeartifact owner from host", map[string]string{"MIRROR_TARGET_CREDENTIAL_PROVIDER": "codeartifact", "MIRROR_TARGET_URL": "https://corp-abc.d.codeartifact.eu-west-1.amazonaws.com/npm/repo/"}, []string{`MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER: must be a 12-digit AWS account id, got "abc"`}},
		{"codeartifact missing", map[string]string{"MIRROR_TARGET_CREDENTIAL_PROVIDER": "codeartifact"}, []string{"MIRROR_TARGET_CODEARTIFACT_DOMAIN: is required", "MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER: is required", "MIRROR_TARGET_CODEARTIFACT_REGION: is required"}},
		{"bool", map[string]string{"PROXY_RESPECT_UPSTREAM_TARBALL_HOST": "maybe"}, []string{"PROXY_RESPECT_UPSTREAM_TARBALL_HOST: must be true or false"}},
		{"telemetry", map[string]string{"PROXY_TELEMETRY": "yes"}, []string{`PROXY_TELEMETRY: unknown value "yes"`}},
		{"metrics", map[string]string{"PROXY_METRICS": "otlp"}, []string{`PROXY_METRICS: unknown value "otlp" (want one of: off, prometheus)`}},
		{"metrics port zero", map[string]string{"PROXY_METRICS_PORT": "0"}, []string{`PROXY_METRICS_PORT: must be a port number between 1 and 65535, got "0"`}},
		{"metrics port too big", map[string]string{"PROXY_METRICS_PORT": "65536"}, []string{`PROXY_METRICS_PORT: must be a port number between 1 and 65535, got "65536"`}},
		{"metrics port text", map[string]string{"PROXY_METRICS_PORT": "metrics"}, []string{`PROXY_METRICS_PORT: must be a port number`}},
		{"metrics port is the front door's", map[string]string{"PROXY_METRICS": "prometheus", "PROXY_METRICS_PORT": "4873"}, []string{"PROXY_METRICS_PORT: must differ from PROXY_PORT (4873)"}},
		{"front door moved onto the metrics port", map[string]string{"PROXY_METRICS": "prometheus", "PROXY_PORT": "9464"}, []string{"PROXY_METRICS_PORT: must differ from PROXY_PORT (9464)"}},
		{"egress host", map[string]string{"PROXY_EGRESS_ALLOWED_HOSTS": "ok.example.test, ok.example.test:8443, https://ok.example.test:8443/, https://bad.example.test/path"}, []string{`PROXY_EGRESS_ALLOWED_HOSTS: "https://bad.example.test/path" must be a host name, host:port or scheme://host[:port]`}},
		{"egress port", map[string]string{"PROXY_EGRESS_ALLOWED_HOSTS": "bad.example.test:0, bad.example.test:08443, bad.example.test:99999"}, []string{`"bad.example.test:0" has port "0"`, `"bad.example.test:08443" has port "08443"`, `"bad.example.test:99999" has port "99999"`}},
		{"egress cidr", map[string]string{"PROXY_EGRESS_ALLOW_INTERNAL_CIDRS": "10.0.0.0/8,10.0.0.1"}, []string{`PROXY_EGRESS_ALLOW_INTERNAL_CIDRS: "10.0.0.1" is not a CIDR`}},
		{"identity header", map[string]string{"PROXY_TRUSTED_IDENTITY_HEADER": "Authorization"}, []string{"PROXY_TRUSTED_IDENTITY_HEADER: \"Authorization\" is a standard header"}},
		{"identity header chars", map[string]string{"PROXY_TRUSTED_IDENTITY_HEADER": "X User"}, []string{"PROXY_TRUSTED_IDENTITY_HEADER: \"X User\" is not a valid HTTP header name"}},
		{"sqs endpoint", map[string]string{"AWS_ENDPOINT_URL": "localhost:4566"}, []string{"AWS_ENDPOINT_URL: "}},
		{"inline and file", map[string]string{"PROXY_CONFIG": "{}", "PROXY_CONFIG_FILE": "/nonexistent.json"}, []string{"PROXY_CONFIG: is set together with PROXY_CONFIG_FILE"}},
		{"missing file", map[string]string{"PROXY_CONFIG_FILE": "/nonexistent/ecluse.json"}, []string{"PROXY_CONFIG_FILE: cannot read the configuration document"}},
		{"doc not json", map[string]string{"PROXY_CONFIG": "{rules"}, []string{"PROXY_CONFIG: invalid JSON"}},
		{"doc unknown top key", map[string]string{"PROXY_CONFIG": `{"rulez":{}}`}, []string{`PROXY_CONFIG: unknown key "rulez"`}},
		{"doc unknown egress key", map[string]string{"PROXY_CONFIG": `{"egress":{"hosts":[]}}`}, []string{`PROXY_CONFIG: unknown key "hosts"`}},
		{"doc egress host", map[string]string{"PROXY_CONFIG": `{"egress":{"allowedHosts":["a b"]}}`}, []string{`egress.allowedHosts[0]: "a b" must be a host name, host:port or scheme://host[:port]`}},
		{"doc strategy", map[string]string{"PROXY_CONFIG": `{"credentialStrategy":"magic"}`}, []string{`credentialStrategy: unknown value "magic"`}},
		{"service needs token", map[string]string{"PROXY_CONFIG": `{"credentialStrategy":"service"}`}, []string{"PRIVATE_UPSTREAM_TOKEN: is required when credentialStrategy is service"}},
		{"doc internal pattern", map[string]string{"PROXY_CONFIG": `{"internal":["@corp/*","bad name"]}`}, []string{`internal[1]: "bad name" is not a package name pattern`}},
		{"doc mount unknown key", map[string]string{"PROXY_CONFIG": `{"mounts":{"npm":{"path":"/","color":"red"}}}`}, []string{`mounts.npm: unknown key "color"`}},
		{"doc mount path", map[string]string{"PROXY_CONFIG": `{"mounts":{"npm":{"path":"npm"}}}`}, []string{`mounts.npm.path: must start with /`}},
		{"doc mount ecosystem reserved", map[string]string{"PROXY_CONFIG": `{"mounts":{"rs":{"path":"/rs","ecosystem":"cargo","publicUpstreamUrl":"https://rs.example.test/"}}}`}, []string{`mounts.rs.ecosystem: ecosystem "cargo" is reserved`}},
		{"doc filesUpstreamUrl on an npm mount", map[string]string{"PROXY_CONFIG": `{"mounts":{"n":{"path":"/n/","filesUpstreamUrl":"https://files.example.test/"}}}`}, []string{`mounts.n.filesUpstreamUrl: applies to pypi mounts only`}},
		{"doc mount ecosystem unknown", map[string]string{"PROXY_CONFIG": `{"mounts":{"x":{"path":"/x","ecosystem":"conda"}}}`}, []string{`mounts.x.ecosystem: unknown ecosystem "conda"`}},
		{"doc mount go needs public url", map[string]string{"PROXY_CONFIG": `{"mounts":{"go":{"path":"/go/","ecosystem":"go"}}}`}, []string{`mounts.go.publicUpstreamUrl: is required for a go mount`}},
		{"doc mount same path", map[string]string{"PROXY_CONFIG": `{"mounts":{"a":{"path":"/x"},"b":{"path":"/x/"}}}`}, []string{`mounts.b.path: "/x/" is already the path of mounts.a`}},
		{"doc mount nested path", map[string]string{"PROXY_CONFIG": `{"mounts":{"a":{"path":"/x/"},"b":{"path":"/x/y/"}}}`}, []string{`mounts.b.path: "/x/y/" lies inside mounts.a's path "/x/"`}},
		{"doc mount dotdot", map[string]string{"PROXY_CONFIG": `{"mounts":{"a":{"path":"/x/../y/"}}}`}, []string{`mounts.a.path: "/x/../y/" has an empty`}},
		{"doc mount reserved path", map[string]string{"PROXY_CONFIG": `{"mounts":{"a":{"path":"/-/go/"}}}`}, []string{`mounts.a.path: "/-/go/" is under /-/`}},
		{"doc mount unresolved policy", map[string]string{"PROXY_CONFIG": `{"policies":{"strict":{}},"mounts":{"npm":{"path":"/","policy":"lax"}}}`}, []string{`mounts.npm.policy: unresolved policy reference "lax" (defined in policies: strict)`}},
		{"doc mount sumdb on npm", map[string]string{"PROXY_CONFIG": `{"mounts":{"npm":{"path":"/","checksumDatabase":{}}}}`}, []string{`mounts.npm.checksumDatabase: applies to go mounts only`}},
		{"doc mount sumdb key", map[string]string{"PROXY_CONFIG": `{"mounts":{"go":{"path":"/go/","ecosystem":"go","publicUpstreamUrl":"https://go.example.test/","checksumDatabase":{"key":"nope"}}}}`}, []string{`mounts.go.checksumDatabase.key: is not a verifier key`}},
		{"doc mount url", map[string]string{"PROXY_CONFIG": `{"mounts":{"npm":{"path":"/","privateUpstreamUrl":"ftp://x"}}}`}, []string{`mounts.npm.privateUpstreamUrl: must be an http or https URL`}},
		{"duration overflow", map[string]string{"PROXY_SHUTDOWN_GRACE_SECONDS": "9300000000"}, []string{"PROXY_SHUTDOWN_GRACE_SECONDS: must be at most"}},
		{"debug bool", map[string]string{"PROXY_DEBUG": "yes please"}, []string{"PROXY_DEBUG: must be true or false"}},
		{"pubsub needs a subscription", map[string]string{"MIRROR_QUEUE_PROVIDER": "pubsub", "MIRROR_QUEUE_URL": "projects/my-proj/topics/mirror"}, []string{"MIRROR_QUEUE_SUBSCRIPTION: is required when MIRROR_QUEUE_PROVIDER=pubsub"}},
		{"pubsub bad subscription", map[string]string{"MIRROR_QUEUE_PROVIDER": "pubsub", "MIRROR_QUEUE_URL": "projects/my-proj/topics/mirror", "MIRROR_QUEUE_SUBSCRIPTION": "projects/x/topics/y"}, []string{"MIRROR_QUEUE_SUBSCRIPTION: must be a subscription name"}},
		{"nats url", map[string]string{"MIRROR_QUEUE_PROVIDER": "nats", "NATS_URL": "http://nats.example.test:4222"}, []string{"NATS_URL: must be a nats:// or tls:// URL"}},
		{"nats url credentials", map[string]string{"MIRROR_QUEUE_PROVIDER": "nats", "NATS_URL": "nats://u:p@nats.example.test:4222"}, []string{"NATS_URL: must not carry credentials"}},
		{"worker concurrency", map[string]string{"MIRROR_WORKER_CONCURRENCY": "0"}, []string{"MIRROR_WORKER_CONCURRENCY:"}},
		{"mount service needs token", map[string]string{"PROXY_CONFIG": `{"mounts":{"npm":{"path":"/","credentialStrategy":"service"}}}`}, []string{"PRIVATE_UPSTREAM_TOKEN: is required when credentialStrategy is service"}},
		{"doc trailing", map[string]string{"PROXY_CONFIG": `{} {}`}, []string{"PROXY_CONFIG: unexpected data after the JSON document"}},
		{"doc empty object list", map[string]string{"PROXY_CONFIG": `[]`}, []string{"PROXY_CONFIG: (document): expected"}},
		{"all together", map[string]string{"PRIVATE_UPSTREAM_URL": "ftp://x/", "PROXY_MAX_RESPONSE_BYTES": "-5", "PROXY_LOG_FORMAT": "xml"}, []string{"PRIVATE_UPSTREAM_URL:", "PROXY_MAX_RESPONSE_BYTES:", "PROXY_LOG_FORMAT:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := Load(Source{Getenv: env(tt.env)})
			msg := problems.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Load(%v) problems =\n%s\nwant a line containing %q", tt.env, msg, w)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("problems leak the URL password: %s", msg)
			}
		})
	}
}

func TestLoadValues(t *testing.T) {
	c, problems := Load(Source{Getenv: env(map[string]string{
		"PROXY_PORT":                                        "8080",
		"PROXY_AUTH_TOKEN":                                  "tok",
		"PROXY_PUBLIC_URL":                                  "https://registry.example.test",
		"PROXY_EGRESS_ALLOWED_HOSTS":                        "Files.Example.Test, cdn.example.test",
		"PROXY_EGRESS_ALLOW_INTERNAL_CIDRS":                 "10.1.2.3/16",
		"PROXY_MIN_PUBLIC_INTEGRITY":                        "SHA512",
		"PROXY_RESPECT_UPSTREAM_TARBALL_HOST":               "true",
		"MIRROR_TARGET_CREDENTIAL_PROVIDER":                 "codeartifact",
		"MIRROR_TARGET_URL":                                 "https://corp-123456789012.d.codeartifact.eu-west-1.amazonaws.com/npm/repo/",
		"MIRROR_TARGET_CODEARTIFACT_TOKEN_DURATION_SECONDS": "99999",
		"PROXY_CONFIG":                                      `{"egress":{"allowedHosts":["extra.example.test"]},"internal":["@corp/*"]}`,
	})})
	if len(problems) > 0 {
		t.Fatalf("problems = %v", problems)
	}
	if c.Port != 8080 || !c.AuthToken.Equal("tok") || c.PublicURL.String() != "https://registry.example.test/" {
		t.Errorf("port/token/public url = %d %v %s", c.Port, c.AuthToken, c.PublicURL)
	}
	if got := strings.Join(c.EgressAllowedHosts, ","); got != "files.example.test,cdn.example.test,extra.example.test" {
		t.Errorf("EgressAllowedHosts = %s", got)
	}
	if c.EgressAllowInternal[0].String() != "10.1.0.0/16" {
		t.Errorf("EgressAllowInternal = %v", c.EgressAllowInternal)
	}
	if c.MinPublicIntegrity != "sha512" || !c.RespectUpstreamTarballHost {
		t.Errorf("floor/respect = %s %v", c.MinPublicIntegrity, c.RespectUpstreamTarballHost)
	}
	ca := c.Mirror.CodeArtifact
	if ca.Domain != "corp" || ca.DomainOwner != "123456789012" || ca.Region != "eu-west-1" || ca.TokenDuration != 12*time.Hour {
		t.Errorf("CodeArtifact = %+v", ca)
	}
	if c.DocumentSource != "PROXY_CONFIG" || len(c.Internal) != 1 {
		t.Errorf("document = %q %v", c.DocumentSource, c.Internal)
	}
}

func TestLoadDocumentFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ecluse.json")
	doc := `{"rules":{"min-age":{"ageSeconds":1209600},"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200},"old":null}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, problems := Load(Source{Getenv: env(nil), ConfigPath: path})
	if len(problems) > 0 {
		t.Fatalf("problems = %v", problems)
	}
	// The rules stay raw: their schema is internal/policy's.
	if got := string(c.Document.Rules); !strings.Contains(got, `"deny-scripts"`) || !strings.Contains(got, `"old":null`) {
		t.Errorf("Document.Rules = %s", got)
	}
	if len(c.Mounts) != 1 || c.Mounts[0].Path != "/" || c.Mounts[0].RulesPath != "rules" || string(c.Mounts[0].Rules) != string(c.Document.Rules) {
		t.Errorf("Mounts = %+v, want one npm mount at / with the top-level rules", c.Mounts)
	}
	_, problems = Load(Source{Getenv: env(map[string]string{"PROXY_CONFIG": "{}"}), ConfigPath: path})
	if !strings.Contains(problems.Error(), "PROXY_CONFIG: is set together with --config") {
		t.Errorf("both sources: problems = %v", problems)
	}
}

func TestRulesMustBeAnObject(t *testing.T) {
	for _, doc := range []string{`{"rules":[]}`, `{"rules":"x"}`, `{"policies":{"p":{"rules":1}}}`, `{"policies":{"p":{"rulez":{}}}}`} {
		if _, err := ParseDocument([]byte(doc)); err == nil {
			t.Errorf("ParseDocument(%s) = nil error, want one", doc)
		}
	}
	for _, doc := range []string{`{"rules":null}`, `{"rules":{}}`, `{"policies":{"p":{}}}`} {
		if _, err := ParseDocument([]byte(doc)); err != nil {
			t.Errorf("ParseDocument(%s) = %v", doc, err)
		}
	}
	if _, err := ParseDocument([]byte(`   `)); err == nil {
		t.Error("empty document accepted")
	}
	var ps Problems
	if errors.As(error(Problems{{Path: "a", Message: "b"}}), &ps) && ps.Error() != "a: b" {
		t.Errorf("Problems.Error() = %q", ps.Error())
	}
}

func TestMountSettingsApply(t *testing.T) {
	c, problems := Load(Source{Getenv: env(map[string]string{
		"PRIVATE_UPSTREAM_TOKEN": "svc",
		"PROXY_CONFIG": `{"internal":["top-*"],"mounts":{"npm":{"path":"/","internal":["@corp/*"],"credentialStrategy":"service",
			"privateUpstreamUrl":"http://other.example.test/","publicUpstreamUrl":"https://mirror.example.test/npm/"}}}`,
	})})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if len(c.Internal) != 1 || c.Internal[0] != "@corp/*" {
		t.Errorf("Internal = %v, want the mount's", c.Internal)
	}
	if c.CredentialStrategy != StrategyService {
		t.Errorf("CredentialStrategy = %s, want the mount's", c.CredentialStrategy)
	}
	if c.PrivateUpstream.String() != "http://other.example.test/" || c.Mirror.TargetURL.String() != "http://other.example.test/" {
		t.Errorf("private %s mirror %s, want both the mount's", c.PrivateUpstream, c.Mirror.TargetURL)
	}
	if c.PublicUpstream.String() != "https://mirror.example.test/npm/" {
		t.Errorf("public = %s", c.PublicUpstream)
	}
}

func TestMountsResolve(t *testing.T) {
	c, problems := Load(Source{Getenv: env(map[string]string{
		"PRIVATE_UPSTREAM_URL": "http://private.example.test/",
		"PROXY_CONFIG": `{"internal":["@corp/*"],"rules":{"min-age":{"ageSeconds":60}},
			"policies":{"gopol":{"rules":{"min-age":{"ageSeconds":120}}}},
			"mounts":{"npm":{"path":"/"},
				"go":{"path":"/go","ecosystem":"go","publicUpstreamUrl":"https://goproxy.example.test/","internal":["corp.example.com/**"],"policy":"gopol",
					"checksumDatabase":{"key":"db.example.test+01234567+AAAA"}}}}`,
	})})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if len(c.Mounts) != 2 {
		t.Fatalf("Mounts = %+v, want 2", c.Mounts)
	}
	npmM, goM := c.Mounts[0], c.Mounts[1]
	if npmM.Path != "/" || npmM.Ecosystem != EcosystemNPM || npmM.PrivateUpstream.String() != "http://private.example.test/" ||
		npmM.PublicUpstream.String() != "https://public.example.test/" || npmM.RulesPath != "rules" || len(npmM.Internal) != 1 {
		t.Errorf("npm mount = %+v", npmM)
	}
	if goM.Path != "/go/" || goM.Ecosystem != EcosystemGo || goM.PrivateUpstream != nil ||
		goM.PublicUpstream.String() != "https://goproxy.example.test/" || goM.RulesPath != "policies.gopol.rules" ||
		!strings.Contains(string(goM.Rules), "120") || goM.ChecksumDatabase.Key != "db.example.test+01234567+AAAA" ||
		len(goM.Internal) != 1 || goM.Internal[0] != "corp.example.com/**" || goM.InternalPath != "mounts.go.internal" {
		t.Errorf("go mount = %+v", goM)
	}
}

func TestEnvironmentDescribesOneNPMMount(t *testing.T) {
	c, problems := Load(Source{Getenv: env(nil)})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if len(c.Mounts) != 1 || c.Mounts[0].Path != "/" || c.Mounts[0].Ecosystem != EcosystemNPM || c.Mounts[0].PublicUpstream != c.PublicUpstream {
		t.Errorf("Mounts = %+v", c.Mounts)
	}
}

// TestLoadMetrics: PROXY_METRICS and PROXY_METRICS_PORT, alone and with the front door's
// port, as Load resolves them and as check-config prints them.
func TestLoadMetrics(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		telemetry bool
		metrics   string
		port      int
	}{
		{"defaults", nil, false, MetricsOff, 9464},
		{"prometheus on the default port", map[string]string{"PROXY_METRICS": "prometheus"}, false, MetricsPrometheus, 9464},
		{"prometheus on its own port", map[string]string{"PROXY_METRICS": " prometheus ", "PROXY_METRICS_PORT": "9100"}, false, MetricsPrometheus, 9100},
		{"explicitly off", map[string]string{"PROXY_METRICS": "off"}, false, MetricsOff, 9464},
		{"off, so the port may equal the front door's", map[string]string{"PROXY_METRICS_PORT": "4873"}, false, MetricsOff, 4873},
		{"independent of telemetry", map[string]string{"PROXY_TELEMETRY": "on", "PROXY_METRICS": "prometheus"}, true, MetricsPrometheus, 9464},
		{"telemetry without prometheus", map[string]string{"PROXY_TELEMETRY": "on"}, true, MetricsOff, 9464},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, problems := Load(Source{Getenv: env(tt.env)})
			if len(problems) > 0 {
				t.Fatalf("Load(%v) problems = %v, want none", tt.env, problems)
			}
			if c.Telemetry != tt.telemetry || c.Metrics != tt.metrics || c.MetricsPort != tt.port {
				t.Errorf("Load(%v) = telemetry %v metrics %q port %d, want %v %q %d", tt.env, c.Telemetry, c.Metrics, c.MetricsPort, tt.telemetry, tt.metrics, tt.port)
			}
			e := c.Effective()
			if e.Telemetry != tt.telemetry || e.Metrics != tt.metrics || e.MetricsPort != tt.port {
				t.Errorf("Effective() = telemetry %v metrics %q port %d, want %v %q %d", e.Telemetry, e.Metrics, e.MetricsPort, tt.telemetry, tt.metrics, tt.port)
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf(`"PROXY_METRICS":%q,"PROXY_METRICS_PORT":%d`, tt.metrics, tt.port)
			if !strings.Contains(string(b), want) {
				t.Errorf("check-config JSON = %s, want it to hold %s", b, want)
			}
		})
	}
}

// TestSigningSetting: the document's "signing", top level and per mount, as Load
// resolves it for each mount and as check-config prints it.
func TestSigningSetting(t *testing.T) {
	const goMount = `"go":{"path":"/go/","ecosystem":"go","publicUpstreamUrl":"https://go.example.test/"`
	const pypiMount = `"py":{"path":"/pypi/","ecosystem":"pypi","publicUpstreamUrl":"https://pypi.example.test/"`
	const keyFile = "/keys/ecluse.pem"
	tests := []struct {
		name    string
		doc     string // PROXY_CONFIG; empty means unset
		keyFile string // PROXY_SIGNING_KEY_FILE; empty means unset
		top     string // the top-level value, when there is no problem
		mounts  map[string]string
		want    []string // substrings, one per problem; empty means none
	}{
		{name: "default off without a document", top: "off", mounts: map[string]string{"npm": "off"}},
		{name: "default off when absent", doc: `{"internal":["@corp/*"]}`, top: "off", mounts: map[string]string{"npm": "off"}},
		{name: "null is absent", doc: `{"signing":null,"mounts":{"web":{"path":"/","signing":null}}}`, top: "off", mounts: map[string]string{"web": "off"}},
		{name: "top level warn", doc: `{"signing":"warn"}`, top: "warn", mounts: map[string]string{"npm": "warn"}},
		{name: "top level internal with a key", doc: `{"signing":"internal"}`, keyFile: keyFile, top: "internal", mounts: map[string]string{"npm": "internal"}},
		{name: "top level all with a key", doc: `{"signing":"all"}`, keyFile: keyFile, top: "all", mounts: map[string]string{"npm": "all"}},
		{name: "explicitly off", doc: `{"signing":"off"}`, top: "off", mounts: map[string]string{"npm": "off"}},
		{name: "mounts inherit or override", keyFile: keyFile,
			doc: `{"signing":"warn","mounts":{"a":{"path":"/a/"},"b":{"path":"/b/","signing":"internal"},"c":{"path":"/c/","signing":"off"},"d":{"path":"/d/","signing":"all"}}}`,
			top: "warn", mounts: map[string]string{"a": "warn", "b": "internal", "c": "off", "d": "all"}},
		{name: "a mount turns it off", doc: `{"signing":"all","mounts":{"web":{"path":"/","signing":"off"}}}`, keyFile: keyFile,
			top: "all", mounts: map[string]string{"web": "off"}},
		{name: "top level not applied to go or pypi", doc: `{"signing":"all","mounts":{"npm":{"path":"/"},` + goMount + `},` + pypiMount + `}}}`, keyFile: keyFile,
			top: "all", mounts: map[string]string{"npm": "all", "go": "off", "py": "off"}},
		{name: "top level internal with only a go mount needs no key", doc: `{"signing":"internal","mounts":{` + goMount + `}}}`,
			top: "internal", mounts: map[string]string{"go": "off"}},
		{name: "off on a go mount", doc: `{"mounts":{` + goMount + `,"signing":"off"}}}`, top: "off", mounts: map[string]string{"go": "off"}},
		{name: "warn without a key file", doc: `{"mounts":{"web":{"path":"/","signing":"warn"}}}`, top: "off", mounts: map[string]string{"web": "warn"}},
		{name: "go mount", doc: `{"mounts":{` + goMount + `,"signing":"warn"}}}`,
			want: []string{`mounts.go.signing: applies to npm mounts only (this is a go mount): remove it or set it to off`}},
		{name: "pypi mount", doc: `{"mounts":{` + pypiMount + `,"signing":"all"}}}`, keyFile: keyFile,
			want: []string{`mounts.py.signing: applies to npm mounts only (this is a pypi mount)`}},
		{name: "unknown top-level value", doc: `{"signing":"strict"}`,
			want: []string{`signing: unknown value "strict" (want off, warn, internal or all)`}},
		{name: "values are exact", doc: `{"mounts":{"web":{"path":"/","signing":"ALL"}}}`, keyFile: keyFile,
			want: []string{`mounts.web.signing: unknown value "ALL" (want off, warn, internal or all)`}},
		{name: "unknown value on a go mount", doc: `{"mounts":{` + goMount + `,"signing":"on"}}}`,
			want: []string{`mounts.go.signing: unknown value "on" (want off, warn, internal or all)`}},
		{name: "not a string", doc: `{"signing":true}`,
			want: []string{`signing: expected "off", "warn", "internal" or "all", got true`}},
		{name: "not a string on a mount", doc: `{"mounts":{"web":{"path":"/","signing":["all"]}}}`,
			want: []string{`mounts.web.signing: expected "off", "warn", "internal" or "all", got ["all"]`}},
		{name: "empty string", doc: `{"signing":""}`,
			want: []string{`signing: expected "off", "warn", "internal" or "all", got ""`}},
		{name: "internal without a key file", doc: `{"signing":"internal"}`,
			want: []string{`PROXY_SIGNING_KEY_FILE: is required when signing is "internal" (the npm mount at /): without a signing key no internal version carries a valid signature, so every one would be refused`}},
		{name: "all inherited without a key file", doc: `{"signing":"all","mounts":{"web":{"path":"/"}}}`,
			want: []string{`PROXY_SIGNING_KEY_FILE: is required when signing is "all" (inherited by mounts.web)`}},
		{name: "a mount's internal without a key file", doc: `{"signing":"warn","mounts":{"web":{"path":"/"},"corp":{"path":"/corp/","signing":"internal"}}}`,
			want: []string{`PROXY_SIGNING_KEY_FILE: is required when mounts.corp.signing is "internal"`}},
		{name: "a mount's all without a key file", doc: `{"mounts":{"web":{"path":"/","signing":"all"}}}`,
			want: []string{`PROXY_SIGNING_KEY_FILE: is required when mounts.web.signing is "all"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			over := map[string]string{}
			if tt.doc != "" {
				over["PROXY_CONFIG"] = tt.doc
			}
			if tt.keyFile != "" {
				over["PROXY_SIGNING_KEY_FILE"] = tt.keyFile
			}
			c, problems := Load(Source{Getenv: env(over)})
			if len(problems) != len(tt.want) {
				t.Fatalf("Load(%s) problems = %v, want %d", tt.doc, problems, len(tt.want))
			}
			for i, want := range tt.want {
				if got := problems[i].String(); !strings.Contains(got, want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, want)
				}
			}
			if len(tt.want) > 0 {
				return
			}
			got := map[string]string{}
			for _, m := range c.Mounts {
				got[m.Name] = m.Signing
			}
			if c.Signing != tt.top || !maps.Equal(got, tt.mounts) {
				t.Errorf("Signing = %q, mounts %v, want %q, %v", c.Signing, got, tt.top, tt.mounts)
			}
			b, err := json.Marshal(c.Effective())
			if err != nil {
				t.Fatal(err)
			}
			var eff struct {
				Signing *string `json:"signing"`
				Mounts  []struct {
					Name    string  `json:"name"`
					Signing *string `json:"signing"`
				} `json:"mounts"`
			}
			if err := json.Unmarshal(b, &eff); err != nil {
				t.Fatal(err)
			}
			shown := map[string]string{}
			for _, m := range eff.Mounts {
				if m.Signing != nil {
					shown[m.Name] = *m.Signing
				}
			}
			if eff.Signing == nil || *eff.Signing != tt.top || !maps.Equal(shown, tt.mounts) {
				t.Errorf("check-config shows signing %v, mounts %v; want %q, %v", eff.Signing, shown, tt.top, tt.mounts)
			}
		})
	}
}
