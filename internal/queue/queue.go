// Package queue declares the mirror queue: what the front door's jobs travel through to
// the mirror worker. Each provider lives in a package beneath it (memqueue, sqsqueue,
// pubsubqueue, natsqueue) and passes the one compliance suite in queuetest.
//
// A queue carries opaque payloads; what a job is belongs to internal/mirror. Delivery is
// at least once: a message that was received but not acknowledged (the consumer crashed,
// or its hold lapsed) is delivered again, so consumers must be idempotent.
package queue

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by Enqueue and Receive after Close.
var ErrClosed = errors.New("queue closed")

// ErrFull is returned by Enqueue when a bounded queue has no room; the payload was
// dropped.
var ErrFull = errors.New("queue full")

// Queue is a job queue shared by producers (the front door) and consumers (the
// worker), possibly across several Écluse processes.
type Queue interface {
	// Enqueue adds one payload. It returns quickly (it never waits for a consumer) and
	// fails with ErrFull when a bounded queue has no room, ErrClosed after Close, or the
	// provider's error. The payload is copied or sent before Enqueue returns.
	Enqueue(ctx context.Context, body []byte) error
	// Receive waits for the next message, until ctx ends (then it returns ctx.Err()) or
	// the queue is closed (ErrClosed). The message stays held by this consumer, invisible
	// to others, until it is acknowledged, returned, or its hold lapses (HoldFor after
	// the last Extend), after which it is delivered again.
	Receive(ctx context.Context) (Message, error)
	// Close stops the queue: blocked Receives return ErrClosed; messages held and not
	// acknowledged are redelivered later (to this process after a restart, or to
	// another consumer). Close is safe to call more than once.
	Close() error
}

// Message is one delivery of a payload.
type Message interface {
	// Body is the payload as it was enqueued.
	Body() []byte
	// Attempt is how many times this payload was delivered, counting this one (1 for
	// the first delivery); 0 when the provider cannot tell.
	Attempt() int
	// Ack removes the payload from the queue for good: its job succeeded or was found
	// already done. Acknowledging twice is not an error.
	Ack(ctx context.Context) error
	// Nack gives the payload back for redelivery after at least delay (the provider may
	// round it up). Used for a failure worth retrying.
	Nack(ctx context.Context, delay time.Duration) error
	// Extend keeps the payload held by this consumer for another d from now: the
	// worker's heartbeat while a long job runs.
	Extend(ctx context.Context, d time.Duration) error
}
