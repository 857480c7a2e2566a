package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"maps"
	"os"
	"path/filepath"
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
	if err := WriteCheckReport(context.Background(), &buf, l, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), CheckOptions{}); err != nil {
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

func TestLoadReportsEachPolicyUnderItsPath(t *testing.T) {
	_, problems := Load(envSource(map[string]string{
		"PROXY_CONFIG": `{"rules":{"min-age":{"agSeconds":1}},
			"policies":{"strict":{"rules":{"x":{"type":"Nope"}}},"unused":{"rules":{"min-age":{"ageSeconds":-1}}}},
			"mounts":{"npm":{"path":"/","policy":"strict"},
				"go":{"path":"/go/","ecosystem":"go","publicUpstreamUrl":"https://go.example.test/","internal":["bad pattern"],
					"checksumDatabase":{"key":"db.example.test+01234567+AAAA"}}}}`,
	}))
	text := problems.Error()
	for _, want := range []string{`rules.min-age: unknown key "agSeconds"`, "policies.strict.rules.x:", "mounts.go.internal"} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}
	if strings.Count(text, `rules.min-age: unknown key "agSeconds"`) != 1 {
		t.Errorf("a rule set shared by two mounts is reported more than once:\n%s", text)
	}
}

func TestCheckReportListsMountsWithTheirPolicies(t *testing.T) {
	l, problems := Load(envSource(map[string]string{
		"PROXY_CONFIG": `{"policies":{"go":{"rules":{"min-age":{"ageSeconds":60},"scripts":{"type":"DenyInstallTimeExecution"}}}},
			"mounts":{"npm":{"path":"/"},"go":{"path":"/go/","ecosystem":"go","publicUpstreamUrl":"https://go.example.test/","policy":"go",
				"checksumDatabase":{"key":"db.example.test+01234567+AAAA"}}}}`,
	}))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var buf bytes.Buffer
	if err := WriteCheckReport(context.Background(), &buf, l, time.Now(), CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Mounts []MountReport `json:"mounts"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Mounts) != 2 {
		t.Fatalf("mounts = %+v", rep.Mounts)
	}
	goM := rep.Mounts[1]
	if goM.Path != "/go/" || goM.PolicyName != "go" || goM.Policy.Rules[len(goM.Policy.Rules)-1].AgeSeconds != 60 ||
		goM.ChecksumDatabase == nil || goM.ChecksumDatabase.KeyFrom != "document" {
		t.Errorf("go mount report = %+v", goM)
	}
	if !strings.Contains(strings.Join(goM.Notes, "\n"), "has no effect on a go mount") {
		t.Errorf("go mount notes = %q, want the DenyInstallTimeExecution note", goM.Notes)
	}
	if !strings.Contains(strings.Join(goM.Notes, "\n"), "remediation-fast-track (AllowIfRemediatesCve) admits nothing on a go mount") {
		t.Errorf("go mount notes = %q, want the fast-track note", goM.Notes)
	}
	npmRules := rep.Mounts[0].Policy.Rules
	if npmRules[len(npmRules)-1].Name != "min-age" || npmRules[len(npmRules)-1].AgeSeconds != 7*24*3600 {
		t.Errorf("npm mount policy = %+v, want the defaults", rep.Mounts[0].Policy)
	}
}

// TestLoadSigning: each LoadedMount carries its resolved signing value, and the
// signing problems are reported by the whole load.
func TestLoadSigning(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	const goMount = `"go":{"path":"/go/","ecosystem":"go","publicUpstreamUrl":"https://go.example.test/","checksumDatabase":{"key":"db.example.test+01234567+AAAA"}`
	tests := []struct {
		name   string
		env    map[string]string
		mounts map[string]string // each mount's Signing, when there is no problem
		want   string            // a problem's text; empty means none
	}{
		{"default off", nil, map[string]string{"npm": config.SigningOff}, ""},
		{"top level with a key", map[string]string{"PROXY_CONFIG": `{"signing":"all"}`, "PROXY_SIGNING_KEY_FILE": keyFile},
			map[string]string{"npm": config.SigningAll}, ""},
		{"mount override, go untouched", map[string]string{"PROXY_SIGNING_KEY_FILE": keyFile,
			"PROXY_CONFIG": `{"signing":"warn","mounts":{"web":{"path":"/"},"corp":{"path":"/corp/","signing":"internal"},` + goMount + `}}}`},
			map[string]string{"web": config.SigningWarn, "corp": config.SigningInternal, "go": config.SigningOff}, ""},
		{"warn without a key file", map[string]string{"PROXY_CONFIG": `{"signing":"warn"}`}, map[string]string{"npm": config.SigningWarn}, ""},
		{"bad value", map[string]string{"PROXY_CONFIG": `{"signing":"yes"}`}, nil, `signing: unknown value "yes" (want off, warn, internal or all)`},
		{"go mount", map[string]string{"PROXY_CONFIG": `{"mounts":{"npm":{"path":"/"},` + goMount + `,"signing":"all"}}}`, "PROXY_SIGNING_KEY_FILE": keyFile},
			nil, "mounts.go.signing: applies to npm mounts only"},
		{"internal without a key file", map[string]string{"PROXY_CONFIG": `{"mounts":{"web":{"path":"/","signing":"internal"}}}`}, nil,
			`PROXY_SIGNING_KEY_FILE: is required when mounts.web.signing is "internal"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, problems := Load(envSource(tt.env))
			if tt.want != "" {
				if !strings.Contains(problems.Error(), tt.want) {
					t.Errorf("problems = %v, want %q", problems, tt.want)
				}
				return
			}
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			got := map[string]string{}
			for _, m := range l.Mounts {
				got[m.Name] = m.Signing
			}
			if !maps.Equal(got, tt.mounts) {
				t.Errorf("mounts' Signing = %v, want %v", got, tt.mounts)
			}
		})
	}
}
