package e2e

// The PyPI side of the harness: PyPIIndex, a fixture package index speaking the Simple API
// (PEP 503 HTML and PEP 691 JSON with PEP 700's upload-time, PEP 592 yanks and PEP 658
// metadata) whose files live on a second host, as the public index's do, serving real
// wheels and sdists built by the test; and pipTool, the real pip run in an isolated
// environment. Neither needs the ecluse binary; the self-test is
// TestPyPIFixtureInstallsDirectly.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Media types of the Simple API.
const (
	pyTypeJSON   = "application/vnd.pypi.simple.v1+json" // PEP 691
	pyTypeHTMLv1 = "application/vnd.pypi.simple.v1+html" // PEP 691's name for the HTML form
	pyTypeHTML   = "text/html"                           // PEP 503
)

// pipAccept is the Accept header pip (23.2) sends for a project page.
const pipAccept = pyTypeJSON + ", " + pyTypeHTMLv1 + "; q=0.1, " + pyTypeHTML + "; q=0.01"

// pyUploadTimeLayout is how the index writes PEP 700's upload-time.
const pyUploadTimeLayout = "2006-01-02T15:04:05.000000Z"

// PyProject is a project for the fixture index (PyPIIndex.Add).
type PyProject struct {
	// Name is the project name. The index serves it under its PEP 503 normalised form
	// (pyNormalize), which is also the name its files and metadata carry.
	Name string
	// Releases are the project's releases, in any order: the page lists their files in
	// this order.
	Releases []PyRelease
}

// PyRelease is one release of a PyProject and the files it has.
type PyRelease struct {
	// Version is the release's version as its files write it ("1.0.0").
	Version string
	// Published is the upload-time of every file of the release. Zero means the JSON page
	// carries no upload-time for them, as an index without PEP 700 does.
	Published time.Time
	// Sdist adds a source distribution, NAME-VERSION.tar.gz (the project name as given,
	// dashes kept: the legacy spelling most sdists on the public index have).
	Sdist bool
	// Wheel adds a pure-Python wheel, DIST-VERSION-py3-none-any.whl (DIST the normalised
	// name with "_" for "-"). A release with neither Sdist nor Wheel gets a wheel.
	Wheel bool
	// MD5Only makes the page give only an md5 hash for the release's files (JSON hashes
	// {"md5": ...}, HTML #md5=...), as very old uploads have.
	MD5Only bool
	// Yanked yanks the release's files (PEP 592): "" is not yanked, "yes" yanked without a
	// reason, anything else yanked with that reason.
	Yanked string
	// Metadata serves the wheel's PEP 658 metadata beside it (FILE.metadata, the wheel's
	// METADATA byte for byte) and announces it on the page. Sdists never have it.
	Metadata bool
	// RequiresPython is the release's Requires-Python, in its metadata and on the page.
	// Empty means none.
	RequiresPython string
	// Tamper makes the files host serve, for each of the release's files, bytes other than
	// those the page hashes (same length, one marker in the package's __init__.py changed).
	Tamper bool
}

// PyFile is one file the fixture index serves.
type PyFile struct {
	// Project is the project's normalised name.
	Project string
	// Version is its release's version.
	Version string
	// Filename is the file's name.
	Filename string
	// Wheel is true for the wheel, false for the sdist.
	Wheel bool
	// Body is the honest file: the bytes the page's hash and size describe.
	Body []byte
	// Served is what the files host serves: Body, unless the release is Tamper.
	Served []byte
	// SHA256 and MD5 are the lower-case hex digests of Body.
	SHA256, MD5 string
	// Metadata is the core metadata (the wheel's METADATA, the sdist's PKG-INFO); it is
	// served beside the file only if HasMetadata.
	Metadata    []byte
	HasMetadata bool
	// URL is where the page says the file is: absolute on the files host for a public
	// index, relative to the page for a private one (see newPrivatePyPIIndex).
	URL string

	release PyRelease
	path    string // the files host's URL path of the file
}

// PyPIIndex is a fixture package index on 127.0.0.1. Its index host serves, for every
// project added, GET /simple/NAME/ in the form the Accept header asks for (PEP 691 JSON,
// api-version 1.1; or HTML, as text/html or PEP 691's HTML type; 406 when neither is
// acceptable), with a 301 to the normalised name for any other spelling or a missing
// trailing slash, and 404 for an unknown project. Its files host serves
// GET /files/AA/BB/REST/FILENAME (AABBREST the sha256 of the honest file) and
// FILENAME.metadata for a file with PEP 658 metadata. It records every request to either
// host.
type PyPIIndex struct {
	// URL is the index host's base URL without a trailing slash; the Simple API is under
	// URL + "/simple/".
	URL string
	// FilesURL is the files host's base URL without a trailing slash: another port than
	// URL, or URL itself for a private index.
	FilesURL string

	t        testing.TB
	relative bool // file URLs are written relative to the page (a private index)

	mu       sync.Mutex
	projects map[string][]*PyFile // normalised name → files in page order
	files    map[string]*PyFile   // files host URL path → file (".metadata" paths included)
	htmlOnly bool
	reqs     []Request
}

// newPyPIIndex starts a fixture index whose files are on a second host, as the public
// index's are, both closed when the test ends.
func newPyPIIndex(t testing.TB) *PyPIIndex {
	t.Helper()
	p := &PyPIIndex{t: t, projects: map[string][]*PyFile{}, files: map[string]*PyFile{}}
	index := httptest.NewServer(p.record(http.HandlerFunc(p.serveIndex)))
	t.Cleanup(index.Close)
	files := httptest.NewServer(p.record(http.HandlerFunc(p.serveFiles)))
	t.Cleanup(files.Close)
	p.URL, p.FilesURL = index.URL, files.URL
	return p
}

