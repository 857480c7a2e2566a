package advisory

// This file keeps the index fresh: the Syncer reads every source in rounds and swaps
// a new Snapshot in when a round succeeds and something changed.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecluse/ecluse/internal/instrument"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Defaults applied to zero-valued fields of SyncOptions.
const (
	DefaultSyncInterval     = time.Hour
	DefaultMinBackoff       = 30 * time.Second
	DefaultMaxBackoffCap    = 15 * time.Minute
	DefaultMaxDownloadBytes = 1 << 30
	// MinRoundTimeout is the least time a round is given before it is abandoned (and
	// fails): a stalled download must not stop every later round.
	MinRoundTimeout = 30 * time.Minute
)

// SyncOptions configures a Syncer.
type SyncOptions struct {
	// Sources are the entries of CVE_SOURCE_URL: each an https URL of an OSV export
	// zip, or a local path (absolute or relative to the working directory) of an
	// export zip or of a directory tree of OSV JSON files. Surrounding spaces are
	// trimmed. An http URL, any other scheme, userinfo in a URL or an empty entry is
	// refused by NewSyncer. Required: nil or empty is an error.
	Sources []string
	// Ecosystems are the ecosystems kept (EcosystemNPM, ...), passed to ReadZip and
	// ReadDir. Required: nil or empty is an error.
	Ecosystems []string
	// Client fetches the URL sources: the egress-guarded client, which owns redirects
	// and the address checks. The Syncer adds no credentials and no header besides
	// If-None-Match, If-Modified-Since and User-Agent "ecluse". Nil is an error when
	// any source is a URL, and unused otherwise.
	Client *http.Client
	// Interval is the wait after a successful round before the next. It also bounds
	// one round: a round still running after the larger of Interval and
	// MinRoundTimeout is abandoned and fails. Zero means DefaultSyncInterval (1h).
	Interval time.Duration
	// MinBackoff is the wait after a first failed round; it doubles with each
	// consecutive failure up to MaxBackoff. Zero means DefaultMinBackoff (30s).
	MinBackoff time.Duration
	// MaxBackoff caps the wait after failed rounds. Zero means the smaller of
	// Interval and DefaultMaxBackoffCap (15m).
	MaxBackoff time.Duration
	// MaxDownloadBytes bounds one URL source's download: a larger Content-Length is
	// refused before the body is read, and a body running past it is cut and fails.
	// Zero means DefaultMaxDownloadBytes (1 GiB).
	MaxDownloadBytes int64
	// SpoolDir is where downloads are written, one temporary file per source and
	// round, removed once read. Empty means os.TempDir().
	SpoolDir string
	// Limits bound what one source may make the index hold; passed to ReadZip and
	// ReadDir. The zero value means their defaults.
	Limits Limits
	// Logger receives the sync's log lines. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Syncer keeps an advisory index fresh from its sources. Its methods are safe for
// concurrent use; rounds (Sync, and those Run starts) run one at a time.
type Syncer struct {
	opts    SyncOptions
	sources []*syncSource
	// roundTimeout bounds one round.
	roundTimeout time.Duration
	log          *slog.Logger
	now          func() time.Time

	snap atomic.Pointer[Snapshot]

	// round serialises rounds; it guards states.
	round sync.Mutex
	// states is each source's state as of the last good round (nil before one).
	states []*syncState

	// mu guards status.
	mu     sync.Mutex
	status Status
}

// Status reports the Syncer's state, for probes, metrics and check-config.
type Status struct {
	// Loaded is true once a snapshot exists. Generation, Records and Built describe
	// it; they are zero while Loaded is false.
	Loaded     bool
	Generation uint64
	Records    int
	Built      time.Time
	// LastAttempt is when the last round started, LastSuccess when the last round
	// that succeeded (changed or not) ended. Zero before the first.
	LastAttempt, LastSuccess time.Time
	// LastError is the last round's error; empty after a success or before a round.
	LastError string
	// Rounds counts the rounds attempted since boot, Failures those that failed, and
	// Unchanged those that succeeded with every source unchanged (no new snapshot).
	// A round cut short by its context's end counts in Rounds only.
	Rounds, Failures, Unchanged uint64
	// ConsecutiveFailures counts the failed rounds since the last success.
	ConsecutiveFailures int
	// Sources is one entry per SyncOptions.Sources entry, in that order.
	Sources []SourceStatus
}

// SourceStatus is one source's part of Status. Its Records, ETag, LastModified and
// Fetched describe what the current snapshot was built from.
type SourceStatus struct {
	// Source names the source: a URL without userinfo, query or fragment, or the path.
	Source string
	// Local is true for a local path, false for a URL.
	Local bool
	// Records is the number of records the source contributed; zero before the
	// first good round.
	Records int
	// ETag and LastModified are the validators of the source's last good download,
	// sent back to make the next one conditional. Empty for a local source, before a
	// good round, or when the server sent none (or an unusable one).
	ETag, LastModified string
	// Fetched is when the source's records were last read (downloaded or read from
	// disk); an unchanged answer does not move it. Zero before the first good round.
	Fetched time.Time
	// LastError is the source's error in the last round; empty when it succeeded
	// there or was not reached.
	LastError string
}

// Age is how old the current snapshot is at now: now − Built, never negative. Zero
// when no snapshot is loaded.
func (st Status) Age(now time.Time) time.Duration {
	if !st.Loaded {
		return 0
	}
	return max(now.Sub(st.Built), 0)
}

// NewSyncer checks opts and returns a Syncer holding no snapshot yet. Every problem
// is reported, each naming the entry at fault (URLs without their credentials or
// query).
func NewSyncer(opts SyncOptions) (*Syncer, error) {
	var errs []error
	if len(opts.Sources) == 0 {
		errs = append(errs, errors.New("advisory sync: no source given"))
	}
	sources := make([]*syncSource, 0, len(opts.Sources))
	anyURL := false
	for i, entry := range opts.Sources {
		src, err := parseSourceEntry(entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("advisory source %d: %w", i+1, err))
			continue
		}
		anyURL = anyURL || !src.local()
		sources = append(sources, src)
	}
	if len(opts.Ecosystems) == 0 {
		errs = append(errs, errors.New("advisory sync: no ecosystem given"))
	}
	if anyURL && opts.Client == nil {
		errs = append(errs, errors.New("advisory sync: a URL source needs an HTTP client"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", opts.Interval}, {"minimum backoff", opts.MinBackoff}, {"maximum backoff", opts.MaxBackoff}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("advisory sync: negative %s %s", d.name, d.v))
		}
	}
	if opts.MaxDownloadBytes < 0 {
		errs = append(errs, fmt.Errorf("advisory sync: negative download limit %d", opts.MaxDownloadBytes))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	if opts.Interval == 0 {
		opts.Interval = DefaultSyncInterval
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = min(opts.Interval, DefaultMaxBackoffCap)
	}
	if opts.MaxDownloadBytes == 0 {
		opts.MaxDownloadBytes = DefaultMaxDownloadBytes
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = os.TempDir()
	}
	opts.Sources = append([]string(nil), opts.Sources...)
	opts.Ecosystems = append([]string(nil), opts.Ecosystems...)
	s := &Syncer{
		opts:    opts,
		sources: sources,
		log:     opts.Logger,
		now:     opts.Now,
		states:  make([]*syncState, len(sources)),

		roundTimeout: max(opts.Interval, MinRoundTimeout),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.status.Sources = make([]SourceStatus, len(sources))
	for i, src := range sources {
		s.status.Sources[i] = SourceStatus{Source: src.name, Local: src.local()}
	}
	return s, nil
}

// Snapshot returns the current index: nil until a round has succeeded. It never
// blocks.
func (s *Syncer) Snapshot() *Snapshot { return s.snap.Load() }

// Status returns a copy of the Syncer's state.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	st := s.status
	st.Sources = append([]SourceStatus(nil), s.status.Sources...)
	s.mu.Unlock()
	if snap := s.snap.Load(); snap != nil {
		st.Loaded, st.Generation, st.Records, st.Built = true, snap.Generation(), snap.Records(), snap.Built()
	}
	return st
}

// Run syncs at once, then again Interval after each successful round, or after the
// backoff (MinBackoff doubling up to MaxBackoff) after a failed one. It is meant to run
// in the background: nothing waits for its first round. It returns nil when ctx ends,
// also in the middle of a round, and leaves no goroutine behind.
func (s *Syncer) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		delay := s.opts.Interval
		if err := s.Sync(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			delay = s.backoff(s.Status().ConsecutiveFailures)
		}
		timer.Reset(delay)
	}
}

