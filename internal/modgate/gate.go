package modgate

import (
	"context"
	"io"
	"log/slog"
	"time"

	"golang.org/x/mod/module"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/source"
	"github.com/ecluse/ecluse/internal/upstream"
)

// Source is one module proxy (a GOPROXY server).
type Source interface {
	// Get returns the document at path (a rooted GOPROXY path, escaped as
	// gomod.Request.EscapedPath writes it), read to its end and bounded by limit. It
	// charges the buffers holding it to lease before allocating them (nil charges
	// nothing). credential is the caller's Authorization value; the source decides
	// whether to send it. Errors: one matched by errors.Is(err, upstream.ErrNotFound)
	// for a 404 or 410; *upstream.DeniedError for a 401 or 403; one wrapping
	// upstream.ErrTooLarge past limit; one wrapping budget.ErrExhausted when the lease
	// found no room; *upstream.UnavailableError for anything else.
	Get(ctx context.Context, path string, credential redact.Secret, limit int64, lease *budget.Lease) ([]byte, error)
	// OpenPath starts reading the file at path (a module zip); the caller closes the
	// body and bounds what it reads. size is -1 when unknown. Errors are Get's, never
	// ErrTooLarge.
	OpenPath(ctx context.Context, path string, credential redact.Secret) (body io.ReadCloser, size int64, err error)
}

var _ Source = (*upstream.Client)(nil)

// Decider decides one untrusted (public) version.
type Decider interface {
	// Decide decides whether v may be served at instant now. It is pure and safe for
	// concurrent use; the Decision's Reason explains it in one sentence. The gate
	// never modifies v afterwards.
	Decide(v *policy.Version, now time.Time) policy.Decision
}

// SumDB verifies module hashes against a checksum database's signed log, as
// *gomod.Checker does. Every error is a *gomod.CheckError.
type SumDB interface {
	// Lookup returns the database's authenticated go.sum lines for mod at version:
	// the zip's line, then the go.mod's. CheckNotFound when it has no record.
	Lookup(ctx context.Context, mod, version string) ([]string, error)
	// CheckZip verifies that h1 is the hash the database records for the module zip.
	// CheckMismatch when it records another.
	CheckZip(ctx context.Context, mod, version, h1 string) error
	// CheckGoMod verifies that h1 is the hash the database records for the go.mod
	// file. CheckMismatch when it records another.
	CheckGoMod(ctx context.Context, mod, version, h1 string) error
}

var _ SumDB = (*gomod.Checker)(nil)

// Where a document was served from (Document.Source, Zip.Source).
const (
	SourcePrivate = "private"
	SourcePublic  = "public"
)

// TimeSourceAuthor is the policy.Version TimeSource of every Go version: its publish
// time is the .info Time, the commit time the module's author chose when committing.
// No registry recorded it, and an author can write any instant there, so an age rule
// reads it as a claim.
const TimeSourceAuthor = "author"

// Defaults and bounds.
const (
	// DefaultMaxVersions is Options.MaxVersions' zero value.
	DefaultMaxVersions = 1000
	// DefaultParallelism is Options.Parallelism's zero value.
	DefaultParallelism = 8
	// MaxGoModBytes bounds a go.mod file, as the go command does.
	MaxGoModBytes = 16 << 20
	// MaxSumDBBytes bounds a checksum database file relayed through the mount (a
	// lookup is under 1 KiB plus the signed head, a tile at most a few tens of KiB).
	MaxSumDBBytes = 1 << 20
	// DefaultMaxZipBytes is Options.MaxZipBytes' zero value, the go command's own
	// bound on a module zip.
	DefaultMaxZipBytes = 500 << 20
)

// Advisories gives the advisory index decisions are taken with.
type Advisories interface {
	// Snapshot returns the current index, or nil before the first one has loaded.
	Snapshot() *advisory.Snapshot
}

