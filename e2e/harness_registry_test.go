package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pkg describes a package for the fixture registry (FixtureRegistry.Add) or for publishing
// to Verdaccio (Verdaccio.Publish).
type Pkg struct {
	// Name is the package name, scoped ("@scope/name") or not.
	Name string
	// Versions are the package's versions, oldest first.
	Versions []Ver
	// DistTags maps tag to version. Nil means {"latest": the last entry of Versions}.
	DistTags map[string]string
}

// Ver is one version of a Pkg. Its tarball is a real gzipped tar holding package/package.json
// (name, version, main, scripts, dependencies) and package/index.js.
type Ver struct {
	// Version is the semver version string.
	Version string
	// PublishedAgo is how long before Add the version was published; it sets the version's
	// entry in the packument's time map. Zero means now.
	PublishedAgo time.Duration
	// Scripts are the package.json scripts (both in the tarball and the packument). Nil means none.
	Scripts map[string]string
	// Deps are the package.json dependencies. Nil means none.
	Deps map[string]string
	// ShasumOnly leaves dist.integrity out, so the version carries only a SHA-1 shasum.
	ShasumOnly bool
	// Deprecated, if not empty, is the version's deprecation message.
	Deprecated string
	// Signatures, when set, is served as the version's dist.signatures, as a registry
	// that signs serves it. Nil means none.
	Signatures any
}

// builtVersion is a Ver with its tarball made.
type builtVersion struct {
	Ver
	tgz       []byte
	integrity string // sha512 SRI of tgz
	shasum    string // hex sha1 of tgz
	published time.Time
}

// fixtureEpoch is the modification time of every tarball entry, so that the same Ver always
// yields the same bytes (and integrity).
var fixtureEpoch = time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)

