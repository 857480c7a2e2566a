package credential

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/ecluse/ecluse/internal/redact"
)

// ArtifactRegistryScope is the OAuth scope the token is asked for: Artifact Registry
// accepts cloud-platform access tokens for npm publishes.
const ArtifactRegistryScope = "https://www.googleapis.com/auth/cloud-platform"

// GCPOptions configures the Artifact Registry provider. Zero values are noted per
// field.
type GCPOptions struct {
	// TokenSource hands out access tokens. Nil means Application Default Credentials
	// (GOOGLE_APPLICATION_CREDENTIALS, the gcloud user credentials, workload identity or
	// the metadata server) with ArtifactRegistryScope. Tests inject a stub here.
	TokenSource oauth2.TokenSource
}

// gcp hands out the access tokens of a reusing token source.
type gcp struct {
	ts oauth2.TokenSource
}

var _ Provider = (*gcp)(nil)

// GCPArtifactRegistry returns a Provider whose tokens are OAuth access tokens from
// Application Default Credentials (or opts.TokenSource), sent as Bearer tokens. The
// token source caches a token and renews it shortly before it expires. It fails now
// when no default credentials can be found.
func GCPArtifactRegistry(ctx context.Context, opts GCPOptions) (Provider, error) {
	ts := opts.TokenSource
	if ts == nil {
		creds, err := google.FindDefaultCredentials(ctx, ArtifactRegistryScope)
		if err != nil {
			return nil, fmt.Errorf("gcp artifact registry credential: find application default credentials: %w", err)
		}
		ts = creds.TokenSource
	}
	// ReuseTokenSource keeps a valid token and asks the source only when it expires
	// (the oauth2 package renews a little before the stated expiry).
	return &gcp{ts: oauth2.ReuseTokenSource(nil, ts)}, nil
}

// Token implements Provider. The token source takes no context; a cancelled ctx is
// still honoured before it is asked.
func (g *gcp) Token(ctx context.Context) (redact.Secret, error) {
	if err := ctx.Err(); err != nil {
		return redact.Secret{}, err
	}
	tok, err := g.ts.Token()
	if err != nil {
		// oauth2's errors carry the token endpoint's answer, never a token.
		return redact.Secret{}, fmt.Errorf("gcp artifact registry credential: %w", err)
	}
	if tok.AccessToken == "" {
		return redact.Secret{}, errors.New("gcp artifact registry credential: the token source returned no access token")
	}
	return redact.New(tok.AccessToken), nil
}
