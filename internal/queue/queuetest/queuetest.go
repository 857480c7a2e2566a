package queuetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/queue"
)

// Harness opens handles onto one fresh underlying queue.
type Harness struct {
	// Open returns a new handle onto the same underlying queue, as another process
	// would open it; the suite closes it.
	Open func(t *testing.T) queue.Queue
	// Hold is the hold (visibility timeout / ack deadline / ack wait) the handles use;
	// the suite waits at most a few Holds (plus a margin) for a redelivery.
	Hold time.Duration
	// Bounded, when > 0, is the queue's depth cap: Enqueue past it must fail with
	// queue.ErrFull (memory provider).
	Bounded int
}

// margin is added to every wait for something that must happen, so that a slow
// emulator or a loaded machine does not fail the suite; it never lengthens a passing
// run.
const margin = 10 * time.Second

// promptly bounds how long Receive may take to notice its context ending or Close.
const promptly = 3 * time.Second

// Run runs the compliance suite. newHarness is called once per subtest, with the
// subtest's t, and must return a harness onto a fresh, empty underlying queue; it may
// register cleanups on t (they run after the suite has closed every handle it opened).
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"EnqueueReceive", testEnqueueReceive},
		{"ManyExactlyOnce", testManyExactlyOnce},
		{"AckRemoves", testAckRemoves},
		{"RedeliveryAfterCrash", testRedeliveryAfterCrash},
		{"RedeliveryAfterHoldLapses", testRedeliveryAfterHoldLapses},
		{"ExtendKeepsHeld", testExtendKeepsHeld},
		{"NackDelay", testNackDelay},
		{"ReceiveHonoursContext", testReceiveHonoursContext},
		{"Close", testClose},
		{"ConcurrentConsumers", testConcurrentConsumers},
		{"Bounded", testBounded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if h.Open == nil {
				t.Fatal("Harness.Open is nil")
			}
			if h.Hold <= 0 {
				t.Fatalf("Harness.Hold = %v, want > 0", h.Hold)
			}
			tc.run(t, h)
		})
	}
}

// testEnqueueReceive: a payload comes back byte for byte, as a first delivery.
func testEnqueueReceive(t *testing.T, h Harness) {
	q := open(t, h)
	// Opaque bytes: JSON-looking text, then a NUL, invalid UTF-8 and random bytes.
	want := append([]byte(`{"name":"left-pad","version":"1.3.0"}`+"\x00\xff\xfe"), random(t, 512)...)
	enqueue(t, q, want)

	m := receive(t, q, h.redelivery())
	if got := m.Body(); !bytes.Equal(got, want) {
		t.Fatalf("Receive().Body() = %q, want %q", got, want)
	}
	checkAttempt(t, m, 1)
	ack(t, m)
}

// testManyExactlyOnce: every payload is delivered once and only once when each is
// acknowledged as it arrives. Order is not part of the contract.
func testManyExactlyOnce(t *testing.T, h Harness) {
	n := h.capped(40)
	q := open(t, h)
	want := make(map[string]bool, n)
	for i := range n {
		body := payload(t, i)
		want[string(body)] = true
		enqueue(t, q, body)
	}

	deadline := time.Now().Add(h.redelivery())
	seen := make(map[string]int, n)
	for len(seen) < n {
		m, err := recv(q, time.Until(deadline))
		if err != nil {
			t.Fatalf("Receive() after %d of %d payloads = %v, want a message", len(seen), n, err)
		}
		body := string(m.Body())
		if !want[body] {
			t.Fatalf("Receive().Body() = %q, want one of the enqueued payloads", body)
		}
		seen[body]++
		if seen[body] > 1 {
			t.Errorf("payload %q delivered %d times, want once", body, seen[body])
		}
		ack(t, m)
	}
	expectNothing(t, q, 2*h.Hold, "every payload was acknowledged")
}

// testAckRemoves: an acknowledged payload is gone for good, for every handle.
// Acknowledging twice is not an error.
func testAckRemoves(t *testing.T, h Harness) {
	q := open(t, h)
	other := open(t, h)
	enqueue(t, q, payload(t, 0))

	m := receive(t, q, h.redelivery())
	ack(t, m)
	if err := m.Ack(context.Background()); err != nil {
		t.Errorf("second Ack() = %v, want nil (acknowledging twice is not an error)", err)
	}
	expectNothingOnAny(t, 3*h.Hold, "the only payload was acknowledged", q, other)
}

