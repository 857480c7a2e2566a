package mirror

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/queue"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEnqueuerCollapsesDuplicates(t *testing.T) {
	q := newFakeQueue()
	clock := newFakeClock()
	e := NewEnqueuer(q, EnqueuerOptions{Now: clock.Now})
	ctx := context.Background()
	j := validJob()
	for range 5 {
		if err := e.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	other := j
	other.Version = "2.0.0"
	other.Tarball = "https://public.example/@scope/pkg/-/pkg-2.0.0.tgz"
	if err := e.Enqueue(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got := len(q.bodies()); got != 2 {
		t.Errorf("queue got %d jobs, want 2", got)
	}
	if s := e.Stats(); s.Enqueued != 2 || s.Deduplicated != 4 {
		t.Errorf("Stats = %+v", s)
	}
	got, err := DecodeJob(q.bodies()[0])
	if err != nil || got != j {
		t.Errorf("queued job = %+v, %v, want %+v", got, err, j)
	}
	// Past the TTL the same job is queued again.
	clock.Advance(DefaultRecentTTL)
	if err := e.Enqueue(ctx, j); err != nil {
		t.Fatal(err)
	}
	if got := len(q.bodies()); got != 3 {
		t.Errorf("after the TTL the queue got %d jobs, want 3", got)
	}
}

func TestEnqueuerBoundsItsMemory(t *testing.T) {
	q := newFakeQueue()
	e := NewEnqueuer(q, EnqueuerOptions{Recent: 2})
	ctx := context.Background()
	job := func(v string) Job {
		j := validJob()
		j.Version = v
		return j
	}
	for _, v := range []string{"1", "2", "3", "1"} { // "1" was forgotten to make room for "3"
		if err := e.Enqueue(ctx, job(v)); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(q.bodies()); got != 4 {
		t.Errorf("queue got %d jobs, want 4", got)
	}
	if n := e.recent.order.Len(); n != 2 {
		t.Errorf("remembered %d keys, want 2", n)
	}
}

func TestEnqueuerDropsWhenFull(t *testing.T) {
	q := newFakeQueue()
	q.enqueueErr = queue.ErrFull
	clock := newFakeClock()
	var logs syncBuffer
	e := NewEnqueuer(q, EnqueuerOptions{Now: clock.Now, LogEvery: time.Minute, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	ctx := context.Background()
	for i := range 10 {
		j := validJob()
		j.Version = "1.0." + string(rune('0'+i))
		if err := e.Enqueue(ctx, j); err != nil {
			t.Fatalf("Enqueue on a full queue = %v, want nil (a drop)", err)
		}
	}
	if s := e.Stats(); s.Dropped != 10 || s.Enqueued != 0 {
		t.Errorf("Stats = %+v", s)
	}
	if n := strings.Count(logs.String(), "mirror jobs dropped"); n != 1 {
		t.Errorf("%d drop lines within a minute, want 1:\n%s", n, logs.String())
	}
	clock.Advance(time.Minute)
	q.mu.Lock()
	q.enqueueErr = nil
	q.mu.Unlock()
	// A dropped job is forgotten: its next serve queues it.
	j := validJob()
	j.Version = "1.0.0"
	if err := e.Enqueue(ctx, j); err != nil {
		t.Fatal(err)
	}
	if got := len(q.bodies()); got != 1 {
		t.Errorf("a dropped job served again: queue got %d jobs, want 1", got)
	}
	q.mu.Lock()
	q.enqueueErr = queue.ErrFull
	q.mu.Unlock()
	j.Version = "9.9.9"
	_ = e.Enqueue(ctx, j)
	if !strings.Contains(logs.String(), `"dropped":1`) || strings.Count(logs.String(), "mirror jobs dropped") != 2 {
		t.Errorf("after a minute, want a second line counting the drops since:\n%s", logs.String())
	}
}

func TestEnqueuerNeverBlocks(t *testing.T) {
	q := newFakeQueue()
	q.block = true
	e := NewEnqueuer(q, EnqueuerOptions{Timeout: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	start := time.Now()
	if err := e.Enqueue(context.Background(), validJob()); err != nil {
		t.Errorf("Enqueue on a stuck queue = %v, want nil", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Enqueue took %s on a stuck queue", d)
	}
	if s := e.Stats(); s.Failed != 1 {
		t.Errorf("Stats = %+v", s)
	}
	// The failed job was forgotten.
	q.mu.Lock()
	q.block = false
	q.mu.Unlock()
	_ = e.Enqueue(context.Background(), validJob())
	if got := len(q.bodies()); got != 1 {
		t.Errorf("retry after a failure: queue got %d jobs, want 1", got)
	}
}

func TestEnqueuerRejectsInvalidJob(t *testing.T) {
	q := newFakeQueue()
	e := NewEnqueuer(q, EnqueuerOptions{})
	j := validJob()
	j.Mount = ""
	if err := e.Enqueue(context.Background(), j); !errors.Is(err, ErrInvalidJob) {
		t.Errorf("Enqueue(invalid) = %v, want ErrInvalidJob", err)
	}
	if len(q.bodies()) != 0 {
		t.Error("an invalid job reached the queue")
	}
}
