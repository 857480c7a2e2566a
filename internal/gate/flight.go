package gate

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// docFlight is the singleflight layer of the document fetch: the requests that ask for
// a document while a fetch of it is in flight (by docRequest.flightKey) wait for that
// fetch and share its answer. It remembers nothing once the fetch returns; that is the
// cache's job.
//
// The shared fetch runs in its own goroutine, with the request that started it and a
// context that keeps that request's values (its logger, its trace) but not its
// cancellation, bounded by timeout instead: one client hanging up does not fail the
// others sharing the fetch, and the fetch runs to its end even when every caller gave
// up, so that what it read is still stored by the layer beneath and a request that
// arrives meanwhile joins it. Each caller waits no longer than its own context allows.
// A panic in the fetch is returned to its waiters as an error.
type docFlight struct {
	next    docFetcher
	timeout time.Duration

	mu    sync.Mutex
	calls map[string]*docCall // the fetches in flight, by flight key
}

// docCall is one shared fetch.
type docCall struct {
	done  chan struct{} // closed once the answer is set
	doc   *fetched
	fresh freshness
	err   error
	// waiters counts the callers that joined and have not given up; guarded by
	// docFlight.mu.
	waiters int
}

// newDocFlight returns the singleflight layer over next; timeout bounds each shared
// fetch.
func newDocFlight(next docFetcher, timeout time.Duration) *docFlight {
	return &docFlight{next: next, timeout: timeout, calls: make(map[string]*docCall)}
}

// Fetch joins the fetch of req's document in flight, or starts one.
func (s *docFlight) Fetch(ctx context.Context, req docRequest) (*fetched, freshness, error) {
	key := req.flightKey()
	s.mu.Lock()
	c, ok := s.calls[key]
	if !ok {
		c = &docCall{done: make(chan struct{})}
		s.calls[key] = c
		go s.run(context.WithoutCancel(ctx), key, req, c)
	}
	c.waiters++
	s.mu.Unlock()

	select {
	case <-c.done:
		return c.doc, c.fresh, c.err
	case <-ctx.Done():
		s.mu.Lock()
		c.waiters--
		s.mu.Unlock()
		return nil, 0, ctx.Err()
	}
}

// run performs one shared fetch and hands its answer to the waiters. The call leaves
// the map before its answer is out: a request made after a caller was answered asks
// anew, and never gets an answer older than itself (a revalidation made after a
// caller's access was revoked must reach the upstream).
func (s *docFlight) run(ctx context.Context, key string, req docRequest, c *docCall) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			c.doc, c.fresh, c.err = nil, 0, fmt.Errorf("the fetch of %s from the %s registry panicked: %v", req.name, req.src.Origin(), r)
		}
		s.mu.Lock()
		delete(s.calls, key)
		s.mu.Unlock()
		close(c.done)
	}()
	c.doc, c.fresh, c.err = s.next.Fetch(ctx, req)
}

// waiting returns how many callers wait for the fetch in flight under the flight key
// key (0 when none is), for tests.
func (s *docFlight) waiting(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.calls[key]; ok {
		return c.waiters
	}
	return 0
}
