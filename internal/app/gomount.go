package app

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/modgate"
	"github.com/ecluse/ecluse/internal/server"
	"github.com/ecluse/ecluse/internal/upstream"
)

// buildGoMount wires a Go modules mount: its upstream clients, its checksum database
// checker and its gate, behind the mount's HTTP handler.
func buildGoMount(l *Loaded, m LoadedMount, sh shared, log *slog.Logger) (http.Handler, error) {
	cfg := l.Config
	public, priv := mountUpstreams(cfg, m, sh, log)
	var private modgate.Source
	if priv != nil {
		private = priv
	}
	checker, err := newSumDBChecker(m, public, sh, cfg.MaxResponseBytes)
	if err != nil {
		return nil, err
	}
	g := modgate.New(modgate.Options{
		Mount:              m.Name,
		Private:            private,
		Public:             public,
		Internal:           m.Internal.Match,
		Policy:             m.Policy,
		Advisories:         sh.advisories,
		SumDB:              checker,
		SumDBName:          checker.Name(),
		CacheTTL:           cfg.CacheTTL,
		CacheMaxBytes:      cfg.CacheMaxBytes,
		SharedPrivateCache: m.CredentialStrategy == config.StrategyService,
		MaxZipBytes:        cfg.MaxTarballBytes,
		Budget:             sh.budget,
		Spool:              sh.spool,
		Logger:             log,
	})
	return server.NewGoModules(g, server.GoModulesOptions{AuthToken: cfg.AuthToken, HelpMessage: cfg.HelpMessage}), nil
}

// newSumDBChecker builds the checker of a go mount's checksum database, read through
// the public upstream's /sumdb/<name>/ path unless the mount names another URL.
func newSumDBChecker(m LoadedMount, public *upstream.Client, sh shared, maxBytes int64) (*gomod.Checker, error) {
	probe, err := gomod.NewChecker(gomod.CheckerOptions{VerifierKey: m.SumDBKey, Fetcher: modgate.NewSumDBFetcher(public, "")})
	if err != nil {
		return nil, fmt.Errorf("checksum database: %w", err)
	}
	fetcher := modgate.NewSumDBFetcher(public, "/sumdb/"+probe.Name())
	if u := m.ChecksumDatabase.URL; u != nil {
		db := upstream.New(upstream.Options{Origin: gate.SourcePublic, Base: u, HTTP: sh.guard.Client(), MaxBytes: maxBytes, Anonymous: true})
		fetcher = modgate.NewSumDBFetcher(db, "")
	}
	return gomod.NewChecker(gomod.CheckerOptions{VerifierKey: m.SumDBKey, Fetcher: fetcher})
}

// mountUpstreams builds a mount's upstream clients: the public one through the egress
// guard and anonymous, the private one (nil when the mount has none) trusted and
// credentialled by the mount's strategy.
func mountUpstreams(cfg *config.Config, m LoadedMount, sh shared, log *slog.Logger) (public, private *upstream.Client) {
	public = upstream.New(upstream.Options{
		Origin:    gate.SourcePublic,
		Base:      m.PublicUpstream,
		HTTP:      sh.guard.Client(),
		MaxBytes:  cfg.MaxResponseBytes,
		Anonymous: true,
	})
	if m.PrivateUpstream != nil {
		private = upstream.New(upstream.Options{
			Origin:       gate.SourcePrivate,
			Base:         m.PrivateUpstream,
			HTTP:         egress.NewTrusted(m.PrivateUpstream, egress.TrustedOptions{Logger: log}),
			MaxBytes:     cfg.MaxResponseBytes,
			ServiceToken: serviceToken(cfg, m.CredentialStrategy),
		})
	}
	return public, private
}