// testRedeliveryAfterCrash: a consumer that receives and closes without acknowledging
// (as a crashed process would) leaves the payload to another consumer.
func testRedeliveryAfterCrash(t *testing.T, h Harness) {
	producer := open(t, h)
	crashed := open(t, h)
	survivor := open(t, h)
	want := payload(t, 0)
	enqueue(t, producer, want)

	m := receive(t, crashed, h.redelivery())
	if !bytes.Equal(m.Body(), want) {
		t.Fatalf("Receive().Body() = %q, want %q", m.Body(), want)
	}
	checkAttempt(t, m, 1)
	if err := crashed.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}

	again := receive(t, survivor, h.redelivery())
	if !bytes.Equal(again.Body(), want) {
		t.Fatalf("redelivered Body() = %q, want %q", again.Body(), want)
	}
	checkAttempt(t, again, 2)
	ack(t, again)
}

// testRedeliveryAfterHoldLapses: a payload received and neither acknowledged nor
// extended is delivered again once its hold lapses, and not long before.
func testRedeliveryAfterHoldLapses(t *testing.T, h Harness) {
	q := open(t, h)
	want := payload(t, 0)
	enqueue(t, q, want)

	started := time.Now()
	m := receive(t, q, h.redelivery())
	checkAttempt(t, m, 1)

	again := receive(t, q, h.redelivery())
	elapsed := time.Since(started)
	if !bytes.Equal(again.Body(), want) {
		t.Fatalf("redelivered Body() = %q, want %q", again.Body(), want)
	}
	if elapsed < h.Hold/2 {
		t.Errorf("redelivered after %v, want about Hold = %v (not before the hold lapses)", elapsed, h.Hold)
	}
	checkAttempt(t, again, 2)
	ack(t, again)
}

// testExtendKeepsHeld: extending every Hold/3 keeps the payload from every other
// consumer for three Holds; once acknowledged it never comes back.
func testExtendKeepsHeld(t *testing.T, h Harness) {
	q := open(t, h)
	other := open(t, h)
	enqueue(t, q, payload(t, 0))
	m := receive(t, q, h.redelivery())

	// The other consumer must find nothing for three Holds while the holder extends.
	watched := make(chan error, 1)
	go func() {
		got, err := recv(other, 3*h.Hold)
		if err == nil {
			err = fmt.Errorf("received %q (attempt %d) while it was held and extended", got.Body(), got.Attempt())
		} else if errors.Is(err, context.DeadlineExceeded) {
			err = nil
		}
		watched <- err
	}()

	tick := time.NewTicker(h.Hold / 3)
	defer tick.Stop()
	var extends int
	for done := false; !done; {
		select {
		case err := <-watched:
			if err != nil {
				t.Fatalf("other consumer's Receive(): %v", err)
			}
			done = true
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), h.Hold)
			err := m.Extend(ctx, h.Hold)
			cancel()
			if err != nil {
				t.Fatalf("Extend(%v) #%d = %v, want nil", h.Hold, extends+1, err)
			}
			extends++
		}
	}
	if extends < 3 {
		t.Errorf("extended %d times in three Holds, want at least 3", extends)
	}
	ack(t, m)
	expectNothingOnAny(t, 2*h.Hold, "the payload was acknowledged after its extensions", q, other)
}

// testNackDelay: a payload given back with a delay comes again after the delay, and a
// payload given back with none comes again.
func testNackDelay(t *testing.T, h Harness) {
	q := open(t, h)
	want := payload(t, 0)
	enqueue(t, q, want)
	m := receive(t, q, h.redelivery())
	checkAttempt(t, m, 1)

	delay := h.Hold / 2
	nacked := time.Now()
	if err := m.Nack(context.Background(), delay); err != nil {
		t.Fatalf("Nack(%v) = %v, want nil", delay, err)
	}
	again := receive(t, q, delay+h.redelivery())
	if elapsed := time.Since(nacked); elapsed < delay*9/10 {
		t.Errorf("redelivered %v after Nack(%v), want at least the delay", elapsed, delay)
	}
	if !bytes.Equal(again.Body(), want) {
		t.Fatalf("redelivered Body() = %q, want %q", again.Body(), want)
	}
	checkAttempt(t, again, 2)

	if err := again.Nack(context.Background(), 0); err != nil {
		t.Fatalf("Nack(0) = %v, want nil", err)
	}
	third := receive(t, q, h.redelivery())
	if !bytes.Equal(third.Body(), want) {
		t.Fatalf("redelivered Body() = %q, want %q", third.Body(), want)
	}
	checkAttempt(t, third, 3)
	ack(t, third)
}

