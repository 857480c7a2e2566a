package e2e

// The advisory tier end to end: the built binary reads a local directory of OSV records
// (e2e/testdata/osv), and the real npm installs, audits and fixes through it. Run with
// `go test ./e2e/ -run Advisor`.

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	vulnAdvisory    = "GHSA-e2e0-vuln-0001"
	malwareAdvisory = "MAL-2026-9001"
	aDayAgo         = 24 * time.Hour
)

// osvFixtures is the directory of crafted OSV records the tests load.
func osvFixtures(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "osv"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// advisoryRegistry is a public registry holding the packages the fixture records name:
// e2e-vuln, whose 1.0.0 is old and vulnerable and whose 1.0.1 (the fix) and 1.0.2 are a
// day old; e2e-malware, whose 2.0.0 is old and reported as malware; and e2e-clean.
func advisoryRegistry(t *testing.T) *FixtureRegistry {
	reg := newFixtureRegistry(t)
	reg.Add(Pkg{Name: "e2e-vuln", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: oldEnough},
		{Version: "1.0.1", PublishedAgo: aDayAgo},
		{Version: "1.0.2", PublishedAgo: aDayAgo},
	}})
	reg.Add(Pkg{Name: "e2e-malware", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: oldEnough + aDayAgo},
		{Version: "2.0.0", PublishedAgo: oldEnough},
	}})
	reg.Add(Pkg{Name: "e2e-clean", Versions: []Ver{{Version: "3.0.0", PublishedAgo: oldEnough}}})
	return reg
}

