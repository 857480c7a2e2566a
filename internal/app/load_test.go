package app

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/config"
)

func envSource(over map[string]string) config.Source {
	env := map[string]string{
		"PRIVATE_UPSTREAM_URL":  "http://private.example.test/",
		"PUBLIC_UPSTREAM_URL":   "https://public.example.test/",
		"MIRROR_QUEUE_PROVIDER": "memory",
	}
	for k, v := range over {
		env[k] = v
	}
	return config.Source{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
}

func TestLoadCollectsEveryLayer(t *testing.T) {
	_, problems := Load(envSource(map[string]string{
		"PROXY_MAX_NESTING_DEPTH":           "0",
		"PROXY_EGRESS_ALLOW_INTERNAL_CIDRS": "0.0.0.0/0",
		"PROXY_CONFIG":                      `{"rules":{"x":{"type":"Nope"},"min-age":{"ageSeconds":-1}}}`,
	}))
	text := problems.Error()
	for _, want := range []string{"PROXY_MAX_NESTING_DEPTH:", "rules.x:", "rules.min-age:", "PROXY_EGRESS_ALLOW_INTERNAL_CIDRS: 0.0.0.0/0 admits every address"} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}
	_, problems = Load(envSource(map[string]string{"PROXY_MIN_PUBLIC_INTEGRITY": "sha1"}))
	if len(problems) != 1 {
		t.Errorf("a weak floor is reported %d times, want once: %v", len(problems), problems)
	}
}

func TestCheckReportListsExceptions(t *testing.T) {
	l, problems := Load(envSource(map[string]string{"PROXY_CONFIG": `{"rules":{"exceptions":{"type":"AllowPackages","packages":[
		{"pattern":"old-*","reason":"migration","expires":"2026-01-01"},
		{"pattern":"soon","reason":"vendor fix pending","expires":"2026-11-30"}]}}}`}))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var buf bytes.Buffer
	if err := WriteCheckReport(&buf, l, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Expired  []struct{ Pattern string } `json:"expiredExceptions"`
		Expiring []struct{ Pattern string } `json:"expiringExceptions"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Expired) != 1 || rep.Expired[0].Pattern != "old-*" || len(rep.Expiring) != 1 || rep.Expiring[0].Pattern != "soon" {
		t.Errorf("expired %+v expiring %+v", rep.Expired, rep.Expiring)
	}
}
