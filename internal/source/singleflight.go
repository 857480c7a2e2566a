package source

import (
	"context"
	"fmt"
	"sync"
)

// Singleflight returns a Fetcher that collapses concurrent fetches of one key into a
// single call of f: the callers that ask for a key while a fetch of it is in flight
// wait for that fetch and share its value or error. It remembers nothing once the
// fetch returns (that is Cached's job).
//
// The shared fetch runs in its own goroutine with a context that keeps the values of
// the context of the caller that started it (its logger, its trace) but not its
// cancellation: one caller giving up does not fail the others. Each caller waits no
// longer than its own context allows; when the last caller waiting for a fetch gives
// up, the fetch's context is cancelled. A panic in f is returned to every waiter as an
// error instead of crashing the process.
func Singleflight[V any](f Fetcher[V]) Fetcher[V] {
	return &flight[V]{f: f, calls: make(map[string]*call[V])}
}

// flight is the Fetcher Singleflight returns.
type flight[V any] struct {
	f Fetcher[V]

	mu    sync.Mutex
	calls map[string]*call[V] // the fetches in flight, by key
}

// call is one shared fetch.
type call[V any] struct {
	done    chan struct{} // closed once val and err are set
	val     V
	err     error
	waiters int // callers still waiting; guarded by flight.mu
	cancel  context.CancelFunc
}

func (s *flight[V]) Fetch(ctx context.Context, key string) (V, error) {
	s.mu.Lock()
	c, ok := s.calls[key]
	if !ok {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call[V]{done: make(chan struct{}), cancel: cancel}
		s.calls[key] = c
		go s.run(fctx, key, c)
	}
	c.waiters++
	s.mu.Unlock()

	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		s.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			// Nobody wants it any more: stop it, and let the next caller start afresh.
			c.cancel()
			if s.calls[key] == c {
				delete(s.calls, key)
			}
		}
		s.mu.Unlock()
		var zero V
		return zero, ctx.Err()
	}
}

// run performs one shared fetch and hands its result to the waiters.
func (s *flight[V]) run(ctx context.Context, key string, c *call[V]) {
	defer c.cancel()
	defer close(c.done)
	defer func() {
		if r := recover(); r != nil {
			var zero V
			c.val, c.err = zero, fmt.Errorf("source: the fetch of %q panicked: %v", key, r)
		}
		s.mu.Lock()
		if s.calls[key] == c {
			delete(s.calls, key)
		}
		s.mu.Unlock()
	}()
	c.val, c.err = s.f.Fetch(ctx, key)
}

// waiting returns how many callers wait for the fetch of key in flight (0 when none
// is), for tests.
func (s *flight[V]) waiting(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.calls[key]; ok {
		return c.waiters
	}
	return 0
}
