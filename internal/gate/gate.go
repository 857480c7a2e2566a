package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// Source is one upstream registry.
type Source interface {
	// Origin names the upstream: "private" or "public".
	Origin() string
	// Base is the registry's base URL.
	Base() *url.URL
	// Packument returns the package's full document, bounded in size. It returns an error
	// matched by errors.Is(err, upstream.ErrNotFound) when the registry does not have it,
	// *upstream.DeniedError for a 401/403 and *upstream.UnavailableError otherwise.
	// The buffers holding the body are charged to lease before they are allocated (a
	// nil lease charges nothing); a charge that finds no room in time fails with an
	// error matched by errors.Is(err, budget.ErrExhausted).
	Packument(ctx context.Context, name string, credential redact.Secret, lease *budget.Lease) ([]byte, error)
	// Open starts reading a file (a tarball) at u; the caller closes the reader. size is
	// -1 when unknown. The source applies its own origin checks to u and to redirects.
	Open(ctx context.Context, u *url.URL, credential redact.Secret) (body io.ReadCloser, size int64, err error)
}

// ConditionalSource is a Source that can fetch a document only when it changed. The
// private source should be one: a cached private document is revalidated with the
// private upstream before it is served, and an unchanged one then costs a 304 and no
// parse. (A private source that is not one is asked for the whole document; when its
// bytes are unchanged the parsed copy is still kept.)
type ConditionalSource interface {
	Source
	// PackumentIfChanged is Packument made conditional on since (zero validators mean
	// a plain fetch). It returns an error matched by errors.Is(err,
	// upstream.ErrNotModified) when the document has not changed, and otherwise the
	// validators the registry sent with the new document (zero when none).
	PackumentIfChanged(ctx context.Context, name string, credential redact.Secret, lease *budget.Lease, since upstream.Validators) ([]byte, upstream.Validators, error)
}

// Prober tells whether a registry has a package, asking with the prober's own
// credential (never a caller's).
type Prober interface {
	// Has reports true when the registry serves name's document and false when it
	// answers 404. Any other answer is an error: *upstream.DeniedError for a 401/403,
	// *upstream.UnavailableError otherwise. The document itself is not read.
	Has(ctx context.Context, name string) (bool, error)
}

var (
	_ ConditionalSource = (*upstream.Client)(nil)
	_ Prober            = (*upstream.Client)(nil)
)

// Decider decides one untrusted version. It is pure and safe for concurrent use.
type Decider interface {
	// Decide decides v at now (see policy.Policy.Decide). The Decision refers to v,
	// which must stay unchanged while the Decision is used.
	Decide(v *policy.Version, now time.Time) policy.Decision
	// NextExpiry returns the first instant after now at which a policy exception lapses
	// (which may change decisions), or the zero time when none will.
	NextExpiry(now time.Time) time.Time
	// FastTracks reports whether the policy admits remediations ahead of the
	// quarantine, which Remedies works out.
	FastTracks() bool
	// Remedies finds the versions of one package the fast-track admits (see
	// policy.Policy.Remedies).
	Remedies(l policy.Ladder) []*policy.Remedy
	// AdmitsApartFromAdvisories reports whether the policy admits v with its advisory
	// rules set aside.
	AdmitsApartFromAdvisories(v *policy.Version, now time.Time) bool
	// AdvisoryNotes lists the advisories of v's Advice with the rules each fed, for
	// explanations.
	AdvisoryNotes(v *policy.Version) []policy.AdvisoryNote
}

// Advisories gives the advisory index decisions are taken with.
type Advisories interface {
	// Snapshot returns the current index, or nil before the first one has loaded. A
	// snapshot is immutable; a newer one has a higher generation.
	Snapshot() *advisory.Snapshot
}

// MirrorJob asks the mirror to copy one admitted public version to the mirror target.
type MirrorJob struct {
	// Mount names the mount that served the version.
	Mount string
	// Upstream is the base URL of the public registry the version came from, where
	// its manifest is read again.
	Upstream      string
	Name, Version string
	// Integrity is the SRI string the copy must match.
	Integrity string
	// Tarball is where the public upstream serves the artifact.
	Tarball string
}

