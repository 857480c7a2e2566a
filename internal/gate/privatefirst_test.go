package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// front is a fake registry's gatekeeper: it sees every request before the registry
// does and may answer it itself.
type front func(r *registry, next http.HandlerFunc) http.HandlerFunc

// newRegistryBehind is newRegistry with front in the way.
func newRegistryBehind(t *testing.T, fr front) *registry {
	r := &registry{t: t, docs: map[string][]byte{}, tarballs: map[string][]byte{}, status: map[string]int{}, hits: map[string]int{}}
	r.srv = httptest.NewServer(fr(r, r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// fixtureOver is newFixture (the default policy) over the given registries.
func fixtureOver(t *testing.T, priv, pub *registry, mutate func(*Options)) *fixture {
	t.Helper()
	f := newFixture(t, "", func(o *Options) {
		o.Private = upstream.New(upstream.Options{Origin: "private", Base: mustURL(t, priv.srv.URL+"/"), HTTP: priv.srv.Client()})
		o.Public = upstream.New(upstream.Options{Origin: "public", Base: mustURL(t, pub.srv.URL+"/"), HTTP: pub.srv.Client(), Anonymous: true})
		if mutate != nil {
			mutate(o)
		}
	})
	f.priv, f.pub = priv, pub
	return f
}

// editDoc rewrites a published document's JSON.
func (r *registry) editDoc(name string, edit func(doc map[string]any)) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var doc map[string]any
	if err := json.Unmarshal(r.docs["/"+name], &doc); err != nil {
		r.t.Fatal(err)
	}
	edit(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		r.t.Fatal(err)
	}
	r.docs["/"+name] = b
}

// dist returns one version's dist object of a document being edited.
func dist(doc map[string]any, version string) map[string]any {
	return doc["versions"].(map[string]any)[version].(map[string]any)["dist"].(map[string]any)
}

// callLog records who asked a fake registry for what.
type callLog struct {
	mu    sync.Mutex
	calls []string // "Authorization path"
}

func (l *callLog) add(auth, path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, auth+" "+path)
}

func (l *callLog) count(auth, path string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if c == auth+" "+path {
			n++
		}
	}
	return n
}

// hiding answers 404 for every path under a hidden name to anyone but the holders of
// the allowed Authorization values, as Artifactory and GitHub Packages do; failProbe,
// when set, is the status the service credential gets instead.
type hiding struct {
	log       callLog
	mu        sync.Mutex
	hidden    map[string]bool // name → hidden
	allowed   map[string]bool // Authorization values that see hidden names
	failProbe int
}

func (h *hiding) front(_ *registry, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		auth := req.Header.Get("Authorization")
		h.log.add(auth, req.URL.Path)
		h.mu.Lock()
		failProbe := h.failProbe
		hidden := false
		for name := range h.hidden {
			if req.URL.Path == "/"+name || strings.HasPrefix(req.URL.Path, "/"+name+"/") {
				hidden = true
			}
		}
		allowed := h.allowed[auth]
		h.mu.Unlock()
		if failProbe != 0 && auth == "Bearer svc" {
			w.WriteHeader(failProbe)
			return
		}
		if hidden && !allowed {
			http.NotFound(w, req)
			return
		}
		next(w, req)
	}
}

