package budget

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// DefaultWait is how long a charge waits for room when Options.Wait is zero.
const DefaultWait = 10 * time.Second

// ErrExhausted: a charge did not fit in the budget within the wait bound.
var ErrExhausted = errors.New("memory budget exhausted")

// ExhaustedError says how much a lease asked for and how long it waited.
// errors.Is(err, ErrExhausted) is true for it.
type ExhaustedError struct {
	// Want is the charge that did not fit, in bytes; Max is the whole budget.
	Want, Max int64
	// Waited is how long the charge waited before giving up.
	Waited time.Duration
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("memory budget exhausted: %d more bytes did not fit in %d within %s", e.Want, e.Max, e.Waited)
}

// Is makes errors.Is(err, ErrExhausted) true.
func (e *ExhaustedError) Is(target error) bool { return target == ErrExhausted }

// Budget is a byte count shared by concurrent leases. A nil *Budget is unbounded: its
// leases are nil and charging them always succeeds.
type Budget struct {
	sem  *semaphore.Weighted
	max  int64
	wait time.Duration
	used atomic.Int64
}

// New returns a budget of max bytes whose charges wait at most wait for room (zero
// means DefaultWait). max <= 0 returns nil: no bound.
func New(max int64, wait time.Duration) *Budget {
	if max <= 0 {
		return nil
	}
	if wait <= 0 {
		wait = DefaultWait
	}
	return &Budget{sem: semaphore.NewWeighted(max), max: max, wait: wait}
}

// Max returns the budget's size in bytes, or 0 for an unbounded (nil) budget.
func (b *Budget) Max() int64 {
	if b == nil {
		return 0
	}
	return b.max
}

// InUse returns the bytes currently charged by live leases.
func (b *Budget) InUse() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Lease starts an empty lease whose charges count percent/100 of the bytes asked for
// (150 charges half again as much, for work that builds an index over what it reads).
// percent below 100 counts as 100. The caller must Release it.
func (b *Budget) Lease(percent int64) *Lease {
	if b == nil {
		return nil
	}
	return &Lease{b: b, percent: max(percent, 100)}
}

// Lease is one unit of work's share of a Budget. A nil *Lease is unbounded. A Lease
// may be charged from one goroutine at a time and released from any.
type Lease struct {
	b       *Budget
	percent int64
	mu      sync.Mutex
	held    int64
	done    bool
}

// Charge reserves room for n more bytes (scaled by the lease's percentage), waiting
// for room at most the budget's wait bound or until ctx ends. A lease never holds more
// than the whole budget: work larger than the budget is charged the whole of it, so it
// runs, alone. It returns an *ExhaustedError when room did not come in time, or ctx's
// error.
func (l *Lease) Charge(ctx context.Context, n int64) error {
	if l == nil || n <= 0 {
		return nil
	}
	want := n * l.percent / 100
	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return errors.New("budget: charge after release")
	}
	want = min(want, l.b.max-l.held)
	l.mu.Unlock()
	if want <= 0 {
		return nil
	}
	if !l.b.sem.TryAcquire(want) {
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, l.b.wait)
		err := l.b.sem.Acquire(wctx, want)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &ExhaustedError{Want: want, Max: l.b.max, Waited: time.Since(start)}
		}
	}
	l.mu.Lock()
	l.held += want
	l.mu.Unlock()
	l.b.used.Add(want)
	return nil
}

// Held returns the bytes this lease holds.
func (l *Lease) Held() int64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

// Release gives back everything the lease holds. Further charges fail; releasing again
// does nothing.
func (l *Lease) Release() {
	if l == nil {
		return
	}
	l.mu.Lock()
	held := l.held
	l.held, l.done = 0, true
	l.mu.Unlock()
	if held > 0 {
		l.b.used.Add(-held)
		l.b.sem.Release(held)
	}
}
