package gate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// Sources served, as reported in x-ecluse-source.
const (
	SourcePrivate      = "private"
	SourcePublic       = "public"
	SourceMirrorPublic = "mirror+public"
)

// fetched is one upstream document held in the cache. It records the renderings made
// from it so that they leave the cache when it does: a rendering refers to the
// document's bytes, and must not keep an evicted document alive unseen.
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

// resolution is what the private-first lookup found for one package.
type resolution struct {
	source  string
	private *npm.Packument // set for private and mirror+public
	public  *npm.Packument // set for public and mirror+public (nil when the public side failed)
	// from are the cached documents the resolution was made from.
	from []*fetched
	// warning is set when a mirror is served without the public side.
	warning string
	// expires is when the first of the underlying documents leaves the cache.
	expires time.Time
	// fresh is the most any of the documents took to have (see freshness).
	fresh freshness
}

// parseCharge is the share of a document's size that a fetch is charged for while it
// reads and parses it, in percent: the body, and the indexes the parser builds over it
// (at most a third more on real documents; see Packument.Footprint).
const parseCharge = 150

// docKey is the cache key of an upstream document.
func docKey(origin, name, credKey string) string {
	return "d\x00" + origin + "\x00" + name + "\x00" + credKey
}

// fetch returns src's document for name, from the cache or the upstream, collapsing
// concurrent identical fetches into one. Errors are never cached. A cached private
// document is revalidated with the private upstream, with the caller's credential,
// unless it was confirmed less than RevalidateAfter ago (see revalidate).
func (g *Gate) fetch(ctx context.Context, src Source, name string, cred redact.Secret) (*fetched, freshness, error) {
	private := src.Origin() == SourcePrivate
	credKey := ""
	if private {
		credKey = g.credentialKey(cred)
	}
	key := docKey(src.Origin(), name, credKey)
	now := g.opts.Now()
	if v, ok := g.cache.get(key, now); ok {
		f := v.(*fetched)
		if !private || now.Before(time.Unix(0, f.checked.Load()).Add(g.opts.RevalidateAfter)) {
			return f, fromCache, nil
		}
		return g.revalidate(ctx, src, name, cred, key, f)
	}
	// The fetch runs detached from the first caller's cancellation, bounded by its own
	// timeout, so one client hanging up does not fail the others sharing it; each caller
	// still stops waiting when its own context ends.
	ch := g.flight.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		// The document is charged to the memory budget while it is read and parsed;
		// once cached, the cache's own bound counts it.
		lease := g.opts.Budget.Lease(parseCharge)
		defer lease.Release()
		raw, val, err := download(fctx, src, name, cred, lease, upstream.Validators{})
		if err != nil {
			return nil, err
		}
		return g.keep(key, src.Origin(), name, raw, val)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, 0, r.Err
		}
		return r.Val.(*fetched), downloaded, nil
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

// download reads a document from src, conditionally on since when src can do that.
func download(ctx context.Context, src Source, name string, cred redact.Secret, lease *budget.Lease, since upstream.Validators) ([]byte, upstream.Validators, error) {
	if c, ok := src.(ConditionalSource); ok {
		return c.PackumentIfChanged(ctx, name, cred, lease, since)
	}
	raw, err := src.Packument(ctx, name, cred, lease)
	return raw, upstream.Validators{}, err
}

// keep parses a downloaded document and caches it under key.
func (g *Gate) keep(key, origin, name string, raw []byte, val upstream.Validators) (*fetched, error) {
	f := &fetched{}
	if origin == SourcePrivate {
		// Summed before parsing: the parser takes ownership of raw.
		f.sum, f.validators = sha256.Sum256(raw), val
	}
	doc, err := npm.ParsePackument(raw, name, g.opts.Limits)
	g.parses.Add(1)
	if err != nil {
		return nil, &UpstreamError{
			Message: fmt.Sprintf("the %s registry sent an unusable document for %s: %s", origin, name, publicDocError(err)),
			Cause:   err,
		}
	}
	now := g.opts.Now()
	f.doc, f.expires = doc, now.Add(g.opts.CacheTTL)
	f.checked.Store(now.UnixNano())
	if !g.cache.put(key, f, doc.Footprint()+entryOverhead, f.expires) {
		// Larger than the whole cache: served once and dropped. Marked evicted so
		// no rendering of it is cached either (one would keep it alive, uncounted).
		f.evicted = true
	}
	return f, nil
}