// TestHiddenPrivateNameNeverFallsBack: under passthrough, a private registry that hides
// a name from a caller with a 404 must not make Écluse serve that caller the public
// package of the same name. The 404 is confirmed with Écluse's own credential first.
func TestHiddenPrivateNameNeverFallsBack(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*fixture, *hiding) {
		h := &hiding{hidden: map[string]bool{"corp-lib": true}, allowed: map[string]bool{"Bearer alice": true, "Bearer svc": true}}
		priv, pub := newRegistryBehind(t, h.front), newRegistry(t)
		priv.add("corp-lib", "1.0.0", ver{v: "1.0.0", age: 30 * day, body: "private"})
		pub.add("corp-lib", "9.9.9", ver{v: "9.9.9", age: 30 * day, body: "attacker"})
		pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day})
		f := fixtureOver(t, priv, pub, func(o *Options) {
			o.PrivateProbe = upstream.New(upstream.Options{Origin: "private", Base: mustURL(t, priv.srv.URL+"/"), HTTP: priv.srv.Client(), ServiceToken: redact.New("svc")})
		})
		return f, h
	}
	mallory := redact.New("Bearer mallory")

	t.Run("a caller the name is hidden from is refused, never served the public package", func(t *testing.T) {
		f, _ := setup(t)
		for _, q := range []Query{{Name: "corp-lib", Credential: mallory}, {Name: "corp-lib", Credential: mallory, Abbreviated: true}, {Name: "corp-lib", Credential: redact.Secret{}}} {
			doc, err := f.gate.Packument(ctx, q)
			var denied *UpstreamDeniedError
			if !errors.As(err, &denied) || denied.Status != 403 || !strings.Contains(denied.Message, "private registry has corp-lib") {
				src := ""
				if doc != nil {
					src = doc.Source + " " + doc.Body.String()
				}
				t.Fatalf("Packument(corp-lib as %v) = %s, err %v; want a 403 saying the private registry has the name", q.Credential.IsSet(), src, err)
			}
		}
		_, err := f.gate.Tarball(ctx, TarballQuery{Name: "corp-lib", Version: "9.9.9", Credential: mallory})
		var denied *UpstreamDeniedError
		if !errors.As(err, &denied) {
			t.Errorf("Tarball(corp-lib@9.9.9) err = %v, want the same refusal", err)
		}
		if n := f.pub.totalHits(); n != 0 {
			t.Errorf("the public registry was asked %d times about a private name", n)
		}
	})
	t.Run("a caller with access gets the private package", func(t *testing.T) {
		f, _ := setup(t)
		doc, err := f.gate.Packument(ctx, Query{Name: "corp-lib", Credential: redact.New("Bearer alice")})
		if err != nil || doc.Source != SourcePrivate {
			t.Fatalf("alice: err %v doc %+v", err, doc)
		}
	})
	t.Run("a name the private registry does not have is read publicly, confirmed once per name", func(t *testing.T) {
		f, h := setup(t)
		for _, who := range []string{"Bearer mallory", "Bearer bob", ""} {
			doc, err := f.gate.Packument(ctx, Query{Name: "left-pad", Credential: redact.New(who)})
			if err != nil || doc.Source != SourcePublic {
				t.Fatalf("left-pad as %q: err %v", who, err)
			}
		}
		if n := h.log.count("Bearer svc", "/left-pad"); n != 1 {
			t.Errorf("the absence of left-pad was confirmed %d times for three callers, want once (cached by name)", n)
		}
		f.advance(31 * time.Second) // past the probe's TTL (the default, 30 s)
		if _, err := f.gate.Packument(ctx, Query{Name: "left-pad", Credential: redact.New("Bearer carol")}); err != nil {
			t.Fatal(err)
		}
		if n := h.log.count("Bearer svc", "/left-pad"); n != 2 {
			t.Errorf("after the probe's TTL the absence was confirmed %d times in all, want 2", n)
		}
	})
	t.Run("a probe that fails does not fall back", func(t *testing.T) {
		f, h := setup(t)
		h.failProbe = http.StatusServiceUnavailable
		_, err := f.gate.Packument(ctx, Query{Name: "corp-lib", Credential: mallory})
		var up *UpstreamError
		if !errors.As(err, &up) {
			t.Errorf("err = %v (%T), want a 502", err, err)
		}
		if n := f.pub.totalHits(); n != 0 {
			t.Errorf("the public registry was asked %d times while the probe failed", n)
		}
	})
}

// forge copies a private version's integrity into a public document, as an attacker
// who read it from a lockfile would.
func forge(pub *registry, name, version, integrity string) {
	pub.editDoc(name, func(doc map[string]any) { dist(doc, version)["integrity"] = integrity })
}

