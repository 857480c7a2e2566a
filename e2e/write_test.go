package e2e

// The npm write path through the built binary, driven by the real npm CLI against a real
// Verdaccio as the private registry: a publish lands in Verdaccio signed by Écluse and
// installs back through Écluse, its signature verifies with the keys Écluse serves, a name the public registry has cannot be claimed, bad
// publish bodies reach nothing, and whoami, login, dist-tag and deprecate work. Run them
// with `go test ./e2e/ -run Write`.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // npm's legacy shasum, computed as npm does
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/signing"
)

// writeWorld is Écluse in front of a fixture public registry and a real Verdaccio, with
// a signing key and "@corp/*" and "e2e-claimed" as internal patterns.
type writeWorld struct {
	public   *FixtureRegistry
	private  *Verdaccio
	ecluse   *Proc
	registry string // Écluse's URL with a trailing slash
}

func startWriteWorld(t *testing.T) *writeWorld {
	t.Helper()
	return startWriteWorldWith(t, `{"mounts": {"npm": {"path": "/"}}, "internal": ["@corp/*", "e2e-claimed"]}`, nil)
}

// startWriteWorldWith is startWriteWorld with document as PROXY_CONFIG; setup, when
// set, runs on the public fixture registry before Écluse starts.
func startWriteWorldWith(t *testing.T, document string, setup func(*FixtureRegistry)) *writeWorld {
	t.Helper()
	w := &writeWorld{public: newFixtureRegistry(t), private: startVerdaccio(t)}
	old := 30 * 24 * time.Hour
	w.public.Add(Pkg{Name: "e2e-taken", Versions: []Ver{{Version: "1.0.0", PublishedAgo: old}}})
	w.public.Add(Pkg{Name: "e2e-claimed", Versions: []Ver{{Version: "1.0.0", PublishedAgo: old}}})

	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(keyFile, p256PEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	env := baseEnv(w.public.URL, w.private.URL)
	env["PROXY_SIGNING_KEY_FILE"] = keyFile
	env["PROXY_CONFIG"] = document
	if setup != nil {
		setup(w.public)
	}
	w.ecluse = startEcluse(t, env)
	w.registry = w.ecluse.URL + "/"
	return w
}

// p256PEM is a new ECDSA P-256 private key as a PKCS#8 PEM block, the form
// PROXY_SIGNING_KEY_FILE takes.
func p256PEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// npm runs the npm CLI against Écluse with the Verdaccio user's token.
func (w *writeWorld) npm(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	return runNPM(t, dir, w.registry, w.private.Token, args...)
}

// newPackageDir writes a publishable package.
func newPackageDir(t *testing.T, name, version string) string {
	t.Helper()
	dir := t.TempDir()
	pkg := map[string]any{"name": name, "version": version, "main": "index.js", "publishConfig": map[string]any{"access": "public"}}
	b, _ := json.Marshal(pkg)
	if err := os.WriteFile(filepath.Join(dir, "package.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("module.exports = "+fmt.Sprintf("%q", name+"@"+version)+";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// privateDoc reads name's document straight from Verdaccio.
func (w *writeWorld) privateDoc(t *testing.T, name string) (status int, doc map[string]any) {
	t.Helper()
	esc := strings.Replace(name, "/", "%2f", 1)
	r := fetch(t, w.private.URL+"/"+esc, http.Header{"Authorization": {"Bearer " + w.private.Token}})
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatalf("verdaccio's document of %s: %v", name, err)
		}
	}
	return r.status, doc
}

// dist returns the dist object of name@version in doc.
func dist(t *testing.T, doc map[string]any, version string) map[string]any {
	t.Helper()
	versions, _ := doc["versions"].(map[string]any)
	v, _ := versions[version].(map[string]any)
	d, _ := v["dist"].(map[string]any)
	if d == nil {
		t.Fatalf("no dist for %s in %v", version, doc["versions"])
	}
	return d
}

func TestWritePublishSignedInstallsAndVerifies(t *testing.T) {
	w := startWriteWorld(t)
	const name, version = "@corp/widget", "1.0.0"
	if out, err := w.npm(t, newPackageDir(t, name, version), "publish"); err != nil {
		t.Fatalf("npm publish through Écluse: %v\n%s", err, out)
	}
	status, doc := w.privateDoc(t, name)
	if status != http.StatusOK {
		t.Fatalf("Verdaccio has no %s after the publish (status %d)", name, status)
	}
	d := dist(t, doc, version)
	integrity, _ := d["integrity"].(string)
	raw, _ := json.Marshal(d["signatures"])
	var sigs []signing.Signature
	if err := json.Unmarshal(raw, &sigs); err != nil || len(sigs) == 0 {
		t.Fatalf("the version in Verdaccio carries no dist.signatures: %s", raw)
	}

	// The keys Écluse serves verify the signature, as the npm CLI checks it.
	r := fetch(t, w.registry+"-/npm/v1/keys", nil)
	keys, err := signing.ParseKeys(r.body)
	if r.status != http.StatusOK || err != nil || len(keys.Keys) == 0 {
		t.Fatalf("GET /-/npm/v1/keys = %d %q (%v)", r.status, clip(string(r.body)), err)
	}
	keyID, err := signing.VerifyAny(keys.Keys, name, version, integrity, sigs, time.Now())
	if err != nil {
		t.Fatalf("the signature does not verify with the served keys: %v", err)
	}
	t.Logf("%s@%s signed by %s", name, version, keyID)

	// It installs back through Écluse. (npm audit signatures itself cannot run here: the
	// npm CLI first fetches the Sigstore trust root from an outside service, which this
	// machine cannot reach; the signing package's tests verify Écluse's signatures with
	// Node's crypto exactly as that command does.)
	project := t.TempDir()
	writePackageJSON(t, project, map[string]string{name: version})
	if out, err := w.npm(t, project, "install"); err != nil {
		t.Fatalf("npm install of the published package through Écluse: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(project, "node_modules", "@corp", "widget", "index.js")); err != nil {
		t.Fatalf("installed package is missing: %v", err)
	}
}

func TestWritePublicNameCannotBeClaimed(t *testing.T) {
	w := startWriteWorld(t)
	out, err := w.npm(t, newPackageDir(t, "e2e-taken", "2.0.0"), "publish")
	if err == nil {
		t.Fatalf("npm publish of a name the public registry has succeeded:\n%s", out)
	}
	if !strings.Contains(out, "public registry has a package of that name") {
		t.Errorf("npm publish output does not give Écluse's reason:\n%s", out)
	}
	if status, _ := w.privateDoc(t, "e2e-taken"); status != http.StatusNotFound {
		t.Errorf("Verdaccio answers %d for the refused name, want 404 (nothing reached it)", status)
	}
	// Claimed through the internal patterns, the same situation publishes.
	if out, err := w.npm(t, newPackageDir(t, "e2e-claimed", "2.0.0"), "publish"); err != nil {
		t.Errorf("npm publish of a name claimed by the internal patterns: %v\n%s", err, out)
	}
}

// publishBody builds what npm publish sends for name@version with tarball, letting
// mutate change it.
func publishBody(t *testing.T, name, version string, tarball []byte, mutate func(map[string]any)) []byte {
	t.Helper()
	sum := sha512.Sum512(tarball)
	sha := sha1.Sum(tarball) //nolint:gosec // npm's shasum
	base := name
	file := base + "-" + version + ".tgz"
	doc := map[string]any{
		"_id": name, "name": name, "dist-tags": map[string]any{"latest": version},
		"versions": map[string]any{version: map[string]any{
			"name": name, "version": version,
			"dist": map[string]any{
				"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sum[:]),
				"shasum":    hex.EncodeToString(sha[:]),
				"tarball":   "http://registry.example.test/" + name + "/-/" + file,
			},
		}},
		"_attachments": map[string]any{file: map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tarball), "length": len(tarball),
		}},
	}
	if mutate != nil {
		mutate(doc)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteTamperedPublishBodiesReachNothing(t *testing.T) {
	w := startWriteWorld(t)
	tarball := gzipTarball(t, map[string]string{"package/package.json": `{"name":"@corp/tampered","version":"1.0.0"}`})
	cases := []struct {
		name   string
		body   []byte
		status int
	}{
		{"integrity mismatch", publishBody(t, "@corp/tampered", "1.0.0", tarball, func(d map[string]any) {
			d["_attachments"].(map[string]any)["@corp/tampered-1.0.0.tgz"].(map[string]any)["data"] = base64.StdEncoding.EncodeToString(append(bytes.Clone(tarball), 0))
			d["_attachments"].(map[string]any)["@corp/tampered-1.0.0.tgz"].(map[string]any)["length"] = len(tarball) + 1
		}), http.StatusBadRequest},
		{"two versions", publishBody(t, "@corp/tampered", "1.0.0", tarball, func(d map[string]any) {
			vs := d["versions"].(map[string]any)
			vs["1.0.1"] = vs["1.0.0"]
		}), http.StatusBadRequest},
		{"name differs from the path", publishBody(t, "@corp/other", "1.0.0", tarball, nil), http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := put(t, w.registry+"@corp%2ftampered", w.private.Token, tc.body)
			if status != tc.status {
				t.Errorf("PUT = %d %q, want %d", status, clip(body), tc.status)
			}
			var e errorBody
			if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
				t.Errorf("error body %q is not {\"error\": ...}", clip(body))
			}
		})
	}
	status, body := put(t, w.registry+"BadName", w.private.Token, publishBody(t, "BadName", "1.0.0", tarball, nil))
	if status != http.StatusBadRequest {
		t.Errorf("bad name: PUT = %d %q, want 400", status, clip(body))
	}
	if status, _ := w.privateDoc(t, "@corp/tampered"); status != http.StatusNotFound {
		t.Errorf("Verdaccio answers %d for the tampered package, want 404 (nothing reached it)", status)
	}
}

func put(t *testing.T, url, token string, body []byte) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

func TestWriteAccountAndPackageCommands(t *testing.T) {
	w := startWriteWorld(t)
	const name = "@corp/tagged"
	if out, err := w.npm(t, newPackageDir(t, name, "1.0.0"), "publish"); err != nil {
		t.Fatalf("npm publish: %v\n%s", err, out)
	}
	dir := t.TempDir()
	if out, err := w.npm(t, dir, "whoami"); err != nil || strings.TrimSpace(out) != w.private.User {
		t.Errorf("npm whoami through Écluse = %q, %v; want %s", strings.TrimSpace(out), err, w.private.User)
	}
	if out, err := w.npm(t, dir, "dist-tag", "add", name+"@1.0.0", "beta"); err != nil {
		t.Errorf("npm dist-tag add: %v\n%s", err, out)
	}
	if out, err := w.npm(t, dir, "dist-tag", "ls", name); err != nil || !strings.Contains(out, "beta: 1.0.0") {
		t.Errorf("npm dist-tag ls = %v\n%s", err, out)
	}
	if out, err := w.npm(t, dir, "deprecate", name+"@1.0.0", "use 2.x"); err != nil {
		t.Errorf("npm deprecate: %v\n%s", err, out)
	}
	_, doc := w.privateDoc(t, name)
	versions, _ := doc["versions"].(map[string]any)
	v, _ := versions["1.0.0"].(map[string]any)
	if v["deprecated"] != "use 2.x" {
		t.Errorf("deprecation did not reach Verdaccio: %v", v["deprecated"])
	}
	tags, _ := doc["dist-tags"].(map[string]any)
	if tags["beta"] != "1.0.0" {
		t.Errorf("dist-tag did not reach Verdaccio: %v", tags)
	}

	// A public-only package cannot be written through Écluse.
	if out, err := w.npm(t, dir, "dist-tag", "add", "e2e-taken@1.0.0", "beta"); err == nil {
		t.Errorf("npm dist-tag add on a public-only package succeeded:\n%s", out)
	}
	if out, err := w.npm(t, dir, "deprecate", "e2e-taken@1.0.0", "nope"); err == nil {
		t.Errorf("npm deprecate on a public-only package succeeded:\n%s", out)
	}

	// Login (what npm login --auth-type=legacy sends) is forwarded, and its token works.
	body, _ := json.Marshal(map[string]string{"_id": "org.couchdb.user:e2e-second", "name": "e2e-second", "password": "e2e-second-password", "type": "user"})
	status, reply := putAnon(t, w.registry+"-/user/org.couchdb.user:e2e-second", body)
	var login struct {
		Token string `json:"token"`
	}
	if status != http.StatusCreated || json.Unmarshal([]byte(reply), &login) != nil || login.Token == "" {
		t.Fatalf("login through Écluse = %d %q, want 201 with a token", status, clip(reply))
	}
	if out, err := runNPM(t, dir, w.registry, login.Token, "whoami"); err != nil || strings.TrimSpace(out) != "e2e-second" {
		t.Errorf("npm whoami with the new token = %q, %v", strings.TrimSpace(out), err)
	}
}

func putAnon(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// gzipTarball builds a gzipped tar holding files.
func gzipTarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: fixtureEpoch}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
