package gate

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"runtime"
	"testing"
)

// TestCachedPackumentMemory measures what a package costs the gate's caches once it
// has been served in full and in the abbreviated form: the parsed document (which
// TestRetainedMemory in internal/npm holds to 1.5 times the document's size) plus both
// renderings. The renderings refer to the parsed document's bytes instead of copying
// them, so they add only their pieces, keys and rewritten URLs: 0.05 to 0.3 times the
// size on the fixtures, the most for react's many small manifests. The bound catches a
// rendering that copies the document again (that alone would add 1.5 or more).
func TestCachedPackumentMemory(t *testing.T) {
	for _, fx := range []struct{ name, file string }{
		{"next", "next.json.gz"},
		{"typescript", "typescript.json.gz"},
		{"@types/node", "types__node.json.gz"},
		{"react", "react.json.gz"},
		{"express", "express.json.gz"},
		{"lodash", "lodash.json.gz"},
	} {
		t.Run(fx.name, func(t *testing.T) {
			// The upstream's copy is the buffer a real fetch would hand over: sized to
			// the document, and adopted by the parser.
			raw := bytes.Clone(loadPackument(t, fx.file))
			g := benchGate(t, fx.name, raw, quarantineClock(t, fx.name, raw))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&before)
			for _, abbreviated := range []bool{false, true, false, true} {
				if _, err := g.Packument(context.Background(), Query{Name: fx.name, Abbreviated: abbreviated}); err != nil {
					t.Fatal(err)
				}
			}
			// Two collections: the parser's scratch slices, shared by every parse, sit in
			// sync.Pools that keep their contents through one collection.
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&after)
			if n := g.cache.count(isRendering); n != 2 {
				t.Fatalf("%d renderings cached, want 2", n)
			}
			// raw was allocated before the first reading and is the parsed document's
			// own bytes, so it is added back.
			held := float64(len(raw)) + float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))
			ratio := held / float64(len(raw))
			t.Logf("%s: %d bytes, cached with both renderings %.3fx", fx.name, len(raw), ratio)
			if ratio > 1.65 {
				t.Errorf("%s: cached packument and renderings hold %.2fx its size, want at most 1.65x", fx.name, ratio)
			}
			runtime.KeepAlive(g)
		})
	}
}

// isRendering matches cached renderings (lru.count's argument).
func isRendering(v any) bool {
	_, ok := v.(*Document)
	return ok
}

// TestGzipOfRealDocuments: on real documents the compressed copy served to gzip clients
// is at most a quarter of the identity body (npm, pnpm and yarn all ask for gzip), and
// decodes to it exactly. react's abbreviated form is mostly its 2,963 random-looking
// integrity digests, which no compressor shrinks, so it is held to a third.
func TestGzipOfRealDocuments(t *testing.T) {
	for _, fx := range []struct {
		name, file string
		ratio      int
	}{
		{"next", "next.json.gz", 4},
		{"react", "react.json.gz", 3},
		{"typescript", "typescript.json.gz", 4},
	} {
		t.Run(fx.name, func(t *testing.T) {
			raw := loadPackument(t, fx.file)
			g := benchGate(t, fx.name, raw, quarantineClock(t, fx.name, raw))
			for _, abbreviated := range []bool{true, false} {
				d, err := g.Packument(context.Background(), Query{Name: fx.name, Abbreviated: abbreviated})
				if err != nil {
					t.Fatal(err)
				}
				gz, _, err := d.Gzip()
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s abbreviated=%v: %d bytes, gzip %d (1/%.1f)", fx.name, abbreviated, d.Body.Len(), len(gz), float64(d.Body.Len())/float64(len(gz)))
				if len(gz)*fx.ratio > d.Body.Len() {
					t.Errorf("%s abbreviated=%v: gzip %d bytes for %d identity bytes, want at most 1/%d", fx.name, abbreviated, len(gz), d.Body.Len(), fx.ratio)
				}
				zr, err := gzip.NewReader(bytes.NewReader(gz))
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(plain, d.Body.Bytes()) {
					t.Fatalf("gzip copy does not decode to the identity body (err %v)", err)
				}
			}
		})
	}
}
