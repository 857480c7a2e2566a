package signing

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeVerify checks each case the way the npm CLI does in `npm audit
// signatures` and in pacote: find the key by keyid, refuse it unless the
// version was published before it expired, build a PEM public key from its
// base64 SPKI, then crypto.verify('SHA256', message, key, sig) (and the older
// createVerify form). Mode "ed25519" checks the signature bytes with
// crypto.verify(null, ...) instead, which is what Ed25519 needs.
const nodeVerify = `
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const dir = process.argv[1];
const doc = JSON.parse(fs.readFileSync(path.join(dir, 'keys.json'), 'utf8'));
const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));
const keys = doc.keys.map((k) => ({ ...k, pemkey: '-----BEGIN PUBLIC KEY-----\n' + k.key + '\n-----END PUBLIC KEY-----' }));
const out = cases.map((c) => {
  const key = keys.filter((k) => k.keyid === c.signature.keyid)[0];
  if (!key) return 'nokey';
  if (key.expires && !(Date.parse(c.published) < Date.parse(key.expires))) return 'expired';
  const sig = Buffer.from(c.signature.sig, 'base64');
  try {
    if (c.mode === 'ed25519') {
      return String(crypto.verify(null, Buffer.from(c.message), crypto.createPublicKey(key.pemkey), sig));
    }
    const a = crypto.verify('SHA256', Buffer.from(c.message), { key: key.pemkey, format: 'pem', type: 'spki' }, sig);
    const v = crypto.createVerify('SHA256');
    v.write(c.message);
    v.end();
    const b = v.verify(key.pemkey, c.signature.sig, 'base64');
    return a === b ? String(a) : 'disagree';
  } catch (e) {
    return 'throws';
  }
});
process.stdout.write(JSON.stringify(out));
`

// TestNodeVerifiesLikeNPM has Node verify signatures and key documents this
// package makes, exactly as the npm CLI would, and checks that Verify reaches
// the same verdict on each. It fails when node is missing.
func TestNodeVerifiesLikeNPM(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the npm cross-check: %v", err)
	}
	r := mustKeyring(t, "rotation.pem", rotationNow)
	keys := r.Keys()
	old, mid, last := keys[0], keys[1], keys[2]
	single := mustKeyring(t, "p256.pem", rotationNow)
	sig, err := single.Sign("@scope/pkg", "1.2.3", "sha512-abc==")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ParseKeys([]byte(registryKeysBody))
	if err != nil {
		t.Fatal(err)
	}
	pubs := append(append(r.PublicKeys(), single.PublicKeys()...), reg.Keys...)

	type nodeCase struct {
		Message   string    `json:"message"`
		Signature Signature `json:"signature"`
		Published time.Time `json:"published"`
		Mode      string    `json:"mode,omitempty"`

		name, pkg, version, integrity string
		want                          string // node's verdict
	}
	mk := func(name, pkg, version, integrity string, s Signature, published time.Time, want string) nodeCase {
		return nodeCase{name: name, pkg: pkg, version: version, integrity: integrity,
			Message: pkg + "@" + version + ":" + integrity, Signature: s, Published: published, want: want}
	}
	ed := mk("ed25519 with npm's call", "pkg", "1.0.0", "sha512-x==", signWith(t, mid, "pkg", "1.0.0", "sha512-x=="), rotationNow, "throws")
	edRaw := ed
	edRaw.name, edRaw.Mode, edRaw.want = "ed25519 signature bytes", "ed25519", "true"
	tampered := mk("tampered message", "@scope/pkg", "1.2.3", "sha512-abd==", sig, rotationNow, "false")
	cases := []nodeCase{
		mk("p256 signer", "@scope/pkg", "1.2.3", "sha512-abc==", sig, rotationNow, "true"),
		mk("p256 rotated key, no expiry", "left-pad", "1.3.0", "sha512-abc==", signWith(t, last, "left-pad", "1.3.0", "sha512-abc=="), rotationNow, "true"),
		tampered,
		mk("old key before expiry", "a", "0.0.1", "sha1-x", signWith(t, old, "a", "0.0.1", "sha1-x"), rotationOldExpiry.Add(-time.Hour), "true"),
		mk("old key after expiry", "a", "0.0.1", "sha1-x", signWith(t, old, "a", "0.0.1", "sha1-x"), rotationNow, "expired"),
		mk("unknown keyid", "a", "0.0.1", "sha1-x", Signature{KeyID: "SHA256:nobody", Sig: sig.Sig}, rotationNow, "nokey"),
		ed,
		edRaw,
	}
	for _, v := range registryVectors {
		cases = append(cases, mk("registry "+v.name, v.name, v.version, v.integrity, Signature{KeyID: registryKeyID, Sig: v.sig}, v.published, "true"))
	}

	dir := t.TempDir()
	keysJSON, err := json.Marshal(KeysDocument{Keys: pubs})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(keysJSON), `"expires":null`) {
		t.Fatalf("keys document %s has no null expires", keysJSON)
	}
	casesJSON, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys.json"), keysJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cases.json"), casesJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, "-e", nodeVerify, dir).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("node: %v", err)
	}
	var verdicts []string
	if err := json.Unmarshal(out, &verdicts); err != nil || len(verdicts) != len(cases) {
		t.Fatalf("node printed %q, want %d verdicts", out, len(cases))
	}

	ours := map[string]error{"true": nil, "false": ErrBadSignature, "expired": ErrExpired, "nokey": ErrNoKey}
	v := NewVerifier(pubs)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if verdicts[i] != c.want {
				t.Fatalf("node verdict = %s, want %s", verdicts[i], c.want)
			}
			_, err := v.Verify(c.pkg, c.version, c.integrity, []Signature{c.Signature}, c.Published)
			if c.Mode == "ed25519" || c.want == "throws" {
				// npm cannot check Ed25519; this package can.
				if err != nil {
					t.Errorf("Verify(ed25519) = %v, want success", err)
				}
				return
			}
			want := ours[c.want]
			if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
				t.Errorf("Verify() = %v, node says %s", err, c.want)
			}
		})
	}
}