// testReceiveHonoursContext: on an empty queue, Receive returns ctx.Err() promptly
// when its context's deadline passes, when it is cancelled, and at once when it was
// already cancelled.
func testReceiveHonoursContext(t *testing.T, h Harness) {
	q := open(t, h)

	t.Run("Deadline", func(t *testing.T) {
		const wait = 300 * time.Millisecond
		start := time.Now()
		m, err := recv(q, wait)
		elapsed := time.Since(start)
		if err == nil {
			t.Fatalf("Receive() on an empty queue = message %q, want context.DeadlineExceeded", m.Body())
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Receive() = %v, want context.DeadlineExceeded", err)
		}
		if elapsed > wait+promptly {
			t.Errorf("Receive() returned %v after a %v deadline, want promptly", elapsed, wait)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const after = 300 * time.Millisecond
		timer := time.AfterFunc(after, cancel)
		defer timer.Stop()
		start := time.Now()
		m, err := guarded(ctx, q, after)
		elapsed := time.Since(start)
		if err == nil {
			t.Fatalf("Receive() on an empty queue = message %q, want context.Canceled", m.Body())
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Receive() = %v, want context.Canceled", err)
		}
		if elapsed > after+promptly {
			t.Errorf("Receive() returned %v after being cancelled at %v, want promptly", elapsed, after)
		}
	})

	t.Run("AlreadyCancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		m, err := guarded(ctx, q, 0)
		elapsed := time.Since(start)
		if err == nil {
			t.Fatalf("Receive() on an empty queue = message %q, want context.Canceled", m.Body())
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Receive() = %v, want context.Canceled", err)
		}
		if elapsed > promptly {
			t.Errorf("Receive() with a cancelled context returned after %v, want promptly", elapsed)
		}
	})
}

// testClose: Close ends a blocked Receive with ErrClosed; afterwards Enqueue and
// Receive fail with ErrClosed and Close again is harmless. Other handles go on.
func testClose(t *testing.T, h Harness) {
	q := open(t, h)
	other := open(t, h)

	received := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), margin)
		defer cancel()
		m, err := q.Receive(ctx)
		if err == nil {
			err = fmt.Errorf("got message %q from an empty queue", m.Body())
		}
		received <- err
	}()
	// Receive must block on the empty queue (a bounded "must not happen" wait), then
	// Close must end it.
	select {
	case err := <-received:
		t.Fatalf("Receive() on an empty queue returned before Close: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	closed := time.Now()
	if err := q.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
	select {
	case err := <-received:
		if !errors.Is(err, queue.ErrClosed) {
			t.Errorf("blocked Receive() after Close = %v, want queue.ErrClosed", err)
		}
		if elapsed := time.Since(closed); elapsed > promptly {
			t.Errorf("blocked Receive() returned %v after Close, want promptly", elapsed)
		}
	case <-time.After(promptly + margin):
		t.Fatalf("blocked Receive() did not return within %v of Close", promptly+margin)
	}

	ctx, cancel := context.WithTimeout(context.Background(), margin)
	defer cancel()
	if err := q.Enqueue(ctx, payload(t, 0)); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Enqueue() after Close = %v, want queue.ErrClosed", err)
	}
	if m, err := guarded(ctx, q, margin); !errors.Is(err, queue.ErrClosed) {
		if err == nil {
			t.Errorf("Receive() after Close = message %q, want queue.ErrClosed", m.Body())
		} else {
			t.Errorf("Receive() after Close = %v, want queue.ErrClosed", err)
		}
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil (Close is safe to call more than once)", err)
	}

	// Closing one handle leaves the others working.
	want := payload(t, 1)
	enqueue(t, other, want)
	m := receive(t, other, h.redelivery())
	if !bytes.Equal(m.Body(), want) {
		t.Fatalf("other handle's Receive().Body() = %q, want %q", m.Body(), want)
	}
	ack(t, m)
}