func TestMirrorNeedsVerifiedTarballs(t *testing.T) {
	ctx := context.Background()
	t.Run("a forged integrity does not merge public versions", func(t *testing.T) {
		f := newFixture(t, "", nil)
		integrity := f.priv.add("corp-lib", "1.0.0", ver{v: "1.0.0", age: 30 * day, body: "private bytes"})
		f.pub.add("corp-lib", "9.9.9", ver{v: "1.0.0", age: 30 * day, body: "attacker"}, ver{v: "9.9.9", age: 30 * day, body: "attacker 9"})
		forge(f.pub, "corp-lib", "1.0.0", integrity["1.0.0"])
		for range 2 {
			doc, err := f.gate.Packument(ctx, Query{Name: "corp-lib"})
			if err != nil {
				t.Fatal(err)
			}
			s := decode(t, doc.Body.Bytes())
			if doc.Source != SourcePrivate || len(s.Versions) != 1 || s.DistTags["latest"] != "1.0.0" {
				t.Fatalf("source %s versions %v latest %s; want the private 1.0.0 alone", doc.Source, s.Versions, s.DistTags["latest"])
			}
		}
		if _, err := f.gate.Tarball(ctx, TarballQuery{Name: "corp-lib", Version: "9.9.9"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Tarball(corp-lib@9.9.9) err = %v, want not found", err)
		}
		if n := f.pub.hitCount("/corp-lib/-/corp-lib-1.0.0.tgz"); n != 1 {
			t.Errorf("the forged tarball was downloaded %d times, want once (the failure is remembered)", n)
		}
	})
	t.Run("a verified copy is a mirror", func(t *testing.T) {
		f := newFixture(t, "", nil)
		f.priv.add("mirrored", "1.0.0", ver{v: "1.0.0", age: 30 * day})
		f.pub.add("mirrored", "2.0.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "2.0.0", age: 30 * day})
		for _, q := range []Query{{Name: "mirrored"}, {Name: "mirrored", Abbreviated: true}, {Name: "mirrored"}} {
			doc, err := f.gate.Packument(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if s := decode(t, doc.Body.Bytes()); doc.Source != SourceMirrorPublic || keys(s.Versions) != "1.0.0,2.0.0" || s.DistTags["latest"] != "2.0.0" {
				t.Fatalf("source %s versions %s latest %s; want mirror+public 1.0.0,2.0.0", doc.Source, keys(s.Versions), s.DistTags["latest"])
			}
		}
		if n := f.pub.hitCount("/mirrored/-/mirrored-1.0.0.tgz"); n != 1 {
			t.Errorf("the public tarball was downloaded %d times to verify one version, want once", n)
		}
	})
	t.Run("a private package that does not look like a copy is never named publicly", func(t *testing.T) {
		for name, edit := range map[string]func(map[string]any){
			"tarball under another path": func(doc map[string]any) { dist(doc, "1.0.0")["tarball"] = "http://127.0.0.1/files/blob-1" },
			"no integrity":               func(doc map[string]any) { delete(dist(doc, "1.0.0"), "integrity") },
			"sha1 only":                  func(doc map[string]any) { dist(doc, "1.0.0")["integrity"] = "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=" },
		} {
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, "", nil)
				f.priv.add("corp-secret", "1.0.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "0.9.0", age: 40 * day})
				f.priv.editDoc("corp-secret", edit)
				f.pub.add("corp-secret", "1.0.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "0.9.0", age: 40 * day})
				doc, err := f.gate.Packument(ctx, Query{Name: "corp-secret"})
				if err != nil || doc.Source != SourcePrivate {
					t.Fatalf("err %v doc %+v", err, doc)
				}
				if n := f.pub.totalHits(); n != 0 {
					t.Errorf("the public registry was asked %d times about a private package that is no copy", n)
				}
			})
		}
	})
	t.Run("NoMirrorLookup never asks the public side", func(t *testing.T) {
		f := newFixture(t, "", func(o *Options) { o.NoMirrorLookup = true })
		f.priv.add("mirrored", "1.0.0", ver{v: "1.0.0", age: 30 * day})
		f.pub.add("mirrored", "2.0.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "2.0.0", age: 30 * day})
		doc, err := f.gate.Packument(ctx, Query{Name: "mirrored"})
		if err != nil || doc.Source != SourcePrivate {
			t.Fatalf("err %v doc %+v", err, doc)
		}
		if n := f.pub.totalHits(); n != 0 {
			t.Errorf("the public registry was asked %d times with the lookup off", n)
		}
	})
	t.Run("a pending verification is not a mirror until it finishes", func(t *testing.T) {
		release := make(chan struct{})
		slow := func(_ *registry, next http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, req *http.Request) {
				if strings.HasSuffix(req.URL.Path, ".tgz") {
					<-release
				}
				next(w, req)
			}
		}
		priv, pub := newRegistry(t), newRegistryBehind(t, slow)
		f := fixtureOver(t, priv, pub, func(o *Options) { o.MirrorCheckWait = 20 * time.Millisecond })
		f.priv.add("mirrored", "1.0.0", ver{v: "1.0.0", age: 30 * day})
		f.pub.add("mirrored", "2.0.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "2.0.0", age: 30 * day})
		doc, err := f.gate.Packument(ctx, Query{Name: "mirrored"})
		if err != nil || doc.Source != SourcePrivate {
			t.Fatalf("while the check runs: err %v doc %+v; want the private document alone", err, doc)
		}
		close(release)
		deadline := time.Now().Add(10 * time.Second)
		for {
			doc, err = f.gate.Packument(ctx, Query{Name: "mirrored"})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Source == SourceMirrorPublic || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if doc.Source != SourceMirrorPublic {
			t.Errorf("after the check finished: source %s, want mirror+public", doc.Source)
		}
	})
	t.Run("verifications in flight are bounded", func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		inflight, most := 0, 0
		slow := func(_ *registry, next http.HandlerFunc) http.HandlerFunc {
			return func(w http.ResponseWriter, req *http.Request) {
				if strings.HasSuffix(req.URL.Path, ".tgz") {
					mu.Lock()
					inflight++
					most = max(most, inflight)
					mu.Unlock()
					<-release
					mu.Lock()
					inflight--
					mu.Unlock()
				}
				next(w, req)
			}
		}
		priv, pub := newRegistry(t), newRegistryBehind(t, slow)
		f := fixtureOver(t, priv, pub, func(o *Options) { o.MirrorChecks = 2; o.MirrorCheckWait = 10 * time.Millisecond })
		var vers []ver
		for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0", "3.0.0"} {
			vers = append(vers, ver{v: v, age: 30 * day})
		}
		f.priv.add("many", "3.0.0", vers...)
		f.pub.add("many", "3.0.0", vers...)
		for range 3 {
			if doc, err := f.gate.Packument(ctx, Query{Name: "many"}); err != nil || doc.Source != SourcePrivate {
				t.Fatalf("err %v doc %+v", err, doc)
			}
		}
		close(release)
		deadline := time.Now().Add(10 * time.Second)
		for {
			doc, err := f.gate.Packument(ctx, Query{Name: "many"})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Source == SourceMirrorPublic {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the package never became a mirror")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if most > 2 {
			t.Errorf("%d verifications ran at once, want at most 2", most)
		}
	})
}

// etagged answers conditional requests for documents, as most registries do, and
// refuses the Authorization values in revoked; it counts what it answered.
type etagged struct {
	mu         sync.Mutex
	revoked    map[string]bool
	notChanged int // 304s sent
	conditonal int // requests that carried If-None-Match
	noETag     bool
}

func (e *etagged) front(r *registry, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		e.mu.Lock()
		revoked, noETag := e.revoked[req.Header.Get("Authorization")], e.noETag
		e.mu.Unlock()
		if revoked {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":"access revoked"}`))
			return
		}
		r.mu.Lock()
		doc, ok := r.docs[req.URL.Path]
		r.mu.Unlock()
		if ok && !noETag {
			sum := sha256.Sum256(doc)
			tag := `"` + hex.EncodeToString(sum[:8]) + `"`
			e.mu.Lock()
			if req.Header.Get("If-None-Match") != "" {
				e.conditonal++
			}
			match := req.Header.Get("If-None-Match") == tag
			if match {
				e.notChanged++
			}
			e.mu.Unlock()
			if match {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", tag)
		}
		next(w, req)
	}
}

func (e *etagged) revoke(auth string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.revoked[auth] = true
}

func (e *etagged) counts() (conditional, notChanged int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conditonal, e.notChanged
}

func TestPrivateRevalidation(t *testing.T) {
	ctx := context.Background()
	alice := redact.New("Bearer alice")
	setup := func(t *testing.T, mutate func(*Options)) (*fixture, *etagged) {
		e := &etagged{revoked: map[string]bool{}}
		f := fixtureOver(t, newRegistryBehind(t, e.front), newRegistry(t), mutate)
		f.priv.add("@corp/lib", "1.0.0", ver{v: "1.0.0", age: 30 * day})
		return f, e
	}

	t.Run("a revoked caller gets the private refusal on the next request", func(t *testing.T) {
		f, e := setup(t, nil)
		for _, q := range []Query{{Name: "@corp/lib", Credential: alice}, {Name: "@corp/lib", Credential: alice}, {Name: "@corp/lib", Credential: alice, Version: "1.0.0"}} {
			if _, err := f.gate.Packument(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		e.revoke("Bearer alice")
		for _, q := range []Query{{Name: "@corp/lib", Credential: alice}, {Name: "@corp/lib", Credential: alice, Version: "1.0.0"}} {
			doc, err := f.gate.Packument(ctx, q)
			var denied *UpstreamDeniedError
			if !errors.As(err, &denied) || denied.Status != 403 || denied.Message != "access revoked" {
				t.Errorf("Packument(%+v) after revocation: doc %v err %v; want the private 403 relayed", q, doc != nil, err)
			}
		}
		if _, err := f.gate.Explain(ctx, "@corp/lib", "", alice); err == nil {
			t.Error("Explain after revocation succeeded")
		}
		// The cached copy is gone: a caller given access again reads it anew.
		e.mu.Lock()
		e.revoked = map[string]bool{}
		e.mu.Unlock()
		doc, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice})
		if err != nil || doc.Cache != "miss" {
			t.Errorf("after access is given back: err %v cache %v, want a fresh read", err, doc)
		}
	})
	t.Run("a 304 keeps the parsed document and the rendering", func(t *testing.T) {
		f, e := setup(t, nil)
		first, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice})
		if err != nil || first.Cache != "miss" {
			t.Fatalf("first: err %v", err)
		}
		parses, hits := f.gate.parses.Load(), f.priv.hitCount("/@corp/lib")
		for i := range 3 {
			doc, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Cache != "revalidated" || doc.Body.String() != first.Body.String() || doc.ETag != first.ETag {
				t.Errorf("request %d: cache %q, same body %v; want the cached rendering, revalidated", i, doc.Cache, doc.Body.String() == first.Body.String())
			}
		}
		if n := f.gate.parses.Load() - parses; n != 0 {
			t.Errorf("%d documents parsed again after 304s", n)
		}
		if n := f.priv.hitCount("/@corp/lib") - hits; n != 0 {
			t.Errorf("the private registry sent the document %d more times; want only 304s", n)
		}
		if c, nc := e.counts(); c != 3 || nc != 3 {
			t.Errorf("conditional requests %d, 304s %d; want 3 and 3 (one per request)", c, nc)
		}
	})
	t.Run("a changed document replaces the cached one", func(t *testing.T) {
		f, _ := setup(t, nil)
		if _, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice}); err != nil {
			t.Fatal(err)
		}
		f.priv.add("@corp/lib", "1.1.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "1.1.0", age: time.Hour})
		doc, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice})
		if err != nil {
			t.Fatal(err)
		}
		if s := decode(t, doc.Body.Bytes()); keys(s.Versions) != "1.0.0,1.1.0" || doc.Cache != "miss" {
			t.Errorf("after a publish: versions %s cache %s; want 1.0.0,1.1.0 and a miss", keys(s.Versions), doc.Cache)
		}
	})
	t.Run("an upstream without validators is compared by bytes", func(t *testing.T) {
		f, e := setup(t, nil)
		e.noETag = true
		if _, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice}); err != nil {
			t.Fatal(err)
		}
		parses := f.gate.parses.Load()
		doc, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice})
		if err != nil || doc.Cache != "revalidated" {
			t.Fatalf("err %v doc %+v", err, doc)
		}
		if n := f.gate.parses.Load() - parses; n != 0 {
			t.Errorf("an unchanged document was parsed again %d times", n)
		}
	})
	t.Run("mirror renderings are revalidated too", func(t *testing.T) {
		f, e := setup(t, nil)
		f.priv.add("mirrored", "1.0.0", ver{v: "1.0.0", age: 30 * day})
		f.pub.add("mirrored", "2.0.0", ver{v: "1.0.0", age: 30 * day}, ver{v: "2.0.0", age: 30 * day})
		for range 2 {
			doc, err := f.gate.Packument(ctx, Query{Name: "mirrored", Credential: alice})
			if err != nil || doc.Source != SourceMirrorPublic {
				t.Fatalf("err %v doc %+v", err, doc)
			}
		}
		e.revoke("Bearer alice")
		var denied *UpstreamDeniedError
		if _, err := f.gate.Packument(ctx, Query{Name: "mirrored", Credential: alice}); !errors.As(err, &denied) {
			t.Errorf("mirror after revocation: err %v, want the private 403", err)
		}
		if _, err := f.gate.Tarball(ctx, TarballQuery{Name: "mirrored", Version: "2.0.0", Credential: alice}); !errors.As(err, &denied) {
			t.Errorf("mirror tarball after revocation: err %v, want the private 403", err)
		}
	})
	t.Run("RevalidateAfter reuses the copy for a while", func(t *testing.T) {
		f, e := setup(t, func(o *Options) { o.RevalidateAfter = time.Minute })
		if _, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice}); err != nil {
			t.Fatal(err)
		}
		e.revoke("Bearer alice")
		f.advance(30 * time.Second)
		doc, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice})
		if err != nil || doc.Cache != "hit" {
			t.Fatalf("inside the window: err %v, want the cached copy", err)
		}
		f.advance(31 * time.Second)
		var denied *UpstreamDeniedError
		if _, err := f.gate.Packument(ctx, Query{Name: "@corp/lib", Credential: alice}); !errors.As(err, &denied) {
			t.Errorf("past the window: err %v, want the private 403", err)
		}
	})
	t.Run("public renderings are served without asking anyone", func(t *testing.T) {
		f, _ := setup(t, nil)
		f.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day})
		if _, err := f.gate.Packument(ctx, Query{Name: "left-pad", Credential: alice}); err != nil {
			t.Fatal(err)
		}
		before := f.priv.totalHits() + f.pub.totalHits()
		doc, err := f.gate.Packument(ctx, Query{Name: "left-pad", Credential: alice})
		if err != nil || doc.Cache != "hit" {
			t.Fatalf("err %v", err)
		}
		if n := f.priv.totalHits() + f.pub.totalHits() - before; n != 0 {
			t.Errorf("a warm public serve asked upstreams %d times", n)
		}
	})
}

