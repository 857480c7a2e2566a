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

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/server"
	"github.com/ecluse/ecluse/internal/upstream"
)

// Run serves until ctx is cancelled (SIGTERM or SIGINT in production), then stops
// accepting, lets in-flight requests finish within the configured grace, and returns.
// A nil error means a clean shutdown.
func Run(ctx context.Context, l *Loaded, log *slog.Logger, version string) error {
	cfg := l.Config
	bootWarnings(l, log)

	memLimit := setMemoryLimit(cfg, os.LookupEnv, log)
	front, err := buildFront(l, log)
	if err != nil {
		return err
	}
	health := front.Health()
	hs := front.HTTPServer(cfg.Addr())
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", hs.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", hs.Addr, err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	health.SetReady(true)
	log.Info("ecluse serving", "addr", ln.Addr().String(), "version", version,
		"private_upstream", cfg.PrivateUpstream.Redacted(), "public_upstream", cfg.PublicUpstream.Redacted(),
		"credential_strategy", cfg.CredentialStrategy, "min_public_integrity", l.Policy.Floor(),
		"memory_limit_bytes", memLimit)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	health.SetReady(false)
	log.Info("shutting down", "grace_seconds", cfg.ShutdownGrace.Seconds())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("shutdown: in-flight requests did not finish within %s: %w", cfg.ShutdownGrace, err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// buildFront builds the whole request path from a loaded configuration: the egress
// guard, the upstream clients, the gate and the front door. Its probes start not ready.
func buildFront(l *Loaded, log *slog.Logger) (*server.Server, error) {
	cfg := l.Config
	g, err := buildGate(l, log)
	if err != nil {
		return nil, err
	}
	serveNPM, explain := server.NPMHandlers(g, cfg.AuthToken)
	return server.New(server.Options{
		Logger:         log,
		AuthToken:      cfg.AuthToken,
		IdentityHeader: cfg.IdentityHeader,
		HelpMessage:    cfg.HelpMessage,
		Health:         &server.Health{},
		NPM:            serveNPM,
		Explain:        explain,
	}), nil
}

// buildGate wires the egress guard, the two upstream clients and the gate.
func buildGate(l *Loaded, log *slog.Logger) (*gate.Gate, error) {
	cfg := l.Config
	guard, err := egress.New(egressOptions(cfg, log))
	if err != nil {
		return nil, fmt.Errorf("egress guard: %w", err)
	}
	trusted := egress.NewTrusted(cfg.PrivateUpstream, egress.TrustedOptions{Logger: log})
	private := upstream.New(upstream.Options{
		Origin:       gate.SourcePrivate,
		Base:         cfg.PrivateUpstream,
		HTTP:         trusted,
		MaxBytes:     cfg.MaxResponseBytes,
		ServiceToken: serviceToken(cfg),
	})
	// Under passthrough, Écluse's own credential (when given) only confirms a private
	// 404 before the public side is asked: a registry may hide a name from a caller.
	var probe gate.Prober
	if cfg.CredentialStrategy == config.StrategyPassthrough && cfg.PrivateUpstreamToken.IsSet() {
		probe = upstream.New(upstream.Options{
			Origin:       gate.SourcePrivate,
			Base:         cfg.PrivateUpstream,
			HTTP:         trusted,
			MaxBytes:     cfg.MaxResponseBytes,
			ServiceToken: cfg.PrivateUpstreamToken,
		})
	}
	public := upstream.New(upstream.Options{
		Origin:    gate.SourcePublic,
		Base:      cfg.PublicUpstream,
		HTTP:      guard.Client(),
		MaxBytes:  cfg.MaxResponseBytes,
		Anonymous: true,
	})
	return gate.New(gate.Options{
		Private:         private,
		Public:          public,
		Policy:          l.Policy,
		Internal:        cfg.Internal,
		PublicURL:       cfg.PublicURL,
		Limits:          npm.Limits{MaxBytes: cfg.MaxResponseBytes, MaxVersions: cfg.MaxVersionCount, MaxDistTags: cfg.MaxDistTagCount, MaxDepth: cfg.MaxNestingDepth},
		CacheTTL:        cfg.CacheTTL,
		CacheMaxBytes:   cfg.CacheMaxBytes,
		Budget:          budget.New(cfg.MaxInflightBytes, 0),
		MaxTarballBytes: cfg.MaxTarballBytes,
		CredentialKeyed: cfg.CredentialStrategy == config.StrategyPassthrough,
		PrivateProbe:    probe,
		RevalidateAfter: cfg.PrivateRevalidateAfter,
		NoMirrorLookup:  cfg.MirrorDetection == config.MirrorDetectionOff,
		CheckTarball:    guard.CheckTarballURL,
		TarballManifest: tarballChecks(cfg.TarballManifest),
		Mirror:          nil, // the asynchronous mirror is not built yet: no jobs are made
		Logger:          log,
	}), nil
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

func serviceToken(cfg *config.Config) redact.Secret {
	if cfg.CredentialStrategy == config.StrategyService {
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
	log.Warn("the asynchronous mirror is not built in this release: approved public packages are served but not copied to the mirror target",
		"mirror_target", cfg.Mirror.TargetURL.Redacted())
	if cfg.Telemetry {
		log.Warn("PROXY_TELEMETRY=on: OpenTelemetry export is not built in this release; nothing is exported")
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
	expired, soon := l.Policy.Expiring(time.Now(), exceptionWarningWindow)
	for _, x := range expired {
		log.Warn("policy exception has expired and no longer applies", "rule", x.Rule, "pattern", x.Pattern, "expires", x.ExpiresText, "reason", x.Reason)
	}
	for _, x := range soon {
		log.Warn("policy exception expires within 14 days", "rule", x.Rule, "pattern", x.Pattern, "expires", x.ExpiresText, "reason", x.Reason)
	}
}
