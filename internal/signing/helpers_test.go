package signing

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "regenerate the throwaway test keys under testdata/")

// Times the rotation fixture is built around.
var (
	rotationOldExpiry = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	rotationMidExpiry = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	rotationNow       = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
)

// TestGenerateTestdata writes the PEM fixtures under testdata/. They are
// throwaway keys made for these tests only. Run with -update to regenerate.
func TestGenerateTestdata(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata/")
	}
	pkcs8 := func(key any) *pem.Block {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	with := func(b *pem.Block, expires time.Time) *pem.Block {
		b.Headers = map[string]string{"Expires": expires.Format(time.RFC3339)}
		return b
	}
	ec := func(c elliptic.Curve) *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ed := func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ec(elliptic.P256()))
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	files := map[string][]*pem.Block{
		"p256.pem":    {pkcs8(ec(elliptic.P256()))},
		"ed25519.pem": {pkcs8(ed())},
		// An expired P-256 key, an Ed25519 key expiring in 2031, a P-256 key
		// with no expiry: at rotationNow the second one signs.
		"rotation.pem": {
			with(pkcs8(ec(elliptic.P256())), rotationOldExpiry),
			with(pkcs8(ed()), rotationMidExpiry),
			pkcs8(ec(elliptic.P256())),
		},
		"rsa.pem":       {pkcs8(rsaKey)},
		"rsa-pkcs1.pem": {{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}},
		"p384.pem":      {pkcs8(ec(elliptic.P384()))},
		"sec1.pem":      {{Type: "EC PRIVATE KEY", Bytes: sec1}},
		"x25519.pem":    {pkcs8(x25519)},
	}
	for name, blocks := range files {
		var out []byte
		for _, b := range blocks {
			out = append(out, pem.EncodeToMemory(b)...)
		}
		if err := os.WriteFile(filepath.Join("testdata", name), out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read testdata (regenerate with go test -run TestGenerateTestdata -update): %v", err)
	}
	return b
}

// mustKeyring parses a testdata PEM file at now.
func mustKeyring(t testing.TB, name string, now time.Time) *Keyring {
	t.Helper()
	r, err := ParsePEM(readTestdata(t, name), now)
	if err != nil {
		t.Fatalf("ParsePEM(%s) = %v", name, err)
	}
	return r
}

// signWith signs with a particular key of a keyring, as the signer would.
func signWith(t testing.TB, k *Key, name, version, integrity string) Signature {
	t.Helper()
	raw, err := k.sign([]byte(name + "@" + version + ":" + integrity))
	if err != nil {
		t.Fatal(err)
	}
	return Signature{KeyID: k.KeyID(), Sig: base64.StdEncoding.EncodeToString(raw)}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// freshEd25519PEM makes a fresh Ed25519 key as a PKCS #8 PEM block.
func freshEd25519PEM(t testing.TB) []byte {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
