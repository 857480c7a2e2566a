package pubsubqueue

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/queue"
)

var payloads = []struct {
	name string
	body []byte
}{
	{"json", []byte(`{"name":"left-pad","version":"1.3.0"}`)},
	{"empty", []byte{}},
	{"binary", []byte{0x00, 0xff, 0xfe, 0x07}},
}

func TestBodyRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		q := newFixture(t, b).open(t, Options{Hold: 5 * time.Second})
		for _, p := range payloads {
			enqueue(t, q, p.body)
			m := receive(t, q, 10*time.Second)
			if !bytes.Equal(m.Body(), p.body) || m.Body() == nil {
				t.Errorf("%s: Body() = %#v, want %#v", p.name, m.Body(), p.body)
			}
			if err := m.Ack(context.Background()); err != nil {
				t.Fatalf("Ack() = %v", err)
			}
			if err := m.Ack(context.Background()); err != nil {
				t.Errorf("second Ack() = %v, want nil", err)
			}
		}
		receiveNone(t, q, 2*time.Second)
	})
}

// TestHoldLapses checks that an unacknowledged message comes back after Hold, and not
// before, to another handle: Hold applies even below the 10s subscription minimum.
func TestHoldLapses(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		a := f.open(t, Options{Hold: 3 * time.Second})
		c := f.open(t, Options{Hold: 3 * time.Second})
		enqueue(t, a, []byte("held"))
		receive(t, a, 10*time.Second)
		start := time.Now()
		receiveNone(t, c, 2*time.Second)
		m := receive(t, c, 10*time.Second)
		if waited := time.Since(start); waited < 2*time.Second || waited > 8*time.Second {
			t.Errorf("redelivered %v after receipt, want about the 3s hold", waited)
		}
		if err := m.Ack(context.Background()); err != nil {
			t.Fatalf("Ack() = %v", err)
		}
	})
}

// TestExtendKeepsHold checks that Extend pushes the hold past Hold.
func TestExtendKeepsHold(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		a := f.open(t, Options{Hold: 2 * time.Second})
		c := f.open(t, Options{Hold: 2 * time.Second})
		enqueue(t, a, []byte("extended"))
		m := receive(t, a, 10*time.Second)
		if err := m.Extend(context.Background(), 6*time.Second); err != nil {
			t.Fatalf("Extend(6s) = %v", err)
		}
		receiveNone(t, c, 4*time.Second)
		if err := m.Extend(context.Background(), 0); err == nil {
			t.Errorf("Extend(0) = nil, want an error")
		}
		if err := m.Ack(context.Background()); err != nil {
			t.Fatalf("Ack() = %v", err)
		}
		receiveNone(t, c, 5*time.Second)
	})
}

// TestNackDelay checks that Nack(delay) keeps the message away for delay, and
// Nack(0) not at all.
func TestNackDelay(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		q := newFixture(t, b).open(t, Options{Hold: 30 * time.Second})
		enqueue(t, q, []byte("retry"))
		m := receive(t, q, 10*time.Second)
		if err := m.Nack(context.Background(), 3*time.Second); err != nil {
			t.Fatalf("Nack(3s) = %v", err)
		}
		start := time.Now()
		m = receive(t, q, 10*time.Second)
		if waited := time.Since(start); waited < 2500*time.Millisecond {
			t.Errorf("redelivered %v after Nack(3s), want about 3s", waited)
		}
		if err := m.Nack(context.Background(), 0); err != nil {
			t.Fatalf("Nack(0) = %v", err)
		}
		start = time.Now()
		receive(t, q, 10*time.Second)
		if waited := time.Since(start); waited > 2*time.Second {
			t.Errorf("redelivered %v after Nack(0), want at once", waited)
		}
	})
}

// TestAttempt checks that Attempt is 0 without a dead-letter policy and counts
// deliveries with one.
func TestAttempt(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		q := f.open(t, Options{Hold: 5 * time.Second})
		enqueue(t, q, []byte("plain"))
		if m := receive(t, q, 10*time.Second); m.Attempt() != 0 {
			t.Errorf("Attempt() = %d without a dead-letter policy, want 0", m.Attempt())
		}

		// Another subscription with a dead-letter policy.
		dl := newFixture(t, b).withDeadLetter(t).open(t, Options{Hold: 5 * time.Second})
		ctx := context.Background()
		enqueue(t, dl, []byte("counted"))
		for want := 1; want <= 3; want++ {
			m := receive(t, dl, 10*time.Second)
			if got := m.Attempt(); got != want {
				t.Fatalf("delivery %d: Attempt() = %d, want %d", want, got, want)
			}
			if err := m.Nack(ctx, 0); err != nil {
				t.Fatalf("Nack(0) = %v", err)
			}
		}
	})
}