// backoff is the wait after the given number of consecutive failed rounds.
func (s *Syncer) backoff(failures int) time.Duration {
	d := s.opts.MinBackoff
	for i := 1; i < failures && d < s.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.opts.MaxBackoff)
}

// Sync runs one round over every source. When every source succeeds and one changed
// (or no snapshot exists yet) it merges them into a snapshot of the next generation
// and swaps it in. When any source fails, the round fails as a whole: the current
// snapshot and the sources' states from the last good round stay, and the error
// names each failed source. A round cut short because ctx ended is not counted as
// failed; one that outlasts its time bound (see SyncOptions.Interval) is.
func (s *Syncer) Sync(ctx context.Context) error {
	s.round.Lock()
	defer s.round.Unlock()
	ctx, span := startSync(ctx)
	parent := ctx
	ctx, cancel := context.WithTimeoutCause(ctx, s.roundTimeout,
		fmt.Errorf("advisory sync round took longer than %s: %w", s.roundTimeout, context.DeadlineExceeded))
	defer cancel()

	start := s.now()
	s.mu.Lock()
	s.status.Rounds++
	s.status.LastAttempt = start
	s.mu.Unlock()

	next := make([]*syncState, len(s.sources))
	srcErrs := make([]string, len(s.sources))
	var errs []error
	changed := 0
	for i, src := range s.sources {
		if ctx.Err() != nil {
			errs = append(errs, context.Cause(ctx))
			break
		}
		st, unchanged, err := s.fetch(ctx, src, s.states[i])
		if err != nil {
			if ctx.Err() != nil && parent.Err() == nil {
				err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
			}
			err = fmt.Errorf("advisory source %s: %w", src.name, err)
			srcErrs[i] = err.Error()
			errs = append(errs, err)
			continue
		}
		if !unchanged {
			changed++
		}
		next[i] = st
	}

	if len(errs) > 0 {
		err := errors.Join(errs...)
		if parent.Err() != nil {
			// Stopped, not failed: nothing to count or report.
			s.log.Debug("advisory sync cancelled", "error", err)
			span.end(parent, syncCancelled, s.snap.Load(), err)
			return err
		}
		s.mu.Lock()
		s.status.Failures++
		s.status.ConsecutiveFailures++
		s.status.LastError = err.Error()
		for i := range s.status.Sources {
			s.status.Sources[i].LastError = srcErrs[i]
		}
		failures := s.status.ConsecutiveFailures
		s.mu.Unlock()
		attrs := []any{
			"error", err,
			"consecutive_failures", failures,
			"retry_in_ms", s.backoff(failures).Milliseconds(),
			"loaded", false,
		}
		if cur := s.snap.Load(); cur != nil {
			attrs[len(attrs)-1] = true
			attrs = append(attrs, "generation", cur.Generation(), "index_age_ms", s.now().Sub(cur.Built()).Milliseconds())
		}
		s.log.Warn("advisory sync failed", attrs...)
		span.end(parent, syncFailed, s.snap.Load(), err)
		return err
	}

	prev := s.snap.Load()
	s.states = next
	end := s.now()
	if changed == 0 && prev != nil {
		s.recordSuccess(end, true)
		s.log.Debug("advisory index unchanged", "generation", prev.Generation(), "records", prev.Records())
		span.end(parent, syncUnchanged, prev, nil)
		return nil
	}

	sets := make([]*Set, len(next))
	for i, st := range next {
		sets[i] = st.set
	}
	var gen uint64 = 1
	if prev != nil {
		gen = prev.Generation() + 1
	}
	snap := Merge(gen, end, sets...)
	s.snap.Store(snap)
	s.recordSuccess(end, false)
	attrs := []any{
		"generation", snap.Generation(),
		"records", snap.Records(),
		"sources", len(s.sources),
		"changed_sources", changed,
		"took_ms", s.now().Sub(start).Milliseconds(),
	}
	if prev != nil {
		attrs = append(attrs, "previous_age_ms", end.Sub(prev.Built()).Milliseconds())
	}
	s.log.Info("advisory index loaded", attrs...)
	span.end(parent, syncLoaded, snap, nil)
	return nil
}

