package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
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

// Decider decides one untrusted version. It is pure and safe for concurrent use.
type Decider interface {
	Decide(v *npm.VersionInfo, now time.Time) policy.Decision
	// NextExpiry returns the first instant after now at which a policy exception lapses
	// (which may change decisions), or the zero time when none will.
	NextExpiry(now time.Time) time.Time
}

// MirrorJob asks the mirror to copy one admitted public version to the mirror target.
type MirrorJob struct {
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
	// Internal are name patterns ("@corp/*", "corp-*", exact names; "*" does not cross
	// "/") served from the private upstream only. Nil means none.
	Internal []string
	// PublicURL is the proxy's external base URL for rewritten tarball URLs. Nil means
	// root-relative tarball URLs.
	PublicURL *url.URL
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
	// CheckTarball pre-checks public tarball URLs. Nil means no pre-check (the public
	// source's client still enforces its own policy).
	CheckTarball TarballChecker
	// Mirror receives jobs for admitted public tarballs served. Nil means none are made.
	Mirror Enqueuer
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
	cache  *lru
	flight singleflight.Group
	// tarballPrefix is computed once: rewriting runs for every served version.
	tarballPrefix string
	// internal holds the internal patterns in lower case.
	internal []string
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
	internal := make([]string, len(opts.Internal))
	for i, p := range opts.Internal {
		internal[i] = strings.ToLower(p)
	}
	g := &Gate{
		internal:      internal,
		opts:          opts,
		log:           opts.Logger,
		tarballPrefix: tarballPrefixOf(opts.PublicURL),
	}
	g.cache = newLRU(opts.CacheMaxBytes, g.onCacheRemove)
	return g
}

// isInternal reports whether name matches an internal pattern. The comparison ignores
// case: registries that accept upper-case names must not let "@Corp/x" slip past
// "@corp/*" to the public side.
func (g *Gate) isInternal(name string) bool {
	name = strings.ToLower(name)
	for _, p := range g.internal {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
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
