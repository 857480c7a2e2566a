package gate

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// The fakes the document fetch's layers are tested over, each layer on its own.

// fakeDocs is the layer beneath the one under test: it counts and records its calls,
// then answers each with answer(req) once release is closed (at once when release is
// nil), or gives up when its context ends.
type fakeDocs struct {
	calls    atomic.Int64
	canceled atomic.Int64 // calls that saw their context end
	finished atomic.Int64 // calls that answered
	release  chan struct{}
	answer   func(req docRequest) (*fetched, freshness, error)

	mu   sync.Mutex
	reqs []docRequest
}

func (d *fakeDocs) Fetch(ctx context.Context, req docRequest) (*fetched, freshness, error) {
	d.calls.Add(1)
	d.mu.Lock()
	d.reqs = append(d.reqs, req)
	d.mu.Unlock()
	if d.release != nil {
		select {
		case <-d.release:
		case <-ctx.Done():
			d.canceled.Add(1)
			return nil, 0, ctx.Err()
		}
	}
	defer d.finished.Add(1)
	return d.answer(req)
}

// last returns the last request made.
func (d *fakeDocs) last() docRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reqs[len(d.reqs)-1]
}

// waitUntil polls cond, yielding the processor between polls, and fails the test if it
// does not hold within ten seconds. It never sleeps for a guessed while: it returns as
// soon as cond holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// testDoc returns a small document of name, parsed, with one version, fetched at at.
func testDoc(t testing.TB, name, version string, at time.Time) *fetched {
	t.Helper()
	p, err := npm.ParsePackument(docBytes(name, version), name, npm.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fetched{doc: p, expires: at.Add(time.Minute)}
	f.checked.Store(at.UnixNano())
	return f
}

// docBytes is a small package document.
func docBytes(name, version string) []byte {
	return fmt.Appendf(nil, `{"name":%q,"dist-tags":{"latest":%q},"versions":{%q:{"name":%q,"version":%q}}}`,
		name, version, version, name, version)
}

// docSource is a fake upstream for the parsed layer: it answers every document request
// with raw and val, or err, and records what it was asked. conditional makes it a
// ConditionalSource.
type docSource struct {
	origin string
	raw    []byte
	val    upstream.Validators
	err    error

	mu     sync.Mutex
	since  upstream.Validators // the validators of the last conditional request
	leases int                 // requests that carried a lease
}

func (s *docSource) Origin() string { return s.origin }
func (s *docSource) Base() *url.URL {
	return &url.URL{Scheme: "https", Host: s.origin + ".example.test", Path: "/"}
}

func (s *docSource) Packument(_ context.Context, _ string, _ redact.Secret, lease *budget.Lease) ([]byte, error) {
	raw, _, err := s.answer(lease, upstream.Validators{})
	return raw, err
}

func (s *docSource) answer(lease *budget.Lease, since upstream.Validators) ([]byte, upstream.Validators, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.since = since
	if lease != nil {
		s.leases++
	}
	if s.err != nil {
		return nil, upstream.Validators{}, s.err
	}
	// A copy: the parser takes ownership of what it is given.
	return append([]byte(nil), s.raw...), s.val, nil
}

func (s *docSource) Open(context.Context, *url.URL, redact.Secret) (io.ReadCloser, int64, error) {
	return nil, 0, upstream.ErrNotFound
}

// conditionalSource is a docSource that can be asked conditionally: it answers "not
// modified" when since carries notModified's ETag.
type conditionalSource struct {
	*docSource
	notModified string
}

func (s *conditionalSource) PackumentIfChanged(_ context.Context, _ string, _ redact.Secret, lease *budget.Lease, since upstream.Validators) ([]byte, upstream.Validators, error) {
	raw, val, err := s.answer(lease, since)
	if err == nil && s.notModified != "" && since.ETag == s.notModified {
		return nil, since, upstream.ErrNotModified
	}
	return raw, val, err
}

var (
	_ Source            = (*docSource)(nil)
	_ ConditionalSource = (*conditionalSource)(nil)
)
