package app

import (
	"context"
	"log/slog"

	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/publish"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/server"
)

// buildWriter wires an npm mount's write path: writes go to the mount's private
// registry (credentialled by its strategy), the public registry is asked only whether
// a published name exists there and for its keys, and PROXY_SIGNING_KEY_FILE's keys
// sign what is published.
func buildWriter(l *Loaded, m LoadedMount, sh shared, g *gate.Gate, log *slog.Logger) server.Writes {
	cfg := l.Config
	public, private := mountUpstreams(cfg, m, sh, log)
	return publish.New(publish.Options{
		Private:      private,
		Public:       public,
		Internal:     m.Internal.Match,
		Keys:         l.Keys,
		Admitted:     admittedBy(g),
		Limits:       npm.PublishLimits{MaxTarballBytes: cfg.MaxTarballBytes},
		MaxReadBytes: cfg.MaxResponseBytes,
		Logger:       log.With("component", "write-path"),
	})
}

// admittedBy answers, from the read path's own decision, where name@version is served
// from and whether it is admitted now.
func admittedBy(g *gate.Gate) func(ctx context.Context, name, version string, cred redact.Secret) (string, bool, error) {
	return func(ctx context.Context, name, version string, cred redact.Secret) (string, bool, error) {
		ex, err := g.Explain(ctx, name, version, cred)
		if err != nil {
			return "", false, err
		}
		for _, v := range ex.Versions {
			if v.Version == version {
				return v.Origin, v.Admitted, nil
			}
		}
		return "", false, nil
	}
}
