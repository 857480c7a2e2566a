package gate

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
)

// Content types of served documents.
const (
	ContentTypeJSON        = "application/json"
	ContentTypeAbbreviated = "application/vnd.npm.install-v1+json"
)

// Query asks for a package document.
type Query struct {
	Name string
	// Version, when set, asks for one version's manifest: an exact version or a dist-tag.
	Version string
	// Abbreviated asks for npm's abbreviated install form.
	Abbreviated bool
	// Credential is the caller's Authorization header value (passthrough strategy).
	Credential redact.Secret
}

// Document is a served package document.
type Document struct {
	// Body is the served text; it shares bytes with the cached upstream document.
	Body        npm.Text
	ContentType string
	// ETag is computed from Body, quoted.
	ETag string
	// Source is private, public or mirror+public.
	Source string
	// Blocked counts public versions removed; Warned counts warn-mode findings.
	Blocked, Warned int
	// Cache is "hit" when served without asking an upstream, "revalidated" when the
	// private upstream confirmed the cached private document unchanged, else "miss".
	Cache string
	// Warning is set when the document is served degraded (mirror without public side).
	Warning string
	// Signing is the x-ecluse-signing value: SignatureVerified, SignatureWarn or
	// SignatureOff.
	Signing string

	// enc holds the compressed copy, made once per rendering and shared by every copy
	// of this value handed out.
	enc *encodings
	// from are the cached documents the rendering was made from; a cached rendering
	// with a private one is served only while the private lookup still resolves to
	// exactly these documents.
	from []*fetched
	// missing, when set, makes this a cached refusal: a version or tag query that
	// resolved to nothing served.
	missing *NotFoundError
}

// decision is the outcome for one public version.
type decided struct {
	keep       []bool // indexed like the public document's versions
	blocked    int
	warned     int
	nextChange time.Time // earliest AdmitAt after now; zero when none
	// warnedBy counts warn-mode findings per rule; nil when there are none.
	warnedBy map[string]int
}

// decideAll runs the policy over every version of an untrusted document.
func (g *Gate) decideAll(doc *npm.Packument, k known, now time.Time) decided {
	return g.decideVersions(doc, k, now, nil)
}

// decideObserved is decideAll under a "policy.decide" span, counting the versions
// blocked by each rule.
func (g *Gate) decideObserved(ctx context.Context, doc *npm.Packument, k known, now time.Time) decided {
	ctx, span, t, byRule := startDecide(ctx)
	d := g.decideVersions(doc, k, now, byRule)
	endDecide(ctx, span, t, doc.Name, len(doc.Versions), &d, byRule)
	return d
}

// decideVersions is decideAll, also counting the versions blocked by each rule in
// byRule when it is not nil.
func (g *Gate) decideVersions(doc *npm.Packument, k known, now time.Time, byRule map[string]int) decided {
	d := decided{keep: make([]bool, len(doc.Versions)), nextChange: g.opts.Policy.NextExpiry(now)}
	a := g.adviceFor(k, doc, now)
	// Every signature is checked at once, on every core for a first sight.
	verdicts := a.sig.publicAll(doc)
	// One view serves every version in turn (and its digests' backing array with it):
	// each decision is read to the end before the next version is filled in.
	view := new(policy.Version)
	for i := range doc.Versions {
		var verdict *string
		if verdicts != nil {
			verdict = &verdicts[i]
		}
		dec := g.decideWith(&doc.Versions[i].Info, view, a, now, verdict)
		d.keep[i] = dec.Allowed
		if !dec.Allowed {
			d.blocked++
			if byRule != nil {
				byRule[dec.Rule]++
			}
		}
		d.warned += len(dec.Warned)
		for _, r := range dec.Warned {
			if d.warnedBy == nil {
				d.warnedBy = map[string]int{}
			}
			d.warnedBy[r]++
		}
		if at := dec.AdmitAt; !at.IsZero() && at.After(now) && (d.nextChange.IsZero() || at.Before(d.nextChange)) {
			d.nextChange = at
		}
	}
	return d
}

