package gate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/upstream"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cacheRig is the cache layer and the fill layer over a fake upstream, with no
// singleflight between them: the cache is tested on its own.
type cacheRig struct {
	lru   *lru
	clock *testClock
	up    *fakeDocs
	docs  docFetcher
}

// newCacheRig builds a cacheRig whose upstream answers with answer.
func newCacheRig(maxBytes int64, revalidateAfter time.Duration, answer func(docRequest) (*fetched, freshness, error)) *cacheRig {
	r := &cacheRig{lru: newCache(maxBytes), clock: &testClock{t: now}, up: &fakeDocs{answer: answer}}
	r.docs = &docCache{lru: r.lru, now: r.clock.Now, revalidateAfter: revalidateAfter,
		next: &docFill{lru: r.lru, now: r.clock.Now, next: r.up}}
	return r
}

// cached returns what the cache holds under req's key, or nil.
func (r *cacheRig) cached(req docRequest) *fetched {
	if v, ok := r.lru.get(req.key, r.clock.Now()); ok {
		return v.(*fetched)
	}
	return nil
}

// attachRendering caches a rendering made from f, as keepRendering does, and returns
// its key.
func (r *cacheRig) attachRendering(f *fetched, key string) string {
	doc := &Document{}
	f.mu.Lock()
	f.renders = append(f.renders, renderRef{key: key, doc: doc})
	f.mu.Unlock()
	r.lru.put(key, doc, 1, r.clock.Now().Add(time.Hour))
	return key
}

func (r *cacheRig) has(key string) bool {
	_, ok := r.lru.get(key, r.clock.Now())
	return ok
}

func isEvicted(f *fetched) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.evicted
}

var (
	errNotThere    = &NotFoundError{Message: "the registry does not have it"}
	errUnreachable = &UpstreamError{Message: "the registry could not be read", Cause: &upstream.UnavailableError{Origin: "public", Status: 503}}
)

// TestDocCache: a document is served from the cache until it expires, then fetched
// again; failures are never kept.
func TestDocCache(t *testing.T) {
	var r *cacheRig
	r = newCacheRig(1<<20, 0, func(req docRequest) (*fetched, freshness, error) {
		switch req.name {
		case "gone":
			return nil, 0, errNotThere
		case "down":
			return nil, 0, errUnreachable
		}
		return testDoc(t, req.name, "1.0.0", r.clock.Now()), downloaded, nil // expires in a minute
	})
	ctx := context.Background()
	var first *fetched
	steps := []struct {
		name      string
		req       docRequest
		advance   time.Duration
		wantCalls int64 // in all, so far
		wantFresh freshness
		wantErr   error
		wantFirst bool // the document is the one first fetched
	}{
		{"first fetch", publicReq("pkg"), 0, 1, downloaded, nil, true},
		{"hit", publicReq("pkg"), 0, 1, fromCache, nil, true},
		{"hit just before expiry", publicReq("pkg"), 59 * time.Second, 1, fromCache, nil, true},
		{"expired", publicReq("pkg"), time.Second, 2, downloaded, nil, false},
		{"not found", publicReq("gone"), 0, 3, 0, errNotThere, false},
		{"not found is not kept", publicReq("gone"), 0, 4, 0, errNotThere, false},
		{"temporary failure", publicReq("down"), 0, 5, 0, errUnreachable, false},
		{"temporary failure is not kept", publicReq("down"), 0, 6, 0, errUnreachable, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r.clock.advance(s.advance)
			got, fresh, err := r.docs.Fetch(ctx, s.req)
			if !errors.Is(err, s.wantErr) || (err == nil && fresh != s.wantFresh) {
				t.Errorf("Fetch(%s) = %v, %v; want %v, %v", s.req.name, fresh, err, s.wantFresh, s.wantErr)
			}
			if calls := r.up.calls.Load(); calls != s.wantCalls {
				t.Errorf("Fetch(%s): %d upstream calls in all, want %d", s.req.name, calls, s.wantCalls)
			}
			if first == nil {
				first = got
			}
			if err == nil && (got == first) != s.wantFirst {
				t.Errorf("Fetch(%s) gave the first document: %v, want %v", s.req.name, got == first, s.wantFirst)
			}
			if err != nil && got != nil {
				t.Errorf("Fetch(%s) failed with a document", s.req.name)
			}
		})
	}
	if r.cached(publicReq("gone")) != nil || r.cached(publicReq("down")) != nil {
		t.Error("a failure is cached")
	}
}