// servedVersions returns the versions of name's document as Écluse serves it.
func servedVersions(t *testing.T, p *Proc, name string) (versions []string, latest string) {
	t.Helper()
	var doc struct {
		Versions map[string]json.RawMessage `json:"versions"`
		DistTags map[string]string          `json:"dist-tags"`
	}
	getJSON(t, p.URL+"/"+name, nil, http.StatusOK, &doc)
	for v := range doc.Versions {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	return versions, doc.DistTags["latest"]
}

// TestAdvisoryRulesWithNPM is the acceptance: with DenyIfCVE on, npm installs
// the fast-tracked fix while the other day-old release stays quarantined, the vulnerable
// version is hidden and its tarball refused naming the advisory, and a malware report
// hides an old version.
func TestAdvisoryRulesWithNPM(t *testing.T) {
	public, private := advisoryRegistry(t), newFixtureRegistry(t)
	env := baseEnv(public.URL, private.URL)
	env["CVE_SOURCE_URL"] = osvFixtures(t)
	env["PROXY_CONFIG"] = `{"rules":{"no-known-cves":{"type":"DenyIfCVE"}}}`
	p := startEcluse(t, env)

	versions, latest := servedVersions(t, p, "e2e-vuln")
	if strings.Join(versions, ",") != "1.0.1" || latest != "1.0.1" {
		t.Errorf("e2e-vuln served versions %v (latest %q), want only the fast-tracked fix 1.0.1", versions, latest)
	}
	status, body := get(t, p.URL+"/e2e-vuln/-/e2e-vuln-1.0.0.tgz", nil)
	if status != http.StatusForbidden || !strings.Contains(string(body), vulnAdvisory) || !strings.Contains(string(body), "no-known-cves") {
		t.Errorf("GET the vulnerable tarball = %d %s, want 403 naming %s and the rule", status, body, vulnAdvisory)
	}
	status, body = get(t, p.URL+"/e2e-vuln/-/e2e-vuln-1.0.2.tgz", nil)
	if status != http.StatusForbidden || !strings.Contains(string(body), "min-age") {
		t.Errorf("GET the day-old 1.0.2 tarball = %d %s, want 403 from the quarantine", status, body)
	}

	versions, latest = servedVersions(t, p, "e2e-malware")
	if strings.Join(versions, ",") != "1.0.0" || latest != "1.0.0" {
		t.Errorf("e2e-malware served versions %v (latest %q), want only 1.0.0", versions, latest)
	}
	status, body = get(t, p.URL+"/e2e-malware/-/e2e-malware-2.0.0.tgz", nil)
	if status != http.StatusForbidden || !strings.Contains(string(body), "reported as malware ("+malwareAdvisory+")") {
		t.Errorf("GET the malware tarball = %d %s, want 403 naming %s", status, body, malwareAdvisory)
	}

	dir := t.TempDir()
	writePackageJSON(t, dir, map[string]string{"e2e-vuln": "^1.0.0", "e2e-clean": "^3.0.0"})
	if out, err := runNPM(t, dir, p.URL, "", "install"); err != nil {
		t.Fatalf("npm install through Écluse: %v\n%s", err, out)
	}
	if got := installedVersion(t, dir, "e2e-vuln"); got != "1.0.1" {
		t.Errorf("npm installed e2e-vuln@%s, want the fast-tracked fix 1.0.1", got)
	}

	dir = t.TempDir()
	writePackageJSON(t, dir, map[string]string{"e2e-malware": "2.0.0"})
	out, err := runNPM(t, dir, p.URL, "", "install")
	if err == nil {
		t.Fatalf("npm installed the malware through Écluse:\n%s", out)
	}

	// Explain lists the advisory and the rules it fed.
	var ex struct {
		Advisories struct {
			Loaded bool `json:"loaded"`
		} `json:"advisories"`
		Versions []struct {
			Version    string `json:"version"`
			Rule       string `json:"rule"`
			Advisories []struct {
				ID    string   `json:"id"`
				Fixes string   `json:"fixes"`
				Rules []string `json:"rules"`
			} `json:"advisories"`
		} `json:"versions"`
	}
	getJSON(t, p.URL+"/-/ecluse/explain/e2e-vuln", nil, http.StatusOK, &ex)
	if !ex.Advisories.Loaded {
		t.Error("explain says the advisory index has not loaded")
	}
	seen := map[string]string{}
	for _, v := range ex.Versions {
		for _, a := range v.Advisories {
			seen[v.Version] = v.Rule + ":" + a.ID + ":" + a.Fixes + ":" + strings.Join(a.Rules, ",")
		}
	}
	want := map[string]string{
		"1.0.0": "no-known-cves:" + vulnAdvisory + "::no-known-cves",
		"1.0.1": "remediation-fast-track:" + vulnAdvisory + ":1.0.0:remediation-fast-track",
	}
	for v, w := range want {
		if seen[v] != w {
			t.Errorf("explain %s = %q, want %q", v, seen[v], w)
		}
	}
	if _, ok := seen["1.0.2"]; ok {
		t.Errorf("explain lists an advisory for 1.0.2, which none touches: %q", seen["1.0.2"])
	}
}

// TestAdvisoryAuditWithNPM: npm audit through Écluse reports the advisory from the local
// index, and npm audit fix moves the project to the fast-tracked fix.
func TestAdvisoryAuditWithNPM(t *testing.T) {
	public, private := advisoryRegistry(t), newFixtureRegistry(t)
	env := baseEnv(public.URL, private.URL)
	env["CVE_SOURCE_URL"] = osvFixtures(t)
	p := startEcluse(t, env)

	dir := t.TempDir()
	writePackageJSON(t, dir, map[string]string{})
	if out, err := runNPM(t, dir, p.URL, "", "install", "e2e-vuln@1.0.0", "e2e-clean@3.0.0"); err != nil {
		t.Fatalf("npm install e2e-vuln@1.0.0: %v\n%s", err, out)
	}
	if got := installedVersion(t, dir, "e2e-vuln"); got != "1.0.0" {
		t.Fatalf("installed e2e-vuln@%s, want 1.0.0", got)
	}

	out, err := runNPM(t, dir, p.URL, "", "audit", "--json")
	if err == nil {
		t.Fatalf("npm audit found nothing to report:\n%s", out)
	}
	var report struct {
		Vulnerabilities map[string]struct {
			Severity     string `json:"severity"`
			Via          []any  `json:"via"`
			FixAvailable any    `json:"fixAvailable"`
		} `json:"vulnerabilities"`
	}
	if jerr := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &report); jerr != nil {
		t.Fatalf("npm audit --json printed no report (%v):\n%s", jerr, out)
	}
	v, ok := report.Vulnerabilities["e2e-vuln"]
	if !ok || v.Severity != "high" || !strings.Contains(out, vulnAdvisory) {
		t.Fatalf("npm audit report = %+v, want e2e-vuln at high severity naming %s:\n%s", report.Vulnerabilities, vulnAdvisory, out)
	}
	if _, ok := report.Vulnerabilities["e2e-clean"]; ok {
		t.Errorf("npm audit reports e2e-clean, which no advisory names")
	}

	if out, err := runNPM(t, dir, p.URL, "", "audit", "fix"); err != nil {
		t.Fatalf("npm audit fix: %v\n%s", err, out)
	}
	if got := installedVersion(t, dir, "e2e-vuln"); got != "1.0.1" {
		t.Errorf("after npm audit fix e2e-vuln is %s, want the fix 1.0.1", got)
	}
	if out, err := runNPM(t, dir, p.URL, "", "audit"); err != nil {
		t.Errorf("npm audit after the fix still reports: %v\n%s", err, out)
	}
}

