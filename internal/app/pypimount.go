package app

import (
	"log/slog"
	"net/http"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/pypi"
	"github.com/ecluse/ecluse/internal/pypigate"
	"github.com/ecluse/ecluse/internal/server"
)

// buildPyPIMount wires a PyPI mount: its index clients and its gate, behind the
// mount's HTTP handler.
func buildPyPIMount(l *Loaded, m LoadedMount, sh shared, log *slog.Logger) http.Handler {
	cfg := l.Config
	public, priv := mountUpstreams(cfg, m, sh, log)
	var private pypigate.Source
	if priv != nil {
		private = priv // a nil *upstream.Client would be a non-nil interface
	}
	// Internal patterns are matched against normalised names (PEP 503), as the gate
	// sees them.
	internal := func(name string) bool { return m.Internal.Match(pypi.Normalize(name)) } // patterns normalised by Load
	g := pypigate.New(pypigate.Options{
		Mount:              m.Name,
		MountPath:          m.Path,
		PublicURL:          cfg.PublicURL,
		Private:            private,
		Public:             public,
		FilesBase:          m.FilesUpstream,
		Internal:           internal,
		Policy:             m.Policy,
		Advisories:         sh.advisories,
		MaxFileBytes:       cfg.MaxTarballBytes,
		CacheTTL:           cfg.CacheTTL,
		CacheMaxBytes:      cfg.CacheMaxBytes,
		SharedPrivateCache: m.CredentialStrategy == config.StrategyService,
		Budget:             sh.budget,
		Logger:             log,
	})
	return server.NewPyPI(g, server.PyPIOptions{MountPath: m.Path, AuthToken: cfg.AuthToken, HelpMessage: cfg.HelpMessage})
}
