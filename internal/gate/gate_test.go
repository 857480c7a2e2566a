package gate

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/signing"
	"github.com/ecluse/ecluse/internal/upstream"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// ver describes one version of a fake package.
type ver struct {
	v          string
	age        time.Duration
	postinstal bool
	shaOnly    bool
	body       string // tarball content; defaults to name@version
	// unsigned leaves the version without dist.signatures when the registry signs;
	// forged gives it a signature over another integrity.
	unsigned, forged bool
}

// registry is a fake npm registry: packuments built from vers, tarballs with real digests.
type registry struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	docs     map[string][]byte
	tarballs map[string][]byte
	status   map[string]int // forced status per packument name
	hits     map[string]int
	auth     []string
	corrupt  bool // serve tarballs whose bytes do not match their digest
	delay    chan struct{}
	// signer, when set, signs each version added as a registry does.
	signer *signing.Keyring
}

func newRegistry(t *testing.T) *registry {
	r := &registry{t: t, docs: map[string][]byte{}, tarballs: map[string][]byte{}, status: map[string]int{}, hits: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *registry) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.hits[req.URL.Path]++
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	doc, okDoc := r.docs[req.URL.Path]
	tgz, okTgz := r.tarballs[req.URL.Path]
	status := r.status[req.URL.Path]
	corrupt, delay := r.corrupt, r.delay
	r.mu.Unlock()
	if delay != nil {
		<-delay
	}
	switch {
	case status != 0:
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":"forced"}`))
	case okDoc:
		_, _ = w.Write(doc)
	case okTgz:
		if corrupt {
			tgz = append(bytes.Clone(tgz[:len(tgz)-1]), tgz[len(tgz)-1]^0xff)
		}
		_, _ = w.Write(tgz)
	default:
		http.NotFound(w, req)
	}
}

func (r *registry) hitCount(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[path]
}

func (r *registry) totalHits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, h := range r.hits {
		n += h
	}
	return n
}

// add publishes a package; it returns the integrity of each version.
func (r *registry) add(name string, latest string, vers ...ver) map[string]string {
	integrity := map[string]string{}
	versions := map[string]any{}
	times := map[string]string{"created": now.Add(-1000 * time.Hour).Format(time.RFC3339), "modified": now.Format(time.RFC3339)}
	base := name
	if i := strings.LastIndex(name, "/"); i >= 0 {
		base = name[i+1:]
	}
	for _, v := range vers {
		body := v.body
		if body == "" {
			body = name + "@" + v.v
		}
		sum := sha512.Sum512([]byte(body))
		s1 := sha1.Sum([]byte(body))
		path := "/" + name + "/-/" + base + "-" + v.v + ".tgz"
		dist := map[string]any{"tarball": r.srv.URL + path, "shasum": hex.EncodeToString(s1[:])}
		if !v.shaOnly {
			dist["integrity"] = "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
		}
		integrity[v.v], _ = dist["integrity"].(string)
		if r.signer != nil && !v.unsigned {
			signed := integrity[v.v]
			if v.forged {
				signed = "sha512-forged"
			}
			sig, err := r.signer.Sign(name, v.v, signed)
			if err != nil {
				r.t.Fatal(err)
			}
			dist["signatures"] = []signing.Signature{sig}
		}
		m := map[string]any{"name": name, "version": v.v, "dist": dist}
		if v.postinstal {
			m["scripts"] = map[string]string{"postinstall": "node evil.js"}
		}
		versions[v.v] = m
		times[v.v] = now.Add(-v.age).Format(time.RFC3339Nano)
		r.tarballs[path] = []byte(body)
	}
	doc, err := json.Marshal(map[string]any{
		"_id": name, "name": name, "dist-tags": map[string]string{"latest": latest},
		"versions": versions, "time": times, "readme": "kept as is",
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.docs["/"+name] = doc
	r.mu.Unlock()
	return integrity
}

type recordingMirror struct {
	mu   sync.Mutex
	jobs []MirrorJob
}

func (m *recordingMirror) Enqueue(_ context.Context, j MirrorJob) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.jobs = append(m.jobs, j)
	return nil
}

func (m *recordingMirror) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.jobs)
}

