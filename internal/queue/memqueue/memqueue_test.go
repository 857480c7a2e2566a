package memqueue_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ecluse/ecluse/internal/queue"
	"github.com/ecluse/ecluse/internal/queue/memqueue"
	"github.com/ecluse/ecluse/internal/queue/queuetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hold is short: the memory queue's timers are exact.
const hold = 300 * time.Millisecond

func TestCompliance(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxDepth int
	}{
		{"Bounded8", 8},
		{"Bounded64", 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			queuetest.Run(t, func(t *testing.T) queuetest.Harness {
				root := memqueue.New(memqueue.Options{MaxDepth: tc.maxDepth, Hold: hold})
				t.Cleanup(func() { _ = root.Close() })
				return queuetest.Harness{
					Open:    func(*testing.T) queue.Queue { return root.Open() },
					Hold:    hold,
					Bounded: tc.maxDepth,
				}
			})
		})
	}
}

func TestDefaultMaxDepth(t *testing.T) {
	q := memqueue.New(memqueue.Options{})
	defer q.Close()
	ctx := context.Background()
	for i := range memqueue.DefaultMaxDepth {
		if err := q.Enqueue(ctx, []byte{byte(i)}); err != nil {
			t.Fatalf("Enqueue() #%d = %v, want nil", i+1, err)
		}
	}
	if err := q.Enqueue(ctx, []byte("one too many")); !errors.Is(err, queue.ErrFull) {
		t.Fatalf("Enqueue() past %d = %v, want queue.ErrFull", memqueue.DefaultMaxDepth, err)
	}
	if got, want := q.Depth(), memqueue.DefaultMaxDepth; got != want {
		t.Errorf("Depth() = %d, want %d", got, want)
	}
}

// records is a slog.Handler that keeps what it is given.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// dropped returns the "dropped" count of every line so far.
func (r *records) dropped(t *testing.T) []int64 {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int64
	for _, rec := range r.recs {
		if rec.Level != slog.LevelWarn || !strings.Contains(rec.Message, "queue full") {
			t.Errorf("log line %q at %v, want a warning that the queue is full", rec.Message, rec.Level)
		}
		var n int64 = -1
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "dropped" {
				n = a.Value.Int64()
			}
			return true
		})
		out = append(out, n)
	}
	return out
}

func TestDropLogRateLimited(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	logs := &records{}
	q := memqueue.New(memqueue.Options{MaxDepth: 1, DropLogInterval: time.Minute, Logger: slog.New(logs), Now: clock})
	ctx := context.Background()
	if err := q.Enqueue(ctx, []byte("kept")); err != nil {
		t.Fatalf("Enqueue() = %v, want nil", err)
	}
	drop := func(n int) {
		t.Helper()
		for range n {
			if err := q.Enqueue(ctx, []byte("dropped")); !errors.Is(err, queue.ErrFull) {
				t.Fatalf("Enqueue() past the cap = %v, want queue.ErrFull", err)
			}
		}
	}

	steps := []struct {
		name    string
		advance time.Duration
		drops   int
		want    []int64
	}{
		{"first drop logs at once", 0, 1, []int64{1}},
		{"within the interval nothing more", 30 * time.Second, 3, []int64{1}},
		{"still within the interval", 29 * time.Second, 2, []int64{1}},
		{"after the interval the count since the last line", 2 * time.Second, 1, []int64{1, 6}},
		{"again nothing within the interval", 10 * time.Second, 4, []int64{1, 6}},
	}
	for _, s := range steps {
		advance(s.advance)
		drop(s.drops)
		if got := logs.dropped(t); !slicesEqual(got, s.want) {
			t.Fatalf("%s: dropped counts logged = %v, want %v", s.name, got, s.want)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if got, want := logs.dropped(t), []int64{1, 6, 4}; !slicesEqual(got, want) {
		t.Fatalf("after Close, dropped counts logged = %v, want %v (Close writes the unlogged count)", got, want)
	}
}

func slicesEqual(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEnqueueCopiesAndExtendAfterLapseFails(t *testing.T) {
	q := memqueue.New(memqueue.Options{Hold: 50 * time.Millisecond})
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := []byte("job")
	if err := q.Enqueue(ctx, body); err != nil {
		t.Fatalf("Enqueue() = %v", err)
	}
	body[0] = 'X'
	first, err := q.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive() = %v", err)
	}
	if !bytes.Equal(first.Body(), []byte("job")) {
		t.Fatalf("Body() = %q, want %q (Enqueue copies)", first.Body(), "job")
	}
	second, err := q.Receive(ctx) // after the hold lapses
	if err != nil {
		t.Fatalf("Receive() after the hold = %v", err)
	}
	if err := first.Extend(ctx, time.Second); err == nil {
		t.Errorf("Extend() of a delivery superseded by a redelivery = nil, want an error")
	}
	if err := second.Ack(ctx); err != nil {
		t.Fatalf("Ack() = %v", err)
	}
	if got := q.Depth(); got != 0 {
		t.Errorf("Depth() after Ack = %d, want 0", got)
	}
}
