package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/signing"
)

// Key cache timings.
const (
	// keysTTL is how long a registry's keys are reused.
	keysTTL = time.Hour
	// keysRetry is how soon a failed read is tried again.
	keysRetry = time.Minute
	// maxKeysReplyBytes bounds a keys document.
	maxKeysReplyBytes = 1 << 20
)

// ErrKeysUnavailable: a registry's keys have never been read. The read path's signing
// check fails closed on it.
var ErrKeysUnavailable = errors.New("the registry's signing keys could not be read")

// RegistryKeys reads a registry's /-/npm/v1/keys and keeps it for an hour. A failed
// read keeps the last good copy and is tried again a minute later; reads are made one
// at a time. One RegistryKeys serves both the keys endpoint and the read path's
// signature checks, so both see the same keys. It is safe for concurrent use.
type RegistryKeys struct {
	reg Registry
	now func() time.Time
	log *slog.Logger

	mu       sync.Mutex
	keys     []signing.PublicKey
	verifier *signing.Verifier
	gen      uint64
	at       time.Time // when the last read was made, good or not
	goodAt   time.Time // when the last good read was made
	lastErr  error
}

// KeysStatus is what a RegistryKeys holds, for /readyz.
type KeysStatus struct {
	// Loaded is false until a first read succeeds.
	Loaded bool `json:"loaded"`
	// Keys counts the keys held; Generation changes whenever they do.
	Keys       int    `json:"keys"`
	Generation uint64 `json:"generation"`
	// Read is when the keys held were last read.
	Read *time.Time `json:"read,omitempty"`
	// LastError is the last read's failure; empty after a success.
	LastError string `json:"lastError,omitempty"`
}

// Status reports what is held, without reading anything.
func (r *RegistryKeys) Status() KeysStatus {
	if r == nil {
		return KeysStatus{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := KeysStatus{Loaded: r.verifier != nil, Keys: len(r.keys), Generation: r.gen}
	if !r.goodAt.IsZero() {
		t := r.goodAt.UTC()
		st.Read = &t
	}
	if r.lastErr != nil {
		st.LastError = r.lastErr.Error()
	}
	return st
}

// NewRegistryKeys builds a cache of reg's keys, read anonymously. A nil reg has no
// keys (and Verifier says ErrKeysUnavailable). Nil now means time.Now; nil log means
// slog.Default().
func NewRegistryKeys(reg Registry, now func() time.Time, log *slog.Logger) *RegistryKeys {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &RegistryKeys{reg: reg, now: now, log: log}
}

// Keys returns the registry's keys, read again when the copy is older than an hour.
func (r *RegistryKeys) Keys(ctx context.Context) []signing.PublicKey {
	keys, _, _, _ := r.current(ctx)
	return keys
}

// Verifier returns a verifier of the registry's keys and its generation, a number
// that changes whenever the key set does. It is ErrKeysUnavailable (wrapped with the
// last failure) until a first read succeeds.
func (r *RegistryKeys) Verifier(ctx context.Context) (*signing.Verifier, uint64, error) {
	_, v, gen, err := r.current(ctx)
	return v, gen, err
}

func (r *RegistryKeys) current(ctx context.Context) ([]signing.PublicKey, *signing.Verifier, uint64, error) {
	if r == nil || r.reg == nil {
		return nil, nil, 0, ErrKeysUnavailable
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	fresh := !r.at.IsZero() && (r.lastErr == nil && now.Sub(r.at) < keysTTL || r.lastErr != nil && now.Sub(r.at) < keysRetry)
	if !fresh {
		r.refresh(ctx, now)
	}
	if r.verifier == nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", ErrKeysUnavailable, r.lastErr)
	}
	return r.keys, r.verifier, r.gen, nil
}

// refresh reads the keys once; r.mu is held.
func (r *RegistryKeys) refresh(ctx context.Context, now time.Time) {
	r.at = now
	reply, err := r.reg.Forward(ctx, http.MethodGet, KeysPath, "", http.Header{"Accept": {"application/json"}}, nil, redact.Secret{}, maxKeysReplyBytes)
	if err == nil && reply.Status != http.StatusOK {
		err = fmt.Errorf("status %d", reply.Status)
	}
	var doc signing.KeysDocument
	if err == nil {
		doc, err = signing.ParseKeys(reply.Body)
	}
	if err != nil {
		r.lastErr = err
		r.log.WarnContext(ctx, "a registry's signing keys could not be read; keeping the last copy",
			"error", err.Error(), "have", len(r.keys), "retry_in", keysRetry.String())
		return
	}
	r.lastErr, r.goodAt = nil, now
	if r.verifier != nil && slices.EqualFunc(doc.Keys, r.keys, sameKey) {
		return
	}
	r.keys, r.verifier = doc.Keys, signing.NewVerifier(doc.Keys)
	r.gen++
	r.log.InfoContext(ctx, "a registry's signing keys were read", "keys", len(doc.Keys), "generation", r.gen)
}

// sameKey compares two key entries by value.
func sameKey(a, b signing.PublicKey) bool {
	if a.KeyID != b.KeyID || a.KeyType != b.KeyType || a.Scheme != b.Scheme || a.Key != b.Key {
		return false
	}
	if a.Expires == nil || b.Expires == nil {
		return a.Expires == b.Expires
	}
	return a.Expires.Equal(*b.Expires)
}
