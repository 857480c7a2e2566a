package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecluse/ecluse/internal/queue"
)

// Defaults applied to zero-valued WorkerOptions fields.
const (
	DefaultConcurrency      = 4
	DefaultHold             = time.Minute
	DefaultMaxTarballBytes  = 1 << 30
	DefaultSpoolMemoryBytes = 1 << 20
	DefaultBackoffBase      = 2 * time.Second
	DefaultBackoffMax       = 5 * time.Minute
	DefaultPermanentDelay   = 15 * time.Minute
	DefaultStallAfter       = 2 * time.Minute
	DefaultStopGrace        = 10 * time.Second
)

// settleTimeout bounds one Ack, Nack or Extend call.
const settleTimeout = 30 * time.Second

// Backoff shapes the retry delay of a transient failure: exponential in the delivery
// attempt with full jitter, a uniform draw in [0, min(Max, Base·2^(attempt-1))].
type Backoff struct {
	// Base is the ceiling of the first retry's delay. Zero means DefaultBackoffBase.
	Base time.Duration
	// Max caps the ceiling. Zero means DefaultBackoffMax.
	Max time.Duration
}

// WorkerOptions configures a Worker. Zero values are noted per field.
type WorkerOptions struct {
	// Queue delivers the jobs. Required.
	Queue queue.Queue
	// Target is the mirror target. Required.
	Target Publisher
	// Fetch reads manifests and tarballs from the public upstreams. Required.
	Fetch TarballFetcher
	// Concurrency is how many jobs run at once. Zero means DefaultConcurrency.
	Concurrency int
	// Hold is how long each heartbeat keeps a running job's message held
	// (Message.Extend); the heartbeat beats every Hold/3. It should be at most the
	// queue's own hold. Zero means DefaultHold.
	Hold time.Duration
	// MaxTarballBytes bounds a tarball (PROXY_MAX_TARBALL_BYTES): one announced or
	// streaming larger fails permanently. Zero means DefaultMaxTarballBytes.
	MaxTarballBytes int64
	// SpoolMemoryBytes is how much of a tarball is held in memory while it is verified
	// and published; a larger one is spooled to a temporary file. Zero means
	// DefaultSpoolMemoryBytes; negative means every tarball goes to a file.
	SpoolMemoryBytes int64
	// TempDir is where tarballs are spooled. Empty means os.TempDir().
	TempDir string
	// Backoff shapes transient retries. Zero fields take their defaults.
	Backoff Backoff
	// PermanentDelay is the delay a permanently failed job is given back with, so the
	// queue's dead-letter policy (max receives) ends it rather than a retry storm. Zero
	// means DefaultPermanentDelay.
	PermanentDelay time.Duration
	// StallAfter is how long the worker may hold jobs without progress (a job
	// finishing, or a tarball's bytes moving) before Healthy fails. Zero means
	// DefaultStallAfter.
	StallAfter time.Duration
	// StopGrace is how long running jobs may go on once Run's context ends; then they
	// are cancelled and their messages given back. Zero means DefaultStopGrace;
	// negative means they are cancelled at once.
	StopGrace time.Duration
	// Jitter draws a delay uniformly in [0, limit]. Nil means math/rand/v2.
	Jitter func(limit time.Duration) time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives one line per finished job. Nil means slog.Default().
	Logger *slog.Logger
}

// Worker copies the jobs of a queue to the mirror target. Build it with NewWorker;
// Run it once.
type Worker struct {
	opts WorkerOptions
	log  *slog.Logger

	running atomic.Bool

	received, done, skipped, alreadyPresent atomic.Int64
	retried, failed, poison, givenBack      atomic.Int64
	publishes, publishNanos, publishMax     atomic.Int64

	inFlight atomic.Int64
	// busySince is when the worker last went from idle to holding a job, and progress
	// when a job last finished or a tarball's bytes last moved (Unix nanoseconds).
	busySince, progress atomic.Int64
}

