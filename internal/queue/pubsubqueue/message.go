package pubsubqueue

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/ecluse/ecluse/internal/queue"
)

// message is one delivery, identified to Pub/Sub by its ack ID.
type message struct {
	q        *Queue
	ackID    string
	id       string
	body     []byte
	attempt  int
	received time.Time // when the pull that got it began: its hold started later
	acked    atomic.Bool
}

var _ queue.Message = (*message)(nil)

// Body returns the payload as it was enqueued.
func (m *message) Body() []byte { return m.body }

// Attempt is Pub/Sub's delivery attempt, which the service counts only for a
// subscription with a dead-letter policy; 0 on any other.
func (m *message) Attempt() int { return m.attempt }

// Ack acknowledges the message. A second Ack does nothing.
func (m *message) Ack(ctx context.Context) error {
	if m.acked.Load() {
		return nil
	}
	if !m.q.enter() {
		return queue.ErrClosed
	}
	defer m.q.ops.Done()
	bctx, stop := m.q.bind(ctx)
	defer stop()
	err := m.q.client.SubscriptionAdminClient.Acknowledge(bctx, &pb.AcknowledgeRequest{
		Subscription: m.q.s.subscription,
		AckIds:       []string{m.ackID},
	})
	if err != nil {
		return m.q.fail(ctx, "acknowledge", err)
	}
	m.acked.Store(true)
	return nil
}

// Nack sets the message's ack deadline to delay from now, rounded up to whole
// seconds and capped at MaxHold, so the service redelivers it once that lapses; a
// delay of zero or less returns it at once. A retry policy on the subscription adds
// its own backoff. After Ack it does nothing.
func (m *message) Nack(ctx context.Context, delay time.Duration) error {
	return m.modify(ctx, seconds(delay, MaxHold), "return message")
}

// Extend sets the message's ack deadline to d from now, rounded up to whole seconds
// and capped at MaxHold. After Ack it does nothing.
func (m *message) Extend(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return errors.New("pubsub extend: hold must be positive")
	}
	return m.modify(ctx, seconds(d, MaxHold), "extend message")
}

// modify calls ModifyAckDeadline through the handle's gate.
func (m *message) modify(ctx context.Context, secs int32, op string) error {
	if m.acked.Load() {
		return nil
	}
	if !m.q.enter() {
		return queue.ErrClosed
	}
	defer m.q.ops.Done()
	bctx, stop := m.q.bind(ctx)
	defer stop()
	if err := m.q.modify(bctx, []string{m.ackID}, secs); err != nil {
		return m.q.fail(ctx, op, err)
	}
	return nil
}
