package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParsePEM(t *testing.T) {
	p256 := readTestdata(t, "p256.pem")
	ed := readTestdata(t, "ed25519.pem")
	rotation := readTestdata(t, "rotation.pem")
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	withHeader := func(data []byte, name, value string) []byte {
		b, _ := pem.Decode(data)
		b.Headers = map[string]string{name: value}
		return pem.EncodeToMemory(b)
	}
	corrupt := func(data []byte) []byte {
		b, _ := pem.Decode(data)
		b.Bytes = append([]byte(nil), b.Bytes...)
		b.Bytes[len(b.Bytes)/2] ^= 0xff
		b.Bytes = b.Bytes[:len(b.Bytes)-3]
		return pem.EncodeToMemory(b)
	}
	many := func(n int) []byte {
		var out []byte
		for range n {
			out = append(out, freshEd25519PEM(t)...)
		}
		return out
	}

	tests := []struct {
		name       string
		data       []byte
		now        time.Time
		wantTypes  []string // the keys' types, in order
		wantSigner int      // index of the signing key
		wantErr    string   // substring of the error; "" for success
	}{
		{name: "p256", data: p256, now: rotationNow, wantTypes: []string{KeyTypeP256}},
		{name: "ed25519", data: ed, now: rotationNow, wantTypes: []string{KeyTypeEd25519}},
		{name: "two keys, first signs", data: cat(p256, ed), now: rotationNow, wantTypes: []string{KeyTypeP256, KeyTypeEd25519}},
		{name: "text around blocks", data: cat([]byte("# the signing keys\n"), p256, []byte("\n\n"), ed, []byte("\n")), now: rotationNow,
			wantTypes: []string{KeyTypeP256, KeyTypeEd25519}},
		{name: "rotation: first unexpired signs", data: rotation, now: rotationNow,
			wantTypes: []string{KeyTypeP256, KeyTypeEd25519, KeyTypeP256}, wantSigner: 1},
		{name: "rotation: later, the key without expiry signs", data: rotation, now: rotationMidExpiry.Add(time.Second),
			wantTypes: []string{KeyTypeP256, KeyTypeEd25519, KeyTypeP256}, wantSigner: 2},
		{name: "rotation: expiry equal to now is expired", data: rotation, now: rotationMidExpiry,
			wantTypes: []string{KeyTypeP256, KeyTypeEd25519, KeyTypeP256}, wantSigner: 2},
		{name: "rotation: before every expiry the first signs", data: rotation, now: rotationOldExpiry.Add(-time.Second),
			wantTypes: []string{KeyTypeP256, KeyTypeEd25519, KeyTypeP256}, wantSigner: 0},
		{name: "expires with fraction and offset", data: withHeader(p256, "Expires", "2030-01-01T10:00:00.5+02:00"), now: rotationNow,
			wantTypes: []string{KeyTypeP256}},
		{name: "64 keys", data: many(64), now: rotationNow, wantTypes: nil /* not checked */},

		{name: "all expired", data: withHeader(p256, "Expires", "2020-01-01T00:00:00Z"), now: rotationNow, wantErr: "all 1 keys have expired"},
		{name: "empty", data: nil, now: rotationNow, wantErr: `no "PRIVATE KEY" pem block found`},
		{name: "not pem", data: []byte("hello"), now: rotationNow, wantErr: `no "PRIVATE KEY" pem block found`},
		{name: "rsa pkcs8", data: readTestdata(t, "rsa.pem"), now: rotationNow, wantErr: "pem block 1: RSA keys are not supported"},
		{name: "rsa pkcs1", data: readTestdata(t, "rsa-pkcs1.pem"), now: rotationNow, wantErr: `pem block 1: type "RSA PRIVATE KEY" (PKCS #1) is not supported`},
		{name: "p384", data: readTestdata(t, "p384.pem"), now: rotationNow, wantErr: "pem block 1: ECDSA curve P-384 is not supported, want P-256"},
		{name: "sec1", data: readTestdata(t, "sec1.pem"), now: rotationNow, wantErr: `pem block 1: type "EC PRIVATE KEY" (SEC 1) is not supported`},
		{name: "x25519", data: readTestdata(t, "x25519.pem"), now: rotationNow, wantErr: "pem block 1: X25519 keys cannot sign"},
		{name: "rsa second", data: cat(p256, readTestdata(t, "rsa.pem")), now: rotationNow, wantErr: "pem block 2: RSA keys are not supported"},
		{name: "certificate", data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), now: rotationNow,
			wantErr: `pem block 1: type "CERTIFICATE" is not supported`},
		{name: "encrypted", data: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), now: rotationNow,
			wantErr: `pem block 1: type "ENCRYPTED PRIVATE KEY" is not supported`},
		{name: "bad expires", data: cat(p256, withHeader(ed, "Expires", "next tuesday")), now: rotationNow,
			wantErr: `pem block 2: Expires header "next tuesday" is not an RFC 3339 time`},
		{name: "date-only expires", data: withHeader(ed, "Expires", "2030-01-01"), now: rotationNow,
			wantErr: `pem block 1: Expires header "2030-01-01" is not an RFC 3339 time`},
		{name: "unknown header", data: withHeader(p256, "Proc-Type", "4,ENCRYPTED"), now: rotationNow,
			wantErr: `pem block 1: unknown header "Proc-Type"`},
		{name: "corrupt der", data: corrupt(p256), now: rotationNow, wantErr: "pem block 1: not a valid PKCS #8 private key"},
		{name: "same key twice", data: cat(p256, ed, p256), now: rotationNow, wantErr: "pem block 3: same key as block 1"},
		{name: "truncated second block", data: cat(p256, ed[:len(ed)-10]), now: rotationNow, wantErr: "pem block 2 is malformed"},
		{name: "broken block before a good one", data: cat(p256, []byte("-----BEGIN PRIVATE KEY-----\n!!!\n"), ed), now: rotationNow,
			wantErr: "pem block 2 is malformed"},
		{name: "65 keys", data: many(65), now: rotationNow, wantErr: "more than 64 keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParsePEM(tt.data, tt.now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePEM() error = %v, want one containing %q", err, tt.wantErr)
				}
				assertNoKeyMaterial(t, err.Error(), tt.data)
				return
			}
			if err != nil {
				t.Fatalf("ParsePEM() = %v, want no error", err)
			}
			keys := r.Keys()
			if tt.wantTypes != nil {
				var got []string
				for _, k := range keys {
					got = append(got, k.Type())
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.wantTypes) {
					t.Errorf("key types = %v, want %v", got, tt.wantTypes)
				}
			}
			if r.Signer() != keys[tt.wantSigner] {
				t.Errorf("Signer() = %v, want key %d (%v)", r.Signer(), tt.wantSigner, keys[tt.wantSigner])
			}
			for i, k := range keys {
				if !strings.HasPrefix(k.KeyID(), "SHA256:") || len(k.KeyID()) != len("SHA256:")+43 {
					t.Errorf("key %d KeyID() = %q, want SHA256: and 43 base64 characters", i, k.KeyID())
				}
			}
		})
	}
}

