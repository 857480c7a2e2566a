package config

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// userinfoRefusal is ParseHTTPURL's whole message for a URL that carries credentials.
const userinfoRefusal = "must not carry user information (credentials go in their own variables)"

// FuzzParseHTTPURL feeds upstream and public URL settings to their parser. A URL with
// user information is always refused with a message that repeats none of it; any other
// refusal quotes at most the scheme or the port. An accepted URL is http(s) with a host,
// a port in range, no credentials, query or fragment, a path ending in "/", and it
// parses again to itself.
func FuzzParseHTTPURL(f *testing.F) {
	for _, s := range []string{
		"http://private.example.test:4874/", "https://public.example.test/", "ftp://x.example.test/",
		"https://user:hunter2@x.example.test/", "http:///path", "/just/a/path", "http://x.example.test:99999/",
		"https://x.example.test/npm", "https://x.example.test/a%2Fb", "https://x.example.test/?q=1", "https://x.example.test/#f",
		"HTTPS://X.EXAMPLE.TEST:0443/", "http://[::1]:8080/x/", "http://x.example.test:0/", "https://@x.example.test/",
		"https://x.example.test/?", "http://x.example.test:/", " https://x.example.test/", "https://%41.example.test/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		u, err := ParseHTTPURL(v)
		if (u == nil) == (err == nil) {
			t.Fatalf("ParseHTTPURL(%q) = %v, %v", v, u, err)
		}
		if err != nil {
			if pu, perr := url.Parse(v); perr == nil && pu.User != nil && err.Error() != userinfoRefusal {
				t.Fatalf("ParseHTTPURL(%q) with user information = %q", v, err)
			}
			if strings.Contains(err.Error(), "@") {
				t.Fatalf("ParseHTTPURL(%q) error %q repeats part of the authority", v, err)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || !strings.HasSuffix(u.Path, "/") {
			t.Fatalf("ParseHTTPURL(%q) = %q %#v", v, u, u)
		}
		// Not asserted while it fails: that the escaped path ends in "/" too
		// ("http://x.example.test/npm%2F" keeps the escaped form "/npm%2F").
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				t.Fatalf("ParseHTTPURL(%q) accepted port %q", v, p)
			}
		}
		again, err := ParseHTTPURL(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("ParseHTTPURL(%q) = %q, which parses again to %v, %v", v, u, again, err)
		}
	})
}

// envVars are the settings FuzzLoadEnv sets, one at a time, over a valid environment.
// PROXY_CONFIG has FuzzParseDocument; the token variables are stored, not parsed.
var envVars = []string{
	"PROXY_PORT", "PRIVATE_UPSTREAM_URL", "PUBLIC_UPSTREAM_URL", "PROXY_PUBLIC_URL",
	"PROXY_TRUSTED_IDENTITY_HEADER", "PROXY_HELP_MESSAGE", "PROXY_LOG_FORMAT", "PROXY_DEBUG", "PROXY_TELEMETRY",
	"PROXY_RESPECT_UPSTREAM_TARBALL_HOST", "PROXY_EGRESS_ALLOWED_HOSTS", "PROXY_EGRESS_ALLOW_INTERNAL_CIDRS",
	"PROXY_MAX_RESPONSE_BYTES", "PROXY_MAX_INFLIGHT_BYTES", "PROXY_MAX_VERSION_COUNT", "PROXY_MAX_NESTING_DEPTH",
	"PROXY_MIN_PUBLIC_INTEGRITY", "PROXY_PACKUMENT_CACHE_TTL_SECONDS", "PROXY_PACKUMENT_CACHE_MAX_BYTES",
	"PROXY_SHUTDOWN_GRACE_SECONDS", "CVE_SYNC_INTERVAL_SECONDS", "MIRROR_TARGET_URL",
	"MIRROR_TARGET_CREDENTIAL_PROVIDER", "MIRROR_QUEUE_PROVIDER", "MIRROR_QUEUE_URL", "MIRROR_QUEUE_MEMORY_MAX_DEPTH",
	"AWS_ENDPOINT_URL_SQS", "MIRROR_TARGET_CODEARTIFACT_TOKEN_DURATION_SECONDS", "MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER",
	"PROXY_MAX_TARBALL_BYTES", "PROXY_MAX_SPOOL_BYTES", "MIRROR_QUEUE_SUBSCRIPTION", "MIRROR_QUEUE_CREATE", "NATS_URL", "MIRROR_QUEUE_DIR", "MIRROR_WORKER_CONCURRENCY", "MIRROR_WORKER_STALL_SECONDS", "CVE_SOURCE_URL", "CVE_MAX_DOWNLOAD_BYTES", "PROXY_MAX_DIST_TAG_COUNT", "PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS", "PROXY_MIRROR_DETECTION",
	"PROXY_METRICS", "PROXY_METRICS_PORT",
}

