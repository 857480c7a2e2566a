package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/mirror"
	"github.com/ecluse/ecluse/internal/mirror/credential"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/queue"
	"github.com/ecluse/ecluse/internal/queue/memqueue"
	"github.com/ecluse/ecluse/internal/queue/natsqueue"
	"github.com/ecluse/ecluse/internal/queue/pubsubqueue"
	"github.com/ecluse/ecluse/internal/queue/sqsqueue"
)

// mirrorHold is how long a mirror job stays held by the worker that received it before
// another may take it: a job held by a crashed process is back within about this long.
// The worker renews it every third of it while the job runs.
const mirrorHold = 60 * time.Second

// mirrorParts is the asynchronous mirror: the queue, the front door's side of it (the
// enqueuer) and the worker's.
type mirrorParts struct {
	queue   queue.Queue
	enq     *mirror.Enqueuer
	origins []mirror.Origin
}

// openQueue opens the configured mirror queue.
func openQueue(ctx context.Context, cfg *config.Config, log *slog.Logger) (queue.Queue, error) {
	m := cfg.Mirror
	qlog := log.With("component", "mirror-queue", "provider", m.QueueProvider)
	switch m.QueueProvider {
	case config.QueueMemory:
		return memqueue.New(memqueue.Options{MaxDepth: m.MemoryMaxDepth, Hold: mirrorHold, Logger: qlog}), nil
	case config.QueueSQS:
		awsCfg, err := sqsqueue.LoadAWSConfig(ctx, m.AWSRegion)
		if err != nil {
			return nil, fmt.Errorf("sqs: %w", err)
		}
		return sqsqueue.New(ctx, sqsqueue.Options{QueueURL: m.QueueURL, Region: m.AWSRegion, AWSConfig: &awsCfg, Hold: mirrorHold, Logger: qlog})
	case config.QueuePubSub:
		return pubsubqueue.New(ctx, pubsubqueue.Options{Topic: m.QueueURL, Project: m.GoogleCloudProject,
			Subscription: m.QueueSubscription, CreateIfAbsent: m.QueueCreate, Hold: mirrorHold, Logger: qlog})
	case config.QueueNATS:
		dir := m.QueueDir
		if dir == "" && m.NATSURL == "" {
			dir = filepath.Join(os.TempDir(), "ecluse-mirror-queue")
		}
		return natsqueue.New(ctx, natsqueue.Options{URL: m.NATSURL, Dir: dir, Hold: mirrorHold, Logger: qlog})
	}
	return nil, fmt.Errorf("unknown mirror queue provider %q", m.QueueProvider)
}

// mirrorCredential builds the mirror target's write credential.
func mirrorCredential(ctx context.Context, cfg *config.Config, log *slog.Logger) (credential.Provider, error) {
	m := cfg.Mirror
	switch m.CredentialProvider {
	case config.CredentialCodeArtifact:
		ca := m.CodeArtifact
		return credential.CodeArtifact(ctx, credential.CodeArtifactOptions{Domain: ca.Domain, DomainOwner: ca.DomainOwner,
			Region: ca.Region, Duration: ca.TokenDuration, Logger: log})
	case config.CredentialGCPArtifactRegistry:
		return credential.GCPArtifactRegistry(ctx, credential.GCPOptions{})
	}
	return credential.Static(m.Token), nil
}

// gateMirror adapts the front door's mirror jobs to the mirror's, for one npm mount.
type gateMirror struct {
	enq   *mirror.Enqueuer
	mount string
}

func (a gateMirror) Enqueue(ctx context.Context, j gate.MirrorJob) error {
	return a.enq.Enqueue(ctx, mirror.Job{Mount: a.mount, Ecosystem: mirror.EcosystemNPM, Name: j.Name,
		Version: j.Version, Upstream: j.Upstream, Tarball: j.Tarball, Integrity: j.Integrity})
}

var _ gate.Enqueuer = gateMirror{}

// newWorker builds the mirror worker over the queue, publishing to the mirror target.
func newWorker(ctx context.Context, cfg *config.Config, mp *mirrorParts, log *slog.Logger) (*mirror.Worker, error) {
	wlog := log.With("component", "mirror-worker")
	cred, err := mirrorCredential(ctx, cfg, wlog)
	if err != nil {
		return nil, fmt.Errorf("mirror target credential: %w", err)
	}
	target := cfg.Mirror.TargetURL
	if target == nil {
		return nil, errors.New("no mirror target (MIRROR_TARGET_URL or PRIVATE_UPSTREAM_URL)")
	}
	pub, err := mirror.NewNPMPublisher(mirror.NPMPublisherOptions{
		Target: target, HTTP: egress.NewTrusted(target, egress.TrustedOptions{Logger: wlog}), Credential: cred, Logger: wlog,
	})
	if err != nil {
		return nil, fmt.Errorf("mirror target: %w", err)
	}
	fetch := mirror.NewUpstreamFetcher(mirror.UpstreamFetcherOptions{
		Origins: mp.origins,
		Limits:  npm.Limits{MaxBytes: cfg.MaxResponseBytes, MaxVersions: cfg.MaxVersionCount, MaxDistTags: cfg.MaxDistTagCount, MaxDepth: cfg.MaxNestingDepth},
	})
	return mirror.NewWorker(mirror.WorkerOptions{
		Queue: mp.queue, Target: pub, Fetch: fetch, Concurrency: cfg.Mirror.WorkerConcurrency,
		Hold: mirrorHold, MaxTarballBytes: cfg.MaxTarballBytes, StallAfter: cfg.Mirror.WorkerStallAfter, Logger: wlog,
	})
}

// mirrorStatsEvery is how often the mirror's counters are logged, when they changed.
const mirrorStatsEvery = time.Minute

// queueDepth reads how many jobs a queue holds, for providers that can tell (SQS and
// NATS ask their server; the memory queue counts); -1 when the provider cannot.
func queueDepth(ctx context.Context, q queue.Queue) int {
	switch d := q.(type) {
	case interface{ Depth() int }:
		return d.Depth()
	case interface {
		Depth(context.Context) (int, error)
	}:
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if n, err := d.Depth(dctx); err == nil {
			return n
		}
	}
	return -1
}

// logMirrorStats logs the queue's depth and the enqueuer's and the worker's counters
// every interval in which they changed, until ctx ends.
func logMirrorStats(ctx context.Context, q queue.Queue, enq *mirror.Enqueuer, w *mirror.Worker, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	var lastE mirror.EnqueuerStats
	var lastW mirror.Stats
	lastDepth := -1
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		e, s, depth := enq.Stats(), w.Stats(), queueDepth(ctx, q)
		if e == lastE && s == lastW && depth == lastDepth {
			continue
		}
		lastE, lastW, lastDepth = e, s, depth
		var meanMs float64
		if s.Publishes > 0 {
			meanMs = float64(s.PublishTime.Milliseconds()) / float64(s.Publishes)
		}
		log.Info("mirror stats", "queue_depth", depth,
			"enqueued", e.Enqueued, "deduplicated", e.Deduplicated, "dropped", e.Dropped, "enqueue_failed", e.Failed,
			"received", s.Received, "done", s.Done, "skipped_present", s.Skipped+s.AlreadyPresent, "retried", s.Retried,
			"failed", s.Failed, "poison", s.Poison, "in_flight", s.InFlight,
			"publish_mean_ms", meanMs, "publish_max_ms", s.PublishMax.Milliseconds())
	}
}