func TestParsePEMExpires(t *testing.T) {
	r := mustKeyring(t, "rotation.pem", rotationNow)
	keys := r.Keys()
	want := []time.Time{rotationOldExpiry, rotationMidExpiry, {}}
	for i, k := range keys {
		if !k.Expires().Equal(want[i]) {
			t.Errorf("key %d Expires() = %v, want %v", i, k.Expires(), want[i])
		}
	}
	// Keys returns a copy.
	keys[0] = nil
	if r.Keys()[0] == nil {
		t.Error("Keys() shares its slice with the keyring")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "keys.pem")
	if err := os.WriteFile(good, readTestdata(t, "rotation.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, append(readTestdata(t, "p256.pem"), bytes.Repeat([]byte("\n"), 1<<20)...), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "rsa.pem")
	if err := os.WriteFile(bad, readTestdata(t, "rsa.pem"), 0o600); err != nil {
		t.Fatal(err)
	}

	r, err := LoadFile(good, rotationNow)
	if err != nil {
		t.Fatalf("LoadFile(good) = %v", err)
	}
	if got := len(r.Keys()); got != 3 {
		t.Errorf("LoadFile(good) has %d keys, want 3", got)
	}

	for _, tt := range []struct {
		name, path, want string
		is               error
	}{
		{name: "missing", path: filepath.Join(dir, "nope.pem"), want: "nope.pem", is: os.ErrNotExist},
		{name: "too big", path: big, want: big + " is larger than 1 MiB"},
		{name: "rsa", path: bad, want: "load " + bad + ": signing keys: pem block 1: RSA keys are not supported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFile(tt.path, rotationNow)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadFile(%s) = %v, want an error containing %q", tt.name, err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("LoadFile(%s) = %v, want errors.Is %v", tt.name, err, tt.is)
			}
		})
	}
}

