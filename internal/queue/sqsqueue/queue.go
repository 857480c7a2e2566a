package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecluse/ecluse/internal/queue"
)

// releaseTimeout bounds Close's attempt to make buffered messages visible again.
const releaseTimeout = 5 * time.Second

// Queue is one handle onto an SQS queue. Several handles, in one process or many,
// may share the queue. It is safe for concurrent use.
type Queue struct {
	client *sqs.Client
	s      settings
	// closeIdle drops the idle connections of the HTTP transport the Queue built for
	// itself; nil when the caller supplied its own HTTP client.
	closeIdle func()

	closing context.Context // canceled by Close
	cancel  context.CancelFunc

	mu       sync.Mutex
	closed   bool
	ops      sync.WaitGroup // calls in flight, waited for by Close
	buffered []*message     // received and not yet handed out, oldest first
}

var _ queue.Queue = (*Queue)(nil)

// New returns a handle onto the queue at o.QueueURL. It checks the options and builds
// the client but does not call SQS: a wrong URL or missing permission shows on the
// first Enqueue or Receive.
func New(ctx context.Context, o Options) (*Queue, error) {
	s, err := o.resolve()
	if err != nil {
		return nil, err
	}
	var cfg aws.Config
	if o.AWSConfig != nil {
		cfg = o.AWSConfig.Copy()
	} else if cfg, err = LoadAWSConfig(ctx, o.Region); err != nil {
		return nil, err
	}
	if o.Region != "" {
		cfg.Region = o.Region
	}
	if cfg.Region == "" {
		return nil, errors.New("sqs region is required: set AWS_REGION")
	}

	q := &Queue{s: s}
	q.closing, q.cancel = context.WithCancel(context.Background())
	hc := cfg.HTTPClient
	if b, ok := hc.(*awshttp.BuildableClient); ok || hc == nil {
		// Build the HTTP client here, from the SDK's own transport settings, so that
		// Close can drop its idle connections instead of leaving them to time out.
		if b == nil {
			b = awshttp.NewBuildableClient()
		}
		tr := b.GetTransport()
		hc = &http.Client{
			Transport: tr,
			Timeout:   b.GetTimeout(),
			// The SDK follows no redirect; neither does this client.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		q.closeIdle = tr.CloseIdleConnections
	}
	q.client = sqs.NewFromConfig(cfg, func(so *sqs.Options) { so.HTTPClient = hc })
	return q, nil
}

// Enqueue sends one message. SQS is not bounded, so it never returns ErrFull.
func (q *Queue) Enqueue(ctx context.Context, body []byte) error {
	if !q.enter() {
		return queue.ErrClosed
	}
	defer q.ops.Done()
	bctx, stop := q.bind(ctx)
	defer stop()
	text, attrs := encodeBody(body)
	_, err := q.client.SendMessage(bctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(q.s.queueURL),
		MessageBody:       aws.String(text),
		MessageAttributes: attrs,
	})
	if err != nil {
		return q.fail(ctx, "send message", err)
	}
	return nil
}

// Receive hands out the oldest buffered message, or long-polls SQS until one arrives,
// ctx ends or the handle is closed.
func (q *Queue) Receive(ctx context.Context) (queue.Message, error) {
	if !q.enter() {
		return nil, queue.ErrClosed
	}
	defer q.ops.Done()
	bctx, stop := q.bind(ctx)
	defer stop()
	for {
		if bctx.Err() != nil {
			return nil, q.fail(ctx, "receive message", bctx.Err())
		}
		if m := q.nextBuffered(bctx); m != nil {
			return m, nil
		}
		// The hold starts when SQS hands the messages over, after this call began and
		// before its answer arrives: counting from here never underestimates its age.
		asked := time.Now()
		out, err := q.client.ReceiveMessage(bctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(q.s.queueURL),
			MaxNumberOfMessages:         q.s.batch,
			VisibilityTimeout:           q.s.hold,
			WaitTimeSeconds:             q.s.wait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
			MessageAttributeNames:       []string{encodingAttribute},
		})
		if err != nil {
			return nil, q.fail(ctx, "receive message", err)
		}
		var got []*message
		for _, sm := range out.Messages {
			got = append(got, q.newMessage(sm, asked))
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

// Close stops the handle: blocked Receives return ErrClosed, buffered messages are
// made visible again at once, and messages already handed out come back when their
// hold lapses (acknowledging them through this handle now returns ErrClosed).
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
	if q.closeIdle != nil {
		q.closeIdle()
	}
	return nil
}

// nextBuffered pops the oldest buffered message that still has at least half its
// hold left, refreshing its hold to a full Hold; nil when none is left. One with less
// is dropped, to reappear when its hold lapses: the refresh might arrive after the
// hold lapsed and another consumer received it, and SQS would still accept it.
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
		if err := m.setVisibility(ctx, q.s.hold); err != nil {
			if ctx.Err() != nil {
				// The caller gave up, not SQS: keep it for the next Receive.
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

// release makes buffered messages visible again at once. Failures are logged: the
// messages then come back when their hold lapses.
func (q *Queue) release(ms []*message) {
	for len(ms) > 0 {
		n := min(len(ms), MaxBatch)
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, 0, n)
		for i, m := range ms[:n] {
			entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{
				Id:                aws.String(strconv.Itoa(i)),
				ReceiptHandle:     aws.String(m.receipt),
				VisibilityTimeout: 0,
			})
		}
		ms = ms[n:]
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		out, err := q.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{
			QueueUrl: aws.String(q.s.queueURL),
			Entries:  entries,
		})
		cancel()
		switch {
		case err != nil:
			q.s.logger.Warn("release buffered messages failed; they reappear when their hold lapses",
				"count", len(entries), "error", err.Error())
		case len(out.Failed) > 0:
			q.s.logger.Warn("release buffered messages failed; they reappear when their hold lapses",
				"count", len(out.Failed), "error", aws.ToString(out.Failed[0].Message))
		}
	}
}

// newMessage turns a received SQS message into a queue.Message; asked is when the
// call that received it began.
func (q *Queue) newMessage(sm types.Message, asked time.Time) *message {
	m := &message{
		q:        q,
		id:       aws.ToString(sm.MessageId),
		receipt:  aws.ToString(sm.ReceiptHandle),
		received: asked,
	}
	if n, err := strconv.Atoi(sm.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil && n > 0 {
		m.attempt = n
	}
	body, err := decodeBody(aws.ToString(sm.Body), sm.MessageAttributes)
	if err != nil {
		// Not written by Écluse: hand the text over as it is and let the consumer
		// refuse it.
		q.s.logger.Warn("undecodable message body; handing it out as received",
			"message_id", m.id, "error", err.Error())
		body = []byte(aws.ToString(sm.Body))
	}
	m.body = body
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
// the caller's ctx error when that ended, else the SDK's error with context.
func (q *Queue) fail(ctx context.Context, op string, err error) error {
	if q.closing.Err() != nil {
		return queue.ErrClosed
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("sqs %s: %w", op, err)
}
