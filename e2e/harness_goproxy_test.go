package e2e

// The Go side of the harness: GoProxy, a fixture Go module proxy (GOPROXY protocol) serving
// modules built by the test, with an in-process checksum database; and goTool, the real go
// command run in a hermetic environment. Neither needs the ecluse binary; the self-test is
// TestGoFixtureProxyServesGoCommand.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
	modzip "golang.org/x/mod/zip"
)

// goSumDBName is the name of every fixture proxy's checksum database. The .invalid top-level
// domain never resolves, so a go command that tried to reach the database directly, rather
// than through the proxy it was given, would fail instead of leaving the machine.
const goSumDBName = "sumdb.test.invalid"

// goInternalPrefix is the module path prefix the tests treat as internal: served by the
// private fixture proxy, never by the public one, and never looked up in a checksum database.
const goInternalPrefix = "corp.example.com"

// GoModule is a module for the fixture Go proxy (GoProxy.Add).
type GoModule struct {
	// Path is the module path ("mods.e2e.test/lib", "corp.example.com/lib").
	Path string
	// Versions are the module's versions, in any order: @v/list is served in this order
	// (pseudo-versions left out, as real proxies do) and the go command sorts it itself.
	Versions []GoVersion
}

// GoVersion is one version of a GoModule.
type GoVersion struct {
	// Version is a semantic version ("v1.2.0", "v1.3.0-rc.1"), an +incompatible one
	// ("v2.0.0+incompatible": its default files have no go.mod, and its .mod is the
	// synthesised "module PATH" line), or a pseudo-version (see goPseudoVersion).
	Version string
	// Published is the Time of the version's .info. Zero means the moment of Add.
	Published time.Time
	// Files are the module's files by slash-separated path relative to the module root,
	// replacing the defaults. Nil means a go.mod (unless the version is +incompatible) and
	// fixture.go, a Go file of package fixture naming the version.
	Files map[string]string
	// Tampered serves a zip whose content differs from the one the checksum database
	// records: the database gets the hash of the zip built from Files, the proxy serves one
	// whose first Go file has an extra comment line. The go.mod is not changed.
	Tampered bool
	// NotInSumDB keeps the version out of the checksum database: a lookup of it answers
	// 404, as the real database does for a version it cannot fetch.
	NotInSumDB bool
}

// goPseudoVersion returns the v0.0.0 pseudo-version of a commit with revision rev (12 hex
// digits) made at published, and published truncated to the second the version encodes. Use
// both in a GoVersion, so that its .info Time and the version's own timestamp agree.
func goPseudoVersion(published time.Time, rev string) (string, time.Time) {
	at := published.UTC().Truncate(time.Second)
	return module.PseudoVersion("v0", "", at, rev), at
}

// builtGoVersion is a GoVersion with its files made.
type builtGoVersion struct {
	GoVersion
	info    []byte // the .info document
	mod     []byte // the .mod file
	zip     []byte // the zip served (the tampered one if Tampered)
	zipHash string // h1: hash of the honest zip, as go.sum and the database record it
	modHash string // h1: hash of mod
}

// goProxyRecord is what the checksum database records for one module version: its go.sum
// lines.
func (b *builtGoVersion) record(modPath string) []byte {
	return fmt.Appendf(nil, "%s %s %s\n%s %s/go.mod %s\n", modPath, b.Version, b.zipHash, modPath, b.Version, b.modHash)
}

