package gate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/signing"
)

// testKeyring makes a P-256 keyring; expires, when set, is the key's expiry.
func testKeyring(t testing.TB, expires time.Time) *signing.Keyring {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	block := &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	if !expires.IsZero() {
		block.Headers = map[string]string{"Expires": expires.UTC().Format(time.RFC3339)}
	}
	ring, err := signing.ParsePEM(pem.EncodeToMemory(block), expires.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// keySource is the public registry's keys as the gate reads them.
type keySource struct {
	v     atomic.Pointer[signing.Verifier]
	gen   atomic.Uint64
	err   error
	reads atomic.Int64
}

func newKeySource(ring *signing.Keyring) *keySource {
	ks := &keySource{}
	ks.set(ring)
	return ks
}

func (ks *keySource) set(ring *signing.Keyring) {
	ks.v.Store(signing.NewVerifier(ring.PublicKeys()))
	ks.gen.Add(1)
}

func (ks *keySource) Verifier(context.Context) (*signing.Verifier, uint64, error) {
	ks.reads.Add(1)
	if ks.err != nil {
		return nil, 0, ks.err
	}
	return ks.v.Load(), ks.gen.Load(), nil
}

// signingFixture is a gate whose private registry signs with Écluse's key and whose
// public registry signs with its own, in the given mode.
func signingFixture(t *testing.T, mode SigningMode) (*fixture, *signing.Keyring, *keySource) {
	t.Helper()
	own, public := testKeyring(t, time.Time{}), testKeyring(t, time.Time{})
	ks := newKeySource(public)
	f := newFixture(t, "", func(o *Options) {
		o.Internal = mustNames(t, "@corp/*")
		o.Signing = SigningOptions{Mode: mode, Own: signing.NewVerifier(own.PublicKeys()), Public: ks}
	})
	f.priv.signer, f.pub.signer = own, public
	return f, own, ks
}

func readAll(t *testing.T, art *Artifact) (string, error) {
	t.Helper()
	b, err := io.ReadAll(art.Body)
	_ = art.Body.Close()
	return string(b), err
}

func TestSigningInternal(t *testing.T) {
	ctx := context.Background()
	f, _, ks := signingFixture(t, SigningInternal)
	f.priv.add("@corp/lib", "1.2.0",
		ver{v: "1.0.0", age: 3 * day},
		ver{v: "1.1.0", age: 2 * day, unsigned: true},
		ver{v: "1.2.0", age: day, forged: true})
	f.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day, unsigned: true})

	doc, err := f.gate.Packument(ctx, Query{Name: "@corp/lib"})
	if err != nil {
		t.Fatal(err)
	}
	s := decode(t, doc.Body.Bytes())
	if keys(s.Versions) != "1.0.0" || s.DistTags["latest"] != "1.0.0" || doc.Blocked != 2 || doc.Signing != SignatureVerified {
		t.Errorf("internal package: versions %s latest %s blocked %d signing %q; want 1.0.0 only, latest moved to it, 2 blocked, verified",
			keys(s.Versions), s.DistTags["latest"], doc.Blocked, doc.Signing)
	}
	if _, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Version: "1.1.0"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("manifest of an unsigned version: err = %v, want not found", err)
	}

	for _, v := range []string{"1.1.0", "1.2.0"} {
		_, err := f.gate.Tarball(ctx, TarballQuery{Name: "@corp/lib", Version: v})
		var denied *DeniedError
		if !errors.As(err, &denied) || denied.Rule != RuleSignature {
			t.Errorf("tarball of %s: err = %v, want a denial by %q", v, err, RuleSignature)
		}
	}
	art, err := f.gate.Tarball(ctx, TarballQuery{Name: "@corp/lib", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if body, err := readAll(t, art); err != nil || body != "@corp/lib@1.0.0" || art.Signing != SignatureVerified {
		t.Errorf("signed tarball: %q, %v, signing %q", body, err, art.Signing)
	}

	ex, err := f.gate.Explain(ctx, "@corp/lib", "", redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Signing != "internal" {
		t.Errorf("explain says signing %q, want internal", ex.Signing)
	}
	for _, v := range ex.Versions {
		want := v.Version == "1.0.0"
		if v.Admitted != want || (!want && (v.Rule != RuleSignature || !strings.Contains(v.Reason, "signature"))) {
			t.Errorf("explain %s: admitted %v rule %q reason %q", v.Version, v.Admitted, v.Rule, v.Reason)
		}
	}

	// Public versions are not covered: served unsigned, and the header says so; the
	// public keys are never asked for.
	doc, err = f.gate.Packument(ctx, Query{Name: "left-pad"})
	if err != nil {
		t.Fatal(err)
	}
	if keys(decode(t, doc.Body.Bytes()).Versions) != "1.0.0" || doc.Signing != SignatureOff {
		t.Errorf("public package under internal: %s, signing %q", doc.Body.Bytes(), doc.Signing)
	}
	if n := ks.reads.Load(); n != 0 {
		t.Errorf("public keys read %d times in mode internal", n)
	}
}

// TestSigningPrivateTarballHeldToSignedIntegrity: the private registry cannot swap a
// signed version's bytes.
func TestSigningPrivateTarballHeldToSignedIntegrity(t *testing.T) {
	f, _, _ := signingFixture(t, SigningInternal)
	f.priv.add("@corp/lib", "1.0.0", ver{v: "1.0.0", age: day})
	f.priv.corrupt = true
	art, err := f.gate.Tarball(context.Background(), TarballQuery{Name: "@corp/lib", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := readAll(t, art)
	if !errors.Is(err, ErrIntegrityMismatch) || len(body) >= len("@corp/lib@1.0.0") {
		t.Errorf("swapped private tarball: %d bytes, err %v; want it cut with ErrIntegrityMismatch", len(body), err)
	}
}

func TestSigningAll(t *testing.T) {
	ctx := context.Background()
	f, _, ks := signingFixture(t, SigningAll)
	f.pub.add("left-pad", "1.2.0",
		ver{v: "1.0.0", age: 30 * day},
		ver{v: "1.1.0", age: 30 * day, unsigned: true},
		ver{v: "1.2.0", age: 30 * day, forged: true})

	doc, err := f.gate.Packument(ctx, Query{Name: "left-pad"})
	if err != nil {
		t.Fatal(err)
	}
	s := decode(t, doc.Body.Bytes())
	if keys(s.Versions) != "1.0.0" || s.DistTags["latest"] != "1.0.0" || doc.Blocked != 2 || doc.Signing != SignatureVerified {
		t.Errorf("versions %s latest %s blocked %d signing %q", keys(s.Versions), s.DistTags["latest"], doc.Blocked, doc.Signing)
	}
	// The served manifest keeps the registry's signature, for npm audit signatures.
	if !strings.Contains(string(s.Versions["1.0.0"]), `"signatures"`) {
		t.Errorf("served manifest lost its dist.signatures: %s", s.Versions["1.0.0"])
	}
	for v, wantErr := range map[string]bool{"1.0.0": false, "1.1.0": true, "1.2.0": true} {
		art, err := f.gate.Tarball(ctx, TarballQuery{Name: "left-pad", Version: v})
		var denied *DeniedError
		if wantErr != (errors.As(err, &denied) && denied.Rule == RuleSignature) {
			t.Errorf("tarball %s: err = %v", v, err)
		}
		if err == nil {
			if _, rerr := readAll(t, art); rerr != nil || art.Signing != SignatureVerified {
				t.Errorf("tarball %s: %v, signing %q", v, rerr, art.Signing)
			}
		}
	}

	// A rotation: versions signed by the old key no longer verify, and the rendering
	// made with the old keys is not served again.
	ks.set(testKeyring(t, time.Time{}))
	doc, err = f.gate.Packument(ctx, Query{Name: "left-pad"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(decode(t, doc.Body.Bytes()).Versions); n != 0 || doc.Blocked != 3 {
		t.Errorf("after the public keys changed: %d versions served, %d blocked; want 0 and 3", n, doc.Blocked)
	}

	// Keys that cannot be read fail closed, with the reason.
	ks.err = errors.New("keys endpoint down")
	ex, err := f.gate.Explain(ctx, "left-pad", "1.0.0", redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Versions) != 1 || ex.Versions[0].Admitted || !strings.Contains(ex.Versions[0].Reason, "keys endpoint down") {
		t.Errorf("explain with no public keys: %+v", ex.Versions)
	}
}

func TestSigningAllMirrorCopies(t *testing.T) {
	f, _, _ := signingFixture(t, SigningAll)
	// The mirror copies carry no signature of their own: their public counterpart's
	// covers them, since the integrity is the same.
	f.priv.signer = nil
	f.priv.add("mirrored", "1.2.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "1.2.0", age: 30 * day})
	f.pub.add("mirrored", "1.2.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "1.2.0", age: 30 * day, unsigned: true})
	doc, err := f.gate.Packument(context.Background(), Query{Name: "mirrored"})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Source != SourceMirrorPublic || keys(decode(t, doc.Body.Bytes()).Versions) != "1.0.0" || doc.Signing != SignatureVerified {
		t.Errorf("source %s versions %s signing %q; want the copy of the unsigned version withheld",
			doc.Source, keys(decode(t, doc.Body.Bytes()).Versions), doc.Signing)
	}
}

func TestSigningWarn(t *testing.T) {
	ctx := context.Background()
	f, _, _ := signingFixture(t, SigningWarn)
	f.pub.add("left-pad", "1.1.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "1.1.0", age: 30 * day, unsigned: true})
	f.pub.add("signed", "1.0.0", ver{v: "1.0.0", age: 30 * day})
	f.priv.add("@corp/lib", "1.0.0", ver{v: "1.0.0", age: day, unsigned: true})

	for _, tc := range []struct {
		name, want string
		warned     int
	}{{"left-pad", SignatureWarn, 1}, {"signed", SignatureVerified, 0}, {"@corp/lib", SignatureWarn, 1}} {
		doc, err := f.gate.Packument(ctx, Query{Name: tc.name})
		if err != nil {
			t.Fatal(err)
		}
		if doc.Blocked != 0 || doc.Warned != tc.warned || doc.Signing != tc.want {
			t.Errorf("%s: blocked %d warned %d signing %q; want 0, %d, %q", tc.name, doc.Blocked, doc.Warned, doc.Signing, tc.warned, tc.want)
		}
	}
	art, err := f.gate.Tarball(ctx, TarballQuery{Name: "left-pad", Version: "1.1.0"})
	if err != nil {
		t.Fatalf("warn mode refused a tarball: %v", err)
	}
	if _, err := readAll(t, art); err != nil || art.Signing != SignatureWarn {
		t.Errorf("tarball: %v, signing %q", err, art.Signing)
	}
	ex, err := f.gate.Explain(ctx, "left-pad", "1.1.0", redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Versions) != 1 || !ex.Versions[0].Admitted || len(ex.Versions[0].Warned) != 1 || ex.Versions[0].Warned[0] != RuleSignature {
		t.Errorf("explain: %+v", ex.Versions)
	}
}

// TestSigningOwnKeyExpiry: a rotated-out key still covers what it signed before its
// expiry, and nothing published after.
func TestSigningOwnKeyExpiry(t *testing.T) {
	expiry := now.Add(-2 * day)
	old := testKeyring(t, expiry)
	f := newFixture(t, "", func(o *Options) {
		o.Internal = mustNames(t, "@corp/*")
		o.Signing = SigningOptions{Mode: SigningInternal, Own: signing.NewVerifier(old.PublicKeys())}
	})
	f.priv.signer = old
	f.priv.add("@corp/lib", "1.0.0", ver{v: "1.0.0", age: 3 * day}, ver{v: "1.1.0", age: day})
	doc, err := f.gate.Packument(context.Background(), Query{Name: "@corp/lib"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(decode(t, doc.Body.Bytes()).Versions); got != "1.0.0" {
		t.Errorf("versions %s; want only the one published before the key expired", got)
	}
}

func TestSigningOffHeader(t *testing.T) {
	f := newFixture(t, "", nil)
	f.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day})
	doc, err := f.gate.Packument(context.Background(), Query{Name: "left-pad"})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Signing != SignatureOff {
		t.Errorf("signing %q with signing off", doc.Signing)
	}
}
