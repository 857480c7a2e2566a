package signing

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseKeys feeds hostile key documents: ParseKeys must not panic, must
// keep its bounds, and everything it returns must be usable by a Verifier.
func FuzzParseKeys(f *testing.F) {
	f.Add([]byte(registryKeysBody))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"keyid":"a","keytype":"ssh-rsa","key":"AAAA","expires":""}]}`))
	f.Add([]byte(`{"keys":[1,null,{"keyid":"a","keytype":"ecdsa-sha2-nistp256","key":"!!","expires":12}]}`))
	for _, file := range []string{"rotation.pem", "ed25519.pem"} {
		r := mustKeyring(f, file, rotationNow)
		body, err := json.Marshal(KeysDocument{Keys: r.PublicKeys()})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := ParseKeys(body)
		if err != nil {
			if len(err.Error()) > 200 {
				t.Errorf("ParseKeys() error is %d bytes long", len(err.Error()))
			}
			return
		}
		if doc.Keys == nil || len(doc.Keys) > maxKeys {
			t.Fatalf("ParseKeys() = %d keys (nil %v), want a non-nil slice of at most %d", len(doc.Keys), doc.Keys == nil, maxKeys)
		}
		for _, k := range doc.Keys {
			if k.KeyID == "" || k.Key == "" {
				t.Errorf("ParseKeys() kept %+v, want keyid and key set", k)
			}
			if _, err := parsePublic(k); err != nil && !errors.Is(err, ErrUnsupported) {
				t.Errorf("ParseKeys() kept %+v with unusable material: %v", k, err)
			}
		}
		v := NewVerifier(doc.Keys)
		for _, k := range doc.Keys {
			_, err := v.Verify("pkg", "1.0.0", "sha512-x", []Signature{{KeyID: k.KeyID, Sig: "MEUCIQ=="}}, time.Time{})
			if err == nil {
				t.Errorf("Verify(junk signature) with %+v = nil error", k)
			}
			if errors.Is(err, ErrNoKey) {
				t.Errorf("Verify() says %v for kept key %s", err, k.KeyID)
			}
		}
	})
}

// FuzzParsePEM feeds arbitrary key files: ParsePEM must not panic, a keyring
// it returns must sign and verify, and its errors must not echo the input's
// key material.
func FuzzParsePEM(f *testing.F) {
	for _, file := range []string{"p256.pem", "ed25519.pem", "rotation.pem", "rsa.pem", "rsa-pkcs1.pem", "p384.pem", "sec1.pem", "x25519.pem"} {
		f.Add(readTestdata(f, file))
	}
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nExpires: soon\n\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParsePEM(data, rotationNow)
		if err != nil {
			msg := err.Error()
			if len(msg) > 400 {
				t.Errorf("ParsePEM() error is %d bytes long", len(msg))
			}
			if strings.Contains(msg, "-----") {
				t.Errorf("ParsePEM() error %q repeats PEM text", msg)
			}
			return
		}
		keys := r.Keys()
		if len(keys) == 0 || len(keys) > maxKeys || r.Signer() == nil {
			t.Fatalf("ParsePEM() = %d keys, signer %v", len(keys), r.Signer())
		}
		sig, err := r.Sign("pkg", "1.0.0", "sha512-x")
		if err != nil {
			t.Fatalf("Sign() = %v", err)
		}
		if _, err := Verify(r.PublicKeys(), "pkg", "1.0.0", "sha512-x", sig, rotationNow); err != nil {
			t.Fatalf("Verify(Sign()) = %v", err)
		}
	})
}
