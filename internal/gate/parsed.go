package gate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// parsedDocs is the innermost layer of the document fetch: it downloads the document a
// request asks for from its upstream (conditionally on the validators of the copy it
// revalidates, when the upstream can do that) and parses it. The download and the parse
// are charged to the memory budget; once cached, the cache's own bound counts the
// document. Its errors are the gate's own (see fetchFailure): a not-found, a refusal or
// an unusable document is permanent, a timeout, a 5xx or a full budget temporary.
type parsedDocs struct {
	limits npm.Limits
	// budget is charged while a document is read and parsed. Nil means no bound.
	budget *budget.Budget
	// ttl is how long a parsed document may be reused: it sets the document's expires.
	ttl time.Duration
	now func() time.Time
	// parses counts the documents parsed. Nil counts nothing.
	parses *atomic.Int64
}

// parseCharge is the share of a document's size that a fetch is charged for while it
// reads and parses it, in percent: the body, and the indexes the parser builds over it
// (at most a third more on real documents; see Packument.Footprint).
const parseCharge = 150

// Fetch downloads and parses req's document. A revalidation (req.prev set) that the
// upstream answers "not modified", or with the very bytes req.prev was parsed from,
// returns req.prev as revalidated, and nothing is parsed.
func (p *parsedDocs) Fetch(ctx context.Context, req docRequest) (*fetched, freshness, error) {
	lease := p.budget.Lease(parseCharge)
	defer lease.Release()
	var since upstream.Validators
	if req.prev != nil {
		since = req.prev.validators
	}
	origin := req.src.Origin()
	raw, val, err := download(ctx, req.src, req.name, req.cred, lease, since)
	if err != nil {
		if req.prev != nil && errors.Is(err, upstream.ErrNotModified) {
			return req.prev, revalidated, nil
		}
		return nil, 0, fetchFailure(origin, req.name, err)
	}
	f := &fetched{}
	if origin == SourcePrivate {
		// Summed before parsing: the parser takes ownership of raw.
		f.sum, f.validators = sha256.Sum256(raw), val
		if req.prev != nil && f.sum == req.prev.sum {
			return req.prev, revalidated, nil
		}
	}
	doc, err := npm.ParsePackument(raw, req.name, p.limits)
	if p.parses != nil {
		p.parses.Add(1)
	}
	if err != nil {
		return nil, 0, &UpstreamError{
			Message:   fmt.Sprintf("the %s registry sent an unusable document for %s: %s", origin, req.name, publicDocError(err)),
			Cause:     err,
			permanent: true,
		}
	}
	now := p.now()
	f.doc, f.expires = doc, now.Add(p.ttl)
	f.checked.Store(now.UnixNano())
	return f, downloaded, nil
}

// download reads a document from src, conditionally on since when src can do that.
func download(ctx context.Context, src Source, name string, cred redact.Secret, lease *budget.Lease, since upstream.Validators) ([]byte, upstream.Validators, error) {
	if c, ok := src.(ConditionalSource); ok {
		return c.PackumentIfChanged(ctx, name, cred, lease, since)
	}
	raw, err := src.Packument(ctx, name, cred, lease)
	return raw, upstream.Validators{}, err
}

// fetchFailure turns a source's error for a document into the gate's: a
// *NotFoundError for a 404, else what upstreamFailure makes of it.
func fetchFailure(origin, name string, err error) error {
	if errors.Is(err, upstream.ErrNotFound) {
		return &NotFoundError{Message: fmt.Sprintf("the %s registry does not have %s", origin, name)}
	}
	return upstreamFailure(origin, name, err)
}

// publicDocError is the client-facing text of a document validation error.
func publicDocError(err error) string {
	var de *npm.DocumentError
	if errors.As(err, &de) {
		return de.Error()
	}
	return "it is not a valid package document"
}
