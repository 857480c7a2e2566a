package config

import (
	"strings"
	"testing"
	"time"
)

func TestPrivateFirstSettings(t *testing.T) {
	base := map[string]string{
		"PRIVATE_UPSTREAM_URL":  "http://private.example.test/",
		"PUBLIC_UPSTREAM_URL":   "https://public.example.test/",
		"MIRROR_QUEUE_PROVIDER": "memory",
	}
	load := func(over map[string]string) (*Config, Problems) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range over {
			env[k] = v
		}
		return Load(Source{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	}

	c, problems := load(nil)
	if len(problems) > 0 || c.PrivateRevalidateAfter != 0 || c.MirrorDetection != MirrorDetectionCopies {
		t.Errorf("defaults: revalidate after %v, mirror detection %q, problems %v; want 0 and copies", c.PrivateRevalidateAfter, c.MirrorDetection, problems)
	}
	for _, tt := range []struct {
		name  string
		env   map[string]string
		want  string // a problem's text; empty means none
		check func(*Config) bool
	}{
		{"revalidate after 30 s", map[string]string{"PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS": "30"}, "",
			func(c *Config) bool { return c.PrivateRevalidateAfter == 30*time.Second }},
		{"revalidate after 0 is every request", map[string]string{"PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS": "0"}, "",
			func(c *Config) bool { return c.PrivateRevalidateAfter == 0 }},
		{"revalidate after negative", map[string]string{"PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS": "-1"}, "PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS: must be a whole number of seconds", nil},
		{"revalidate after a word", map[string]string{"PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS": "false"}, "PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS: must be a whole number of seconds", nil},
		{"revalidate after a fraction", map[string]string{"PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS": "1.5"}, "PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS: must be a whole number of seconds", nil},
		{"revalidate after past the cache TTL", map[string]string{"PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS": "301"}, "must not exceed PROXY_PACKUMENT_CACHE_TTL_SECONDS (300)", nil},
		{"revalidate after within a longer TTL", map[string]string{"PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS": "600", "PROXY_PACKUMENT_CACHE_TTL_SECONDS": "900"}, "",
			func(c *Config) bool { return c.PrivateRevalidateAfter == 10*time.Minute }},
		{"mirror detection off", map[string]string{"PROXY_MIRROR_DETECTION": "off"}, "",
			func(c *Config) bool { return c.MirrorDetection == MirrorDetectionOff }},
		{"mirror detection is exact", map[string]string{"PROXY_MIRROR_DETECTION": "OFF"}, `PROXY_MIRROR_DETECTION: unknown value "OFF"`, nil},
		{"mirror detection all is not a value", map[string]string{"PROXY_MIRROR_DETECTION": "all"}, `PROXY_MIRROR_DETECTION: unknown value "all"`, nil},
		{"the private token is accepted under passthrough", map[string]string{"PRIVATE_UPSTREAM_TOKEN": "svc", "PROXY_CONFIG": `{"credentialStrategy":"passthrough"}`}, "",
			func(c *Config) bool {
				return c.PrivateUpstreamToken.IsSet() && c.CredentialStrategy == StrategyPassthrough
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, problems := load(tt.env)
			text := problems.Error()
			if tt.want == "" {
				if len(problems) > 0 || !tt.check(c) {
					t.Errorf("Load(%v) = problems %q, config %+v", tt.env, text, c)
				}
				return
			}
			if !strings.Contains(text, tt.want) {
				t.Errorf("Load(%v) problems = %q, want %q", tt.env, text, tt.want)
			}
		})
	}
	e := c.Effective()
	if e.MirrorDetection != "copies" || e.PrivateRevalidateAfter != 0 {
		t.Errorf("Effective() = %+v", e)
	}
}