// NewWorker returns a worker. It fails when a required option is missing.
func NewWorker(opts WorkerOptions) (*Worker, error) {
	if opts.Queue == nil || opts.Target == nil || opts.Fetch == nil {
		return nil, errors.New("mirror worker: Queue, Target and Fetch are required")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Hold <= 0 {
		opts.Hold = DefaultHold
	}
	if opts.MaxTarballBytes <= 0 {
		opts.MaxTarballBytes = DefaultMaxTarballBytes
	}
	switch {
	case opts.SpoolMemoryBytes == 0:
		opts.SpoolMemoryBytes = DefaultSpoolMemoryBytes
	case opts.SpoolMemoryBytes < 0:
		opts.SpoolMemoryBytes = 0
	}
	if opts.Backoff.Base <= 0 {
		opts.Backoff.Base = DefaultBackoffBase
	}
	if opts.Backoff.Max <= 0 {
		opts.Backoff.Max = DefaultBackoffMax
	}
	if opts.PermanentDelay <= 0 {
		opts.PermanentDelay = DefaultPermanentDelay
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = DefaultStallAfter
	}
	if opts.StopGrace == 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.Jitter == nil {
		opts.Jitter = func(limit time.Duration) time.Duration {
			return time.Duration(rand.Int64N(int64(limit) + 1)) //nolint:gosec // jitter, not a secret
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Worker{opts: opts, log: opts.Logger}, nil
}

// Run receives and runs jobs, at most Concurrency at once, until ctx ends. Then it
// stops receiving, lets running jobs go on for StopGrace, cancels those still running
// and gives their messages back, and returns nil once every job has settled. It
// returns an error (after settling) when the queue is closed under it before ctx ends.
// A failed Receive is logged and retried with a short backoff.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("mirror worker: already running")
	}
	defer w.running.Store(false)

	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	settled := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
		case <-settled:
			return
		}
		if w.opts.StopGrace < 0 {
			cancelJobs()
			return
		}
		t := time.NewTimer(w.opts.StopGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelJobs()
		case <-settled:
		}
	}()

	var (
		wg       sync.WaitGroup
		slots    = make(chan struct{}, w.opts.Concurrency)
		runErr   error
		failures int
	)
loop:
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		msg, err := w.opts.Queue.Receive(ctx)
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				break loop
			}
			if errors.Is(err, queue.ErrClosed) {
				runErr = fmt.Errorf("mirror worker: %w", err)
				break loop
			}
			failures++
			delay := min(time.Duration(failures)*time.Second, 30*time.Second)
			w.log.WarnContext(ctx, "mirror queue receive failed", "error", err.Error(), "retry_in", delay)
			if !sleep(ctx, delay) {
				break loop
			}
			continue
		}
		failures = 0
		w.received.Add(1)
		w.begin()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			w.handle(jobCtx, msg)
		}()
	}
	wg.Wait()
	close(settled)
	<-stopped
	return runErr
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// begin marks a job received.
func (w *Worker) begin() {
	if w.inFlight.Load() == 0 {
		w.busySince.Store(w.opts.Now().UnixNano())
	}
	w.inFlight.Add(1)
}

// finish marks a job settled.
func (w *Worker) finish() {
	w.markProgress()
	w.inFlight.Add(-1)
}

func (w *Worker) markProgress() { w.progress.Store(w.opts.Now().UnixNano()) }

// outcome is how a job that did not fail ended.
type outcome uint8

const (
	outcomePublished outcome = iota + 1
	outcomePresent           // found on the target before anything was fetched
	outcomeAlready           // the target refused the publish as a duplicate
)

