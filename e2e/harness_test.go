package e2e

// Self-tests of the harness. None of them needs the ecluse binary: they prove that the fixture
// registry serves what real clients accept, that the client runners work, and that Verdaccio
// starts and takes publishes. Run them with `go test ./e2e/ -run Harness`.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// getJSON fetches url and decodes its JSON body, failing the test unless the status is want.
func getJSON(t *testing.T, url string, header http.Header, want int, out any) {
	t.Helper()
	status, body := get(t, url, header)
	if status != want {
		t.Fatalf("GET %s = %d, want %d; body: %s", url, status, want, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: decoding %q: %v", url, body, err)
	}
}

// get fetches url with header and returns the status and body.
func get(t *testing.T, url string, header http.Header) (int, []byte) {
	t.Helper()
	r := fetch(t, url, header)
	return r.status, r.body
}

// untar returns the files of a gzipped tarball by name.
func untar(t *testing.T, tgz []byte) map[string][]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatalf("tarball is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading tarball: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s from the tarball: %v", hdr.Name, err)
		}
		files[hdr.Name] = b
	}
	return files
}

// installedVersion returns the version in dir/node_modules/name/package.json, or "" if absent.
func installedVersion(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json"))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var pj struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		t.Fatalf("node_modules/%s/package.json: %v", name, err)
	}
	return pj.Version
}

