package sqsqueue

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecluse/ecluse/internal/queue"
)

// message is one delivery, identified to SQS by its receipt handle.
type message struct {
	q        *Queue
	id       string
	receipt  string
	body     []byte
	attempt  int
	received time.Time // when the call that received it began: its hold started later
	acked    atomic.Bool
}

var _ queue.Message = (*message)(nil)

// Body returns the payload as it was enqueued.
func (m *message) Body() []byte { return m.body }

// Attempt is SQS's ApproximateReceiveCount: 1 on the first delivery. It is
// approximate (SQS may count a receive that never reached this process), and 0 when
// SQS did not return it.
func (m *message) Attempt() int { return m.attempt }

// Ack deletes the message. A second Ack does nothing.
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
	_, err := m.q.client.DeleteMessage(bctx, &sqs.DeleteMessageInput{
		QueueUrl:      aws.String(m.q.s.queueURL),
		ReceiptHandle: aws.String(m.receipt),
	})
	if err != nil {
		return m.q.fail(ctx, "delete message", err)
	}
	m.acked.Store(true)
	return nil
}

// Nack makes the message visible again after delay, rounded up to whole seconds and
// capped at MaxHold. A delay of zero or less returns it at once. After Ack it does
// nothing.
func (m *message) Nack(ctx context.Context, delay time.Duration) error {
	return m.change(ctx, seconds(delay, MaxHold), "return message")
}

// Extend keeps the message invisible for d from now, rounded up to whole seconds and
// capped at MaxHold (SQS also ends a message's hold 12 hours after its first
// receive). After Ack it does nothing.
func (m *message) Extend(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return errors.New("sqs extend: hold must be positive")
	}
	return m.change(ctx, seconds(d, MaxHold), "extend message")
}

// change sets the message's visibility timeout through the handle's gate.
func (m *message) change(ctx context.Context, secs int32, op string) error {
	if m.acked.Load() {
		return nil
	}
	if !m.q.enter() {
		return queue.ErrClosed
	}
	defer m.q.ops.Done()
	bctx, stop := m.q.bind(ctx)
	defer stop()
	if err := m.setVisibility(bctx, secs); err != nil {
		return m.q.fail(ctx, op, err)
	}
	return nil
}

// setVisibility calls ChangeMessageVisibility; the caller holds the gate.
func (m *message) setVisibility(ctx context.Context, secs int32) error {
	_, err := m.q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(m.q.s.queueURL),
		ReceiptHandle:     aws.String(m.receipt),
		VisibilityTimeout: secs,
	})
	return err
}
