package signing

import (
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two versions signed by the registry with registryKeyID, as they appeared in
// their packuments, with their publish times: public data showing that
// Verify accepts what the registry really signs.
var registryVectors = []struct {
	name, version, integrity, sig string
	published                     time.Time
}{
	{
		name: "@midas-ds/checkbox", version: "1.0.3",
		integrity: "sha512-SeURf24EoizN5/o2CdUnisZNeCya/KNqdAxAR0lNc842jPs8sGknhv+Woy8QTKswALTk0PrSP3Q/4MvdpFabNQ==",
		sig:       "MEUCIQDQJR84xvAX4KcEIR2HUjIZiSMiqnOBXNu9kx+eefUwPgIgCzdqT1+dzBwKuWSuM1IuCeo4ikBmi21hnIXLcK7dosY=",
		published: time.UnixMilli(1733130194590).UTC(),
	},
	{
		name: "@midas-ds/textfield", version: "1.0.2",
		integrity: "sha512-4ME7WAt9BZrXdGdt3rQHIt1qC1dQ+0qvXPJZoYy5j+/5P90VCoM4J16BCIM1hC+nbeNq17Jge1Gxj2G27HaAcw==",
		sig:       "MEUCIQDKl++oPNK0WmVjd+Yg2lOcHCr2GSVBgrIuqV6rLYQEMAIgFhDdiXD847J1bCkiCVZPqbvZyT2ST8baijVolw16rjY=",
		published: time.UnixMilli(1730456827502).UTC(),
	},
}

// registryKeysBody is the registry's key document for registryKeyID, which
// expired at the end of January 2025.
const registryKeysBody = `{"keys":[{"expires":"2025-01-29T00:00:00.000Z","keyid":"` + registryKeyID +
	`","keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256","key":"` + registryKeySPKI + `"}]}`

func TestVerifyRegistrySignatures(t *testing.T) {
	doc, err := ParseKeys([]byte(registryKeysBody))
	if err != nil {
		t.Fatalf("ParseKeys() = %v", err)
	}
	for _, v := range registryVectors {
		t.Run(v.name, func(t *testing.T) {
			sig := Signature{KeyID: registryKeyID, Sig: v.sig}
			if got, err := Verify(doc.Keys, v.name, v.version, v.integrity, sig, v.published); err != nil || got != registryKeyID {
				t.Errorf("Verify() = %q, %v, want %s", got, err, registryKeyID)
			}
			late := time.Date(2025, 1, 29, 0, 0, 0, 0, time.UTC)
			if _, err := Verify(doc.Keys, v.name, v.version, v.integrity, sig, late); !errors.Is(err, ErrExpired) {
				t.Errorf("Verify(published at expiry) = %v, want ErrExpired", err)
			}
			if _, err := Verify(doc.Keys, v.name, v.version+"-evil", v.integrity, sig, v.published); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify(other version) = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	r := mustKeyring(t, "rotation.pem", rotationNow)
	keys := r.Keys()
	old, mid, last := keys[0], keys[1], keys[2] // expired 2021 (P-256), expires 2031 (Ed25519), none (P-256)
	pubs := r.PublicKeys()
	const name, version, integrity = "@scope/pkg", "1.0.0", "sha512-deadbeef=="

	flip := func(s Signature) Signature {
		raw, _ := base64.StdEncoding.DecodeString(s.Sig)
		raw[len(raw)/2] ^= 1
		s.Sig = base64.StdEncoding.EncodeToString(raw)
		return s
	}
	rewrap := func(s Signature, f func(string) string) Signature { s.Sig = f(s.Sig); return s }
	unsupported := append(append([]PublicKey(nil), pubs...),
		PublicKey{KeyID: "SHA256:rsa", KeyType: "ssh-rsa", Scheme: "ssh-rsa", Key: "AAAA"},
		PublicKey{KeyID: mid.KeyID() + "x", KeyType: KeyTypeEd25519, Scheme: "ed25519-other", Key: pubs[1].Key})
	// An entry claiming Ed25519 with P-256 material is unusable: as if absent.
	mislabelled := []PublicKey{{KeyID: last.KeyID(), KeyType: KeyTypeEd25519, Scheme: KeyTypeEd25519, Key: pubs[2].Key}}
	atOldExpiry := rotationOldExpiry

	tests := []struct {
		name                      string
		keys                      []PublicKey
		name_, version, integrity string
		sig                       Signature
		published                 time.Time
		want                      string
		wantErr                   error
	}{
		{name: "p256", sig: signWith(t, last, name, version, integrity), published: rotationNow, want: last.KeyID()},
		{name: "ed25519", sig: signWith(t, mid, name, version, integrity), published: rotationNow, want: mid.KeyID()},
		{name: "no publish time skips expiry", sig: signWith(t, old, name, version, integrity), want: old.KeyID()},
		{name: "published before expiry", sig: signWith(t, old, name, version, integrity), published: atOldExpiry.Add(-time.Millisecond), want: old.KeyID()},
		{name: "published at expiry", sig: signWith(t, old, name, version, integrity), published: atOldExpiry, wantErr: ErrExpired},
		{name: "published after expiry", sig: signWith(t, old, name, version, integrity), published: rotationNow, wantErr: ErrExpired},
		{name: "tampered integrity", integrity: "sha512-other==", sig: signWith(t, last, name, version, integrity), wantErr: ErrBadSignature},
		{name: "tampered version", version: "1.0.1", sig: signWith(t, last, name, version, integrity), wantErr: ErrBadSignature},
		{name: "tampered name", name_: "@scope/pkh", sig: signWith(t, last, name, version, integrity), wantErr: ErrBadSignature},
		{name: "tampered p256 sig", sig: flip(signWith(t, last, name, version, integrity)), wantErr: ErrBadSignature},
		{name: "tampered ed25519 sig", sig: flip(signWith(t, mid, name, version, integrity)), wantErr: ErrBadSignature},
		{name: "sig by another key", sig: Signature{KeyID: last.KeyID(), Sig: signWith(t, old, name, version, integrity).Sig}, wantErr: ErrBadSignature},
		{name: "sig not base64", sig: Signature{KeyID: last.KeyID(), Sig: "!!!"}, wantErr: ErrBadSignature},
		{name: "sig empty", sig: Signature{KeyID: last.KeyID()}, wantErr: ErrBadSignature},
		{name: "sig huge", sig: Signature{KeyID: last.KeyID(), Sig: strings.Repeat("A", 4096)}, wantErr: ErrBadSignature},
		{name: "sig unpadded", sig: rewrap(signWith(t, last, name, version, integrity), func(s string) string { return strings.TrimRight(s, "=") }), want: last.KeyID()},
		{name: "sig url-safe with newline", sig: rewrap(signWith(t, last, name, version, integrity), func(s string) string {
			return strings.NewReplacer("+", "-", "/", "_").Replace(s[:10] + "\n" + s[10:])
		}), want: last.KeyID()},
		{name: "unknown keyid", sig: Signature{KeyID: "SHA256:nobody", Sig: signWith(t, last, name, version, integrity).Sig}, wantErr: ErrNoKey},
		{name: "empty keyid", sig: Signature{Sig: signWith(t, last, name, version, integrity).Sig}, wantErr: ErrNoKey},
		{name: "no keys", keys: []PublicKey{}, sig: signWith(t, last, name, version, integrity), wantErr: ErrNoKey},
		{name: "unsupported keytype", keys: unsupported, sig: Signature{KeyID: "SHA256:rsa", Sig: "AAAA"}, wantErr: ErrUnsupported},
		{name: "scheme mismatch", keys: unsupported, sig: Signature{KeyID: mid.KeyID() + "x", Sig: signWith(t, mid, name, version, integrity).Sig}, wantErr: ErrUnsupported},
		{name: "mislabelled key material", keys: mislabelled, sig: signWith(t, last, name, version, integrity), wantErr: ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := pubs
			if tt.keys != nil {
				keys = tt.keys
			}
			n, v, i := name, version, integrity
			if tt.name_ != "" {
				n = tt.name_
			}
			if tt.version != "" {
				v = tt.version
			}
			if tt.integrity != "" {
				i = tt.integrity
			}
			got, err := Verify(keys, n, v, i, tt.sig, tt.published)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != "" {
					t.Fatalf("Verify() = %q, %v, want error %v", got, err, tt.wantErr)
				}
				if len(err.Error()) > 400 {
					t.Errorf("Verify() error is %d bytes long, want it bounded", len(err.Error()))
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Verify() = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestVerifyAny(t *testing.T) {
	r := mustKeyring(t, "rotation.pem", rotationNow)
	keys := r.Keys()
	old, last := keys[0], keys[2]
	pubs := r.PublicKeys()
	const name, version, integrity = "pkg", "2.0.0", "sha512-x=="
	good := signWith(t, last, name, version, integrity)
	expired := signWith(t, old, name, version, integrity)
	bad := Signature{KeyID: last.KeyID(), Sig: expired.Sig}
	unknown := Signature{KeyID: "SHA256:nobody", Sig: good.Sig}
	withRSA := append(append([]PublicKey(nil), pubs...), PublicKey{KeyID: "SHA256:rsa", KeyType: "ssh-rsa", Key: "AAAA"})
	unsupported := Signature{KeyID: "SHA256:rsa", Sig: "AAAA"}

	tests := []struct {
		name    string
		keys    []PublicKey
		sigs    []Signature
		want    string
		wantErr error
	}{
		{name: "only good", sigs: []Signature{good}, want: last.KeyID()},
		{name: "good after failures", sigs: []Signature{unknown, expired, good}, want: last.KeyID()},
		{name: "only a keyid's first entry is checked", sigs: []Signature{bad, good}, wantErr: ErrBadSignature},
		{name: "none", sigs: nil, wantErr: ErrNoSignature},
		{name: "bad beats expired and unknown", sigs: []Signature{unknown, expired, bad}, wantErr: ErrBadSignature},
		{name: "expired beats unsupported and unknown", keys: withRSA, sigs: []Signature{unknown, unsupported, expired}, wantErr: ErrExpired},
		{name: "unsupported beats unknown", keys: withRSA, sigs: []Signature{unknown, unsupported}, wantErr: ErrUnsupported},
		{name: "only unknown", sigs: []Signature{unknown, unknown}, wantErr: ErrNoKey},
		{name: "too many", sigs: append(make([]Signature, maxSignatures), good), wantErr: ErrBadSignature},
		{name: "as many as allowed", sigs: append(make([]Signature, maxSignatures-1), good), want: last.KeyID()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := pubs
			if tt.keys != nil {
				keys = tt.keys
			}
			got, err := VerifyAny(keys, name, version, integrity, tt.sigs, rotationNow)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("VerifyAny() = %q, %v, want error %v", got, err, tt.wantErr)
				}
				// Exactly one sentinel per error.
				n := 0
				for _, s := range []error{ErrNoKey, ErrExpired, ErrBadSignature, ErrUnsupported, ErrNoSignature} {
					if errors.Is(err, s) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("VerifyAny() = %v wraps %d sentinels, want 1", err, n)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("VerifyAny() = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestVerifierFirstKeyWins(t *testing.T) {
	a := mustKeyring(t, "p256.pem", rotationNow)
	b := mustKeyring(t, "ed25519.pem", rotationNow)
	sig, err := a.Sign("x", "1.0.0", "sha512-x")
	if err != nil {
		t.Fatal(err)
	}
	// A second entry under the same keyid, with other material, is ignored,
	// as the npm CLI takes the first match.
	other := b.PublicKeys()[0]
	other.KeyID = sig.KeyID
	keys := append(a.PublicKeys(), other)
	if got, err := NewVerifier(keys).Verify("x", "1.0.0", "sha512-x", []Signature{sig}, time.Time{}); err != nil || got != sig.KeyID {
		t.Errorf("Verify() = %q, %v, want %s", got, err, sig.KeyID)
	}
	keys = []PublicKey{other, a.PublicKeys()[0]}
	if _, err := NewVerifier(keys).Verify("x", "1.0.0", "sha512-x", []Signature{sig}, time.Time{}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(other first) = %v, want ErrBadSignature", err)
	}
	var nilVerifier *Verifier
	if _, err := nilVerifier.Verify("x", "1.0.0", "sha512-x", []Signature{sig}, time.Time{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil Verifier Verify() = %v, want ErrNoKey", err)
	}
}

func TestVerifierConcurrent(t *testing.T) {
	r := mustKeyring(t, "rotation.pem", rotationNow)
	v := NewVerifier(r.PublicKeys())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				version := "1.0." + string(rune('0'+g)) + string(rune('a'+i%26))
				sig, err := r.Sign("pkg", version, "sha512-x")
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := v.Verify("pkg", version, "sha512-x", []Signature{sig}, rotationNow); err != nil {
					t.Errorf("Verify() = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkVerifier(b *testing.B) {
	r := mustKeyring(b, "p256.pem", rotationNow)
	sig, err := r.Sign("pkg", "1.0.0", "sha512-x")
	if err != nil {
		b.Fatal(err)
	}
	v := NewVerifier(r.PublicKeys())
	sigs := []Signature{sig}
	for b.Loop() {
		if _, err := v.Verify("pkg", "1.0.0", "sha512-x", sigs, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}
