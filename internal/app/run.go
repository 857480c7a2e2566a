package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/mirror"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/observe"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/publish"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/server"
	"github.com/ecluse/ecluse/internal/upstream"
)

// Run serves until ctx is cancelled (SIGTERM or SIGINT in production), then stops
// accepting, lets in-flight requests finish within the configured grace, and returns.
// A nil error means a clean shutdown. Every long-running part runs in one group that
// stops them in order (see group).
func Run(ctx context.Context, l *Loaded, log *slog.Logger, version string) error {
	cfg := l.Config
	bootWarnings(l, log)

	memLimit := setMemoryLimit(cfg, os.LookupEnv, log)
	tel, err := observe.StartTelemetry(observe.TelemetryOptions{
		Enabled:    cfg.Telemetry,
		Prometheus: cfg.Metrics == config.MetricsPrometheus,
		Identity:   observe.ResolveIdentity(os.LookupEnv, version),
		Logger:     log,
	})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	// Flushed last, after everything that records has stopped, with its own deadline.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), telemetryFlush)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("telemetry flush at shutdown failed", "error", err.Error())
		}
	}()
	built, err := buildFront(ctx, l, log)
	if err != nil {
		return err
	}
	if err := registerGauges(tel, built); err != nil {
		_ = built.mirror.queue.Close()
		return fmt.Errorf("telemetry gauges: %w", err)
	}
	front := built.server
	health := front.Health()
	hs := front.HTTPServer(cfg.Addr())
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", hs.Addr)
	if err != nil {
		_ = built.mirror.queue.Close()
		return fmt.Errorf("listen on %s: %w", hs.Addr, err)
	}
	// Stopped in reverse: the listener drains first (its requests enqueue jobs), then
	// the worker finishes or gives back what it holds, then the queue closes.
	g := &group{log: log}
	g.add("mirror-queue", func(ctx context.Context) error {
		<-ctx.Done()
		return built.mirror.queue.Close()
	})
	g.add("mirror-worker", built.worker.Run)
	// The first sync starts now and readiness does not wait for it: until it loads,
	// the advisory rules fail closed (or abstain, as set) and npm audit answers 503.
	g.add("advisory-sync", built.advisories.Run)
	g.add("mirror-stats", func(ctx context.Context) error {
		return logMirrorStats(ctx, built.mirror.queue, built.mirror.enq, built.worker, mirrorStatsEvery, log.With("component", "mirror"))
	})
	health.AddLiveness("mirror-worker", built.worker.Live)
	if h := tel.MetricsHandler(); h != nil {
		mln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.MetricsAddr())
		if err != nil {
			_ = ln.Close()
			_ = built.mirror.queue.Close()
			return fmt.Errorf("listen on %s for /metrics (PROXY_METRICS_PORT): %w", cfg.MetricsAddr(), err)
		}
		g.add("metrics-listener", func(ctx context.Context) error { return serveMetrics(ctx, mln, h) })
		log.Info("prometheus metrics served", "addr", mln.Addr().String(), "path", "/metrics")
	}
	g.add("listener", func(ctx context.Context) error {
		return serveHTTP(ctx, hs, ln, health, cfg.ShutdownGrace, log)
	})
	mounts := make([]string, 0, len(l.Mounts))
	for _, m := range l.Mounts {
		mounts = append(mounts, m.Ecosystem+" "+m.Path)
	}
	log.Info("ecluse serving", "addr", ln.Addr().String(), "version", version, "mounts", mounts,
		"private_upstream", cfg.PrivateUpstream.Redacted(), "public_upstream", cfg.PublicUpstream.Redacted(),
		"credential_strategy", cfg.CredentialStrategy, "min_public_integrity", l.Policy.Floor(),
		"memory_limit_bytes", memLimit)
	if err := g.run(ctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// serveHTTP serves hs on ln until ctx ends, then turns readiness off and shuts the
// server down, letting in-flight requests finish within grace.
func serveHTTP(ctx context.Context, hs *http.Server, ln net.Listener, health *server.Health, grace time.Duration, log *slog.Logger) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	health.SetReady(true)
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	health.SetReady(false)
	log.Info("shutting down", "grace_seconds", grace.Seconds())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("shutdown: in-flight requests did not finish within %s: %w", grace, err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// shared are the parts every mount uses: one egress guard for every untrusted origin
// and one memory budget for every upstream document.
type shared struct {
	guard  *egress.Guard
	budget *budget.Budget
	// spool bounds the disk public Go module zips take while they are verified.
	spool *budget.Budget
	// mirror is where npm mounts send their mirror jobs, and collects their public
	// upstreams for the worker.
	mirror *mirrorParts
	// advisories is the advisory index every mount decides with.
	advisories *advisory.Syncer
}

// built is everything buildFront makes: the front door, and the mirror behind it.
type built struct {
	server     *server.Server
	mirror     *mirrorParts
	worker     *mirror.Worker
	advisories *advisory.Syncer
	// budget is the in-flight memory budget every mount shares; gates are the npm
	// mounts' gates. Both are read by the telemetry gauges.
	budget *budget.Budget
	gates  []*gate.Gate
}

// buildFront builds the whole request path from a loaded configuration: the egress
// guard, the mirror queue, then for each mount its upstream clients and gate, then the
// front door that dispatches to the mounts, and the mirror worker. Its probes start not
// ready. The caller runs the worker and closes the queue.
func buildFront(ctx context.Context, l *Loaded, log *slog.Logger) (*built, error) {
	cfg := l.Config
	guard, err := egress.New(egressOptions(cfg, log))
	if err != nil {
		return nil, fmt.Errorf("egress guard: %w", err)
	}
	q, err := openQueue(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("mirror queue (MIRROR_QUEUE_PROVIDER=%s): %w", cfg.Mirror.QueueProvider, err)
	}
	mp := &mirrorParts{queue: q, enq: mirror.NewEnqueuer(q, mirror.EnqueuerOptions{Logger: log.With("component", "mirror-enqueuer")})}
	adv, err := newAdvisories(l, guard, log.With("component", "advisory"))
	if err != nil {
		_ = q.Close()
		return nil, err
	}
	sh := shared{guard: guard, budget: budget.New(cfg.MaxInflightBytes, 0), spool: budget.New(cfg.MaxSpoolBytes, 0), mirror: mp, advisories: adv}
	var mounts []server.Mount
	var gates []*gate.Gate
	signingState := map[string]func() SigningDetail{}
	for _, m := range l.Mounts {
		mlog := log.With("mount", m.Name)
		switch m.Ecosystem {
		case config.EcosystemGo:
			h, err := buildGoMount(l, m, sh, mlog)
			if err != nil {
				_ = q.Close()
				return nil, fmt.Errorf("mounts.%s: %w", m.Name, err)
			}
			mounts = append(mounts, server.Mount{Name: m.Name, Path: m.Path, Handler: h})
		case config.EcosystemPyPI:
			mounts = append(mounts, server.Mount{Name: m.Name, Path: m.Path, Handler: buildPyPIMount(l, m, sh, mlog)})
		default:
			// One cache of the public registry's signing keys serves the keys endpoint
			// and the read path's signature checks.
			public, private := mountUpstreams(cfg, m, sh, mlog)
			keys := publish.NewRegistryKeys(public, nil, mlog.With("component", "signing-keys"))
			if m.Signing != config.SigningOff {
				signingState[m.Name] = signingDetail(l, m, keys)
			}
			g := buildGate(l, m, sh, keys, mlog)
			gates = append(gates, g)
			serveNPM, explain := server.NPMHandlers(g, cfg.AuthToken)
			mounts = append(mounts, server.Mount{Name: m.Name, Path: m.Path, NPM: serveNPM, Explain: explain, Audit: server.AuditHandler(adv),
				Writes: buildWriter(l, m, public, private, keys, g, mlog)})
		}
	}
	srv := server.New(server.Options{
		Logger:         log,
		AuthToken:      cfg.AuthToken,
		IdentityHeader: cfg.IdentityHeader,
		HelpMessage:    cfg.HelpMessage,
		Health:         &server.Health{},
		Mounts:         mounts,
	})
	srv.Health().AddDetail("advisories", func() any { return advisoryDetail(adv.Status(), time.Now()) })
	if len(signingState) > 0 {
		srv.Health().AddDetail("signing", func() any {
			out := make(map[string]SigningDetail, len(signingState))
			for name, st := range signingState {
				out[name] = st()
			}
			return out
		})
	}
	w, err := newWorker(ctx, cfg, mp, log)
	if err != nil {
		_ = q.Close()
		return nil, err
	}
	return &built{server: srv, mirror: mp, worker: w, advisories: adv, budget: sh.budget, gates: gates}, nil
}

// buildGate wires an npm mount: its two upstream clients and its gate.
func buildGate(l *Loaded, m LoadedMount, sh shared, keys *publish.RegistryKeys, log *slog.Logger) *gate.Gate {
	cfg := l.Config
	trusted := egress.NewTrusted(m.PrivateUpstream, egress.TrustedOptions{Logger: log})
	private := upstream.New(upstream.Options{
		Origin:       gate.SourcePrivate,
		Base:         m.PrivateUpstream,
		HTTP:         trusted,
		MaxBytes:     cfg.MaxResponseBytes,
		ServiceToken: serviceToken(cfg, m.CredentialStrategy),
	})
	// Under passthrough, Écluse's own credential (when given) only confirms a private
	// 404 before the public side is asked: a registry may hide a name from a caller.
	var probe gate.Prober
	if m.CredentialStrategy == config.StrategyPassthrough && cfg.PrivateUpstreamToken.IsSet() {
		probe = upstream.New(upstream.Options{
			Origin:       gate.SourcePrivate,
			Base:         m.PrivateUpstream,
			HTTP:         trusted,
			MaxBytes:     cfg.MaxResponseBytes,
			ServiceToken: cfg.PrivateUpstreamToken,
		})
	}
	public := upstream.New(upstream.Options{
		Origin:    gate.SourcePublic,
		Base:      m.PublicUpstream,
		HTTP:      sh.guard.Client(),
		MaxBytes:  cfg.MaxResponseBytes,
		Anonymous: true,
	})
	var jobs gate.Enqueuer
	if sh.mirror != nil {
		sh.mirror.origins = append(sh.mirror.origins, public)
		jobs = gateMirror{enq: sh.mirror.enq, mount: m.Name}
	}
	return gate.New(gate.Options{
		Private:         private,
		Public:          public,
		Policy:          m.Policy,
		Internal:        m.Internal,
		PublicURL:       cfg.PublicURL,
		MountPath:       m.Path,
		MountName:       m.Name,
		PublicBase:      m.PublicUpstream,
		Limits:          npm.Limits{MaxBytes: cfg.MaxResponseBytes, MaxVersions: cfg.MaxVersionCount, MaxDistTags: cfg.MaxDistTagCount, MaxDepth: cfg.MaxNestingDepth},
		CacheTTL:        cfg.CacheTTL,
		CacheMaxBytes:   cfg.CacheMaxBytes,
		Budget:          sh.budget,
		MaxTarballBytes: cfg.MaxTarballBytes,
		CredentialKeyed: m.CredentialStrategy == config.StrategyPassthrough,
		PrivateProbe:    probe,
		RevalidateAfter: cfg.PrivateRevalidateAfter,
		NoMirrorLookup:  cfg.MirrorDetection == config.MirrorDetectionOff,
		CheckTarball:    sh.guard.CheckTarballURL,
		TarballManifest: tarballChecks(cfg.TarballManifest),
		Mirror:          jobs,
		Advisories:      sh.advisories,
		Signing:         signingOptions(l, m, keys),
		Logger:          log,
	})
}

// tarballChecks turns the tarballManifest setting into the gate's checks: every public
// tarball's own package.json is read as it streams.
func tarballChecks(s config.TarballManifest) *gate.ManifestChecks {
	action := func(v string) gate.MismatchAction {
		if v == config.ManifestWarn {
			return gate.MismatchWarn
		}
		return gate.MismatchRefuse
	}
	return &gate.ManifestChecks{Scripts: action(s.Scripts), Dependencies: action(s.Dependencies)}
}

func serviceToken(cfg *config.Config, strategy string) redact.Secret {
	if strategy == config.StrategyService {
		return cfg.PrivateUpstreamToken
	}
	return redact.Secret{}
}

// bootWarnings logs the configuration choices an operator should know about.
func bootWarnings(l *Loaded, log *slog.Logger) {
	cfg := l.Config
	if cfg.Mirror.QueueProvider == config.QueueMemory {
		log.Warn("MIRROR_QUEUE_PROVIDER=memory: the mirror queue is in-process, bounded and not durable; jobs are lost on restart (choose sqs for a durable queue)",
			"max_depth", cfg.Mirror.MemoryMaxDepth)
	}
	log.Info("approved public packages are mirrored", "mirror_target", cfg.Mirror.TargetURL.Redacted(),
		"queue", cfg.Mirror.QueueProvider, "credential_provider", cfg.Mirror.CredentialProvider, "worker_concurrency", cfg.Mirror.WorkerConcurrency)
	if cfg.Mirror.CredentialProvider == config.CredentialStatic && !cfg.Mirror.Token.IsSet() {
		log.Warn("MIRROR_TARGET_TOKEN is not set: the mirror publishes to the mirror target without a credential, which most registries refuse")
	}
	if cfg.PublicURL == nil {
		log.Warn("PROXY_PUBLIC_URL is not set: served tarball URLs are path-relative, which the npm CLI cannot install from; set it to this proxy's external base URL")
	}
	if len(cfg.EgressAllowInternal) > 0 {
		cidrs := make([]string, len(cfg.EgressAllowInternal))
		for i, p := range cfg.EgressAllowInternal {
			cidrs[i] = p.String()
		}
		log.Warn("PROXY_EGRESS_ALLOW_INTERNAL_CIDRS opens the internal-address block for untrusted fetches to these ranges", "cidrs", cidrs)
	}
	if !cfg.AuthToken.IsSet() {
		log.Info("PROXY_AUTH_TOKEN is not set: the edge is open; restrict who can reach this port at the network layer")
	}
	if cfg.CredentialStrategy == config.StrategyPassthrough {
		if cfg.AuthToken.IsSet() {
			log.Warn("PROXY_AUTH_TOKEN is set with credentialStrategy passthrough: clients' Authorization header carries the edge token, which is never forwarded, so no client credential reaches the private upstream; " +
				"use credentialStrategy service with PRIVATE_UPSTREAM_TOKEN behind the edge token, or leave PROXY_AUTH_TOKEN unset so the private registry authenticates each caller")
		}
		if !cfg.PrivateUpstreamToken.IsSet() {
			log.Warn("PRIVATE_UPSTREAM_TOKEN is not set with credentialStrategy passthrough: a private registry that answers 404 to a caller without access (hiding the name) makes Écluse serve that caller the public package of the same name; " +
				"set PRIVATE_UPSTREAM_TOKEN so Écluse confirms such a 404 with its own credential, or list private names in the internal patterns")
		}
	}
	if cfg.MirrorDetection == config.MirrorDetectionOff {
		log.Info("PROXY_MIRROR_DETECTION=off: the public registry is never asked about a private package; mirrored packages are served with their copied versions only")
	}
	if cfg.PrivateRevalidateAfter > 0 {
		log.Info("PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS is set: a caller the private registry stops serving may still read a cached private document for that long",
			"seconds", int64(cfg.PrivateRevalidateAfter/time.Second))
	}
	if cfg.IdentityHeader != "" {
		log.Warn("trusting a gateway-asserted identity header; this is sound only when Écluse is reachable solely through that gateway", "header", cfg.IdentityHeader)
	}
	// Each distinct policy once, naming the mounts that apply it.
	seen := map[*policy.Policy]bool{}
	for _, m := range l.Mounts {
		for _, note := range mountNotes(m, m.Policy.Effective(time.Now())) {
			log.Info("mount note", "mount", m.Name, "note", note)
		}
		if m.Ecosystem == config.EcosystemGo {
			log.Info("go mount verifies public modules against a checksum database", "mount", m.Name, "key_from", m.SumDBKeyFrom, "key", m.SumDBKey)
		}
		if seen[m.Policy] {
			continue
		}
		seen[m.Policy] = true
		expired, soon := m.Policy.Expiring(time.Now(), exceptionWarningWindow)
		for _, x := range expired {
			log.Warn("policy exception has expired and no longer applies", "policy", m.RulesPath, "rule", x.Rule, "pattern", x.Pattern, "expires", x.ExpiresText, "reason", x.Reason)
		}
		for _, x := range soon {
			log.Warn("policy exception expires within 14 days", "policy", m.RulesPath, "rule", x.Rule, "pattern", x.Pattern, "expires", x.ExpiresText, "reason", x.Reason)
		}
	}
}