// newPrivatePyPIIndex starts a fixture index that serves its files itself, under /files/,
// and writes their URLs relative to the page ("../../files/..."), as private indexes
// (pypiserver, devpi) do. It is closed when the test ends.
func newPrivatePyPIIndex(t testing.TB) *PyPIIndex {
	t.Helper()
	p := &PyPIIndex{t: t, relative: true, projects: map[string][]*PyFile{}, files: map[string]*PyFile{}}
	srv := httptest.NewServer(p.record(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/files/") {
			p.serveFiles(w, r)
			return
		}
		p.serveIndex(w, r)
	})))
	t.Cleanup(srv.Close)
	p.URL, p.FilesURL = srv.URL, srv.URL
	return p
}

// pyNameSeparators are the runs PEP 503 folds into one "-".
var pyNameSeparators = regexp.MustCompile(`[-_.]+`)

// pyNormalize is a project name's PEP 503 normalised form: lower case, every run of "-",
// "_" and "." one "-".
func pyNormalize(name string) string {
	return strings.ToLower(pyNameSeparators.ReplaceAllString(name, "-"))
}

// pyDist is the name as wheel filenames, dist-info directories and the import package
// write it: normalised, with "_" for "-".
func pyDist(name string) string { return strings.ReplaceAll(pyNormalize(name), "-", "_") }

// pyWheelFile is the file name of name's wheel at version.
func pyWheelFile(name, version string) string {
	return pyDist(name) + "-" + version + "-py3-none-any.whl"
}

// pySdistFile is the file name of name's sdist at version (the name as given).
func pySdistFile(name, version string) string { return name + "-" + version + ".tar.gz" }

// Add builds p's files and serves them, replacing any project of the same normalised name.
func (p *PyPIIndex) Add(proj PyProject) {
	p.t.Helper()
	norm := pyNormalize(proj.Name)
	var built []*PyFile
	for _, rel := range proj.Releases {
		fs, err := buildPyRelease(proj.Name, rel)
		if err != nil {
			p.t.Fatalf("fixture PyPI index: building %s %s: %v", proj.Name, rel.Version, err)
		}
		built = append(built, fs...)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, old := range p.projects[norm] {
		delete(p.files, old.path)
		delete(p.files, old.path+".metadata")
	}
	for _, f := range built {
		f.path = "/files/" + f.SHA256[:2] + "/" + f.SHA256[2:4] + "/" + f.SHA256[4:] + "/" + f.Filename
		if p.relative {
			f.URL = "../.." + f.path // from /simple/NAME/
		} else {
			f.URL = p.FilesURL + f.path
		}
		p.files[f.path] = f
		if f.HasMetadata {
			p.files[f.path+".metadata"] = f
		}
	}
	p.projects[norm] = built
}

// File returns the file named filename, failing the test if the index has none.
func (p *PyPIIndex) File(filename string) *PyFile {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, fs := range p.projects {
		for _, f := range fs {
			if f.Filename == filename {
				return f
			}
		}
	}
	p.t.Fatalf("fixture PyPI index has no file %s", filename)
	return nil
}

// ServeHTMLOnly makes the index answer every project page in HTML whatever the Accept
// header says, as an index that predates PEP 691 does. Off by default.
func (p *PyPIIndex) ServeHTMLOnly(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.htmlOnly = on
}

// Requests returns a copy of every request either host received so far, in arrival order.
// Index requests have paths under /simple/, files host requests under /files/.
func (p *PyPIIndex) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// RequestsMentioning returns the paths of the requests received so far (on either host)
// that mention s, both compared in PEP 503 normalised form: "corp-" matches
// /simple/Corp_Lib/ and /files/.../corp_lib-1.0.0-py3-none-any.whl.
func (p *PyPIIndex) RequestsMentioning(s string) []string {
	want := pyNormalize(s)
	var out []string
	for _, r := range p.Requests() {
		if unescaped, err := url.PathUnescape(r.Path); err == nil && strings.Contains(pyNormalize(unescaped), want) {
			out = append(out, r.Path)
		}
	}
	return out
}

// record wraps h so that every request is recorded first.
func (p *PyPIIndex) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.reqs = append(p.reqs, Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone()})
		p.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (p *PyPIIndex) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/simple/")
	name = strings.TrimSuffix(name, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		// The project list (/simple/) is not served: nothing the tests do needs it.
		http.NotFound(w, r)
		return
	}
	norm := pyNormalize(name)
	if name != norm || !strings.HasSuffix(r.URL.Path, "/") {
		http.Redirect(w, r, "/simple/"+norm+"/", http.StatusMovedPermanently)
		return
	}
	p.mu.Lock()
	files, found := p.projects[norm]
	htmlOnly := p.htmlOnly
	p.mu.Unlock()
	if !found {
		http.Error(w, "no such project: "+norm, http.StatusNotFound)
		return
	}
	form := pyTypeHTML
	if !htmlOnly {
		if form, ok = negotiatePyPI(r.Header.Get("Accept")); !ok {
			http.Error(w, "none of the Accept header's types is served: "+strings.Join([]string{pyTypeJSON, pyTypeHTMLv1, pyTypeHTML}, ", "),
				http.StatusNotAcceptable)
			return
		}
	}
	var body []byte
	if form == pyTypeJSON {
		body = renderPyJSON(norm, files)
	} else {
		body = renderPyHTML(norm, files)
	}
	ct := form
	if form == pyTypeHTML {
		ct += "; charset=utf-8"
	}
	w.Header().Set("Vary", "Accept")
	writeBytes(w, ct, body)
}

func (p *PyPIIndex) serveFiles(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	f := p.files[r.URL.Path]
	p.mu.Unlock()
	switch {
	case f == nil:
		http.NotFound(w, r)
	case strings.HasSuffix(r.URL.Path, ".metadata"):
		writeBytes(w, "application/octet-stream", f.Metadata)
	default:
		writeBytes(w, "application/octet-stream", f.Served)
	}
}

