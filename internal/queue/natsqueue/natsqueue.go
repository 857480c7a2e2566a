package natsqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecluse/ecluse/internal/queue"
)

// Defaults for the zero values of Options.
const (
	DefaultStream     = "ECLUSE_MIRROR"
	DefaultSubject    = "ecluse.mirror.jobs"
	DefaultConsumer   = "ecluse-mirror-worker"
	DefaultHold       = 30 * time.Second
	DefaultMaxDeliver = 10
)

// pollWait bounds one pull request; Receive sends another when it expires empty.
const pollWait = 30 * time.Second

// minPull is the shortest pull request worth sending.
const minPull = 20 * time.Millisecond

// retryWait is how long Receive waits before pulling again after a transient error
// (the connection is re-established, the server restarted).
const retryWait = time.Second

// connectTimeout bounds dialling the server.
const connectTimeout = 10 * time.Second

// Options configures a NATS JetStream queue. Every zero value means a default.
type Options struct {
	// URL is the NATS server (NATS_URL), such as nats://127.0.0.1:4222; credentials
	// and tls:// go in the URL as nats.go accepts them. Empty means an embedded
	// JetStream server in this process, storing under Dir, reachable only in process
	// (it listens on no port).
	URL string
	// Dir is where the embedded server stores its streams (MIRROR_QUEUE_DIR). Empty
	// means a new temporary directory, removed by Close: nothing survives a restart.
	// Unused when URL is set.
	Dir string
	// Stream is the JetStream stream's name. Empty means DefaultStream.
	Stream string
	// Subject is the subject jobs are published on; the stream holds it alone. Empty
	// means DefaultSubject.
	Subject string
	// Consumer is the durable pull consumer's name, shared by every Écluse process.
	// Empty means DefaultConsumer.
	Consumer string
	// Hold is the consumer's AckWait: how long a received job stays held before it
	// is delivered again. Zero or less means DefaultHold.
	Hold time.Duration
	// MaxDeliver is how many deliveries a job gets before JetStream gives it up
	// (it stays in the stream, undelivered, and the give-up is logged). Zero means
	// DefaultMaxDeliver; less than zero means no limit.
	MaxDeliver int
	// Logger receives the give-up lines and the embedded server's warnings and
	// errors. Nil discards them.
	Logger *slog.Logger
}

// Queue is one handle onto a JetStream work queue: one NATS connection, and the
// embedded server when this handle started it. It is safe for concurrent use.
type Queue struct {
	opts   Options // defaults applied
	log    *slog.Logger
	srv    *embedded // the server this handle started and stops; nil when it does not own one
	via    *embedded // the embedded server this handle connects to in process; nil with a URL
	nc     *nats.Conn
	js     jetstream.JetStream
	cons   jetstream.Consumer
	advise *nats.Subscription

	closing   context.Context // cancelled by Close: ends pending pulls
	stop      context.CancelFunc
	closeOnce sync.Once
}

var _ queue.Queue = (*Queue)(nil)

// New connects to the server at opts.URL, or starts an embedded one when it is empty,
// and creates or updates the stream and the durable consumer.
func New(ctx context.Context, opts Options) (*Queue, error) {
	opts = withDefaults(opts)
	log := opts.Logger
	if opts.URL != "" {
		return open(ctx, opts, nil, nil)
	}
	srv, err := startEmbedded(opts.Dir, log)
	if err != nil {
		return nil, err
	}
	q, err := open(ctx, opts, srv, srv)
	if err != nil {
		srv.shutdown()
		return nil, err
	}
	return q, nil
}

// Open returns another handle onto the same queue, with its own connection, as a
// second consumer would have. With an embedded server it connects in process and
// stops working when the handle that started the server closes.
func (q *Queue) Open(ctx context.Context) (*Queue, error) {
	if q.closing.Err() != nil {
		return nil, queue.ErrClosed
	}
	return open(ctx, q.opts, nil, q.via)
}

