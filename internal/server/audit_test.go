package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ecluse/ecluse/internal/advisory"
)

// fakeIndex is an AuditIndex holding a fixed snapshot (nil: not loaded yet).
type fakeIndex struct{ snap *advisory.Snapshot }

func (f fakeIndex) Snapshot() *advisory.Snapshot { return f.snap }

var _ AuditIndex = fakeIndex{}

// The OSV ids of the test records.
const (
	idLeftPadHigh = "GHSA-2p3q-4r5v-6w7x" // left-pad <1.3.0, HIGH, CVSS vector, CWE, CVE alias
	idLeftPadMod  = "GHSA-8c9f-gh2j-3m4p" // left-pad >=1.1.0 <1.2.0, MODERATE
	idMalware     = "MAL-2024-0001"       // evil-pkg, every version, no summary
	idUnrated     = "GHSA-qrvw-x234-5678" // nested-dep <2.0.0, no severity, no summary
	idTwins       = "GHSA-w2x3-c4f5-g6h7" // twin-a and twin-b <1.0.0
	idLow         = "GHSA-j2m3-p4q5-r6v7" // @scope/lib >=1.0.0 <1.5.0, LOW
)

// osvRecords are the advisory records the tests' index is built from.
var osvRecords = map[string]string{
	idLeftPadHigh: `{
  "schema_version": "1.6.0",
  "id": "` + idLeftPadHigh + `",
  "modified": "2024-03-02T10:00:00Z",
  "published": "2024-03-01T10:00:00Z",
  "aliases": ["CVE-2024-10001"],
  "summary": "Prototype pollution in left-pad",
  "details": "A crafted string pollutes Object.prototype.",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{
    "package": {"ecosystem": "npm", "name": "left-pad"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.0"}]}]
  }],
  "database_specific": {"severity": "HIGH", "cwe_ids": ["CWE-1321"]}
}`,
	idLeftPadMod: `{
  "schema_version": "1.6.0",
  "id": "` + idLeftPadMod + `",
  "modified": "2024-04-02T10:00:00Z",
  "summary": "Denial of service in left-pad",
  "affected": [{
    "package": {"ecosystem": "npm", "name": "left-pad"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.1.0"}, {"fixed": "1.2.0"}]}]
  }],
  "database_specific": {"severity": "MODERATE"}
}`,
	idMalware: `{
  "schema_version": "1.6.0",
  "id": "` + idMalware + `",
  "modified": "2024-05-02T10:00:00Z",
  "affected": [{
    "package": {"ecosystem": "npm", "name": "evil-pkg"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]
  }]
}`,
	idUnrated: `{
  "schema_version": "1.6.0",
  "id": "` + idUnrated + `",
  "modified": "2024-06-02T10:00:00Z",
  "affected": [{
    "package": {"ecosystem": "npm", "name": "nested-dep"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]
  }]
}`,
	idTwins: `{
  "schema_version": "1.6.0",
  "id": "` + idTwins + `",
  "modified": "2024-07-02T10:00:00Z",
  "summary": "Command injection in the twins",
  "affected": [
    {"package": {"ecosystem": "npm", "name": "twin-a"},
     "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]},
    {"package": {"ecosystem": "npm", "name": "twin-b"},
     "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]}
  ],
  "database_specific": {"severity": "CRITICAL"}
}`,
	idLow: `{
  "schema_version": "1.6.0",
  "id": "` + idLow + `",
  "modified": "2024-08-02T10:00:00Z",
  "summary": "Information exposure in @scope/lib",
  "affected": [{
    "package": {"ecosystem": "npm", "name": "@scope/lib"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.5.0"}]}]
  }],
  "database_specific": {"severity": "LOW", "cwe_ids": ["CWE-200", "CWE-209"]}
}`,
}

