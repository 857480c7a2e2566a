package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

const (
	// maxSignatures bounds the signatures checked for one version, so that a
	// hostile packument cannot buy unbounded CPU; registries attach one or two.
	maxSignatures = 4
	// maxSigChars bounds one base64 signature: P-256 DER is at most 72 bytes and
	// Ed25519 64, well under this.
	maxSigChars = 1024
)

// Verifier checks registry signatures against a key set parsed once. It is
// immutable and safe for concurrent use.
type Verifier struct {
	keys map[string]*verifyKey
}

type verifyKey struct {
	expires     *time.Time
	pub         crypto.PublicKey // *ecdsa.PublicKey or ed25519.PublicKey; nil when unsupported
	unsupported error            // non-nil: why this key cannot check anything
}

// NewVerifier parses keys once for repeated checks. As the npm CLI does, the
// first entry with a given keyid is the one used. Entries whose key material is
// unusable for their keytype are left out, as ParseKeys leaves them out;
// entries of an unsupported keytype are kept so that a check against one says
// ErrUnsupported.
func NewVerifier(keys []PublicKey) *Verifier {
	v := &Verifier{keys: make(map[string]*verifyKey, len(keys))}
	for _, pk := range keys {
		if pk.KeyID == "" {
			continue
		}
		if _, seen := v.keys[pk.KeyID]; seen {
			continue
		}
		vk := &verifyKey{}
		if pk.Expires != nil {
			e := *pk.Expires
			vk.expires = &e
		}
		pub, err := parsePublic(pk)
		switch {
		case err == nil:
			vk.pub = pub
		case errors.Is(err, ErrUnsupported):
			vk.unsupported = err
		default:
			continue
		}
		v.keys[pk.KeyID] = vk
	}
	return v
}

// Verify reports the keyid of the first signature among sigs that verifies
// name@version:integrity. A signature verifies, as in the npm CLI, when its
// keyid names a key in the set, that key had not expired at publishedAt (a
// zero publishedAt skips this check; the npm CLI, lacking a publish time,
// counts the key as expired), the key's type is supported, and the signature
// checks.
//
// When none verifies, the error wraps the most telling reason among them, in
// this order: ErrBadSignature, ErrExpired, ErrUnsupported, ErrNoKey. No
// signatures at all is ErrNoSignature; more than 4 (a registry attaches one,
// two while it rotates keys) is ErrBadSignature.
//
// The npm CLI is stricter: it fails a version when any of its signatures
// fails. One good signature is enough here, and only the first signature naming a
// given keyid is checked (a registry signs once with each key), so a hostile
// document cannot make one version cost more checks than it names keys.
func (v *Verifier) Verify(name, version, integrity string, sigs []Signature, publishedAt time.Time) (string, error) {
	if len(sigs) == 0 {
		return "", fmt.Errorf("verify %s@%s: %w", clip(name), clip(version), ErrNoSignature)
	}
	if len(sigs) > maxSignatures {
		return "", fmt.Errorf("verify %s@%s: %d signatures is more than %d: %w",
			clip(name), clip(version), len(sigs), maxSignatures, ErrBadSignature)
	}
	msg := []byte(message(name, version, integrity))
	digest := sha256.Sum256(msg)
	var best error
	bestRank := -1
	for i, s := range sigs {
		if slices.ContainsFunc(sigs[:i], func(p Signature) bool { return p.KeyID == s.KeyID }) {
			continue // a registry signs once per key: a second entry buys no more checks
		}
		keyID, err := v.verifyOne(msg, digest[:], s, publishedAt)
		if err == nil {
			return keyID, nil
		}
		if r := rank(err); r > bestRank {
			best, bestRank = err, r
		}
	}
	return "", fmt.Errorf("verify %s@%s: %w", clip(name), clip(version), best)
}

func (v *Verifier) verifyOne(msg, digest []byte, s Signature, publishedAt time.Time) (string, error) {
	var k *verifyKey
	if v != nil {
		k = v.keys[s.KeyID]
	}
	if k == nil {
		return "", fmt.Errorf("keyid %q: %w", clip(s.KeyID), ErrNoKey)
	}
	// The npm CLI accepts a key only while publishedAt < expires.
	if k.expires != nil && !publishedAt.IsZero() && !publishedAt.Before(*k.expires) {
		return "", fmt.Errorf("keyid %q expired at %s, version published at %s: %w",
			clip(s.KeyID), k.expires.UTC().Format(time.RFC3339), publishedAt.UTC().Format(time.RFC3339), ErrExpired)
	}
	if k.unsupported != nil {
		return "", fmt.Errorf("keyid %q: %w", clip(s.KeyID), k.unsupported)
	}
	raw, ok := decodeSig(s.Sig)
	if !ok {
		return "", fmt.Errorf("keyid %q: signature is not base64: %w", clip(s.KeyID), ErrBadSignature)
	}
	switch pub := k.pub.(type) {
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(pub, digest, raw) {
			return s.KeyID, nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(pub, msg, raw) {
			return s.KeyID, nil
		}
	}
	return "", fmt.Errorf("keyid %q: %w", clip(s.KeyID), ErrBadSignature)
}

// rank orders verification failures from least to most telling.
func rank(err error) int {
	switch {
	case errors.Is(err, ErrBadSignature):
		return 4
	case errors.Is(err, ErrExpired):
		return 3
	case errors.Is(err, ErrUnsupported):
		return 2
	case errors.Is(err, ErrNoKey):
		return 1
	}
	return 0
}

// decodeSig decodes a signature as leniently as Node's Buffer.from(s,
// "base64"), which the npm CLI uses: whitespace ignored, the URL-safe alphabet
// accepted, padding optional. Leniency here costs nothing: the bytes must
// still verify.
func decodeSig(s string) ([]byte, bool) {
	if s == "" || len(s) > maxSigChars {
		return nil, false
	}
	s = stripSpace(s)
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	raw, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return raw, true
}

// Verify checks one signature for name@version:integrity against keys; see
// (*Verifier).Verify for the rules. It returns the verifying key's keyid.
// Each key is parsed once per call; build a Verifier to check many versions.
func Verify(keys []PublicKey, name, version, integrity string, sig Signature, publishedAt time.Time) (string, error) {
	return NewVerifier(keys).Verify(name, version, integrity, []Signature{sig}, publishedAt)
}

// VerifyAny reports the keyid of the first signature among sigs that verifies,
// else the most telling error; see (*Verifier).Verify.
func VerifyAny(keys []PublicKey, name, version, integrity string, sigs []Signature, publishedAt time.Time) (string, error) {
	return NewVerifier(keys).Verify(name, version, integrity, sigs, publishedAt)
}
