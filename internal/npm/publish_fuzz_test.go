package npm

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// FuzzParsePublish holds ParsePublish to what it promises whatever it is given: it
// never panics, it refuses only with a *PublishError, and what it accepts is a valid
// name and version with a gzip tarball that matches every digest named for it; the
// accepted body, signed and re-encoded, is valid JSON that is accepted again with the
// same name, version, digests, tarball and dist-tags. The seeds are the table's bodies.
func FuzzParsePublish(f *testing.F) {
	for _, tc := range publishCases {
		_, body, url := tc.build(f)
		if tc.lim != (PublishLimits{}) {
			continue // the fuzz target runs with fixed limits
		}
		f.Add(body, url)
	}
	lim := PublishLimits{MaxBytes: 1 << 20, MaxTarballBytes: 256 << 10}
	f.Fuzz(func(t *testing.T, body []byte, url string) {
		p, err := ParsePublish(body, url, lim)
		if err != nil {
			checkPublishError(t, err)
			return
		}
		checkAccepted(t, p, url)

		enc, err := p.Encode()
		if err != nil {
			t.Fatalf("Encode() of an accepted body = %v", err)
		}
		if !jsontext.Value(enc).IsValid() {
			t.Fatalf("Encode() = %q, not valid JSON without repeated names", enc)
		}
		// What Écluse forwards carries its signature; a body that carries one is refused
		// when a client sends it, so the round trip is checked before signing.
		again, err := ParsePublish(enc, url, PublishLimits{MaxBytes: 2 << 20, MaxTarballBytes: lim.MaxTarballBytes})
		if err != nil {
			t.Fatalf("ParsePublish(Encode()) = %v, want nil\nbody:    %q\nencoded: %q", err, body, enc)
		}
		samePublish(t, again, p)
		checkAccepted(t, again, url)
		p.AddSignature("SHA256:fuzz", "c2lnbmF0dXJl")
		signed, err := p.Encode()
		if err != nil || !jsontext.Value(signed).IsValid() || !bytes.Contains(signed, []byte(`"keyid":"SHA256:fuzz"`)) {
			t.Fatalf("signed Encode() = %q, %v", signed, err)
		}
	})
}

// checkAccepted checks what ParsePublish accepted without its code.
func checkAccepted(t *testing.T, p *Publish, url string) {
	t.Helper()
	if p.Name != url || ValidateName(p.Name) != nil || strings.ToLower(p.Name) != p.Name {
		t.Errorf("accepted name %q for the URL name %q", p.Name, url)
	}
	if _, ok := parseStrict(p.Version); !ok {
		t.Errorf("accepted version %q, not strict semver", p.Version)
	}
	if len(p.Tarball) < 2 || p.Tarball[0] != 0x1f || p.Tarball[1] != 0x8b {
		t.Errorf("accepted a tarball that does not start as gzip: % x", p.Tarball[:min(len(p.Tarball), 4)])
	}
	sum := sha512.Sum512(p.Tarball)
	found := false
	for _, d := range ParseSRI(p.Integrity) {
		if d.Algorithm == SHA512 {
			found = true
			if d.Value != base64.StdEncoding.EncodeToString(sum[:]) {
				t.Errorf("Integrity %q holds a sha512 that is not the tarball's", p.Integrity)
			}
		}
	}
	if !found {
		t.Errorf("Integrity %q holds no sha512", p.Integrity)
	}
	if p.Shasum != sha1Hex(p.Tarball) {
		t.Errorf("Shasum = %q, want the tarball's", p.Shasum)
	}
	for tag, v := range p.DistTags {
		if tag == "" || v != p.Version {
			t.Errorf("DistTags[%q] = %q, want %q", tag, v, p.Version)
		}
	}
}