func TestPublicKeys(t *testing.T) {
	r := mustKeyring(t, "rotation.pem", rotationNow)
	body, err := json.Marshal(KeysDocument{Keys: r.PublicKeys()})
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Keys) != 3 {
		t.Fatalf("published %d keys, want 3: %s", len(raw.Keys), body)
	}
	wantExpires := []any{"2021-01-01T00:00:00Z", "2031-01-01T00:00:00Z", nil}
	for i, k := range raw.Keys {
		key := r.Keys()[i]
		if v, ok := k["expires"]; !ok || v != wantExpires[i] {
			t.Errorf("key %d expires = %v (present %v), want %v present", i, v, ok, wantExpires[i])
		}
		if k["keyid"] != key.KeyID() || k["keytype"] != key.Type() || k["scheme"] != key.Type() {
			t.Errorf("key %d = %v, want keyid %s keytype and scheme %s", i, k, key.KeyID(), key.Type())
		}
		if len(k) != 5 {
			t.Errorf("key %d has fields %v, want exactly expires, keyid, keytype, scheme, key", i, k)
		}
	}
	// What we publish, ParseKeys reads back unchanged.
	doc, err := ParseKeys(body)
	if err != nil {
		t.Fatalf("ParseKeys(PublicKeys) = %v", err)
	}
	again, _ := json.Marshal(doc)
	if !bytes.Equal(again, body) {
		t.Errorf("ParseKeys round trip = %s, want %s", again, body)
	}
}

func TestSign(t *testing.T) {
	for _, file := range []string{"p256.pem", "ed25519.pem", "rotation.pem"} {
		t.Run(file, func(t *testing.T) {
			r := mustKeyring(t, file, rotationNow)
			sig, err := r.Sign("@scope/pkg", "1.2.3", "sha512-abc==")
			if err != nil {
				t.Fatalf("Sign() = %v", err)
			}
			if sig.KeyID != r.Signer().KeyID() {
				t.Errorf("Sign().KeyID = %s, want the signer's %s", sig.KeyID, r.Signer().KeyID())
			}
			raw, err := base64.StdEncoding.Strict().DecodeString(sig.Sig)
			if err != nil {
				t.Fatalf("Sign().Sig is not standard base64: %v", err)
			}
			if r.Signer().Type() == KeyTypeEd25519 && len(raw) != ed25519.SignatureSize {
				t.Errorf("ed25519 signature is %d bytes, want %d", len(raw), ed25519.SignatureSize)
			}
			got, err := Verify(r.PublicKeys(), "@scope/pkg", "1.2.3", "sha512-abc==", sig, rotationNow)
			if err != nil || got != sig.KeyID {
				t.Errorf("Verify(Sign()) = %q, %v, want %q", got, err, sig.KeyID)
			}
		})
	}
	r := mustKeyring(t, "p256.pem", rotationNow)
	for _, in := range [][3]string{{"", "1.0.0", "sha512-x"}, {"a", "", "sha512-x"}, {"a", "1.0.0", ""}} {
		if _, err := r.Sign(in[0], in[1], in[2]); err == nil {
			t.Errorf("Sign(%q, %q, %q) = nil error, want one", in[0], in[1], in[2])
		}
	}
	if _, err := new(Keyring).Sign("a", "1", "x"); err == nil {
		t.Error("zero Keyring Sign() = nil error, want one")
	}
}

