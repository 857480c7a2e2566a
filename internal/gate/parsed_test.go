package gate

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/source"
	"github.com/ecluse/ecluse/internal/upstream"
)

// newParsed returns the parsed layer with a budget, a fixed clock and a parse count.
func newParsed() (*parsedDocs, *budget.Budget, *atomic.Int64) {
	b := budget.New(1<<20, time.Second)
	parses := &atomic.Int64{}
	return &parsedDocs{limits: npm.Limits{MaxBytes: 1 << 20, MaxVersions: 100, MaxDepth: 64}, budget: b, ttl: time.Minute,
		now: func() time.Time { return now }, parses: parses}, b, parses
}

// requestFor asks src for name's document.
func requestFor(src Source, name string) docRequest {
	return docRequest{key: docKey(src.Origin(), name, ""), src: src, name: name}
}

// TestParsedDocsErrors: every failure is one of the gate's typed errors, and says
// whether asking again soon may succeed, as source.IsTemporary reads it (the convention
// every Écluse cache and retry branches on).
func TestParsedDocsErrors(t *testing.T) {
	var (
		notFound   *NotFoundError
		upstreamE  *UpstreamError
		denied     *UpstreamDeniedError
		busy       *BusyError
		isNotFound = func(err error) bool { return errors.As(err, &notFound) && errors.Is(err, ErrNotFound) }
		isUpstream = func(err error) bool { return errors.As(err, &upstreamE) }
		isDenied   = func(err error) bool { return errors.As(err, &denied) && denied.Status == 403 }
		isBusy     = func(err error) bool { return errors.As(err, &busy) && busy.RetryAfterDelay() > 0 }
	)
	tests := []struct {
		name      string
		origin    string
		raw       string
		err       error
		is        func(error) bool
		temporary bool
	}{
		{"not found", SourcePublic, "", upstream.ErrNotFound, isNotFound, false},
		{"private not found", SourcePrivate, "", fmt.Errorf("read: %w", upstream.ErrNotFound), isNotFound, false},
		{"malformed document", SourcePublic, "{", nil, isUpstream, false},
		{"another package's document", SourcePublic, string(docBytes("other", "1.0.0")), nil, isUpstream, false},
		{"too large to read", SourcePublic, "", fmt.Errorf("read: %w", upstream.ErrTooLarge), isUpstream, false},
		{"egress refusal", SourcePublic, "", &upstream.UnavailableError{Origin: SourcePublic, Refusal: "host not in egress allowlist"}, isUpstream, false},
		{"public refusal", SourcePublic, "", &upstream.DeniedError{Origin: SourcePublic, Status: 403}, isUpstream, false},
		{"private refusal", SourcePrivate, "", &upstream.DeniedError{Origin: SourcePrivate, Status: 403}, isDenied, false},
		{"5xx", SourcePublic, "", &upstream.UnavailableError{Origin: SourcePublic, Status: 503}, isUpstream, true},
		{"timeout", SourcePublic, "", &upstream.UnavailableError{Origin: SourcePublic, Err: context.DeadlineExceeded}, isUpstream, true},
		{"connection refused", SourcePrivate, "", &upstream.UnavailableError{Origin: SourcePrivate, Err: errors.New("connection refused")}, isUpstream, true},
		{"budget exhausted", SourcePublic, "", fmt.Errorf("charge: %w", budget.ErrExhausted), isBusy, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, b, _ := newParsed()
			src := &docSource{origin: tt.origin, raw: []byte(tt.raw), err: tt.err}
			f, _, err := p.Fetch(context.Background(), requestFor(src, "pkg"))
			if err == nil || f != nil {
				t.Fatalf("Fetch = %v, %v; want a failure", f, err)
			}
			if !tt.is(err) {
				t.Errorf("Fetch error = %v (%T), not the gate's error for %s", err, err, tt.name)
			}
			var classified interface{ Temporary() bool }
			if !errors.As(err, &classified) || classified.Temporary() != tt.temporary {
				t.Errorf("Fetch error %v: Temporary() = %v, want %v", err, classified != nil && classified.Temporary(), tt.temporary)
			}
			if got := source.IsTemporary(err); got != tt.temporary {
				t.Errorf("source.IsTemporary(%v) = %v, want %v", err, got, tt.temporary)
			}
			if b.InUse() != 0 {
				t.Errorf("the budget holds %d bytes after a failed fetch, want 0", b.InUse())
			}
		})
	}
}