// handle runs one delivery and settles its message.
func (w *Worker) handle(ctx context.Context, msg queue.Message) {
	defer w.finish()
	ctx, js := startJob(ctx, msg.Attempt())
	result, failure := resultGivenBack, error(nil)
	defer func() { js.end(ctx, result, failure) }()
	job, err := DecodeJob(msg.Body())
	if err != nil {
		// A poison message: acknowledged, so it never comes back.
		result, failure = resultPoison, err
		w.poison.Add(1)
		w.log.ErrorContext(ctx, "mirror job undecodable; dropped",
			"attempt", msg.Attempt(), "size", len(msg.Body()), "error", err.Error())
		w.ack(ctx, msg, w.log)
		return
	}
	js.describe(job)
	log := w.log.With("mount", job.Mount, "ecosystem", job.Ecosystem, "package", job.Name, "version", job.Version)
	stopBeat := w.heartbeat(ctx, msg, log)
	res, err := w.process(ctx, job)
	stopBeat()
	failure = err
	switch {
	case err == nil:
		switch res {
		case outcomePresent:
			result = resultSkipped
			w.skipped.Add(1)
			log.DebugContext(ctx, "mirror job skipped: already on the target", "attempt", msg.Attempt())
		case outcomeAlready:
			result = resultAlready
			w.done.Add(1)
			w.alreadyPresent.Add(1)
			log.InfoContext(ctx, "mirror job done: the target already held it", "attempt", msg.Attempt())
		default:
			result = resultPublished
			w.done.Add(1)
			log.InfoContext(ctx, "mirror job done", "attempt", msg.Attempt())
		}
		w.ack(ctx, msg, log)
	case ctx.Err() != nil:
		// Cut off by shutdown: given back for another consumer, or this one after a
		// restart.
		w.givenBack.Add(1)
		log.InfoContext(ctx, "mirror job given back at shutdown", "attempt", msg.Attempt())
		w.nack(ctx, msg, 0, log)
	case KindOf(err) == KindPermanent:
		result = resultFailed
		w.failed.Add(1)
		log.ErrorContext(ctx, "mirror job failed",
			"kind", KindPermanent.String(), "reason", string(ReasonOf(err)), "attempt", msg.Attempt(),
			"retry_in", w.opts.PermanentDelay, "error", err.Error())
		w.nack(ctx, msg, w.opts.PermanentDelay, log)
	default:
		result = resultRetried
		w.retried.Add(1)
		delay := w.retryDelay(msg.Attempt())
		log.WarnContext(ctx, "mirror job will be retried",
			"kind", KindTransient.String(), "reason", string(ReasonOf(err)), "attempt", msg.Attempt(),
			"retry_in", delay, "error", err.Error())
		w.nack(ctx, msg, delay, log)
	}
}

// process runs one job: look the version up on the target, and copy it when absent.
func (w *Worker) process(ctx context.Context, job Job) (outcome, error) {
	present, err := w.opts.Target.Exists(ctx, job.Name, job.Version, job.Integrity)
	if err != nil {
		return 0, err
	}
	if present {
		return outcomePresent, nil
	}
	manifest, err := w.opts.Fetch.Manifest(ctx, job)
	if err != nil {
		return 0, err
	}
	body, size, err := w.opts.Fetch.Open(ctx, job)
	if err != nil {
		return 0, err
	}
	if size > w.opts.MaxTarballBytes {
		body.Close()
		return 0, permanent("fetch", ReasonTooLarge, fmt.Errorf("tarball is %d bytes, more than %d", size, w.opts.MaxTarballBytes))
	}
	sp, err := spoolVerified(body, size, job.Integrity, w.opts.MaxTarballBytes, w.opts.SpoolMemoryBytes, w.opts.TempDir,
		func(int) { w.markProgress() })
	body.Close()
	if err != nil {
		return 0, err
	}
	defer sp.close()
	tb := sp.tarball()
	tb.Body = progressReaderAt{r: tb.Body, mark: w.markProgress}
	start := w.opts.Now()
	err = w.opts.Target.Publish(ctx, job, manifest, tb)
	if err == nil || errors.Is(err, ErrAlreadyPresent) {
		w.observePublish(w.opts.Now().Sub(start))
	}
	switch {
	case errors.Is(err, ErrAlreadyPresent):
		return outcomeAlready, nil
	case err != nil:
		return 0, err
	}
	return outcomePublished, nil
}

// progressReaderAt marks progress on every read of the tarball being published.
type progressReaderAt struct {
	r    io.ReaderAt
	mark func()
}

func (p progressReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := p.r.ReadAt(b, off)
	if n > 0 {
		p.mark()
	}
	return n, err
}

