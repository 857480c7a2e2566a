package gate

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// The document fetch is how the gate has an upstream document, parsed: a stack of
// layers, each a docFetcher wrapping the next, so that each is tested on its own and a
// cross-cutting concern (tracing, metrics) is one more wrapper rather than an edit to
// the others. newDocFetch builds it, outermost first:
//
//	docCache    answers from the cache; sends a private document due for revalidation
//	            down with the request (docRequest.prev)
//	docFlight   collapses concurrent fetches of one key into one call, detached from
//	            the callers' cancellation
//	docFill     writes the answer to the cache, or drops the copy it revalidated
//	parsedDocs  downloads under a budget lease, conditionally when it revalidates, and
//	            parses
//
// The cache is written beneath the singleflight and read above it (athens' stasher
// saves inside its singleflight the same way), so that a fetched document is cached
// once, before anyone waiting for it is answered: a request arriving meanwhile finds it
// instead of fetching it again, and a fetch every caller gave up on is still kept.

// docFetcher is one layer of the document fetch.
type docFetcher interface {
	// Fetch returns the document req asks for and what it took to have it, or why it
	// could not: a *NotFoundError, *UpstreamDeniedError, *UpstreamError or *BusyError
	// (each says through Temporary whether asking again soon may succeed), or ctx.Err()
	// once the caller stopped waiting. It honours ctx and is called from many
	// goroutines at once. The document is shared: nobody modifies it but for its
	// bookkeeping (checked, renders, evicted).
	Fetch(ctx context.Context, req docRequest) (*fetched, freshness, error)
}

var (
	_ docFetcher = (*docCache)(nil)
	_ docFetcher = (*docFlight)(nil)
	_ docFetcher = (*docFill)(nil)
	_ docFetcher = (*parsedDocs)(nil)
)

// docRequest asks for one upstream document.
type docRequest struct {
	// key is the document's cache key (docKey). Requests with one key are answered with
	// one document, so everything the answer depends on is in it.
	key  string
	src  Source
	name string
	// cred is the caller's credential; src decides whether to send it.
	cred redact.Secret
	// prev, when set, is the cached copy being revalidated: the download is
	// conditional on its validators, and prev is the answer when it has not changed.
	prev *fetched
}

// private reports whether the request is for the private upstream's document.
func (r *docRequest) private() bool { return r.src.Origin() == SourcePrivate }

// flightKey is what concurrent requests are collapsed by: a revalidation shares its
// call only with other revalidations, since its answer may be the copy it holds.
func (r *docRequest) flightKey() string {
	if r.prev != nil {
		return "v\x00" + r.key
	}
	return r.key
}

// docKey is the cache key of an upstream document.
func docKey(origin, name, credKey string) string {
	return "d\x00" + origin + "\x00" + name + "\x00" + credKey
}

// newDocFetch builds the document fetch over the gate's cache c (see newCache).
// parses counts the documents parsed.
func newDocFetch(c *lru, opts Options, parses *atomic.Int64) docFetcher {
	parsed := &parsedDocs{limits: opts.Limits, budget: opts.Budget, ttl: opts.CacheTTL, now: opts.Now, parses: parses}
	fill := &docFill{lru: c, now: opts.Now, next: parsed}
	return &docCache{lru: c, now: opts.Now, revalidateAfter: opts.RevalidateAfter, next: newDocFlight(fill, fetchTimeout)}
}

// fetchTimeout bounds one upstream document fetch shared by concurrent requests.
const fetchTimeout = 2 * time.Minute

// fetch returns src's document for name, from the cache or the upstream, through the
// layers of the document fetch. Errors are never cached. A cached private document is
// revalidated with the private upstream, with the caller's credential, unless it was
// confirmed less than RevalidateAfter ago (see docCache).
func (g *Gate) fetch(ctx context.Context, src Source, name string, cred redact.Secret) (*fetched, freshness, error) {
	origin, credKey := src.Origin(), ""
	if origin == SourcePrivate {
		credKey = g.credentialKey(cred)
	}
	return g.docs.Fetch(ctx, docRequest{key: docKey(origin, name, credKey), src: src, name: name, cred: cred})
}

// fetched is one upstream document, parsed, as the cache holds it. It records the
// renderings made from it so that they leave the cache when it does: a rendering refers
// to the document's bytes, and must not keep an evicted document alive unseen.
type fetched struct {
	doc     *npm.Packument
	expires time.Time

	// validators are what the upstream sent to make a later request conditional (zero
	// when it sent none); sum is the SHA-256 of the document's bytes, so that a private
	// document downloaded again unchanged keeps this parsed value. Both are set for
	// private documents only, and never change.
	validators upstream.Validators
	sum        [sha256.Size]byte
	// checked is when the private upstream last confirmed the document to its caller,
	// in Unix nanoseconds.
	checked atomic.Int64

	// copyLike caches looksLikeCopy for a private document, computed once.
	copyOnce sync.Once
	copyLike bool

	mu      sync.Mutex
	evicted bool
	renders []renderRef
}

// renderRef names one cached rendering made from a document.
type renderRef struct {
	key string
	doc *Document
}

// freshness says what it took to have a document, from least to most: nothing (it was
// cached), a question the upstream answered "unchanged", or a download.
type freshness uint8

const (
	fromCache freshness = iota
	revalidated
	downloaded
)

// header is the freshness as reported in x-ecluse-cache.
func (f freshness) header() string {
	switch f {
	case fromCache:
		return "hit"
	case revalidated:
		return "revalidated"
	}
	return "miss"
}