// revalidate asks the private upstream, with the caller's credential, whether the
// cached document f is still what it would serve that caller: conditionally, with the
// validators it sent, so that an unchanged document costs a 304 and nothing is parsed
// again (an upstream that sends no validators sends the document, which is kept when
// its bytes are the same). A 401 or 403 (the caller lost access) or a 404 (the package
// is gone, or hidden from the caller now) drops the cached copy and is returned, so it
// is never served again; a changed document replaces it, which drops every rendering
// made from it. Any other failure is returned and leaves the copy cached. Concurrent
// revalidations of one cached document share one request.
func (g *Gate) revalidate(ctx context.Context, src Source, name string, cred redact.Secret, key string, f *fetched) (*fetched, freshness, error) {
	ch := g.flight.DoChan("v\x00"+key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		lease := g.opts.Budget.Lease(parseCharge)
		defer lease.Release()
		raw, val, err := download(fctx, src, name, cred, lease, f.validators)
		var denied *upstream.DeniedError
		switch {
		case errors.Is(err, upstream.ErrNotModified):
			f.checked.Store(g.opts.Now().UnixNano())
			return f, nil
		case errors.Is(err, upstream.ErrNotFound) || errors.As(err, &denied):
			g.cache.removeIf(key, f)
			return nil, err
		case err != nil:
			return nil, err
		case sha256.Sum256(raw) == f.sum:
			f.checked.Store(g.opts.Now().UnixNano())
			return f, nil
		}
		nf, err := g.keep(key, src.Origin(), name, raw, val)
		if err != nil {
			g.cache.removeIf(key, f)
			return nil, err
		}
		nf.mu.Lock()
		evicted := nf.evicted
		nf.mu.Unlock()
		if evicted {
			g.cache.removeIf(key, f) // the new one could not be cached: the old must go
		}
		return nf, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, 0, r.Err
		}
		nf := r.Val.(*fetched)
		if nf == f {
			return f, revalidated, nil
		}
		return nf, downloaded, nil
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

// entryOverhead is what a cache entry costs besides its value: the key, the list
// element and the map slot.
const entryOverhead = 256

// fetchTimeout bounds one upstream document fetch shared by concurrent requests.
const fetchTimeout = 2 * time.Minute

// publicDocError is the client-facing text of a document validation error.
func publicDocError(err error) string {
	var de *npm.DocumentError
	if errors.As(err, &de) {
		return de.Error()
	}
	return "it is not a valid package document"
}

// upstreamFailure turns a source error into the gate's typed errors.
func upstreamFailure(origin, name string, err error) error {
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return err
	}
	var denied *upstream.DeniedError
	if errors.As(err, &denied) && origin == SourcePublic {
		// The public side is read anonymously; its refusal is an upstream failure, not
		// something to relay to the caller as an authentication problem.
		return &UpstreamError{Message: fmt.Sprintf("the public registry refused to serve %s (%d)", name, denied.Status), Cause: err}
	}
	if errors.As(err, &denied) {
		msg := denied.Message
		if msg == "" {
			msg = fmt.Sprintf("the %s registry refused access to %s (%d)", origin, name, denied.Status)
		}
		return &UpstreamDeniedError{Status: denied.Status, Message: msg}
	}
	var unavailable *upstream.UnavailableError
	if errors.As(err, &unavailable) && unavailable.Refusal != "" {
		return &UpstreamError{Message: fmt.Sprintf("Écluse refused to fetch from the %s registry for %s: %s", origin, name, unavailable.Refusal), Cause: err}
	}
	if errors.Is(err, budget.ErrExhausted) {
		return &BusyError{
			Message:    fmt.Sprintf("Écluse is at its memory budget for upstream documents (PROXY_MAX_INFLIGHT_BYTES) and could not read %s in time; retry shortly", name),
			RetryAfter: busyRetryAfter,
			Cause:      err,
		}
	}
	if errors.Is(err, upstream.ErrTooLarge) {
		return &UpstreamError{Message: fmt.Sprintf("the %s registry's document for %s is larger than PROXY_MAX_RESPONSE_BYTES allows", origin, name), Cause: err}
	}
	return &UpstreamError{Message: fmt.Sprintf("the %s registry could not be read for %s", origin, name), Cause: err}
}

// resolve performs the private-first lookup and classification for name.
func (g *Gate) resolve(ctx context.Context, name string, cred redact.Secret) (*resolution, error) {
	priv, privFresh, err := g.fetch(ctx, g.opts.Private, name, cred)
	if g.isInternal(name) {
		if err != nil {
			if errors.Is(err, upstream.ErrNotFound) {
				return nil, &NotFoundError{Message: fmt.Sprintf("%s is an internal package name and the private registry does not have it", name)}
			}
			return nil, upstreamFailure(SourcePrivate, name, err)
		}
		return &resolution{source: SourcePrivate, private: priv.doc, from: []*fetched{priv}, expires: priv.expires, fresh: privFresh}, nil
	}
	switch {
	case err == nil:
		return g.classifyPrivate(ctx, name, priv, privFresh), nil
	case errors.Is(err, upstream.ErrNotFound):
		// A registry may answer 404 to a caller it hides a name from: make sure the
		// name is not private before the public side is asked.
		if err := g.confirmAbsent(ctx, name); err != nil {
			return nil, err
		}
		pub, pubFresh, perr := g.fetch(ctx, g.opts.Public, name, redact.Secret{})
		if perr != nil {
			if errors.Is(perr, upstream.ErrNotFound) {
				return nil, &NotFoundError{Message: fmt.Sprintf("%s is not in the private or the public registry", name)}
			}
			return nil, upstreamFailure(SourcePublic, name, perr)
		}
		return &resolution{source: SourcePublic, public: pub.doc, from: []*fetched{pub}, expires: pub.expires, fresh: pubFresh}, nil
	default:
		// A private 401/403 is relayed; a private failure never falls back to the public side.
		return nil, upstreamFailure(SourcePrivate, name, err)
	}
}

