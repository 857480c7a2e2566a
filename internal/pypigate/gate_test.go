package pypigate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/pypi"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// now is the tests' clock: old files are 30 days before it, young ones an hour.
var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// index is an in-memory Simple API: pages by project name (as JSON), files by URL.
type index struct {
	base  *url.URL
	mu    sync.Mutex
	pages map[string]*pypi.Project
	files map[string][]byte
	asked []string
	// html makes the index answer in the HTML form.
	html bool
	// denied makes every page answer 403.
	denied bool
}

func newIndex(base string) *index {
	u, _ := url.Parse(base)
	return &index{base: u, pages: map[string]*pypi.Project{}, files: map[string][]byte{}}
}

func (x *index) Base() *url.URL { return x.base }

func (x *index) Page(_ context.Context, path, accept string, _ redact.Secret, _ int64, _ *budget.Lease) ([]byte, string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.asked = append(x.asked, path)
	if x.denied {
		return nil, "", &upstream.DeniedError{Origin: "private", Status: 403, Message: "no entry"}
	}
	p, ok := x.pages[strings.Trim(path, "/")]
	if !ok {
		return nil, "", upstream.ErrNotFound
	}
	if !strings.Contains(accept, pypi.ContentTypeJSON) {
		return nil, "", errors.New("the gate did not ask for JSON")
	}
	if x.html {
		return pypi.RenderHTML(p, p.Name), "text/html; charset=utf-8", nil
	}
	return pypi.RenderJSON(p), pypi.ContentTypeJSON, nil
}