// buildVersion makes v's tarball for package name.
func buildVersion(name string, v Ver, now time.Time) (*builtVersion, error) {
	manifest := map[string]any{
		"name":        name,
		"version":     v.Version,
		"description": "Écluse end-to-end fixture",
		"main":        "index.js",
		"license":     "MIT",
	}
	if len(v.Scripts) > 0 {
		manifest["scripts"] = v.Scripts
	}
	if len(v.Deps) > 0 {
		manifest["dependencies"] = v.Deps
	}
	pj, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	index := fmt.Sprintf("module.exports = { name: %q, version: %q };\n", name, v.Version)

	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		body []byte
	}{
		{"package/package.json", append(pj, '\n')},
		{"package/index.js", []byte(index)},
	} {
		hdr := &tar.Header{
			Name:     f.name,
			Mode:     0o644,
			Size:     int64(len(f.body)),
			ModTime:  fixtureEpoch,
			Typeflag: tar.TypeReg,
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	tgz := buf.Bytes()
	s512 := sha512.Sum512(tgz)
	s1 := sha1.Sum(tgz)
	return &builtVersion{
		Ver:       v,
		tgz:       tgz,
		integrity: "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
		shasum:    hex.EncodeToString(s1[:]),
		published: now.Add(-v.PublishedAgo).UTC(),
	}, nil
}

// tarballFile is the tarball's file name: the unscoped part of name, a dash, the version.
func tarballFile(name, version string) string {
	base := name
	if i := strings.LastIndex(name, "/"); i >= 0 {
		base = name[i+1:]
	}
	return base + "-" + version + ".tgz"
}

// tarballPath is the conventional registry path of a tarball: /NAME/-/FILE, where a scoped
// NAME keeps its slash.
func tarballPath(name, version string) string {
	return "/" + name + "/-/" + tarballFile(name, version)
}

// packumentPath is the path npm requests a packument at: /NAME, with a scoped name's slash
// encoded (/@scope%2fname).
func packumentPath(name string) string {
	return "/" + strings.Replace(name, "/", "%2f", 1)
}

// manifest is the packument entry of one version; tarball is dist.tarball.
func (b *builtVersion) manifest(name, tarball string) map[string]any {
	dist := map[string]any{"tarball": tarball, "shasum": b.shasum}
	if !b.ShasumOnly {
		dist["integrity"] = b.integrity
	}
	if b.Signatures != nil {
		dist["signatures"] = b.Signatures
	}
	m := map[string]any{
		"name":        name,
		"version":     b.Version,
		"description": "Écluse end-to-end fixture",
		"main":        "index.js",
		"license":     "MIT",
		"_id":         name + "@" + b.Version,
		"dist":        dist,
	}
	if len(b.Scripts) > 0 {
		m["scripts"] = b.Scripts
	}
	if len(b.Deps) > 0 {
		m["dependencies"] = b.Deps
	}
	if b.Deprecated != "" {
		m["deprecated"] = b.Deprecated
	}
	return m
}

// hasInstallScript reports whether the version runs a script when installed.
func (b *builtVersion) hasInstallScript() bool {
	for _, s := range []string{"preinstall", "install", "postinstall"} {
		if _, ok := b.Scripts[s]; ok {
			return true
		}
	}
	return false
}

// npmTime formats t as registries do in the time map.
func npmTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// fixturePkg is a Pkg with its versions built, in the order given.
type fixturePkg struct {
	name     string
	versions []*builtVersion
	distTags map[string]string
}

func buildPkg(p Pkg) (*fixturePkg, error) {
	if p.Name == "" || len(p.Versions) == 0 {
		return nil, fmt.Errorf("package %q needs a name and at least one version", p.Name)
	}
	now := time.Now()
	fp := &fixturePkg{name: p.Name, distTags: p.DistTags}
	for _, v := range p.Versions {
		b, err := buildVersion(p.Name, v, now)
		if err != nil {
			return nil, fmt.Errorf("building %s@%s: %w", p.Name, v.Version, err)
		}
		fp.versions = append(fp.versions, b)
	}
	if fp.distTags == nil {
		fp.distTags = map[string]string{"latest": p.Versions[len(p.Versions)-1].Version}
	}
	return fp, nil
}

func (fp *fixturePkg) version(v string) *builtVersion {
	for _, b := range fp.versions {
		if b.Version == v {
			return b
		}
	}
	return nil
}

// Request is one request the fixture registry received.
type Request struct {
	Method string
	// Path is the escaped path, as sent (a scoped packument is /@scope%2fname).
	Path string
	// Query is the raw query string.
	Query  string
	Header http.Header
}

// FixtureRegistry is a fake public npm registry on 127.0.0.1 serving packages built by the
// test. It serves GET (and HEAD) of full packuments at /NAME (or /@scope%2fname) and of
// tarballs at /NAME/-/FILE.tgz, answers 404 to anything else, and records every request.
type FixtureRegistry struct {
	// URL is the server's base URL, without a trailing slash (http://127.0.0.1:PORT).
	URL string

	t   testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	pkgs        map[string]*fixturePkg
	reqs        []Request
	intercept   func(http.ResponseWriter, *http.Request) bool
	abbreviated bool
}

// newFixtureRegistry starts an empty fixture registry, closed when the test ends.
func newFixtureRegistry(t testing.TB) *FixtureRegistry {
	t.Helper()
	r := &FixtureRegistry{t: t, pkgs: map[string]*fixturePkg{}}
	r.srv = httptest.NewServer(r) // listens on 127.0.0.1
	r.URL = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

// Add builds p's tarballs and serves p, replacing any package of the same name.
func (r *FixtureRegistry) Add(p Pkg) {
	r.t.Helper()
	fp, err := buildPkg(p)
	if err != nil {
		r.t.Fatalf("fixture registry: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pkgs[p.Name] = fp
}

// Remove stops serving the named package.
func (r *FixtureRegistry) Remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pkgs, name)
}

// ServeAbbreviated makes the registry answer a packument request whose Accept header asks
// for application/vnd.npm.install-v1+json with the abbreviated form, as the public registry
// does. Off by default: every packument request gets the full document.
func (r *FixtureRegistry) ServeAbbreviated(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.abbreviated = on
}

// Intercept installs fn in front of the registry: it sees every request (after it is
// recorded) and returns true if it wrote the response itself, or false to let the registry
// answer. Use it to slow, fail or alter responses. Nil removes it.
func (r *FixtureRegistry) Intercept(fn func(w http.ResponseWriter, req *http.Request) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.intercept = fn
}

// Requests returns a copy of every request received so far, in arrival order.
func (r *FixtureRegistry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// TarballFetches returns the paths of the tarball GET requests received so far.
func (r *FixtureRegistry) TarballFetches() []string {
	var out []string
	for _, req := range r.Requests() {
		if req.Method == http.MethodGet && strings.Contains(req.Path, "/-/") && strings.HasSuffix(req.Path, ".tgz") {
			out = append(out, req.Path)
		}
	}
	return out
}

// RequestsWithHeader returns the requests received so far that carried header name.
func (r *FixtureRegistry) RequestsWithHeader(name string) []Request {
	var out []Request
	for _, req := range r.Requests() {
		if _, ok := req.Header[http.CanonicalHeaderKey(name)]; ok {
			out = append(out, req)
		}
	}
	return out
}

// TarballURL is where the registry serves the tarball of name@version.
func (r *FixtureRegistry) TarballURL(name, version string) string {
	return r.URL + tarballPath(name, version)
}

func (r *FixtureRegistry) built(name, version string) *builtVersion {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if fp := r.pkgs[name]; fp != nil {
		if b := fp.version(version); b != nil {
			return b
		}
	}
	r.t.Fatalf("fixture registry has no %s@%s", name, version)
	return nil
}

// Tarball returns the bytes of name@version's tarball.
func (r *FixtureRegistry) Tarball(name, version string) []byte { return r.built(name, version).tgz }

// Integrity returns the sha512 SRI string of name@version's tarball (present in the
// packument unless the version is ShasumOnly).
func (r *FixtureRegistry) Integrity(name, version string) string {
	return r.built(name, version).integrity
}

// Shasum returns the hex SHA-1 of name@version's tarball.
func (r *FixtureRegistry) Shasum(name, version string) string { return r.built(name, version).shasum }

// ServeHTTP implements http.Handler.
func (r *FixtureRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, Request{
		Method: req.Method,
		Path:   req.URL.EscapedPath(),
		Query:  req.URL.RawQuery,
		Header: req.Header.Clone(),
	})
	intercept := r.intercept
	r.mu.Unlock()
	if intercept != nil && intercept(w, req) {
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		return
	}
	path := req.URL.EscapedPath()
	if i := strings.Index(path, "/-/"); i > 0 {
		r.serveTarball(w, path[1:i], path[i+3:])
		return
	}
	r.servePackument(w, req, strings.TrimPrefix(path, "/"))
}

func (r *FixtureRegistry) lookup(escapedName string) *fixturePkg {
	name, err := url.PathUnescape(escapedName)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pkgs[name]
}

func (r *FixtureRegistry) serveTarball(w http.ResponseWriter, escapedName, file string) {
	fp := r.lookup(escapedName)
	if fp != nil {
		for _, b := range fp.versions {
			if tarballFile(fp.name, b.Version) == file {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Header().Set("Content-Length", fmt.Sprint(len(b.tgz)))
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(b.tgz)
				return
			}
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
}

func (r *FixtureRegistry) servePackument(w http.ResponseWriter, req *http.Request, escapedName string) {
	fp := r.lookup(escapedName)
	if fp == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	r.mu.Lock()
	abbreviated := r.abbreviated
	r.mu.Unlock()
	if abbreviated && strings.Contains(req.Header.Get("Accept"), "application/vnd.npm.install-v1+json") {
		w.Header().Set("Content-Type", "application/vnd.npm.install-v1+json")
		body, err := json.Marshal(r.abbreviatedDoc(fp))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return
	}
	writeJSON(w, http.StatusOK, r.packument(fp))
}

// packument is the full document for fp, as the public registry shapes it.
func (r *FixtureRegistry) packument(fp *fixturePkg) map[string]any {
	versions := map[string]any{}
	times := map[string]string{}
	var created, modified time.Time
	for _, b := range fp.versions {
		versions[b.Version] = b.manifest(fp.name, r.TarballURL(fp.name, b.Version))
		times[b.Version] = npmTime(b.published)
		if created.IsZero() || b.published.Before(created) {
			created = b.published
		}
		if b.published.After(modified) {
			modified = b.published
		}
	}
	times["created"] = npmTime(created)
	times["modified"] = npmTime(modified)
	return map[string]any{
		"_id":         fp.name,
		"name":        fp.name,
		"description": "Écluse end-to-end fixture",
		"dist-tags":   fp.distTags,
		"versions":    versions,
		"time":        times,
		"license":     "MIT",
		"readme":      "",
	}
}

// abbreviatedDoc is the install-v1 (abbreviated) document for fp.
func (r *FixtureRegistry) abbreviatedDoc(fp *fixturePkg) map[string]any {
	versions := map[string]any{}
	var modified time.Time
	for _, b := range fp.versions {
		full := b.manifest(fp.name, r.TarballURL(fp.name, b.Version))
		v := map[string]any{"name": fp.name, "version": b.Version, "dist": full["dist"]}
		for _, k := range []string{"dependencies", "deprecated"} {
			if x, ok := full[k]; ok {
				v[k] = x
			}
		}
		if b.hasInstallScript() {
			v["hasInstallScript"] = true
		}
		versions[b.Version] = v
		if b.published.After(modified) {
			modified = b.published
		}
	}
	return map[string]any{
		"name":      fp.name,
		"modified":  npmTime(modified),
		"dist-tags": fp.distTags,
		"versions":  versions,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
