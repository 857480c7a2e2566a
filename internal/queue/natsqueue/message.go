package natsqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecluse/ecluse/internal/queue"
)

// message is one JetStream delivery.
type message struct {
	q       *Queue
	msg     jetstream.Msg
	attempt int

	mu    sync.Mutex
	acked bool // Ack succeeded
}

var _ queue.Message = (*message)(nil)

func newMessage(q *Queue, msg jetstream.Msg) *message {
	m := &message{q: q, msg: msg}
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 0 {
		m.attempt = int(md.NumDelivered)
	}
	return m
}

func (m *message) Body() []byte { return m.msg.Data() }

// Attempt is JetStream's delivery count.
func (m *message) Attempt() int { return m.attempt }

// Ack acknowledges the delivery and waits for the server to confirm it.
func (m *message) Ack(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.acked {
		return nil
	}
	if err := m.msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("natsqueue: ack: %w", err)
	}
	m.acked = true
	return nil
}

// Nack gives the job back to be delivered again after delay (NakWithDelay), or at
// once when delay is zero or less. A delivery already acknowledged or given back has
// nothing to give back, and Nack returns nil.
func (m *message) Nack(ctx context.Context, delay time.Duration) error {
	var err error
	if delay > 0 {
		err = m.msg.NakWithDelay(delay)
	} else {
		err = m.msg.Nak()
	}
	if errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("natsqueue: nak: %w", err)
	}
	if err := m.q.flush(ctx); err != nil {
		return fmt.Errorf("natsqueue: nak: %w", err)
	}
	return nil
}

// Extend tells JetStream the job is in progress, which restarts its hold. JetStream
// restarts it for the consumer's AckWait (Options.Hold) whatever d is, so a caller
// extends at least every Hold.
func (m *message) Extend(ctx context.Context, _ time.Duration) error {
	if err := m.msg.InProgress(); err != nil {
		return fmt.Errorf("natsqueue: in progress: %w", err)
	}
	if err := m.q.flush(ctx); err != nil {
		return fmt.Errorf("natsqueue: in progress: %w", err)
	}
	return nil
}
