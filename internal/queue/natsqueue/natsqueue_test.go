package natsqueue_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ecluse/ecluse/internal/queue"
	"github.com/ecluse/ecluse/internal/queue/natsqueue"
	"github.com/ecluse/ecluse/internal/queue/queuetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hold is JetStream's AckWait in these tests: short, for a fast suite.
const hold = time.Second

func TestComplianceEmbedded(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Harness {
		root := newQueue(t, natsqueue.Options{Dir: t.TempDir(), Hold: hold})
		return queuetest.Harness{
			Open: func(t *testing.T) queue.Queue {
				q, err := root.Open(t.Context())
				if err != nil {
					t.Fatalf("Open() = %v", err)
				}
				return q
			},
			Hold: hold,
		}
	})
}

func TestComplianceServerProcess(t *testing.T) {
	url := startServerProcess(t)
	var n atomic.Int64
	queuetest.Run(t, func(t *testing.T) queuetest.Harness {
		// A fresh stream, subject and consumer per subtest on the one server.
		id := n.Add(1)
		opts := natsqueue.Options{
			URL:      url,
			Stream:   fmt.Sprintf("COMPLIANCE_%d", id),
			Subject:  fmt.Sprintf("compliance.%d.jobs", id),
			Consumer: fmt.Sprintf("compliance-%d", id),
			Hold:     hold,
		}
		return queuetest.Harness{
			Open: func(t *testing.T) queue.Queue {
				q, err := natsqueue.New(t.Context(), opts)
				if err != nil {
					t.Fatalf("New(URL of the server process) = %v", err)
				}
				return q
			},
			Hold: hold,
		}
	})
}

// TestDurableAcrossRestart: a job enqueued on an embedded server survives closing
// everything and starting again on the same directory.
func TestDurableAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	want := []byte(`{"name":"durable","version":"1.0.0"}`)

	q, err := natsqueue.New(ctx, natsqueue.Options{Dir: dir, Hold: hold})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	if err := q.Enqueue(ctx, want); err != nil {
		t.Fatalf("Enqueue() = %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	again := newQueue(t, natsqueue.Options{Dir: dir, Hold: hold})
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := again.Receive(rctx)
	if err != nil {
		t.Fatalf("Receive() after restarting on the same Dir = %v, want the job enqueued before", err)
	}
	if !bytes.Equal(m.Body(), want) {
		t.Fatalf("Body() = %q, want %q", m.Body(), want)
	}
	if err := m.Ack(ctx); err != nil {
		t.Fatalf("Ack() = %v", err)
	}
}

// TestGivenUpAfterMaxDeliver: a job delivered MaxDeliver times without success is not
// delivered again, and the give-up is logged.
func TestGivenUpAfterMaxDeliver(t *testing.T) {
	logs := &records{}
	q := newQueue(t, natsqueue.Options{Hold: hold, MaxDeliver: 2, Logger: slog.New(logs)})
	ctx := t.Context()
	if err := q.Enqueue(ctx, []byte("doomed")); err != nil {
		t.Fatalf("Enqueue() = %v", err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		m, err := q.Receive(rctx)
		cancel()
		if err != nil {
			t.Fatalf("Receive() attempt %d = %v", attempt, err)
		}
		if got := m.Attempt(); got != attempt {
			t.Errorf("Attempt() = %d, want %d", got, attempt)
		}
		if err := m.Nack(ctx, 0); err != nil {
			t.Fatalf("Nack() = %v", err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 3*hold)
	defer cancel()
	if m, err := q.Receive(rctx); err == nil {
		t.Fatalf("Receive() after MaxDeliver deliveries = %q (attempt %d), want nothing", m.Body(), m.Attempt())
	}
	eventually(t, 10*time.Second, func() bool {
		return logs.has("mirror job given up after too many deliveries", "deliveries")
	}, func() string { return "no give-up line logged; lines: " + logs.messages() })
}

// eventually polls cond until it holds, failing with what() after within.
func eventually(t *testing.T, within time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatal(what())
		case <-tick.C:
		}
	}
}

// TestZeroOptions: with every option zero, an embedded server on a temporary
// directory serves the default stream and consumer.
func TestZeroOptions(t *testing.T) {
	q := newQueue(t, natsqueue.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := q.Enqueue(ctx, []byte("x")); err != nil {
		t.Fatalf("Enqueue() = %v", err)
	}
	m, err := q.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive() = %v", err)
	}
	if got := m.Attempt(); got != 1 {
		t.Errorf("Attempt() = %d, want 1", got)
	}
	if err := m.Ack(ctx); err != nil {
		t.Fatalf("Ack() = %v", err)
	}
}

func newQueue(t *testing.T, opts natsqueue.Options) *natsqueue.Queue {
	t.Helper()
	q, err := natsqueue.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
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

func (r *records) has(msg, key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		if rec.Message != msg {
			continue
		}
		found := false
		rec.Attrs(func(a slog.Attr) bool {
			found = found || a.Key == key
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

func (r *records) messages() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, rec := range r.recs {
		fmt.Fprintf(&b, "%q ", rec.Message)
	}
	return b.String()
}

func TestDepth(t *testing.T) {
	q := newQueue(t, natsqueue.Options{})
	ctx := t.Context()
	for _, body := range []string{"a", "b"} {
		if err := q.Enqueue(ctx, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := q.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := q.Depth(ctx); err != nil || n != 2 {
		t.Errorf("Depth with one waiting and one held = %d, %v; want 2", n, err)
	}
	if err := m.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Depth(ctx); err != nil || n != 1 {
		t.Errorf("Depth after an ack = %d, %v; want 1", n, err)
	}
}