// testConcurrentConsumers: two consumers receiving at once never both hold the same
// payload: a second delivery before the first one's hold could have lapsed is a
// failure.
func testConcurrentConsumers(t *testing.T, h Harness) {
	n := h.capped(20)
	producer := open(t, h)
	consumers := []queue.Queue{open(t, h), open(t, h)}
	for i := range n {
		enqueue(t, producer, payload(t, i))
	}

	type delivery struct {
		consumer int
		asked    time.Time // when the Receive that returned it was called
		got      time.Time
		m        queue.Message
	}
	var (
		mu         sync.Mutex
		deliveries = make(map[string][]delivery, n)
		wg         sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), h.redelivery())
	defer cancel()
	for c, q := range consumers {
		wg.Go(func() {
			for {
				asked := time.Now()
				m, err := q.Receive(ctx)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("consumer %d: Receive() = %v, want a message", c, err)
						cancel()
					}
					return
				}
				d := delivery{consumer: c, asked: asked, got: time.Now(), m: m}
				body := string(m.Body())
				mu.Lock()
				for _, prev := range deliveries[body] {
					// The hold began no earlier than prev.asked, so it cannot have lapsed
					// before prev.asked+Hold; allow half a Hold for coarse provider clocks.
					if d.got.Before(prev.asked.Add(h.Hold / 2)) {
						t.Errorf("payload %q delivered to consumer %d %v after consumer %d received it and while it held it",
							body, c, d.got.Sub(prev.got), prev.consumer)
					}
				}
				deliveries[body] = append(deliveries[body], d)
				if len(deliveries) == n {
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	if !waitFor(&wg, h.redelivery()+promptly+margin) {
		t.Fatal("consumers' Receive() did not return after their context was cancelled: it ignores its context")
	}
	if len(deliveries) != n {
		t.Fatalf("consumers received %d distinct payloads, want %d", len(deliveries), n)
	}
	actx, acancel := context.WithTimeout(context.Background(), margin)
	defer acancel()
	for _, ds := range deliveries {
		for _, d := range ds {
			// A delivery superseded by a legitimate redelivery may refuse its Ack; the
			// Ack subtests check Ack itself.
			_ = d.m.Ack(actx)
		}
	}
}

// testBounded: a bounded queue counts waiting and held payloads against its cap,
// refuses the newest payload past it with ErrFull, and makes room once one is
// acknowledged.
func testBounded(t *testing.T, h Harness) {
	if h.Bounded <= 0 {
		t.Skip("the provider is not bounded (Harness.Bounded = 0)")
	}
	q := open(t, h)
	other := open(t, h)
	want := make(map[string]bool, h.Bounded+1)
	for i := range h.Bounded {
		body := payload(t, i)
		want[string(body)] = true
		enqueue(t, q, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), margin)
	defer cancel()
	dropped := payload(t, h.Bounded)
	if err := q.Enqueue(ctx, dropped); !errors.Is(err, queue.ErrFull) {
		t.Fatalf("Enqueue() past the cap of %d = %v, want queue.ErrFull", h.Bounded, err)
	}
	if err := other.Enqueue(ctx, dropped); !errors.Is(err, queue.ErrFull) {
		t.Fatalf("Enqueue() on another handle past the cap of %d = %v, want queue.ErrFull", h.Bounded, err)
	}

	// A held payload still counts against the cap.
	m := receive(t, q, h.redelivery())
	if err := q.Enqueue(ctx, dropped); !errors.Is(err, queue.ErrFull) {
		t.Fatalf("Enqueue() with %d waiting and 1 held, cap %d = %v, want queue.ErrFull", h.Bounded-1, h.Bounded, err)
	}
	delete(want, string(m.Body()))
	ack(t, m)

	// Acknowledging makes room for one.
	room := payload(t, h.Bounded+1)
	want[string(room)] = true
	enqueue(t, q, room)
	if err := q.Enqueue(ctx, dropped); !errors.Is(err, queue.ErrFull) {
		t.Fatalf("Enqueue() past the cap of %d after one ack and one enqueue = %v, want queue.ErrFull", h.Bounded, err)
	}

	for len(want) > 0 {
		m := receive(t, q, h.redelivery())
		body := string(m.Body())
		if !want[body] {
			t.Fatalf("Receive().Body() = %q, want one of the %d accepted payloads (the dropped one is %q)", body, len(want), dropped)
		}
		delete(want, body)
		ack(t, m)
	}
	expectNothing(t, q, h.Hold, "the payload past the cap was dropped")
}

// redelivery is how long the suite waits for a delivery that must happen.
func (h Harness) redelivery() time.Duration { return 3*h.Hold + margin }

// capped returns n, or the queue's cap when it is bounded below n.
func (h Harness) capped(n int) int {
	if h.Bounded > 0 && h.Bounded < n {
		return h.Bounded
	}
	return n
}

func open(t *testing.T, h Harness) queue.Queue {
	t.Helper()
	q := h.Open(t)
	if q == nil {
		t.Fatal("Harness.Open returned nil")
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func enqueue(t *testing.T, q queue.Queue, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), margin)
	defer cancel()
	if err := q.Enqueue(ctx, body); err != nil {
		t.Fatalf("Enqueue(%q) = %v, want nil", body, err)
	}
}

func receive(t *testing.T, q queue.Queue, within time.Duration) queue.Message {
	t.Helper()
	m, err := recv(q, within)
	if err != nil {
		t.Fatalf("Receive() within %v = %v, want a message", within, err)
	}
	return m
}

func ack(t *testing.T, m queue.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), margin)
	defer cancel()
	if err := m.Ack(ctx); err != nil {
		t.Fatalf("Ack() of %q = %v, want nil", m.Body(), err)
	}
}

