package npm

import (
	"bytes"
	stdjson "encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// The benchmarks run over real packuments, side by side in one run, so their figures
// can be compared with each other (docs/performance.md). The targets are ratios against
// a plain validation of the same bytes with the v2 JSON API (jsontext, duplicate names
// allowed, as json.Valid does), the least any handling of an upstream document must
// do. The sub-benchmarks with a target also validate the same bytes between their
// iterations, with the timer stopped, and report their own time over that interleaved
// validation time as "x-validate": measured that way the ratio does not drift with the
// machine's load from one sub-benchmark to the next.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./internal/npm/

var benchFixtures = []fixture{fixtures[0], fixtures[1], fixtures[3]} // next, typescript, react

func BenchmarkPackument(b *testing.B) {
	for _, fx := range benchFixtures {
		raw := loadFixture(b, fx.file)
		parsed := mustParse(b, raw, fx.name)
		half := func(i int) bool { return i%2 == 0 }

		b.Run(fx.name+"/ValidatePlain", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if !jsontext.Value(raw).IsValid(jsontext.AllowDuplicateNames(true)) {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(fx.name+"/ValidateStrict", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if !jsontext.Value(raw).IsValid() {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(fx.name+"/ValidateEncodingJSON", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if !stdjson.Valid(raw) {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(fx.name+"/Copy", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				_ = bytes.Clone(raw)
			}
		})
		b.Run(fx.name+"/Parse", func(b *testing.B) {
			againstValidation(b, raw, func() {
				if _, err := ParsePackument(raw, fx.name, Limits{}); err != nil {
					b.Fatal(err)
				}
			})
		})
		// Cold is a packument miss: parse, read every version's policy view, withhold
		// half of the versions, and render the full document with tarballs rewritten.
		b.Run(fx.name+"/Cold", func(b *testing.B) {
			againstValidation(b, raw, func() {
				p, err := ParsePackument(raw, fx.name, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				keep := make([]bool, len(p.Versions))
				for i := range p.Versions {
					keep[i] = half(i) && p.Versions[i].Info.Integrity != "~"
				}
				if _, err := p.RenderText(func(i int) bool { return keep[i] }, gateURL); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fx.name+"/Render", func(b *testing.B) {
			againstValidation(b, raw, func() {
				if _, err := parsed.RenderText(half, gateURL); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fx.name+"/Abbreviated", func(b *testing.B) {
			againstValidation(b, raw, func() {
				if _, err := parsed.RenderAbbreviatedText(half, gateURL); err != nil {
					b.Fatal(err)
				}
			})
		})
		// DecodeEncode is the approach this package avoids, for scale: every manifest
		// decoded into generic values and the document encoded again.
		b.Run(fx.name+"/DecodeEncode", func(b *testing.B) {
			againstValidation(b, raw, func() {
				var doc map[string]any
				if err := stdjson.Unmarshal(raw, &doc); err != nil {
					b.Fatal(err)
				}
				if _, err := stdjson.Marshal(doc); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fx.name+"/Retained", func(b *testing.B) {
			var ratio float64
			for b.Loop() {
				ratio = retainedRatio(b, raw, fx.name)
			}
			b.ReportMetric(ratio, "x-raw-size")
		})
	}
}

// againstValidation benchmarks op and reports its time per operation over the time a
// plain jsontext validation of raw takes, as "x-validate". The validations run between
// operations, with the timer stopped, as often as it takes to spend about as long
// validating as operating: the two are sampled under the same conditions without
// validation dominating the run for the fast operations.
func againstValidation(b *testing.B, raw []byte, op func()) {
	b.SetBytes(int64(len(raw)))
	var own, validate time.Duration
	var ops, checks int
	for b.Loop() {
		if checks == 0 || validate < own {
			b.StopTimer()
			start := time.Now()
			if !jsontext.Value(raw).IsValid(jsontext.AllowDuplicateNames(true)) {
				b.Fatal("invalid")
			}
			validate += time.Since(start)
			checks++
			b.StartTimer()
		}
		start := time.Now()
		op()
		own += time.Since(start)
		ops++
	}
	perOp := float64(own) / float64(ops)
	perCheck := float64(validate) / float64(checks)
	b.ReportMetric(perOp/perCheck, "x-validate")
}

// retainedRatio parses raw and returns the heap a Packument keeps alive, counting the
// buffer it refers to, over the size of raw. The buffer is a fresh copy, so what is
// measured is exactly what a cache entry would hold.
func retainedRatio(tb testing.TB, raw []byte, name string) float64 {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	buf := bytes.Clone(raw)
	p, err := ParsePackument(buf, name, Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	// Two collections: the parser's scratch slices sit in sync.Pools, which keep their
	// contents through one collection. That scratch is shared by every parse in the
	// process, not held by this document.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(p)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(raw))
}

// BenchmarkSemverOrder is the one-time cost, per parsed document, of ordering next's
// versions for the advisory fast-track (SemverOrder caches it on the document).
func BenchmarkSemverOrder(b *testing.B) {
	raw := loadFixture(b, "next.json.gz")
	p, err := ParsePackument(raw, "next", Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.sortSemver()
	}
	b.ReportMetric(float64(len(p.Versions)), "versions")
}