// GoProxy is a fixture Go module proxy on 127.0.0.1. It serves, for every module added,
// PATH/@v/list, PATH/@v/VERSION.info, .mod and .zip, and PATH/@latest, with paths and
// versions in the go command's case-encoding ("!" before a lower-cased capital). Unless made
// by newPrivateGoProxy it also serves a checksum database (golang.org/x/mod/sumdb over a test
// store, signed with a key made for the test) under /sumdb/NAME/ as a proxy does:
// /sumdb/NAME/supported answers 200 and /sumdb/NAME/{latest,lookup/...,tile/...} are the
// database's own answers. Everything else is 404. It records every request.
type GoProxy struct {
	// URL is the base URL, without a trailing slash (http://127.0.0.1:PORT): the GOPROXY
	// value of a go command pointed at it.
	URL string
	// SumDBKey is the checksum database's verifier key (NAME+HASH+KEY), the GOSUMDB value
	// of a go command reading it. Empty when the proxy serves no database.
	SumDBKey string

	t   testing.TB
	srv *httptest.Server
	db  *sumdb.TestServer // nil when the proxy serves no database
	dbh http.Handler

	mu      sync.Mutex
	mods    map[string][]*builtGoVersion // module path → versions, in the order added
	records map[string][]byte            // path@version → the database's record
	reqs    []Request
}

// newGoProxy starts a fixture Go proxy serving a checksum database named goSumDBName, closed
// when the test ends.
func newGoProxy(t testing.TB) *GoProxy {
	t.Helper()
	signer, verifier, err := note.GenerateKey(rand.Reader, goSumDBName)
	if err != nil {
		t.Fatalf("generating the checksum database key: %v", err)
	}
	p := startGoProxy(t)
	p.SumDBKey = verifier
	p.db = sumdb.NewTestServer(signer, p.lookupRecord)
	p.dbh = sumdb.NewServer(p.db)
	return p
}

// newPrivateGoProxy starts a fixture Go proxy without a checksum database (its /sumdb/ paths
// answer 404), as a private module proxy is, closed when the test ends.
func newPrivateGoProxy(t testing.TB) *GoProxy {
	t.Helper()
	return startGoProxy(t)
}

