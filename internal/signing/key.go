package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// The key types this package signs and verifies, as they appear in the keytype
// and scheme fields of /-/npm/v1/keys.
const (
	// KeyTypeP256 is ECDSA on NIST P-256 over SHA-256, the only type the npm CLI
	// verifies.
	KeyTypeP256 = "ecdsa-sha2-nistp256"
	// KeyTypeEd25519 is Ed25519 over the message bytes.
	KeyTypeEd25519 = "ssh-ed25519"
)

// Key is one configured signing key: a private key, its public half (kept as
// the DER SubjectPublicKeyInfo it publishes), its keyid and an optional
// expiry. A Key is immutable. Its String, GoString, Format and
// LogValue show the keyid and type only, never key material.
type Key struct {
	// signFn closes over the private key. A closure, unlike a field, is out of
	// reach of reflection: fmt prints a func as an address whatever the verb,
	// even for a struct holding a Key in an unexported field, so no formatting
	// of any value can reach the private scalar or seed.
	signFn  func(message []byte) ([]byte, error)
	spki    []byte // DER SubjectPublicKeyInfo of the public key
	keyID   string
	typ     string
	expires time.Time
}

// KeyID is the key's name in signatures and in /-/npm/v1/keys: "SHA256:"
// followed by the unpadded base64 of SHA-256 over the public key in SSH wire
// format (the OpenSSH fingerprint).
func (k *Key) KeyID() string { return k.keyID }

// Type is KeyTypeP256 or KeyTypeEd25519.
func (k *Key) Type() string { return k.typ }

// Expires is when the key stops being valid for versions published from then
// on; the zero time means it never expires.
func (k *Key) Expires() time.Time { return k.expires }

// sign signs message with the private key and returns the raw signature bytes.
func (k *Key) sign(message []byte) ([]byte, error) {
	if k.signFn == nil {
		return nil, errors.New("key has no private half")
	}
	return k.signFn(message)
}

// signerFunc makes the closure a Key signs with: ECDSA over SHA-256 of the
// message, ASN.1 DER encoded, or plain Ed25519 over the message.
func signerFunc(priv crypto.Signer) (func([]byte) ([]byte, error), error) {
	switch priv := priv.(type) {
	case *ecdsa.PrivateKey:
		return func(message []byte) ([]byte, error) {
			digest := sha256.Sum256(message)
			sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
			if err != nil {
				return nil, fmt.Errorf("ecdsa sign: %w", err)
			}
			return sig, nil
		}, nil
	case ed25519.PrivateKey:
		return func(message []byte) ([]byte, error) {
			return ed25519.Sign(priv, message), nil
		}, nil
	}
	return nil, fmt.Errorf("private key %T: %w", priv, ErrUnsupported)
}

// The formatting methods below have value receivers, unlike the accessors, so
// that they also apply when a Key is printed by value.

// String names the key without showing any key material.
func (k Key) String() string {
	if k.keyID == "" {
		return "signing key (none)"
	}
	return "signing key " + k.keyID + " (" + k.typ + ")"
}

// GoString is like String, in Go syntax, for %#v.
func (k Key) GoString() string {
	return fmt.Sprintf("signing.Key{KeyID: %q, Type: %q}", k.keyID, k.typ)
}

// Format makes every fmt verb (%v, %+v, %s, %x, %d, ...) print String, and %#v
// print GoString, so that no verb can reach the private key.
func (k Key) Format(f fmt.State, verb rune) {
	s := k.String()
	if verb == 'v' && f.Flag('#') {
		s = k.GoString()
	}
	_, _ = io.WriteString(f, s)
}

// LogValue implements slog.LogValuer: the keyid and type only.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("keyid", k.keyID), slog.String("type", k.typ))
}

var (
	_ fmt.Stringer   = Key{}
	_ fmt.GoStringer = Key{}
	_ fmt.Formatter  = Key{}
	_ slog.LogValuer = Key{}
)

// sshWire encodes a public key in SSH wire format (RFC 4253 section 6.6, RFC
// 5656 section 3.1, RFC 8709 section 4): a sequence of uint32 big-endian
// length-prefixed strings. It returns the key's type name with it.
func sshWire(pub crypto.PublicKey) (typ string, wire []byte, err error) {
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		ek, err := pub.ECDH() // fails for any curve but the NIST ones
		if err != nil {
			return "", nil, fmt.Errorf("ecdsa public key: %w", err)
		}
		if pub.Curve.Params().Name != "P-256" {
			return "", nil, fmt.Errorf("ecdsa curve %s: %w", pub.Curve.Params().Name, ErrUnsupported)
		}
		// ek.Bytes is the uncompressed point 0x04 || X || Y.
		return KeyTypeP256, appendSSHStrings(nil, []byte(KeyTypeP256), []byte("nistp256"), ek.Bytes()), nil
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return "", nil, errors.New("ed25519 public key has the wrong length")
		}
		return KeyTypeEd25519, appendSSHStrings(nil, []byte(KeyTypeEd25519), pub), nil
	}
	return "", nil, fmt.Errorf("public key %T: %w", pub, ErrUnsupported)
}

func appendSSHStrings(b []byte, fields ...[]byte) []byte {
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// fingerprint is the OpenSSH SHA-256 fingerprint of an SSH wire-format key.
func fingerprint(wire []byte) string {
	sum := sha256.Sum256(wire)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}
