package publish

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/signing"
)

// TestRegistryKeys walks the cache through a registry that has no keys at first, then
// serves a set, then fails, then rotates: the verifier appears with the first good
// read, a failure keeps the last copy and is retried a minute later, an unchanged set
// keeps its generation and a changed one moves it.
func TestRegistryKeys(t *testing.T) {
	ctx := context.Background()
	first, second := keyring(t), keyring(t)
	doc := func(r *signing.Keyring) []byte {
		b, _ := json.Marshal(signing.KeysDocument{Keys: r.PublicKeys()})
		return b
	}
	reg := &registry{has: map[string]bool{}}
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	rk := NewRegistryKeys(reg, func() time.Time { return now }, nil)
	reads := func() int {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		return len(reg.calls)
	}

	// No keys endpoint (a 404): unavailable, retried only after a minute.
	if _, _, err := rk.Verifier(ctx); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Verifier() with no keys = %v, want ErrKeysUnavailable", err)
	}
	reg.keys = doc(first)
	if _, _, err := rk.Verifier(ctx); !errors.Is(err, ErrKeysUnavailable) || reads() != 1 {
		t.Fatalf("Verifier() within the retry delay = %v after %d reads, want the failure kept and 1 read", err, reads())
	}
	if st := rk.Status(); st.Loaded || st.LastError == "" {
		t.Errorf("status before a good read: %+v", st)
	}
	now = now.Add(keysRetry)
	v, gen, err := rk.Verifier(ctx)
	if err != nil || v == nil || gen != 1 {
		t.Fatalf("Verifier() after the retry delay = %v, %d, %v; want a verifier of generation 1", v, gen, err)
	}
	sig, _ := first.Sign("a", "1.0.0", "sha512-x")
	if _, err := v.Verify("a", "1.0.0", "sha512-x", []signing.Signature{sig}, time.Time{}); err != nil {
		t.Fatalf("the cached verifier does not verify the registry's signature: %v", err)
	}

	if st := rk.Status(); !st.Loaded || st.Keys != 1 || st.Generation != 1 || st.Read == nil || st.LastError != "" {
		t.Errorf("status after a good read: %+v", st)
	}

	// Within the hour nothing is read; past it the same set keeps its generation.
	n := reads()
	if _, _, _ = rk.Verifier(ctx); reads() != n {
		t.Fatal("keys read again within the hour")
	}
	now = now.Add(keysTTL)
	if _, gen, _ := rk.Verifier(ctx); gen != 1 || reads() != n+1 {
		t.Fatalf("unchanged keys re-read: generation %d after %d reads, want 1 after %d", gen, reads(), n+1)
	}

	// A failed refresh keeps the last good copy.
	reg.keys = nil
	now = now.Add(keysTTL)
	if v2, gen, err := rk.Verifier(ctx); err != nil || v2 != v || gen != 1 {
		t.Fatalf("after a failed refresh: %v, %d, %v; want the last copy", v2, gen, err)
	}

	// A rotated set replaces it and moves the generation.
	reg.keys = doc(second)
	now = now.Add(keysRetry)
	v3, gen, err := rk.Verifier(ctx)
	if err != nil || v3 == v || gen != 2 {
		t.Fatalf("after a rotation: %v, %d, %v; want a new verifier of generation 2", v3, gen, err)
	}
	if keys := rk.Keys(ctx); len(keys) != 1 || keys[0].KeyID != second.Signer().KeyID() {
		t.Errorf("Keys() = %+v, want the rotated key", keys)
	}

	var none *RegistryKeys
	if _, _, err := none.Verifier(ctx); !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("nil RegistryKeys: %v", err)
	}
}
