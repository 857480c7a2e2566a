package gate

import (
	"context"
	"errors"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
)

// docCache is the outermost layer of the document fetch: it answers from the gate's
// cache while a document is cached, unless the document is private and was last
// confirmed by the private upstream revalidateAfter ago or more. Such a document is
// revalidated: it goes down with the request (docRequest.prev), so that the upstream is
// asked, with the caller's credential, whether it changed or still serves that caller.
// It only reads the cache; docFill, beneath the singleflight, writes it. Errors are
// never cached.
type docCache struct {
	lru *lru
	now func() time.Time
	// revalidateAfter is how long a private document is served without asking. Zero
	// means it is revalidated on every request.
	revalidateAfter time.Duration
	next            docFetcher
}

// Fetch answers req from the cache, or asks next.
func (c *docCache) Fetch(ctx context.Context, req docRequest) (*fetched, freshness, error) {
	now := c.now()
	if v, ok := c.lru.get(req.key, now); ok {
		f := v.(*fetched)
		if !req.private() || now.Before(time.Unix(0, f.checked.Load()).Add(c.revalidateAfter)) {
			return f, fromCache, nil
		}
		req.prev = f
	}
	return c.next.Fetch(ctx, req)
}

// docFill is the layer that writes the document fetch's answers to the gate's cache,
// beneath the singleflight, so that each answer is stored once, before its waiters are
// given it:
//
//   - a new document is cached until it expires, replacing the copy it revalidated (and
//     with it every rendering made from that copy). One larger than the whole cache is
//     served once and marked evicted, so that no rendering of it is cached either (one
//     would keep it alive, uncounted), and the copy it replaces is dropped too;
//   - a copy the upstream confirmed unchanged is marked confirmed now;
//   - a copy the upstream no longer serves the caller (see gone) is dropped, so that it
//     is never served again. Any other failure leaves it cached.
type docFill struct {
	lru  *lru
	now  func() time.Time
	next docFetcher
}

// Fetch asks next and keeps the cache in step with its answer.
func (c *docFill) Fetch(ctx context.Context, req docRequest) (*fetched, freshness, error) {
	f, fresh, err := c.next.Fetch(ctx, req)
	prev := req.prev
	switch {
	case err != nil:
		if prev != nil && gone(err) {
			c.lru.removeIf(req.key, prev)
		}
		return nil, 0, err
	case f == prev:
		prev.checked.Store(c.now().UnixNano())
		return f, fresh, nil
	}
	if !c.lru.put(req.key, f, f.doc.Footprint()+entryOverhead, f.expires) {
		f.mu.Lock()
		f.evicted = true
		f.mu.Unlock()
		if prev != nil {
			c.lru.removeIf(req.key, prev) // the new one could not be cached: the old must go
		}
	}
	return f, fresh, nil
}

// gone reports whether a revalidation's failure says that the upstream no longer serves
// the cached copy to the caller: it does not have the document (or hides it from the
// caller now), it refuses the caller, or it sends in its place one that fails
// validation. A failure to get an answer (a timeout, a 5xx, a full budget, a document
// too large to read) says nothing about the copy.
func gone(err error) bool {
	var (
		denied *UpstreamDeniedError
		bad    *npm.DocumentError
	)
	return errors.Is(err, ErrNotFound) || errors.As(err, &denied) || errors.As(err, &bad)
}

// entryOverhead is what a cache entry costs besides its value: the key, the list
// element and the map slot.
const entryOverhead = 256

// newCache returns the gate's cache, bounded to maxBytes: an lru in which a parsed
// document that leaves, for whatever reason, takes with it every rendering made from it.
func newCache(maxBytes int64) *lru {
	c := newLRU(maxBytes, nil)
	c.onRemove = func(_ string, value any) {
		if f, ok := value.(*fetched); ok {
			f.dropRenderings(c)
		}
	}
	return c
}

// dropRenderings marks f evicted, so that no rendering of it is cached from now on, and
// removes from c the renderings made from it.
func (f *fetched) dropRenderings(c *lru) {
	f.mu.Lock()
	f.evicted = true
	refs := f.renders
	f.renders = nil
	f.mu.Unlock()
	for _, r := range refs {
		c.removeIf(r.key, r.doc)
	}
}
