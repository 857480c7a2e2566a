package redact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// secretKey is the context key of WithSecret.
type secretKey struct{}

// WithSecret returns ctx carrying s, for a fetch that runs behind a cache or a
// singleflight whose key holds only a hash of s (see Scope) but must still send it.
func WithSecret(ctx context.Context, s Secret) context.Context {
	return context.WithValue(ctx, secretKey{}, s)
}

// SecretFrom returns the Secret WithSecret put in ctx, or an unset one.
func SecretFrom(ctx context.Context) Secret {
	s, _ := ctx.Value(secretKey{}).(Secret)
	return s
}

// Scope returns a cache key for what as seen by the holder of s: what alone when s is
// unset, else what behind a hash of s, so that answers read with one credential are
// never served to another. The secret itself is never part of the key.
func (s Secret) Scope(what string) string {
	if !s.IsSet() {
		return "-|" + what
	}
	sum := sha256.Sum256([]byte(s.v))
	return hex.EncodeToString(sum[:16]) + "|" + what
}