// Options configures a Gate. Zero values are noted per field.
type Options struct {
	// Mount names the mount in logs. Empty means "go".
	Mount string
	// Private is the trusted module proxy, asked first; what it serves is served
	// unfiltered. Nil means the mount has no private upstream.
	Private Source
	// Public is the untrusted module proxy, asked when the private one answers 404 or
	// 410, with no credential; its versions go through the policy and the checksum
	// database. Its /sumdb/{name}/ paths serve the checksum database through the mount.
	// Nil means the mount has no public upstream: what the private one lacks is not
	// found.
	Public Source
	// Internal reports whether a module path is internal (like GOPRIVATE): served from
	// the private upstream only, never asked of the public one, and never looked up in
	// the checksum database (like GONOSUMDB). The composition root builds it from the
	// mount's patterns in the policy's glob dialect (policy.CompileNames). Nil means no
	// module is internal.
	Internal func(module string) bool
	// Policy decides public versions. Nil means every public version is refused.
	Policy Decider
	// Advisories is the advisory index DenyIfCVE and DenyMalicious read, looked up
	// under advisory.EcosystemGo. Until it has loaded a snapshot those rules see no
	// index (and fail closed unless set to abstain). A Go version is decided alone,
	// without its siblings, so the remediation fast-track never admits one here. Nil
	// means no index at all: decided as if one had loaded and knew nothing.
	Advisories Advisories
	// SumDB verifies public versions. Nil means no public version has a record, so the
	// policy's integrity floor refuses every one.
	SumDB SumDB
	// SumDBName is the checksum database's name (from its verifier key), the only one
	// served under /sumdb/{name}/. Empty means the mount serves no checksum database
	// (every /sumdb/ path is 404, and the go command reaches the database directly).
	SumDBName string
	// MaxVersions bounds how many versions of one module's public list are decided:
	// the highest ones are kept. Zero means DefaultMaxVersions.
	MaxVersions int
	// Parallelism bounds the .info and checksum database reads in flight for one list.
	// Zero means DefaultParallelism.
	Parallelism int
	// CacheTTL is how long public version lists and @latest answers are reused, and
	// how long a public version the checksum database has no record of is remembered
	// as such. Zero means 5 minutes.
	CacheTTL time.Duration
	// PrivateTTL is how long the private proxy's lists, .info documents and @latest
	// answers are reused. Zero means they are not: the private proxy is asked on every
	// request (concurrent identical requests still share one read), so a version
	// published there is served at once. Its not-found answers are kept NotFoundTTL.
	PrivateTTL time.Duration
	// ImmutableTTL is how long a public version's .info and its checksum database
	// record, once both were read, are reused: neither changes. Zero means 24 hours.
	ImmutableTTL time.Duration
	// NotFoundTTL is how long a not-found answer is reused. Zero means 1 minute.
	NotFoundTTL time.Duration
	// CacheMaxBytes bounds each of the gate's caches (lists, .info documents, version
	// records), counted by what their values hold. Zero means 64 MiB.
	CacheMaxBytes int64
	// SharedPrivateCache says private answers do not depend on the caller's credential
	// (the private upstream is read with a service token), so callers share cached
	// entries. False means they are kept per credential (by a hash of it), so no
	// caller is served what only another may read.
	SharedPrivateCache bool
	// MaxZipBytes bounds a module zip, public or private: one announced larger is
	// refused before it is read, and one that runs past it is cut. Zero means
	// DefaultMaxZipBytes.
	MaxZipBytes int64
	// TempDir is where public zips are kept while they are verified. Empty means
	// os.TempDir().
	TempDir string
	// Budget bounds the upstream documents being read at once. Nil means no bound.
	Budget *budget.Budget
	// Spool bounds the bytes of public zips held in temporary files at once while
	// they are verified and served: a zip that finds no room in time is answered 503
	// with Retry-After. Nil means no bound.
	Spool *budget.Budget
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger is for events that are not the request's own log line. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Gate answers a Go module mount's reads. It is safe for concurrent use.
type Gate struct {
	opts Options
	log  *slog.Logger

	// privLists and privInfos hold the private proxy's answers (for PrivateTTL, its
	// not-found ones for NotFoundTTL), keyed by privateKey; privInfos holds @latest
	// answers under "{module}@latest".
	privLists *source.Cache[[]string]
	privInfos *source.Cache[gomod.Info]
	// pubLists holds public version lists (the highest MaxVersions), by module.
	pubLists *source.Cache[[]string]
	// pubLatest holds the public proxy's @latest answers, by module.
	pubLatest *source.Cache[gomod.Info]
	// candidates holds what the policy reads about public versions, by
	// "{module}@{version}".
	candidates *source.Cache[*candidate]
}

// New builds a Gate.
func New(opts Options) *Gate {
	if opts.Mount == "" {
		opts.Mount = "go"
	}
	if opts.MaxVersions <= 0 {
		opts.MaxVersions = DefaultMaxVersions
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	if opts.PrivateTTL < 0 {
		opts.PrivateTTL = 0
	}
	if opts.ImmutableTTL <= 0 {
		opts.ImmutableTTL = 24 * time.Hour
	}
	if opts.NotFoundTTL <= 0 {
		opts.NotFoundTTL = time.Minute
	}
	if opts.CacheMaxBytes <= 0 {
		opts.CacheMaxBytes = 64 << 20
	}
	if opts.MaxZipBytes <= 0 {
		opts.MaxZipBytes = DefaultMaxZipBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Policy == nil {
		opts.Policy = refuseAll{}
	}
	g := &Gate{opts: opts, log: opts.Logger.With("mount", opts.Mount)}
	listSize := func(l []string) int64 {
		n := int64(64)
		for _, v := range l {
			n += int64(len(v)) + 16
		}
		return n
	}
	infoSize := func(gomod.Info) int64 { return 128 }
	g.privLists = cached(source.Func[[]string](g.fetchPrivateList), opts, opts.PrivateTTL, listSize)
	g.privInfos = cached(source.Func[gomod.Info](g.fetchPrivateInfo), opts, opts.PrivateTTL, infoSize)
	g.pubLists = cached(source.Func[[]string](g.fetchPublicList), opts, opts.CacheTTL, listSize)
	g.pubLatest = cached(source.Func[gomod.Info](g.fetchPublicLatest), opts, opts.CacheTTL, infoSize)
	g.candidates = source.Cached(source.Singleflight[*candidate](source.Func[*candidate](g.fetchCandidate)),
		source.CacheOptions[*candidate]{
			TTLOf: func(c *candidate) time.Duration {
				if c.record == nil {
					return opts.CacheTTL // the database may learn of it later
				}
				return opts.ImmutableTTL
			},
			ErrorTTL:   opts.NotFoundTTL,
			SizeOf:     func(c *candidate) int64 { return c.size() },
			MaxBytes:   opts.CacheMaxBytes,
			MaxEntries: maxEntries(opts),
			Now:        opts.Now,
		})
	return g
}

// cached wraps fetch in a singleflight, then a cache keeping values for ttl (zero: not
// at all) and not-found answers for NotFoundTTL, with the gate's bounds.
func cached[V any](fetch source.Fetcher[V], opts Options, ttl time.Duration, size func(V) int64) *source.Cache[V] {
	return source.Cached(source.Singleflight(fetch), source.CacheOptions[V]{
		TTLOf:      func(V) time.Duration { return ttl },
		ErrorTTL:   opts.NotFoundTTL,
		SizeOf:     size,
		MaxBytes:   opts.CacheMaxBytes,
		MaxEntries: maxEntries(opts),
		Now:        opts.Now,
	})
}

// maxEntries bounds a cache's keys: the bytes bound rules, not-found answers (which
// weigh nothing) are kept to a number that size of cache would hold of small entries.
func maxEntries(opts Options) int {
	return int(max(opts.CacheMaxBytes/256, 1024))
}

// refuseAll is the Decider of a gate built without a policy.
type refuseAll struct{}

func (refuseAll) Decide(*policy.Version, time.Time) policy.Decision {
	return policy.Decision{Rule: policy.RuleDefaultDeny}
}

// isInternal reports whether mod is an internal module.
func (g *Gate) isInternal(mod string) bool {
	return g.opts.Internal != nil && g.opts.Internal(mod)
}

// privateKey is the cache key of a private answer about what: what alone when private
// answers are shared or the caller sent no credential, else prefixed by a hash of the
// credential.
func (g *Gate) privateKey(cred redact.Secret, what string) string {
	if g.opts.SharedPrivateCache {
		cred = redact.Secret{}
	}
	return cred.Scope(what)
}

// checkModule refuses an invalid module path.
func checkModule(mod string) error {
	if err := module.CheckPath(mod); err != nil {
		return &BadRequestError{Message: "invalid module path: " + clip(err.Error())}
	}
	return nil
}

// checkVersion refuses an invalid module path, or a version that is not a canonical
// version of it.
func checkVersion(mod, version string) error {
	if err := checkModule(mod); err != nil {
		return err
	}
	if !gomod.IsCanonical(version) {
		return &BadRequestError{Message: "invalid version " + quote(version) + ": not a canonical semantic version"}
	}
	if err := module.Check(mod, version); err != nil {
		return &BadRequestError{Message: "invalid version: " + clip(err.Error())}
	}
	return nil
}
