package modgate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	modzip "golang.org/x/mod/zip"

	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/upstream"
)

// The fixtures: a module proxy as an http.Handler serving module versions built at
// test time, a real checksum database (sumdb.NewServer over sumdb.TestServer, signing
// with a key made for the test) served under the proxy's /sumdb/{name}/, and a policy
// of the tests' own while the real one moves to policy.Version.

const testDBName = "sum.example.test"

// now is the fixed instant every test decides at.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// daysAgo returns the instant n days before now.
func daysAgo(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }

// modVersion is one module version a fixture proxy serves.
type modVersion struct {
	path, version string
	time          time.Time
	// incompatible: a +incompatible version, whose zip has no go.mod and whose .mod is
	// "module {path}\n".
	incompatible bool
	// noSumDB leaves the version out of the checksum database.
	noSumDB bool
	// tamperZip and tamperMod serve another zip or go.mod than the one the database
	// records.
	tamperZip, tamperMod bool
	// unlisted leaves the version out of the module's list (a pseudo-version).
	unlisted bool

	// Built by build.
	goMod, servedMod string
	zip, servedZip   []byte
}

// memFile is a file of a module zip being built.
type memFile struct {
	name string
	data []byte
}

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (fs.FileInfo, error)  { return memInfo(f), nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo memFile

func (i memInfo) Name() string       { return path.Base(i.name) }
func (i memInfo) Size() int64        { return int64(len(i.data)) }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// makeZip builds a module zip with golang.org/x/mod/zip.
func makeZip(t testing.TB, mod, version string, files ...memFile) []byte {
	t.Helper()
	zf := make([]modzip.File, len(files))
	for i, f := range files {
		zf[i] = f
	}
	var buf bytes.Buffer
	if err := modzip.Create(&buf, module.Version{Path: mod, Version: version}, zf); err != nil {
		t.Fatalf("zip %s@%s: %v", mod, version, err)
	}
	return buf.Bytes()
}

// build makes the version's go.mod and zip, honest and served.
func (m *modVersion) build(t testing.TB) {
	t.Helper()
	src := memFile{name: "m.go", data: []byte("package m\n\n// " + m.path + " " + m.version + "\n")}
	if m.incompatible {
		m.goMod = "module " + m.path + "\n"
		m.zip = makeZip(t, m.path, m.version, src)
	} else {
		m.goMod = "module " + m.path + "\n\ngo 1.22\n"
		m.zip = makeZip(t, m.path, m.version, memFile{name: "go.mod", data: []byte(m.goMod)}, src)
	}
	m.servedMod, m.servedZip = m.goMod, m.zip
	if m.tamperMod {
		m.servedMod = m.goMod + "\nrequire evil.example/x v1.0.0\n"
	}
	if m.tamperZip {
		evil := memFile{name: "m.go", data: []byte("package m\n\nfunc init() { /* evil */ }\n")}
		if m.incompatible {
			m.servedZip = makeZip(t, m.path, m.version, evil)
		} else {
			m.servedZip = makeZip(t, m.path, m.version, memFile{name: "go.mod", data: []byte(m.goMod)}, evil)
		}
	}
}

// records returns the go.sum lines the database holds for the version.
func (m *modVersion) records(t testing.TB) []byte {
	t.Helper()
	zh, err := gomod.HashZip(bytes.NewReader(m.zip), int64(len(m.zip)))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Appendf(nil, "%s %s %s\n%s %s/go.mod %s\n", m.path, m.version, zh, m.path, m.version, gomod.HashGoMod([]byte(m.goMod)))
}

// testDB is a real checksum database.
type testDB struct {
	ops     *sumdb.TestServer
	handler http.Handler
	vkey    string

	mu    sync.Mutex
	known map[string][]byte
	// down, when set, makes the database answer 503 to everything.
	down atomic.Bool
}

func newTestDB(t testing.TB) *testDB {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, testDBName)
	if err != nil {
		t.Fatal(err)
	}
	db := &testDB{known: make(map[string][]byte), vkey: vkey}
	db.ops = sumdb.NewTestServer(skey, func(p, v string) ([]byte, error) {
		db.mu.Lock()
		defer db.mu.Unlock()
		if data, ok := db.known[p+"@"+v]; ok {
			return data, nil
		}
		return nil, os.ErrNotExist
	})
	srv := sumdb.NewServer(db.ops)
	db.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if db.down.Load() {
			http.Error(w, "database down", http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	})
	// Filler records, so the tree spans more than one tile.
	for i := range 20 {
		p := fmt.Sprintf("example.com/filler%d", i)
		db.add(t, p, "v1.0.0", fmt.Appendf(nil, "%s v1.0.0 h1:filler%d=\n%s v1.0.0/go.mod h1:fillermod%d=\n", p, i, p, i))
	}
	return db
}

// add appends a record for p@version to the log.
func (db *testDB) add(t testing.TB, p, version string, lines []byte) {
	t.Helper()
	db.mu.Lock()
	db.known[p+"@"+version] = lines
	db.mu.Unlock()
	if _, err := db.ops.Lookup(context.Background(), module.Version{Path: p, Version: version}); err != nil {
		t.Fatal(err)
	}
}

// fakeProxy is a module proxy: it serves its versions, optional per-path answers, and
// a checksum database under /sumdb/{name}/. It counts what it is asked.
type fakeProxy struct {
	t        testing.TB
	versions map[string][]*modVersion // by module path
	db       *testDB
	// status answers a module's every path with a status, by module path.
	status map[string]int
	// latest overrides a module's @latest version.
	latest map[string]string
	// auth, when set, is the Authorization value a module's paths require (else 403).
	auth map[string]string
	// hold, when set, makes requests for paths it returns true for wait for release.
	hold    func(path string) bool
	release chan struct{}

	mu    sync.Mutex
	hits  map[string]int // by escaped path
	creds []string
}