// etag identifies a served body for conditional requests: two CRC-32s (Castagnoli and
// IEEE, both computed by the CPU's own instructions) and the length. It is a cache
// validator, not a seal: a 304 only lets a client keep a document Écluse served it
// earlier, and every tarball is decided again when it is fetched, so a forged
// collision could not get a denied version installed. A cryptographic hash would be
// the single largest cost of a cold serve of a large document (about 10 ms for 16 MB,
// against 1.5 ms).
func etag(body npm.Text) string {
	var sums crcPair
	_, _ = body.WritePieces(&sums) // never fails
	var raw [8]byte
	binary.BigEndian.PutUint32(raw[:4], sums.castagnoli)
	binary.BigEndian.PutUint32(raw[4:], sums.ieee)
	b := make([]byte, 0, 40)
	b = append(b, '"')
	b = hex.AppendEncode(b, raw[:])
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(body.Len()), 16)
	return string(append(b, '"'))
}

// crcPair computes both checksums of what is written to it.
type crcPair struct{ castagnoli, ieee uint32 }

func (c *crcPair) Write(p []byte) (int, error) {
	c.castagnoli = crc32.Update(c.castagnoli, castagnoli, p)
	c.ieee = crc32.Update(c.ieee, crc32.IEEETable, p)
	return len(p), nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Packument serves a package document (full or abbreviated), or one version's manifest.
func (g *Gate) Packument(ctx context.Context, q Query) (*Document, error) {
	if err := npm.ValidateName(q.Name); err != nil {
		return nil, &BadRequestError{Message: err.Error()}
	}
	notePackage(ctx, q.Name, q.Version)
	form := "full"
	if q.Abbreviated {
		form = "abbreviated"
	}
	if q.Version != "" {
		form = "version\x00" + q.Version
	}
	// The advisory snapshot is taken once: the rendering is decided with it, and cached
	// under its generation, so a new index takes effect on the next request.
	k := g.known(ctx)
	key := renderKey(q.Name, form, g.credentialKey(q.Credential), k.generation(), k.sig.key())
	now := g.opts.Now()
	v, cached := g.cache.get(key, now)
	if cached && v.(*Document).Source == SourcePublic {
		// Made from public documents only: served as it is.
		noteCache(ctx, fromCache)
		if m := v.(*Document).missing; m != nil {
			return nil, m
		}
		doc := *v.(*Document)
		doc.Cache = "hit"
		return &doc, nil
	}
	// A private document is revalidated with the private upstream before anything made
	// from it is served, so a caller it no longer serves is refused at once.
	res, err := g.resolve(ctx, q.Name, q.Credential)
	if err != nil {
		return nil, err
	}
	if cached {
		if prev := v.(*Document); prev.Source == res.source && res.warning == "" && slices.Equal(prev.from, res.from) {
			noteCache(ctx, res.fresh)
			if prev.missing != nil {
				return nil, prev.missing
			}
			doc := *prev
			doc.Cache = res.fresh.header()
			return &doc, nil
		}
	}
	noteCache(ctx, res.fresh)
	doc, owned, expires, err := g.render(ctx, res, q, k, now)
	var missing *NotFoundError
	if errors.As(err, &missing) && res.warning == "" && !expires.IsZero() {
		// A version or tag that is not served is remembered like a rendering, so asking
		// for it again does not decide the whole document again.
		g.keepRendering(key, &Document{Source: res.source, from: res.from, missing: missing}, 0, expires, res.from)
	}
	if err != nil {
		return nil, err
	}
	if res.warning == "" {
		g.keepRendering(key, doc, owned, expires, res.from)
	} else {
		doc.enc = &encodings{}
	}
	out := *doc
	out.Cache = res.fresh.header()
	return &out, nil
}

// renderKey is the cache key of a served rendering: the advisory snapshot's generation
// and the signing check's key set are part of it, since the rendering was decided with
// them.
func renderKey(name, form, credKey string, generation uint64, signing string) string {
	return "r\x00" + name + "\x00" + form + "\x00" + credKey + "\x00" + strconv.FormatUint(generation, 10) + "\x00" + signing
}

// keepRendering caches doc until expires, as long as the documents it was made from
// stay cached. owned is what the rendering holds beyond those documents. The
// compressed copy, once made, is added to its size.
func (g *Gate) keepRendering(key string, doc *Document, owned int64, expires time.Time, from []*fetched) {
	size := doc.Body.Footprint() + owned + entryOverhead
	doc.enc = &encodings{grew: func(extra int64) { g.cache.resize(key, doc, size+extra) }}
	ref := renderRef{key: key, doc: doc}
	for _, f := range from {
		f.mu.Lock()
		if f.evicted {
			f.mu.Unlock()
			return
		}
		f.renders = append(f.renders, ref)
		f.mu.Unlock()
	}
	g.cache.put(key, doc, size, expires)
	// A document evicted while the rendering was being stored has already dropped its
	// renderings; drop this one too.
	for _, f := range from {
		f.mu.Lock()
		evicted := f.evicted
		f.mu.Unlock()
		if evicted {
			g.cache.removeIf(key, doc)
			return
		}
	}
}

// render filters and serialises a resolution. It returns the document, the bytes it
// holds beyond the cached documents it refers to (a mirror's merged index), and how long
// it stays valid: until the first underlying document expires or the next decision
// changes.
func (g *Gate) render(ctx context.Context, res *resolution, q Query, k known, now time.Time) (*Document, int64, time.Time, error) {
	var (
		base    *npm.Packument
		keep    func(i int) bool
		blocked int
		warned  int
		expires = res.expires
		owned   int64
	)
	// The signing check's verdict on the private versions (nil when it does not
	// cover them), and what it says of the answer.
	ps := g.checkPrivateSignatures(ctx, res, k)
	signed := SignatureOff
	switch res.source {
	case SourcePrivate:
		base, keep = res.private, ps.keep
		blocked, warned = ps.counts()
		signed = k.sig.header(ps != nil, warned)
	case SourcePublic:
		d := g.decideObserved(ctx, res.public, k, now)
		g.logWarned(ctx, res.public.Name, d)
		base, keep, blocked, warned = res.public, func(i int) bool { return d.keep[i] }, d.blocked, d.warned
		signed = k.sig.header(k.sig.coversPublic(), d.warnedBy[RuleSignature])
		if !d.nextChange.IsZero() {
			expires = minTime(expires, d.nextChange)
		}
	case SourceMirrorPublic:
		d := g.decideObserved(ctx, res.public, k, now)
		g.logWarned(ctx, res.public.Name, d)
		base = npm.Union(res.private, res.public, func(i int) bool { return d.keep[i] })
		owned = base.Footprint()
		// Union puts the private versions first, in their order.
		keep = ps.keep
		pb, pw := ps.counts()
		blocked, warned = d.blocked+pb, d.warned+pw
		// Versions present in both are served from the mirror; do not count them as blocked.
		blocked -= countShadowed(res.private, res.public, d.keep)
		signed = k.sig.header(k.sig.coversPublic(), d.warnedBy[RuleSignature]+pw)
		if !d.nextChange.IsZero() {
			expires = minTime(expires, d.nextChange)
		}
	}
	urls := npm.TarballURLs(g.tarballPrefix, base.Name)
	rewrite := func(v *npm.Version) string { return urls(v.Info.Version) }
	var (
		body npm.Text
		err  error
		ct   = ContentTypeJSON
	)
	switch {
	case q.Version != "":
		if body, err = base.RenderVersionText(q.Version, keep, rewrite); err != nil {
			// The expiry comes back with the refusal, which is cached like a rendering.
			return nil, 0, expires, &NotFoundError{Message: fmt.Sprintf("%s has no admitted version or tag %q", q.Name, q.Version)}
		}
	case q.Abbreviated:
		body, err = base.RenderAbbreviatedText(keep, rewrite)
		ct = ContentTypeAbbreviated
	default:
		body, err = base.RenderText(keep, rewrite)
	}
	if err != nil {
		return nil, 0, time.Time{}, &UpstreamError{Message: "the package document could not be served", Cause: err}
	}
	return &Document{
		Body:        body,
		ContentType: ct,
		ETag:        etag(body),
		Source:      res.source,
		Blocked:     blocked,
		Warned:      warned,
		Warning:     res.warning,
		Signing:     signed,
		from:        res.from,
	}, owned, expires, nil
}

// logWarned records what warn-mode rules would have denied, so a rule can be rolled out
// in shadow and its effect read from the logs before it is enforced.
func (g *Gate) logWarned(ctx context.Context, name string, d decided) {
	for rule, n := range d.warnedBy {
		g.log.InfoContext(ctx, "warn-mode rule would deny versions", "package", name, "rule", rule, "versions", n)
	}
}

// countShadowed counts public versions that were denied but are served from the mirror.
func countShadowed(priv, pub *npm.Packument, keep []bool) int {
	mirrored := make(map[string]bool, len(priv.Versions))
	for i := range priv.Versions {
		mirrored[priv.Versions[i].Info.Version] = true
	}
	n := 0
	for i := range pub.Versions {
		if !keep[i] && mirrored[pub.Versions[i].Info.Version] {
			n++
		}
	}
	return n
}

// Decision re-exports the policy outcome type for callers of Explain.
type Decision = policy.Decision