func withDefaults(opts Options) Options {
	if opts.Stream == "" {
		opts.Stream = DefaultStream
	}
	if opts.Subject == "" {
		opts.Subject = DefaultSubject
	}
	if opts.Consumer == "" {
		opts.Consumer = DefaultConsumer
	}
	if opts.Hold <= 0 {
		opts.Hold = DefaultHold
	}
	if opts.MaxDeliver == 0 {
		opts.MaxDeliver = DefaultMaxDeliver
	} else if opts.MaxDeliver < 0 {
		opts.MaxDeliver = -1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return opts
}

// open connects (in process to via, or to opts.URL) and sets up the stream and
// consumer. owned, when set, is stopped by the handle's Close.
func open(ctx context.Context, opts Options, owned, via *embedded) (*Queue, error) {
	connOpts := []nats.Option{
		nats.Name("ecluse-mirror-queue"),
		nats.Timeout(connectTimeout),
		nats.MaxReconnects(-1),
	}
	url := opts.URL
	if via != nil {
		url = ""
		connOpts = append(connOpts, nats.InProcessServer(via.srv))
	}
	nc, err := nats.Connect(url, connOpts...)
	if err != nil {
		// The URL may carry credentials: it stays out of the error.
		return nil, fmt.Errorf("natsqueue: connect: %w", err)
	}
	q := &Queue{opts: opts, log: opts.Logger, srv: owned, via: via, nc: nc}
	q.closing, q.stop = context.WithCancel(context.Background())
	if err := q.setup(ctx); err != nil {
		nc.Close()
		q.stop()
		return nil, err
	}
	return q, nil
}

func (q *Queue) setup(ctx context.Context) error {
	js, err := jetstream.New(q.nc)
	if err != nil {
		return fmt.Errorf("natsqueue: jetstream: %w", err)
	}
	q.js = js
	o := q.opts
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      o.Stream,
		Subjects:  []string{o.Subject},
		Storage:   jetstream.FileStorage,
		Retention: jetstream.WorkQueuePolicy,
	})
	if err != nil {
		return fmt.Errorf("natsqueue: stream %q: %w", o.Stream, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, o.Stream, jetstream.ConsumerConfig{
		Durable:       o.Consumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.Hold,
		MaxDeliver:    o.MaxDeliver,
		FilterSubject: o.Subject,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("natsqueue: consumer %q on stream %q: %w", o.Consumer, o.Stream, err)
	}
	q.cons = cons
	q.advise, err = q.nc.Subscribe(maxDeliveriesSubject(o.Stream, o.Consumer), q.givenUp)
	if err != nil {
		return fmt.Errorf("natsqueue: subscribe to delivery advisories: %w", err)
	}
	return nil
}

// Enqueue publishes body and waits for JetStream to store it.
func (q *Queue) Enqueue(ctx context.Context, body []byte) error {
	if q.closing.Err() != nil {
		return queue.ErrClosed
	}
	if _, err := q.js.Publish(ctx, q.opts.Subject, body); err != nil {
		if q.closing.Err() != nil {
			return queue.ErrClosed
		}
		return fmt.Errorf("natsqueue: publish: %w", err)
	}
	return nil
}

// Receive pulls the next job from the durable consumer.
func (q *Queue) Receive(ctx context.Context) (queue.Message, error) {
	for {
		if q.closing.Err() != nil {
			return nil, queue.ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := q.pull(ctx)
		switch {
		case m != nil:
			return m, nil
		case q.closing.Err() != nil:
			return nil, queue.ErrClosed
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err == nil:
			// The pull expired empty: pull again.
		case transient(err):
			select {
			case <-ctx.Done():
			case <-q.closing.Done():
			case <-time.After(retryWait):
			}
		default:
			return nil, fmt.Errorf("natsqueue: fetch: %w", err)
		}
	}
}

// pull sends one pull request for one message, ended early by ctx or Close. It
// returns nil, nil when the request expired empty.
func (q *Queue) pull(ctx context.Context) (*message, error) {
	pctx, cancel := context.WithTimeout(ctx, pollWait)
	defer cancel()
	unhook := context.AfterFunc(q.closing, cancel)
	defer unhook()
	if deadline, ok := pctx.Deadline(); ok && time.Until(deadline) < minPull {
		// Too little time left for a pull request: wait the rest out.
		<-pctx.Done()
		return nil, nil
	}

	batch, err := q.cons.Fetch(1, jetstream.FetchContext(pctx))
	if err != nil {
		return nil, err
	}
	msg, ok := <-batch.Messages()
	if !ok || msg == nil {
		err := batch.Error()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, nil // pollWait passed
		}
		return nil, err
	}
	if ctx.Err() != nil || q.closing.Err() != nil {
		// It came as the wait ended: give it back rather than leave it held.
		_ = msg.Nak()
		return nil, nil
	}
	return newMessage(q, msg), nil
}

// transient reports errors after which pulling again later may succeed.
func transient(err error) bool {
	return errors.Is(err, jetstream.ErrNoHeartbeat) ||
		errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrSlowConsumer)
}

// Close ends pending Receives with queue.ErrClosed and closes the connection; jobs
// held and not acknowledged are delivered again once their hold lapses. When this
// handle started the embedded server, Close stops it (and removes its directory when
// it was a temporary one). Close is safe to call more than once.
func (q *Queue) Close() error {
	q.closeOnce.Do(func() {
		q.stop()
		if q.advise != nil {
			_ = q.advise.Unsubscribe()
		}
		q.nc.Close()
		if q.srv != nil {
			q.srv.shutdown()
		}
	})
	return nil
}

// flush makes sure an acknowledgement sent without waiting has left, within ctx.
func (q *Queue) flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, connectTimeout)
		defer cancel()
	}
	return q.nc.FlushWithContext(ctx)
}

// removeTemp removes a temporary directory, reporting failures to log.
func removeTemp(dir string, log *slog.Logger) {
	if err := os.RemoveAll(dir); err != nil {
		log.Warn("cannot remove the embedded nats server's temporary directory", "dir", dir, "error", err)
	}
}
