package gate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/redact"
)

// swappable is an advisory index a test replaces at will.
type swappable struct {
	p atomic.Pointer[advisory.Snapshot]
}

func (s *swappable) Snapshot() *advisory.Snapshot { return s.p.Load() }

// osvRecord is an OSV record naming an npm package.
func osvRecord(id, name, affected string) string {
	return `{"id":"` + id + `","modified":"2026-11-01T00:00:00Z","aliases":["CVE-2026-1111"],"summary":"a test advisory",` +
		`"database_specific":{"severity":"HIGH"},"affected":[{"package":{"ecosystem":"npm","name":"` + name + `"},` + affected + `}]}`
}

// snapshotOf builds an index of generation gen from OSV records.
func snapshotOf(t testing.TB, gen uint64, records ...string) *advisory.Snapshot {
	t.Helper()
	dir := t.TempDir()
	for i, r := range records {
		if err := os.WriteFile(filepath.Join(dir, strings.Repeat("r", i+1)+".json"), []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := advisory.ReadDir(dir, []string{advisory.EcosystemNPM}, advisory.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return advisory.Merge(gen, now, set)
}

const fixedIn101 = `"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.1"}]}]`

func TestAdvisoriesInDecisions(t *testing.T) {
	idx := &swappable{}
	f := newFixture(t, `{"rules":{"cve":{"type":"DenyIfCVE"}}}`, func(o *Options) { o.Advisories = idx; o.CacheTTL = 30 * day })
	f.pub.add("vuln", "1.0.2", ver{v: "1.0.0", age: 400 * day}, ver{v: "1.0.1", age: day}, ver{v: "1.0.2", age: day})
	f.pub.add("evil", "2.0.0", ver{v: "1.0.0", age: 500 * day}, ver{v: "2.0.0", age: 400 * day})
	ctx := context.Background()
	versions := func(name string) string {
		t.Helper()
		doc, err := f.gate.Packument(ctx, Query{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return keys(decode(t, doc.Body.Bytes()).Versions) + ";" + keys2(decode(t, doc.Body.Bytes()).Versions)
	}

	// Before the index loads, deny-malicious fails closed: nothing public is served.
	if _, err := f.gate.Tarball(ctx, TarballQuery{Name: "vuln", Version: "1.0.0"}); !isDenied(err, "advisory index has not loaded yet") {
		t.Fatalf("tarball before the index loads: %v", err)
	}

	idx.p.Store(snapshotOf(t, 1, osvRecord("GHSA-1111-2222-3333", "vuln", fixedIn101),
		`{"id":"MAL-2026-7","modified":"2026-11-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"evil"},"versions":["2.0.0"]}]}`))
	// The new generation takes effect at once, though the rendering above is cached.
	if got := versions("vuln"); got != ";1.0.1" {
		t.Errorf("vuln versions = %q, want only the fast-tracked 1.0.1", got)
	}
	if got := versions("evil"); got != "1.0.0;" {
		t.Errorf("evil versions = %q, want 1.0.0 (2.0.0 is malware)", got)
	}
	if _, err := f.gate.Tarball(ctx, TarballQuery{Name: "vuln", Version: "1.0.0"}); !isDenied(err, "GHSA-1111-2222-3333 (CVE-2026-1111, high severity)") {
		t.Errorf("vulnerable tarball: %v", err)
	}
	if _, err := f.gate.Tarball(ctx, TarballQuery{Name: "evil", Version: "2.0.0"}); !isDenied(err, "reported as malware (MAL-2026-7)") {
		t.Errorf("malware tarball: %v", err)
	}
	art, err := f.gate.Tarball(ctx, TarballQuery{Name: "vuln", Version: "1.0.1"})
	if err != nil {
		t.Fatalf("fast-tracked tarball: %v", err)
	}
	_ = art.Body.Close()

	ex, err := f.gate.Explain(ctx, "vuln", "", redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	if !ex.Advisories.Loaded || ex.Advisories.Generation != 1 {
		t.Errorf("explain index = %+v", ex.Advisories)
	}
	for _, v := range ex.Versions {
		var notes []string
		for _, a := range v.Advisories {
			notes = append(notes, a.ID+"/"+a.Fixes+"/"+strings.Join(a.Rules, ","))
		}
		got := v.Rule + " " + strings.Join(notes, " ")
		want := map[string]string{
			"1.0.0": "cve GHSA-1111-2222-3333//cve",
			"1.0.1": "remediation-fast-track GHSA-1111-2222-3333/1.0.0/remediation-fast-track",
			"1.0.2": "default-deny ",
		}[v.Version]
		if got != want {
			t.Errorf("explain %s = %q, want %q", v.Version, got, want)
		}
	}

	// An index without the records: the next request decides again.
	idx.p.Store(snapshotOf(t, 2))
	if got := versions("vuln"); got != "1.0.0;" {
		t.Errorf("vuln versions after the advisory left = %q, want 1.0.0 alone", got)
	}
}

// keys2 lists the fast-track test's versions keys does not know.
func keys2(m map[string]json.RawMessage) string {
	var out []string
	for _, v := range []string{"1.0.1", "1.0.2"} {
		if _, ok := m[v]; ok {
			out = append(out, v)
		}
	}
	return strings.Join(out, ",")
}

func isDenied(err error, want string) bool {
	var d *DeniedError
	return errors.As(err, &d) && strings.Contains(d.Message, want)
}

// TestFastTrackSkipsPrereleases: after an advisory that ends at last_affected, the
// lowest unaffected version may be a prerelease its owner just published; the
// fast-track admits the first release instead, and the prerelease waits.
func TestFastTrackSkipsPrereleases(t *testing.T) {
	idx := &swappable{}
	f := newFixture(t, "", func(o *Options) { o.Advisories = idx })
	f.pub.add("pre", "1.0.1-0", ver{v: "1.0.0", age: 400 * day}, ver{v: "1.0.1-0", age: day}, ver{v: "1.0.1", age: day}, ver{v: "1.0.2", age: day})
	idx.p.Store(snapshotOf(t, 1, osvRecord("GHSA-4444-5555-6666", "pre",
		`"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"last_affected":"1.0.0"}]}]`)))
	doc, err := f.gate.Packument(context.Background(), Query{Name: "pre"})
	if err != nil {
		t.Fatal(err)
	}
	s := decode(t, doc.Body.Bytes())
	var got []string
	for _, v := range []string{"1.0.0", "1.0.1-0", "1.0.1", "1.0.2"} {
		if _, ok := s.Versions[v]; ok {
			got = append(got, v)
		}
	}
	if strings.Join(got, ",") != "1.0.0,1.0.1" || s.DistTags["latest"] != "1.0.1" {
		t.Errorf("served %v (latest %q), want 1.0.0 and the fast-tracked release 1.0.1", got, s.DistTags["latest"])
	}
}