type packumentDoc struct {
	Name     string            `json:"name"`
	DistTags map[string]string `json:"dist-tags"`
	Versions map[string]struct {
		Name       string            `json:"name"`
		Version    string            `json:"version"`
		Deprecated string            `json:"deprecated"`
		Scripts    map[string]string `json:"scripts"`
		Deps       map[string]string `json:"dependencies"`
		Dist       struct {
			Tarball   string `json:"tarball"`
			Shasum    string `json:"shasum"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
		HasInstallScript bool `json:"hasInstallScript"`
	} `json:"versions"`
	Time     map[string]string `json:"time"`
	Modified string            `json:"modified"`
}

func TestHarnessFixtureRegistry(t *testing.T) {
	reg := newFixtureRegistry(t)
	reg.Add(Pkg{Name: "left-pad-e2e", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: 30 * 24 * time.Hour},
		{Version: "1.1.0", PublishedAgo: 2 * time.Hour, Deps: map[string]string{"@scope/dep": "^2.0.0"},
			Scripts: map[string]string{"postinstall": "node index.js"}, Deprecated: "use 1.2"},
		{Version: "1.2.0", ShasumOnly: true},
	}})
	reg.Add(Pkg{Name: "@scope/dep", Versions: []Ver{{Version: "2.0.0"}}, DistTags: map[string]string{"latest": "2.0.0", "next": "2.0.0"}})

	var doc packumentDoc
	getJSON(t, reg.URL+"/left-pad-e2e", nil, http.StatusOK, &doc)
	if doc.Name != "left-pad-e2e" || doc.DistTags["latest"] != "1.2.0" || len(doc.Versions) != 3 {
		t.Fatalf("packument = name %q, dist-tags %v, %d versions; want left-pad-e2e, latest 1.2.0, 3 versions",
			doc.Name, doc.DistTags, len(doc.Versions))
	}
	for _, k := range []string{"created", "modified", "1.0.0", "1.1.0", "1.2.0"} {
		if _, err := time.Parse(time.RFC3339, doc.Time[k]); err != nil {
			t.Errorf("time[%q] = %q: %v", k, doc.Time[k], err)
		}
	}
	created, _ := time.Parse(time.RFC3339, doc.Time["created"])
	if age := time.Since(created); age < 29*24*time.Hour || age > 31*24*time.Hour {
		t.Errorf("time.created is %s ago, want about 30 days", age)
	}
	v11 := doc.Versions["1.1.0"]
	if v11.Deprecated != "use 1.2" || v11.Deps["@scope/dep"] != "^2.0.0" || v11.Scripts["postinstall"] == "" {
		t.Errorf("1.1.0 = deprecated %q deps %v scripts %v, want the fixture's", v11.Deprecated, v11.Deps, v11.Scripts)
	}

	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		t.Run(v, func(t *testing.T) {
			m := doc.Versions[v]
			wantURL := reg.URL + "/left-pad-e2e/-/left-pad-e2e-" + v + ".tgz"
			if m.Dist.Tarball != wantURL {
				t.Fatalf("dist.tarball = %q, want %q", m.Dist.Tarball, wantURL)
			}
			status, tgz := get(t, m.Dist.Tarball, nil)
			if status != http.StatusOK {
				t.Fatalf("GET tarball = %d", status)
			}
			s512 := sha512.Sum512(tgz)
			s1 := sha1.Sum(tgz)
			if got, want := m.Dist.Shasum, hex.EncodeToString(s1[:]); got != want {
				t.Errorf("dist.shasum = %q, want %q", got, want)
			}
			wantIntegrity := "sha512-" + base64.StdEncoding.EncodeToString(s512[:])
			if v == "1.2.0" {
				wantIntegrity = "" // ShasumOnly
			}
			if m.Dist.Integrity != wantIntegrity {
				t.Errorf("dist.integrity = %q, want %q", m.Dist.Integrity, wantIntegrity)
			}
			if got := reg.Integrity("left-pad-e2e", v); got != "sha512-"+base64.StdEncoding.EncodeToString(s512[:]) {
				t.Errorf("reg.Integrity = %q, does not match the served tarball", got)
			}
			files := untar(t, tgz)
			var pj struct{ Name, Version string }
			if err := json.Unmarshal(files["package/package.json"], &pj); err != nil {
				t.Fatalf("package/package.json: %v (files %v)", err, len(files))
			}
			if pj.Name != "left-pad-e2e" || pj.Version != v {
				t.Errorf("tarball package.json = %s@%s, want left-pad-e2e@%s", pj.Name, pj.Version, v)
			}
			if len(files["package/index.js"]) == 0 {
				t.Error("tarball has no package/index.js")
			}
		})
	}

	t.Run("tarballs are deterministic", func(t *testing.T) {
		before := reg.Integrity("@scope/dep", "2.0.0")
		reg.Add(Pkg{Name: "@scope/dep", Versions: []Ver{{Version: "2.0.0", PublishedAgo: time.Hour}}})
		if after := reg.Integrity("@scope/dep", "2.0.0"); after != before {
			t.Errorf("integrity changed from %q to %q when the same version was added again", before, after)
		}
	})

	t.Run("scoped", func(t *testing.T) {
		var doc packumentDoc
		getJSON(t, reg.URL+"/@scope%2fdep", nil, http.StatusOK, &doc)
		m := doc.Versions["2.0.0"]
		if want := reg.URL + "/@scope/dep/-/dep-2.0.0.tgz"; m.Dist.Tarball != want {
			t.Fatalf("dist.tarball = %q, want %q", m.Dist.Tarball, want)
		}
		if status, tgz := get(t, m.Dist.Tarball, nil); status != http.StatusOK || !bytes.Equal(tgz, reg.Tarball("@scope/dep", "2.0.0")) {
			t.Errorf("GET scoped tarball = %d, %d bytes; want 200 and the built tarball", status, len(tgz))
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, p := range []string{"/nope", "/left-pad-e2e/-/left-pad-e2e-9.9.9.tgz", "/-/v1/search"} {
			if status, _ := get(t, reg.URL+p, nil); status != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", p, status)
			}
		}
	})

	t.Run("abbreviated", func(t *testing.T) {
		accept := http.Header{"Accept": {"application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"}}
		var full packumentDoc
		getJSON(t, reg.URL+"/left-pad-e2e", accept, http.StatusOK, &full)
		if len(full.Time) == 0 {
			t.Fatal("abbreviated form served while switched off")
		}
		reg.ServeAbbreviated(true)
		defer reg.ServeAbbreviated(false)
		var abbr packumentDoc
		getJSON(t, reg.URL+"/left-pad-e2e", accept, http.StatusOK, &abbr)
		if len(abbr.Time) != 0 || abbr.Modified == "" || !abbr.Versions["1.1.0"].HasInstallScript ||
			abbr.Versions["1.1.0"].Dist.Integrity != reg.Integrity("left-pad-e2e", "1.1.0") {
			t.Errorf("abbreviated document = %+v, want no time, modified set, hasInstallScript on 1.1.0", abbr)
		}
	})

	t.Run("records requests", func(t *testing.T) {
		get(t, reg.URL+"/left-pad-e2e", http.Header{"Authorization": {"Bearer sekrit"}})
		seen := reg.RequestsWithHeader("authorization")
		if len(seen) != 1 || seen[0].Path != "/left-pad-e2e" || seen[0].Header.Get("Authorization") != "Bearer sekrit" {
			t.Errorf("RequestsWithHeader(authorization) = %+v, want the one request sent with it", seen)
		}
		fetched := strings.Join(reg.TarballFetches(), " ")
		for _, want := range []string{"/left-pad-e2e/-/left-pad-e2e-1.0.0.tgz", "/@scope/dep/-/dep-2.0.0.tgz"} {
			if !strings.Contains(fetched, want) {
				t.Errorf("TarballFetches() = %s, want it to include %s", fetched, want)
			}
		}
	})

	t.Run("intercept", func(t *testing.T) {
		reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/left-pad-e2e" {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		})
		defer reg.Intercept(nil)
		if status, _ := get(t, reg.URL+"/left-pad-e2e", nil); status != http.StatusServiceUnavailable {
			t.Errorf("intercepted GET = %d, want 503", status)
		}
		if status, _ := get(t, reg.URL+"/@scope%2fdep", nil); status != http.StatusOK {
			t.Errorf("GET passed through the interceptor = %d, want 200", status)
		}
	})
}

// fixtureWithTree serves e2e-left 1.0.0 → e2e-right ^1.0.0, with e2e-right at 1.0.0 and 1.1.0.
func fixtureWithTree(t *testing.T) *FixtureRegistry {
	reg := newFixtureRegistry(t)
	reg.Add(Pkg{Name: "e2e-right", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: 48 * time.Hour},
		{Version: "1.1.0", PublishedAgo: 24 * time.Hour},
	}})
	reg.Add(Pkg{Name: "e2e-left", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: 24 * time.Hour, Deps: map[string]string{"e2e-right": "^1.0.0"}},
	}})
	return reg
}

// checkTreeInstalled checks that dir has e2e-left 1.0.0 and e2e-right 1.1.0, both tarballs
// having come from reg.
func checkTreeInstalled(t *testing.T, reg *FixtureRegistry, dir, out string) {
	t.Helper()
	if got := installedVersion(t, dir, "e2e-left"); got != "1.0.0" {
		t.Errorf("installed e2e-left = %q, want 1.0.0; output:\n%s", got, out)
	}
	if got := installedVersion(t, dir, "e2e-right"); got != "1.1.0" {
		t.Errorf("installed e2e-right = %q, want 1.1.0; output:\n%s", got, out)
	}
	fetched := strings.Join(reg.TarballFetches(), " ")
	for _, want := range []string{"/e2e-left/-/e2e-left-1.0.0.tgz", "/e2e-right/-/e2e-right-1.1.0.tgz"} {
		if !strings.Contains(fetched, want) {
			t.Errorf("the fixture registry served tarballs %s; want %s among them", fetched, want)
		}
	}
}

func TestHarnessNPMAgainstFixture(t *testing.T) {
	reg := fixtureWithTree(t)
	dir := t.TempDir()
	writePackageJSON(t, dir, nil)
	out, err := runNPM(t, dir, reg.URL, "", "install", "e2e-left")
	if err != nil {
		t.Fatalf("npm install: %v\n%s", err, out)
	}
	checkTreeInstalled(t, reg, dir, out)

	// npm checked the sha512 it was given; the lockfile records it.
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Integrity("e2e-right", "1.1.0"); !bytes.Contains(lock, []byte(want)) {
		t.Errorf("package-lock.json lacks e2e-right's integrity %s:\n%s", want, lock)
	}

	out, err = runNPM(t, dir, reg.URL, "", "view", "e2e-right", "versions", "--json")
	if err != nil || !strings.Contains(out, `"1.1.0"`) {
		t.Errorf("npm view e2e-right versions = %v\n%s", err, out)
	}
}

func TestHarnessPNPMAgainstFixture(t *testing.T) {
	reg := fixtureWithTree(t)
	dir := t.TempDir()
	writePackageJSON(t, dir, map[string]string{"e2e-left": "1.0.0"})
	out, err := runPNPM(t, dir, reg.URL, "", "install")
	if err != nil {
		t.Fatalf("pnpm install: %v\n%s", err, out)
	}
	// pnpm links direct dependencies only at the top level.
	if got := installedVersion(t, dir, "e2e-left"); got != "1.0.0" {
		t.Errorf("installed e2e-left = %q, want 1.0.0; output:\n%s", got, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".pnpm", "e2e-right@1.1.0")); err != nil {
		t.Errorf("pnpm did not install e2e-right@1.1.0: %v; output:\n%s", err, out)
	}
}

func TestHarnessYarnAgainstFixture(t *testing.T) {
	reg := fixtureWithTree(t)
	dir := t.TempDir()
	writePackageJSON(t, dir, map[string]string{"e2e-left": "1.0.0"})
	out, err := runYarn(t, dir, reg.URL, "", "install")
	if err != nil {
		t.Fatalf("yarn install: %v\n%s", err, out)
	}
	checkTreeInstalled(t, reg, dir, out)
	if reqs := reg.RequestsWithHeader("Authorization"); len(reqs) != 0 {
		t.Errorf("yarn sent credentials it was not given: %+v", reqs)
	}
}

func TestHarnessVerdaccio(t *testing.T) {
	v := startVerdaccio(t)
	if v.Token == "" {
		t.Fatal("no token for the registered user")
	}

	// One package through the publish API, with two versions and a dist-tag.
	v.Publish(t, Pkg{Name: "@acme/private-lib", Versions: []Ver{{Version: "1.0.0"}, {Version: "1.1.0"}},
		DistTags: map[string]string{"latest": "1.0.0", "beta": "1.1.0"}})
	doc := v.Packument(t, "@acme/private-lib")
	if tags, _ := doc["dist-tags"].(map[string]any); tags["latest"] != "1.0.0" || tags["beta"] != "1.1.0" {
		t.Errorf("dist-tags = %v, want latest 1.0.0 and beta 1.1.0", doc["dist-tags"])
	}

	// One package with the real `npm publish`, using the token.
	src := t.TempDir()
	pj := `{"name": "@acme/cli-published", "version": "3.0.0", "main": "index.js", "license": "MIT"}`
	if err := os.WriteFile(filepath.Join(src, "package.json"), []byte(pj), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "index.js"), []byte("module.exports = 3;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runNPM(t, src, v.URL, v.Token, "publish"); err != nil {
		t.Fatalf("npm publish: %v\n%s", err, out)
	}

	// Publishing needs the token.
	if out, err := runNPM(t, src, v.URL, "", "publish", "--tag", "anon"); err == nil || !strings.Contains(strings.ToLower(out), "auth") {
		t.Errorf("npm publish without a token: err %v, want an authentication failure; output:\n%s", err, out)
	}

	dir := t.TempDir()
	writePackageJSON(t, dir, nil)
	out, err := runNPM(t, dir, v.URL, v.Token, "install", "@acme/private-lib", "@acme/cli-published")
	if err != nil {
		t.Fatalf("npm install from Verdaccio: %v\n%s", err, out)
	}
	if got := installedVersion(t, dir, "@acme/private-lib"); got != "1.0.0" {
		t.Errorf("installed @acme/private-lib = %q, want 1.0.0 (latest)", got)
	}
	if got := installedVersion(t, dir, "@acme/cli-published"); got != "3.0.0" {
		t.Errorf("installed @acme/cli-published = %q, want 3.0.0", got)
	}
}
