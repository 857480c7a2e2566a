package advisory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// allEcosystems wants every ecosystem the index knows.
var allEcosystems = [ecoCount]bool{true, true, true}

// readTestRecord reads a record of testdata/osv.
func readTestRecord(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "osv", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseRecordTestdata(t *testing.T) {
	type pkg struct {
		eco   uint8
		name  string
		rng   string
		in    []string
		out   []string
		every bool // the shared Affected of every version
	}
	tests := []struct {
		file      string
		dropped   bool
		id        string
		aliases   []string
		summary   string
		severity  Severity
		score     float64
		vector    string
		cwes      []string
		url       string
		malicious bool
		published string
		modified  string
		pkgs      []pkg
	}{
		{
			file:      "GHSA-vh95-rmgr-6w4m.json",
			id:        "GHSA-vh95-rmgr-6w4m",
			aliases:   []string{"CVE-2020-7598"},
			summary:   "Prototype Pollution in minimist",
			severity:  SeverityModerate,
			score:     5.6,
			vector:    "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L",
			cwes:      []string{"CWE-1321"},
			url:       "https://github.com/advisories/GHSA-vh95-rmgr-6w4m",
			published: "2020-04-03T21:48:32Z",
			modified:  "2022-04-26T21:01:40Z",
			pkgs: []pkg{{
				eco: ecoNPM, name: "minimist", rng: "<0.2.1 || >=1.0.0 <1.2.3",
				in: []string{"0.0.8", "1.2.0"}, out: []string{"0.2.1", "1.2.3", "1.2.8"},
			}},
		},
		{
			file:      "GHSA-c2qf-rxjj-qqgw.json",
			id:        "GHSA-c2qf-rxjj-qqgw",
			aliases:   []string{"CVE-2022-25883"},
			summary:   "semver vulnerable to Regular Expression Denial of Service",
			severity:  SeverityModerate,
			score:     5.3,
			vector:    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
			cwes:      []string{"CWE-1333"},
			url:       "https://github.com/advisories/GHSA-c2qf-rxjj-qqgw",
			published: "2023-06-21T06:30:28Z",
			modified:  "2023-07-10T22:57:56Z",
			pkgs: []pkg{{
				eco: ecoNPM, name: "semver", rng: "<5.7.2 || >=6.0.0 <6.3.1 || >=7.0.0 <7.5.2",
				in: []string{"5.7.1", "6.3.0", "7.5.1", "7.5.2-rc.1"}, out: []string{"5.7.2", "6.3.1", "7.5.2", "7.6.0"},
			}},
		},
		{
			file:      "GHSA-p8p7-x288-28g6.json",
			id:        "GHSA-p8p7-x288-28g6",
			aliases:   []string{"CVE-2023-28155"},
			summary:   "Server-Side Request Forgery in Request",
			severity:  SeverityModerate,
			score:     6.1,
			vector:    "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
			cwes:      []string{"CWE-918"},
			url:       "https://github.com/advisories/GHSA-p8p7-x288-28g6",
			published: "2023-03-16T15:30:19Z",
			modified:  "2023-04-14T20:24:55Z",
			pkgs: []pkg{
				{eco: ecoNPM, name: "request", rng: "<=2.88.2", in: []string{"2.88.2"}, out: []string{"2.88.3", "3.0.0"}},
				{eco: ecoNPM, name: "@cypress/request", rng: "<=2.88.11", in: []string{"2.88.11"}, out: []string{"2.88.12", "3.0.0"}},
			},
		},
		{
			file:      "MAL-2022-9.json",
			id:        "MAL-2022-9",
			aliases:   []string{"GHSA-8p6v-2gf9-8hhm"},
			summary:   "Malicious code in 0-dns (npm)",
			url:       "https://github.com/advisories/GHSA-8p6v-2gf9-8hhm",
			malicious: true,
			published: "2022-06-20T20:12:58Z",
			modified:  "2022-06-20T20:12:58Z",
			pkgs:      []pkg{{eco: ecoNPM, name: "0-dns", rng: "*", in: []string{"0.0.1", "1.0.0-0"}, out: []string{"x"}, every: true}},
		},
		{
			file:      "MAL-2024-11848.json",
			id:        "MAL-2024-11848",
			summary:   "Malicious code in 000webhost-admin (npm)",
			url:       "https://osv.dev/vulnerability/MAL-2024-11848",
			malicious: true,
			published: "2024-12-14T19:14:54Z",
			modified:  "2024-12-14T19:14:54Z",
			pkgs:      []pkg{{eco: ecoNPM, name: "000webhost-admin", rng: "999.9.9", in: []string{"999.9.9"}, out: []string{"1.0.0", "999.9.8"}}},
		},
		{
			file:      "MAL-2024-1811.json",
			id:        "MAL-2024-1811",
			summary:   "Malicious code in bar (npm)",
			url:       "https://osv.dev/vulnerability/MAL-2024-1811",
			malicious: true,
			published: "2024-06-25T12:20:11Z",
			modified:  "2024-06-25T12:20:11Z",
			pkgs:      []pkg{{eco: ecoNPM, name: "@hotcookies/bar", rng: "0.0.0", in: []string{"0.0.0"}, out: []string{"0.0.1"}}},
		},
		{file: "MAL-2026-4377.json", dropped: true},
		{
			file:      "GO-2020-0001.json",
			id:        "GO-2020-0001",
			aliases:   []string{"CVE-2020-36567", "GHSA-6vm3-jj99-7229"},
			summary:   "The default Formatter for the Logger middleware (LoggerConfig.Formatter), which is included in the Default engine, allows attackers to inject arbitrary log entries by manipulating the request path.",
			url:       "https://github.com/advisories/GHSA-6vm3-jj99-7229",
			published: "2021-04-14T20:04:52Z",
			pkgs: []pkg{{
				eco: ecoGo, name: "github.com/gin-gonic/gin", rng: "<1.6.0",
				in: []string{"v1.5.0", "v1.6.0-rc.1"}, out: []string{"1.5.0", "v1.6.0", "v1.9.1"},
			}},
		},
		{
			file:      "crafted-ranges.json",
			id:        "CRAFTED-0001",
			summary:   "Crafted record: unordered events, several ranges, a limit, prereleases",
			severity:  SeverityCritical,
			score:     9.8,
			vector:    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
			url:       "https://osv.dev/vulnerability/CRAFTED-0001",
			published: "2025-01-01T00:00:00Z",
			modified:  "2025-01-02T03:04:05Z",
			pkgs: []pkg{{
				eco: ecoNPM, name: "crafted-ranges",
				rng: "<1.0.1 || >=2.0.0 <2.3.1 || >=3.0.0 <3.0.1 || >=4.0.0-beta.2 <4.0.0 || 5.0.0 || 6.0.0-rc.1 || >=7.0.0 <7.5.0",
				in:  []string{"1.0.1-beta", "2.1.0", "3.0.0", "4.0.0-beta.2", "4.0.0-rc.1", "5.0.0", "6.0.0-rc.1", "7.4.9", "not-a-version"},
				out: []string{"1.0.1", "2.3.1", "3.0.1", "4.0.0-beta.1", "4.0.0", "5.0.1", "6.0.0", "7.5.0", "0123456789abcdef0123456789abcdef01234567"},
			}},
		},
		{
			file:     "crafted-ecosystems.json",
			id:       "CRAFTED-0002",
			aliases:  []string{"CVE-2099-0002"},
			summary:  "Written by hand for Écluse's tests; no database published it. It names one package in each of several ecosystems, spelt as their users might write them, and has no summary, so the index falls back to these details, which run on long enough that the index must clip them: the index keeps about thr…",
			severity: SeverityModerate,
			vector:   "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
			url:      "https://osv.dev/vulnerability/CRAFTED-0002",
			modified: "2025-02-03T04:05:06.789Z",
			pkgs: []pkg{
				{eco: ecoNPM, name: "left-pad", rng: "<1.3.0", in: []string{"1.2.9"}, out: []string{"1.3.0"}},
				{eco: ecoPyPI, name: "django-rest-framework", rng: "<0.0.0-0", in: []string{"3.0", "3.1"}, out: []string{"3.1.0", "2.9"}},
				{
					eco: ecoGo, name: "github.com/Example/Mod", rng: ">=1.2.0 <1.2.4-0.20200601000000-0123456789ab",
					in: []string{"v1.2.3"}, out: []string{"v1.2.4"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rec, err := parseRecord(readTestRecord(t, tt.file), allEcosystems, &interner{})
			if err != nil {
				t.Fatalf("parseRecord: %v", err)
			}
			if tt.dropped {
				if rec != nil {
					t.Fatalf("parseRecord kept %s, want it dropped", rec.adv.ID)
				}
				return
			}
			if rec == nil {
				t.Fatal("parseRecord dropped the record, want it kept")
			}
			a := rec.adv
			if a.ID != tt.id || a.URL != tt.url || a.Malicious != tt.malicious {
				t.Errorf("id, url, malicious = %s, %s, %v, want %s, %s, %v", a.ID, a.URL, a.Malicious, tt.id, tt.url, tt.malicious)
			}
			if !slices.Equal(a.Aliases, tt.aliases) || !slices.Equal(a.CWEs, tt.cwes) {
				t.Errorf("aliases, cwes = %q, %q, want %q, %q", a.Aliases, a.CWEs, tt.aliases, tt.cwes)
			}
			if a.Summary != tt.summary {
				t.Errorf("summary = %q, want %q", a.Summary, tt.summary)
			}
			if len(a.Summary) > maxSummaryLen || !utf8.ValidString(a.Summary) {
				t.Errorf("summary is %d bytes (valid UTF-8: %v), want at most %d", len(a.Summary), utf8.ValidString(a.Summary), maxSummaryLen)
			}
			if a.Severity != tt.severity || a.Score != tt.score || a.Vector != tt.vector {
				t.Errorf("severity, score, vector = %d, %v, %q, want %d, %v, %q", a.Severity, a.Score, a.Vector, tt.severity, tt.score, tt.vector)
			}
			if got := formatTime(a.Published); got != tt.published {
				t.Errorf("published = %q, want %q", got, tt.published)
			}
			if got := formatTime(a.Modified); got != tt.modified {
				t.Errorf("modified = %q, want %q", got, tt.modified)
			}
			if len(rec.pkgs) != len(tt.pkgs) {
				t.Fatalf("%d packages kept, want %d", len(rec.pkgs), len(tt.pkgs))
			}
			for i, want := range tt.pkgs {
				got := rec.pkgs[i]
				if got.eco != want.eco || got.name != want.name {
					t.Errorf("package %d = %s %q, want %s %q", i, ecoNames[got.eco], got.name, ecoNames[want.eco], want.name)
				}
				if r := got.aff.Range(); r != want.rng {
					t.Errorf("%s: Range() = %q, want %q", want.name, r, want.rng)
				}
				if (got.aff == everything[want.eco]) != want.every {
					t.Errorf("%s: shares the every-version Affected = %v, want %v", want.name, !want.every, want.every)
				}
				for _, v := range want.in {
					if !got.aff.Contains(v) {
						t.Errorf("%s: Contains(%q) = false, want true", want.name, v)
					}
				}
				for _, v := range want.out {
					if got.aff.Contains(v) {
						t.Errorf("%s: Contains(%q) = true, want false", want.name, v)
					}
				}
			}
		})
	}
}

// formatTime spells t for comparison; empty for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func TestParseRecordEcosystems(t *testing.T) {
	data := readTestRecord(t, "crafted-ecosystems.json")
	tests := []struct {
		name string
		want [ecoCount]bool
		kept []string
	}{
		{"npm", [ecoCount]bool{ecoNPM: true}, []string{"npm left-pad"}},
		{"go", [ecoCount]bool{ecoGo: true}, []string{"go github.com/Example/Mod"}},
		{"pypi and npm", [ecoCount]bool{ecoNPM: true, ecoPyPI: true}, []string{"npm left-pad", "pypi django-rest-framework"}},
		{"none", [ecoCount]bool{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parseRecord(data, tt.want, nil)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			if rec != nil {
				for _, p := range rec.pkgs {
					kept = append(kept, ecoNames[p.eco]+" "+p.name)
				}
			}
			if !slices.Equal(kept, tt.kept) {
				t.Errorf("kept %q, want %q", kept, tt.kept)
			}
		})
	}
}

func TestParseRecordSeverity(t *testing.T) {
	const v3 = `{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}`
	const v4 = `{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}`
	const v2 = `{"type":"CVSS_V2","score":"AV:N/AC:L/Au:N/C:P/I:P/A:P"}`
	tests := []struct {
		name     string
		severity string // top-level severity[] members
		affSev   string // affected[0].severity[] members
		db       string // database_specific
		want     Severity
		score    float64
		vector   string
	}{
		{"database severity wins over the vector", v3, "", `{"severity":"LOW"}`, SeverityLow, 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{"database severity in any case", "", "", `{"severity":" critical "}`, SeverityCritical, 0, ""},
		{"medium is moderate", "", "", `{"severity":"Medium"}`, SeverityModerate, 0, ""},
		{"an unknown word falls back to the vector", v3, "", `{"severity":"SEVERE"}`, SeverityCritical, 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{"a non-string severity is ignored", v3, "", `{"severity":{"level":3}}`, SeverityCritical, 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{"v3 preferred over v4 and v2", v2 + "," + v4 + "," + v3, "", "", SeverityCritical, 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{"v4 kept, unscored", v2 + "," + v4, "", "", SeverityUnknown, 0, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
		{"v2 kept, unscored", v2, "", "", SeverityUnknown, 0, "AV:N/AC:L/Au:N/C:P/I:P/A:P"},
		{"an invalid v3 vector is skipped", `{"type":"CVSS_V3","score":"CVSS:3.1/AV:N"}`, "", "", SeverityUnknown, 0, ""},
		{"the affected entry's severity stands in", "", v3, "", SeverityCritical, 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{"nothing stated", "", "", "", SeverityUnknown, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := `{"id":"TEST-1","severity":[` + tt.severity + `],"affected":[{"package":{"ecosystem":"npm","name":"p"},"severity":[` + tt.affSev + `],"versions":["1.0.0"]}]`
			if tt.db != "" {
				data += `,"database_specific":` + tt.db
			}
			data += "}"
			rec, err := parseRecord([]byte(data), allEcosystems, nil)
			if err != nil {
				t.Fatalf("parseRecord(%s): %v", data, err)
			}
			a := rec.adv
			if a.Severity != tt.want || a.Score != tt.score || a.Vector != tt.vector {
				t.Errorf("severity, score, vector = %d, %v, %q, want %d, %v, %q", a.Severity, a.Score, a.Vector, tt.want, tt.score, tt.vector)
			}
		})
	}
}

func TestParseRecordURL(t *testing.T) {
	tests := []struct {
		id      string
		aliases string
		want    string
	}{
		{"GHSA-vh95-rmgr-6w4m", `["CVE-2020-7598"]`, "https://github.com/advisories/GHSA-vh95-rmgr-6w4m"},
		{"MAL-2022-9", `["GHSA-8p6v-2gf9-8hhm"]`, "https://github.com/advisories/GHSA-8p6v-2gf9-8hhm"},
		{"GO-2020-0001", `["CVE-2020-36567","GHSA-6vm3-jj99-7229","GHSA-2222-3333-4444"]`, "https://github.com/advisories/GHSA-6vm3-jj99-7229"},
		{"PYSEC-2021-1", `["GHSA-NOT-A-GHSA"]`, "https://osv.dev/vulnerability/PYSEC-2021-1"},
		{"MAL-2024-11848", `[]`, "https://osv.dev/vulnerability/MAL-2024-11848"},
		{"GHSA-xxxx-xxxx-xxx", `[]`, "https://osv.dev/vulnerability/GHSA-xxxx-xxxx-xxx"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			data := `{"id":"` + tt.id + `","aliases":` + tt.aliases + `,"affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["1.0.0"]}]}`
			rec, err := parseRecord([]byte(data), allEcosystems, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rec.adv.URL != tt.want || rec.adv.ID != tt.id {
				t.Errorf("url, id = %s, %s, want %s, %s", rec.adv.URL, rec.adv.ID, tt.want, tt.id)
			}
		})
	}
}

func TestParseRecordInvalid(t *testing.T) {
	const pkg = `"package":{"ecosystem":"npm","name":"p"}`
	tests := []struct {
		name, data string
	}{
		{"not json", `not json`},
		{"truncated", `{"id":"GHSA-vh95-rmgr-6w4m","affected":[{` + pkg},
		{"an array", `[{"id":"TEST-1"}]`},
		{"null", `null`},
		{"no id", `{"affected":[{` + pkg + `,"versions":["1.0.0"]}]}`},
		{"an empty id", `{"id":"","affected":[]}`},
		{"an id with a space", `{"id":"TEST 1","affected":[]}`},
		{"an id with a slash", `{"id":"../TEST-1","affected":[]}`},
		{"a long id", `{"id":"` + strings.Repeat("A", maxIDLen+1) + `","affected":[]}`},
		{"an id of the wrong type", `{"id":12,"affected":[]}`},
		{"affected of the wrong type", `{"id":"TEST-1","affected":{}}`},
		{"versions of the wrong type", `{"id":"TEST-1","affected":[{` + pkg + `,"versions":"1.0.0"}]}`},
		{"an event with two kinds", `{"id":"TEST-1","affected":[{` + pkg + `,` + `"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}`},
		{"an event with no kind", `{"id":"TEST-1","affected":[{` + pkg + `,` + `"ranges":[{"type":"SEMVER","events":[{"introduced":""}]}]}]}`},
		{"a range without a type", `{"id":"TEST-1","affected":[{` + pkg + `,` + `"ranges":[{"events":[{"introduced":"0"}]}]}]}`},
		{"a range without events", `{"id":"TEST-1","affected":[{` + pkg + `,` + `"ranges":[{"type":"SEMVER","events":[]}]}]}`},
		{"an empty package name", `{"id":"TEST-1","affected":[{"package":{"ecosystem":"npm","name":"  "},"versions":["1.0.0"]}]}`},
		{"a package name with a control character", `{"id":"TEST-1","affected":[{"package":{"ecosystem":"npm","name":"a\u0000b"},"versions":["1.0.0"]}]}`},
		{"a long package name", `{"id":"TEST-1","affected":[{"package":{"ecosystem":"Go","name":"` + strings.Repeat("a", maxNameLen+1) + `"},"versions":["1.0.0"]}]}`},
		{"a time of the wrong type", `{"id":"TEST-1","modified":12345678,"affected":[]}`},
		{"database_specific not an object", `{"id":"TEST-1","affected":[],"database_specific":[1]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parseRecord([]byte(tt.data), allEcosystems, nil)
			if !errors.Is(err, ErrInvalidRecord) {
				t.Errorf("parseRecord(%s) = %v, %v, want ErrInvalidRecord", tt.data, rec, err)
			}
		})
	}
}

func TestParseRecordLenient(t *testing.T) {
	tests := []struct {
		name, data string
		kept       bool
	}{
		{"withdrawn, even malformed otherwise", `{"id":"TEST-1","withdrawn":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":""},"ranges":[{"events":[]}]}]}`, false},
		{"no affected package of a wanted ecosystem", `{"id":"TEST-1","affected":[{"package":{"ecosystem":"crates.io","name":"p"},"ranges":[{"events":[]}]}]}`, false},
		{"no affected at all", `{"id":"TEST-1"}`, false},
		{"unknown fields", `{"id":"TEST-1","future_field":{"x":[1,2]},"affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["1.0.0"],"new":true}]}`, true},
		{"unknown range type", `{"id":"TEST-1","affected":[{"package":{"ecosystem":"npm","name":"p"},"ranges":[{"type":"FUTURE","events":[{"introduced":"0"}]}]}]}`, true},
		{"malformed times", `{"id":"TEST-1","published":"yesterday","modified":"2024-13-45T99:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["1.0.0"]}]}`, true},
		{"cwe_ids of odd shapes", `{"id":"TEST-1","affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["1.0.0"]}],"database_specific":{"cwe_ids":"CWE-79","nvd_published_at":null}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parseRecord([]byte(tt.data), allEcosystems, nil)
			if err != nil {
				t.Fatalf("parseRecord(%s): %v", tt.data, err)
			}
			if (rec != nil) != tt.kept {
				t.Errorf("parseRecord kept = %v, want %v", rec != nil, tt.kept)
			}
		})
	}
}

func TestNormalizeName(t *testing.T) {
	tests := []struct {
		eco       uint8
		in, want  string
		allocFree bool
	}{
		{ecoNPM, "minimist", "minimist", true},
		{ecoNPM, "@Scope/Pkg", "@scope/pkg", false},
		{ecoNPM, " JSONStream ", "jsonstream", false},
		{ecoNPM, "  left-pad", "left-pad", true},
		{ecoGo, "github.com/Example/Mod", "github.com/Example/Mod", true},
		{ecoPyPI, "django-rest-framework", "django-rest-framework", true},
		{ecoPyPI, "Django_REST..framework", "django-rest-framework", false},
		{ecoPyPI, "zope.interface", "zope-interface", false},
		{ecoPyPI, "a--b", "a-b", false},
		{ecoPyPI, "A-_.-b", "a-b", false},
		{ecoPyPI, "Ünïcode_X", "ünïcode-x", false},
	}
	for _, tt := range tests {
		t.Run(ecoNames[tt.eco]+"/"+tt.in, func(t *testing.T) {
			if got := normalizeName(tt.eco, tt.in); got != tt.want {
				t.Errorf("normalizeName(%s, %q) = %q, want %q", ecoNames[tt.eco], tt.in, got, tt.want)
			}
			if tt.allocFree {
				if n := testing.AllocsPerRun(10, func() { normalizeName(tt.eco, tt.in) }); n != 0 {
					t.Errorf("normalizeName(%s, %q) allocates %v times, want 0", ecoNames[tt.eco], tt.in, n)
				}
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct {
		in, want string
	}{
		{"plain text", "plain text"},
		{"  two\n\nlines\tand  spaces ", "two lines and spaces"},
		{"escape \x1b[31mred\x1b[0m", "escape [31mred[0m"},
		{"bidi \u202eevil", "bidi evil"},
		{long, strings.Repeat("é", 148) + "…"},
		{strings.Repeat("a", 300), strings.Repeat("a", 300)},
		{strings.Repeat("a", 301), strings.Repeat("a", 297) + "…"},
		{"", ""},
		{"\n\t ", ""},
	}
	for _, tt := range tests {
		got := oneLine(tt.in, maxSummaryLen)
		if got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", clip(tt.in, 40), got, tt.want)
		}
		if len(got) > maxSummaryLen || !utf8.ValidString(got) {
			t.Errorf("oneLine(%q) is %d bytes, valid %v", clip(tt.in, 40), len(got), utf8.ValidString(got))
		}
	}
}

// TestParseRecordManyPackages checks the grouping of entries by package past the few
// a record usually names.
func TestParseRecordManyPackages(t *testing.T) {
	var entries []string
	for i := range 30 {
		// Twelve packages, each named by two or three entries; the npm names differ
		// in case only between entries of one package.
		name := fmt.Sprintf("pkg-%d", i%12)
		if i >= 12 {
			name = strings.ToUpper(name)
		}
		entries = append(entries, fmt.Sprintf(`{"package":{"ecosystem":"npm","name":%q},"versions":["%d.0.0"]}`, name, i))
	}
	data := `{"id":"TEST-1","affected":[` + strings.Join(entries, ",") + `]}`
	rec, err := parseRecord([]byte(data), allEcosystems, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.pkgs) != 12 {
		t.Fatalf("kept %d packages, want 12", len(rec.pkgs))
	}
	for k, p := range rec.pkgs {
		if want := fmt.Sprintf("pkg-%d", k); p.name != want {
			t.Errorf("package %d = %q, want %q", k, p.name, want)
		}
		for i := range 30 {
			v := fmt.Sprintf("%d.0.0", i)
			if want := i%12 == k; p.aff.Contains(v) != want {
				t.Errorf("%s: Contains(%s) = %v, want %v", p.name, v, !want, want)
			}
		}
	}
}
