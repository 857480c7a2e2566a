package credential

import (
	"context"

	"github.com/ecluse/ecluse/internal/redact"
)

// Provider hands out the current write token for the mirror target.
type Provider interface {
	// Token returns a token valid now, minting or renewing it when needed. It is safe
	// for concurrent use and cheap when the cached token is still fresh. An empty
	// Secret means no credential is sent. The error never holds the token.
	Token(ctx context.Context) (redact.Secret, error)
}

// static is a fixed token.
type static struct{ token redact.Secret }

// Static returns a Provider that always hands out token (MIRROR_TARGET_TOKEN). An
// unset token means the target is written without a credential.
func Static(token redact.Secret) Provider { return static{token: token} }

func (s static) Token(context.Context) (redact.Secret, error) { return s.token, nil }

var _ Provider = static{}