// TestParsedDocs: a document is downloaded under a lease and parsed, stamped with when
// it was read and until when it may be reused; a revalidation the upstream answers
// "not modified", or with the same bytes, keeps the copy and parses nothing.
func TestParsedDocs(t *testing.T) {
	ctx := context.Background()

	t.Run("download and parse", func(t *testing.T) {
		p, b, parses := newParsed()
		src := &docSource{origin: SourcePublic, raw: docBytes("pkg", "1.0.0")}
		f, fresh, err := p.Fetch(ctx, requestFor(src, "pkg"))
		if err != nil || fresh != downloaded {
			t.Fatalf("Fetch = %v, %v; want downloaded", fresh, err)
		}
		if f.doc.Find("1.0.0") == nil || !f.expires.Equal(now.Add(time.Minute)) || f.checked.Load() != now.UnixNano() {
			t.Errorf("document has 1.0.0 %v, expires %v, checked %v; want it, now+ttl and now",
				f.doc.Find("1.0.0") != nil, f.expires, time.Unix(0, f.checked.Load()))
		}
		if parses.Load() != 1 || src.leases != 1 || b.InUse() != 0 {
			t.Errorf("parses %d, leased requests %d, budget held after %d; want 1, 1, 0", parses.Load(), src.leases, b.InUse())
		}
		if f.sum != ([32]byte{}) || !f.validators.IsZero() {
			t.Error("a public document carries revalidation state")
		}
	})
	t.Run("not modified", func(t *testing.T) {
		p, _, parses := newParsed()
		src := &conditionalSource{docSource: &docSource{origin: SourcePrivate, raw: docBytes("corp", "1.0.0"), val: upstream.Validators{ETag: `"v1"`}}, notModified: `"v1"`}
		first, _, err := p.Fetch(ctx, requestFor(src, "corp"))
		if err != nil || first.validators.ETag != `"v1"` {
			t.Fatalf("first fetch = %v, validators %+v", err, first.validators)
		}
		req := requestFor(src, "corp")
		req.prev = first
		got, fresh, err := p.Fetch(ctx, req)
		if err != nil || got != first || fresh != revalidated {
			t.Errorf("revalidation = %v, %v, same %v; want the copy, revalidated", fresh, err, got == first)
		}
		if src.since.ETag != `"v1"` || parses.Load() != 1 {
			t.Errorf("asked with %+v, parses %d; want the copy's validators, one parse", src.since, parses.Load())
		}
	})
	t.Run("same bytes, no validators", func(t *testing.T) {
		p, _, parses := newParsed()
		src := &docSource{origin: SourcePrivate, raw: docBytes("corp", "1.0.0")}
		first, _, _ := p.Fetch(ctx, requestFor(src, "corp"))
		req := requestFor(src, "corp")
		req.prev = first
		if got, fresh, err := p.Fetch(ctx, req); err != nil || got != first || fresh != revalidated || parses.Load() != 1 {
			t.Errorf("same bytes = %v, %v, same %v, parses %d; want the copy, revalidated, one parse", fresh, err, got == first, parses.Load())
		}
		src.raw = docBytes("corp", "1.1.0")
		got, fresh, err := p.Fetch(ctx, req)
		if err != nil || got == first || fresh != downloaded || got.doc.Find("1.1.0") == nil || parses.Load() != 2 {
			t.Errorf("changed bytes = %v, %v, parses %d; want the new document, downloaded", fresh, err, parses.Load())
		}
	})
}
