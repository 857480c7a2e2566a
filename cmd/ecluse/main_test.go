package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func setBaseEnv(t *testing.T) {
	t.Setenv("PRIVATE_UPSTREAM_URL", "http://private.example.test:4874/")
	t.Setenv("PUBLIC_UPSTREAM_URL", "https://public.example.test/")
	t.Setenv("MIRROR_QUEUE_PROVIDER", "memory")
	t.Setenv("PROXY_CONFIG", "")
	t.Setenv("PROXY_CONFIG_FILE", "")
}

func TestCheckConfigReportsEveryProblem(t *testing.T) {
	setBaseEnv(t)
	t.Setenv("PRIVATE_UPSTREAM_URL", "ftp://private.example.test/")
	t.Setenv("PROXY_MAX_RESPONSE_BYTES", "-5")
	t.Setenv("PROXY_CONFIG", `{"rules":{"x":{"type":"Nope"},"min-age":{"agSeconds":1}}}`)
	var out, errb bytes.Buffer
	code := run([]string{"check-config"}, &out, &errb)
	if code != 2 {
		t.Fatalf("exit = %d, want 2; stderr:\n%s", code, errb.String())
	}
	for _, want := range []string{"PRIVATE_UPSTREAM_URL", "PROXY_MAX_RESPONSE_BYTES", `unknown key "agSeconds"`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	// With the parse problem fixed, the unknown rule type is named too.
	t.Setenv("PROXY_CONFIG", `{"rules":{"x":{"type":"Nope"}}}`)
	errb.Reset()
	if code := run([]string{"check-config"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "rules.x") {
		t.Errorf("unknown type: exit %d stderr:\n%s", code, errb.String())
	}
}

func TestCheckConfigPrintsEffectivePolicy(t *testing.T) {
	setBaseEnv(t)
	t.Setenv("PROXY_AUTH_TOKEN", "tok-never-printed")
	dir := t.TempDir()
	path := filepath.Join(dir, "ecluse.json")
	doc := `{"rules":{"min-age":{"ageSeconds":1209600},"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200}}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"check-config", "--config", path}, &out, &errb); code != 0 {
		t.Fatalf("exit = %d; stderr:\n%s", code, errb.String())
	}
	if strings.Contains(out.String(), "tok-never-printed") {
		t.Error("check-config printed the token")
	}
	var rep struct {
		Config map[string]any `json:"config"`
		Policy struct {
			Rules []map[string]any `json:"rules"`
		} `json:"policy"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if rep.Config["PROXY_AUTH_TOKEN"] != "[REDACTED]" {
		t.Errorf("token rendered as %v", rep.Config["PROXY_AUTH_TOKEN"])
	}
	text := out.String()
	for _, want := range []string{"min-age", "1209600", "deny-scripts", "DenyInstallTimeExecution"} {
		if !strings.Contains(text, want) {
			t.Errorf("effective policy lacks %q:\n%s", want, text)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"serve", "--help"}, {"check-config", "--help"}, {"explain", "--help"}, {"version", "--help"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 {
			t.Errorf("%v exit = %d", args, code)
		}
		if out.Len()+errb.Len() == 0 {
			t.Errorf("%v printed nothing", args)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "ecluse ") {
		t.Errorf("version = %d %q", code, out.String())
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 {
		t.Errorf("unknown command exit = %d, want 2", code)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	setBaseEnv(t)
	t.Setenv("PUBLIC_UPSTREAM_URL", "")
	var out, errb bytes.Buffer
	if code := run([]string{"serve"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "npm config get registry") {
		t.Errorf("serve without PUBLIC_UPSTREAM_URL: exit %d stderr %s", code, errb.String())
	}
}

// TestCheckConfigSyncsAdvisories: --sync-advisories loads the index once from the
// sources and reports its size, or why it could not.
func TestCheckConfigSyncsAdvisories(t *testing.T) {
	setBaseEnv(t)
	dir := t.TempDir()
	record := `{"id":"MAL-2026-1","modified":"2026-11-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"evil"},"versions":["1.0.0"]}]}`
	if err := os.WriteFile(filepath.Join(dir, "MAL-2026-1.json"), []byte(record), 0o600); err != nil {
		t.Fatal(err)
	}
	type report struct {
		Advisories struct {
			Sources []string `json:"sources"`
			Index   *struct {
				Loaded    bool   `json:"loaded"`
				Records   int    `json:"records"`
				LastError string `json:"lastError"`
			} `json:"index"`
		} `json:"advisories"`
	}
	check := func(args ...string) report {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(append([]string{"check-config"}, args...), &out, &errb); code != 0 {
			t.Fatalf("exit = %d; stderr:\n%s", code, errb.String())
		}
		var rep report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("report is not JSON: %v", err)
		}
		return rep
	}

	t.Setenv("CVE_SOURCE_URL", dir)
	if rep := check(); rep.Advisories.Index != nil || len(rep.Advisories.Sources) != 1 {
		t.Errorf("without --sync-advisories: %+v, want the sources and no index", rep.Advisories)
	}
	if rep := check("--sync-advisories"); rep.Advisories.Index == nil || !rep.Advisories.Index.Loaded || rep.Advisories.Index.Records != 1 {
		t.Errorf("with --sync-advisories: %+v, want one record loaded", rep.Advisories.Index)
	}
	t.Setenv("CVE_SOURCE_URL", filepath.Join(dir, "absent"))
	if rep := check("--sync-advisories"); rep.Advisories.Index == nil || rep.Advisories.Index.Loaded || rep.Advisories.Index.LastError == "" {
		t.Errorf("an absent source: %+v, want the failure reported", rep.Advisories.Index)
	}
}
