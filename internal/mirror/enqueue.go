package mirror

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecluse/ecluse/internal/queue"
)

// Defaults applied to zero-valued EnqueuerOptions fields.
const (
	DefaultRecentJobs     = 10_000
	DefaultRecentTTL      = 10 * time.Minute
	DefaultEnqueueTimeout = time.Second
	DefaultLogEvery       = 30 * time.Second
)

// EnqueuerOptions configures an Enqueuer. Zero values are noted per field.
type EnqueuerOptions struct {
	// Recent is how many job keys are remembered to collapse duplicates before they
	// reach the queue. Zero means DefaultRecentJobs; negative means none are.
	Recent int
	// RecentTTL is how long a key is remembered. Zero means DefaultRecentTTL.
	RecentTTL time.Duration
	// Timeout bounds one Queue.Enqueue, so a slow queue never holds the request path.
	// Zero means DefaultEnqueueTimeout.
	Timeout time.Duration
	// LogEvery is the least time between two log lines about dropped or failed jobs;
	// the lines in between are counted, not written. Zero means DefaultLogEvery.
	LogEvery time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives the rate-limited lines. Nil means slog.Default().
	Logger *slog.Logger
}

// Enqueuer is the front door's side of the mirror: it turns served versions into
// queued jobs. It is safe for concurrent use.
//
// It takes a Job (not the gate's own type, which mirror must not import): the
// composition root adapts gate.MirrorJob by adding the mount, the ecosystem and the
// public upstream.
type Enqueuer struct {
	q      queue.Queue
	opts   EnqueuerOptions
	log    *slog.Logger
	recent *recentSet

	enqueued, deduplicated, dropped, failed atomic.Int64

	dropLog, failLog throttle
}

// NewEnqueuer returns an Enqueuer feeding q.
func NewEnqueuer(q queue.Queue, opts EnqueuerOptions) *Enqueuer {
	if opts.Recent == 0 {
		opts.Recent = DefaultRecentJobs
	}
	if opts.RecentTTL <= 0 {
		opts.RecentTTL = DefaultRecentTTL
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultEnqueueTimeout
	}
	if opts.LogEvery <= 0 {
		opts.LogEvery = DefaultLogEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Enqueuer{q: q, opts: opts, log: opts.Logger}
	if opts.Recent > 0 {
		e.recent = newRecentSet(opts.Recent, opts.RecentTTL)
	}
	e.dropLog.every, e.failLog.every = opts.LogEvery, opts.LogEvery
	return e
}

// Enqueue queues job unless the same job (same Key) was queued within RecentTTL. It
// waits at most Timeout for the queue. A job the queue has no room for (queue.ErrFull)
// is dropped, and any other queue failure is given up: both are counted and logged at
// most once per LogEvery, the job is forgotten so that its next serve queues it again,
// and Enqueue returns nil, since the request path has nothing better to do with them.
// Enqueue returns an error (matched by errors.Is(err, ErrInvalidJob)) only for a job
// that fails Validate.
func (e *Enqueuer) Enqueue(ctx context.Context, job Job) error {
	body, err := job.Encode()
	if err != nil {
		return err
	}
	now := e.opts.Now()
	var claim *list.Element
	if e.recent != nil {
		var fresh bool
		if claim, fresh = e.recent.claim(job.Key(), now); !fresh {
			e.deduplicated.Add(1)
			return nil
		}
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.Timeout)
	err = e.q.Enqueue(qctx, body)
	cancel()
	if err == nil {
		e.enqueued.Add(1)
		return nil
	}
	if e.recent != nil {
		e.recent.release(claim)
	}
	if errors.Is(err, queue.ErrFull) {
		total := e.dropped.Add(1)
		if n, ok := e.dropLog.allow(now); ok {
			e.log.WarnContext(ctx, "mirror jobs dropped: the queue is full",
				"dropped", n, "dropped_total", total, "mount", job.Mount, "package", job.Name, "version", job.Version)
		}
		return nil
	}
	total := e.failed.Add(1)
	if n, ok := e.failLog.allow(now); ok {
		e.log.WarnContext(ctx, "mirror jobs not queued",
			"failed", n, "failed_total", total, "mount", job.Mount, "package", job.Name, "version", job.Version,
			"error", err.Error())
	}
	return nil
}

// EnqueuerStats is a snapshot of an Enqueuer's counters.
type EnqueuerStats struct {
	// Enqueued counts jobs the queue accepted.
	Enqueued int64
	// Deduplicated counts jobs collapsed into one queued within RecentTTL.
	Deduplicated int64
	// Dropped counts jobs the queue had no room for.
	Dropped int64
	// Failed counts jobs the queue refused for another reason (a timeout, a closed
	// queue, a provider error).
	Failed int64
}

// Stats returns a snapshot of the counters.
func (e *Enqueuer) Stats() EnqueuerStats {
	return EnqueuerStats{
		Enqueued: e.enqueued.Load(), Deduplicated: e.deduplicated.Load(),
		Dropped: e.dropped.Load(), Failed: e.failed.Load(),
	}
}

// throttle lets one event through per interval and counts those it holds back.
type throttle struct {
	every time.Duration

	mu      sync.Mutex
	last    time.Time
	pending int64
}

// allow records an event at now and reports whether to log it, with the number of
// events (this one included) since the last one logged.
func (t *throttle) allow(now time.Time) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending++
	if !t.last.IsZero() && now.Sub(t.last) < t.every {
		return 0, false
	}
	n := t.pending
	t.last, t.pending = now, 0
	return n, true
}

// recentSet remembers keys for a while, at most max of them, least recently claimed
// forgotten first.
type recentSet struct {
	max int
	ttl time.Duration

	mu    sync.Mutex
	order *list.List // of *recentEntry, most recent at the front
	byKey map[string]*list.Element
}

type recentEntry struct {
	key string
	at  time.Time
}

func newRecentSet(max int, ttl time.Duration) *recentSet {
	return &recentSet{max: max, ttl: ttl, order: list.New(), byKey: make(map[string]*list.Element, min(max, 1024))}
}

// claim records key at now. fresh is false when key was claimed within ttl; otherwise
// the returned element is the claim, for release.
func (s *recentSet) claim(key string, now time.Time) (el *list.Element, fresh bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Forget what expired, oldest first.
	for back := s.order.Back(); back != nil; back = s.order.Back() {
		e := back.Value.(*recentEntry)
		if now.Sub(e.at) < s.ttl {
			break
		}
		s.order.Remove(back)
		delete(s.byKey, e.key)
	}
	if el, ok := s.byKey[key]; ok {
		return el, false
	}
	el = s.order.PushFront(&recentEntry{key: key, at: now})
	s.byKey[key] = el
	for s.order.Len() > s.max {
		back := s.order.Back()
		s.order.Remove(back)
		delete(s.byKey, back.Value.(*recentEntry).key)
	}
	return el, true
}

// release forgets a claim, unless it was already forgotten (and perhaps claimed anew).
func (s *recentSet) release(el *list.Element) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := el.Value.(*recentEntry)
	if cur, ok := s.byKey[e.key]; ok && cur == el {
		s.order.Remove(el)
		delete(s.byKey, e.key)
	}
}
