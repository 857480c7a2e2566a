package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

const (
	// maxKeyFileBytes bounds a key file; a few PEM keys take a few hundred bytes.
	maxKeyFileBytes = 1 << 20
	// maxKeys bounds a keyring and an upstream key document alike, so that every
	// keyring's PublicKeys is a document ParseKeys accepts.
	maxKeys = 64
	// expiresHeader is the one PEM header a key block may carry.
	expiresHeader = "Expires"
)

var pemBegin = []byte("-----BEGIN")

// Keyring is the configured keys: the first one not yet expired signs, and all
// of them are published, so that signatures made before a rotation still
// verify. A Keyring is immutable and safe for concurrent use. Its signing key is
// chosen when it is parsed; parse it again to move on from a key that has since
// expired.
type Keyring struct {
	keys   []*Key
	signer *Key
}

// ParsePEM reads one or more PEM blocks of type "PRIVATE KEY" (unencrypted
// PKCS #8) each holding an ECDSA P-256 or an Ed25519 key. A block may carry an
// "Expires" header, an RFC 3339 time that becomes the key's expiry; any other
// header is refused. Another block type, another curve or algorithm, a
// malformed block, an unparsable header, or the same key twice is an error
// naming the block's position (from 1), never its contents. There must be at
// least one key and at most 64.
//
// The signing key is the first whose expiry is unset or after now; if every key
// has expired, that is an error.
func ParsePEM(data []byte, now time.Time) (*Keyring, error) {
	var keys []*Key
	rest := data
	for n := 1; ; n++ {
		block, after := pem.Decode(rest)
		if block == nil {
			if bytes.Contains(rest, pemBegin) {
				return nil, fmt.Errorf("signing keys: pem block %d is malformed", n)
			}
			break
		}
		// pem.Decode skips a block it cannot parse and goes on to the next one;
		// a second BEGIN line in what it consumed is such a skipped block.
		if bytes.Count(rest[:len(rest)-len(after)], pemBegin) > 1 {
			return nil, fmt.Errorf("signing keys: pem block %d is malformed", n)
		}
		rest = after
		if len(keys) == maxKeys {
			return nil, fmt.Errorf("signing keys: more than %d keys", maxKeys)
		}
		k, err := parseBlock(block)
		if err != nil {
			return nil, fmt.Errorf("signing keys: pem block %d: %w", n, err)
		}
		for i, prev := range keys {
			if prev.keyID == k.keyID {
				return nil, fmt.Errorf("signing keys: pem block %d: same key as block %d (%s)", n, i+1, k.keyID)
			}
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New(`signing keys: no "PRIVATE KEY" pem block found`)
	}
	r := &Keyring{keys: keys}
	for _, k := range keys {
		if k.expires.IsZero() || k.expires.After(now) {
			r.signer = k
			break
		}
	}
	if r.signer == nil {
		return nil, fmt.Errorf("signing keys: all %d keys have expired by %s", len(keys), now.UTC().Format(time.RFC3339))
	}
	return r, nil
}

// parseBlock turns one PEM block into a Key. Its errors name what is wrong with
// the block and never include the block's bytes or the x509 parser's message.
func parseBlock(block *pem.Block) (*Key, error) {
	switch block.Type {
	case "PRIVATE KEY":
	case "EC PRIVATE KEY":
		return nil, errors.New(`type "EC PRIVATE KEY" (SEC 1) is not supported, want "PRIVATE KEY" (PKCS #8); convert it with openssl pkcs8 -topk8 -nocrypt`)
	case "RSA PRIVATE KEY":
		return nil, errors.New(`type "RSA PRIVATE KEY" (PKCS #1) is not supported: RSA keys are not, want an ECDSA P-256 or Ed25519 key in a "PRIVATE KEY" (PKCS #8) block`)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New(`type "ENCRYPTED PRIVATE KEY" is not supported, want an unencrypted "PRIVATE KEY" (PKCS #8) block`)
	default:
		return nil, fmt.Errorf(`type %q is not supported, want "PRIVATE KEY" (PKCS #8)`, echoPEM(block.Type))
	}

	var expires time.Time
	for _, name := range slices.Sorted(maps.Keys(block.Headers)) {
		if name != expiresHeader {
			return nil, fmt.Errorf("unknown header %q, only %q is allowed", echoPEM(name), expiresHeader)
		}
		v := strings.TrimSpace(block.Headers[name])
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("%s header %q is not an RFC 3339 time", expiresHeader, echoPEM(v))
		}
		expires = t
	}

	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		// The parser's message is not repeated: this is key material.
		return nil, errors.New("not a valid PKCS #8 private key")
	}
	var signer crypto.Signer
	switch priv := parsed.(type) {
	case *ecdsa.PrivateKey:
		if name := priv.Curve.Params().Name; name != "P-256" {
			return nil, fmt.Errorf("ECDSA curve %s is not supported, want P-256", clip(name))
		}
		signer = priv
	case ed25519.PrivateKey:
		signer = priv
	case *rsa.PrivateKey:
		return nil, errors.New("RSA keys are not supported, want ECDSA P-256 or Ed25519")
	case *ecdh.PrivateKey:
		return nil, errors.New("X25519 keys cannot sign, want ECDSA P-256 or Ed25519")
	default:
		return nil, fmt.Errorf("%T keys are not supported, want ECDSA P-256 or Ed25519", parsed)
	}

	pub := signer.Public()
	typ, wire, err := sshWire(pub)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	signFn, err := signerFunc(signer)
	if err != nil {
		return nil, err
	}
	return &Key{
		signFn:  signFn,
		spki:    spki,
		keyID:   fingerprint(wire),
		typ:     typ,
		expires: expires,
	}, nil
}

