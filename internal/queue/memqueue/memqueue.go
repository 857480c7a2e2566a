package memqueue

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ecluse/ecluse/internal/queue"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxDepth        = 50000
	DefaultHold            = 30 * time.Second
	DefaultDropLogInterval = time.Minute
)

// errNotHeld is returned by Extend when the delivery is no longer held by its
// consumer: its hold lapsed and it was delivered again, or it was acknowledged, given
// back, or its handle closed.
var errNotHeld = errors.New("memqueue: message no longer held")

// Options configures a memory queue. Every zero value means a default.
type Options struct {
	// MaxDepth caps the jobs waiting, delayed and held together
	// (MIRROR_QUEUE_MEMORY_MAX_DEPTH). Zero or less means DefaultMaxDepth.
	MaxDepth int
	// Hold is how long a received job stays held before it is delivered again unless
	// acknowledged, given back or extended. Zero or less means DefaultHold.
	Hold time.Duration
	// DropLogInterval is the least time between two "queue full" log lines. Zero or
	// less means DefaultDropLogInterval.
	DropLogInterval time.Duration
	// Logger receives the drop lines. Nil discards them.
	Logger *slog.Logger
	// Now is the clock of the drop log's rate limit (holds and delays run on real
	// timers). Nil means time.Now.
	Now func() time.Time
}

// Queue is one handle onto an in-process queue. It is safe for concurrent use.
type Queue struct {
	s    *store
	hold time.Duration
	done chan struct{} // closed by Close

	// Guarded by s.mu.
	closed bool
	held   map[*entry]struct{}
}

var _ queue.Queue = (*Queue)(nil)