// TestNoKeyMaterialInOutput prints keys every way a caller might and checks
// that no representation of the private key comes out.
func TestNoKeyMaterialInOutput(t *testing.T) {
	for _, file := range []string{"p256.pem", "ed25519.pem"} {
		t.Run(file, func(t *testing.T) {
			data := readTestdata(t, file)
			r := mustKeyring(t, file, rotationNow)
			k := r.Signer()
			block, _ := pem.Decode(data)
			parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			var secret []byte
			switch priv := parsed.(type) {
			case *ecdsa.PrivateKey:
				ek, err := priv.ECDH()
				if err != nil {
					t.Fatal(err)
				}
				secret = ek.Bytes()
			case ed25519.PrivateKey:
				secret = priv.Seed()
			}
			needles := secretForms(secret)

			type wrapper struct {
				K Key
				k *Key
				v Key
			}
			values := []any{k, *k, []*Key{k}, r, *r, wrapper{K: *k, k: k, v: *k}, &wrapper{K: *k, k: k, v: *k}}
			var outs []string
			for _, v := range values {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%T"} {
					outs = append(outs, fmt.Sprintf(verb, v))
				}
			}
			var buf bytes.Buffer
			for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
				slog.New(h).Info("key", "key", k, "value", *k, "keyring", r, "keys", r.Keys())
			}
			outs = append(outs, buf.String())
			for _, out := range outs {
				for _, n := range needles {
					if strings.Contains(out, n) {
						t.Fatalf("output %q contains the private key (as %q)", out, n)
					}
				}
				assertNoKeyMaterial(t, out, data)
			}
			if got, want := fmt.Sprint(k), "signing key "+k.KeyID()+" ("+k.Type()+")"; got != want {
				t.Errorf("fmt.Sprint(key) = %q, want %q", got, want)
			}
			if !strings.Contains(buf.String(), `"keyid":"`+k.KeyID()+`"`) {
				t.Errorf("slog JSON = %s, want the keyid under keyid", buf.String())
			}
		})
	}
}

// secretForms is the ways fmt or a logger could spell secret.
func secretForms(secret []byte) []string {
	forms := []string{
		hex.EncodeToString(secret),
		strings.ToUpper(hex.EncodeToString(secret)),
		base64.StdEncoding.EncodeToString(secret)[:16],
		base64.RawURLEncoding.EncodeToString(secret)[:16],
		new(big.Int).SetBytes(secret).String(),
		decimalList(secret[:8]),
		fmt.Sprintf("%q", secret)[1:17],
	}
	return forms
}

// decimalList spells b as fmt prints a []byte: "1 2 3".
func decimalList(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = strconv.Itoa(int(c))
	}
	return strings.Join(parts, " ")
}

// assertNoKeyMaterial fails when out repeats any line of the base64 bodies of
// the PEM blocks in data, or a 16-character piece of one.
func assertNoKeyMaterial(t *testing.T, out string, data []byte) {
	t.Helper()
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return
		}
		enc := base64.StdEncoding.EncodeToString(b.Bytes)
		for i := 0; i+16 <= len(enc); i += 8 {
			if strings.Contains(out, enc[i:i+16]) {
				t.Fatalf("output %q repeats key material %q", out, enc[i:i+16])
			}
		}
	}
}