// LoadFile reads a key file and parses it with ParsePEM. A file larger than
// 1 MiB is refused. Errors name the path.
func LoadFile(path string, now time.Time) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load signing keys: read %s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("load signing keys: %s is larger than 1 MiB", path)
	}
	r, err := ParsePEM(data, now)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return r, nil
}

// Signer is the key that Sign uses: the first key that had not expired when
// the keyring was parsed.
func (r *Keyring) Signer() *Key { return r.signer }

// Keys is every key, in the order given, the signer among them. The slice is
// the caller's; the Keys are shared and immutable.
func (r *Keyring) Keys() []*Key { return slices.Clone(r.keys) }

// Signature is one entry of a version's dist.signatures.
type Signature struct {
	// KeyID names the key that made Sig; see Key.KeyID.
	KeyID string `json:"keyid"`
	// Sig is the standard base64 of the signature bytes.
	Sig string `json:"sig"`
}

// message is what a registry signature covers.
func message(name, version, integrity string) string {
	return name + "@" + version + ":" + integrity
}

// Sign returns the dist.signatures entry for name@version whose dist.integrity
// is integrity, made by the signing key. None of the three may be empty.
func (r *Keyring) Sign(name, version, integrity string) (Signature, error) {
	if r == nil || r.signer == nil {
		return Signature{}, errors.New("sign: keyring has no signing key")
	}
	if name == "" || version == "" || integrity == "" {
		return Signature{}, fmt.Errorf("sign %q@%q: name, version and integrity must not be empty", clip(name), clip(version))
	}
	sig, err := r.signer.sign([]byte(message(name, version, integrity)))
	if err != nil {
		return Signature{}, fmt.Errorf("sign %s@%s: %w", clip(name), clip(version), err)
	}
	return Signature{KeyID: r.signer.keyID, Sig: base64.StdEncoding.EncodeToString(sig)}, nil
}

// PublicKeys is every key as an entry of /-/npm/v1/keys, in keyring order.
// Expires is nil (JSON null) for a key that does not expire.
func (r *Keyring) PublicKeys() []PublicKey {
	out := make([]PublicKey, 0, len(r.keys))
	for _, k := range r.keys {
		pk := PublicKey{
			KeyID:   k.keyID,
			KeyType: k.typ,
			Scheme:  k.typ,
			Key:     base64.StdEncoding.EncodeToString(k.spki),
		}
		if !k.expires.IsZero() {
			e := k.expires.UTC()
			pk.Expires = &e
		}
		out = append(out, pk)
	}
	return out
}
