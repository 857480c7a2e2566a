package app

import (
	"log/slog"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/publish"
	"github.com/ecluse/ecluse/internal/server"
)

// buildWriter wires an npm mount's write path: writes go to the mount's private
// registry (credentialled by its strategy), the public registry is asked only whether
// a published name exists there and for its keys, and PROXY_SIGNING_KEY_FILE's keys
// sign what is published.
func buildWriter(l *Loaded, m LoadedMount, sh shared, log *slog.Logger) server.Writes {
	cfg := l.Config
	public, private := mountUpstreams(cfg, m, sh, log)
	return publish.New(publish.Options{
		Private:      private,
		Public:       public,
		Internal:     m.Internal.Match,
		Keys:         l.Keys,
		Limits:       npm.PublishLimits{MaxTarballBytes: cfg.MaxTarballBytes},
		MaxReadBytes: cfg.MaxResponseBytes,
		Logger:       log.With("component", "write-path"),
	})
}