// recordSuccess updates the status after a good round; s.round is held.
func (s *Syncer) recordSuccess(at time.Time, unchanged bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.LastSuccess = at
	s.status.LastError = ""
	s.status.ConsecutiveFailures = 0
	if unchanged {
		s.status.Unchanged++
	}
	for i, st := range s.states {
		s.status.Sources[i] = SourceStatus{
			Source:       s.sources[i].name,
			Local:        s.sources[i].local(),
			Records:      st.set.Len(),
			ETag:         st.etag,
			LastModified: st.lastModified,
			Fetched:      st.fetched,
		}
	}
}

// The sync's telemetry, through the OpenTelemetry API's global providers: an
// "advisory.sync" span per round and the ecluse.advisory.syncs counter by how each
// ended. (The index's age is a gauge the composition root registers from Status.)

const scope = "github.com/ecluse/ecluse/internal/advisory"

// Attribute keys.
const (
	keyGeneration = attribute.Key("ecluse.advisory.generation")
	keyRecords    = attribute.Key("ecluse.advisory.records")
	keyUnchanged  = attribute.Key("ecluse.advisory.unchanged")
	keyOutcome    = attribute.Key("ecluse.outcome")
	spanSync      = "advisory.sync"
)

// syncResult is how a round ended, a closed set for ecluse.advisory.syncs.
type syncResult uint8

