package npm

import (
	"bytes"
	"runtime"
	"testing"
)

// TestFootprintMatchesMeasuredHeap holds Packument.Footprint and Text.Footprint to what
// the heap really keeps, on every real fixture: caches bound their memory by these
// estimates, so an estimate that falls short lets a cache hold more than its bound, and
// one far above wastes it.
func TestFootprintMatchesMeasuredHeap(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			raw := loadFixture(t, fx.file)
			var before, mid, after runtime.MemStats
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&before)
			p, err := ParsePackument(bytes.Clone(raw), fx.name, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&mid)
			keep := func(i int) bool { return i%2 == 0 }
			rewrite := func(v *Version) string {
				return "http://127.0.0.1:4873/" + v.Info.Name + "/-/x-" + v.Info.Version + ".tgz"
			}
			full, err := p.RenderText(keep, rewrite)
			if err != nil {
				t.Fatal(err)
			}
			abbr, err := p.RenderAbbreviatedText(keep, rewrite)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&after)
			check(t, "parsed document", p.Footprint(), int64(mid.HeapAlloc)-int64(before.HeapAlloc))
			check(t, "two renderings", full.Footprint()+abbr.Footprint(), int64(after.HeapAlloc)-int64(mid.HeapAlloc))
			runtime.KeepAlive(p)
			runtime.KeepAlive(full)
			runtime.KeepAlive(abbr)
		})
	}
}

func check(t *testing.T, what string, estimate, measured int64) {
	t.Helper()
	ratio := float64(estimate) / float64(max(measured, 1))
	t.Logf("%s: estimate %d, measured %d (%.3f)", what, estimate, measured, ratio)
	// Small measurements are noise-dominated (runtime bookkeeping of a few KB).
	if measured < 64<<10 {
		return
	}
	if ratio < 0.9 || ratio > 1.3 {
		t.Errorf("%s: footprint estimate %d is %.2f of the measured %d bytes, want 0.9 to 1.3", what, estimate, ratio, measured)
	}
}
