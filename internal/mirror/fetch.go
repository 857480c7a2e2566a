package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// TarballFetcher reads what a job copies from the job's public upstream.
type TarballFetcher interface {
	// Manifest returns job's version manifest exactly as the public upstream serves it
	// (one JSON object, with its dist.integrity and dist.shasum). A failure is an
	// *Error: permanent when the upstream does not have the version or the job names an
	// upstream the fetcher does not read.
	Manifest(ctx context.Context, job Job) ([]byte, error)
	// Open starts reading job.Tarball through the untrusted-origin client, under the
	// upstream's tarball host policy. The caller closes body; size is -1 when the
	// upstream did not say. A failure is an *Error.
	Open(ctx context.Context, job Job) (body io.ReadCloser, size int64, err error)
}

// Origin is one public upstream as the fetcher reads it. *upstream.Client, built with
// the egress guard's client and Anonymous set (the gate's public source), is one.
type Origin interface {
	// Base is the registry's base URL: what a Job's Upstream names.
	Base() *url.URL
	// Packument returns the package's full document, bounded in size (see
	// upstream.Client.Packument).
	Packument(ctx context.Context, name string, credential redact.Secret, lease *budget.Lease) ([]byte, error)
	// Open starts reading the file at u with the upstream's origin checks (see
	// upstream.Client.Open).
	Open(ctx context.Context, u *url.URL, credential redact.Secret) (io.ReadCloser, int64, error)
}

var _ Origin = (*upstream.Client)(nil)

// UpstreamFetcherOptions configures an UpstreamFetcher.
type UpstreamFetcherOptions struct {
	// Origins are the public upstreams jobs may name, one per npm mount. A job whose
	// Upstream is none of their Base URLs (compared without a trailing slash) fails
	// permanently: a job off a shared queue must not steer the fetcher elsewhere. Nil
	// means every job fails.
	Origins []Origin
	// Limits bound the public packument the manifest is read from (see
	// npm.ParsePackument). The zero value means only the origin's own size bound.
	Limits npm.Limits
}

// UpstreamFetcher is the TarballFetcher over the public upstreams. The version
// manifest is read from the package's full document, as npm itself reads it: public
// registries do not reliably serve the per-version document for scoped names.
type UpstreamFetcher struct {
	origins map[string]Origin
	limits  npm.Limits
}

var _ TarballFetcher = (*UpstreamFetcher)(nil)

// NewUpstreamFetcher returns a fetcher over opts.Origins.
func NewUpstreamFetcher(opts UpstreamFetcherOptions) *UpstreamFetcher {
	f := &UpstreamFetcher{origins: make(map[string]Origin, len(opts.Origins)), limits: opts.Limits}
	for _, o := range opts.Origins {
		if b := o.Base(); b != nil {
			f.origins[baseKey(b.String())] = o
		}
	}
	return f
}

func baseKey(s string) string { return strings.TrimSuffix(s, "/") }

func (f *UpstreamFetcher) origin(op string, job Job) (Origin, error) {
	o, ok := f.origins[baseKey(job.Upstream)]
	if !ok {
		return nil, permanent(op, ReasonUnknownUpstream, fmt.Errorf("the job names upstream %q, which this process does not read", egressSafe(job.Upstream)))
	}
	return o, nil
}

// Manifest implements TarballFetcher.
func (f *UpstreamFetcher) Manifest(ctx context.Context, job Job) ([]byte, error) {
	o, err := f.origin("manifest", job)
	if err != nil {
		return nil, err
	}
	raw, err := o.Packument(ctx, job.Name, redact.Secret{}, nil)
	if err != nil {
		return nil, classifyUpstream("manifest", err)
	}
	p, err := npm.ParsePackument(raw, job.Name, f.limits)
	if err != nil {
		if errors.Is(err, npm.ErrTooLarge) {
			return nil, permanent("manifest", ReasonTooLarge, err)
		}
		return nil, permanent("manifest", ReasonBadDocument, err)
	}
	v := p.Find(job.Version)
	if v == nil {
		return nil, permanent("manifest", ReasonNotFound, fmt.Errorf("the public upstream has no version %q of %s", job.Version, job.Name))
	}
	return []byte(v.Raw), nil
}

// Open implements TarballFetcher.
func (f *UpstreamFetcher) Open(ctx context.Context, job Job) (io.ReadCloser, int64, error) {
	o, err := f.origin("fetch", job)
	if err != nil {
		return nil, 0, err
	}
	u, err := url.Parse(job.Tarball)
	if err != nil {
		return nil, 0, permanent("fetch", ReasonBadDocument, fmt.Errorf("tarball URL: %w", err))
	}
	body, size, err := o.Open(ctx, u, redact.Secret{})
	if err != nil {
		return nil, 0, classifyUpstream("fetch", err)
	}
	return body, size, nil
}

// classifyUpstream turns an upstream client's error into an *Error.
func classifyUpstream(op string, err error) *Error {
	var (
		denied      *upstream.DeniedError
		unavailable *upstream.UnavailableError
	)
	switch {
	case errors.Is(err, upstream.ErrNotFound):
		return permanent(op, ReasonNotFound, err)
	case errors.Is(err, upstream.ErrTooLarge):
		return permanent(op, ReasonTooLarge, err)
	case errors.As(err, &denied):
		return &Error{Kind: KindPermanent, Reason: ReasonDenied, Op: op, Status: denied.Status, Err: err}
	case errors.As(err, &unavailable):
		switch {
		case unavailable.Refusal != "":
			return permanent(op, ReasonRefused, err)
		case unavailable.Status == 0:
			return transient(op, ReasonNetwork, err)
		default:
			e := &Error{Kind: statusKind(unavailable.Status), Reason: ReasonStatus, Op: op, Status: unavailable.Status, Err: err}
			return e
		}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return transient(op, ReasonNetwork, err)
	}
	return transient(op, ReasonNetwork, err)
}

// statusKind classifies an HTTP failure status: 5xx, 408 and 429 are worth retrying;
// any other is not.
func statusKind(status int) Kind {
	if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
		return KindTransient
	}
	return KindPermanent
}

// classifyRead classifies a failure while a body streams.
func classifyRead(err error) *Error {
	if errors.Is(err, egress.ErrTooLarge) {
		return permanent("fetch", ReasonTooLarge, err)
	}
	var refused *egress.RefusedError
	if errors.As(err, &refused) {
		return permanent("fetch", ReasonRefused, err)
	}
	return transient("fetch", ReasonNetwork, err)
}

// egressSafe strips userinfo, query and fragment from a URL before it goes into an
// error, and bounds it.
func egressSafe(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return clip(raw)
	}
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	return clip(u.String())
}
