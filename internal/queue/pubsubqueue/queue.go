package pubsubqueue

import (
	"context"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ecluse/ecluse/internal/queue"
)

const (
	// pullWait bounds one Pull: the service holds a pull open until a message
	// arrives or its own timeout, and Receive then pulls again.
	pullWait = 20 * time.Second
	// minPull spaces the pulls of a server that answers an empty pull at once.
	minPull = 200 * time.Millisecond
	// releaseTimeout bounds Close's attempt to return buffered messages.
	releaseTimeout = 5 * time.Second
)

// emptyAttribute marks a message whose payload is empty: Pub/Sub refuses a message
// with neither data nor attributes.
const emptyAttribute = "ecluse-empty-body"

// Queue is one handle onto a Pub/Sub topic and subscription. Several handles, in one
// process or many, may share them. It is safe for concurrent use.
type Queue struct {
	client *pubsub.Client
	s      settings

	closing context.Context // canceled by Close
	cancel  context.CancelFunc

	mu       sync.Mutex
	closed   bool
	ops      sync.WaitGroup // calls in flight, waited for by Close
	buffered []*message     // pulled and not yet handed out, oldest first
}

var _ queue.Queue = (*Queue)(nil)

// New returns a handle onto o.Topic and o.Subscription. It checks the options and
// opens the client; it calls Pub/Sub only when CreateIfAbsent asks it to create the
// topic and subscription.
func New(ctx context.Context, o Options) (*Queue, error) {
	s, err := o.resolve()
	if err != nil {
		return nil, err
	}
	client, err := pubsub.NewClient(ctx, s.project, o.ClientOptions...)
	if err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	q := &Queue{client: client, s: s}
	q.closing, q.cancel = context.WithCancel(context.Background())
	if o.CreateIfAbsent {
		if err := q.create(ctx); err != nil {
			q.cancel()
			_ = client.Close()
			return nil, err
		}
	}
	return q, nil
}

// create makes the topic and the subscription, leaving existing ones as they are.
func (q *Queue) create(ctx context.Context) error {
	_, err := q.client.TopicAdminClient.CreateTopic(ctx, &pb.Topic{Name: q.s.topic})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("pubsub create topic %s: %w", q.s.topic, err)
	}
	deadline := max(seconds(MinSubscriptionDeadline, MaxHold), q.s.hold)
	_, err = q.client.SubscriptionAdminClient.CreateSubscription(ctx, &pb.Subscription{
		Name:               q.s.subscription,
		Topic:              q.s.topic,
		AckDeadlineSeconds: deadline,
		ExpirationPolicy:   &pb.ExpirationPolicy{}, // never expires
	})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("pubsub create subscription %s: %w", q.s.subscription, err)
	}
	return nil
}

// Enqueue publishes one message and waits for the service to store it. Pub/Sub is
// not bounded, so it never returns ErrFull.
func (q *Queue) Enqueue(ctx context.Context, body []byte) error {
	if !q.enter() {
		return queue.ErrClosed
	}
	defer q.ops.Done()
	bctx, stop := q.bind(ctx)
	defer stop()
	msg := &pb.PubsubMessage{Data: body}
	if len(body) == 0 {
		msg.Attributes = map[string]string{emptyAttribute: "true"}
	}
	_, err := q.client.TopicAdminClient.Publish(bctx, &pb.PublishRequest{
		Topic:    q.s.topic,
		Messages: []*pb.PubsubMessage{msg},
	})
	if err != nil {
		return q.fail(ctx, "publish", err)
	}
	return nil
}

// Receive hands out the oldest buffered message, or pulls until one arrives, ctx
// ends or the handle is closed. Each pulled message's ack deadline is set to Hold
// before it is handed out.
func (q *Queue) Receive(ctx context.Context) (queue.Message, error) {
	if !q.enter() {
		return nil, queue.ErrClosed
	}
	defer q.ops.Done()
	bctx, stop := q.bind(ctx)
	defer stop()
	for {
		if bctx.Err() != nil {
			return nil, q.fail(ctx, "pull", bctx.Err())
		}
		if m := q.nextBuffered(bctx); m != nil {
			return m, nil
		}
		got, err := q.pull(bctx)
		if err != nil {
			return nil, q.fail(ctx, "pull", err)
		}
		if len(got) == 0 {
			continue
		}
		if len(got) > 1 {
			q.mu.Lock()
			q.buffered = append(q.buffered, got[1:]...)
			q.mu.Unlock()
		}
		return got[0], nil
	}
}

