package signing

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// maxKeysDocBytes bounds an upstream /-/npm/v1/keys body.
const maxKeysDocBytes = 1 << 20

// PublicKey is one entry of /-/npm/v1/keys.
type PublicKey struct {
	// Expires is when the key stopped being valid for versions published from
	// then on; nil (JSON null) means it does not expire.
	Expires *time.Time `json:"expires"`
	// KeyID names the key in signatures; see Key.KeyID.
	KeyID string `json:"keyid"`
	// KeyType is KeyTypeP256 or KeyTypeEd25519 for a key this package can use.
	KeyType string `json:"keytype"`
	// Scheme is the signature scheme, the same string as KeyType.
	Scheme string `json:"scheme"`
	// Key is the standard base64 of the DER SubjectPublicKeyInfo.
	Key string `json:"key"`
}

// KeysDocument is the body of /-/npm/v1/keys.
type KeysDocument struct {
	// Keys is every published key; empty (never nil from ParseKeys) when the
	// registry publishes none.
	Keys []PublicKey `json:"keys"`
}

// ParseKeys reads a /-/npm/v1/keys body from an upstream, which is hostile
// input. A body over 1 MiB, one that is not a JSON object with a "keys" array,
// or one with more than 64 entries is an error. Field names match exactly, as
// they do for the npm CLI, and unknown fields are ignored. An entry is dropped,
// without error, when it is not an object, lacks a keyid, keytype or key
// string, has an expires that is neither null nor an RFC 3339 time, or, for a
// keytype this package supports, has key material that is not a public key of
// that type. Entries of other keytypes are kept, so that Verify can say
// ErrUnsupported rather than ErrNoKey. As for the npm CLI, an empty expires
// string means no expiry.
func ParseKeys(body []byte) (KeysDocument, error) {
	if len(body) > maxKeysDocBytes {
		return KeysDocument{}, fmt.Errorf("keys document: %d bytes is over the 1 MiB limit", len(body))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return KeysDocument{}, errors.New("keys document: not a JSON object")
	}
	raw, ok := top["keys"]
	if !ok {
		return KeysDocument{}, errors.New(`keys document: no "keys" array`)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil || entries == nil {
		return KeysDocument{}, errors.New(`keys document: "keys" is not an array`)
	}
	if len(entries) > maxKeys {
		return KeysDocument{}, fmt.Errorf("keys document: %d keys is more than %d", len(entries), maxKeys)
	}
	doc := KeysDocument{Keys: make([]PublicKey, 0, len(entries))}
	for _, e := range entries {
		pk, ok := parseKeyEntry(e)
		if !ok {
			continue
		}
		if _, err := parsePublic(pk); err != nil && !errors.Is(err, ErrUnsupported) {
			continue
		}
		doc.Keys = append(doc.Keys, pk)
	}
	return doc, nil
}

// parseKeyEntry reads one entry of the keys array, matching field names
// exactly. It reports false for an entry to drop.
func parseKeyEntry(raw json.RawMessage) (PublicKey, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return PublicKey{}, false
	}
	str := func(name string) (string, bool) {
		v, ok := fields[name]
		if !ok {
			return "", false
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false
		}
		return s, true
	}
	var pk PublicKey
	var ok bool
	if pk.KeyID, ok = str("keyid"); !ok || pk.KeyID == "" {
		return PublicKey{}, false
	}
	if pk.KeyType, ok = str("keytype"); !ok {
		return PublicKey{}, false
	}
	if pk.Key, ok = str("key"); !ok || pk.Key == "" {
		return PublicKey{}, false
	}
	if _, present := fields["scheme"]; present {
		if pk.Scheme, ok = str("scheme"); !ok {
			return PublicKey{}, false
		}
	}
	if v, present := fields["expires"]; present && string(v) != "null" {
		s, ok := str("expires")
		if !ok {
			return PublicKey{}, false
		}
		if s != "" { // the npm CLI treats a falsy expires as none
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return PublicKey{}, false
			}
			pk.Expires = &t
		}
	}
	return pk, true
}

// parsePublic decodes a PublicKey's key material. The error wraps
// ErrUnsupported when the keytype or scheme is not one this package checks;
// any other error means the material is unusable for its keytype.
func parsePublic(pk PublicKey) (crypto.PublicKey, error) {
	switch pk.KeyType {
	case KeyTypeP256, KeyTypeEd25519:
	default:
		return nil, fmt.Errorf("keytype %q: %w", clip(pk.KeyType), ErrUnsupported)
	}
	if pk.Scheme != "" && pk.Scheme != pk.KeyType {
		return nil, fmt.Errorf("scheme %q with keytype %q: %w", clip(pk.Scheme), pk.KeyType, ErrUnsupported)
	}
	der, err := base64.StdEncoding.DecodeString(stripSpace(pk.Key))
	if err != nil {
		return nil, errors.New("key is not base64")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("key is not a DER SubjectPublicKeyInfo")
	}
	typ, _, err := sshWire(pub)
	if err != nil || typ != pk.KeyType {
		return nil, fmt.Errorf("key material is not a %s key", pk.KeyType)
	}
	return pub, nil
}

// stripSpace removes ASCII whitespace, which PEM bodies and Node's base64
// decoder both ignore.
func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}