// TestAdvisoryIndexLifecycle: before the index loads the default policy fails closed and
// says why; a rule set to abstain lets the rest decide; once the source appears the
// index loads, and a record added later takes effect on the next request, without
// waiting for a cached rendering to expire.
func TestAdvisoryIndexLifecycle(t *testing.T) {
	public, private := advisoryRegistry(t), newFixtureRegistry(t)
	source := filepath.Join(t.TempDir(), "osv")
	env := baseEnv(public.URL, private.URL)
	env["CVE_SOURCE_URL"] = source // absent at boot
	env["CVE_SYNC_INTERVAL_SECONDS"] = "1"
	p := startEcluseProc(t, env)
	p.waitHTTP("/readyz")

	status, body := get(t, p.URL+"/e2e-clean/-/e2e-clean-3.0.0.tgz", nil)
	if status != http.StatusForbidden || !strings.Contains(string(body), "advisory index has not loaded yet") {
		t.Errorf("GET a tarball before the index loads = %d %s, want 403 saying the index has not loaded", status, body)
	}

	abstain := baseEnv(public.URL, private.URL)
	abstain["CVE_SOURCE_URL"] = source
	abstain["PROXY_CONFIG"] = `{"rules":{"deny-malicious":{"onMissingIndex":"abstain"}}}`
	q := startEcluseProc(t, abstain)
	q.waitHTTP("/readyz")
	if status, body := get(t, q.URL+"/e2e-clean/-/e2e-clean-3.0.0.tgz", nil); status != http.StatusOK {
		t.Errorf("with onMissingIndex abstain, GET a tarball = %d %s, want 200", status, body)
	}

	// The source appears, holding the malware report only.
	if err := os.MkdirAll(source, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFixture(t, malwareAdvisory+".json", source)
	p.waitAdvisories()
	versions, _ := servedVersions(t, p, "e2e-vuln")
	if strings.Join(versions, ",") != "1.0.0" {
		t.Errorf("e2e-vuln served %v with no advisory about it, want 1.0.0 alone (the rest quarantined)", versions)
	}
	// The vulnerability record arrives: the next sync picks it up, and the next request
	// sees the fast-tracked fix.
	copyFixture(t, vulnAdvisory+".json", source)
	pollUntil(t, 30*time.Second, "the new record to take effect", func() (bool, error) {
		versions, _ := servedVersions(t, p, "e2e-vuln")
		return strings.Join(versions, ",") == "1.0.0,1.0.1", nil
	})
}

func copyFixture(t *testing.T, name, dir string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "osv", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