func (x *index) OpenFrom(_ context.Context, u, origin *url.URL, _ redact.Secret) (io.ReadCloser, int64, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.asked = append(x.asked, u.String())
	if origin == nil || origin.Host != u.Host {
		return nil, 0, errors.New("fetched outside its origin")
	}
	b, ok := x.files[u.String()]
	if !ok {
		return nil, 0, upstream.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

func (x *index) askedFor(s string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.ContainsFunc(x.asked, func(a string) bool { return strings.Contains(a, s) })
}

// spec describes one file the tests put on a page.
type spec struct {
	name, version string
	sdist         bool
	age           time.Duration // 0: no upload-time
	md5Only       bool
	yanked        string
	metadata      bool
	host          string // "" means the index's own host
	tamper        bool
	tag           string // a wheel's compatibility tag; "" means py3-none-any
}

// add puts a file on x's page for sp.name and serves its bytes.
func (x *index) add(sp spec) pypi.File {
	x.mu.Lock()
	defer x.mu.Unlock()
	dist := strings.ReplaceAll(sp.name, "-", "_")
	tag := sp.tag
	if tag == "" {
		tag = "py3-none-any"
	}
	filename := dist + "-" + sp.version + "-" + tag + ".whl"
	if sp.sdist {
		filename = sp.name + "-" + sp.version + ".tar.gz"
	}
	content := []byte("contents of " + filename)
	sum := sha256.Sum256(content)
	host := x.base.Scheme + "://" + x.base.Host
	if sp.host != "" {
		host = sp.host
	}
	f := pypi.File{Filename: filename, URL: host + "/files/" + filename, Size: int64(len(content)),
		Hashes: map[string]string{"sha256": hex.EncodeToString(sum[:])}}
	if sp.md5Only {
		f.Hashes = map[string]string{"md5": strings.Repeat("ab", 16)}
	}
	if sp.age > 0 {
		f.UploadTime = now.Add(-sp.age)
	}
	if sp.yanked != "" {
		f.Yanked, f.YankedReason = true, strings.TrimPrefix(sp.yanked, "yes")
	}
	served := content
	if sp.tamper {
		served = []byte("CONTENTS OF " + filename)
	}
	x.files[f.URL] = served
	if sp.metadata {
		meta := []byte("Metadata-Version: 2.1\nName: " + sp.name + "\nVersion: " + sp.version + "\n")
		msum := sha256.Sum256(meta)
		f.CoreMetadata = pypi.Metadata{Present: true, Hashes: map[string]string{"sha256": hex.EncodeToString(msum[:])}}
		x.files[f.URL+".metadata"] = meta
	}
	p := x.pages[sp.name]
	if p == nil {
		p = &pypi.Project{Name: sp.name}
		x.pages[sp.name] = p
	}
	p.Files = append(p.Files, f)
	return f
}

const (
	old   = 30 * 24 * time.Hour
	young = time.Hour
)

func pypiPolicy(rules string) (*policy.Policy, []error) {
	return policy.Build([]byte(rules), policy.Options{Ordering: pypi.Ordering{}, Ecosystem: "pypi", FoldName: pypi.Normalize})
}

func buildPolicy(t *testing.T, rules string) *policy.Policy {
	t.Helper()
	p, errs := pypiPolicy(rules)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return p
}

const minAgeWeek = `{"min-age": {"type": "MinAge", "ageSeconds": 604800}}`

func newGate(t *testing.T, pub, priv *index, rules string, mutate ...func(*Options)) *Gate {
	t.Helper()
	opts := Options{Mount: "pypi", MountPath: "/pypi/", Public: pub, Policy: buildPolicy(t, rules), Now: func() time.Time { return now }}
	if priv != nil {
		opts.Private = priv
	}
	for _, m := range mutate {
		m(&opts)
	}
	return New(opts)
}

// served decodes a served JSON page.
func served(t *testing.T, pg *Page) (files []string, versions []string) {
	t.Helper()
	p, err := pypi.ParseJSON(pg.Body, pypi.Limits{})
	if err != nil {
		t.Fatalf("served page does not parse: %v\n%s", err, pg.Body)
	}
	for _, f := range p.Files {
		files = append(files, f.Filename)
		if !strings.HasPrefix(f.URL, "/pypi/files/"+p.Name+"/") {
			t.Errorf("file URL %q does not point back through the mount", f.URL)
		}
	}
	return files, p.Versions
}

func TestPageDecidesEveryPublicFile(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	pub.add(spec{name: "demo", version: "1.0.0", age: old})
	pub.add(spec{name: "demo", version: "1.1.0", age: old, sdist: true})
	pub.add(spec{name: "demo", version: "1.2.0", age: old, md5Only: true})
	pub.add(spec{name: "demo", version: "1.3.0"}) // no upload-time
	pub.add(spec{name: "demo", version: "1.4.0", age: old, host: "https://elsewhere.example.test"})
	pub.add(spec{name: "demo", version: "1.5.0", age: old, host: "https://files.example.test"})
	pub.add(spec{name: "demo", version: "1.6.0", age: old, yanked: "broken build"})
	pub.add(spec{name: "demo", version: "2.0.0", age: young})
	files := func(t *testing.T, rules string) ([]string, []string, int) {
		g := newGate(t, pub, nil, rules, func(o *Options) { o.FilesBase, _ = url.Parse("https://files.example.test/") })
		pg, err := g.Page(context.Background(), "demo", pypi.ContentTypeJSON, redact.Secret{})
		if err != nil {
			t.Fatal(err)
		}
		if pg.Source != SourcePublic {
			t.Errorf("source %q", pg.Source)
		}
		f, v := served(t, pg)
		return f, v, pg.Blocked
	}
	gotFiles, gotVersions, blocked := files(t, minAgeWeek)
	wantFiles := []string{"demo-1.0.0-py3-none-any.whl", "demo-1.1.0.tar.gz", "demo-1.5.0-py3-none-any.whl", "demo-1.6.0-py3-none-any.whl"}
	if !slices.Equal(gotFiles, wantFiles) {
		t.Errorf("files %v, want %v", gotFiles, wantFiles)
	}
	if want := []string{"1.0.0", "1.1.0", "1.5.0", "1.6.0"}; !slices.Equal(gotVersions, want) {
		t.Errorf("versions %v, want %v", gotVersions, want)
	}
	if blocked != 4 {
		t.Errorf("blocked %d, want 4", blocked)
	}
	gotFiles, _, _ = files(t, `{"min-age": {"type": "MinAge", "ageSeconds": 604800}, "no-build": {"type": "DenyInstallTimeExecution"}}`)
	if slices.Contains(gotFiles, "demo-1.1.0.tar.gz") || !slices.Contains(gotFiles, "demo-1.0.0-py3-none-any.whl") {
		t.Errorf("with DenyInstallTimeExecution: files %v, want wheels without the sdist", gotFiles)
	}
}

func TestPageKeepsYankAndMetadata(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	pub.add(spec{name: "demo", version: "1.0.0", age: old, yanked: "yes", metadata: true})
	g := newGate(t, pub, nil, minAgeWeek)
	for _, form := range []string{pypi.ContentTypeJSON, pypi.ContentTypeHTML} {
		pg, err := g.Page(context.Background(), "demo", form, redact.Secret{})
		if err != nil {
			t.Fatal(err)
		}
		parse := pypi.ParseJSON
		if form != pypi.ContentTypeJSON {
			parse = pypi.ParseHTML
		}
		p, err := parse(pg.Body, pypi.Limits{})
		if err != nil || len(p.Files) != 1 {
			t.Fatalf("%s: %v %s", form, err, pg.Body)
		}
		f := p.Files[0]
		if !f.Yanked || !f.CoreMetadata.Present || f.CoreMetadata.Hashes["sha256"] == "" || f.Hashes["sha256"] == "" {
			t.Errorf("%s: file %+v lost its yank, hash or metadata", form, f)
		}
	}
}

func TestPrivateFirst(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	priv := newIndex("https://private.example.test/simple/")
	pub.add(spec{name: "shared", version: "9.0.0", age: old})
	priv.add(spec{name: "shared", version: "1.0.0", age: young})
	pub.add(spec{name: "corp-tool", version: "1.0.0", age: old})
	pub.add(spec{name: "public-only", version: "1.0.0", age: old})
	g := newGate(t, pub, priv, minAgeWeek, func(o *Options) {
		o.Internal = func(n string) bool { return strings.HasPrefix(n, "corp-") }
	})
	ctx := context.Background()
	pg, err := g.Page(ctx, "shared", pypi.ContentTypeJSON, redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	if files, _ := served(t, pg); pg.Source != SourcePrivate || !slices.Equal(files, []string{"shared-1.0.0-py3-none-any.whl"}) {
		t.Errorf("shared: source %s files %v, want the private page only (young files included)", pg.Source, files)
	}
	if pub.askedFor("/shared/") {
		t.Error("the public index was asked for a project the private one has")
	}
	if _, err := g.Page(ctx, "corp-tool", pypi.ContentTypeJSON, redact.Secret{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("internal project: %v, want not found", err)
	}
	if pub.askedFor("corp-tool") {
		t.Error("the public index was asked for an internal project")
	}
	if pg, err := g.Page(ctx, "public-only", pypi.ContentTypeJSON, redact.Secret{}); err != nil || pg.Source != SourcePublic {
		t.Errorf("public-only: %v", err)
	}
	priv.denied = true
	var denied *UpstreamDeniedError
	if _, err := g.Page(ctx, "public-only", pypi.ContentTypeJSON, redact.Secret{}); !errors.As(err, &denied) {
		t.Errorf("a private 403: %v, want it relayed, not a public fallback", err)
	}
}

func TestFileStreamsVerified(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	good := pub.add(spec{name: "demo", version: "1.0.0", age: old, metadata: true})
	bad := pub.add(spec{name: "demo", version: "1.1.0", age: old, tamper: true})
	young := pub.add(spec{name: "demo", version: "2.0.0", age: young})
	g := newGate(t, pub, nil, minAgeWeek)
	ctx := context.Background()

	f, err := g.File(ctx, "demo", good.Filename, redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f.Body)
	f.Body.Close()
	if err != nil || string(b) != "contents of "+good.Filename {
		t.Errorf("good file: %q, %v", b, err)
	}

	f, err = g.File(ctx, "demo", bad.Filename, redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	// Read one byte at a time: the last one must never come out.
	var got []byte
	one := make([]byte, 1)
	for {
		n, err := f.Body.Read(one)
		got = append(got, one[:n]...)
		if err != nil {
			if !errors.Is(err, ErrIntegrityMismatch) {
				t.Errorf("tampered file ended with %v, want ErrIntegrityMismatch", err)
			}
			break
		}
	}
	f.Body.Close()
	if len(got) >= len("CONTENTS OF "+bad.Filename) {
		t.Errorf("the whole tampered file was delivered (%d bytes)", len(got))
	}

	_, err = g.File(ctx, "demo", young.Filename, redact.Secret{})
	var ref *RefusedError
	if !errors.As(err, &ref) || ref.Rule != policy.RuleDefaultDeny || !strings.Contains(ref.Message, "Écluse refused demo 2.0.0") || ref.AdmitAt.IsZero() {
		t.Errorf("young file: %v (%+v)", err, ref)
	}
	if _, err := g.File(ctx, "demo", "demo-9.9.9.tar.gz", redact.Secret{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown file: %v", err)
	}
	if _, err := g.File(ctx, "demo", "../demo.whl", redact.Secret{}); err == nil {
		t.Error("a filename with a slash was accepted")
	}

	meta, _, err := g.Metadata(ctx, "demo", good.Filename, redact.Secret{})
	if err != nil || !strings.HasPrefix(string(meta), "Metadata-Version: 2.1") {
		t.Errorf("metadata: %q %v", meta, err)
	}
	if _, _, err := g.Metadata(ctx, "demo", young.Filename, redact.Secret{}); !errors.As(err, &ref) {
		t.Errorf("metadata of a refused file: %v, want the refusal", err)
	}
}

func TestHTMLOnlyIndexHasNoAges(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	pub.html = true
	pub.add(spec{name: "demo", version: "1.0.0", age: old})
	g := newGate(t, pub, nil, minAgeWeek)
	pg, err := g.Page(context.Background(), "demo", pypi.ContentTypeJSON, redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	if files, _ := served(t, pg); len(files) != 0 || pg.Blocked != 1 {
		t.Errorf("an HTML page carries no upload-time, so nothing passes an age rule: got %v", files)
	}
}

func TestExplain(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	pub.add(spec{name: "demo", version: "1.0.0", age: old})
	pub.add(spec{name: "demo", version: "1.2.0", age: old, md5Only: true})
	g := newGate(t, pub, nil, minAgeWeek)
	ex, err := g.Explain(context.Background(), "demo", redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ex)
	if len(ex.Files) != 2 || !ex.Files[0].Allowed || ex.Files[1].Allowed || ex.Files[1].Rule != policy.RuleIntegrityFloor {
		t.Errorf("explanation %s", b)
	}
}

func TestBadNames(t *testing.T) {
	g := newGate(t, newIndex("https://index.example.test/simple/"), nil, minAgeWeek)
	for _, name := range []string{"", "Demo", "a/b", "..", "demo_x"} {
		var bad *BadRequestError
		if _, err := g.Page(context.Background(), name, pypi.ContentTypeJSON, redact.Secret{}); !errors.As(err, &bad) {
			t.Errorf("Page(%q) = %v, want a bad request", name, err)
		}
	}
}

// TestFileHostPrefixNotEscaped: a file URL on the files host whose path climbs out of
// the configured prefix is refused, encoded or not.
func TestFileHostPrefixNotEscaped(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	pub.add(spec{name: "demo", version: "1.0.0", age: old, host: "https://files.example.test/packages/../private"})
	pub.add(spec{name: "demo", version: "1.1.0", age: old, host: "https://files.example.test/packages/%2e%2e/private"})
	pub.add(spec{name: "demo", version: "1.2.0", age: old, host: "https://files.example.test/packages"})
	pub.add(spec{name: "demo", version: "1.3.0", age: old, host: "https://files.example.test/packages/..%2F..%2Fadmin"})
	pub.add(spec{name: "demo", version: "1.4.0", age: old, host: "https://files.example.test/packages/%2e%2e%5cadmin"})
	g := newGate(t, pub, nil, minAgeWeek, func(o *Options) { o.FilesBase, _ = url.Parse("https://files.example.test/packages/") })
	pg, err := g.Page(context.Background(), "demo", pypi.ContentTypeJSON, redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	if files, _ := served(t, pg); !slices.Equal(files, []string{"demo-1.2.0-py3-none-any.whl"}) {
		t.Errorf("files %v, want only the one under the prefix", files)
	}
	ex, _ := g.Explain(context.Background(), "demo", redact.Secret{})
	for _, i := range []int{0, 1, 3, 4} {
		if ex.Files[i].Rule != RuleFileHost {
			t.Errorf("%s: rule %q, want %s", ex.Files[i].Filename, ex.Files[i].Rule, RuleFileHost)
		}
	}
}

// TestRulePatternsNormalised: a deny rule written with the name as the index displays
// it (case, "_" or ".") applies to the normalised project.
func TestRulePatternsNormalised(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	pub.add(spec{name: "py-yaml", version: "5.3", age: old})
	pub.add(spec{name: "py-yaml", version: "6.0", age: old})
	for _, pattern := range []string{"Py_YAML", "PY.yaml@<6", "py_*"} {
		g := newGate(t, pub, nil, `{"min-age": {"type": "MinAge", "ageSeconds": 604800}, "deny": {"type": "DenyPackages", "packages": ["`+pattern+`"]}}`)
		pg, err := g.Page(context.Background(), "py-yaml", pypi.ContentTypeJSON, redact.Secret{})
		if err != nil {
			t.Fatal(err)
		}
		files, _ := served(t, pg)
		if slices.Contains(files, "py_yaml-5.3-py3-none-any.whl") {
			t.Errorf("pattern %q: 5.3 still served (%v)", pattern, files)
		}
	}
}

// TestPublicRefusalNotRelayed: the public index's 403 is its failure (a 502), and its
// words are not passed on to the client.
func TestPublicRefusalNotRelayed(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	pub.denied = true
	g := newGate(t, pub, nil, minAgeWeek)
	_, err := g.Page(context.Background(), "demo", pypi.ContentTypeJSON, redact.Secret{})
	var up *UpstreamError
	if !errors.As(err, &up) || strings.Contains(up.Message, "no entry") {
		t.Errorf("public 403: %v, want an upstream error without the index's message", err)
	}
}
