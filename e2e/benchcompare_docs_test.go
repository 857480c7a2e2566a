package e2e

// The documents of BenchmarkCompare and the two servers that hand them out as plain bytes:
// genDocs, which serves generated packuments from memory in front of the fixture registry
// (the public upstream), and floorServer, the least any server could do for the same
// answers.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// genSpec describes a generated package document: Versions manifests of about
// VersionBytes each, shaped like real ones (dependencies, scripts, repository, a dist with
// integrity and signatures, the npm bookkeeping fields). The newest Young versions were
// published inside the default 7-day quarantine (between five days and an hour ago), the
// others between two years and 30 days ago.
type genSpec struct {
	Versions     int
	VersionBytes int
	Young        int
}

// genName stands for the package name in a generated template; genDocs.Put replaces it.
const genName = "@@bench-package-name@@"

// genVersion is the i-th version of a generated document, in publish order.
func genVersion(i int) string { return fmt.Sprintf("%d.%d.%d", i/400, i/20%20, i%20) }

// genPerson is an author, maintainer or publisher.
type genPerson struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// genManifest is one version of a generated document, its members in the order the public
// registry writes them.
type genManifest struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Description          string            `json:"description"`
	Keywords             []string          `json:"keywords"`
	Homepage             string            `json:"homepage"`
	Bugs                 map[string]string `json:"bugs"`
	License              string            `json:"license"`
	Author               genPerson         `json:"author"`
	Main                 string            `json:"main"`
	Types                string            `json:"types"`
	Files                []string          `json:"files"`
	Repository           map[string]string `json:"repository"`
	Scripts              map[string]string `json:"scripts"`
	Dependencies         map[string]string `json:"dependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	DevDependencies      json.RawMessage   `json:"devDependencies"`
	Engines              map[string]string `json:"engines"`
	GitHead              string            `json:"gitHead"`
	ID                   string            `json:"_id"`
	NodeVersion          string            `json:"_nodeVersion"`
	NPMVersion           string            `json:"_npmVersion"`
	Dist                 genDist           `json:"dist"`
	NPMUser              genPerson         `json:"_npmUser"`
	Directories          struct{}          `json:"directories"`
	Maintainers          []genPerson       `json:"maintainers"`
	HasShrinkwrap        bool              `json:"_hasShrinkwrap"`
}

type genDist struct {
	Integrity    string         `json:"integrity"`
	Shasum       string         `json:"shasum"`
	Tarball      string         `json:"tarball"`
	FileCount    int            `json:"fileCount"`
	UnpackedSize int            `json:"unpackedSize"`
	Signatures   []genSignature `json:"signatures"`
}

type genSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// genSyllables make the generated dependency names.
var genSyllables = []string{"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu", "bra", "cle", "dri", "flo", "gra", "pli", "sto", "tre"}

// genWord is a pronounceable word of two to four syllables.
func genWord(r *rand.Rand) string {
	var b strings.Builder
	for range 2 + r.IntN(3) {
		b.WriteString(genSyllables[r.IntN(len(genSyllables))])
	}
	return b.String()
}

// genDepName is a dependency name, a fifth of them scoped.
func genDepName(r *rand.Rand) string {
	if r.IntN(5) == 0 {
		return "@" + genWord(r) + "/" + genWord(r)
	}
	return genWord(r) + "-" + genWord(r)
}

// genRange is a version range as package.json files write them.
func genRange(r *rand.Rand) string {
	return []string{"^", "~", ""}[r.IntN(3)] + fmt.Sprintf("%d.%d.%d", r.IntN(20), r.IntN(40), r.IntN(30))
}

func genRandom(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// generatePackument returns the full document of s, its package name written as genName
// and its tarball URLs under tarballBase. The same spec always gives the same bytes, apart
// from the publish times, which are relative to now.
//
// Like a real project's, the manifests repeat each other: the dependency sets are the same
// from version to version but for an occasional bump, and development dependencies make up
// most of each manifest (60% of next's), so the abbreviated form is a fraction of the full
// one and both compress about as well as real documents do. What differs in every version
// is what differs in reality: the version, the tarball URL, and the digests, commit and
// signature, which are random.
func generatePackument(tb testing.TB, s genSpec, tarballBase string, now time.Time) []byte {
	tb.Helper()
	h := fnv.New64a()
	fmt.Fprintf(h, "%+v", s)
	r := rand.New(rand.NewPCG(h.Sum64(), 1985))

	author := genPerson{Name: "Bench Author", Email: "author@example.invalid"}
	maintainers := []genPerson{author, {Name: "bench-bot", Email: "bot@example.invalid"}}
	keywords := []string{"bench", genWord(r), genWord(r), genWord(r), genWord(r)}
	deps := map[string]string{}
	for range 8 {
		deps[genDepName(r)] = genRange(r)
	}
	// devPool holds the development dependencies every manifest lists.
	type devDep struct{ name, rng string }
	var (
		devPool []devDep
		devJSON []byte // devPool encoded; nil when it changed
	)
	published := func(i int) time.Time {
		if old := s.Versions - s.Young; i < old {
			span := 700 * 24 * time.Hour
			return now.Add(-730*24*time.Hour + span*time.Duration(i)/time.Duration(max(old, 1)))
		}
		j := i - (s.Versions - s.Young)
		span := 5*24*time.Hour - time.Hour
		return now.Add(-5*24*time.Hour + span*time.Duration(j)/time.Duration(max(s.Young, 1)))
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	encode := func(v any) []byte {
		buf.Reset()
		if err := enc.Encode(v); err != nil {
			tb.Fatalf("generating a packument: %v", err)
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}

	var doc bytes.Buffer
	doc.Grow(s.Versions * (s.VersionBytes + 64))
	fmt.Fprintf(&doc, `{"_id":%q,"name":%q,"description":"Generated for Écluse's side-by-side benchmark","dist-tags":{"latest":%q},"versions":{`,
		genName, genName, genVersion(s.Versions-1))
	for i := range s.Versions {
		v := genVersion(i)
		if r.IntN(10) == 0 { // a dependency replaced
			delete(deps, slices.Sorted(maps.Keys(deps))[r.IntN(len(deps))])
			deps[genDepName(r)] = genRange(r)
		}
		if len(devPool) > 0 && r.IntN(4) == 0 { // a development dependency bumped
			devPool[r.IntN(len(devPool))].rng = genRange(r)
			devJSON = nil
		}
		m := genManifest{
			Name:        genName,
			Version:     v,
			Description: "Generated for Écluse's side-by-side benchmark",
			Keywords:    keywords,
			Homepage:    "https://example.invalid/bench#readme",
			Bugs:        map[string]string{"url": "https://example.invalid/bench/issues"},
			License:     "MIT",
			Author:      author,
			Main:        "dist/index.js",
			Types:       "dist/index.d.ts",
			Files:       []string{"dist", "bin", "README.md", "LICENSE"},
			Repository:  map[string]string{"type": "git", "url": "git+https://example.invalid/bench.git", "directory": "packages/bench"},
			Scripts: map[string]string{
				"build": "tsc -p tsconfig.build.json && node scripts/bundle.js",
				"test":  "node --test test/",
				"lint":  "eslint . --max-warnings 0",
			},
			Dependencies:         deps,
			PeerDependencies:     map[string]string{"react": "^18.2.0 || ^19.0.0", "react-dom": "^18.2.0 || ^19.0.0"},
			OptionalDependencies: map[string]string{},
			DevDependencies:      json.RawMessage("{}"),
			Engines:              map[string]string{"node": ">=18.18.0"},
			GitHead:              hex.EncodeToString(genRandom(r, 20)),
			ID:                   genName + "@" + v,
			NodeVersion:          "20.18.1",
			NPMVersion:           "10.8.2",
			Dist: genDist{
				Integrity:    "sha512-" + base64.StdEncoding.EncodeToString(genRandom(r, 64)),
				Shasum:       hex.EncodeToString(genRandom(r, 20)),
				Tarball:      tarballBase + tarballPath(genName, v),
				FileCount:    40 + i/10,
				UnpackedSize: 100000 + 37*i,
				Signatures: []genSignature{{
					KeyID: "SHA256:bench-signing-key",
					Sig:   "MEUCIQ" + base64.StdEncoding.EncodeToString(genRandom(r, 64)),
				}},
			},
			NPMUser:     maintainers[1],
			Maintainers: maintainers,
		}
		for _, p := range []string{"darwin-arm64", "darwin-x64", "linux-x64-gnu", "linux-arm64-musl", "win32-x64-msvc"} {
			m.OptionalDependencies["@bench/swc-"+p] = v
		}
		if devPool == nil {
			// The first version sets how many development dependencies pad a manifest to
			// the size asked for; the others list as many.
			seen := map[string]bool{}
			for size := len(encode(m)); size < s.VersionBytes; {
				d := devDep{genDepName(r), genRange(r)}
				if seen[d.name] {
					continue
				}
				seen[d.name] = true
				devPool = append(devPool, d)
				size += len(d.name) + len(d.rng) + 6
			}
			devJSON = nil
		}
		if devJSON == nil {
			devJSON = append(devJSON, '{')
			for j, d := range devPool {
				if j > 0 {
					devJSON = append(devJSON, ',')
				}
				devJSON = strconv.AppendQuote(devJSON, d.name)
				devJSON = append(devJSON, ':')
				devJSON = strconv.AppendQuote(devJSON, d.rng)
			}
			devJSON = append(devJSON, '}')
		}
		m.DevDependencies = devJSON
		if i > 0 {
			doc.WriteByte(',')
		}
		fmt.Fprintf(&doc, "%q:", v)
		doc.Write(encode(m))
	}
	doc.WriteString(`},"time":{`)
	fmt.Fprintf(&doc, `"created":%q,"modified":%q`, npmTime(published(0)), npmTime(published(s.Versions-1)))
	for i := range s.Versions {
		fmt.Fprintf(&doc, `,%q:%q`, genVersion(i), npmTime(published(i)))
	}
	fmt.Fprintf(&doc, `},"maintainers":%s,"license":"MIT","readmeFilename":"README.md","readme":%q}`,
		encode(maintainers), strings.Repeat("A generated package for the side-by-side benchmark. ", 40))
	if !json.Valid(doc.Bytes()) {
		tb.Fatalf("generated packument %+v is not valid JSON", s)
	}
	return doc.Bytes()
}

// genDocs serves generated package documents as raw bytes from memory, in front of a
// fixture registry (installed as its interceptor): a GET or HEAD of a name put here gets
// those bytes, and every other request goes to the registry. It lets one public upstream
// serve documents of 20 MB without building them for each request.
type genDocs struct {
	mu   sync.RWMutex
	docs map[string][]byte // by the packument's escaped path
}

// newGenDocs installs a genDocs in front of reg.
func newGenDocs(reg *FixtureRegistry) *genDocs {
	g := &genDocs{docs: map[string][]byte{}}
	reg.Intercept(g.intercept)
	return g
}

// Put serves template, with genName replaced by name, as name's document.
func (g *genDocs) Put(name string, template []byte) {
	body := bytes.ReplaceAll(template, []byte(genName), []byte(name))
	g.mu.Lock()
	defer g.mu.Unlock()
	g.docs[packumentPath(name)] = body
}

// Drop stops serving name's document.
func (g *genDocs) Drop(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.docs, packumentPath(name))
}

func (g *genDocs) intercept(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	path := r.URL.EscapedPath()
	g.mu.RLock()
	body, ok := g.docs[path]
	g.mu.RUnlock()
	if !ok {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
	return true
}

// floorKey names one representation the floor serves: a path, the exact Accept header
// asked with, and whether the request accepted gzip.
type floorKey struct {
	path, accept string
	gzip         bool
}

// floorRep is a response recorded from Écluse: its body and the headers that describe it.
type floorRep struct {
	body                               []byte
	contentType, contentEncoding, etag string
}

// floorServer is the floor of the comparison: a minimal net/http server that answers each
// request with bytes it holds in memory, recorded from Écluse's own answers to the same
// request, so that both serve exactly the same bytes. It does nothing else: no lookup
// beyond one map read, no logging, no policy.
type floorServer struct {
	URL string

	mu   sync.RWMutex
	reps map[floorKey]floorRep
}

// newFloorServer starts an empty floor on 127.0.0.1, closed when the benchmark ends.
func newFloorServer(tb testing.TB) *floorServer {
	tb.Helper()
	f := &floorServer{reps: map[floorKey]floorRep{}}
	srv := httptest.NewServer(f)
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Record serves rep for requests to path with exactly accept, gzip or not.
func (f *floorServer) Record(path, accept string, gzip bool, rep floorRep) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reps[floorKey{path, accept, gzip}] = rep
}

func (f *floorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.RLock()
	rep, ok := f.reps[floorKey{r.URL.EscapedPath(), r.Header.Get("Accept"), acceptsGzip(r.Header)}]
	f.mu.RUnlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", rep.contentType)
	if rep.contentEncoding != "" {
		h.Set("Content-Encoding", rep.contentEncoding)
	}
	h.Set("ETag", rep.etag)
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rep.body)
}

// acceptsGzip reports whether a request's Accept-Encoding names gzip.
func acceptsGzip(h http.Header) bool {
	for _, v := range h.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				return true
			}
		}
	}
	return false
}
