package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/signing"
)

// publicSigner is the key the fixture public registry signs its versions with, and
// serves at /-/npm/v1/keys, as a registry that signs does.
func publicSigner(t *testing.T) *signing.Keyring {
	t.Helper()
	ring, err := signing.ParsePEM(p256PEM(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// TestSigningAllEndToEnd runs Écluse with "signing": "all" in front of a fixture public
// registry that signs (one version of e2e-signed is left unsigned) and a real
// Verdaccio. What npm publishes through Écluse is signed and installs; what was put
// into Verdaccio behind Écluse's back, unsigned, is withheld and its tarball refused;
// the unsigned public version cannot be installed while the signed one can.
func TestSigningAllEndToEnd(t *testing.T) {
	ring := publicSigner(t)
	old := 30 * 24 * time.Hour
	w := startWriteWorldWith(t, `{"mounts": {"npm": {"path": "/", "signing": "all"}}, "internal": ["@corp/*"]}`, func(pub *FixtureRegistry) {
		pkg := Pkg{Name: "e2e-signed", Versions: []Ver{{Version: "1.0.0", PublishedAgo: old}, {Version: "1.1.0", PublishedAgo: old}}}
		pub.Add(pkg)
		sig, err := ring.Sign("e2e-signed", "1.0.0", pub.Integrity("e2e-signed", "1.0.0"))
		if err != nil {
			t.Fatal(err)
		}
		pkg.Versions[0].Signatures = []signing.Signature{sig}
		pub.Add(pkg) // the same bytes, now with 1.0.0 signed
		keys, err := json.Marshal(signing.KeysDocument{Keys: ring.PublicKeys()})
		if err != nil {
			t.Fatal(err)
		}
		pub.Intercept(func(rw http.ResponseWriter, req *http.Request) bool {
			if req.URL.Path != "/-/npm/v1/keys" {
				return false
			}
			rw.Header().Set("Content-Type", "application/json")
			_, _ = rw.Write(keys)
			return true
		})
	})

	// Public: only the signed version is served, and the header says so.
	r := fetch(t, w.registry+"e2e-signed", nil)
	if r.status != http.StatusOK || r.header.Get("X-Ecluse-Signing") != "verified" {
		t.Fatalf("GET e2e-signed = %d, x-ecluse-signing %q", r.status, r.header.Get("X-Ecluse-Signing"))
	}
	var doc struct {
		Versions map[string]json.RawMessage `json:"versions"`
		DistTags map[string]string          `json:"dist-tags"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Versions["1.1.0"]; ok || doc.Versions["1.0.0"] == nil || doc.DistTags["latest"] != "1.0.0" {
		t.Fatalf("served versions %v, latest %q: want 1.0.0 only", keysOf(doc.Versions), doc.DistTags["latest"])
	}
	r = fetch(t, w.registry+"e2e-signed/-/e2e-signed-1.1.0.tgz", nil)
	if r.status != http.StatusForbidden || r.header.Get("X-Ecluse-Rule") != "signature" {
		t.Errorf("tarball of the unsigned public version = %d, rule %q: %s", r.status, r.header.Get("X-Ecluse-Rule"), clip(string(r.body)))
	}
	project := t.TempDir()
	writePackageJSON(t, project, map[string]string{"e2e-signed": "1.1.0"})
	if out, err := w.npm(t, project, "install"); err == nil {
		t.Errorf("npm install of the unsigned public version succeeded:\n%s", out)
	}
	project = t.TempDir()
	writePackageJSON(t, project, map[string]string{"e2e-signed": "^1.0.0"})
	if out, err := w.npm(t, project, "install"); err != nil {
		t.Fatalf("npm install of the signed public version: %v\n%s", err, out)
	}

	// Internal: published through Écluse, signed, installable.
	const name = "@corp/signed-widget"
	if out, err := w.npm(t, newPackageDir(t, name, "1.0.0"), "publish"); err != nil {
		t.Fatalf("npm publish through Écluse: %v\n%s", err, out)
	}
	project = t.TempDir()
	writePackageJSON(t, project, map[string]string{name: "1.0.0"})
	if out, err := w.npm(t, project, "install"); err != nil {
		t.Fatalf("npm install of a version Écluse signed: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(project, "node_modules", "@corp", "signed-widget", "index.js")); err != nil {
		t.Fatal(err)
	}

	// Every signature Écluse serves verifies with the keys it serves, as the npm CLI
	// checks them (its publish time against each key's expiry).
	r = fetch(t, w.registry+"-/npm/v1/keys", nil)
	served, err := signing.ParseKeys(r.body)
	if r.status != http.StatusOK || err != nil {
		t.Fatalf("GET /-/npm/v1/keys = %d (%v)", r.status, err)
	}
	for _, pkg := range []string{"e2e-signed", "@corp%2fsigned-widget"} {
		r := fetch(t, w.registry+pkg, http.Header{"Authorization": {"Bearer " + w.private.Token}})
		var doc struct {
			Name     string `json:"name"`
			Versions map[string]struct {
				Dist struct {
					Integrity  string              `json:"integrity"`
					Signatures []signing.Signature `json:"signatures"`
				} `json:"dist"`
			} `json:"versions"`
			Time map[string]time.Time `json:"time"`
		}
		if err := json.Unmarshal(r.body, &doc); err != nil || len(doc.Versions) == 0 {
			t.Fatalf("GET %s: %v: %s", pkg, err, clip(string(r.body)))
		}
		for v, m := range doc.Versions {
			if len(m.Dist.Signatures) == 0 {
				t.Errorf("%s@%s is served without dist.signatures", doc.Name, v)
				continue
			}
			for _, sig := range m.Dist.Signatures {
				if _, err := signing.VerifyAny(served.Keys, doc.Name, v, m.Dist.Integrity, []signing.Signature{sig}, doc.Time[v]); err != nil {
					t.Errorf("%s@%s: signature by %s does not verify with the served keys: %v", doc.Name, v, sig.KeyID, err)
				}
			}
		}
	}

	// Internal, put into Verdaccio directly: unsigned, so withheld.
	const sneaky = "@corp/sneaky"
	if out, err := runNPM(t, newPackageDir(t, sneaky, "1.0.0"), w.private.URL+"/", w.private.Token, "publish"); err != nil {
		t.Fatalf("npm publish straight to Verdaccio: %v\n%s", err, out)
	}
	auth := http.Header{"Authorization": {"Bearer " + w.private.Token}}
	r = fetch(t, w.registry+"@corp%2fsneaky", auth)
	if r.status != http.StatusOK || strings.Contains(string(r.body), `"1.0.0"`) {
		t.Errorf("GET %s = %d: want the document without its unsigned version: %s", sneaky, r.status, clip(string(r.body)))
	}
	r = fetch(t, w.registry+"@corp/sneaky/-/sneaky-1.0.0.tgz", auth)
	if r.status != http.StatusForbidden || r.header.Get("X-Ecluse-Rule") != "signature" {
		t.Errorf("tarball of the unsigned internal version = %d, rule %q: %s", r.status, r.header.Get("X-Ecluse-Rule"), clip(string(r.body)))
	}
	project = t.TempDir()
	writePackageJSON(t, project, map[string]string{sneaky: "1.0.0"})
	if out, err := w.npm(t, project, "install"); err == nil {
		t.Errorf("npm install of an unsigned internal version succeeded:\n%s", out)
	}

	// The readiness probe reports the check: its mode, and the public keys it read.
	r = fetch(t, w.ecluse.URL+"/readyz", nil)
	var ready struct {
		Detail struct {
			Signing map[string]struct {
				Mode       string `json:"mode"`
				OwnKeys    int    `json:"ownKeys"`
				PublicKeys struct {
					Loaded bool `json:"loaded"`
					Keys   int  `json:"keys"`
				} `json:"publicKeys"`
			} `json:"signing"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(r.body, &ready); err != nil {
		t.Fatalf("/readyz: %v: %s", err, clip(string(r.body)))
	}
	if st := ready.Detail.Signing["npm"]; st.Mode != "all" || st.OwnKeys != 1 || !st.PublicKeys.Loaded || st.PublicKeys.Keys != 1 {
		t.Errorf("/readyz detail.signing = %+v", ready.Detail.Signing)
	}
}

func keysOf(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