func newFakeProxy(t testing.TB, db *testDB, versions ...*modVersion) *fakeProxy {
	t.Helper()
	p := &fakeProxy{t: t, versions: map[string][]*modVersion{}, db: db, status: map[string]int{},
		latest: map[string]string{}, auth: map[string]string{}, hits: map[string]int{}, release: make(chan struct{})}
	for _, v := range versions {
		p.add(v)
	}
	return p
}

// add serves v, recording it in the database unless it says not to.
func (p *fakeProxy) add(v *modVersion) {
	v.build(p.t)
	p.mu.Lock()
	p.versions[v.path] = append(p.versions[v.path], v)
	p.mu.Unlock()
	if p.db != nil && !v.noSumDB {
		p.db.add(p.t, v.path, v.version, v.records(p.t))
	}
}

func (p *fakeProxy) count(escapedPath string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[escapedPath]
}

// countPrefix counts the requests whose path starts with prefix.
func (p *fakeProxy) countPrefix(prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, v := range p.hits {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func (p *fakeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := r.URL.EscapedPath()
	p.mu.Lock()
	p.hits[ep]++
	p.creds = append(p.creds, r.Header.Get("Authorization"))
	p.mu.Unlock()
	if p.hold != nil && p.hold(ep) {
		select {
		case <-p.release:
		case <-r.Context().Done():
			return
		}
	}
	if rest, ok := strings.CutPrefix(ep, "/sumdb/"+testDBName); ok && p.db != nil {
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = rest, ""
		p.db.handler.ServeHTTP(w, r2)
		return
	}
	req, err := gomod.ParseRequest(ep)
	if err != nil || req.Kind == gomod.KindSumDB {
		http.NotFound(w, r)
		return
	}
	if st := p.status[req.Module]; st != 0 {
		w.WriteHeader(st)
		_, _ = fmt.Fprintf(w, "answer %d for %s\n", st, req.Module)
		return
	}
	if want, ok := p.auth[req.Module]; ok && r.Header.Get("Authorization") != want {
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprintf(w, "no access to %s with %q\n", req.Module, r.Header.Get("Authorization"))
		return
	}
	p.mu.Lock()
	versions := slices.Clone(p.versions[req.Module])
	p.mu.Unlock()
	find := func(v string) *modVersion {
		for _, m := range versions {
			if m.version == v {
				return m
			}
		}
		return nil
	}
	info := func(m *modVersion) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"Version":%q,"Time":%q,"Origin":{"VCS":"git"}}`, m.version, m.time.Format(time.RFC3339))
	}
	switch req.Kind {
	case gomod.KindList:
		if len(versions) == 0 {
			http.NotFound(w, r)
			return
		}
		for _, m := range versions {
			if !m.unlisted {
				_, _ = fmt.Fprintln(w, m.version)
			}
		}
	case gomod.KindLatest:
		v := p.latest[req.Module]
		if v == "" && len(versions) > 0 {
			v = versions[len(versions)-1].version
		}
		m := find(v)
		if m == nil {
			http.Error(w, "not found: no versions", http.StatusGone)
			return
		}
		info(m)
	default:
		m := find(req.Version)
		if m == nil {
			http.Error(w, "not found: unknown revision "+req.Version, http.StatusNotFound)
			return
		}
		switch req.Kind {
		case gomod.KindInfo:
			info(m)
		case gomod.KindMod:
			_, _ = io.WriteString(w, m.servedMod)
		case gomod.KindZip:
			w.Header().Set("Content-Type", "application/zip")
			_, _ = w.Write(m.servedZip)
		}
	}
}

// serve starts p under /go/ on a test server and returns a client for it.
func (p *fakeProxy) serve(t testing.TB, origin string) *upstream.Client {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/go/", http.StripPrefix("/go", p))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL + "/go/")
	if err != nil {
		t.Fatal(err)
	}
	return upstream.New(upstream.Options{Origin: origin, Base: base, HTTP: srv.Client(), Anonymous: origin == SourcePublic})
}

// fakePolicy admits a version with a SHA-256 digest published at least minAge ago,
// unless its module is denied. It records what it was asked.
type fakePolicy struct {
	minAge time.Duration
	deny   map[string]bool

	mu   sync.Mutex
	seen []policy.Version
}

func (p *fakePolicy) Decide(v *policy.Version, at time.Time) policy.Decision {
	p.mu.Lock()
	p.seen = append(p.seen, *v)
	p.mu.Unlock()
	strong := false
	for _, d := range v.Digests {
		if raw, err := base64.StdEncoding.DecodeString(d.Value); err == nil && d.Algorithm == "sha256" && len(raw) == 32 {
			strong = true
		}
	}
	switch {
	case !strong:
		return policy.Decision{Rule: policy.RuleIntegrityFloor}
	case p.deny[v.Name]:
		return policy.Decision{Rule: "deny-list"}
	case !v.Published.IsZero() && at.Sub(v.Published) >= p.minAge:
		return policy.Decision{Allowed: true, Rule: "min-age"}
	}
	return policy.Decision{Rule: policy.RuleDefaultDeny, AdmitAt: v.Published.Add(p.minAge)}
}

// asked returns the policy inputs seen for mod@version.
func (p *fakePolicy) asked(mod, version string) []policy.Version {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []policy.Version
	for _, v := range p.seen {
		if v.Name == mod && v.Version == version {
			out = append(out, v)
		}
	}
	return out
}

// pseudo returns a pseudo-version of v0.0.0 at t.
func pseudo(t time.Time) string { return module.PseudoVersion("v0", "", t, "abcdefabcdef") }