func TestLooksLikeCopy(t *testing.T) {
	const sri = "sha512-" + "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
	doc := func(name, tarball, integrity string) string {
		return `{"name":"` + name + `","versions":{"1.0.0":{"name":"` + name + `","version":"1.0.0","dist":{"tarball":"` + tarball + `","integrity":"` + integrity + `"}}}}`
	}
	for _, tt := range []struct {
		name, raw string
		want      bool
	}{
		{"lib", doc("lib", "http://127.0.0.1:4874/lib/-/lib-1.0.0.tgz", sri), true},
		{"lib", doc("lib", "http://127.0.0.1:4874/artifactory/api/npm/npm/lib/-/lib-1.0.0.tgz", sri), true},
		{"@corp/lib", doc("@corp/lib", "http://127.0.0.1:4874/@corp/lib/-/lib-1.0.0.tgz", sri), true},
		{"@corp/lib", doc("@corp/lib", "http://127.0.0.1:4874/@corp%2flib/-/lib-1.0.0.tgz", sri), true},
		{"@corp/lib", doc("@corp/lib", "http://127.0.0.1:4874/@corp/lib/-/@corp/lib-1.0.0.tgz", sri), true},
		{"lib", doc("lib", "http://127.0.0.1:4874/lib/-/lib-1.0.1.tgz", sri), false},
		{"lib", doc("lib", "http://127.0.0.1:4874/other/-/lib-1.0.0.tgz", sri), false},
		{"lib", doc("lib", "http://127.0.0.1:4874/files/0a1b2c", sri), false},
		{"lib", doc("lib", "http://127.0.0.1:4874/lib/-/lib-1.0.0.tgz", "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk="), false},
		{"lib", doc("lib", "http://127.0.0.1:4874/lib/-/lib-1.0.0.tgz", ""), false},
		{"lib", `{"name":"lib","versions":{}}`, false},
	} {
		p, err := npm.ParsePackument([]byte(tt.raw), tt.name, npm.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got := looksLikeCopy(p, tt.name); got != tt.want {
			t.Errorf("looksLikeCopy(%s) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}