// FuzzLoadEnv sets one environment variable to a fuzzed value over a valid environment.
// Load always returns a configuration; each problem names its variable and is one line;
// surrounding spaces never matter; and a load without problems holds every setting
// within its stated bounds, with URLs that ParseHTTPURL accepts again.
func FuzzLoadEnv(f *testing.F) {
	seeds := map[string][]string{
		"PROXY_PORT":                                        {"0", "http", "65535", "65536", " 8080 ", "-1", "0x50"},
		"PRIVATE_UPSTREAM_URL":                              {"ftp://x.example.test/", "http://x.example.test:99999/", "https://user:hunter2@x.example.test/"},
		"PROXY_MAX_RESPONSE_BYTES":                          {"-5", "9223372036854775807", "9223372036854775808", "1e6"},
		"PROXY_PACKUMENT_CACHE_TTL_SECONDS":                 {"315360000", "315360001", "9223372036854775807"},
		"PROXY_EGRESS_ALLOWED_HOSTS":                        {"a.example.test, B.EXAMPLE.TEST.", "x:1", "127.1", "[::1]", ",,"},
		"PROXY_EGRESS_ALLOW_INTERNAL_CIDRS":                 {"10.1.2.0/24", "10.1.2.3/24", "0.0.0.0/0", "x"},
		"PROXY_MIN_PUBLIC_INTEGRITY":                        {"SHA512", "sha1", "md5", "crc"},
		"PROXY_TRUSTED_IDENTITY_HEADER":                     {"X-Caller", "Authorization", "X Caller", "é"},
		"MIRROR_TARGET_CREDENTIAL_PROVIDER":                 {"codeartifact", "gcp-artifact-registry", "static", "x"},
		"MIRROR_QUEUE_PROVIDER":                             {"sqs", "pubsub", "memory", "MEMORY"},
		"PROXY_DEBUG":                                       {"true", "1", "yes", "T"},
		"MIRROR_TARGET_CODEARTIFACT_TOKEN_DURATION_SECONDS": {"43201", "1"},
		"PROXY_METRICS":                                     {"prometheus", "off", "Prometheus", "otlp"},
		"PROXY_METRICS_PORT":                                {"9464", "4873", "0", "65536", " 9100 "},
	}
	for name, values := range seeds {
		i := slices.Index(envVars, name)
		for _, v := range values {
			f.Add(uint8(i), v)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := envVars[int(which)%len(envVars)]
		noFile := func(string) ([]byte, error) { return nil, errors.New("no file in this test") }
		c, problems := Load(Source{Getenv: env(map[string]string{name: value}), ReadFile: noFile})
		if c == nil || c.Document == nil {
			t.Fatalf("%s=%q: Load returned no configuration", name, value)
		}
		for _, p := range problems {
			if p.Path == "" || p.Message == "" || strings.ContainsAny(p.String(), "\r\n") {
				t.Fatalf("%s=%q: problem %q", name, value, p)
			}
		}
		_, padded := Load(Source{Getenv: env(map[string]string{name: " \t" + value + "\n "}), ReadFile: noFile})
		if padded.Error() != problems.Error() {
			t.Fatalf("%s=%q: spaces around the value change the problems:\n%v\nthen\n%v", name, value, problems, padded)
		}
		if len(problems) > 0 {
			return
		}
		checkBounds(t, name+"="+strconv.Quote(value), c)
	})
}

func checkBounds(t *testing.T, what string, c *Config) {
	t.Helper()
	const tenYears = 10 * 365 * 24 * time.Hour
	switch {
	case c.Port < 1 || c.Port > 65535:
		t.Fatalf("%s: Port %d", what, c.Port)
	case c.MetricsPort < 1 || c.MetricsPort > 65535:
		t.Fatalf("%s: MetricsPort %d", what, c.MetricsPort)
	case c.Metrics != MetricsOff && c.Metrics != MetricsPrometheus:
		t.Fatalf("%s: Metrics %q", what, c.Metrics)
	case c.Metrics == MetricsPrometheus && c.MetricsPort == c.Port:
		t.Fatalf("%s: /metrics shares the front door's port %d", what, c.Port)
	case c.MaxResponseBytes <= 0 || c.MaxVersionCount <= 0 || c.MaxNestingDepth <= 0 || c.CacheMaxBytes <= 0 || c.Mirror.MemoryMaxDepth <= 0:
		t.Fatalf("%s: a size limit is not positive: %+v", what, c)
	case c.CacheTTL <= 0 || c.CacheTTL > tenYears || c.ShutdownGrace <= 0 || c.ShutdownGrace > tenYears ||
		c.CVESyncInterval <= 0 || c.CVESyncInterval > tenYears:
		t.Fatalf("%s: a duration is out of range: %v %v %v", what, c.CacheTTL, c.ShutdownGrace, c.CVESyncInterval)
	case !slices.Contains([]string{"sha256", "sha384", "sha512", "blake2b"}, c.MinPublicIntegrity):
		t.Fatalf("%s: MinPublicIntegrity %q", what, c.MinPublicIntegrity)
	case c.LogFormat != LogFormatJSON && c.LogFormat != LogFormatConsole:
		t.Fatalf("%s: LogFormat %q", what, c.LogFormat)
	case c.IdentityHeader != "" && (!validHeaderName(c.IdentityHeader) || isReservedHeader(c.IdentityHeader)):
		t.Fatalf("%s: IdentityHeader %q", what, c.IdentityHeader)
	case c.Mirror.CodeArtifact.TokenDuration > MaxCodeArtifactTokenSeconds*time.Second:
		t.Fatalf("%s: CodeArtifact token duration %v", what, c.Mirror.CodeArtifact.TokenDuration)
	}
	for _, u := range []*url.URL{c.PrivateUpstream, c.PublicUpstream, c.PublicURL, c.Mirror.TargetURL} {
		if u == nil {
			continue
		}
		if again, err := ParseHTTPURL(u.String()); err != nil || again.String() != u.String() {
			t.Fatalf("%s: URL %q does not parse again: %v", what, u, err)
		}
	}
	if c.PrivateUpstream == nil || c.PublicUpstream == nil {
		t.Fatalf("%s: a required upstream is missing", what)
	}
	for _, h := range c.EgressAllowedHosts {
		if h != strings.ToLower(h) || checkHostName(h) != nil {
			t.Fatalf("%s: allowed host %q", what, h)
		}
	}
	for _, p := range c.EgressAllowInternal {
		if !p.IsValid() || p != p.Masked() {
			t.Fatalf("%s: internal range %v", what, p)
		}
	}
}