// negotiatePyPI picks the form of a project page for an Accept header: the offered type
// with the highest q (an exact match counting before type/* and */*); among equals, JSON
// before PEP 691's HTML before text/html, except that when only wildcards matched, HTML
// (text/html) wins, as the public index answers */*. No Accept header is */*. It reports
// false when no form is acceptable.
func negotiatePyPI(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		accept = "*/*"
	}
	type rng struct {
		typ string
		q   float64
	}
	var ranges []rng
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(s, 64); err != nil {
				continue
			}
		}
		ranges = append(ranges, rng{mt, q})
	}
	best, bestQ, bestSpec := "", 0.0, -1
	for _, offer := range []string{pyTypeJSON, pyTypeHTMLv1, pyTypeHTML} {
		major, _, _ := strings.Cut(offer, "/")
		q, spec := 0.0, -1
		for _, r := range ranges {
			s := -1
			switch r.typ {
			case offer:
				s = 2
			case major + "/*":
				s = 1
			case "*/*":
				s = 0
			}
			if s > spec {
				q, spec = r.q, s
			}
		}
		if q <= 0 {
			continue
		}
		better := q > bestQ || (q == bestQ && spec > bestSpec)
		if q == bestQ && spec == 0 && bestSpec == 0 && offer == pyTypeHTML {
			better = true
		}
		if better {
			best, bestQ, bestSpec = offer, q, spec
		}
	}
	return best, best != ""
}

// pyJSONPage is a PEP 691 project page (api-version 1.1), as the fixture writes it and as
// the tests read Écluse's.
type pyJSONPage struct {
	Meta struct {
		APIVersion string `json:"api-version"`
	} `json:"meta"`
	Name     string       `json:"name"`
	Versions []string     `json:"versions"`
	Files    []pyJSONFile `json:"files"`
}

// pyJSONFile is one file of a pyJSONPage. Yanked is false, true or a reason; the metadata
// fields false, true or a map of hashes.
type pyJSONFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   *string           `json:"requires-python,omitempty"`
	Yanked           any               `json:"yanked,omitempty"`
	UploadTime       string            `json:"upload-time,omitempty"`
	Size             *int64            `json:"size,omitempty"`
	CoreMetadata     any               `json:"core-metadata,omitempty"`
	DistInfoMetadata any               `json:"dist-info-metadata,omitempty"`
}

func renderPyJSON(norm string, files []*PyFile) []byte {
	page := pyJSONPage{Name: norm, Versions: []string{}, Files: []pyJSONFile{}}
	page.Meta.APIVersion = "1.1"
	for _, f := range files {
		if !slices.Contains(page.Versions, f.Version) {
			page.Versions = append(page.Versions, f.Version)
		}
		size := int64(len(f.Body))
		jf := pyJSONFile{Filename: f.Filename, URL: f.URL, Size: &size, Yanked: false, CoreMetadata: false, DistInfoMetadata: false}
		if f.release.MD5Only {
			jf.Hashes = map[string]string{"md5": f.MD5}
		} else {
			jf.Hashes = map[string]string{"sha256": f.SHA256}
		}
		if rp := f.release.RequiresPython; rp != "" {
			jf.RequiresPython = &rp
		}
		switch y := f.release.Yanked; y {
		case "":
		case "yes":
			jf.Yanked = true
		default:
			jf.Yanked = y
		}
		if !f.release.Published.IsZero() {
			jf.UploadTime = f.release.Published.UTC().Format(pyUploadTimeLayout)
		}
		if f.HasMetadata {
			jf.CoreMetadata = map[string]string{"sha256": sha256Hex(f.Metadata)}
			jf.DistInfoMetadata = jf.CoreMetadata
		}
		page.Files = append(page.Files, jf)
	}
	b, err := json.Marshal(page)
	if err != nil {
		panic(err) // only maps of strings and plain values
	}
	return b
}

func renderPyHTML(norm string, files []*PyFile) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n"+
		"    <title>Links for %s</title>\n  </head>\n  <body>\n    <h1>Links for %s</h1>\n", norm, norm)
	for _, f := range files {
		frag := "sha256=" + f.SHA256
		if f.release.MD5Only {
			frag = "md5=" + f.MD5
		}
		attrs := ""
		if rp := f.release.RequiresPython; rp != "" {
			attrs += ` data-requires-python="` + html.EscapeString(rp) + `"`
		}
		switch y := f.release.Yanked; y {
		case "":
		case "yes":
			attrs += ` data-yanked=""`
		default:
			attrs += ` data-yanked="` + html.EscapeString(y) + `"`
		}
		if f.HasMetadata {
			v := "sha256=" + sha256Hex(f.Metadata)
			attrs += ` data-core-metadata="` + v + `" data-dist-info-metadata="` + v + `"`
		}
		fmt.Fprintf(&b, "    <a href=\"%s\"%s>%s</a><br />\n", html.EscapeString(f.URL+"#"+frag), attrs, html.EscapeString(f.Filename))
	}
	b.WriteString("  </body>\n</html>\n")
	return []byte(b.String())
}

