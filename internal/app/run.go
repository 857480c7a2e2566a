package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/server"
)

// Run serves until ctx is cancelled (SIGTERM or SIGINT in production), then stops
// accepting, lets in-flight requests finish within the configured grace, and returns.
// A nil error means a clean shutdown.
func Run(ctx context.Context, l *Loaded, log *slog.Logger, version string) error {
	cfg := l.Config
	bootWarnings(cfg, log)

	health := &server.Health{}
	front := server.New(server.Options{
		Logger:         log,
		AuthToken:      cfg.AuthToken,
		IdentityHeader: cfg.IdentityHeader,
		HelpMessage:    cfg.HelpMessage,
		Health:         health,
	})
	hs := front.HTTPServer(cfg.Addr())
	ln, err := net.Listen("tcp", hs.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", hs.Addr, err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	health.SetReady(true)
	log.Info("ecluse serving", "addr", ln.Addr().String(), "version", version,
		"private_upstream", cfg.PrivateUpstream.Redacted(), "public_upstream", cfg.PublicUpstream.Redacted())

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

// bootWarnings logs the configuration choices an operator should know about.
func bootWarnings(cfg *config.Config, log *slog.Logger) {
	if cfg.Mirror.QueueProvider == config.QueueMemory {
		log.Warn("MIRROR_QUEUE_PROVIDER=memory: the mirror queue is in-process, bounded and not durable; jobs are lost on restart (choose sqs for a durable queue)",
			"max_depth", cfg.Mirror.MemoryMaxDepth)
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
	if cfg.IdentityHeader != "" {
		log.Warn("trusting a gateway-asserted identity header; this is sound only when Écluse is reachable solely through that gateway", "header", cfg.IdentityHeader)
	}
}
