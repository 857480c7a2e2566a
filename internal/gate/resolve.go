package gate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
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

// upstreamFailure turns a source error into the gate's typed errors. An error that is
// already one of them is returned as it is.
func upstreamFailure(origin, name string, err error) error {
	var (
		ue   *UpstreamError
		ud   *UpstreamDeniedError
		busy *BusyError
	)
	if errors.As(err, &ue) || errors.As(err, &ud) || errors.As(err, &busy) {
		return err
	}
	var denied *upstream.DeniedError
	if errors.As(err, &denied) && origin == SourcePublic {
		// The public side is read anonymously; its refusal is an upstream failure, not
		// something to relay to the caller as an authentication problem.
		return &UpstreamError{Message: fmt.Sprintf("the public registry refused to serve %s (%d)", name, denied.Status), Cause: err, permanent: true}
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
		return &UpstreamError{Message: fmt.Sprintf("Écluse refused to fetch from the %s registry for %s: %s", origin, name, unavailable.Refusal), Cause: err, permanent: true}
	}
	if errors.Is(err, budget.ErrExhausted) {
		return &BusyError{
			Message:    fmt.Sprintf("Écluse is at its memory budget for upstream documents (PROXY_MAX_INFLIGHT_BYTES) and could not read %s in time; retry shortly", name),
			RetryAfter: busyRetryAfter,
			Cause:      err,
		}
	}
	if errors.Is(err, upstream.ErrTooLarge) {
		return &UpstreamError{Message: fmt.Sprintf("the %s registry's document for %s is larger than PROXY_MAX_RESPONSE_BYTES allows", origin, name), Cause: err, permanent: true}
	}
	return &UpstreamError{Message: fmt.Sprintf("the %s registry could not be read for %s", origin, name), Cause: err}
}

// resolve performs the private-first lookup and classification for name.
func (g *Gate) resolve(ctx context.Context, name string, cred redact.Secret) (*resolution, error) {
	priv, privFresh, err := g.fetch(ctx, g.opts.Private, name, cred)
	if g.isInternal(name) {
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, &NotFoundError{Message: fmt.Sprintf("%s is an internal package name and the private registry does not have it", name)}
			}
			return nil, upstreamFailure(SourcePrivate, name, err)
		}
		return &resolution{source: SourcePrivate, private: priv.doc, from: []*fetched{priv}, expires: priv.expires, fresh: privFresh}, nil
	}
	switch {
	case err == nil:
		return g.classifyPrivate(ctx, name, priv, privFresh), nil
	case errors.Is(err, ErrNotFound):
		// A registry may answer 404 to a caller it hides a name from: make sure the
		// name is not private before the public side is asked.
		if err := g.confirmAbsent(ctx, name); err != nil {
			return nil, err
		}
		pub, pubFresh, perr := g.fetch(ctx, g.opts.Public, name, redact.Secret{})
		if perr != nil {
			if errors.Is(perr, ErrNotFound) {
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
		if errors.Is(err, ErrNotFound) {
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
