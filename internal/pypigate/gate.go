package pypigate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/pypi"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/source"
	"github.com/ecluse/ecluse/internal/upstream"
)

// Source is one Simple API index (its base URL ends in "simple/").
type Source interface {
	// Page returns the project page at path ("/{project}/", escaped), asked for with
	// accept, read to its end and bounded by limit, with its Content-Type. Buffers are
	// charged to lease (nil charges nothing). credential is the caller's Authorization
	// value; the source decides whether to send it. Errors: one matched by
	// errors.Is(err, upstream.ErrNotFound) for a 404 or 410; *upstream.DeniedError for
	// a 401 or 403; one wrapping upstream.ErrTooLarge past limit; one wrapping
	// budget.ErrExhausted when the lease found no room; *upstream.UnavailableError for
	// anything else.
	Page(ctx context.Context, path, accept string, credential redact.Secret, limit int64, lease *budget.Lease) ([]byte, string, error)
	// OpenFrom starts reading the file at u, holding it and its redirects to origin;
	// the caller closes the body. size is -1 when unknown. Errors are Page's, never
	// ErrTooLarge.
	OpenFrom(ctx context.Context, u, origin *url.URL, credential redact.Secret) (io.ReadCloser, int64, error)
	// Base is the index's base URL.
	Base() *url.URL
}

var _ Source = (*upstream.Client)(nil)

// Decider decides one untrusted (public) file.
type Decider interface {
	// Decide decides whether v may be served at now. It is pure and safe for
	// concurrent use.
	Decide(v *policy.Version, now time.Time) policy.Decision
}

// Advisories gives the advisory index decisions are taken with.
type Advisories interface {
	// Snapshot returns the current index, or nil before the first one has loaded.
	Snapshot() *advisory.Snapshot
}

// Where a page or file was served from.
const (
	SourcePrivate = "private"
	SourcePublic  = "public"
)

// Defaults.
const (
	// DefaultMaxFileBytes is Options.MaxFileBytes' zero value.
	DefaultMaxFileBytes = 1 << 30
	// MaxMetadataBytes bounds a PEP 658 metadata file.
	MaxMetadataBytes = 4 << 20
	// acceptUpstream is what the gate asks an index for: JSON, which carries the
	// upload times, else HTML.
	// parsedFileBytes is what one parsed file costs in memory beyond its page bytes,
	// charged to the in-flight budget while a page is parsed.
	parsedFileBytes = 1 << 10
	// DefaultMaxFiles bounds the files of one project page (the largest real projects
	// have some tens of thousands).
	DefaultMaxFiles = 50_000
	acceptUpstream  = pypi.ContentTypeJSON + ", " + pypi.ContentTypeHTMLv1 + ";q=0.2, " + pypi.ContentTypeHTML + ";q=0.1"
)