// TestDocCacheEviction: the least recently used document leaves when another needs its
// room, and takes the renderings made from it along; a document larger than the whole
// cache is served, not kept, and marked so that no rendering of it is kept either.
func TestDocCacheEviction(t *testing.T) {
	size := testDoc(t, "a", "1.0.0", now).doc.Footprint() + entryOverhead
	newRig := func(maxBytes int64) *cacheRig {
		var r *cacheRig
		r = newCacheRig(maxBytes, 0, func(req docRequest) (*fetched, freshness, error) {
			return testDoc(t, req.name, "1.0.0", r.clock.Now()), downloaded, nil
		})
		return r
	}
	ctx := context.Background()

	t.Run("least recently used", func(t *testing.T) {
		r := newRig(size * 3 / 2)
		a, _, _ := r.docs.Fetch(ctx, publicReq("a"))
		rendering := r.attachRendering(a, "r\x00a")
		if _, _, err := r.docs.Fetch(ctx, publicReq("b")); err != nil {
			t.Fatal(err)
		}
		if r.cached(publicReq("a")) != nil || r.cached(publicReq("b")) == nil {
			t.Fatal("b did not take a's place")
		}
		if r.has(rendering) || !isEvicted(a) {
			t.Error("a rendering made from the evicted document is still cached")
		}
		if _, fresh, _ := r.docs.Fetch(ctx, publicReq("a")); fresh != downloaded || r.up.calls.Load() != 3 {
			t.Errorf("the evicted document was %v after %d calls, want fetched again", fresh, r.up.calls.Load())
		}
	})
	t.Run("larger than the cache", func(t *testing.T) {
		r := newRig(size / 2)
		for i := range 2 {
			f, fresh, err := r.docs.Fetch(ctx, publicReq("a"))
			if err != nil || fresh != downloaded || !isEvicted(f) {
				t.Errorf("fetch %d: %v, %v, evicted %v; want served, fetched, marked evicted", i, fresh, err, f != nil && isEvicted(f))
			}
		}
		if n, used := r.lru.stats(); n != 0 || used != 0 || r.up.calls.Load() != 2 {
			t.Errorf("cache holds %d entries, %d bytes after %d calls; want nothing kept", n, used, r.up.calls.Load())
		}
	})
}