// Enqueuer accepts mirror jobs. Enqueue must not block on the network for long: the
// request path calls it after a successful tarball serve. Errors are logged, not served.
type Enqueuer interface {
	Enqueue(ctx context.Context, job MirrorJob) error
}

// TarballChecker vets an untrusted tarball URL against the packument's origin before any
// connection is made (the egress guard's tarball host policy).
type TarballChecker func(tarball, origin *url.URL) error

// Options configures a Gate. Zero values are noted per field.
type Options struct {
	// Private is the trusted upstream, asked first. Required.
	Private Source
	// Public is the untrusted upstream. Required.
	Public Source
	// Policy decides public versions. Required.
	Policy Decider
	// Internal are the name patterns ("@corp/*", "corp-*", exact names; see
	// policy.CompileGlob) served from the private upstream only. They match names
	// whatever the case of their letters. Nil means none.
	Internal *policy.Names
	// PublicURL is the proxy's external base URL for rewritten tarball URLs. Nil means
	// root-relative tarball URLs.
	PublicURL *url.URL
	// MountName names the mount in mirror jobs. Empty means "npm".
	MountName string
	// PublicBase is the public upstream's base URL, recorded in mirror jobs. Nil means
	// jobs carry no upstream (the mirror then cannot read the manifest again).
	PublicBase *url.URL
	// MountPath is the path prefix the mount is served under ("/npm/"): rewritten
	// tarball URLs carry it after PublicURL. Empty or "/" means the root.
	MountPath string
	// Limits bound every upstream document.
	Limits npm.Limits
	// CacheTTL is how long fetched documents are reused. Zero means 5 minutes.
	CacheTTL time.Duration
	// CacheMaxBytes bounds the cache's memory: parsed documents, renderings and their
	// compressed copies, each counted by what it really holds. Zero means 256 MiB.
	CacheMaxBytes int64
	// Budget bounds the upstream documents being read and parsed at once. Nil means
	// no bound.
	Budget *budget.Budget
	// MaxTarballBytes bounds a public tarball: one announced larger is refused before
	// it is read, and a stream that runs past it is cut. Zero means 1 GiB.
	MaxTarballBytes int64
	// CredentialKeyed says private documents depend on the caller's credential (the
	// passthrough strategy), so cached entries are keyed by a hash of it.
	CredentialKeyed bool
	// PrivateProbe asks the private upstream with Écluse's own credential whether it
	// has a name. When set, a private 404 the caller's credential got is confirmed
	// through it before the public side is asked, and a name the private upstream has
	// is refused to that caller (403) instead of being served from the public side. Nil
	// means a private 404 is taken at its word (right when the private upstream is read
	// with Écluse's own credential anyway: the service strategy).
	PrivateProbe Prober
	// ProbeTTL is how long one confirmation through PrivateProbe is reused, per name and
	// for every caller. Zero means 30 seconds.
	ProbeTTL time.Duration
	// RevalidateAfter is how long a cached private document is served without asking
	// the private upstream whether it changed or still serves the caller. Zero means
	// it is revalidated on every request, so a revoked caller is refused at once.
	RevalidateAfter time.Duration
	// NoMirrorLookup, when true, never asks the public side about a private package:
	// every private document is served alone, and no mirror is merged with public
	// versions. False means a private document that looks like a copy of a public one
	// is looked up, and served as a mirror once its versions are verified.
	NoMirrorLookup bool
	// MirrorChecks bounds the mirror verifications (public tarball downloads) in
	// flight. Zero means 4.
	MirrorChecks int
	// MirrorCheckWait bounds how long a request waits for the verifications its package
	// needs; past it the package is served as private until they finish. Zero means 5
	// seconds.
	MirrorCheckWait time.Duration
	// CheckTarball pre-checks public tarball URLs. Nil means no pre-check (the public
	// source's client still enforces its own policy).
	CheckTarball TarballChecker
	// TarballManifest, when set, reads each public tarball as it streams and holds its
	// own package.json against the registry's metadata (see ManifestChecks); a refused
	// version is remembered and refused from then on. Nil means tarballs are checked
	// against their digest only.
	TarballManifest *ManifestChecks
	// Mirror receives jobs for admitted public tarballs served. Nil means none are made.
	Mirror Enqueuer
	// Advisories is the advisory index the advisory rules read (DenyIfCVE,
	// DenyMalicious, AllowIfRemediatesCve). Until it has loaded a snapshot those rules
	// see no index (and fail closed unless set to abstain). Nil means no index at all:
	// every version is decided as if an index had loaded and knew nothing of it, which
	// suits tests and embedders; the server always sets one.
	Advisories Advisories
	// Signing checks registry signatures (see SigningMode). The zero value checks none.
	Signing SigningOptions
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger is for events that are not the request's own log line. Nil means slog.Default().
	Logger *slog.Logger
}