type fixture struct {
	priv, pub *registry
	gate      *Gate
	mirror    *recordingMirror
	clock     *atomic.Pointer[time.Time]
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newFixture(t *testing.T, rules string, mutate func(*Options)) *fixture {
	t.Helper()
	f := &fixture{priv: newRegistry(t), pub: newRegistry(t), mirror: &recordingMirror{}, clock: &atomic.Pointer[time.Time]{}}
	n := now
	f.clock.Store(&n)
	pol, errs := policy.Build(rulesOf(t, rules), policy.Options{Ordering: npm.Semver{}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	opts := Options{
		Private:         upstream.New(upstream.Options{Origin: "private", Base: mustURL(t, f.priv.srv.URL+"/"), HTTP: f.priv.srv.Client()}),
		Public:          upstream.New(upstream.Options{Origin: "public", Base: mustURL(t, f.pub.srv.URL+"/"), HTTP: f.pub.srv.Client(), Anonymous: true}),
		Policy:          pol,
		PublicURL:       mustURL(t, "https://ecluse.example.test/"),
		Limits:          npm.Limits{MaxBytes: 1 << 20, MaxVersions: 1000, MaxDepth: 64},
		CredentialKeyed: true,
		Mirror:          f.mirror,
		MountName:       "main",
		PublicBase:      mustURL(t, f.pub.srv.URL+"/"),
		Now:             func() time.Time { return *f.clock.Load() },
	}
	if mutate != nil {
		mutate(&opts)
	}
	f.gate = New(opts)
	return f
}

func (f *fixture) advance(d time.Duration) {
	n := f.clock.Load().Add(d)
	f.clock.Store(&n)
}

type served struct {
	Name     string                     `json:"name"`
	DistTags map[string]string          `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"`
	Time     map[string]string          `json:"time"`
	Readme   string                     `json:"readme"`
}

func decode(t *testing.T, b []byte) served {
	t.Helper()
	var s served
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("served document is not JSON: %v\n%s", err, b)
	}
	return s
}

func keys(m map[string]json.RawMessage) string {
	var out []string
	for _, v := range []string{"0.9.0", "1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.0.0-rc.1", "3.0.0"} {
		if _, ok := m[v]; ok {
			out = append(out, v)
		}
	}
	return strings.Join(out, ",")
}

const day = 24 * time.Hour

func TestPublicPackumentFiltered(t *testing.T) {
	f := newFixture(t, `{"rules":{"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200}}}`,
		func(o *Options) { o.CacheTTL = 30 * day })
	f.pub.add("left-pad", "1.2.0",
		ver{v: "1.0.0", age: 30 * day},
		ver{v: "1.1.0", age: 20 * day, shaOnly: true},
		ver{v: "1.2.0", age: 2 * day},
		ver{v: "2.0.0-rc.1", age: 10 * day, postinstal: true},
	)
	doc, err := f.gate.Packument(context.Background(), Query{Name: "left-pad"})
	if err != nil {
		t.Fatal(err)
	}
	s := decode(t, doc.Body.Bytes())
	if got := keys(s.Versions); got != "1.0.0" {
		t.Errorf("versions = %s, want 1.0.0 only", got)
	}
	if s.DistTags["latest"] != "1.0.0" {
		t.Errorf("latest = %q, want moved to 1.0.0", s.DistTags["latest"])
	}
	if _, ok := s.Time["1.2.0"]; ok {
		t.Error("time still lists a removed version")
	}
	if s.Readme != "kept as is" {
		t.Errorf("readme = %q, want untouched", s.Readme)
	}
	if !strings.Contains(string(s.Versions["1.0.0"]), `"https://ecluse.example.test/left-pad/-/left-pad-1.0.0.tgz"`) {
		t.Errorf("tarball not rewritten: %s", s.Versions["1.0.0"])
	}
	if doc.Blocked != 3 || doc.Source != SourcePublic || doc.Cache != "miss" || doc.ETag == "" {
		t.Errorf("doc = blocked %d source %s cache %s etag %q", doc.Blocked, doc.Source, doc.Cache, doc.ETag)
	}
	// A second request is served from the cache without asking either upstream.
	before := f.pub.totalHits() + f.priv.totalHits()
	again, err := f.gate.Packument(context.Background(), Query{Name: "left-pad"})
	if err != nil || again.Cache != "hit" || again.Body.String() != doc.Body.String() {
		t.Fatalf("second request: cache %s err %v", again.Cache, err)
	}
	if after := f.pub.totalHits() + f.priv.totalHits(); after != before {
		t.Errorf("cached serve asked upstream %d times", after-before)
	}
	// Five days later 1.2.0 leaves quarantine: the cached bytes must not hide it, even
	// though the upstream document is still fresh in the cache.
	f.advance(5*day + time.Minute)
	later, err := f.gate.Packument(context.Background(), Query{Name: "left-pad"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(decode(t, later.Body.Bytes()).Versions); got != "1.0.0,1.2.0" {
		t.Errorf("after quarantine versions = %s, want 1.0.0,1.2.0", got)
	}
	if later.ETag == doc.ETag {
		t.Error("ETag unchanged although the served document changed")
	}
	if n := f.pub.hitCount("/left-pad"); n != 1 {
		t.Errorf("public packument fetched %d times; re-deciding should reuse the cached document", n)
	}
}

func TestAbbreviatedAndVersion(t *testing.T) {
	f := newFixture(t, "", nil)
	f.pub.add("left-pad", "1.2.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "1.2.0", age: 2 * day})
	doc, err := f.gate.Packument(context.Background(), Query{Name: "left-pad", Abbreviated: true})
	if err != nil {
		t.Fatal(err)
	}
	if doc.ContentType != ContentTypeAbbreviated {
		t.Errorf("content type = %s", doc.ContentType)
	}
	s := decode(t, doc.Body.Bytes())
	if keys(s.Versions) != "1.0.0" || s.Readme != "" {
		t.Errorf("abbreviated = %s", doc.Body)
	}
	v, err := f.gate.Packument(context.Background(), Query{Name: "left-pad", Version: "latest"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Body.String(), `"version":"1.0.0"`) {
		t.Errorf("latest manifest = %s", v.Body)
	}
	if _, err := f.gate.Packument(context.Background(), Query{Name: "left-pad", Version: "1.2.0"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("quarantined version manifest: err = %v, want not found", err)
	}
}

func TestPrivateFirst(t *testing.T) {
	t.Run("internal pattern never asks the public side", func(t *testing.T) {
		f := newFixture(t, "", func(o *Options) { o.Internal = mustNames(t, "@corp/*") })
		f.pub.add("@corp/lib", "1.0.0", ver{v: "1.0.0", age: 30 * day})
		_, err := f.gate.Packument(context.Background(), Query{Name: "@corp/lib"})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want not found", err)
		}
		if f.pub.totalHits() != 0 {
			t.Errorf("public registry asked %d times about an internal name", f.pub.totalHits())
		}
	})
	t.Run("private package shadows public name", func(t *testing.T) {
		f := newFixture(t, "", nil)
		f.priv.add("shadow", "1.0.0", ver{v: "1.0.0", age: time.Hour, body: "internal"})
		f.pub.add("shadow", "9.9.9", ver{v: "1.0.0", age: 30 * day, body: "public"}, ver{v: "9.9.9", age: 30 * day})
		doc, err := f.gate.Packument(context.Background(), Query{Name: "shadow"})
		if err != nil {
			t.Fatal(err)
		}
		s := decode(t, doc.Body.Bytes())
		if doc.Source != SourcePrivate || len(s.Versions) != 1 || s.DistTags["latest"] != "1.0.0" {
			t.Errorf("source %s versions %v tags %v", doc.Source, s.Versions, s.DistTags)
		}
		art, err := f.gate.Tarball(context.Background(), TarballQuery{Name: "shadow", Version: "1.0.0"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(art.Body)
		art.Body.Close()
		if string(b) != "internal" {
			t.Errorf("tarball = %q, want the private one", b)
		}
		if n := f.pub.hitCount("/shadow/-/shadow-1.0.0.tgz"); n != 0 {
			t.Errorf("public tarball fetched %d times", n)
		}
		if f.mirror.count() != 0 {
			t.Error("a private tarball was enqueued for mirroring")
		}
	})
	t.Run("mirror serves the union", func(t *testing.T) {
		f := newFixture(t, "", nil)
		f.priv.add("mirrored", "1.2.0", ver{v: "1.2.0", age: 2 * day}) // copied by the mirror earlier
		f.pub.add("mirrored", "2.0.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "1.2.0", age: 2 * day}, ver{v: "2.0.0", age: time.Hour})
		doc, err := f.gate.Packument(context.Background(), Query{Name: "mirrored"})
		if err != nil {
			t.Fatal(err)
		}
		s := decode(t, doc.Body.Bytes())
		if doc.Source != SourceMirrorPublic || keys(s.Versions) != "1.0.0,1.2.0" {
			t.Errorf("source %s versions %s", doc.Source, keys(s.Versions))
		}
		if s.DistTags["latest"] != "1.2.0" || doc.Blocked != 1 {
			t.Errorf("latest %s blocked %d, want 1.2.0 and 1", s.DistTags["latest"], doc.Blocked)
		}
	})
	t.Run("mirror with public side down serves the mirror with a warning", func(t *testing.T) {
		f := newFixture(t, "", nil)
		f.priv.add("mirrored", "1.2.0", ver{v: "1.2.0", age: 2 * day})
		f.pub.status["/mirrored"] = http.StatusServiceUnavailable
		doc, err := f.gate.Packument(context.Background(), Query{Name: "mirrored"})
		if err != nil {
			t.Fatal(err)
		}
		if doc.Warning == "" || keys(decode(t, doc.Body.Bytes()).Versions) != "1.2.0" {
			t.Errorf("warning %q body %s", doc.Warning, doc.Body)
		}
	})
	for _, tt := range []struct {
		status int
		check  func(error) bool
	}{
		{401, func(err error) bool { var d *UpstreamDeniedError; return errors.As(err, &d) && d.Status == 401 }},
		{403, func(err error) bool { var d *UpstreamDeniedError; return errors.As(err, &d) && d.Status == 403 }},
		{500, func(err error) bool { var u *UpstreamError; return errors.As(err, &u) }},
		{503, func(err error) bool { var u *UpstreamError; return errors.As(err, &u) }},
	} {
		t.Run(fmt.Sprintf("private %d never falls back", tt.status), func(t *testing.T) {
			f := newFixture(t, "", nil)
			f.pub.add("pkg", "1.0.0", ver{v: "1.0.0", age: 30 * day})
			f.priv.status["/pkg"] = tt.status
			_, err := f.gate.Packument(context.Background(), Query{Name: "pkg"})
			if !tt.check(err) {
				t.Errorf("err = %v (%T)", err, err)
			}
			if f.pub.totalHits() != 0 {
				t.Errorf("public asked %d times after a private %d", f.pub.totalHits(), tt.status)
			}
		})
	}
}

func TestTarball(t *testing.T) {
	f := newFixture(t, "", nil)
	f.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "1.2.0", age: 2 * day}, ver{v: "0.9.0", age: 30 * day, shaOnly: true})
	ctx := context.Background()

	_, err := f.gate.Tarball(ctx, TarballQuery{Name: "left-pad", Version: "1.2.0"})
	var denied *DeniedError
	if !errors.As(err, &denied) || !strings.Contains(denied.Message, "min-age") {
		t.Fatalf("young tarball: err = %v, want a min-age denial", err)
	}
	_, err = f.gate.Tarball(ctx, TarballQuery{Name: "left-pad", Version: "0.9.0"})
	if !errors.As(err, &denied) || !strings.Contains(denied.Message, "sha1") {
		t.Fatalf("sha1-only tarball: err = %v, want an integrity denial naming sha1", err)
	}
	if _, err := f.gate.Tarball(ctx, TarballQuery{Name: "left-pad", Version: "7.7.7"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown version: err = %v", err)
	}
	for _, p := range []string{"/left-pad/-/left-pad-1.2.0.tgz", "/left-pad/-/left-pad-0.9.0.tgz"} {
		if n := f.pub.hitCount(p); n != 0 {
			t.Errorf("denied artifact %s fetched %d times", p, n)
		}
	}
	art, err := f.gate.Tarball(ctx, TarballQuery{Name: "left-pad", Version: "1.0.0", Credential: redact.New("Bearer client-secret")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(art.Body)
	art.Body.Close()
	if err != nil || string(b) != "left-pad@1.0.0" {
		t.Fatalf("body = %q, err %v", b, err)
	}
	if f.mirror.count() != 1 || f.mirror.jobs[0].Version != "1.0.0" || f.mirror.jobs[0].Mount != "main" ||
		f.mirror.jobs[0].Upstream != f.pub.srv.URL+"/" || f.mirror.jobs[0].Integrity == "" {
		t.Errorf("mirror jobs = %+v", f.mirror.jobs)
	}
	for _, a := range f.pub.auth {
		if a != "" {
			t.Errorf("public registry saw Authorization %q", a)
		}
	}

	f.pub.corrupt = true
	art, err = f.gate.Tarball(ctx, TarballQuery{Name: "left-pad", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(art.Body)
	art.Body.Close()
	if !errors.Is(err, ErrIntegrityMismatch) {
		t.Errorf("corrupt tarball read err = %v, want ErrIntegrityMismatch", err)
	}
	if len(b) >= len("left-pad@1.0.0") {
		t.Errorf("corrupt tarball delivered whole (%d bytes)", len(b))
	}
	if f.mirror.count() != 1 {
		t.Errorf("a corrupt tarball was enqueued for mirroring")
	}
}

func TestSingleflight(t *testing.T) {
	f := newFixture(t, "", nil)
	f.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day})
	release := make(chan struct{})
	f.pub.delay = release
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.gate.Packument(context.Background(), Query{Name: "left-pad"})
			errs <- err
		}()
	}
	// Let the first fetch through once it is waiting; the others join it in flight.
	deadline := time.Now().Add(10 * time.Second)
	for f.pub.hitCount("/left-pad") == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.pub.hitCount("/left-pad"); n != 1 {
		t.Errorf("public packument fetched %d times for 8 concurrent requests, want 1", n)
	}
}

func TestPassthroughCacheKeyedByCredential(t *testing.T) {
	f := newFixture(t, "", nil)
	f.priv.add("@corp/lib", "1.0.0", ver{v: "1.0.0", age: time.Hour})
	ctx := context.Background()
	if _, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: redact.New("Bearer alice")}); err != nil {
		t.Fatal(err)
	}
	f.priv.status["/@corp/lib"] = http.StatusForbidden
	_, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: redact.New("Bearer mallory")})
	var d *UpstreamDeniedError
	if !errors.As(err, &d) {
		t.Errorf("another credential was served alice's cached document: err = %v", err)
	}
}

func TestBadName(t *testing.T) {
	f := newFixture(t, "", nil)
	for _, name := range []string{"../etc/passwd", ".hidden", "a b", strings.Repeat("a", 215)} {
		_, err := f.gate.Packument(context.Background(), Query{Name: name})
		var bad *BadRequestError
		if !errors.As(err, &bad) {
			t.Errorf("Packument(%q) err = %v, want a bad request", name, err)
		}
	}
	if f.pub.totalHits()+f.priv.totalHits() != 0 {
		t.Error("a bad name was forwarded")
	}
}

func TestWarnModeCountsWithoutDenying(t *testing.T) {
	f := newFixture(t, `{"rules":{"scripts-shadow":{"type":"DenyInstallTimeExecution","mode":"warn"}}}`, nil)
	f.pub.add("esbuild-like", "1.0.0", ver{v: "1.0.0", age: 30 * day, postinstal: true}, ver{v: "0.9.0", age: 40 * day, postinstal: true})
	doc, err := f.gate.Packument(context.Background(), Query{Name: "esbuild-like"})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Warned != 2 || doc.Blocked != 0 || keys(decode(t, doc.Body.Bytes()).Versions) != "0.9.0,1.0.0" {
		t.Errorf("warned %d blocked %d versions %s; want both served and both warned", doc.Warned, doc.Blocked, keys(decode(t, doc.Body.Bytes()).Versions))
	}
}

func TestCancelledCallerDoesNotFailOthers(t *testing.T) {
	f := newFixture(t, "", nil)
	f.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day})
	release := make(chan struct{})
	f.pub.delay = release
	first, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := f.gate.Packument(first, Query{Name: "left-pad"})
		firstErr <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for f.pub.hitCount("/left-pad") == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	secondErr := make(chan error, 1)
	go func() {
		_, err := f.gate.Packument(context.Background(), Query{Name: "left-pad"})
		secondErr <- err
	}()
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller err = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-secondErr; err != nil {
		t.Errorf("the caller sharing the fetch failed with %v after the first hung up", err)
	}
}

func TestPublicRefusalIsABadGateway(t *testing.T) {
	f := newFixture(t, "", nil)
	f.pub.status["/pkg"] = http.StatusForbidden
	_, err := f.gate.Packument(context.Background(), Query{Name: "pkg"})
	var ue *UpstreamError
	if !errors.As(err, &ue) {
		t.Errorf("public 403: err = %v (%T), want an UpstreamError (502), not a relayed denial", err, err)
	}
}

func TestInternalPatternsIgnoreCase(t *testing.T) {
	for _, tt := range []struct{ pattern, name string }{
		{"@corp/*", "@Corp/lib"},
		{"@Corp/*", "@corp/lib"},
		{"@corp/**", "@CORP/LIB"},
	} {
		f := newFixture(t, "", func(o *Options) { o.Internal = mustNames(t, tt.pattern) })
		f.pub.add(tt.name, "1.0.0", ver{v: "1.0.0", age: 30 * day})
		if _, err := f.gate.Packument(context.Background(), Query{Name: tt.name}); !errors.Is(err, ErrNotFound) {
			t.Errorf("pattern %q, name %q: err = %v, want not found from the private side only", tt.pattern, tt.name, err)
		}
		if f.pub.totalHits() != 0 {
			t.Errorf("pattern %q: the spelling %q of an internal name reached the public side", tt.pattern, tt.name)
		}
	}
}

// mustNames compiles internal name patterns.
func mustNames(t testing.TB, patterns ...string) *policy.Names {
	t.Helper()
	n, err := policy.CompileNames(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestExceptionExpiryEndsCachedDocument(t *testing.T) {
	f := newFixture(t, `{"rules":{"exceptions":{"type":"AllowPackages","packages":[{"pattern":"hot","expires":"2026-11-24T00:00:00Z"}]}}}`,
		func(o *Options) { o.CacheTTL = 30 * day })
	f.pub.add("hot", "1.0.0", ver{v: "1.0.0", age: time.Hour})
	doc, err := f.gate.Packument(context.Background(), Query{Name: "hot"})
	if err != nil || keys(decode(t, doc.Body.Bytes()).Versions) != "1.0.0" {
		t.Fatalf("with the exception: %v %s", err, doc.Body)
	}
	f.advance(13 * time.Hour) // past the expiry, well inside the TTL
	doc, err = f.gate.Packument(context.Background(), Query{Name: "hot"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(decode(t, doc.Body.Bytes()).Versions); got != "" {
		t.Errorf("after the exception lapsed versions = %q, want none (the cached document outlived the exception)", got)
	}
}

func TestBlake2bVerifier(t *testing.T) {
	body := []byte("payload")
	h, _ := blake2b.New512(nil)
	h.Write(body)
	v, err := newVerifier("blake2b-" + base64.StdEncoding.EncodeToString(h.Sum(nil)))
	if err != nil {
		t.Fatal(err)
	}
	v.h.Write(body)
	if !bytes.Equal(v.h.Sum(nil), v.want) {
		t.Error("blake2b digest did not verify")
	}
}