func startGoProxy(t testing.TB) *GoProxy {
	p := &GoProxy{t: t, mods: map[string][]*builtGoVersion{}, records: map[string][]byte{}}
	p.srv = httptest.NewServer(p)
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// lookupRecord is the test store's source of records: the go.sum lines of a version added
// to the proxy, unless it is NotInSumDB.
func (p *GoProxy) lookupRecord(modPath, version string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rec, ok := p.records[modPath+"@"+version]; ok {
		return rec, nil
	}
	return nil, os.ErrNotExist
}

// Add builds m's versions and serves them, replacing the versions of a module of the same
// path. A version added to the checksum database stays in it (the log is append-only): add
// a version of the same path and version again only with the same files.
func (p *GoProxy) Add(m GoModule) {
	p.t.Helper()
	if err := module.CheckPath(m.Path); err != nil {
		p.t.Fatalf("fixture Go proxy: %v", err)
	}
	now := time.Now()
	built := make([]*builtGoVersion, 0, len(m.Versions))
	for _, v := range m.Versions {
		b, err := buildGoVersion(p.t.TempDir(), m.Path, v, now)
		if err != nil {
			p.t.Fatalf("fixture Go proxy: building %s@%s: %v", m.Path, v.Version, err)
		}
		built = append(built, b)
	}
	p.mu.Lock()
	p.mods[m.Path] = built
	if p.db != nil {
		for _, b := range built {
			if !b.NotInSumDB {
				p.records[m.Path+"@"+b.Version] = b.record(m.Path)
			}
		}
	}
	p.mu.Unlock()
	if p.db == nil {
		return
	}
	// Log the records now, in the order given, as the real database would on first lookup.
	for _, b := range built {
		if b.NotInSumDB {
			continue
		}
		if _, err := p.db.Lookup(context.Background(), module.Version{Path: m.Path, Version: b.Version}); err != nil {
			p.t.Fatalf("fixture Go proxy: logging %s@%s in the checksum database: %v", m.Path, b.Version, err)
		}
	}
}

func (p *GoProxy) built(modPath, version string) *builtGoVersion {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.mods[modPath] {
		if b.Version == version {
			return b
		}
	}
	p.t.Fatalf("fixture Go proxy has no %s@%s", modPath, version)
	return nil
}

// ZipHash returns the h1: hash of modPath@version's honest zip: what go.sum and the checksum
// database record (the served zip has another if the version is Tampered).
func (p *GoProxy) ZipHash(modPath, version string) string { return p.built(modPath, version).zipHash }

// ModHash returns the h1: hash of modPath@version's go.mod.
func (p *GoProxy) ModHash(modPath, version string) string { return p.built(modPath, version).modHash }

// Requests returns a copy of every request received so far, in arrival order.
func (p *GoProxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// RequestsMentioning returns the paths of the requests received so far whose path holds s,
// case-encoded as the go command sends it (so a module path or prefix may be given as is).
func (p *GoProxy) RequestsMentioning(s string) []string {
	enc, err := module.EscapePath(s)
	if err != nil {
		enc = s
	}
	var out []string
	for _, r := range p.Requests() {
		if strings.Contains(r.Path, enc) || strings.Contains(r.Path, s) {
			out = append(out, r.Path)
		}
	}
	return out
}

// ServeHTTP implements http.Handler.
func (p *GoProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p.mu.Lock()
	p.reqs = append(p.reqs, Request{
		Method: req.Method,
		Path:   req.URL.EscapedPath(),
		Query:  req.URL.RawQuery,
		Header: req.Header.Clone(),
	})
	p.mu.Unlock()
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	urlPath := req.URL.Path
	if rest, ok := strings.CutPrefix(urlPath, "/sumdb/"); ok {
		p.serveSumDB(w, req, rest)
		return
	}
	if escPath, ok := strings.CutSuffix(urlPath, "/@latest"); ok {
		p.serveLatest(w, strings.TrimPrefix(escPath, "/"))
		return
	}
	escPath, file, ok := strings.Cut(strings.TrimPrefix(urlPath, "/"), "/@v/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	modPath, err := module.UnescapePath(escPath)
	if err != nil {
		http.Error(w, "bad module path: "+err.Error(), http.StatusBadRequest)
		return
	}
	if file == "list" {
		p.serveList(w, modPath)
		return
	}
	ext := path.Ext(file)
	version, err := module.UnescapeVersion(strings.TrimSuffix(file, ext))
	if err != nil {
		http.Error(w, "bad version: "+err.Error(), http.StatusBadRequest)
		return
	}
	b := p.lookup(modPath, version)
	if b == nil {
		http.Error(w, "not found: "+modPath+"@"+version, http.StatusNotFound)
		return
	}
	switch ext {
	case ".info":
		writeBytes(w, "application/json", b.info)
	case ".mod":
		writeBytes(w, "text/plain; charset=utf-8", b.mod)
	case ".zip":
		writeBytes(w, "application/zip", b.zip)
	default:
		http.NotFound(w, req)
	}
}

func (p *GoProxy) lookup(modPath, version string) *builtGoVersion {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.mods[modPath] {
		if b.Version == version {
			return b
		}
	}
	return nil
}

func (p *GoProxy) versions(modPath string) []*builtGoVersion {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mods[modPath]
}

func (p *GoProxy) serveList(w http.ResponseWriter, modPath string) {
	vs := p.versions(modPath)
	if vs == nil {
		http.Error(w, "not found: "+modPath, http.StatusNotFound)
		return
	}
	var b strings.Builder
	for _, v := range vs {
		if !module.IsPseudoVersion(v.Version) {
			b.WriteString(v.Version + "\n")
		}
	}
	writeBytes(w, "text/plain; charset=utf-8", []byte(b.String()))
}

// serveLatest answers PATH/@latest as proxies do: the .info of the highest release, else of
// the highest pre-release, else of the newest pseudo-version.
func (p *GoProxy) serveLatest(w http.ResponseWriter, escPath string) {
	modPath, err := module.UnescapePath(escPath)
	if err != nil {
		http.Error(w, "bad module path: "+err.Error(), http.StatusBadRequest)
		return
	}
	var best *builtGoVersion
	rank := func(v string) int {
		switch {
		case module.IsPseudoVersion(v):
			return 0
		case semver.Prerelease(v) != "":
			return 1
		default:
			return 2
		}
	}
	for _, b := range p.versions(modPath) {
		if best == nil || rank(b.Version) > rank(best.Version) ||
			rank(b.Version) == rank(best.Version) && semver.Compare(b.Version, best.Version) > 0 {
			best = b
		}
	}
	if best == nil {
		http.Error(w, "not found: "+modPath, http.StatusNotFound)
		return
	}
	writeBytes(w, "application/json", best.info)
}

func (p *GoProxy) serveSumDB(w http.ResponseWriter, req *http.Request, rest string) {
	if p.db == nil {
		http.Error(w, "this proxy does not serve a checksum database", http.StatusNotFound)
		return
	}
	name, dbPath, _ := strings.Cut(rest, "/")
	if name != goSumDBName {
		http.Error(w, "unknown checksum database "+name, http.StatusNotFound)
		return
	}
	if dbPath == "supported" {
		w.WriteHeader(http.StatusOK)
		return
	}
	r2 := req.Clone(req.Context())
	r2.URL.Path = "/" + dbPath
	r2.URL.RawPath = ""
	p.dbh.ServeHTTP(w, r2)
}

func writeBytes(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// buildGoVersion makes v's files for module modPath in directories under scratch.
func buildGoVersion(scratch, modPath string, v GoVersion, now time.Time) (*builtGoVersion, error) {
	if err := module.Check(modPath, v.Version); err != nil {
		return nil, err
	}
	incompatible := strings.HasSuffix(v.Version, "+incompatible")
	files := v.Files
	if files == nil {
		files = map[string]string{
			"fixture.go": fmt.Sprintf("// Package fixture is an Écluse end-to-end fixture.\npackage fixture\n\n"+
				"// Version is the version of the module this file was built for.\nconst Version = %q\n", v.Version),
		}
		if !incompatible {
			files["go.mod"] = "module " + modPath + "\n\ngo 1.21\n"
		}
	}
	mod := []byte(files["go.mod"])
	if _, ok := files["go.mod"]; !ok {
		mod = []byte("module " + modPath + "\n") // what a proxy serves for a module without one
	}
	mv := module.Version{Path: modPath, Version: v.Version}
	honest, err := zipFiles(filepath.Join(scratch, "honest"), mv, files)
	if err != nil {
		return nil, err
	}
	zipHash, err := hashZip(filepath.Join(scratch, "honest.zip"), honest)
	if err != nil {
		return nil, err
	}
	modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(mod)), nil
	})
	if err != nil {
		return nil, err
	}
	served := honest
	if v.Tampered {
		tampered := make(map[string]string, len(files))
		for k, body := range files {
			tampered[k] = body
		}
		target := firstGoFile(files)
		if target == "" {
			return nil, errors.New("a Tampered version needs a .go file to tamper with")
		}
		tampered[target] += "\n// This line was not in the zip the checksum database recorded.\n"
		if served, err = zipFiles(filepath.Join(scratch, "tampered"), mv, tampered); err != nil {
			return nil, err
		}
	}
	published := v.Published
	if published.IsZero() {
		published = now
	}
	info, err := json.Marshal(struct {
		Version string
		Time    string
	}{v.Version, published.UTC().Format(time.RFC3339)})
	if err != nil {
		return nil, err
	}
	return &builtGoVersion{GoVersion: v, info: info, mod: mod, zip: served, zipHash: zipHash, modHash: modHash}, nil
}

// firstGoFile returns the first .go file of files in name order, or "".
func firstGoFile(files map[string]string) string {
	names := make([]string, 0, len(files))
	for name := range files {
		if strings.HasSuffix(name, ".go") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// zipFiles writes files into a new directory dir and makes the module zip of mv from it with
// golang.org/x/mod/zip, as a proxy or the go command would.
func zipFiles(dir string, mv module.Version, files map[string]string) ([]byte, error) {
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := modzip.CreateFromDir(&buf, mv, dir); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// hashZip writes z to file and returns its h1: hash.
func hashZip(file string, z []byte) (string, error) {
	if err := os.WriteFile(file, z, 0o644); err != nil {
		return "", err
	}
	return dirhash.HashZip(file, dirhash.Hash1)
}

// goCommandTimeout bounds one go command.
const goCommandTimeout = 3 * time.Minute

// goTool runs the real go command (the one on PATH, which `go test` puts first) in a
// hermetic environment: a GOPATH, module cache, build cache, HOME and TMPDIR of its own
// under the test's temporary directory, GOPROXY and GOSUMDB as given, no GOPRIVATE,
// GONOPROXY or GOINSECURE (GOPRIVATE would make the go command bypass the proxy),
// GONOSUMDB=corp.example.com, GOTOOLCHAIN=local, GOFLAGS=-modcacherw (so the temporary
// directories can be removed), GOENV=off, GOWORK=off and telemetry off, and none of the HTTP proxy
// variables of the test's environment. Nothing the machine's go configuration says changes
// what is tested.
type goTool struct {
	// Dir is a fresh main module (module e2e.test/consumer) the commands run in.
	Dir string
	// ModCache is the GOMODCACHE.
	ModCache string

	bin string
	env map[string]string
}

// newGoTool prepares a go command whose GOPROXY is goproxy (no fallback to direct) and
// whose GOSUMDB is gosumdb (a verifier key: the go command then reads the database through
// the proxy, after asking it for /sumdb/NAME/supported).
func newGoTool(t testing.TB, goproxy, gosumdb string) *goTool {
	t.Helper()
	bin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	root := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"home", "gopath", "modcache", "gocache", "tmp", "consumer"} {
		dirs[d] = filepath.Join(root, d)
		if err := os.Mkdir(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Telemetry off, as `go telemetry off` would write it: otherwise the go command leaves a
	// child process behind that writes under HOME while the test's cleanup removes it.
	config := filepath.Join(dirs["home"], ".config")
	if err := os.MkdirAll(filepath.Join(config, "go", "telemetry"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(config, "go", "telemetry", "mode"), []byte("off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gomod := "module e2e.test/consumer\n\ngo 1.21\n"
	if err := os.WriteFile(filepath.Join(dirs["consumer"], "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	return &goTool{
		Dir:      dirs["consumer"],
		ModCache: dirs["modcache"],
		bin:      bin,
		env: map[string]string{
			"PATH":            os.Getenv("PATH"),
			"HOME":            dirs["home"],
			"XDG_CONFIG_HOME": config,
			"TMPDIR":          dirs["tmp"],
			"GOPATH":          dirs["gopath"],
			"GOMODCACHE":      dirs["modcache"],
			"GOCACHE":         dirs["gocache"],
			"GOFLAGS":         "-modcacherw",
			"GOPROXY":         goproxy,
			"GOSUMDB":         gosumdb,
			"GONOSUMDB":       goInternalPrefix,
			"GOTOOLCHAIN":     "local",
			"GOENV":           "off",
			"GOWORK":          "off",
			"GO111MODULE":     "on",
		},
	}
}

// Setenv sets one variable of the command's environment for the following runs.
func (g *goTool) Setenv(key, value string) { g.env[key] = value }

// Run runs `go args...` in g.Dir and returns its combined output. The error is non-nil if the
// command failed or timed out; the test is failed only if the command could not be started.
func (g *goTool) Run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), goCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Dir = g.Dir
	cmd.Env = envList(g.env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("go %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("go %s did not finish within %s: %w", strings.Join(args, " "), goCommandTimeout, ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running go: %v", err)
	}
	if err != nil {
		return string(out), fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// goDownload is the part of `go mod download -json` output the tests read.
type goDownload struct {
	Path     string
	Version  string
	Error    string
	Info     string
	GoMod    string
	Zip      string
	Dir      string
	Sum      string
	GoModSum string
}

// Download runs `go mod download -json modPath@version` and returns what it reported, and
// the command's output and error.
func (g *goTool) Download(t testing.TB, modPath, version string) (goDownload, string, error) {
	t.Helper()
	out, err := g.Run(t, "mod", "download", "-json", modPath+"@"+version)
	var d goDownload
	if i := strings.Index(out, "{"); i >= 0 {
		_ = json.Unmarshal([]byte(out[i:]), &d)
	}
	return d, out, err
}

// cachePaths returns where the module cache keeps modPath@version: the download cache's
// .info, .mod and .zip, and the extracted directory.
func (g *goTool) cachePaths(t testing.TB, modPath, version string) (info, mod, zip, dir string) {
	t.Helper()
	escPath, err := module.EscapePath(modPath)
	if err != nil {
		t.Fatal(err)
	}
	escVers, err := module.EscapeVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	dl := filepath.Join(g.ModCache, "cache", "download", filepath.FromSlash(escPath), "@v", escVers)
	return dl + ".info", dl + ".mod", dl + ".zip", filepath.Join(g.ModCache, filepath.FromSlash(escPath)+"@"+escVers)
}

// HasZip reports whether the module cache holds modPath@version's zip or its extracted
// files, naming what it found.
func (g *goTool) HasZip(t testing.TB, modPath, version string) (bool, []string) {
	t.Helper()
	_, _, zip, dir := g.cachePaths(t, modPath, version)
	var found []string
	for _, p := range []string{zip, dir} {
		if _, err := os.Stat(p); err == nil {
			found = append(found, p)
		}
	}
	return len(found) > 0, found
}

// Required returns the version of modPath the main module's go.mod requires, or "".
func (g *goTool) Required(t testing.TB, modPath string) string {
	t.Helper()
	file := filepath.Join(g.Dir, "go.mod")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(file, b, nil)
	if err != nil {
		t.Fatalf("parsing the main module's go.mod: %v\n%s", err, b)
	}
	for _, r := range f.Require {
		if r.Mod.Path == modPath {
			return r.Mod.Version
		}
	}
	return ""
}

// TestGoFixtureProxyServesGoCommand points the real go command straight at the fixture
// proxies (no Écluse) and checks that it accepts what they serve, that it reads the checksum
// database through the proxy, and that the tampered and unrecorded versions fail its own
// verification, so that the Écluse tests built on them mean what they say.
func TestGoFixtureProxyServesGoCommand(t *testing.T) {
	public, private := newGoProxy(t), newPrivateGoProxy(t)
	cat := addGoCatalogue(public, private)
	direct := func(t *testing.T) *goTool { return newGoTool(t, public.URL, public.SumDBKey) }

	t.Run("list in go order", func(t *testing.T) {
		out, err := direct(t).Run(t, "list", "-m", "-versions", goModList)
		if err != nil || strings.TrimSpace(out) != goListAll {
			t.Errorf("go list -m -versions %s = %v\n%s\nwant %s", goModList, err, out, goListAll)
		}
	})

	t.Run("get latest", func(t *testing.T) {
		g := direct(t)
		out, err := g.Run(t, "get", goModLatest+"@latest")
		if err != nil {
			t.Fatalf("go get: %v\n%s", err, out)
		}
		if got := g.Required(t, goModLatest); got != "v1.2.0" {
			t.Errorf("go get %s@latest required %q, want v1.2.0 (no gate here)", goModLatest, got)
		}
	})

	t.Run("download verified through the proxy's database", func(t *testing.T) {
		g := direct(t)
		d, out, err := g.Download(t, goModGuarded, "v1.0.0")
		if err != nil {
			t.Fatalf("go mod download: %v\n%s", err, out)
		}
		if d.Sum != public.ZipHash(goModGuarded, "v1.0.0") || d.GoModSum != public.ModHash(goModGuarded, "v1.0.0") {
			t.Errorf("go mod download = sum %s go.mod %s, want %s %s", d.Sum, d.GoModSum,
				public.ZipHash(goModGuarded, "v1.0.0"), public.ModHash(goModGuarded, "v1.0.0"))
		}
		for _, want := range []string{"/sumdb/" + goSumDBName + "/supported", "/sumdb/" + goSumDBName + "/lookup/" + goModGuarded + "@v1.0.0"} {
			if len(public.RequestsMentioning(want)) == 0 {
				t.Errorf("the go command never asked the proxy for %s", want)
			}
		}
	})

	t.Run("incompatible and pseudo-versions", func(t *testing.T) {
		g := direct(t)
		for _, v := range []string{"v2.0.0+incompatible"} {
			if _, out, err := g.Download(t, goModList, v); err != nil {
				t.Errorf("go mod download %s@%s: %v\n%s", goModList, v, err, out)
			}
		}
		d, out, err := g.Download(t, goModPseudo, cat.oldPseudo)
		if err != nil {
			t.Fatalf("go mod download %s@%s: %v\n%s", goModPseudo, cat.oldPseudo, err, out)
		}
		info, err := os.ReadFile(d.Info)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Time time.Time }
		if err := json.Unmarshal(info, &got); err != nil || !got.Time.Equal(cat.oldPseudoTime) {
			t.Errorf("%s@%s .info = %s, want Time %s", goModPseudo, cat.oldPseudo, info, cat.oldPseudoTime)
		}
		out, err = g.Run(t, "list", "-m", "-json", goModPseudo+"@latest")
		if err != nil || !strings.Contains(out, cat.youngPseudo) {
			t.Errorf("go list -m %s@latest = %v\n%s\nwant the newest pseudo-version %s", goModPseudo, err, out, cat.youngPseudo)
		}
	})

	t.Run("tampered zip fails the go command's check", func(t *testing.T) {
		g := direct(t)
		_, out, err := g.Download(t, goModGuarded, "v1.1.0")
		if err == nil || !strings.Contains(out, "SECURITY ERROR") {
			t.Errorf("go mod download of the tampered zip = %v, want a SECURITY ERROR:\n%s", err, out)
		}
		if has, files := g.HasZip(t, goModGuarded, "v1.1.0"); has {
			t.Errorf("the module cache kept the tampered zip: %v", files)
		}
	})

	t.Run("version missing from the database fails the go command's check", func(t *testing.T) {
		g := direct(t)
		_, out, err := g.Download(t, goModGuarded, "v1.2.0")
		if err == nil || !strings.Contains(out, "404 Not Found") || !strings.Contains(out, "lookup") {
			t.Errorf("go mod download of an unrecorded version = %v, want a failed lookup (404):\n%s", err, out)
		}
		// Without the go command's check, the same version downloads: only the database
		// stands in the way.
		g.Setenv("GONOSUMDB", goInternalPrefix+","+goModGuarded)
		if _, out, err := g.Download(t, goModGuarded, "v1.2.0"); err != nil {
			t.Errorf("go mod download of an unrecorded version with GONOSUMDB: %v\n%s", err, out)
		}
	})

	t.Run("private proxy without a database", func(t *testing.T) {
		g := newGoTool(t, private.URL, public.SumDBKey)
		d, out, err := g.Download(t, goModInternal, "v1.1.0")
		if err != nil || d.Sum != private.ZipHash(goModInternal, "v1.1.0") {
			t.Errorf("go mod download %s@v1.1.0 from the private proxy = sum %q, %v\n%s", goModInternal, d.Sum, err, out)
		}
		if status, _ := get(t, private.URL+"/sumdb/"+goSumDBName+"/supported", nil); status != http.StatusNotFound {
			t.Errorf("the private proxy's /sumdb/.../supported = %d, want 404", status)
		}
		if seen := public.RequestsMentioning(goInternalPrefix); len(seen) > 0 {
			t.Errorf("the public proxy was asked about internal modules: %q", seen)
		}
	})
}