func (w *Worker) observePublish(d time.Duration) {
	w.publishes.Add(1)
	w.publishNanos.Add(int64(d))
	for {
		cur := w.publishMax.Load()
		if int64(d) <= cur || w.publishMax.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// retryDelay is the backoff before a transient failure's next attempt.
func (w *Worker) retryDelay(attempt int) time.Duration {
	attempt = max(attempt, 1)
	limit := w.opts.Backoff.Max
	if shift := attempt - 1; shift < 40 {
		if d := w.opts.Backoff.Base << shift; d > 0 && d < limit {
			limit = d
		}
	}
	d := w.opts.Jitter(limit)
	return min(max(d, 0), limit)
}

// heartbeat keeps msg held while its job runs; the returned function stops it and
// waits for it.
func (w *Worker) heartbeat(ctx context.Context, msg queue.Message, log *slog.Logger) func() {
	every := max(w.opts.Hold/3, time.Millisecond)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(every, settleTimeout))
				err := msg.Extend(ectx, w.opts.Hold)
				cancel()
				if err != nil {
					log.WarnContext(ctx, "mirror job hold not extended", "error", err.Error())
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

func (w *Worker) ack(ctx context.Context, msg queue.Message, log *slog.Logger) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := msg.Ack(sctx); err != nil {
		// The job will come back and be found done.
		log.WarnContext(ctx, "mirror job acknowledgement failed", "error", err.Error())
	}
}

func (w *Worker) nack(ctx context.Context, msg queue.Message, delay time.Duration, log *slog.Logger) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := msg.Nack(sctx, delay); err != nil {
		// The hold lapses and the job comes back anyway.
		log.WarnContext(ctx, "mirror job could not be given back", "error", err.Error())
	}
}

// StalledError is Healthy's failure: jobs are held and nothing moved for too long.
type StalledError struct {
	// InFlight is how many jobs are held.
	InFlight int64
	// Since is how long nothing moved.
	Since time.Duration
}

func (e *StalledError) Error() string {
	return fmt.Sprintf("mirror worker stalled: %d jobs held and no progress for %s", e.InFlight, e.Since.Round(time.Second))
}

// Healthy reports whether the worker is making progress at now: a *StalledError when
// it holds jobs and none finished and no tarball bytes moved within StallAfter (since
// the later of the last progress and the moment it stopped being idle). An idle worker
// is healthy.
func (w *Worker) Healthy(now time.Time) error {
	n := w.inFlight.Load()
	if n <= 0 {
		return nil
	}
	ref := max(w.progress.Load(), w.busySince.Load())
	if since := now.Sub(time.Unix(0, ref)); since > w.opts.StallAfter {
		return &StalledError{InFlight: n, Since: since}
	}
	return nil
}

// Live is Healthy at the worker's clock, in the shape of a liveness check.
func (w *Worker) Live(context.Context) error { return w.Healthy(w.opts.Now()) }

// Stats is a snapshot of the worker's counters, for logs and telemetry.
type Stats struct {
	// Received counts deliveries.
	Received int64
	// Done counts jobs whose version is now on the target: published, or refused by
	// the target as already there (also counted in AlreadyPresent).
	Done int64
	// AlreadyPresent counts publishes the target refused because it held the version.
	AlreadyPresent int64
	// Skipped counts jobs whose version the target held before anything was fetched.
	Skipped int64
	// Retried counts transient failures given back with a backoff.
	Retried int64
	// Failed counts permanent failures given back with PermanentDelay.
	Failed int64
	// Poison counts undecodable messages, acknowledged and dropped.
	Poison int64
	// GivenBack counts jobs cut off by shutdown and given back.
	GivenBack int64
	// InFlight is how many jobs are held now.
	InFlight int64
	// Publishes, PublishTime and PublishMax describe the publishes that succeeded:
	// their count, total and longest duration.
	Publishes   int64
	PublishTime time.Duration
	PublishMax  time.Duration
}

// Stats returns a snapshot of the counters.
func (w *Worker) Stats() Stats {
	return Stats{
		Received: w.received.Load(), Done: w.done.Load(), AlreadyPresent: w.alreadyPresent.Load(),
		Skipped: w.skipped.Load(), Retried: w.retried.Load(), Failed: w.failed.Load(),
		Poison: w.poison.Load(), GivenBack: w.givenBack.Load(), InFlight: w.inFlight.Load(),
		Publishes: w.publishes.Load(), PublishTime: time.Duration(w.publishNanos.Load()),
		PublishMax: time.Duration(w.publishMax.Load()),
	}
}