// recv is q.Receive with a timeout of d.
func recv(q queue.Queue, d time.Duration) (queue.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return guarded(ctx, q, d)
}

// errHung reports a Receive that outlived its context.
var errHung = errors.New("queuetest: Receive did not return after its context ended: the provider ignores its context")

// guarded calls q.Receive(ctx), whose ctx ends after about d, and gives up with
// errHung when it has not returned promptly+margin later, so that a provider that
// ignores its context fails the suite instead of hanging it.
func guarded(ctx context.Context, q queue.Queue, d time.Duration) (queue.Message, error) {
	type result struct {
		m   queue.Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := q.Receive(ctx)
		done <- result{m, err}
	}()
	limit := time.NewTimer(d + promptly + margin)
	defer limit.Stop()
	select {
	case r := <-done:
		return r.m, r.err
	case <-limit.C:
		return nil, errHung
	}
}

// waitFor waits for wg, at most d; it reports whether wg finished.
func waitFor(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	limit := time.NewTimer(d)
	defer limit.Stop()
	select {
	case <-done:
		return true
	case <-limit.C:
		return false
	}
}

// expectNothing checks that no message arrives on q for d: a Receive timeout, not a
// sleep.
func expectNothing(t *testing.T, q queue.Queue, d time.Duration, why string) {
	t.Helper()
	expectNothingOnAny(t, d, why, q)
}

// expectNothingOnAny runs expectNothing on every handle at once.
func expectNothingOnAny(t *testing.T, d time.Duration, why string, qs ...queue.Queue) {
	t.Helper()
	errs := make([]error, len(qs))
	var wg sync.WaitGroup
	for i, q := range qs {
		wg.Go(func() {
			m, err := recv(q, d)
			switch {
			case err == nil:
				errs[i] = fmt.Errorf("handle %d: Receive() = message %q (attempt %d), want none within %v: %s",
					i, m.Body(), m.Attempt(), d, why)
			case !errors.Is(err, context.DeadlineExceeded):
				errs[i] = fmt.Errorf("handle %d: Receive() = %w, want context.DeadlineExceeded", i, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// checkAttempt checks Attempt, which a provider that cannot tell reports as 0.
func checkAttempt(t *testing.T, m queue.Message, want int) {
	t.Helper()
	if got := m.Attempt(); got != 0 && got != want {
		t.Errorf("Attempt() = %d, want %d (or 0 when the provider cannot tell)", got, want)
	}
}

// payload returns a payload unique to this subtest and run.
func payload(t *testing.T, i int) []byte {
	return fmt.Appendf(nil, "%s/%d/%s", t.Name(), i, hex.EncodeToString(random(t, 8)))
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand.Read: %v", err)
	}
	return b
}