// pull makes one Pull and sets the deadline of what it got to Hold. An empty
// answer, or a pull that ran out its pullWait, is no messages and no error.
func (q *Queue) pull(ctx context.Context) ([]*message, error) {
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, pullWait)
	resp, err := q.client.SubscriptionAdminClient.Pull(pctx, &pb.PullRequest{
		Subscription: q.s.subscription,
		MaxMessages:  q.s.batch,
	})
	cancel()
	// A pull that ran out its time ends with DeadlineExceeded, noticed by this side
	// (pctx) or by the server first (the status): either is an empty answer, and the
	// caller's own deadline is checked before the next pull.
	if err != nil && ctx.Err() == nil && pctx.Err() == nil && status.Code(err) != codes.DeadlineExceeded {
		return nil, err
	}
	if err != nil || len(resp.GetReceivedMessages()) == 0 {
		if wait := minPull - time.Since(start); wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
		return nil, nil
	}
	got := make([]*message, 0, len(resp.ReceivedMessages))
	ids := make([]string, 0, len(resp.ReceivedMessages))
	for _, rm := range resp.ReceivedMessages {
		// The hold starts after this pull began: counting from then never
		// underestimates its age.
		got = append(got, q.newMessage(rm, start))
		ids = append(ids, rm.GetAckId())
	}
	if err := q.modify(ctx, ids, q.s.hold); err != nil {
		if ctx.Err() != nil {
			// The caller gave up (or Close came) between the pull and the modack:
			// keep them for the next Receive, or for Close to return at once, rather
			// than leave them held for the subscription's deadline.
			q.mu.Lock()
			q.buffered = append(q.buffered, got...)
			q.mu.Unlock()
			return nil, ctx.Err()
		}
		// They keep the subscription's deadline and come back when it lapses.
		return nil, fmt.Errorf("set hold of pulled messages: %w", err)
	}
	return got, nil
}

// Close stops the handle: blocked Receives return ErrClosed, buffered messages are
// returned at once, the client is closed, and messages already handed out come back
// when their hold lapses (acknowledging them through this handle now returns
// ErrClosed).
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	q.cancel()
	q.ops.Wait()

	q.release(q.buffered)
	q.buffered = nil
	if err := q.client.Close(); err != nil {
		return fmt.Errorf("close pubsub client: %w", err)
	}
	return nil
}

// nextBuffered pops the oldest buffered message that still has at least half its
// hold left, refreshing its hold to a full Hold; nil when none is left. One with less
// is dropped, to reappear when its hold lapses: the refresh might arrive after the
// hold lapsed and another consumer pulled it, and Pub/Sub would not say so.
func (q *Queue) nextBuffered(ctx context.Context) *message {
	for {
		q.mu.Lock()
		if len(q.buffered) == 0 {
			q.mu.Unlock()
			return nil
		}
		m := q.buffered[0]
		q.buffered[0] = nil
		q.buffered = q.buffered[1:]
		q.mu.Unlock()

		if time.Since(m.received) >= time.Duration(q.s.hold)*time.Second/2 {
			continue
		}
		if err := q.modify(ctx, []string{m.ackID}, q.s.hold); err != nil {
			if ctx.Err() != nil {
				// The caller gave up, not Pub/Sub: keep it for the next Receive.
				q.unpop(m)
				return nil
			}
			q.s.logger.Warn("refresh buffered message hold failed; leaving it to reappear",
				"message_id", m.id, "error", err.Error())
			continue
		}
		return m
	}
}

// unpop puts m back at the front of the buffer.
func (q *Queue) unpop(m *message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.buffered = append([]*message{m}, q.buffered...)
}

// release returns buffered messages for redelivery at once. A failure is logged:
// the messages then come back when their hold lapses.
func (q *Queue) release(ms []*message) {
	if len(ms) == 0 {
		return
	}
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.ackID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if err := q.modify(ctx, ids, 0); err != nil {
		q.s.logger.Warn("return buffered messages failed; they reappear when their hold lapses",
			"count", len(ids), "error", err.Error())
	}
}

// modify sets the ack deadline of the messages to secs from now; 0 returns them.
func (q *Queue) modify(ctx context.Context, ackIDs []string, secs int32) error {
	return q.client.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pb.ModifyAckDeadlineRequest{
		Subscription:       q.s.subscription,
		AckIds:             ackIDs,
		AckDeadlineSeconds: secs,
	})
}

// newMessage turns a pulled message into a queue.Message; asked is when the pull
// that got it began.
func (q *Queue) newMessage(rm *pb.ReceivedMessage, asked time.Time) *message {
	m := &message{
		q:        q,
		ackID:    rm.GetAckId(),
		id:       rm.GetMessage().GetMessageId(),
		body:     rm.GetMessage().GetData(),
		received: asked,
	}
	if m.body == nil {
		m.body = []byte{}
	}
	if n := rm.GetDeliveryAttempt(); n > 0 {
		m.attempt = int(n)
	}
	return m
}

// enter registers a call in flight; false once the handle is closed.
func (q *Queue) enter() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.ops.Add(1)
	return true
}

// bind returns a context that also ends when the handle is closed.
func (q *Queue) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(q.closing, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// fail maps a failed call's error: ErrClosed when the handle was closed under it,
// the caller's ctx error when that ended, else the client's error with context.
func (q *Queue) fail(ctx context.Context, op string, err error) error {
	if q.closing.Err() != nil {
		return queue.ErrClosed
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("pubsub %s: %w", op, err)
}
