package gate

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
)

// BenchmarkAdvisoryDecisions measures, side by side in one run, what the advisory rules
// add to deciding every version of next (about 3,000 versions): the same document decided
// with the built-in policy and no advisory about the package (the lookup alone), and
// with DenyIfCVE on and five advisories naming next, so that every version is matched
// against every advisory and the fast-track sorts the versions and marks its remedies.
// It reports the time of each and the difference ("advisory-extra-ms").
func BenchmarkAdvisoryDecisions(b *testing.B) {
	raw := loadPackument(b, "next.json.gz")
	doc, err := npm.ParsePackument(raw, "next", npm.Limits{MaxBytes: 64 << 20, MaxVersions: 100000, MaxDepth: 64})
	if err != nil {
		b.Fatal(err)
	}
	at := quarantineClock(b, "next", raw)
	pol, errs := policy.Build(json.RawMessage(`{"cve":{"type":"DenyIfCVE"}}`), policy.Options{Ordering: npm.Semver{}})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	semver := func(events string) string { return `"ranges":[{"type":"SEMVER","events":[` + events + `]}]` }
	snap := snapshotOf(b, 1,
		osvRecord("GHSA-0001-0001-0001", "next", semver(`{"introduced":"0"},{"fixed":"12.2.5"}`)),
		osvRecord("GHSA-0002-0002-0002", "next", semver(`{"introduced":"13.0.0"},{"fixed":"13.5.1"}`)),
		osvRecord("GHSA-0003-0003-0003", "next", semver(`{"introduced":"14.0.0"},{"fixed":"14.1.1"},{"introduced":"15.0.0"},{"fixed":"15.0.5"}`)),
		osvRecord("GHSA-0004-0004-0004", "next", semver(`{"introduced":"10.0.0"},{"last_affected":"11.1.4"}`)),
		osvRecord("GHSA-0005-0005-0005", "next", `"versions":["9.5.0","9.5.1","9.5.2"]`),
		osvRecord("GHSA-0006-0006-0006", "other-package", semver(`{"introduced":"0"}`)),
	)
	g := New(Options{Policy: pol, Now: func() time.Time { return at }})
	none := known{snap: snapshotOf(b, 1), loaded: true}
	some := known{snap: snap, loaded: true}
	if d := g.decideAll(doc, some, at); d.blocked == g.decideAll(doc, none, at).blocked {
		b.Fatal("the advisories changed no decision; the benchmark would measure nothing")
	}
	var base, with time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		g.decideAll(doc, none, at)
		base += time.Since(start)
		start = time.Now()
		g.decideAll(doc, some, at)
		with += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(len(doc.Versions)), "versions")
	b.ReportMetric(float64(base.Nanoseconds())/n/1e6, "no-advisory-ms")
	b.ReportMetric(float64(with.Nanoseconds())/n/1e6, "advisories-ms")
	b.ReportMetric(float64((with-base).Nanoseconds())/n/1e6, "advisory-extra-ms")
}