// buildPyRelease makes the files of project name's release rel.
func buildPyRelease(name string, rel PyRelease) ([]*PyFile, error) {
	if rel.Version == "" || strings.ContainsAny(rel.Version, "-/ ") {
		return nil, fmt.Errorf("version %q cannot be written in a filename", rel.Version)
	}
	metadata := pyMetadata(name, rel)
	var out []*PyFile
	add := func(filename string, wheel bool, build func(marker string) ([]byte, error)) error {
		body, err := build("honest")
		if err != nil {
			return err
		}
		served := body
		if rel.Tamper {
			if served, err = build("TAMPER"); err != nil {
				return err
			}
			if len(served) != len(body) || bytes.Equal(served, body) {
				return fmt.Errorf("tampered %s: %d bytes against %d, or identical", filename, len(served), len(body))
			}
		}
		m := md5.Sum(body)
		out = append(out, &PyFile{
			Project: pyNormalize(name), Version: rel.Version, Filename: filename, Wheel: wheel,
			Body: body, Served: served, SHA256: sha256Hex(body), MD5: hex.EncodeToString(m[:]),
			Metadata: metadata, HasMetadata: wheel && rel.Metadata, release: rel,
		})
		return nil
	}
	if rel.Wheel || !rel.Sdist {
		if err := add(pyWheelFile(name, rel.Version), true, func(marker string) ([]byte, error) {
			return buildPyWheel(name, rel.Version, metadata, marker)
		}); err != nil {
			return nil, err
		}
	}
	if rel.Sdist {
		if err := add(pySdistFile(name, rel.Version), false, func(marker string) ([]byte, error) {
			return buildPySdist(name, rel, metadata, marker)
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pyMetadata is the release's core metadata (METADATA in the wheel, PKG-INFO in the sdist).
func pyMetadata(name string, rel PyRelease) []byte {
	s := "Metadata-Version: 2.1\nName: " + pyNormalize(name) + "\nVersion: " + rel.Version +
		"\nSummary: An end-to-end fixture of the Ecluse tests\n"
	if rel.RequiresPython != "" {
		s += "Requires-Python: " + rel.RequiresPython + "\n"
	}
	return []byte(s)
}

// pyInit is the package's __init__.py. marker ("honest" or "TAMPER", the same length) is
// what a tampered file changes.
func pyInit(name, version, marker string) []byte {
	return fmt.Appendf(nil, "\"\"\"An end-to-end fixture of the Ecluse tests: %s %s.\"\"\"\n# fixture build: %s\n__version__ = %q\n",
		pyNormalize(name), version, marker, version)
}

// pyWheelTag is the WHEEL file of every fixture wheel.
const pyWheelTag = "Wheel-Version: 1.0\nGenerator: ecluse-e2e-fixture\nRoot-Is-Purelib: true\nTag: py3-none-any\n"

// pyRecordLine is a RECORD line: path, sha256 in unpadded URL-safe base64, size.
func pyRecordLine(name string, data []byte) string {
	sum := sha256.Sum256(data)
	return name + ",sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]) + "," + strconv.Itoa(len(data)) + "\n"
}

// buildPyWheel makes a pure-Python wheel: the package's __init__.py and the dist-info
// directory (METADATA, WHEEL, RECORD). Entries are stored uncompressed with a fixed time,
// so the same input gives the same bytes and a tampered wheel has the honest one's length.
func buildPyWheel(name, version string, metadata []byte, marker string) ([]byte, error) {
	dist := pyDist(name)
	info := dist + "-" + version + ".dist-info"
	entries := []struct {
		name string
		body []byte
	}{
		{dist + "/__init__.py", pyInit(name, version, marker)},
		{info + "/METADATA", metadata},
		{info + "/WHEEL", []byte(pyWheelTag)},
	}
	var record strings.Builder
	for _, e := range entries {
		record.WriteString(pyRecordLine(e.name, e.body))
	}
	record.WriteString(info + "/RECORD,,\n")
	entries = append(entries, struct {
		name string
		body []byte
	}{info + "/RECORD", []byte(record.String())})

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store, Modified: fixtureEpoch})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pyBackendFile is the sdists' in-tree PEP 517 build backend (backend-path _build),
// standard library only, so that pip builds an sdist in its isolated build environment
// without fetching a build backend from the index, which the fixture does not serve.
// Building runs this project code on the installing machine: that is what an sdist is.
// @NAME@, @DIST@, @VERSION@ and @WHEEL@ are replaced when an sdist is built.
var pyBackendFile = filepath.Join("testdata", "pypi", "fixture_backend.py")

// buildPySdist makes a source distribution NAME-VERSION.tar.gz holding NAME-VERSION/ with
// PKG-INFO, pyproject.toml, the package and its in-tree build backend. The gzip stream is
// stored (no compression) with fixed times, so the same input gives the same bytes and a
// tampered sdist has the honest one's length.
func buildPySdist(name string, rel PyRelease, metadata []byte, marker string) ([]byte, error) {
	dist := pyDist(name)
	base := name + "-" + rel.Version
	pyproject := "[build-system]\nrequires = []\nbuild-backend = \"fixture_backend\"\nbackend-path = [\"_build\"]\n\n" +
		"[project]\nname = \"" + pyNormalize(name) + "\"\nversion = \"" + rel.Version + "\"\n" +
		"description = \"An end-to-end fixture of the Ecluse tests\"\n"
	if rel.RequiresPython != "" {
		pyproject += "requires-python = \"" + rel.RequiresPython + "\"\n"
	}
	template, err := os.ReadFile(pyBackendFile)
	if err != nil {
		return nil, err
	}
	backend := strings.NewReplacer("@NAME@", name, "@DIST@", dist, "@VERSION@", rel.Version, "@WHEEL@", pyWheelTag).Replace(string(template))
	entries := []struct {
		name string
		body []byte
	}{
		{base + "/PKG-INFO", metadata},
		{base + "/pyproject.toml", []byte(pyproject)},
		{base + "/" + dist + "/__init__.py", pyInit(name, rel.Version, marker)},
		{base + "/_build/fixture_backend.py", []byte(backend)},
	}
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		return nil, err
	}
	gz.ModTime = fixtureEpoch
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), ModTime: fixtureEpoch,
			Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sha256Hex is the lower-case hex sha256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// pyLink is one file of a project page in either form, as the tests compare them.
type pyLink struct {
	Filename string
	// URL is the file's absolute URL (resolved against the page), without its fragment.
	URL string
	// SHA256 and MD5 are the hashes the page gives (JSON hashes, HTML #alg= fragment).
	SHA256, MD5 string
	// RequiresPython is the requires-python value, HTML entities decoded.
	RequiresPython string
	// Yanked reports a yank; YankedReason its reason, possibly empty.
	Yanked       bool
	YankedReason string
	// Metadata is the PEP 658 announcement: "" none, "true", or "sha256=HEX".
	Metadata string
	// UploadTime and Size are PEP 700's fields (JSON only): "" and -1 when absent.
	UploadTime string
	Size       int64
}

// pyPage is a project page in either form, parsed.
type pyPage struct {
	// Form is the response's media type: pyTypeJSON, pyTypeHTMLv1 or pyTypeHTML.
	Form string
	// Versions is the JSON page's versions; nil for HTML.
	Versions []string
	// APIVersion is the JSON meta.api-version; "" for HTML.
	APIVersion string
	Links      []pyLink
}

// Filenames returns the page's file names in page order.
func (pg pyPage) Filenames() []string {
	out := make([]string, 0, len(pg.Links))
	for _, l := range pg.Links {
		out = append(out, l.Filename)
	}
	return out
}

// Link returns the page's link to filename.
func (pg pyPage) Link(filename string) (pyLink, bool) {
	for _, l := range pg.Links {
		if l.Filename == filename {
			return l, true
		}
	}
	return pyLink{}, false
}

// parsePyPage parses a project page served at pageURL, in the form its Content-Type names.
func parsePyPage(pageURL string, contentType string, body []byte) (pyPage, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return pyPage{}, err
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return pyPage{}, fmt.Errorf("Content-Type %q: %w", contentType, err)
	}
	pg := pyPage{Form: mt}
	switch mt {
	case pyTypeJSON:
		var doc pyJSONPage
		if err := json.Unmarshal(body, &doc); err != nil {
			return pyPage{}, fmt.Errorf("decoding the JSON page: %w", err)
		}
		pg.Versions = doc.Versions
		if pg.Versions == nil {
			pg.Versions = []string{}
		}
		pg.APIVersion = doc.Meta.APIVersion
		for _, f := range doc.Files {
			l := pyLink{Filename: f.Filename, SHA256: f.Hashes["sha256"], MD5: f.Hashes["md5"], UploadTime: f.UploadTime, Size: -1}
			if l.URL, err = resolvePyURL(base, f.URL); err != nil {
				return pyPage{}, err
			}
			if f.RequiresPython != nil {
				l.RequiresPython = *f.RequiresPython
			}
			switch y := f.Yanked.(type) {
			case bool:
				l.Yanked = y
			case string:
				l.Yanked, l.YankedReason = true, y
			}
			meta := f.CoreMetadata
			if meta == nil {
				meta = f.DistInfoMetadata
			}
			switch m := meta.(type) {
			case bool:
				if m {
					l.Metadata = "true"
				}
			case map[string]any:
				if s, ok := m["sha256"].(string); ok {
					l.Metadata = "sha256=" + s
				} else {
					l.Metadata = "true"
				}
			}
			if f.Size != nil {
				l.Size = *f.Size
			}
			pg.Links = append(pg.Links, l)
		}
	case pyTypeHTML, pyTypeHTMLv1:
		links, err := parsePyAnchors(base, string(body))
		if err != nil {
			return pyPage{}, err
		}
		pg.Links = links
	default:
		return pyPage{}, fmt.Errorf("Content-Type %q is not a Simple API form", contentType)
	}
	return pg, nil
}

func resolvePyURL(base *url.URL, ref string) (string, error) {
	u, err := base.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("file URL %q: %w", ref, err)
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

var (
	// pyAnchor matches an anchor, quoted attribute values allowed to hold ">".
	pyAnchor = regexp.MustCompile(`(?is)<a\b((?:[^>"']|"[^"]*"|'[^']*')*)>(.*?)</a\s*>`)
	// pyAttr matches one attribute, with a double-quoted, single-quoted, bare or no value.
	pyAttr = regexp.MustCompile(`([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// parsePyAnchors reads the file anchors of an HTML project page.
func parsePyAnchors(base *url.URL, page string) ([]pyLink, error) {
	var out []pyLink
	for _, m := range pyAnchor.FindAllStringSubmatch(page, -1) {
		attrs := map[string]string{}
		for _, a := range pyAttr.FindAllStringSubmatch(m[1], -1) {
			attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3] + a[4])
		}
		href, ok := attrs["href"]
		if !ok {
			continue
		}
		l := pyLink{Filename: html.UnescapeString(strings.TrimSpace(m[2])), RequiresPython: attrs["data-requires-python"], Size: -1}
		if u, err := url.Parse(href); err == nil {
			alg, val, _ := strings.Cut(u.Fragment, "=")
			switch strings.ToLower(alg) {
			case "sha256":
				l.SHA256 = val
			case "md5":
				l.MD5 = val
			}
		}
		var err error
		if l.URL, err = resolvePyURL(base, href); err != nil {
			return nil, err
		}
		l.YankedReason, l.Yanked = attrs["data-yanked"]
		meta, ok := attrs["data-core-metadata"]
		if !ok {
			meta, ok = attrs["data-dist-info-metadata"]
		}
		if ok && meta != "false" {
			l.Metadata = meta
		}
		out = append(out, l)
	}
	return out, nil
}

// fetchPyPage fetches a project page with the Accept header accept (none if empty) and
// parses it, failing the test unless it answers 200 with a Simple API form.
func fetchPyPage(t *testing.T, pageURL, accept string) (response, pyPage) {
	t.Helper()
	h := http.Header{}
	if accept != "" {
		h.Set("Accept", accept)
	}
	r := fetch(t, pageURL, h)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s (Accept %q) = %d %q, want 200", pageURL, accept, r.status, clip(string(r.body)))
	}
	pg, err := parsePyPage(pageURL, r.header.Get("Content-Type"), r.body)
	if err != nil {
		t.Fatalf("GET %s (Accept %q): %v\n%s", pageURL, accept, err, clip(string(r.body)))
	}
	return r, pg
}

// pipCommandTimeout bounds one pip command.
const pipCommandTimeout = 3 * time.Minute

var (
	pythonOnce sync.Once
	pythonPath string
	pythonErr  error
)

// pipPython returns the absolute path of the interpreter `python3` runs (through any
// version-manager shim, resolved once with the test's own environment), failing the test
// if there is none or it has no pip: the PyPI tests drive the real pip and must not skip.
func pipPython(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := exec.LookPath("python3"); err != nil {
			pythonErr = fmt.Errorf("python3 is not on PATH: %w", err)
			return
		}
		out, err := exec.CommandContext(ctx, "python3", "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			pythonErr = fmt.Errorf("python3 -c 'import sys; print(sys.executable)': %w", err)
			return
		}
		exe := strings.TrimSpace(string(out))
		cmd := exec.CommandContext(ctx, exe, "-m", "pip", "--version")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PIP_CONFIG_FILE=" + os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		if out, err := cmd.CombinedOutput(); err != nil {
			pythonErr = fmt.Errorf("%s -m pip --version: %w\n%s", exe, err, out)
			return
		}
		pythonPath = exe
	})
	if pythonErr != nil {
		t.Fatalf("pip is missing: the PyPI tests drive the real pip (python3 -m pip) and need Python 3 "+
			"with pip on PATH: %v", pythonErr)
	}
	return pythonPath
}

// pipTool runs the real pip (python3 -m pip) in an isolated environment: no configuration
// file (PIP_CONFIG_FILE=/dev/null), no cache, no version check, no prompts, a HOME, XDG
// directories and TMPDIR of its own, no user site, and none of the test process's PIP_*
// or HTTP proxy variables. Every command is given exactly one index, --index-url. Nothing
// the machine's pip configuration says changes what is tested.
type pipTool struct {
	// Target is the --target directory Install installs into: use a fresh pipTool for
	// each install whose result the test reads.
	Target string
	// DownloadDir is the directory Download saves files into.
	DownloadDir string

	python string
	env    map[string]string
}

// newPip prepares a pip with a fresh target, download directory and home.
func newPip(t testing.TB) *pipTool {
	t.Helper()
	python := pipPython(t)
	root := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"home", "tmp", "target", "download"} {
		dirs[d] = filepath.Join(root, d)
		if err := os.Mkdir(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &pipTool{
		Target:      dirs["target"],
		DownloadDir: dirs["download"],
		python:      python,
		env: map[string]string{
			"PATH":                          os.Getenv("PATH"),
			"HOME":                          dirs["home"],
			"XDG_CACHE_HOME":                filepath.Join(dirs["home"], ".cache"),
			"XDG_CONFIG_HOME":               filepath.Join(dirs["home"], ".config"),
			"TMPDIR":                        dirs["tmp"],
			"PIP_CONFIG_FILE":               os.DevNull,
			"PIP_NO_CACHE_DIR":              "1",
			"PIP_DISABLE_PIP_VERSION_CHECK": "1",
			"PIP_NO_INPUT":                  "1",
			"PIP_PROGRESS_BAR":              "off",
			"PIP_NO_COLOR":                  "1",
			"PYTHONNOUSERSITE":              "1",
			"PYTHONDONTWRITEBYTECODE":       "1",
			"PYTHONUTF8":                    "1",
		},
	}
}

// Run runs `python3 -m pip args...` and returns its combined output. The error is non-nil
// if pip failed or timed out; the test is failed only if pip could not be started.
func (p *pipTool) Run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pipCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.python, append([]string{"-m", "pip"}, args...)...)
	cmd.Dir = p.env["HOME"]
	cmd.Env = envList(p.env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("pip %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("pip %s did not finish within %s: %w", strings.Join(args, " "), pipCommandTimeout, ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running pip: %v", err)
	}
	if err != nil {
		return string(out), fmt.Errorf("pip %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// Install runs `pip install --no-deps --target p.Target --index-url indexURL args...`.
func (p *pipTool) Install(t testing.TB, indexURL string, args ...string) (string, error) {
	t.Helper()
	return p.Run(t, append([]string{"install", "--no-deps", "--target", p.Target, "--index-url", indexURL}, args...)...)
}

// Download runs `pip download --no-deps -d p.DownloadDir --index-url indexURL args...`.
func (p *pipTool) Download(t testing.TB, indexURL string, args ...string) (string, error) {
	t.Helper()
	return p.Run(t, append([]string{"download", "--no-deps", "-d", p.DownloadDir, "--index-url", indexURL}, args...)...)
}

// Downloaded returns the names of the files in p.DownloadDir.
func (p *pipTool) Downloaded(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(p.DownloadDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// Installed returns the version of project pkg installed in p.Target, read from its
// *.dist-info/METADATA, and whether it is installed at all.
func (p *pipTool) Installed(t testing.TB, pkg string) (string, bool) {
	t.Helper()
	metas, err := filepath.Glob(filepath.Join(p.Target, "*.dist-info", "METADATA"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metas {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var name, version string
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimRight(line, "\r")
			if line == "" {
				break // the end of the headers
			}
			if v, ok := strings.CutPrefix(line, "Name:"); ok {
				name = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "Version:"); ok {
				version = strings.TrimSpace(v)
			}
		}
		if pyNormalize(name) == pyNormalize(pkg) {
			return version, true
		}
	}
	return "", false
}

// InstalledInit returns the installed __init__.py of project pkg's import package, or ""
// if there is none.
func (p *pipTool) InstalledInit(t testing.TB, pkg string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Target, pyDist(pkg), "__init__.py"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pyFixtureCheck is the project TestPyPIFixtureInstallsDirectly installs first.
const pyFixtureCheck = "e2e-pypi-fixture-check"

// TestPyPIFixtureInstallsDirectly points the real pip straight at the fixture index (no
// Écluse) and checks that it installs what the index serves in both forms, from wheels and
// from sdists (built by pip), that it uses PEP 658 metadata, skips yanked files, and that a
// tampered file fails pip's own hash check, so that the Écluse tests built on it mean what
// they say.
func TestPyPIFixtureInstallsDirectly(t *testing.T) {
	idx := newPyPIIndex(t)
	old := time.Now().Add(-30 * 24 * time.Hour)
	idx.Add(PyProject{Name: pyFixtureCheck, Releases: []PyRelease{
		{Version: "1.0.0", Published: old, Wheel: true, Sdist: true, Metadata: true, RequiresPython: "<4,>=3.8"},
	}})
	addPyPICatalogue(idx, nil)
	index := idx.URL + "/simple/"

	t.Run("wheel", func(t *testing.T) {
		pip := newPip(t)
		out, err := pip.Install(t, index, pyFixtureCheck+"==1.0.0")
		if err != nil {
			t.Fatalf("pip install %s==1.0.0 from the fixture: %v\n%s", pyFixtureCheck, err, out)
		}
		if v, ok := pip.Installed(t, pyFixtureCheck); !ok || v != "1.0.0" {
			t.Errorf("installed %s = %q, %v; want 1.0.0\n%s", pyFixtureCheck, v, ok, out)
		}
		if init := pip.InstalledInit(t, pyFixtureCheck); !strings.Contains(init, `__version__ = "1.0.0"`) ||
			!strings.Contains(init, "fixture build: honest") {
			t.Errorf("installed %s/__init__.py = %q, want the fixture's honest 1.0.0", pyDist(pyFixtureCheck), init)
		}
		wheel := idx.File(pyWheelFile(pyFixtureCheck, "1.0.0"))
		if !strings.Contains(out, "Obtaining dependency information for "+pyFixtureCheck) ||
			len(idx.RequestsMentioning(wheel.Filename+".metadata")) == 0 {
			t.Errorf("pip did not read the PEP 658 metadata of %s:\n%s", wheel.Filename, out)
		}
	})

	t.Run("wheel contents", func(t *testing.T) {
		wheel := idx.File(pyWheelFile(pyFixtureCheck, "1.0.0"))
		zr, err := zip.NewReader(bytes.NewReader(wheel.Body), int64(len(wheel.Body)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name], err = io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		info := pyDist(pyFixtureCheck) + "-1.0.0.dist-info/"
		if !bytes.Equal(files[info+"METADATA"], wheel.Metadata) {
			t.Errorf("the wheel's METADATA differs from the metadata served beside it:\n%s\n---\n%s", files[info+"METADATA"], wheel.Metadata)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(files[info+"RECORD"])), "\n") {
			fields := strings.Split(line, ",")
			if len(fields) != 3 {
				t.Fatalf("RECORD line %q has %d fields", line, len(fields))
			}
			if fields[0] == info+"RECORD" {
				if fields[1] != "" || fields[2] != "" {
					t.Errorf("RECORD's own line = %q, want empty hash and size", line)
				}
				continue
			}
			if want := strings.TrimSuffix(pyRecordLine(fields[0], files[fields[0]]), "\n"); line != want {
				t.Errorf("RECORD line %q, want %q", line, want)
			}
		}
		for _, f := range []*PyFile{wheel, idx.File(pySdistFile(pyFixtureCheck, "1.0.0"))} {
			r := fetch(t, idx.FilesURL+f.path, nil)
			if sum := sha256Hex(r.body); r.status != http.StatusOK || sum != f.SHA256 {
				t.Errorf("GET %s = %d, sha256 %s; want 200 and %s", f.path, r.status, sum, f.SHA256)
			}
		}
	})

	t.Run("sdist built by pip", func(t *testing.T) {
		pip := newPip(t)
		out, err := pip.Install(t, index, "--no-binary", pyFixtureCheck, pyFixtureCheck+"==1.0.0")
		if err != nil {
			t.Fatalf("pip install --no-binary %s==1.0.0 from the fixture: %v\n%s", pyFixtureCheck, err, out)
		}
		if v, ok := pip.Installed(t, pyFixtureCheck); !ok || v != "1.0.0" {
			t.Errorf("installed %s from its sdist = %q, %v; want 1.0.0\n%s", pyFixtureCheck, v, ok, out)
		}
		if init := pip.InstalledInit(t, pyFixtureCheck); !strings.Contains(init, `__version__ = "1.0.0"`) {
			t.Errorf("installed %s/__init__.py from the sdist = %q", pyDist(pyFixtureCheck), init)
		}
		if len(idx.RequestsMentioning(pySdistFile(pyFixtureCheck, "1.0.0"))) == 0 {
			t.Errorf("pip never fetched the sdist:\n%s", out)
		}
	})

	t.Run("both forms list the same files", func(t *testing.T) {
		for _, name := range []string{pyFixtureCheck, pyProjForms, pyProjYanked, pyProjMD5} {
			pageURL := index + name + "/"
			r, jsonPage := fetchPyPage(t, pageURL, pipAccept)
			if jsonPage.Form != pyTypeJSON || jsonPage.APIVersion != "1.1" || r.header.Get("Vary") != "Accept" {
				t.Errorf("%s with pip's Accept: form %s, api-version %q, Vary %q; want JSON 1.1, Vary Accept",
					name, jsonPage.Form, jsonPage.APIVersion, r.header.Get("Vary"))
			}
			_, htmlPage := fetchPyPage(t, pageURL, "text/html")
			if htmlPage.Form != pyTypeHTML {
				t.Errorf("%s with Accept text/html: form %s", name, htmlPage.Form)
			}
			for i := range jsonPage.Links {
				jsonPage.Links[i].UploadTime, jsonPage.Links[i].Size = "", -1 // JSON only
			}
			if !slices.Equal(jsonPage.Links, htmlPage.Links) {
				t.Errorf("%s: the forms differ:\nJSON %+v\nHTML %+v", name, jsonPage.Links, htmlPage.Links)
			}
		}
		for accept, want := range map[string]string{"": pyTypeHTML, "*/*": pyTypeHTML, pyTypeHTMLv1: pyTypeHTMLv1, "application/*": pyTypeJSON} {
			if _, pg := fetchPyPage(t, index+pyFixtureCheck+"/", accept); pg.Form != want {
				t.Errorf("GET with Accept %q: %s, want %s", accept, pg.Form, want)
			}
		}
		if status, _ := get(t, index+pyFixtureCheck+"/", http.Header{"Accept": {"application/xml"}}); status != http.StatusNotAcceptable {
			t.Errorf("GET with Accept application/xml = %d, want 406", status)
		}
		_, pg := fetchPyPage(t, index+pyProjForms+"/", "text/html")
		if l, _ := pg.Link(pyWheelFile(pyProjForms, "1.1.0")); !l.Yanked || l.YankedReason != pyFormsYankReason {
			t.Errorf("HTML link of the yanked 1.1.0 = %+v, want the reason %q", l, pyFormsYankReason)
		}
		if l, _ := pg.Link(pyWheelFile(pyProjForms, "1.0.0")); l.RequiresPython != pyFormsRequiresPython || !strings.HasPrefix(l.Metadata, "sha256=") {
			t.Errorf("HTML link of 1.0.0 = %+v, want requires-python %q and core metadata", l, pyFormsRequiresPython)
		}
	})

	t.Run("html only", func(t *testing.T) {
		idx.ServeHTMLOnly(true)
		defer idx.ServeHTMLOnly(false)
		pip := newPip(t)
		out, err := pip.Install(t, index, pyFixtureCheck+"==1.0.0")
		if v, _ := pip.Installed(t, pyFixtureCheck); err != nil || v != "1.0.0" {
			t.Errorf("pip install from the HTML form = %q, %v; want 1.0.0\n%s", v, err, out)
		}
		pip = newPip(t)
		out, err = pip.Install(t, index, pyProjYanked)
		if v, _ := pip.Installed(t, pyProjYanked); err != nil || v != "1.0.0" {
			t.Errorf("pip install %s from the HTML form = %q, %v; want 1.0.0 (the newer ones are yanked)\n%s", pyProjYanked, v, err, out)
		}
	})

	t.Run("redirects and not found", func(t *testing.T) {
		r := fetchNoRedirect(t, index+"E2E_PyPI.Old/", nil)
		if loc := r.header.Get("Location"); r.status != http.StatusMovedPermanently || loc != "/simple/"+pyProjOld+"/" {
			t.Errorf("GET /simple/E2E_PyPI.Old/ = %d Location %q, want 301 to /simple/%s/", r.status, loc, pyProjOld)
		}
		if status, _ := get(t, index+"e2e-pypi-nope/", nil); status != http.StatusNotFound {
			t.Errorf("GET an unknown project = %d, want 404", status)
		}
		if status, _ := get(t, idx.FilesURL+"/files/00/00/00/nope-1.0.0-py3-none-any.whl", nil); status != http.StatusNotFound {
			t.Errorf("GET an unknown file = %d, want 404", status)
		}
	})

	t.Run("yanked skipped unless pinned", func(t *testing.T) {
		pip := newPip(t)
		out, err := pip.Install(t, index, pyProjYanked)
		if v, _ := pip.Installed(t, pyProjYanked); err != nil || v != "1.0.0" {
			t.Errorf("pip install %s = %q, %v; want 1.0.0\n%s", pyProjYanked, v, err, out)
		}
		pip = newPip(t)
		out, err = pip.Install(t, index, pyProjYanked+"==1.1.0")
		if v, _ := pip.Installed(t, pyProjYanked); err != nil || v != "1.1.0" || !strings.Contains(out, "Reason for being yanked: "+pyYankReason) {
			t.Errorf("pip install %s==1.1.0 = %q, %v; want 1.1.0 with the yank reason\n%s", pyProjYanked, v, err, out)
		}
	})

	t.Run("md5-only and no upload-time install directly", func(t *testing.T) {
		for _, req := range []string{pyProjMD5 + "==1.1.0", pyProjNoTime + "==1.1.0"} {
			pip := newPip(t)
			if out, err := pip.Install(t, index, req); err != nil {
				t.Errorf("pip install %s from the fixture: %v\n%s", req, err, out)
			}
		}
	})

	t.Run("sdist-only installs directly", func(t *testing.T) {
		pip := newPip(t)
		out, err := pip.Install(t, index, pyProjSdist)
		if v, _ := pip.Installed(t, pyProjSdist); err != nil || v != "1.0.0" {
			t.Errorf("pip install %s (sdist only) from the fixture = %q, %v; want 1.0.0\n%s", pyProjSdist, v, err, out)
		}
	})

	t.Run("tampered file fails pip's hash check", func(t *testing.T) {
		f := idx.File(pyWheelFile(pyProjTampered, "1.1.0"))
		if len(f.Served) != len(f.Body) || bytes.Equal(f.Served, f.Body) {
			t.Fatalf("the tampered wheel is %d bytes against %d honest, or the same bytes", len(f.Served), len(f.Body))
		}
		pip := newPip(t)
		out, err := pip.Install(t, index, pyProjTampered+"==1.1.0")
		if err == nil || !strings.Contains(out, "DO NOT MATCH THE HASHES") {
			t.Errorf("pip install of the tampered %s==1.1.0 = %v, want pip's hash mismatch:\n%s", pyProjTampered, err, out)
		}
		if _, ok := pip.Installed(t, pyProjTampered); ok {
			t.Errorf("pip installed the tampered %s", pyProjTampered)
		}
	})

	t.Run("private index serves its files itself", func(t *testing.T) {
		priv := newPrivatePyPIIndex(t)
		pub := newPyPIIndex(t)
		addPyPICatalogue(pub, priv)
		_, pg := fetchPyPage(t, priv.URL+"/simple/"+pyProjShadow+"/", pipAccept)
		for _, l := range pg.Links {
			if !strings.HasPrefix(l.URL, priv.URL+"/files/") {
				t.Errorf("private link %s resolves to %s, want it under %s/files/", l.Filename, l.URL, priv.URL)
			}
		}
		pip := newPip(t)
		out, err := pip.Install(t, priv.URL+"/simple/", pyProjShadow)
		if v, _ := pip.Installed(t, pyProjShadow); err != nil || v != "1.1.0" {
			t.Errorf("pip install %s from the private fixture = %q, %v; want 1.1.0\n%s", pyProjShadow, v, err, out)
		}
	})
}

// fetchNoRedirect sends GET url with header and reads the whole answer, without following
// a redirect.
func fetchNoRedirect(t *testing.T, target string, header http.Header) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	c := &http.Client{
		Timeout:       httpClient.Timeout,
		Transport:     httpClient.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", target, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}