const (
	syncLoaded    syncResult = iota // a new snapshot was swapped in
	syncUnchanged                   // every source unchanged: no new snapshot
	syncFailed                      // a source failed, or the round ran out of time
	syncCancelled                   // stopped because its context ended: not counted
	numSyncResults
)

func (r syncResult) String() string {
	switch r {
	case syncLoaded:
		return "loaded"
	case syncUnchanged:
		return "unchanged"
	case syncFailed:
		return "failed"
	}
	return "cancelled"
}

// telemetry is the package's tracer and instruments, made from the global providers.
type telemetry struct {
	tracer trace.Tracer
	syncs  metric.Int64Counter
}

var instruments = instrument.Bind(func(p instrument.Providers) *telemetry {
	return &telemetry{
		tracer: p.Tracer.Tracer(scope),
		syncs: instrument.Counter(p.Meter.Meter(scope), "ecluse.advisory.syncs", "{round}",
			"Advisory sync rounds by how they ended: loaded, unchanged or failed."),
	}
})

// tel returns the tracer and instruments of the global providers installed now.
func tel() *telemetry { return instruments.Get() }

// syncOptions are ecluse.advisory.syncs' attribute sets, by result.
var syncOptions = func() (o [numSyncResults][]metric.AddOption) {
	for r := range numSyncResults {
		o[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(keyOutcome.String(r.String())))}
	}
	return o
}()

// syncSpan is one round being observed.
type syncSpan struct {
	t    *telemetry
	span trace.Span
}

// startSync starts a round's "advisory.sync" span.
func startSync(ctx context.Context) (context.Context, syncSpan) {
	t := tel()
	ctx, span := t.tracer.Start(ctx, spanSync)
	return ctx, syncSpan{t: t, span: span}
}

// end records how the round ended: the snapshot current after it (nil when none) and
// the round's error, and ends the span.
func (s syncSpan) end(ctx context.Context, r syncResult, snap *Snapshot, err error) {
	if s.span.IsRecording() {
		attrs := []attribute.KeyValue{keyOutcome.String(r.String())}
		if r != syncCancelled && r != syncFailed {
			attrs = append(attrs, keyUnchanged.Bool(r == syncUnchanged))
		}
		if snap != nil {
			attrs = append(attrs, keyGeneration.Int64(int64(snap.Generation())), keyRecords.Int(snap.Records()))
		}
		s.span.SetAttributes(attrs...)
		if r == syncFailed && err != nil {
			s.span.SetStatus(codes.Error, err.Error())
		}
	}
	s.span.End()
	if r != syncCancelled {
		s.t.syncs.Add(ctx, 1, syncOptions[r]...)
	}
}