// New returns a handle onto a new, empty queue.
func New(opts Options) *Queue {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.Hold <= 0 {
		opts.Hold = DefaultHold
	}
	if opts.DropLogInterval <= 0 {
		opts.DropLogInterval = DefaultDropLogInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &store{
		max:      opts.MaxDepth,
		wake:     make(chan struct{}),
		log:      opts.Logger,
		now:      opts.Now,
		interval: opts.DropLogInterval,
	}
	return s.handle(opts.Hold)
}

// Open returns another handle onto the same jobs, with the same Hold, as a second
// consumer would have. It is closed on its own; closing it returns the jobs it holds.
func (q *Queue) Open() *Queue { return q.s.handle(q.hold) }

// Depth is how many jobs are waiting, delayed or held.
func (q *Queue) Depth() int {
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	return q.s.count
}

// Enqueue adds a copy of body, or drops it and returns queue.ErrFull when MaxDepth
// jobs are already waiting or held.
func (q *Queue) Enqueue(ctx context.Context, body []byte) error {
	s := q.s
	s.mu.Lock()
	if q.closed {
		s.mu.Unlock()
		return queue.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return err
	}
	if s.count >= s.max {
		line, dropped := s.dropLocked()
		s.mu.Unlock()
		if line {
			s.logDrops(dropped)
		}
		return fmt.Errorf("memqueue: %d jobs waiting or held: %w", s.max, queue.ErrFull)
	}
	e := &entry{body: append([]byte(nil), body...)}
	s.count++
	s.makeReadyLocked(e)
	s.mu.Unlock()
	return nil
}

// Receive waits for the next job and holds it for Hold.
func (q *Queue) Receive(ctx context.Context) (queue.Message, error) {
	s := q.s
	for {
		s.mu.Lock()
		if q.closed {
			s.mu.Unlock()
			return nil, queue.ErrClosed
		}
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return nil, err
		}
		now := time.Now()
		s.promoteLocked(now)
		if e := s.ready.pop(); e != nil {
			e.attempts++
			s.holdLocked(e, q, now.Add(q.hold))
			m := &message{q: q, e: e, gen: e.gen, attempt: e.attempts, body: append([]byte(nil), e.body...)}
			s.mu.Unlock()
			return m, nil
		}
		wake := s.wake
		var timeout <-chan time.Time
		var timer *time.Timer
		if at, ok := s.timed.next(); ok {
			timer = time.NewTimer(at.Sub(now))
			timeout = timer.C
		}
		s.mu.Unlock()

		select {
		case <-ctx.Done():
		case <-q.done:
		case <-wake:
		case <-timeout:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// Close closes this handle: blocked Receives return queue.ErrClosed and the jobs it
// holds are delivered again at once to the other handles. Other handles go on. It
// writes any drop count not logged yet. Close always returns nil.
func (q *Queue) Close() error {
	s := q.s
	s.mu.Lock()
	if q.closed {
		s.mu.Unlock()
		return nil
	}
	q.closed = true
	close(q.done)
	for e := range q.held {
		s.makeReadyLocked(e)
	}
	dropped := s.dropped
	if dropped > 0 {
		s.dropped = 0
		s.lastLog = s.now()
	}
	s.mu.Unlock()
	if dropped > 0 {
		s.logDrops(dropped)
	}
	return nil
}

// message is one delivery of an entry.
type message struct {
	q       *Queue
	e       *entry
	gen     uint64 // the entry's gen while this delivery holds it; guarded by q.s.mu
	attempt int
	body    []byte
}

var _ queue.Message = (*message)(nil)

func (m *message) Body() []byte { return m.body }

func (m *message) Attempt() int { return m.attempt }

// Ack removes the job, whether or not this delivery still holds it: the job is done.
func (m *message) Ack(context.Context) error {
	s := m.q.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e := m.e
	if e.state == stateGone {
		return nil
	}
	if e.holder != nil {
		delete(e.holder.held, e)
		e.holder = nil
	}
	e.state = stateGone
	e.gen++
	e.body = nil
	s.count--
	return nil
}

// Nack gives the job back, to be delivered again after delay. A delivery that no
// longer holds its job has nothing to give back, and Nack returns nil.
func (m *message) Nack(_ context.Context, delay time.Duration) error {
	s := m.q.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e := m.e
	if e.state != stateHeld || e.gen != m.gen {
		return nil
	}
	delete(e.holder.held, e)
	e.holder = nil
	if delay <= 0 {
		s.makeReadyLocked(e)
		return nil
	}
	e.state = stateDelayed
	e.gen++
	s.scheduleLocked(timed{at: time.Now().Add(delay), e: e, gen: e.gen})
	return nil
}

// Extend holds the job for d more from now (Hold when d is zero or less). It fails
// when this delivery no longer holds the job.
func (m *message) Extend(_ context.Context, d time.Duration) error {
	s := m.q.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e := m.e
	if e.state != stateHeld || e.gen != m.gen {
		return errNotHeld
	}
	if d <= 0 {
		d = m.q.hold
	}
	s.holdLocked(e, m.q, time.Now().Add(d))
	m.gen = e.gen
	return nil
}

// store is the jobs shared by every handle of one queue.
type store struct {
	mu    sync.Mutex
	max   int
	count int           // entries not gone: ready, delayed or held
	ready fifo          // ready entries, oldest first
	timed timedHeap     // delayed entries and hold deadlines
	wake  chan struct{} // closed and replaced whenever a waiting Receive should look again

	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	dropped  int       // dropped since the last drop line
	lastLog  time.Time // when the last drop line was written
}

func (s *store) handle(hold time.Duration) *Queue {
	return &Queue{s: s, hold: hold, done: make(chan struct{}), held: make(map[*entry]struct{})}
}

// makeReadyLocked queues e for delivery now.
func (s *store) makeReadyLocked(e *entry) {
	if e.holder != nil {
		delete(e.holder.held, e)
		e.holder = nil
	}
	e.state = stateReady
	e.gen++
	s.ready.push(e)
	s.broadcastLocked()
}

// holdLocked holds e for q until at.
func (s *store) holdLocked(e *entry, q *Queue, at time.Time) {
	e.state = stateHeld
	e.gen++
	e.holder = q
	q.held[e] = struct{}{}
	s.scheduleLocked(timed{at: at, e: e, gen: e.gen})
}

// scheduleLocked adds a deadline, waking the waiting Receives when it is the earliest
// (they wait for the earliest deadline they saw).
func (s *store) scheduleLocked(t timed) {
	heap.Push(&s.timed, t)
	if s.timed[0] == t {
		s.broadcastLocked()
	}
}

// promoteLocked makes ready every delayed entry whose delay has passed and every held
// entry whose hold has lapsed.
func (s *store) promoteLocked(now time.Time) {
	for len(s.timed) > 0 && !s.timed[0].at.After(now) {
		t := heap.Pop(&s.timed).(timed)
		if t.gen != t.e.gen {
			continue // superseded: extended, acknowledged, given back or delivered again
		}
		s.makeReadyLocked(t.e)
	}
}

// broadcastLocked wakes every waiting Receive so it looks at the queue again.
func (s *store) broadcastLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// dropLocked counts one dropped job and says whether a drop line is due, with the
// count it reports.
func (s *store) dropLocked() (bool, int) {
	s.dropped++
	now := s.now()
	if !s.lastLog.IsZero() && now.Sub(s.lastLog) < s.interval {
		return false, 0
	}
	dropped := s.dropped
	s.dropped = 0
	s.lastLog = now
	return true, dropped
}

func (s *store) logDrops(dropped int) {
	s.log.Warn("mirror queue full, dropping jobs", "dropped", dropped, "max_depth", s.max)
}

type state int

const (
	stateReady state = iota
	stateDelayed
	stateHeld
	stateGone
)

// entry is one job.
type entry struct {
	body     []byte
	attempts int
	state    state
	gen      uint64 // bumped at every change of state or deadline, so stale timers and deliveries are ignored
	holder   *Queue // while held
}

// fifo is a queue of ready entries; entries that left the ready state while queued
// are skipped.
type fifo struct {
	items []*entry
	head  int
}

func (f *fifo) push(e *entry) { f.items = append(f.items, e) }

func (f *fifo) pop() *entry {
	for f.head < len(f.items) {
		e := f.items[f.head]
		f.items[f.head] = nil
		f.head++
		if f.head == len(f.items) {
			f.items, f.head = f.items[:0], 0
		} else if f.head >= 1024 && 2*f.head >= len(f.items) {
			n := copy(f.items, f.items[f.head:])
			clear(f.items[n:])
			f.items, f.head = f.items[:n], 0
		}
		if e.state == stateReady {
			return e
		}
	}
	return nil
}

// timed is a deadline of an entry: the end of a Nack's delay or of a hold.
type timed struct {
	at  time.Time
	e   *entry
	gen uint64
}

type timedHeap []timed

func (h timedHeap) Len() int           { return len(h) }
func (h timedHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timedHeap) Push(x any)        { *h = append(*h, x.(timed)) }
func (h *timedHeap) Pop() any {
	old := *h
	n := len(old) - 1
	t := old[n]
	old[n] = timed{}
	*h = old[:n]
	return t
}

// next is the earliest deadline, stale ones included (a stale one only wakes a
// Receive early).
func (h timedHeap) next() (time.Time, bool) {
	if len(h) == 0 {
		return time.Time{}, false
	}
	return h[0].at, true
}
