package gate

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

	mu      sync.Mutex
	evicted bool
	renders []renderRef
}

// renderRef names one cached rendering made from a document.
type renderRef struct {
	key string
	doc *Document
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
	// cacheHit is true when every document came from the cache.
	cacheHit bool
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
// concurrent identical fetches into one. Errors are never cached.
func (g *Gate) fetch(ctx context.Context, src Source, name string, cred redact.Secret) (*fetched, bool, error) {
	credKey := ""
	if src.Origin() == SourcePrivate {
		credKey = g.credentialKey(cred)
	}
	key := docKey(src.Origin(), name, credKey)
	now := g.opts.Now()
	if v, ok := g.cache.get(key, now); ok {
		return v.(*fetched), true, nil
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
		raw, err := src.Packument(fctx, name, cred, lease)
		if err != nil {
			return nil, err
		}
		doc, err := npm.ParsePackument(raw, name, g.opts.Limits)
		if err != nil {
			return nil, &UpstreamError{
				Message: fmt.Sprintf("the %s registry sent an unusable document for %s: %s", src.Origin(), name, publicDocError(err)),
				Cause:   err,
			}
		}
		f := &fetched{doc: doc, expires: g.opts.Now().Add(g.opts.CacheTTL)}
		if !g.cache.put(key, f, doc.Footprint()+entryOverhead, f.expires) {
			// Larger than the whole cache: served once and dropped. Marked evicted so
			// no rendering of it is cached either (one would keep it alive, uncounted).
			f.evicted = true
		}
		return f, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, false, r.Err
		}
		return r.Val.(*fetched), false, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
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
	priv, privHit, err := g.fetch(ctx, g.opts.Private, name, cred)
	if g.isInternal(name) {
		if err != nil {
			if errors.Is(err, upstream.ErrNotFound) {
				return nil, &NotFoundError{Message: fmt.Sprintf("%s is an internal package name and the private registry does not have it", name)}
			}
			return nil, upstreamFailure(SourcePrivate, name, err)
		}
		return &resolution{source: SourcePrivate, private: priv.doc, from: []*fetched{priv}, expires: priv.expires, cacheHit: privHit}, nil
	}
	switch {
	case err == nil:
		return g.classifyPrivate(ctx, name, priv, privHit), nil
	case errors.Is(err, upstream.ErrNotFound):
		pub, pubHit, perr := g.fetch(ctx, g.opts.Public, name, redact.Secret{})
		if perr != nil {
			if errors.Is(perr, upstream.ErrNotFound) {
				return nil, &NotFoundError{Message: fmt.Sprintf("%s is not in the private or the public registry", name)}
			}
			return nil, upstreamFailure(SourcePublic, name, perr)
		}
		return &resolution{source: SourcePublic, public: pub.doc, from: []*fetched{pub}, expires: pub.expires, cacheHit: pubHit}, nil
	default:
		// A private 401/403 is relayed; a private failure never falls back to the public side.
		return nil, upstreamFailure(SourcePrivate, name, err)
	}
}

// classifyPrivate decides whether a private document is an internal package (served
// alone) or a mirror of public versions (served with the admitted public versions).
func (g *Gate) classifyPrivate(ctx context.Context, name string, priv *fetched, privHit bool) *resolution {
	internal := &resolution{source: SourcePrivate, private: priv.doc, from: []*fetched{priv}, expires: priv.expires, cacheHit: privHit}
	pub, pubHit, err := g.fetch(ctx, g.opts.Public, name, redact.Secret{})
	if err != nil {
		if !errors.Is(err, upstream.ErrNotFound) {
			// Without the public side a mirror cannot be told from an internal package;
			// either way only the trusted private versions are served.
			internal.warning = "the public registry could not be read; serving the private registry's versions only"
			g.log.WarnContext(ctx, "public upstream failed while classifying a private package", "package", name, "error", err.Error())
		}
		return internal
	}
	if !isMirror(priv.doc, pub.doc) {
		return internal
	}
	return &resolution{
		source:   SourceMirrorPublic,
		private:  priv.doc,
		public:   pub.doc,
		from:     []*fetched{priv, pub},
		expires:  minTime(priv.expires, pub.expires),
		cacheHit: privHit && pubHit,
	}
}

// isMirror reports whether every private version exists publicly with the same integrity.
func isMirror(priv, pub *npm.Packument) bool {
	if len(priv.Versions) == 0 {
		return false
	}
	byVersion := make(map[string]string, len(pub.Versions))
	for i := range pub.Versions {
		byVersion[pub.Versions[i].Info.Version] = pub.Versions[i].Info.Integrity
	}
	for i := range priv.Versions {
		v := &priv.Versions[i].Info
		integrity, ok := byVersion[v.Version]
		if !ok || integrity == "" || integrity != v.Integrity {
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