// Gate answers npm reads.
type Gate struct {
	opts Options
	log  *slog.Logger
	// cache holds parsed upstream documents (*fetched, keys from docKey) and served
	// renderings (*Document, keys from renderKey) under one byte bound. A rendering
	// refers to the documents it was made from, so it leaves the cache with them.
	cache *lru
	// docs fetches upstream documents through the cache (see newDocFetch).
	docs docFetcher
	// flight collapses concurrent hidden-name confirmations (see confirmAbsent).
	flight singleflight.Group
	// tarballPrefix is computed once: rewriting runs for every served version.
	tarballPrefix string
	// copies holds the mirror verifications (see mirrorcheck.go).
	copies *copyChecks
	// parses counts documents parsed, for tests.
	parses atomic.Int64
	// refusals holds the versions refused for what their tarballs hold; nil when
	// TarballManifest is.
	refusals *refusals
	// sigMemo remembers signature verifications; nil when signing is off.
	sigMemo *sigMemo
}

// New builds a Gate.
func New(opts Options) *Gate {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	if opts.CacheMaxBytes <= 0 {
		opts.CacheMaxBytes = 256 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxTarballBytes <= 0 {
		opts.MaxTarballBytes = 1 << 30
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ProbeTTL <= 0 {
		opts.ProbeTTL = 30 * time.Second
	}
	if opts.RevalidateAfter < 0 {
		opts.RevalidateAfter = 0
	}
	if opts.MirrorChecks <= 0 {
		opts.MirrorChecks = 4
	}
	if opts.MirrorCheckWait <= 0 {
		opts.MirrorCheckWait = 5 * time.Second
	}
	g := &Gate{
		opts:          opts,
		log:           opts.Logger,
		tarballPrefix: tarballPrefixOf(opts.PublicURL) + strings.TrimSuffix(opts.MountPath, "/"),
		copies:        newCopyChecks(opts.MirrorChecks),
	}
	if opts.Signing.Mode != SigningOff {
		g.sigMemo = newSigMemo(opts.Signing.CacheEntries)
	}
	g.cache = newCache(opts.CacheMaxBytes)
	g.docs = newDocFetch(g.cache, opts, &g.parses)
	if c := opts.TarballManifest; c != nil {
		// Every decision consults the versions refused for their tarballs (see decide).
		g.refusals = newRefusals(c.MaxRefusals, c.RefusalTTL)
	}
	return g
}

// isInternal reports whether name matches an internal pattern. The comparison ignores
// case: registries that accept upper-case names must not let "@Corp/x" slip past
// "@corp/*" to the public side.
func (g *Gate) isInternal(name string) bool {
	return g.opts.Internal.MatchFold(name)
}

// credentialKey is the cache key part for a caller's credential: empty when private
// documents do not depend on it.
func (g *Gate) credentialKey(cred redact.Secret) string {
	if !g.opts.CredentialKeyed || !cred.IsSet() {
		return ""
	}
	sum := sha256.Sum256([]byte(cred.Reveal()))
	return hex.EncodeToString(sum[:16])
}

// tarballPrefixOf is the part of every rewritten tarball URL before the package path:
// the external base URL without its trailing slash, or "" for root-relative URLs.
func tarballPrefixOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
}

// mountName is the mount's name for mirror jobs.
func (g *Gate) mountName() string {
	if g.opts.MountName == "" {
		return "npm"
	}
	return g.opts.MountName
}