// Options configures a Gate. Zero values are noted per field.
type Options struct {
	// Mount names the mount in logs. Empty means "pypi".
	Mount string
	// MountPath is the mount's prefix ("/pypi/"); file URLs on served pages are
	// {PublicURL}{MountPath}files/{project}/{filename}. Empty means "/".
	MountPath string
	// PublicURL is Écluse's external base URL. Nil means file URLs are root-relative
	// (pip resolves them against the page).
	PublicURL *url.URL
	// Private is the trusted index, asked first; what it serves is served unfiltered.
	// Nil means none.
	Private Source
	// Public is the untrusted index, asked when the private one answers 404 or 410,
	// with no credential. Nil means none.
	Public Source
	// FilesBase is where the public index's files may live besides the index's own
	// origin: a file URL with its scheme, host and port whose path starts with its
	// path. Nil means the index's origin only.
	FilesBase *url.URL
	// Internal reports whether a (normalised) project name is internal: served from
	// the private index only. Nil means none is.
	Internal func(name string) bool
	// Policy decides public files. Nil means every public file is refused.
	Policy Decider
	// Advisories is the index DenyIfCVE and DenyMalicious read, under
	// advisory.EcosystemPyPI. Nil means an index that has loaded and knows nothing.
	Advisories Advisories
	// Limits bound a page parse. A zero MaxFiles means DefaultMaxFiles.
	Limits pypi.Limits
	// MaxPageBytes bounds a project page. Zero means the source's own bound.
	MaxPageBytes int64
	// MaxFileBytes bounds a file: one announced larger is refused, one that runs past
	// it is cut. Zero means DefaultMaxFileBytes.
	MaxFileBytes int64
	// CacheTTL is how long a public page is reused. Zero means 5 minutes.
	CacheTTL time.Duration
	// NotFoundTTL is how long a not-found answer is reused. Zero means 1 minute.
	NotFoundTTL time.Duration
	// CacheMaxBytes bounds the page cache. Zero means 64 MiB.
	CacheMaxBytes int64
	// SharedPrivateCache says private answers do not depend on the caller's
	// credential. False means private pages are read for every request (concurrent
	// identical ones share the read) and cached per credential only for the file
	// downloads that follow (by a hash of the credential).
	SharedPrivateCache bool
	// Budget bounds the pages being read at once. Nil means no bound.
	Budget *budget.Budget
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger is for events that are not the request's own log line. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Gate answers a PyPI mount's reads. It is safe for concurrent use.
type Gate struct {
	opts Options
	log  *slog.Logger
	// private and public hold parsed pages by key (privateKey / project name).
	private *source.Cache[*project]
	public  *source.Cache[*project]
}

// New builds a Gate.
func New(opts Options) *Gate {
	if opts.Mount == "" {
		opts.Mount = "pypi"
	}
	if opts.MountPath == "" {
		opts.MountPath = "/"
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.Limits.MaxFiles <= 0 {
		opts.Limits.MaxFiles = DefaultMaxFiles
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	if opts.NotFoundTTL <= 0 {
		opts.NotFoundTTL = time.Minute
	}
	if opts.CacheMaxBytes <= 0 {
		opts.CacheMaxBytes = 64 << 20
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
	cache := func(f func(context.Context, string) (*project, error), ttl time.Duration) *source.Cache[*project] {
		return source.Cached(source.Singleflight[*project](source.Func[*project](f)), source.CacheOptions[*project]{
			TTLOf:      func(*project) time.Duration { return ttl },
			ErrorTTL:   opts.NotFoundTTL,
			SizeOf:     func(p *project) int64 { return p.size },
			MaxBytes:   opts.CacheMaxBytes,
			MaxEntries: int(max(opts.CacheMaxBytes/256, 1024)),
			Now:        opts.Now,
		})
	}
	g.public = cache(g.fetchPublic, opts.CacheTTL)
	// A private page is reread for every page request (so what is published there is
	// seen at once); the copy kept serves the file downloads that follow it.
	g.private = cache(g.fetchPrivate, opts.CacheTTL)
	return g
}

// refuseAll is the Decider of a gate built without a policy.
type refuseAll struct{}

func (refuseAll) Decide(*policy.Version, time.Time) policy.Decision {
	return policy.Decision{Rule: policy.RuleDefaultDeny}
}

// project is one index's page for a project, parsed.
type project struct {
	name   string // normalised
	source string
	files  []file
	// byName indexes files by filename.
	byName map[string]int
	size   int64
}

// file is one file of a page, with what the gate read from it.
type file struct {
	pypi.File
	kind pypi.Kind
	// version is the canonical version its name carries; empty when it has none.
	// written is the same version as the filename spells it.
	version, written string
	// url is the file's upstream URL, resolved against the page; nil when unusable.
	url *url.URL
	// origin is what the file's fetch is held to: the index's or the files host's.
	origin *url.URL
	// problem says why the gate refuses the file whatever the policy (RuleUnreadable,
	// RuleFileHost), with problemRule; empty when none.
	problem, problemRule string
}

// privateKey is the private cache key of name for cred.
func (g *Gate) privateKey(cred redact.Secret, name string) string {
	if g.opts.SharedPrivateCache {
		cred = redact.Secret{}
	}
	return cred.Scope(name)
}

// isInternal reports whether name is internal.
func (g *Gate) isInternal(name string) bool {
	return g.opts.Internal != nil && g.opts.Internal(name)
}

// lookup finds the page of name: the private index's when it has one, else the
// public index's (never for an internal name). fresh rereads the private page instead
// of using the cached one.
func (g *Gate) lookup(ctx context.Context, name string, cred redact.Secret, fresh bool) (*project, error) {
	if !pypi.ValidName(name) || pypi.Normalize(name) != name {
		return nil, &BadRequestError{Message: fmt.Sprintf("%q is not a normalised project name", clip(name))}
	}
	if g.opts.Private != nil {
		key := g.privateKey(cred, name)
		if fresh {
			g.private.Forget(key)
		}
		p, err := g.private.Fetch(redact.WithSecret(ctx, cred), key)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	if g.isInternal(name) {
		return nil, &NotFoundError{Message: fmt.Sprintf("%s is an internal project and the private index does not have it", name)}
	}
	if g.opts.Public == nil {
		return nil, &NotFoundError{Message: fmt.Sprintf("project %s is not found", name)}
	}
	return g.public.Fetch(ctx, name)
}

func (g *Gate) fetchPrivate(ctx context.Context, key string) (*project, error) {
	_, name, _ := strings.Cut(key, "|")
	return g.fetch(ctx, g.opts.Private, SourcePrivate, name, redact.SecretFrom(ctx))
}

func (g *Gate) fetchPublic(ctx context.Context, name string) (*project, error) {
	return g.fetch(ctx, g.opts.Public, SourcePublic, name, redact.Secret{})
}

// fetch reads and parses name's page from src.
func (g *Gate) fetch(ctx context.Context, src Source, origin, name string, cred redact.Secret) (*project, error) {
	lease := g.opts.Budget.Lease(200) // the parse holds about as much again as the page
	defer lease.Release()
	path := "/" + name + "/"
	body, ctype, err := src.Page(ctx, path, acceptUpstream, cred, g.opts.MaxPageBytes, lease)
	if err != nil {
		return nil, g.upstreamError(origin, name, err)
	}
	var page *pypi.Project
	mt, _, _ := mime.ParseMediaType(ctype)
	switch mt {
	case pypi.ContentTypeJSON:
		page, err = pypi.ParseJSON(body, g.opts.Limits)
	case pypi.ContentTypeHTMLv1, pypi.ContentTypeHTML, "":
		page, err = pypi.ParseHTML(body, g.opts.Limits)
	default:
		return nil, &UpstreamError{Message: fmt.Sprintf("the %s index answered %s's page with %q, which is not a Simple API page", origin, name, clip(ctype)), permanent: true}
	}
	if err != nil {
		return nil, &UpstreamError{Message: fmt.Sprintf("the %s index's page for %s cannot be read", origin, name), Cause: err, permanent: true}
	}
	// A page of many tiny files parses into far more than its bytes: what the parse
	// holds per file is charged too, before the gate builds its own view of them.
	if err := lease.Charge(ctx, int64(len(page.Files))*parsedFileBytes); err != nil {
		return nil, g.upstreamError(origin, name, err)
	}
	pageURL := src.Base().JoinPath(name + "/")
	if !strings.HasSuffix(pageURL.Path, "/") {
		pageURL.Path += "/"
	}
	return g.newProject(name, origin, pageURL, src.Base(), page), nil
}

// newProject reads every file of page.
func (g *Gate) newProject(name, origin string, pageURL, base *url.URL, page *pypi.Project) *project {
	p := &project{name: name, source: origin, byName: make(map[string]int, len(page.Files)), size: 256}
	for _, pf := range page.Files {
		if _, dup := p.byName[pf.Filename]; dup {
			continue // the first of two files with one name wins, on the page and at download
		}
		f := file{File: pf}
		info, err := pypi.ParseFilename(name, pf.Filename)
		switch {
		case err != nil:
			f.problem, f.problemRule = fmt.Sprintf("its name does not read as a file of %s (%s)", name, clip(err.Error())), RuleUnreadable
		case info.Kind == pypi.KindOther:
			f.problem, f.problemRule = "it is neither a wheel nor a source distribution", RuleUnreadable
		}
		f.kind, f.written = info.Kind, info.Version
		if c, ok := pypi.Canonical(info.Version); ok {
			f.version = c
		} else if f.problem == "" {
			f.problem, f.problemRule = "its version cannot be read", RuleUnreadable
		}
		u, err := pageURL.Parse(pf.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			if f.problem == "" {
				f.problem, f.problemRule = "its URL cannot be used", RuleFileHost
			}
		} else {
			u.Fragment, u.RawFragment, u.User = "", "", nil
			f.url = u
			f.origin = g.fileOrigin(origin, u, base)
			if f.origin == nil && f.problem == "" {
				f.problem, f.problemRule = fmt.Sprintf("the index points to it on %s, which is neither the index's host nor the mount's files host (filesUpstreamUrl)", clip(u.Host)), RuleFileHost
			}
		}
		p.byName[pf.Filename] = len(p.files)
		p.files = append(p.files, f)
		p.size += int64(len(pf.Filename)+len(pf.URL)+len(pf.RequiresPython)+len(pf.YankedReason)) + 256 +
			hashesSize(pf.Hashes) + hashesSize(pf.CoreMetadata.Hashes)
	}
	return p
}

// hashesSize is what a hash map holds, for the cache's size count.
func hashesSize(h map[string]string) int64 {
	n := int64(0)
	for k, v := range h {
		n += int64(len(k)+len(v)) + 64
	}
	return n
}

// fileOrigin returns the origin a file at u is fetched under, or nil when the mount may
// not fetch it: the index's origin, or the files host's (with its path as a prefix).
// A private index's files may be anywhere it points (it is trusted); only files on its
// own origin get the caller's credential.
func (g *Gate) fileOrigin(origin string, u, base *url.URL) *url.URL {
	if origin == SourcePrivate {
		return &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	if hasDotSegment(u.EscapedPath()) {
		return nil // a path that climbs out of the files host's prefix once resolved
	}
	if sameOrigin(u, base) {
		return base
	}
	if fb := g.opts.FilesBase; fb != nil && sameOrigin(u, fb) && strings.HasPrefix(u.EscapedPath(), fb.EscapedPath()) {
		return fb
	}
	return nil
}

// hasDotSegment reports whether an escaped path has a "." or ".." segment, plain or
// percent-encoded, or a backslash or an escaped slash anywhere (which a server may
// decode into a separator before resolving dot segments).
func hasDotSegment(p string) bool {
	if strings.Contains(p, "\\") {
		return true
	}
	for seg := range strings.SplitSeq(p, "/") {
		s, err := url.PathUnescape(seg)
		if err != nil || s == "." || s == ".." || strings.ContainsAny(s, "/\\") {
			return true // an escaped separator could be decoded by the server before it resolves dots
		}
	}
	return false
}

// sameOrigin reports whether a and b share scheme, host and port (a default port
// written or not).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if strings.EqualFold(u.Scheme, "https") {
		return u.Hostname() + ":443"
	}
	return u.Hostname() + ":80"
}

// upstreamError turns a source's error into the gate's.
func (g *Gate) upstreamError(origin, name string, err error) error {
	var denied *upstream.DeniedError
	switch {
	case errors.Is(err, upstream.ErrNotFound):
		return &NotFoundError{Message: fmt.Sprintf("project %s is not found", name)}
	case errors.As(err, &denied) && origin == SourcePublic:
		// The public index is read anonymously: its refusal is its failure, and its
		// words are not relayed.
		return &UpstreamError{Message: fmt.Sprintf("the public index refused to serve %s (%d)", name, denied.Status), Cause: err}
	case errors.As(err, &denied):
		msg := fmt.Sprintf("the private index refused access to %s (%d)", name, denied.Status)
		if denied.Message != "" {
			msg += ": " + clip(denied.Message)
		}
		return &UpstreamDeniedError{Message: msg}
	case errors.Is(err, budget.ErrExhausted):
		return &BusyError{Message: fmt.Sprintf("Écluse is reading as many documents as its memory budget allows and could not read %s's page in time; retry shortly", name), Cause: err}
	case errors.Is(err, upstream.ErrTooLarge):
		return &UpstreamError{Message: fmt.Sprintf("the %s index's page for %s is larger than Écluse accepts (PROXY_MAX_RESPONSE_BYTES)", origin, name), Cause: err, permanent: true}
	}
	return &UpstreamError{Message: fmt.Sprintf("the %s index could not be read for %s", origin, name), Cause: err}
}

// clip shortens s for a message.
func clip(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
