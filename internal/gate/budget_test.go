package gate

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/policy"
)

// bigVersions makes a package with n old versions, so that its document is large.
func bigVersions(n int) []ver {
	vs := make([]ver, n)
	for i := range vs {
		vs[i] = ver{v: "1.0." + strconv.Itoa(i), age: 30 * day, body: strings.Repeat("x", 200)}
	}
	return vs
}

// TestCacheCountsWhatEntriesHold: the cache's byte count is the parsed documents' and
// renderings' measured footprints, not the raw body sizes, and a compressed copy is
// added once it is made.
func TestCacheCountsWhatEntriesHold(t *testing.T) {
	f := newFixture(t, "", nil)
	f.pub.add("big", "1.0.0", bigVersions(300)...)
	doc, err := f.gate.Packument(context.Background(), Query{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	_, used := f.gate.cache.stats()
	parsed := f.gate.cache.count(func(v any) bool { _, ok := v.(*fetched); return ok })
	if parsed != 1 {
		t.Fatalf("%d parsed documents cached, want 1", parsed)
	}
	v, ok := f.gate.cache.get(docKey(SourcePublic, "big", ""), now)
	if !ok {
		t.Fatal("the public document is not cached")
	}
	want := v.(*fetched).doc.Footprint() + doc.Body.Footprint() + 2*entryOverhead
	if used != want {
		t.Errorf("cache counts %d bytes, want the footprints %d", used, want)
	}
	gz, tag, err := doc.Gzip()
	if err != nil {
		t.Fatal(err)
	}
	if tag != GzipETag(doc.ETag) || tag == doc.ETag {
		t.Errorf("gzip ETag = %s for identity %s, want a distinct derived tag", tag, doc.ETag)
	}
	if _, after := f.gate.cache.stats(); after != want+int64(cap(gz)) {
		t.Errorf("after compressing, cache counts %d bytes, want %d + the copy's %d", after, want, cap(gz))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, doc.Body.Bytes()) {
		t.Fatalf("gzip copy decompresses to %d bytes (err %v), want exactly the %d-byte identity body", len(plain), err, doc.Body.Len())
	}
	// A warm request shares the copy: no second compression.
	warm, err := f.gate.Packument(context.Background(), Query{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	gz2, _, _ := warm.Gzip()
	if &gz2[0] != &gz[0] {
		t.Error("a warm request compressed the rendering again instead of serving the cached copy")
	}
}

// TestEvictedDocumentTakesItsRenderings: when a parsed document leaves the cache, the
// renderings that refer to it leave too, so nothing keeps the document's memory alive
// outside the cache's bound.
func TestEvictedDocumentTakesItsRenderings(t *testing.T) {
	f := newFixture(t, "", func(o *Options) { o.CacheMaxBytes = 400 << 10 })
	for _, name := range []string{"big-a", "big-b", "big-c"} {
		f.pub.add(name, "1.0.0", bigVersions(300)...)
	}
	for _, name := range []string{"big-a", "big-b", "big-c"} {
		for _, abbreviated := range []bool{false, true} {
			if _, err := f.gate.Packument(context.Background(), Query{Name: name, Abbreviated: abbreviated}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.gate.cache.mu.Lock()
	docs, renders := map[*fetched]bool{}, 0
	for _, el := range f.gate.cache.items {
		switch v := el.Value.(*lruEntry).value.(type) {
		case *fetched:
			docs[v] = true
		case *Document:
			renders++
		}
	}
	used, maxBytes := f.gate.cache.used, f.gate.cache.maxBytes
	f.gate.cache.mu.Unlock()
	if used > maxBytes {
		t.Fatalf("cache holds %d bytes over its bound %d", used, maxBytes)
	}
	if len(docs) == 3 {
		t.Fatalf("all three documents fit in %d bytes; the test needs eviction", maxBytes)
	}
	// Every cached rendering's documents are cached too.
	f.gate.cache.mu.Lock()
	defer f.gate.cache.mu.Unlock()
	for key, el := range f.gate.cache.items {
		d, ok := el.Value.(*lruEntry).value.(*Document)
		if !ok {
			continue
		}
		found := false
		for doc := range docs {
			doc.mu.Lock()
			for _, r := range doc.renders {
				if r.doc == d {
					found = true
				}
			}
			doc.mu.Unlock()
		}
		if !found {
			t.Errorf("rendering %q is cached but no cached document lists it: its document was evicted", key)
		}
	}
	if renders == 0 {
		t.Error("no rendering cached at all")
	}
}

// TestEvictionFreesTheDocument: after eviction nothing in the gate refers to the old
// document, so the collector reclaims it.
func TestEvictionFreesTheDocument(t *testing.T) {
	f := newFixture(t, "", func(o *Options) { o.CacheMaxBytes = 300 << 10 })
	f.pub.add("big-a", "1.0.0", bigVersions(300)...)
	f.pub.add("big-b", "1.0.0", bigVersions(300)...)
	if _, err := f.gate.Packument(context.Background(), Query{Name: "big-a"}); err != nil {
		t.Fatal(err)
	}
	freed := make(chan struct{})
	watch := func() {
		v, _ := f.gate.cache.get(docKey(SourcePublic, "big-a", ""), now)
		runtime.AddCleanup(v.(*fetched).doc, func(ch chan struct{}) { close(ch) }, freed)
	}
	watch()
	if _, err := f.gate.Packument(context.Background(), Query{Name: "big-b"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-freed:
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("big-a's parsed document is still reachable after it was evicted")
		}
		runtime.Gosched()
	}
}

// TestBudgetExhaustedIsBusy: a document fetch that finds no room in the memory budget
// within the wait bound fails as a BusyError (503 with Retry-After), and the next
// request, with room again, is served.
func TestBudgetExhaustedIsBusy(t *testing.T) {
	b := budget.New(64<<10, 20*time.Millisecond)
	f := newFixture(t, "", func(o *Options) { o.Budget = b })
	f.pub.add("big", "1.0.0", bigVersions(300)...)
	hog := b.Lease(100)
	if err := hog.Charge(context.Background(), 60<<10); err != nil {
		t.Fatal(err)
	}
	_, err := f.gate.Packument(context.Background(), Query{Name: "big"})
	var busy *BusyError
	if !errors.As(err, &busy) || busy.RetryAfterDelay() <= 0 {
		t.Fatalf("Packument with the budget held = %v, want *BusyError with a retry delay", err)
	}
	hog.Release()
	if _, err := f.gate.Packument(context.Background(), Query{Name: "big"}); err != nil {
		t.Fatalf("Packument after room was made = %v", err)
	}
	if b.InUse() != 0 {
		t.Errorf("budget holds %d bytes after the fetch ended, want 0", b.InUse())
	}
}

// TestDocumentLargerThanCacheIsNotKept: a document too large for the whole cache is
// served and dropped, and no rendering of it is cached either (one would keep the
// document alive outside the bound).
func TestDocumentLargerThanCacheIsNotKept(t *testing.T) {
	f := newFixture(t, "", func(o *Options) { o.CacheMaxBytes = 64 << 10 })
	f.pub.add("big", "1.0.0", bigVersions(300)...)
	for _, abbreviated := range []bool{true, false} {
		if _, err := f.gate.Packument(context.Background(), Query{Name: "big", Abbreviated: abbreviated}); err != nil {
			t.Fatal(err)
		}
	}
	if n, used := f.gate.cache.stats(); n != 0 || used != 0 {
		t.Errorf("cache holds %d entries, %d bytes after serving a document larger than it; want nothing", n, used)
	}
}

// countingDecider counts decisions.
type countingDecider struct {
	Decider
	n atomic.Int64
}

func (c *countingDecider) Decide(v *policy.Version, now time.Time) policy.Decision {
	c.n.Add(1)
	return c.Decider.Decide(v, now)
}

// TestVersionRefusalCached: asking again for a version or tag that is not served is
// answered from the cache, without deciding the whole document again.
func TestVersionRefusalCached(t *testing.T) {
	var counter *countingDecider
	f := newFixture(t, "", func(o *Options) {
		counter = &countingDecider{Decider: o.Policy}
		o.Policy = counter
	})
	f.pub.add("left-pad", "1.1.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "1.1.0", age: day})
	for _, version := range []string{"1.1.0", "no-such-tag"} {
		var nf *NotFoundError
		if _, err := f.gate.Packument(context.Background(), Query{Name: "left-pad", Version: version}); !errors.As(err, &nf) {
			t.Fatalf("first ask for %s: %v, want NotFoundError", version, err)
		}
		before := counter.n.Load()
		for range 3 {
			if _, err := f.gate.Packument(context.Background(), Query{Name: "left-pad", Version: version}); !errors.As(err, &nf) {
				t.Fatalf("repeat ask for %s: %v, want NotFoundError", version, err)
			}
		}
		if after := counter.n.Load(); after != before {
			t.Errorf("asking again for %s decided %d more versions, want none (the refusal is cached)", version, after-before)
		}
	}
	// The quarantine ending changes the answer: the cached refusal expires with it.
	f.advance(7 * day)
	if _, err := f.gate.Packument(context.Background(), Query{Name: "left-pad", Version: "1.1.0"}); err != nil {
		t.Errorf("after the quarantine, 1.1.0 = %v, want served", err)
	}
}
