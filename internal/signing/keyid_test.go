package signing

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The registry's own P-256 key, as it publishes it, and the keyid it gives it.
// Public data: it shows that KeyID derives keyids the way the registry does.
const (
	registryKeyID   = "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"
	registryKeySPKI = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i6UPp+IhuteBJbuHcA5UogKo0EWtlWwW6KSaKoTNEYL7JlCQiVnkhBktUgg=="
)

// SPKI prefixes: everything before the raw public key bytes.
var (
	spkiPrefixP256    = mustHex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
	spkiPrefixEd25519 = mustHex("302a300506032b6570032100")
)

// opensshLine writes a public key, given as the base64 of its SPKI, in OpenSSH
// public key format. It works from the DER bytes, independently of the
// package's own encoding.
func opensshLine(t *testing.T, spkiB64 string) (typ, line string) {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(spkiB64)
	if err != nil {
		t.Fatal(err)
	}
	str := func(b []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
	}
	var wire []byte
	switch {
	case bytes.HasPrefix(der, spkiPrefixP256) && len(der) == len(spkiPrefixP256)+65:
		typ = "ecdsa-sha2-nistp256"
		wire = bytes.Join([][]byte{str([]byte(typ)), str([]byte("nistp256")), str(der[len(spkiPrefixP256):])}, nil)
	case bytes.HasPrefix(der, spkiPrefixEd25519) && len(der) == len(spkiPrefixEd25519)+32:
		typ = "ssh-ed25519"
		wire = bytes.Join([][]byte{str([]byte(typ)), str(der[len(spkiPrefixEd25519):])}, nil)
	default:
		t.Fatalf("unexpected SPKI %x", der)
	}
	return typ, typ + " " + base64.StdEncoding.EncodeToString(wire) + " test"
}

// fingerprintOfLine is the OpenSSH SHA-256 fingerprint of an OpenSSH public
// key line, computed the way ssh-keygen -l documents it.
func fingerprintOfLine(t *testing.T, line string) string {
	t.Helper()
	wire, err := base64.StdEncoding.DecodeString(strings.Fields(line)[1])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(wire)
	return "SHA256:" + strings.TrimRight(base64.StdEncoding.EncodeToString(sum[:]), "=")
}

func TestKeyIDIsOpenSSHFingerprint(t *testing.T) {
	sshKeygen, lookErr := exec.LookPath("ssh-keygen")
	if lookErr != nil {
		t.Log("ssh-keygen is not installed: the ssh-keygen cross-check is skipped; the independent fingerprint is still checked")
	}
	type tc struct {
		name, spki, keyID string
	}
	cases := []tc{{name: "registry key", spki: registryKeySPKI, keyID: registryKeyID}}
	for _, file := range []string{"p256.pem", "ed25519.pem", "rotation.pem"} {
		r := mustKeyring(t, file, rotationNow)
		for i, pk := range r.PublicKeys() {
			cases = append(cases, tc{name: file + "/" + string(rune('0'+i)), spki: pk.Key, keyID: pk.KeyID})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, line := opensshLine(t, c.spki)
			if got := fingerprintOfLine(t, line); got != c.keyID {
				t.Errorf("fingerprint of %s = %s, want keyid %s", line, got, c.keyID)
			}
			// The package's own derivation from the parsed key.
			pub, err := parsePublic(PublicKey{KeyID: c.keyID, KeyType: typ, Scheme: typ, Key: c.spki})
			if err != nil {
				t.Fatal(err)
			}
			_, wire, err := sshWire(pub)
			if err != nil {
				t.Fatal(err)
			}
			if got := fingerprint(wire); got != c.keyID {
				t.Errorf("fingerprint(sshWire) = %s, want %s", got, c.keyID)
			}
			if lookErr != nil {
				return
			}

			dir := t.TempDir()
			pubFile := filepath.Join(dir, "key.pub")
			if err := os.WriteFile(pubFile, []byte(line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(sshKeygen, "-l", "-E", "sha256", "-f", pubFile).CombinedOutput()
			if err != nil {
				t.Fatalf("ssh-keygen -l: %v: %s", err, out)
			}
			if f := strings.Fields(string(out)); len(f) < 2 || f[1] != c.keyID {
				t.Errorf("ssh-keygen -l = %q, want fingerprint %s", out, c.keyID)
			}

			// ssh-keygen can also convert the SPKI itself (OpenSSH supports
			// P-256 here, not Ed25519): its line must be ours.
			if typ != KeyTypeP256 {
				return
			}
			pemFile := filepath.Join(dir, "key.pem")
			der, _ := base64.StdEncoding.DecodeString(c.spki)
			if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
			conv, err := exec.Command(sshKeygen, "-i", "-m", "PKCS8", "-f", pemFile).Output()
			if err != nil {
				t.Fatalf("ssh-keygen -i -m PKCS8: %v", err)
			}
			if got, want := strings.Fields(string(conv))[:2], strings.Fields(line)[:2]; got[0] != want[0] || got[1] != want[1] {
				t.Errorf("ssh-keygen -i -m PKCS8 = %q, want %q", conv, line)
			}
		})
	}
}
