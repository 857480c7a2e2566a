package pypigate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/pypi"
	"github.com/ecluse/ecluse/internal/redact"
)

// BenchmarkPageDecide measures, side by side in one run, what a public project page
// of 5,000 files (1,000 releases, a wheel for each of four platforms and an sdist)
// costs to parse and what it costs to serve once parsed: every file decided by the
// policy (min-age and DenyInstallTimeExecution), the served page rendered as JSON.
// "decide-x-parse" is the ratio; the target is at most 3.
func BenchmarkPageDecide(b *testing.B) {
	pub := newIndex("https://index.example.test/simple/")
	for r := range 1000 {
		version := fmt.Sprintf("%d.%d.%d", r/100, (r/10)%10, r%10)
		age := old
		if r%7 == 0 {
			age = young
		}
		for _, tag := range []string{"cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-macosx_11_0_arm64", "cp312-cp312-win_amd64", "py3-none-any"} {
			pub.add(spec{name: "big", version: version, age: age, tag: tag})
		}
		pub.add(spec{name: "big", version: version, age: age, sdist: true})
	}
	page := pypi.RenderJSON(pub.pages["big"])
	g := New(Options{Public: pub, Policy: benchPolicy(b), Now: func() time.Time { return now }, MountPath: "/pypi/"})
	ctx := context.Background()
	if _, err := g.Page(ctx, "big", pypi.ContentTypeJSON, redact.Secret{}); err != nil {
		b.Fatal(err)
	}
	var parse, decide time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := pypi.ParseJSON(page, pypi.Limits{}); err != nil {
			b.Fatal(err)
		}
		parse += time.Since(start)
		start = time.Now()
		if _, err := g.Page(ctx, "big", pypi.ContentTypeJSON, redact.Secret{}); err != nil {
			b.Fatal(err)
		}
		decide += time.Since(start)
	}
	b.ReportMetric(float64(parse.Microseconds())/float64(b.N)/1e3, "parse-ms")
	b.ReportMetric(float64(decide.Microseconds())/float64(b.N)/1e3, "decide-ms")
	b.ReportMetric(float64(decide)/float64(parse), "decide-x-parse")
}

func benchPolicy(b *testing.B) Decider {
	p, errs := pypiPolicy(`{"min-age": {"type": "MinAge", "ageSeconds": 604800}, "no-build": {"type": "DenyInstallTimeExecution"}}`)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	return p
}
