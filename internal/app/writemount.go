package app

import (
	"context"
	"log/slog"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/publish"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/server"
	"github.com/ecluse/ecluse/internal/signing"
	"github.com/ecluse/ecluse/internal/upstream"
)

// buildWriter wires an npm mount's write path: writes go to the mount's private
// registry (credentialled by its strategy), the public registry is asked only whether
// a published name exists there and for its keys (through keys, shared with the read
// path), and PROXY_SIGNING_KEY_FILE's keys sign what is published.
func buildWriter(l *Loaded, m LoadedMount, public, private *upstream.Client, keys *publish.RegistryKeys, g *gate.Gate, log *slog.Logger) server.Writes {
	cfg := l.Config
	return publish.New(publish.Options{
		Private:      private,
		Public:       public,
		PublicKeys:   keys,
		Internal:     m.Internal.Match,
		Keys:         l.Keys,
		Admitted:     admittedBy(g),
		Limits:       npm.PublishLimits{MaxTarballBytes: cfg.MaxTarballBytes},
		MaxReadBytes: cfg.MaxResponseBytes,
		Logger:       log.With("component", "write-path"),
	})
}

// signingOptions turns a mount's signing setting into the read path's check: internal
// versions are held to Écluse's own keys (every key in PROXY_SIGNING_KEY_FILE, expired
// ones with their expiry), public ones to the public registry's, read through keys.
func signingOptions(l *Loaded, m LoadedMount, keys *publish.RegistryKeys) gate.SigningOptions {
	o := gate.SigningOptions{Public: keys}
	switch m.Signing {
	case config.SigningWarn:
		o.Mode = gate.SigningWarn
	case config.SigningInternal:
		o.Mode = gate.SigningInternal
	case config.SigningAll:
		o.Mode = gate.SigningAll
	}
	if l.Keys != nil {
		o.Own = signing.NewVerifier(l.Keys.PublicKeys())
	}
	return o
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

// SigningDetail is an npm mount's signing check as /readyz reports it under
// detail.signing, by mount name: its mode, how many of Écluse's own keys internal
// versions are checked against, and (for warn and all) the public registry's keys as
// last read.
type SigningDetail struct {
	Mode       string              `json:"mode"`
	OwnKeys    int                 `json:"ownKeys"`
	PublicKeys *publish.KeysStatus `json:"publicKeys,omitempty"`
}

func signingDetail(l *Loaded, m LoadedMount, keys *publish.RegistryKeys) func() SigningDetail {
	own := 0
	if l.Keys != nil {
		own = len(l.Keys.PublicKeys())
	}
	return func() SigningDetail {
		d := SigningDetail{Mode: m.Signing, OwnKeys: own}
		if m.Signing == config.SigningWarn || m.Signing == config.SigningAll {
			st := keys.Status()
			d.PublicKeys = &st
		}
		return d
	}
}