// classifyPrivate decides whether a private document is an internal package (served
// alone) or a mirror of public versions (served with the admitted public versions).
// The public side is asked only about a document that looks like a copy of a public
// one (and never when NoMirrorLookup is set), and the document counts as a mirror only
// when every one of its versions is on the public side with the same integrity and the
// public registry's own tarball of it was seen to hash to that integrity.
func (g *Gate) classifyPrivate(ctx context.Context, name string, priv *fetched, privFresh freshness) *resolution {
	internal := &resolution{source: SourcePrivate, private: priv.doc, from: []*fetched{priv}, expires: priv.expires, fresh: privFresh}
	if g.opts.NoMirrorLookup || !priv.looksLikeCopy(name) {
		return internal
	}
	absentKey := "n\x00" + name
	if _, ok := g.cache.get(absentKey, g.opts.Now()); ok {
		return internal // the public side had no such package a moment ago
	}
	pub, pubFresh, err := g.fetch(ctx, g.opts.Public, name, redact.Secret{})
	if err != nil {
		if errors.Is(err, upstream.ErrNotFound) {
			// Remembered for classification only (a public 404 is never served from
			// the cache): until it expires the document is internal, which is the safe
			// answer should the name appear publicly meanwhile.
			g.cache.put(absentKey, publicAbsent{}, int64(len(absentKey))+entryOverhead, g.opts.Now().Add(g.opts.CacheTTL))
		} else {
			// Without the public side a mirror cannot be told from an internal package;
			// either way only the trusted private versions are served.
			internal.warning = "the public registry could not be read; serving the private registry's versions only"
			g.log.WarnContext(ctx, "public upstream failed while classifying a private package", "package", name, "error", err.Error())
		}
		return internal
	}
	if !sameIntegrity(priv.doc, pub.doc) || !g.verifiedCopies(ctx, name, priv.doc) {
		return internal
	}
	return &resolution{
		source:  SourceMirrorPublic,
		private: priv.doc,
		public:  pub.doc,
		from:    []*fetched{priv, pub},
		expires: minTime(priv.expires, pub.expires),
		fresh:   max(privFresh, pubFresh),
	}
}

// publicAbsent marks, in the cache, a name the public registry did not have when a
// private document of that name was classified.
type publicAbsent struct{}

// sameIntegrity reports whether every private version exists publicly with the same
// integrity string. It is necessary for a mirror, not sufficient: integrity strings are
// public knowledge (lockfiles carry them), so verifiedCopies must confirm them.
func sameIntegrity(priv, pub *npm.Packument) bool {
	if len(priv.Versions) == 0 {
		return false
	}
	for i := range priv.Versions {
		v := &priv.Versions[i].Info
		p := pub.Find(v.Version)
		if p == nil || p.Info.Integrity == "" || p.Info.Integrity != v.Integrity {
			return false
		}
	}
	return true
}

// looksLikeCopy reports, once per cached document, whether a private document could be
// a copy of a public one (see looksLikeCopy).
func (f *fetched) looksLikeCopy(name string) bool {
	f.copyOnce.Do(func() { f.copyLike = looksLikeCopy(f.doc, name) })
	return f.copyLike
}

// looksLikeCopy is the local test a private document must pass before its name is sent
// to the public registry for classification: every version carries an integrity digest
// Écluse can verify (sha256 or stronger; a copy keeps the public one, and the integrity
// floor admits no public version without one), and a tarball URL whose path ends the
// way a registry names that version's tarball, "{name}/-/{unscoped name}-{version}.tgz"
// (some registries write the scoped name in the file: "{name}/-/{name}-{version}.tgz"),
// since a copy is published from the public tarball and keeps its file name. A document
// that fails it cannot be a mirror Écluse could verify, so nothing is asked about it.
func looksLikeCopy(doc *npm.Packument, name string) bool {
	if len(doc.Versions) == 0 {
		return false
	}
	base := name[strings.LastIndexByte(name, '/')+1:]
	for i := range doc.Versions {
		v := &doc.Versions[i]
		if npm.StrongestAlgorithm(v.Info.Integrity) == npm.AlgorithmNone {
			return false
		}
		u, err := url.Parse(v.Tarball)
		if err != nil {
			return false
		}
		file := "-" + v.Info.Version + ".tgz"
		if !strings.HasSuffix(u.Path, "/"+name+"/-/"+base+file) && !strings.HasSuffix(u.Path, "/"+name+"/-/"+name+file) {
			return false
		}
	}
	return true
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