// testSnapshot builds a snapshot of generation gen from records (OSV id → JSON)
// through the advisory package's own reader.
func testSnapshot(tb testing.TB, gen uint64, records map[string]string) *advisory.Snapshot {
	tb.Helper()
	dir := tb.TempDir()
	for id, rec := range records {
		if err := os.WriteFile(filepath.Join(dir, id+".json"), []byte(rec), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	set, err := advisory.ReadDir(dir, []string{advisory.EcosystemNPM}, advisory.Limits{})
	if err != nil {
		tb.Fatalf("advisory.ReadDir(test records) = %v", err)
	}
	return advisory.Merge(gen, time.Now(), set)
}

// emptySnapshot is a loaded index that knows no advisory.
func emptySnapshot() *advisory.Snapshot { return advisory.Merge(1, time.Now()) }

// matchOf returns the snapshot's match of one advisory for one package.
func matchOf(t *testing.T, snap *advisory.Snapshot, pkg, id string) advisory.Match {
	t.Helper()
	for _, m := range snap.Package(advisory.EcosystemNPM, pkg) {
		if m.Advisory.ID == id {
			return m
		}
	}
	t.Fatalf("the test index has no advisory %s for %s", id, pkg)
	return advisory.Match{}
}

// auditServer is a front door with one npm mount whose audit routes answer from idx.
func auditServer(tb testing.TB, idx AuditIndex) *Server {
	tb.Helper()
	s := New(Options{
		Logger: slog.New(slog.DiscardHandler),
		Mounts: []Mount{{Name: "npm", Path: "/", Audit: AuditHandler(idx)}},
	})
	s.Health().SetReady(true)
	return s
}

func post(s http.Handler, target string, body []byte, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func gzipBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var gzipHeader = http.Header{"Content-Encoding": {"gzip"}}

// wantID is the documented id derivation, computed independently of auditID.
func wantID(osvID string) uint64 {
	sum := sha256.Sum256([]byte(osvID))
	var n uint64
	for _, b := range sum[:6] {
		n = n<<8 | uint64(b)
	}
	return n
}

func TestAuditBulk(t *testing.T) {
	snap := testSnapshot(t, 1, osvRecords)
	s := auditServer(t, fakeIndex{snap})
	tests := []struct {
		name   string
		body   string
		header http.Header
		gzip   bool
		want   map[string][]string // package → OSV ids, in the answer's order
	}{
		{"one advisory", `{"left-pad":["1.0.0"]}`, nil, false, map[string][]string{"left-pad": {idLeftPadHigh}}},
		{"gzip", `{"left-pad":["1.0.0"]}`, gzipHeader, true, map[string][]string{"left-pad": {idLeftPadHigh}}},
		{"x-gzip", `{"left-pad":["1.0.0"]}`, http.Header{"Content-Encoding": {"x-gzip"}}, true, map[string][]string{"left-pad": {idLeftPadHigh}}},
		{"identity", `{"left-pad":["1.0.0"]}`, http.Header{"Content-Encoding": {"identity"}}, false, map[string][]string{"left-pad": {idLeftPadHigh}}},
		{"several advisories", `{"left-pad":["1.1.5"]}`, nil, false, map[string][]string{"left-pad": sortedByID(idLeftPadHigh, idLeftPadMod)}},
		{"any version counts", `{"left-pad":["2.0.0","1.1.5","1.1.5"]}`, nil, false, map[string][]string{"left-pad": sortedByID(idLeftPadHigh, idLeftPadMod)}},
		{"version outside every range", `{"left-pad":["1.3.0"]}`, nil, false, map[string][]string{}},
		{"package without advisories", `{"react":["18.2.0"]}`, nil, false, map[string][]string{}},
		{"no versions", `{"left-pad":[]}`, nil, false, map[string][]string{}},
		{"empty request", `{}`, nil, false, map[string][]string{}},
		{"malware", `{"evil-pkg":["0.0.1"]}`, nil, false, map[string][]string{"evil-pkg": {idMalware}}},
		{"scoped", `{"@scope/lib":["1.4.9"],"left-pad":["9.9.9"]}`, nil, false, map[string][]string{"@scope/lib": {idLow}}},
		{"several packages", `{"nested-dep":["1.0.0"],"evil-pkg":["1.0.0"],"left-pad":["1.2.0"]}`, nil, false,
			map[string][]string{"nested-dep": {idUnrated}, "evil-pkg": {idMalware}, "left-pad": {idLeftPadHigh}}},
		{"duplicate keys merge", `{"left-pad":["9.0.0"],"left-pad":["1.0.0"]}`, nil, false, map[string][]string{"left-pad": {idLeftPadHigh}}},
		{"unparseable version", `{"left-pad":["not-a-version"]}`, nil, false, map[string][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.gzip {
				body = gzipBytes(t, body)
			}
			w := post(s, auditBulkPath, body, tt.header)
			if w.Code != http.StatusOK {
				t.Fatalf("POST bulk %s = %d %s, want 200", tt.body, w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var got map[string][]bulkAdvisory
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			gotIDs := map[string][]string{}
			for name, advs := range got {
				for _, a := range advs {
					gotIDs[name] = append(gotIDs[name], osvIDOf(a.ID))
				}
			}
			if !reflect.DeepEqual(gotIDs, tt.want) {
				t.Errorf("POST bulk %s = %v, want %v", tt.body, gotIDs, tt.want)
			}
		})
	}
}

// sortedByID orders OSV ids as the snapshot does (by id).
func sortedByID(ids ...string) []string {
	out := append([]string(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// osvIDOf maps an audit id back to the test record it derives from.
func osvIDOf(id uint64) string {
	for osv := range osvRecords {
		if wantID(osv) == id {
			return osv
		}
	}
	return "unknown:" + strconv.FormatUint(id, 10)
}

// TestAuditBulkFields checks every field of the entries against the index.
func TestAuditBulkFields(t *testing.T) {
	snap := testSnapshot(t, 1, osvRecords)
	s := auditServer(t, fakeIndex{snap})
	w := post(s, auditBulkPath, []byte(`{"left-pad":["1.0.0"],"evil-pkg":["1.0.0"],"nested-dep":["1.9.9"],"@scope/lib":["1.0.0"]}`), nil)
	if w.Code != http.StatusOK {
		t.Fatalf("POST bulk = %d %s", w.Code, w.Body)
	}
	var got map[string][]map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	str := func(s string) any { return s }
	tests := []struct {
		pkg, id, title, severity string
		cwe                      []any
		score                    float64
		vector                   any
	}{
		{"left-pad", idLeftPadHigh, "Prototype pollution in left-pad", "high", []any{"CWE-1321"}, matchOf(t, snap, "left-pad", idLeftPadHigh).Advisory.Score, str("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")},
		{"evil-pkg", idMalware, "Malware: evil-pkg is a known malicious package (" + idMalware + ")", "critical", []any{}, 0, nil},
		{"nested-dep", idUnrated, idUnrated, "moderate", []any{}, 0, nil},
		{"@scope/lib", idLow, "Information exposure in @scope/lib", "low", []any{"CWE-200", "CWE-209"}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			m := matchOf(t, snap, tt.pkg, tt.id)
			want := map[string]any{
				"id":                  float64(wantID(tt.id)),
				"url":                 m.Advisory.URL,
				"title":               tt.title,
				"severity":            tt.severity,
				"vulnerable_versions": m.Affected.Range(),
				"cwe":                 tt.cwe,
				"cvss":                map[string]any{"score": tt.score, "vectorString": tt.vector},
			}
			if len(got[tt.pkg]) != 1 {
				t.Fatalf("bulk answer for %s = %v, want one entry", tt.pkg, got[tt.pkg])
			}
			if !reflect.DeepEqual(got[tt.pkg][0], want) {
				t.Errorf("bulk entry for %s = %v, want %v", tt.pkg, got[tt.pkg][0], want)
			}
			if m.Advisory.URL == "" || m.Affected.Range() == "" {
				t.Errorf("the index gave %s an empty url or range", tt.id)
			}
		})
	}
	if s := matchOf(t, snap, "left-pad", idLeftPadHigh).Advisory.Score; s <= 0 {
		t.Errorf("score of a record with a CVSS v3 vector = %v, want > 0", s)
	}
	if !strings.Contains(w.Body.String(), `"cvss":{"score":0,"vectorString":null}`) {
		t.Errorf("an advisory without CVSS is not spelled as npm's answers spell it: %s", w.Body)
	}
}

// TestAuditIDStable: the same OSV id gives the same number in every snapshot, the
// documented one, below 2^48.
func TestAuditIDStable(t *testing.T) {
	body := []byte(`{"left-pad":["1.1.5"]}`)
	var ids [][]uint64
	for gen := uint64(1); gen <= 2; gen++ {
		s := auditServer(t, fakeIndex{testSnapshot(t, gen, osvRecords)})
		w := post(s, auditBulkPath, body, nil)
		var got map[string][]bulkAdvisory
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
			t.Fatalf("generation %d: %d %s (%v)", gen, w.Code, w.Body, err)
		}
		var gen []uint64
		for _, a := range got["left-pad"] {
			gen = append(gen, a.ID)
		}
		ids = append(ids, gen)
	}
	want := []uint64{wantID(sortedByID(idLeftPadHigh, idLeftPadMod)[0]), wantID(sortedByID(idLeftPadHigh, idLeftPadMod)[1])}
	for i, gen := range ids {
		if !reflect.DeepEqual(gen, want) {
			t.Errorf("snapshot %d ids = %v, want %v", i+1, gen, want)
		}
	}
	for _, id := range []string{idLeftPadHigh, idMalware, "", "GHSA-xxxx-xxxx-xxxx", strings.Repeat("é", 300)} {
		if got := auditID(id); got != wantID(id) || got >= 1<<48 || got != auditID(id) {
			t.Errorf("auditID(%q) = %d, want %d (< 2^48)", id, got, wantID(id))
		}
	}
	if auditID(idLeftPadHigh) == auditID(idLeftPadMod) {
		t.Error("two advisories share an id")
	}
}

func TestAuditQuick(t *testing.T) {
	snap := testSnapshot(t, 1, osvRecords)
	s := auditServer(t, fakeIndex{snap})
	// wrapper and orphan each install their own copy; nested-dep is hoisted and reached
	// through wrapper's requires; orphan is required by nobody, so its copy's path is
	// its place in the tree; evil-alias installs evil-pkg under another name.
	body := `{
	  "name": "app", "version": "1.0.0",
	  "requires": {"left-pad": "^1.0.0", "wrapper": "^2.0.0", "tooling": "^1.0.0"},
	  "dependencies": {
	    "left-pad": {"version": "1.1.5", "integrity": "sha512-x", "resolved": "https://example.test/left-pad.tgz"},
	    "wrapper": {
	      "version": "2.0.0",
	      "requires": {"left-pad": "1.0.0", "nested-dep": "^1.0.0"},
	      "dependencies": {"left-pad": {"version": "1.0.0"}}
	    },
	    "nested-dep": {"version": "1.0.0"},
	    "tooling": {
	      "version": "1.0.0", "dev": true,
	      "requires": {"evil-alias": "npm:evil-pkg@0.0.1"},
	      "dependencies": {"evil-alias": {"version": "npm:evil-pkg@0.0.1", "dev": true, "optional": true}}
	    },
	    "orphan": {"version": "1.0.0", "optional": true, "dependencies": {"nested-dep": {"version": "1.5.0", "optional": true}}},
	    "safe": {"version": "1.0.0", "bundled": true, "extra": {"deep": [[{"x": null}]]}}
	  },
	  "metadata": {"npm_version": "10.0.0", "node_version": "v20.0.0"}
	}`
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			b, h := []byte(body), http.Header(nil)
			if gz {
				b, h = gzipBytes(t, b), gzipHeader
			}
			w := post(s, auditQuickPath, b, h)
			if w.Code != http.StatusOK {
				t.Fatalf("POST quick = %d %s", w.Code, w.Body)
			}
			var got quickReport
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			lp := matchOf(t, snap, "left-pad", idLeftPadHigh)
			patched, _ := patchedVersions(lp.Affected.Range())
			type finding struct {
				module  string
				version string
				paths   string
				dev     bool
				opt     bool
			}
			want := map[string][]finding{
				idLeftPadHigh: {{"left-pad", "1.1.5", "left-pad", false, false}, {"left-pad", "1.0.0", "wrapper>left-pad", false, false}},
				idLeftPadMod:  {{"left-pad", "1.1.5", "left-pad", false, false}},
				idUnrated:     {{"nested-dep", "1.0.0", "wrapper>nested-dep", false, false}, {"nested-dep", "1.5.0", "orphan>nested-dep", false, true}},
				idMalware:     {{"evil-pkg", "0.0.1", "tooling>evil-alias", true, true}},
			}
			gotF := map[string][]finding{}
			for key, a := range got.Advisories {
				if key != strconv.FormatUint(a.ID, 10) {
					t.Errorf("advisory keyed %s has id %d", key, a.ID)
				}
				for _, f := range a.Findings {
					gotF[osvIDOf(a.ID)] = append(gotF[osvIDOf(a.ID)], finding{a.ModuleName, f.Version, strings.Join(f.Paths, ","), f.Dev, f.Optional})
				}
			}
			if !reflect.DeepEqual(gotF, want) {
				t.Errorf("findings = %v\nwant %v", gotF, want)
			}
			a := got.Advisories[strconv.FormatUint(wantID(idLeftPadHigh), 10)]
			if a == nil {
				t.Fatalf("no advisory %s in %s", idLeftPadHigh, w.Body)
			}
			wantA := quickAdvisory{
				ID: wantID(idLeftPadHigh), GitHubAdvisoryID: idLeftPadHigh, Title: "Prototype pollution in left-pad",
				ModuleName: "left-pad", VulnerableVersions: lp.Affected.Range(), PatchedVersions: patched,
				Severity: "high", CWE: []string{"CWE-1321"}, CVEs: []string{"CVE-2024-10001"},
				CVSS: cvssOf(lp.Advisory), URL: lp.Advisory.URL, Overview: "Prototype pollution in left-pad",
				Recommendation: "Upgrade to version 1.3.0 or later", Created: timeOrNull(lp.Advisory.Published),
				Updated: timeOrNull(lp.Advisory.Modified), Findings: a.Findings,
			}
			if !reflect.DeepEqual(*a, wantA) {
				t.Errorf("advisory = %+v\nwant %+v", *a, wantA)
			}
			if got.Advisories[strconv.FormatUint(wantID(idMalware), 10)].Severity != "critical" {
				t.Error("malware is not critical")
			}
			wantMeta := quickMetadata{
				Vulnerabilities:      severityCounts{High: 2, Moderate: 3, Critical: 1},
				Dependencies:         7,
				DevDependencies:      2,
				OptionalDependencies: 3,
				TotalDependencies:    9,
			}
			if got.Metadata != wantMeta {
				t.Errorf("metadata = %+v, want %+v", got.Metadata, wantMeta)
			}
			for _, field := range []string{`"actions":[]`, `"muted":[]`} {
				if !strings.Contains(w.Body.String(), field) {
					t.Errorf("body lacks %s: %s", field, w.Body)
				}
			}
		})
	}
}

// TestAuditQuickSharedRecord: one record naming two installed packages gives each its
// own entry under its own key.
func TestAuditQuickSharedRecord(t *testing.T) {
	s := auditServer(t, fakeIndex{testSnapshot(t, 1, osvRecords)})
	w := post(s, auditQuickPath, []byte(`{"requires":{"twin-a":"0.5.0","twin-b":"0.5.0"},"dependencies":{"twin-b":{"version":"0.5.0"},"twin-a":{"version":"0.5.0"}}}`), nil)
	var got quickReport
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
		t.Fatalf("POST quick = %d %s (%v)", w.Code, w.Body, err)
	}
	want := map[string]string{
		strconv.FormatUint(wantID(idTwins), 10):              "twin-a",
		strconv.FormatUint(wantID(idTwins+"\x00twin-b"), 10): "twin-b",
	}
	gotKeys := map[string]string{}
	for k, a := range got.Advisories {
		gotKeys[k] = a.ModuleName
	}
	if !reflect.DeepEqual(gotKeys, want) {
		t.Errorf("advisories = %v, want %v", gotKeys, want)
	}
	if got.Metadata.Vulnerabilities.Critical != 2 {
		t.Errorf("critical count = %d, want 2", got.Metadata.Vulnerabilities.Critical)
	}
}

// TestAuditQuickEmptyTree: a project without dependencies gets a well-formed report.
func TestAuditQuickEmptyTree(t *testing.T) {
	s := auditServer(t, fakeIndex{emptySnapshot()})
	for _, body := range []string{`{}`, `{"name":"app","requires":true,"dependencies":{}}`} {
		w := post(s, auditQuickPath, []byte(body), nil)
		want := `{"actions":[],"advisories":{},"muted":[],"metadata":{"vulnerabilities":{"info":0,"low":0,"moderate":0,"high":0,"critical":0},"dependencies":0,"devDependencies":0,"optionalDependencies":0,"totalDependencies":0}}` + "\n"
		if w.Code != http.StatusOK || w.Body.String() != want {
			t.Errorf("POST quick %s = %d %s, want 200 %s", body, w.Code, w.Body, want)
		}
	}
}

// nested returns a quick body whose dependency entries nest depth levels.
func nested(depth int) string {
	var b strings.Builder
	b.WriteString(`{"dependencies":`)
	for i := range depth {
		fmt.Fprintf(&b, `{"p%d":{"version":"1.0.0","dependencies":`, i)
	}
	b.WriteString(`{}`)
	for range depth {
		b.WriteString(`}}`)
	}
	b.WriteString(`}`)
	return b.String()
}

// repeatJSON returns "{" + n copies of item(i) joined by commas + "}".
func repeatJSON(n int, item func(i int) string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item(i))
	}
	b.WriteByte('}')
	return b.String()
}