// TestBatchBuffers checks a handle with Batch > 1: the extra messages wait in the
// handle, are handed out with a fresh hold, and go back at Close.
func TestBatchBuffers(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		a := f.open(t, Options{Hold: 30 * time.Second, Batch: 4})
		c := f.open(t, Options{Hold: 30 * time.Second})
		for _, body := range []string{"one", "two", "three"} {
			enqueue(t, c, []byte(body))
		}
		seen := map[string]bool{}
		first := receive(t, a, 10*time.Second)
		seen[string(first.Body())] = true
		a.mu.Lock()
		buffered := len(a.buffered)
		a.mu.Unlock()
		if buffered == 0 {
			t.Fatal("Receive() with Batch 4 buffered nothing, want the rest of the batch buffered")
		}
		if err := a.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		for range buffered {
			m := receive(t, c, 5*time.Second)
			if seen[string(m.Body())] {
				t.Errorf("Body() = %q again, want a message not handed out before", m.Body())
			}
			seen[string(m.Body())] = true
		}
		if err := first.Ack(context.Background()); !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Ack() after Close = %v, want ErrClosed", err)
		}
	})
}

// TestCloseUnblocksReceive checks that Close ends a blocked Receive with ErrClosed and
// that the handle refuses work afterwards.
func TestCloseUnblocksReceive(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		q := newFixture(t, b).open(t, Options{Hold: 2 * time.Second})
		errc := make(chan error, 1)
		go func() {
			_, err := q.Receive(context.Background())
			errc <- err
		}()
		time.Sleep(500 * time.Millisecond)
		if err := q.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, queue.ErrClosed) {
				t.Errorf("Receive() after Close = %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Receive() still blocked 5s after Close")
		}
		if err := q.Enqueue(context.Background(), []byte("x")); !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Enqueue() after Close = %v, want ErrClosed", err)
		}
		if err := q.Close(); err != nil {
			t.Errorf("second Close() = %v, want nil", err)
		}
	})
}

// TestWithoutCreateIfAbsent checks that New creates nothing unless told to: a
// missing topic shows on the first Enqueue.
func TestWithoutCreateIfAbsent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		q, err := New(context.Background(), Options{Topic: f.topic, Subscription: f.sub, ClientOptions: f.client})
		if err != nil {
			t.Fatalf("New() = %v", err)
		}
		defer q.Close()
		err = q.Enqueue(context.Background(), []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "NotFound") {
			t.Errorf("Enqueue() to a topic never created = %v, want NotFound", err)
		}
		// CreateIfAbsent on a topic and subscription that exist leaves them be.
		f.open(t, Options{})
		f.open(t, Options{})
	})
}

// TestEmulatorHostEnv checks the composition root's path: no client options, so the
// client finds the emulator through PUBSUB_EMULATOR_HOST.
func TestEmulatorHostEnv(t *testing.T) {
	t.Setenv("PUBSUB_EMULATOR_HOST", emulatorAddr(t))
	topic, sub := names(t)
	q, err := New(context.Background(), Options{Topic: topic, Subscription: sub, CreateIfAbsent: true, Hold: 5 * time.Second})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	defer q.Close()
	enqueue(t, q, []byte("via env"))
	if m := receive(t, q, 10*time.Second); string(m.Body()) != "via env" {
		t.Errorf("Body() = %q, want %q", m.Body(), "via env")
	}
}

// TestBatchDropsStaleBuffered checks that a buffered message with less than half its
// hold left is not handed out, since its hold could lapse before the refresh lands; it
// reappears when its hold lapses.
func TestBatchDropsStaleBuffered(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		a := newFixture(t, b).open(t, Options{Hold: 30 * time.Second, Batch: 4})
		for _, body := range []string{"one", "two", "three"} {
			enqueue(t, a, []byte(body))
		}
		receive(t, a, 10*time.Second)
		a.mu.Lock()
		buffered := len(a.buffered)
		for _, m := range a.buffered {
			m.received = time.Now().Add(-16 * time.Second)
		}
		a.mu.Unlock()
		if buffered == 0 {
			t.Fatal("Receive() with Batch 4 buffered nothing, want the rest of the batch buffered")
		}
		receiveNone(t, a, 2*time.Second)
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(a.buffered) != 0 {
			t.Errorf("%d messages still buffered, want the stale ones dropped", len(a.buffered))
		}
	})
}