// TestDocCacheRevalidation: a cached private document goes down with the request once
// it is due, and the cache follows the answer: confirmed, replaced, dropped when the
// upstream no longer serves it to the caller, kept when the upstream could not answer.
func TestDocCacheRevalidation(t *testing.T) {
	ctx := context.Background()
	privateReq := docRequest{key: docKey(SourcePrivate, "corp", "k"), src: &docSource{origin: SourcePrivate}, name: "corp"}
	_, parseErr := npm.ParsePackument([]byte("{"), "corp", npm.Limits{})
	// rig answers a plain fetch with a new document and a revalidation with then(prev).
	rig := func(revalidateAfter time.Duration, then func(prev *fetched) (*fetched, freshness, error)) *cacheRig {
		var r *cacheRig
		r = newCacheRig(1<<20, revalidateAfter, func(req docRequest) (*fetched, freshness, error) {
			if req.prev == nil {
				return testDoc(t, req.name, "1.0.0", r.clock.Now()), downloaded, nil
			}
			return then(req.prev)
		})
		return r
	}

	t.Run("confirmed unchanged", func(t *testing.T) {
		r := rig(0, func(prev *fetched) (*fetched, freshness, error) { return prev, revalidated, nil })
		first, _, _ := r.docs.Fetch(ctx, privateReq)
		r.clock.advance(10 * time.Second)
		got, fresh, err := r.docs.Fetch(ctx, privateReq)
		if err != nil || got != first || fresh != revalidated {
			t.Fatalf("revalidation = %v, %v, same document %v; want the cached one, revalidated", fresh, err, got == first)
		}
		if prev := r.up.last().prev; prev != first {
			t.Error("the revalidation was not sent the cached copy")
		}
		if checked := time.Unix(0, first.checked.Load()); !checked.Equal(r.clock.Now()) {
			t.Errorf("confirmed at %v, want now (%v)", checked, r.clock.Now())
		}
		if r.cached(privateReq) != first {
			t.Error("the confirmed copy left the cache")
		}
	})
	t.Run("changed", func(t *testing.T) {
		var next *fetched
		r := rig(0, func(*fetched) (*fetched, freshness, error) { return next, downloaded, nil })
		first, _, _ := r.docs.Fetch(ctx, privateReq)
		rendering := r.attachRendering(first, "r\x00corp")
		next = testDoc(t, "corp", "1.1.0", r.clock.Now())
		got, fresh, err := r.docs.Fetch(ctx, privateReq)
		if err != nil || got != next || fresh != downloaded {
			t.Fatalf("revalidation = %v, %v; want the new document, downloaded", fresh, err)
		}
		if r.cached(privateReq) != next || r.has(rendering) || !isEvicted(first) {
			t.Error("the new document did not replace the old one and its renderings")
		}
	})
	for _, tt := range []struct {
		name string
		err  error
		kept bool
	}{
		{"not found", errNotThere, false},
		{"caller refused", &UpstreamDeniedError{Status: 403, Message: "access revoked"}, false},
		{"unusable document", &UpstreamError{Message: "unusable", Cause: parseErr, permanent: true}, false},
		{"unreachable", errUnreachable, true},
		{"budget", &BusyError{Message: "busy"}, true},
		{"too large to read", upstreamFailure(SourcePrivate, "corp", upstream.ErrTooLarge), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := rig(0, func(*fetched) (*fetched, freshness, error) { return nil, 0, tt.err })
			first, _, _ := r.docs.Fetch(ctx, privateReq)
			rendering := r.attachRendering(first, "r\x00corp")
			if _, _, err := r.docs.Fetch(ctx, privateReq); !errors.Is(err, tt.err) {
				t.Fatalf("revalidation error = %v, want %v", err, tt.err)
			}
			if kept := r.cached(privateReq) == first && r.has(rendering); kept != tt.kept {
				t.Errorf("after %v the copy and its rendering are kept: %v, want %v", tt.err, kept, tt.kept)
			}
		})
	}
	t.Run("RevalidateAfter", func(t *testing.T) {
		r := rig(30*time.Second, func(prev *fetched) (*fetched, freshness, error) { return prev, revalidated, nil })
		_, _, _ = r.docs.Fetch(ctx, privateReq)
		r.clock.advance(29 * time.Second)
		if _, fresh, _ := r.docs.Fetch(ctx, privateReq); fresh != fromCache || r.up.calls.Load() != 1 {
			t.Errorf("inside the window: %v after %d calls, want a hit", fresh, r.up.calls.Load())
		}
		r.clock.advance(time.Second)
		if _, fresh, _ := r.docs.Fetch(ctx, privateReq); fresh != revalidated || r.up.calls.Load() != 2 {
			t.Errorf("at the window's end: %v after %d calls, want a revalidation", fresh, r.up.calls.Load())
		}
	})
	t.Run("public documents are not revalidated", func(t *testing.T) {
		r := rig(0, func(*fetched) (*fetched, freshness, error) { return nil, 0, errUnreachable })
		_, _, _ = r.docs.Fetch(ctx, publicReq("pkg"))
		if _, fresh, err := r.docs.Fetch(ctx, publicReq("pkg")); err != nil || fresh != fromCache {
			t.Errorf("a cached public document = %v, %v; want a hit", fresh, err)
		}
	})
}