func versionList(n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"1.0.%d"`, i)
	}
	b.WriteByte(']')
	return b.String()
}

// badRequests are requests each endpoint must refuse with a 400 naming the problem.
var badRequests = []struct {
	name, path, body string
	header           http.Header
	gzip             bool
	want             string        // substring of the error message
	big              func() string // makes the body when it is large, instead of body
}{
	{"bulk: empty body", auditBulkPath, ``, nil, false, "ends before its JSON", nil},
	{"bulk: truncated", auditBulkPath, `{"left-pad":["1.0.0"`, nil, false, "ends before its JSON", nil},
	{"bulk: invalid JSON", auditBulkPath, `{"left-pad" ["1.0.0"]}`, nil, false, "not valid JSON", nil},
	{"bulk: not an object", auditBulkPath, `["left-pad"]`, nil, false, "must be a JSON object mapping package names", nil},
	{"bulk: versions not an array", auditBulkPath, `{"left-pad":"1.0.0"}`, nil, false, `the versions of "left-pad" must be an array`, nil},
	{"bulk: version not a string", auditBulkPath, `{"left-pad":[1]}`, nil, false, "must be strings; one is a number", nil},
	{"bulk: nested array", auditBulkPath, `{"left-pad":[["1.0.0"]]}`, nil, false, "must be strings; one is an array", nil},
	{"bulk: trailing data", auditBulkPath, `{} {}`, nil, false, "goes on after its JSON object", nil},
	{"bulk: invalid name", auditBulkPath, `{".hidden":["1.0.0"]}`, nil, false, `invalid package name ".hidden"`, nil},
	{"bulk: name with a slash", auditBulkPath, `{"../../etc":["1.0.0"]}`, nil, false, "invalid package name", nil},
	{"bulk: empty name", auditBulkPath, `{"":["1.0.0"]}`, nil, false, "invalid package name", nil},
	{"bulk: too many packages", auditBulkPath, "", nil, true, "more than 50000 packages",
		func() string {
			return repeatJSON(maxAuditPackages+1, func(i int) string { return fmt.Sprintf(`"p%d":[]`, i) })
		}},
	{"bulk: too many versions", auditBulkPath, "", nil, false, `more than 10000 versions of "left-pad"`,
		func() string { return `{"left-pad":` + versionList(maxAuditVersions+1) + `}` }},
	{"bulk: too many versions in all", auditBulkPath, "", nil, true, "more than 200000 versions in all",
		func() string {
			return repeatJSON(maxAuditTotalVersions/maxAuditVersions+1, func(i int) string { return fmt.Sprintf(`"p%d":%s`, i, versionList(maxAuditVersions)) })
		}},
	{"bulk: unsupported encoding", auditBulkPath, `{}`, http.Header{"Content-Encoding": {"br"}}, false, `unsupported Content-Encoding "br"`, nil},
	{"bulk: gzip twice", auditBulkPath, `{}`, http.Header{"Content-Encoding": {"gzip, gzip"}}, true, "compressed twice", nil},
	{"bulk: not gzip", auditBulkPath, `{"left-pad":["1.0.0"]}`, gzipHeader, false, "not a valid gzip stream", nil},
	{"bulk: empty gzip", auditBulkPath, ``, gzipHeader, false, "not a valid gzip stream", nil},
	{"quick: empty body", auditQuickPath, ``, nil, false, "ends before its JSON", nil},
	{"quick: invalid JSON", auditQuickPath, `{"dependencies":{"a":{"version":"1.0.0"}}`, nil, false, "ends before its JSON", nil},
	{"quick: syntax error", auditQuickPath, `{"dependencies":{"a":{"version":"1.0.0",}}}`, nil, false, "not valid JSON", nil},
	{"quick: not an object", auditQuickPath, `"app"`, nil, false, "must be a JSON object describing the dependency tree", nil},
	{"quick: dependencies not an object", auditQuickPath, `{"dependencies":[]}`, nil, false, "the top-level dependencies must be an object", nil},
	{"quick: entry not an object", auditQuickPath, `{"dependencies":{"a":"1.0.0"}}`, nil, false, `the entry of "a" under dependencies must be an object`, nil},
	{"quick: version not a string", auditQuickPath, `{"dependencies":{"a":{"version":1}}}`, nil, false, `the version of "a" must be a string`, nil},
	{"quick: dev not a boolean", auditQuickPath, `{"dependencies":{"a":{"dev":"yes"}}}`, nil, false, `the dev of "a" must be true or false`, nil},
	{"quick: requires not an object", auditQuickPath, `{"requires":["a"]}`, nil, false, "the top-level requires must be an object", nil},
	{"quick: requires range not a string", auditQuickPath, `{"requires":{"a":1}}`, nil, false, "must be a string", nil},
	{"quick: invalid name", auditQuickPath, `{"dependencies":{"Bad Name":{"version":"1.0.0"}}}`, nil, false, `invalid package name "Bad Name"`, nil},
	{"quick: invalid name nested", auditQuickPath, `{"dependencies":{"a":{"dependencies":{"_private":{}}}}}`, nil, false, "it starts with an underscore", nil},
	{"quick: invalid required name", auditQuickPath, `{"requires":{"node_modules":"*"}}`, nil, false, "invalid package name", nil},
	{"quick: too deep", auditQuickPath, "", nil, false, "nests deeper than 64 levels", func() string { return nested(maxAuditDepth + 1) }},
	{"quick: too many tokens", auditQuickPath, "", nil, true, "more than 2000000 JSON tokens",
		func() string {
			return `{"dependencies":{"a":` + repeatJSON(maxAuditTokens, func(int) string { return `"x":0` }) + `}}`
		}},
	{"quick: skipped field nests too deeply for JSON", auditQuickPath, "", nil, false, "not valid JSON",
		func() string { return `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}` }},
	{"quick: too many entries", auditQuickPath, "", nil, true, "more than 50000 entries",
		func() string {
			return `{"dependencies":` + repeatJSON(maxAuditPackages+1, func(i int) string { return fmt.Sprintf(`"p%d":{}`, i) }) + `}`
		}},
	{"quick: too many requires", auditQuickPath, "", nil, true, "more than 500000 requires entries",
		func() string {
			return `{"requires":` + repeatJSON(maxAuditRequires+1, func(int) string { return `"a":""` }) + `}`
		}},
	{"quick: trailing data", auditQuickPath, `{}]`, nil, false, "not valid JSON", nil},
	{"quick: unsupported encoding", auditQuickPath, `{}`, http.Header{"Content-Encoding": {"deflate"}}, false, "unsupported Content-Encoding", nil},
}

func TestAuditBadRequests(t *testing.T) {
	s := auditServer(t, fakeIndex{emptySnapshot()})
	for _, tt := range badRequests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.big != nil {
				body = []byte(tt.big())
			}
			if tt.gzip {
				body = gzipBytes(t, body)
				if tt.header == nil {
					tt.header = gzipHeader
				}
			}
			w := post(s, tt.path, body, tt.header)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("POST %s (%s) = %d %s, want 400", tt.path, tt.name, w.Code, truncate(w.Body.String(), 300))
			}
			if msg := errorField(t, w); !strings.Contains(msg, tt.want) {
				t.Errorf("error = %q, want it to contain %q", msg, tt.want)
			}
		})
	}
}

// TestAuditBodyBounds: a body past either size bound is a 400, whether its length is
// announced or not, and a gzip bomb is cut at the decoded bound.
func TestAuditBodyBounds(t *testing.T) {
	s := auditServer(t, fakeIndex{emptySnapshot()})
	big := []byte(`{"left-pad":[` + strings.Repeat(" ", maxAuditBodyBytes) + `]}`)
	bomb := gzipBytes(t, []byte(`{"left-pad":[`+strings.Repeat(" ", maxAuditDecodedBytes)+`]}`))
	fits := gzipBytes(t, []byte(`{"left-pad":[`+strings.Repeat(" ", maxAuditDecodedBytes-100)+`]}`))
	// stored is gzip without compression: more than 8 MiB sent, less than 32 MiB decoded.
	var sb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&sb, gzip.NoCompression)
	_, _ = zw.Write(big)
	_ = zw.Close()
	stored := sb.Bytes()
	crc := gzipBytes(t, []byte(`{"left-pad":["1.0.0"]}`))
	crc[len(crc)-8] ^= 0xff // the trailer's CRC-32
	truncated := gzipBytes(t, []byte(`{"left-pad":["1.0.0"]}`))
	truncated = truncated[:len(truncated)-6]
	tests := []struct {
		name    string
		body    []byte
		header  http.Header
		chunked bool
		status  int
		want    string
	}{
		{"over 8 MiB announced", big, nil, false, 400, "larger than 8 MiB"},
		{"over 8 MiB chunked", big, nil, true, 400, "larger than 8 MiB"},
		{"over 8 MiB compressed", stored, gzipHeader, true, 400, "larger than 8 MiB"},
		{"over 32 MiB decoded", bomb, gzipHeader, false, 400, "larger than 32 MiB once decompressed"},
		{"just under 32 MiB decoded", fits, gzipHeader, false, 200, ""},
		{"bad checksum", crc, gzipHeader, false, 400, "not a valid gzip stream"},
		{"truncated gzip", truncated, gzipHeader, false, 400, "not a valid gzip stream"},
		{"garbage after gzip", append(gzipBytes(t, []byte("{}")), "garbage"...), gzipHeader, false, 400, "not a valid gzip stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{auditBulkPath, auditQuickPath} {
				r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(tt.body))
				if tt.chunked {
					r.ContentLength = -1
				}
				for k, vs := range tt.header {
					r.Header[k] = vs
				}
				w := httptest.NewRecorder()
				s.ServeHTTP(w, r)
				if w.Code != tt.status {
					t.Fatalf("POST %s = %d %s, want %d", path, w.Code, truncate(w.Body.String(), 200), tt.status)
				}
				if tt.want != "" {
					if msg := errorField(t, w); !strings.Contains(msg, tt.want) {
						t.Errorf("POST %s error = %q, want it to contain %q", path, msg, tt.want)
					}
				}
			}
		})
	}
}

// TestAuditNotLoaded: before the index has loaded every audit is a 503 saying so.
func TestAuditNotLoaded(t *testing.T) {
	for _, idx := range []AuditIndex{fakeIndex{}, nil} {
		s := auditServer(t, idx)
		for _, path := range []string{auditBulkPath, auditQuickPath} {
			w := post(s, path, []byte(`{"left-pad":["1.0.0"]}`), nil)
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("POST %s before load = %d %s, want 503", path, w.Code, w.Body)
			}
			if msg := errorField(t, w); !strings.Contains(msg, "advisory index has not loaded yet") {
				t.Errorf("POST %s before load: error = %q", path, msg)
			}
		}
	}
}

// TestAuditRouting: the two paths reach Mount.Audit on POST only, under any mount
// prefix; without Audit they stay unknown endpoints.
func TestAuditRouting(t *testing.T) {
	audit := func(w http.ResponseWriter, r *http.Request) error {
		_, _ = fmt.Fprintf(w, "audit %s", r.URL.Path)
		return nil
	}
	with, _ := newTestServer(t, Options{Mounts: []Mount{
		{Name: "npm", Path: "/", NPM: echoNPM, Audit: audit},
		{Name: "corp", Path: "/corp/npm/", NPM: echoNPM, Audit: audit},
	}})
	without, _ := newTestServer(t, Options{Mounts: []Mount{{Name: "npm", Path: "/", NPM: echoNPM}}})
	tests := []struct {
		name         string
		s            *Server
		method, path string
		status       int
		body         string // the body, or a substring of the error
		allow        string
	}{
		{"bulk", with, "POST", auditBulkPath, 200, "audit " + auditBulkPath, ""},
		{"quick", with, "POST", auditQuickPath, 200, "audit " + auditQuickPath, ""},
		{"under a prefix", with, "POST", "/corp/npm" + auditBulkPath, 200, "audit " + auditBulkPath, ""},
		{"GET bulk", with, "GET", auditBulkPath, 405, "method GET is not allowed here: this endpoint takes POST only", "POST"},
		{"PUT quick", with, "PUT", auditQuickPath, 405, "method PUT is not allowed here", "POST"},
		{"HEAD bulk", with, "HEAD", auditBulkPath, 405, "", "POST"},
		{"full audit is not served", with, "POST", "/-/npm/v1/security/audits", 404, "is not an endpoint Écluse serves", ""},
		{"trailing slash", with, "POST", auditBulkPath + "/", 404, "is not an endpoint Écluse serves", ""},
		{"package reads unchanged", with, "GET", "/left-pad", 200, "npm /left-pad /left-pad", ""},
		{"no audit handler", without, "POST", auditBulkPath, 404, "not found: " + auditBulkPath + " is not an endpoint Écluse serves", ""},
		{"no audit handler, GET", without, "GET", auditQuickPath, 404, "is not an endpoint Écluse serves", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(tt.s, tt.method, tt.path, nil)
			if w.Code != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, w.Code, w.Body, tt.status)
			}
			switch {
			case w.Code == 200:
				if w.Body.String() != tt.body {
					t.Errorf("%s %s body = %q, want %q", tt.method, tt.path, w.Body, tt.body)
				}
			case tt.method != "HEAD":
				if msg := errorField(t, w); !strings.Contains(msg, tt.body) {
					t.Errorf("%s %s error = %q, want it to contain %q", tt.method, tt.path, msg, tt.body)
				}
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("%s %s Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
			}
		})
	}
}

// TestAuditGzipResponse: a client accepting gzip gets a large answer compressed, and
// it decompresses to the identity answer.
func TestAuditGzipResponse(t *testing.T) {
	v := map[string]string{"x": strings.Repeat("y", 4096)}
	plain := httptest.NewRecorder()
	writeAuditJSON(plain, httptest.NewRequest(http.MethodPost, auditBulkPath, nil), v)
	zr := httptest.NewRequest(http.MethodPost, auditBulkPath, nil)
	zr.Header.Set("Accept-Encoding", "gzip, deflate, br")
	zipped := httptest.NewRecorder()
	writeAuditJSON(zipped, zr, v)
	if zipped.Header().Get("Content-Encoding") != "gzip" || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("Content-Encoding = %q (accepting gzip), %q (not)", zipped.Header().Get("Content-Encoding"), plain.Header().Get("Content-Encoding"))
	}
	if got := gunzip(t, zipped.Body.Bytes()); !bytes.Equal(got, plain.Body.Bytes()) {
		t.Errorf("gzip answer decompresses to %d bytes, want the %d of the plain one", len(got), plain.Body.Len())
	}
	if cl := zipped.Header().Get("Content-Length"); cl != strconv.Itoa(zipped.Body.Len()) {
		t.Errorf("Content-Length = %s, body %d", cl, zipped.Body.Len())
	}
}

func TestPatchedVersions(t *testing.T) {
	tests := []struct{ rng, patched, fixed string }{
		{"<1.3.0", ">=1.3.0", "1.3.0"},
		{"<1.3.0-beta.1", ">=1.3.0-beta.1", "1.3.0-beta.1"},
		{">=1.1.0 <1.2.0", "<1.1.0 || >=1.2.0", "1.2.0"},
		{"<=1.0.0", "", ""},
		{">=1.0.0", "", ""},
		{"<1.0.0 || >=2.0.0 <2.1.0", "", ""},
		{"<0.0.0-0", "", ""},
		{"1.0.0", "", ""},
		{"*", "", ""},
		{"", "", ""},
		{"<x", "", ""},
		{">=1.0.0 <=2.0.0", "", ""},
	}
	for _, tt := range tests {
		if p, f := patchedVersions(tt.rng); p != tt.patched || f != tt.fixed {
			t.Errorf("patchedVersions(%q) = %q, %q, want %q, %q", tt.rng, p, f, tt.patched, tt.fixed)
		}
	}
}

func TestAuditSeverity(t *testing.T) {
	tests := []struct {
		a    advisory.Advisory
		want string
	}{
		{advisory.Advisory{Severity: advisory.SeverityUnknown}, "moderate"},
		{advisory.Advisory{Severity: advisory.SeverityLow}, "low"},
		{advisory.Advisory{Severity: advisory.SeverityModerate}, "moderate"},
		{advisory.Advisory{Severity: advisory.SeverityHigh}, "high"},
		{advisory.Advisory{Severity: advisory.SeverityCritical}, "critical"},
		{advisory.Advisory{Severity: advisory.SeverityLow, Malicious: true}, "critical"},
		{advisory.Advisory{Malicious: true}, "critical"},
	}
	for _, tt := range tests {
		if got := auditSeverity(&tt.a); got != tt.want {
			t.Errorf("auditSeverity(%+v) = %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestRequestGzipped(t *testing.T) {
	tests := []struct {
		values []string
		gz     bool
		ok     bool
	}{
		{nil, false, true},
		{[]string{""}, false, true},
		{[]string{"identity"}, false, true},
		{[]string{"GZIP"}, true, true},
		{[]string{" x-gzip "}, true, true},
		{[]string{"gzip, identity"}, true, true},
		{[]string{"gzip", "gzip"}, false, false},
		{[]string{"br"}, false, false},
		{[]string{"gzip, deflate"}, false, false},
	}
	for _, tt := range tests {
		gz, err := requestGzipped(tt.values)
		if gz != tt.gz || (err == nil) != tt.ok {
			t.Errorf("requestGzipped(%q) = %v, %v, want %v, ok=%v", tt.values, gz, err, tt.gz, tt.ok)
		}
	}
}

// TestAliasTarget: an alias entry is audited as the package it installs.
func TestAliasTarget(t *testing.T) {
	tests := []struct{ name, version, pkg, v string }{
		{"a", "1.0.0", "a", "1.0.0"},
		{"a", "npm:b@2.0.0", "b", "2.0.0"},
		{"a", "npm:@s/b@2.0.0", "@s/b", "2.0.0"},
		{"a", "npm:b", "a", "npm:b"},
		{"a", "npm:@s/b", "a", "npm:@s/b"},
		{"a", "npm:.bad@1.0.0", "a", "npm:.bad@1.0.0"},
		{"a", "file:../a", "a", "file:../a"},
	}
	for _, tt := range tests {
		if pkg, v := aliasTarget(tt.name, tt.version); pkg != tt.pkg || v != tt.v {
			t.Errorf("aliasTarget(%q, %q) = %q, %q, want %q, %q", tt.name, tt.version, pkg, v, tt.pkg, tt.v)
		}
	}
}

// TestSpaceSquasher: runs of white space outside strings shrink to one byte, and
// nothing else changes, however the input is split into reads.
func TestSpaceSquasher(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, ``},
		{`{}`, `{}`},
		{"{ \n\t \"a\" :\r\n [ ] }", "{ \"a\" :\r[ ] }"},
		{`{"a  b":"c\"  d\\"   }`, `{"a  b":"c\"  d\\" }`},
		{`"\\\"  "  x`, `"\\\"  " x`},
		{"\n\n\n", "\n"},
		{`[1 2]`, `[1 2]`},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if split {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&spaceSquasher{r: r})
			if err != nil || string(got) != tt.want {
				t.Errorf("squash(%q, one byte at a time: %v) = %q, %v, want %q", tt.in, split, got, err, tt.want)
			}
		}
	}
}
