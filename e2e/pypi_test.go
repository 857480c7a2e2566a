package e2e

// The PyPI mount through the built binary, driven by the real pip: a project page lists
// only admitted files, in the JSON or HTML form the client asks for, with file URLs
// pointing back through Écluse; a young release, an md5-only file, a file without an
// upload time and (with DenyInstallTimeExecution) an sdist are refused with Écluse's
// reason; yanks and PEP 658 metadata are kept; a tampered file never reaches the client
// whole; internal projects come from the private index only. The public upstream is a
// fixture index whose files live on a second host, the private one a fixture index serving
// its own files. Run them with `go test ./e2e/ -run 'PyPI|Pip'`.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// The projects the PyPI tests serve (addPyPICatalogue). "old" is 30 days before the test,
// "young" an hour before: the mount's policy admits files at least 7 days old.
const (
	// pyProjLatest has old wheels 1.0.0 and 1.1.0 and a young wheel 2.0.0.
	pyProjLatest = "e2e-pypi-latest"
	// pyProjMD5 has an old 1.0.0 with a sha256 and an old 1.1.0 whose page gives only md5.
	pyProjMD5 = "e2e-pypi-md5"
	// pyProjNoTime has an old 1.0.0 and a 1.1.0 whose files carry no upload-time.
	pyProjNoTime = "e2e-pypi-notime"
	// pyProjSdist has an old 1.0.0 with only an sdist.
	pyProjSdist = "e2e-pypi-sdist"
	// pyProjMixed has an old 1.0.0 with a wheel and an sdist.
	pyProjMixed = "e2e-pypi-mixed"
	// pyProjYanked has an old 1.0.0, an old 1.1.0 yanked for pyYankReason and an old 1.2.0
	// yanked without a reason.
	pyProjYanked = "e2e-pypi-yanked"
	// pyProjMeta has an old 0.9.0 without PEP 658 metadata and an old 1.0.0 with it.
	pyProjMeta = "e2e-pypi-meta"
	// pyProjForms has an old 1.0.0 (wheel with metadata and sdist, requires-python
	// pyFormsRequiresPython), an old 1.1.0 wheel yanked for pyFormsYankReason, and a young
	// 2.0.0 wheel: every field a page can carry, and characters HTML must escape.
	pyProjForms = "e2e-pypi-forms"
	// pyProjOld has an old 1.0.0; the tests ask for it as pyProjOldSpelling.
	pyProjOld = "e2e-pypi-old"
	// pyProjTampered has an old, sound 1.0.0 and an old 1.1.0 whose files the files host
	// serves with other bytes than the page's hash.
	pyProjTampered = "e2e-pypi-tampered"
	// pyProjShadow is served by the private index at old 1.0.0 and 1.1.0, and by the
	// public index at the higher old 9.0.0.
	pyProjShadow = "e2e-pypi-shadow"
	// pyProjInternal matches pyInternalPattern: the private index serves it at old 1.0.0,
	// the public one, as a dependency-confusion decoy the tests must never reach, at 5.0.0.
	pyProjInternal = "corp-e2e-pypi-lib"
	// pyProjInternalMissing matches pyInternalPattern but only the public index has it.
	pyProjInternalMissing = "corp-e2e-pypi-missing"
)

const (
	// pyProjOldSpelling is a non-normalised spelling of pyProjOld.
	pyProjOldSpelling = "E2E_PyPI.Old"
	// pyInternalPattern is the mount's internal pattern.
	pyInternalPattern = "corp-*"
	// pyYankReason is why pyProjYanked 1.1.0 is yanked.
	pyYankReason = "broken build"
	// pyFormsYankReason and pyFormsRequiresPython hold characters HTML must escape.
	pyFormsYankReason     = `bad <release> & "quotes"`
	pyFormsRequiresPython = "<4,>=3.8"
)

// pyMinAge is the quarantine of the mount's default policy: 7 days.
const pyMinAge = 7 * 24 * time.Hour

// addPyPICatalogue adds the tests' projects to public and, if not nil, private.
func addPyPICatalogue(public, private *PyPIIndex) {
	now := time.Now()
	old, young := now.Add(-30*24*time.Hour), now.Add(-time.Hour)
	public.Add(PyProject{Name: pyProjLatest, Releases: []PyRelease{
		{Version: "1.0.0", Published: old, Wheel: true},
		{Version: "1.1.0", Published: old, Wheel: true},
		{Version: "2.0.0", Published: young, Wheel: true},
	}})
	public.Add(PyProject{Name: pyProjMD5, Releases: []PyRelease{
		{Version: "1.0.0", Published: old, Wheel: true},
		{Version: "1.1.0", Published: old, Wheel: true, MD5Only: true},
	}})
	public.Add(PyProject{Name: pyProjNoTime, Releases: []PyRelease{
		{Version: "1.0.0", Published: old, Wheel: true},
		{Version: "1.1.0", Wheel: true},
	}})
	public.Add(PyProject{Name: pyProjSdist, Releases: []PyRelease{
		{Version: "1.0.0", Published: old, Sdist: true},
	}})
	public.Add(PyProject{Name: pyProjMixed, Releases: []PyRelease{
		{Version: "1.0.0", Published: old, Wheel: true, Sdist: true},
	}})
	public.Add(PyProject{Name: pyProjYanked, Releases: []PyRelease{
		{Version: "1.0.0", Published: old, Wheel: true},
		{Version: "1.1.0", Published: old, Wheel: true, Yanked: pyYankReason},
		{Version: "1.2.0", Published: old, Wheel: true, Yanked: "yes"},
	}})
	public.Add(PyProject{Name: pyProjMeta, Releases: []PyRelease{
		{Version: "0.9.0", Published: old, Wheel: true},
		{Version: "1.0.0", Published: old, Wheel: true, Metadata: true, RequiresPython: ">=3.8"},
	}})
	public.Add(PyProject{Name: pyProjForms, Releases: []PyRelease{
		{Version: "1.0.0", Published: old, Wheel: true, Sdist: true, Metadata: true, RequiresPython: pyFormsRequiresPython},
		{Version: "1.1.0", Published: old, Wheel: true, Yanked: pyFormsYankReason},
		{Version: "2.0.0", Published: young, Wheel: true},
	}})
	public.Add(PyProject{Name: pyProjOld, Releases: []PyRelease{{Version: "1.0.0", Published: old, Wheel: true}}})
	public.Add(PyProject{Name: pyProjTampered, Releases: []PyRelease{
		{Version: "1.0.0", Published: old, Wheel: true},
		{Version: "1.1.0", Published: old, Wheel: true, Tamper: true},
	}})
	public.Add(PyProject{Name: pyProjShadow, Releases: []PyRelease{{Version: "9.0.0", Published: old, Wheel: true}}})
	public.Add(PyProject{Name: pyProjInternal, Releases: []PyRelease{{Version: "5.0.0", Published: old, Wheel: true}}})
	public.Add(PyProject{Name: pyProjInternalMissing, Releases: []PyRelease{{Version: "1.0.0", Published: old, Wheel: true}}})
	if private != nil {
		private.Add(PyProject{Name: pyProjShadow, Releases: []PyRelease{
			{Version: "1.0.0", Published: old, Wheel: true},
			{Version: "1.1.0", Published: old, Wheel: true},
		}})
		private.Add(PyProject{Name: pyProjInternal, Releases: []PyRelease{{Version: "1.0.0", Published: old, Wheel: true}}})
	}
}

// pyPolicyRules returns the rules of the mount's default policy (files at least 7 days
// old), plus extra.
func pyPolicyRules(extra map[string]any) map[string]any {
	rules := map[string]any{"min-age": map[string]any{"ageSeconds": int(pyMinAge / time.Second)}}
	for k, v := range extra {
		rules[k] = v
	}
	return rules
}

// pypiMountDocument is the agreed PROXY_CONFIG of a PyPI mount at /pypi/ beside the npm
// mount at /: publicIndex is the public Simple API's URL (ending in /simple/), filesURL the
// base URL of the host its files are on, and privateIndex, unless empty, the private Simple
// API serving the internal pyInternalPattern projects. The mount's policy has rules.
func pypiMountDocument(t testing.TB, publicIndex, filesURL, privateIndex string, rules map[string]any) string {
	t.Helper()
	mount := map[string]any{
		"path":              "/pypi/",
		"ecosystem":         "pypi",
		"publicUpstreamUrl": publicIndex,
		"filesUpstreamUrl":  filesURL,
		"policy":            "pypol",
	}
	if privateIndex != "" {
		mount["privateUpstreamUrl"] = privateIndex
		mount["internal"] = []string{pyInternalPattern}
	}
	doc := map[string]any{
		"mounts":   map[string]any{"npm": map[string]any{"path": "/"}, "pypi": mount},
		"policies": map[string]any{"pypol": map[string]any{"rules": rules}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkPyPIConfig runs `ecluse check-config` with env (selfURL standing for a placeholder
// address, as no server is started) and fails the test with Écluse's account of what it
// refused, if it refused anything.
func checkPyPIConfig(t *testing.T, env map[string]string) {
	t.Helper()
	checked := make(map[string]string, len(env))
	for k, v := range env {
		checked[k] = strings.ReplaceAll(v, selfURL, "http://127.0.0.1:1")
	}
	if _, stderr, code := runEcluse(t, checked, "check-config"); code != 0 {
		t.Fatalf("ecluse check-config refused the PyPI mount configuration (exit code %d):\n%s\nPROXY_CONFIG: %s",
			code, stderr, env["PROXY_CONFIG"])
	}
}

// pypiWorld is Écluse with an npm mount at / and a PyPI mount at /pypi/, and its fixtures.
type pypiWorld struct {
	public  *PyPIIndex // the mount's public upstream, files on a second host
	private *PyPIIndex // the mount's private upstream
	ecluse  *Proc      // the binary under test
	index   string     // pip's --index-url for the mount: ECLUSE/pypi/simple/
}

// startPyPIWorld serves the catalogue from fresh fixtures and starts Écluse in front of
// them, with the mount's policy made of policyRules (nil: pyPolicyRules(nil), files at
// least 7 days old). It first runs `ecluse check-config` with the same environment.
func startPyPIWorld(t *testing.T, policyRules map[string]any) *pypiWorld {
	t.Helper()
	if policyRules == nil {
		policyRules = pyPolicyRules(nil)
	}
	w := &pypiWorld{public: newPyPIIndex(t), private: newPrivatePyPIIndex(t)}
	addPyPICatalogue(w.public, w.private)
	npmPublic, npmPrivate := newFixtureRegistry(t), newFixtureRegistry(t)
	env := baseEnv(npmPublic.URL, npmPrivate.URL) // the egress hole for 127.0.0.0/8 included
	env["PROXY_CONFIG"] = pypiMountDocument(t, w.public.URL+"/simple/", w.public.FilesURL+"/", w.private.URL+"/simple/", policyRules)
	checkPyPIConfig(t, env)
	w.ecluse = startEcluse(t, env)
	w.index = w.ecluse.URL + "/pypi/simple/"
	return w
}

// page is the mount's URL of project name's page.
func (w *pypiWorld) page(name string) string { return w.index + name + "/" }

// fileURL is the mount's URL of f: ECLUSE/pypi/files/PROJECT/FILENAME.
func (w *pypiWorld) fileURL(f *PyFile) string {
	return w.ecluse.URL + "/pypi/files/" + f.Project + "/" + url.PathEscape(f.Filename)
}

// wantPyFiles checks that the page lists exactly files (in any order), each at its URL
// through Écluse and with the sha256 of the file its index serves.
func wantPyFiles(t *testing.T, w *pypiWorld, pg pyPage, files ...*PyFile) {
	t.Helper()
	var want []string
	for _, f := range files {
		want = append(want, f.Filename)
		l, ok := pg.Link(f.Filename)
		if !ok {
			continue
		}
		if l.URL != w.fileURL(f) {
			t.Errorf("%s page (%s): %s is at %s, want %s", f.Project, pg.Form, f.Filename, l.URL, w.fileURL(f))
		}
		if l.SHA256 != f.SHA256 {
			t.Errorf("%s page (%s): %s has sha256 %q, want %s", f.Project, pg.Form, f.Filename, l.SHA256, f.SHA256)
		}
	}
	got := pg.Filenames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("page (%s) lists %q, want %q", pg.Form, got, want)
	}
}

// wantPyVersions checks the JSON page's versions, in any order.
func wantPyVersions(t *testing.T, pg pyPage, want ...string) {
	t.Helper()
	got := slices.Clone(pg.Versions)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("page versions = %q, want %q", got, want)
	}
}

// wantPyHeaders checks the page's X-Ecluse-Source and X-Ecluse-Blocked.
func wantPyHeaders(t *testing.T, r response, source, blocked string) {
	t.Helper()
	for k, v := range map[string]string{"X-Ecluse-Source": source, "X-Ecluse-Blocked": blocked} {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// wantPyRefusal checks that GET of f through the mount is refused as the mount refuses: 403,
// a JSON body {"error": "Écluse refused PROJECT VERSION (FILENAME): REASON"} whose reason
// mentions every one of mentions (case-insensitively), and X-Ecluse-Rule naming rule (any
// rule if rule is empty). It also checks that the files host never served f: a refusal is
// decided from the page, before any byte is fetched.
func wantPyRefusal(t *testing.T, w *pypiWorld, f *PyFile, rule string, mentions ...string) {
	t.Helper()
	target := w.fileURL(f)
	r := fetch(t, target, nil)
	if r.status != http.StatusForbidden {
		t.Errorf("GET %s = %d %q, want 403", target, r.status, clip(string(r.body)))
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("GET %s: Content-Type = %q, want application/json", target, r.header.Get("Content-Type"))
	}
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Errorf("GET %s: body %q is not a JSON error: %v", target, clip(string(r.body)), err)
		return
	}
	prefix := fmt.Sprintf("Écluse refused %s %s (%s): ", f.Project, f.Version, f.Filename)
	reason, ok := strings.CutPrefix(e.Error, prefix)
	if !ok {
		t.Errorf("GET %s: error = %q, want it to begin %q", target, e.Error, prefix)
	}
	for _, m := range mentions {
		if !strings.Contains(strings.ToLower(reason), strings.ToLower(m)) {
			t.Errorf("GET %s: reason %q does not mention %q", target, reason, m)
		}
	}
	switch got := r.header.Get("X-Ecluse-Rule"); {
	case rule == "" && got == "":
		t.Errorf("GET %s: no X-Ecluse-Rule header", target)
	case rule != "" && got != rule:
		t.Errorf("GET %s: X-Ecluse-Rule = %q, want %q", target, got, rule)
	}
	if seen := w.public.RequestsMentioning(f.Filename); len(seen) > 0 {
		t.Errorf("the refused %s was fetched from the files host: %q", f.Filename, seen)
	}
	t.Logf("GET %s: 403 %q", strings.TrimPrefix(target, "http://"), clip(e.Error))
}

// wantPipNoMatch checks that a failed pip install found no distribution for req (rather
// than failing to fetch or build one), and names the versions pip did see.
func wantPipNoMatch(t *testing.T, out, req, versions string) {
	t.Helper()
	if !strings.Contains(out, "No matching distribution found for "+req) {
		t.Errorf("pip did not report that no distribution matches %s:\n%s", req, out)
	}
	if want := "(from versions: " + versions + ")"; !strings.Contains(out, want) {
		t.Errorf("pip output lacks %q:\n%s", want, out)
	}
}

func TestPipInstallsNewestAdmittedRelease(t *testing.T) {
	w := startPyPIWorld(t, nil)

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjLatest)
	if err != nil {
		t.Fatalf("pip install %s through Écluse: %v\n%s", pyProjLatest, err, out)
	}
	if v, ok := pip.Installed(t, pyProjLatest); !ok || v != "1.1.0" {
		t.Errorf("pip install %s installed %q, want 1.1.0 (2.0.0 is younger than 7 days)\n%s", pyProjLatest, v, out)
	}
	if init := pip.InstalledInit(t, pyProjLatest); !strings.Contains(init, `__version__ = "1.1.0"`) {
		t.Errorf("installed %s/__init__.py = %q, want 1.1.0's", pyDist(pyProjLatest), init)
	}
	if seen := w.public.RequestsMentioning("/files/"); !slices.ContainsFunc(seen, func(p string) bool {
		return strings.HasSuffix(p, "/"+pyWheelFile(pyProjLatest, "1.1.0"))
	}) {
		t.Errorf("the files host never served the wheel pip installed; it saw %q", seen)
	}

	r, pg := fetchPyPage(t, w.page(pyProjLatest), pipAccept)
	if pg.Form != pyTypeJSON {
		t.Errorf("the page with pip's Accept is %s, want %s", pg.Form, pyTypeJSON)
	}
	wantPyFiles(t, w, pg, w.public.File(pyWheelFile(pyProjLatest, "1.0.0")), w.public.File(pyWheelFile(pyProjLatest, "1.1.0")))
	wantPyVersions(t, pg, "1.0.0", "1.1.0")
	wantPyHeaders(t, r, "public", "1")

	f := w.public.File(pyWheelFile(pyProjLatest, "1.1.0"))
	if got := fetch(t, w.fileURL(f), nil); got.status != http.StatusOK || string(got.body) != string(f.Body) {
		t.Errorf("GET %s = %d, %d bytes; want 200 and the fixture's %d bytes", w.fileURL(f), got.status, len(got.body), len(f.Body))
	}
}

func TestPipYoungReleaseInvisibleAndRefused(t *testing.T) {
	w := startPyPIWorld(t, nil)

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjLatest+"==2.0.0")
	if err == nil {
		t.Fatalf("pip install %s==2.0.0 (an hour old) succeeded through Écluse:\n%s", pyProjLatest, out)
	}
	wantPipNoMatch(t, out, pyProjLatest+"==2.0.0", "1.0.0, 1.1.0")
	if v, ok := pip.Installed(t, pyProjLatest); ok {
		t.Errorf("pip installed %s %s after the refusal", pyProjLatest, v)
	}

	out, err = pip.Download(t, w.index, pyProjLatest+"==2.0.0")
	if err == nil || len(pip.Downloaded(t)) > 0 {
		t.Errorf("pip download %s==2.0.0 = %v, files %q; want a failure and nothing saved\n%s", pyProjLatest, err, pip.Downloaded(t), out)
	}

	wantPyRefusal(t, w, w.public.File(pyWheelFile(pyProjLatest, "2.0.0")), "", "ago")
}

func TestPipMD5OnlyFileRefused(t *testing.T) {
	w := startPyPIWorld(t, nil)
	md5Only := w.public.File(pyWheelFile(pyProjMD5, "1.1.0"))

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjMD5+"==1.1.0")
	if err == nil {
		t.Fatalf("pip install %s==1.1.0 (md5 only) succeeded through Écluse:\n%s", pyProjMD5, out)
	}
	wantPipNoMatch(t, out, pyProjMD5+"==1.1.0", "1.0.0")

	pip = newPip(t)
	out, err = pip.Install(t, w.index, pyProjMD5)
	if v, _ := pip.Installed(t, pyProjMD5); err != nil || v != "1.0.0" {
		t.Errorf("pip install %s = %q, %v; want 1.0.0, the release with a sha256\n%s", pyProjMD5, v, err, out)
	}

	r, pg := fetchPyPage(t, w.page(pyProjMD5), pipAccept)
	wantPyFiles(t, w, pg, w.public.File(pyWheelFile(pyProjMD5, "1.0.0")))
	wantPyVersions(t, pg, "1.0.0")
	wantPyHeaders(t, r, "public", "1")
	wantPyRefusal(t, w, md5Only, "integrity-floor", "sha256")
}

func TestPipFileWithoutUploadTimeRefused(t *testing.T) {
	w := startPyPIWorld(t, nil)

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjNoTime)
	if v, _ := pip.Installed(t, pyProjNoTime); err != nil || v != "1.0.0" {
		t.Errorf("pip install %s = %q, %v; want 1.0.0 (1.1.0 has no upload-time)\n%s", pyProjNoTime, v, err, out)
	}

	r, pg := fetchPyPage(t, w.page(pyProjNoTime), pipAccept)
	wantPyFiles(t, w, pg, w.public.File(pyWheelFile(pyProjNoTime, "1.0.0")))
	wantPyVersions(t, pg, "1.0.0")
	wantPyHeaders(t, r, "public", "1")
	wantPyRefusal(t, w, w.public.File(pyWheelFile(pyProjNoTime, "1.1.0")), "", "time")
}

// TestPipSdistOnlyNotInstallableWithDenyInstallTimeExecution runs the mount with
// DenyInstallTimeExecution: installing an sdist runs its build backend, so sdists are
// refused and wheels served. A release with only an sdist disappears; pip, which would
// build it from the fixture directly (TestPyPIFixtureInstallsDirectly), finds nothing.
func TestPipSdistOnlyNotInstallableWithDenyInstallTimeExecution(t *testing.T) {
	w := startPyPIWorld(t, pyPolicyRules(map[string]any{
		"deny-scripts": map[string]any{"type": "DenyInstallTimeExecution"},
	}))
	sdistOnly := w.public.File(pySdistFile(pyProjSdist, "1.0.0"))
	mixedWheel, mixedSdist := w.public.File(pyWheelFile(pyProjMixed, "1.0.0")), w.public.File(pySdistFile(pyProjMixed, "1.0.0"))

	t.Run("sdist-only release", func(t *testing.T) {
		pip := newPip(t)
		out, err := pip.Install(t, w.index, pyProjSdist)
		if err == nil {
			t.Fatalf("pip install %s (sdist only) succeeded through Écluse:\n%s", pyProjSdist, out)
		}
		if !strings.Contains(out, "No matching distribution found for "+pyProjSdist) {
			t.Errorf("pip did not report that no distribution matches %s (it must not have tried to build one):\n%s", pyProjSdist, out)
		}
		if v, ok := pip.Installed(t, pyProjSdist); ok {
			t.Errorf("pip installed %s %s", pyProjSdist, v)
		}
		// Either an empty page or no page: nothing is listed.
		r := fetch(t, w.page(pyProjSdist), http.Header{"Accept": {pipAccept}})
		switch r.status {
		case http.StatusNotFound:
		case http.StatusOK:
			pg, err := parsePyPage(w.page(pyProjSdist), r.header.Get("Content-Type"), r.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(pg.Links) > 0 || len(pg.Versions) > 0 {
				t.Errorf("the page of %s lists %q, versions %q; want nothing", pyProjSdist, pg.Filenames(), pg.Versions)
			}
			wantPyHeaders(t, r, "public", "1")
		default:
			t.Errorf("GET the page of %s = %d %q, want 200 with no files or 404", pyProjSdist, r.status, clip(string(r.body)))
		}
		wantPyRefusal(t, w, sdistOnly, "deny-scripts")
	})

	t.Run("wheel and sdist release", func(t *testing.T) {
		pip := newPip(t)
		out, err := pip.Install(t, w.index, pyProjMixed)
		if v, _ := pip.Installed(t, pyProjMixed); err != nil || v != "1.0.0" {
			t.Errorf("pip install %s = %q, %v; want 1.0.0 from its wheel\n%s", pyProjMixed, v, err, out)
		}
		pip = newPip(t)
		out, err = pip.Install(t, w.index, "--no-binary", pyProjMixed, pyProjMixed)
		if err == nil {
			t.Errorf("pip install --no-binary %s succeeded through Écluse: the sdist was served\n%s", pyProjMixed, out)
		} else if !strings.Contains(out, "No matching distribution found for "+pyProjMixed) {
			t.Errorf("pip install --no-binary %s did not report that no distribution matches:\n%s", pyProjMixed, out)
		}

		r, pg := fetchPyPage(t, w.page(pyProjMixed), pipAccept)
		wantPyFiles(t, w, pg, mixedWheel)
		wantPyVersions(t, pg, "1.0.0")
		wantPyHeaders(t, r, "public", "1")
		_, html := fetchPyPage(t, w.page(pyProjMixed), "text/html")
		wantPyFiles(t, w, html, mixedWheel)
		wantPyRefusal(t, w, mixedSdist, "deny-scripts")
	})
}

func TestPipYankedStaysYanked(t *testing.T) {
	w := startPyPIWorld(t, nil)

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjYanked)
	if v, _ := pip.Installed(t, pyProjYanked); err != nil || v != "1.0.0" {
		t.Errorf("pip install %s = %q, %v; want 1.0.0 (1.1.0 and 1.2.0 are yanked)\n%s", pyProjYanked, v, err, out)
	}
	pip = newPip(t)
	out, err = pip.Install(t, w.index, pyProjYanked+"==1.1.0")
	if v, _ := pip.Installed(t, pyProjYanked); err != nil || v != "1.1.0" {
		t.Errorf("pip install %s==1.1.0 = %q, %v; want the pinned yanked 1.1.0\n%s", pyProjYanked, v, err, out)
	}
	if !strings.Contains(out, "Reason for being yanked: "+pyYankReason) {
		t.Errorf("pip did not print the yank reason %q:\n%s", pyYankReason, out)
	}

	want := map[string]struct {
		yanked bool
		reason string
	}{
		pyWheelFile(pyProjYanked, "1.0.0"): {false, ""},
		pyWheelFile(pyProjYanked, "1.1.0"): {true, pyYankReason},
		pyWheelFile(pyProjYanked, "1.2.0"): {true, ""},
	}
	for _, accept := range []string{pipAccept, "text/html"} {
		r, pg := fetchPyPage(t, w.page(pyProjYanked), accept)
		wantPyHeaders(t, r, "public", "0")
		if pg.Form == pyTypeJSON {
			wantPyVersions(t, pg, "1.0.0", "1.1.0", "1.2.0")
		}
		for filename, y := range want {
			l, ok := pg.Link(filename)
			if !ok {
				t.Errorf("the %s page does not list %s", pg.Form, filename)
				continue
			}
			if l.Yanked != y.yanked || l.YankedReason != y.reason {
				t.Errorf("the %s page: %s yanked %v %q, want %v %q", pg.Form, filename, l.Yanked, l.YankedReason, y.yanked, y.reason)
			}
		}
	}
}

// TestPipMetadataKept checks PEP 658: the page announces the wheel's metadata file with its
// hash, Écluse serves it beside the wheel, and pip 23.2 reads it before the wheel.
func TestPipMetadataKept(t *testing.T) {
	w := startPyPIWorld(t, nil)
	withMeta, without := w.public.File(pyWheelFile(pyProjMeta, "1.0.0")), w.public.File(pyWheelFile(pyProjMeta, "0.9.0"))
	wantMeta := "sha256=" + sha256Hex(withMeta.Metadata)

	for _, accept := range []string{pipAccept, "text/html"} {
		_, pg := fetchPyPage(t, w.page(pyProjMeta), accept)
		if l, _ := pg.Link(withMeta.Filename); l.Metadata != wantMeta {
			t.Errorf("the %s page announces %s's metadata as %q, want %q", pg.Form, withMeta.Filename, l.Metadata, wantMeta)
		}
		if l, _ := pg.Link(without.Filename); l.Metadata != "" {
			t.Errorf("the %s page announces metadata %q for %s, which has none", pg.Form, l.Metadata, without.Filename)
		}
		if l, _ := pg.Link(withMeta.Filename); l.RequiresPython != ">=3.8" {
			t.Errorf("the %s page: %s requires-python %q, want >=3.8", pg.Form, withMeta.Filename, l.RequiresPython)
		}
	}

	r := fetch(t, w.fileURL(withMeta)+".metadata", nil)
	if r.status != http.StatusOK || string(r.body) != string(withMeta.Metadata) {
		t.Errorf("GET %s.metadata = %d %q, want 200 and the wheel's METADATA %q", w.fileURL(withMeta), r.status, clip(string(r.body)), withMeta.Metadata)
	}
	if r := fetch(t, w.fileURL(without)+".metadata", nil); r.status != http.StatusNotFound {
		t.Errorf("GET %s.metadata (no metadata upstream) = %d %q, want 404", w.fileURL(without), r.status, clip(string(r.body)))
	}

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjMeta)
	if v, _ := pip.Installed(t, pyProjMeta); err != nil || v != "1.0.0" {
		t.Fatalf("pip install %s = %q, %v; want 1.0.0\n%s", pyProjMeta, v, err, out)
	}
	if want := "Obtaining dependency information for " + pyProjMeta + " from " + w.fileURL(withMeta) + ".metadata"; !strings.Contains(out, want) {
		t.Errorf("pip did not read the metadata through Écluse (%q):\n%s", want, out)
	}
}

func TestPyPIHTMLAndJSONForms(t *testing.T) {
	w := startPyPIWorld(t, nil)
	pageURL := w.page(pyProjForms)
	admitted := []*PyFile{
		w.public.File(pyWheelFile(pyProjForms, "1.0.0")),
		w.public.File(pySdistFile(pyProjForms, "1.0.0")),
		w.public.File(pyWheelFile(pyProjForms, "1.1.0")),
	}

	forms := map[string]pyPage{}
	for accept, want := range map[string]string{
		pipAccept:              pyTypeJSON,
		pyTypeJSON:             pyTypeJSON,
		"text/html":            pyTypeHTML,
		pyTypeHTMLv1:           pyTypeHTMLv1,
		"text/html, */*;q=0.1": pyTypeHTML,
	} {
		r, pg := fetchPyPage(t, pageURL, accept)
		if pg.Form != want {
			t.Errorf("GET the page with Accept %q: Content-Type %q, want %s", accept, r.header.Get("Content-Type"), want)
			continue
		}
		wantPyHeaders(t, r, "public", "1")
		wantPyFiles(t, w, pg, admitted...)
		forms[want] = pg
	}

	jsonPage := forms[pyTypeJSON]
	wantPyVersions(t, jsonPage, "1.0.0", "1.1.0")
	if !strings.HasPrefix(jsonPage.APIVersion, "1.") {
		t.Errorf("JSON meta.api-version = %q, want 1.x", jsonPage.APIVersion)
	}
	for _, f := range admitted {
		l, ok := jsonPage.Link(f.Filename)
		if !ok {
			continue
		}
		// The fixture writes microseconds; Écluse may write fewer digits.
		if at, err := time.Parse(time.RFC3339Nano, l.UploadTime); err != nil || at.Sub(f.release.Published).Abs() >= time.Second {
			t.Errorf("JSON %s: upload-time %q, want %s", f.Filename, l.UploadTime, f.release.Published.UTC().Format(pyUploadTimeLayout))
		}
		if l.Size != int64(len(f.Body)) {
			t.Errorf("JSON %s: size %d, want %d", f.Filename, l.Size, len(f.Body))
		}
	}
	wheel, _ := jsonPage.Link(admitted[0].Filename)
	if wheel.RequiresPython != pyFormsRequiresPython || wheel.Metadata != "sha256="+sha256Hex(admitted[0].Metadata) {
		t.Errorf("JSON %s: requires-python %q, metadata %q; want %q and its sha256", wheel.Filename, wheel.RequiresPython, wheel.Metadata, pyFormsRequiresPython)
	}
	if yanked, _ := jsonPage.Link(admitted[2].Filename); !yanked.Yanked || yanked.YankedReason != pyFormsYankReason {
		t.Errorf("JSON %s: yanked %v %q, want the reason %q", yanked.Filename, yanked.Yanked, yanked.YankedReason, pyFormsYankReason)
	}

	// Every form says the same of every file (HTML has no upload-time or size).
	strip := func(links []pyLink) map[string]pyLink {
		m := map[string]pyLink{}
		for _, l := range links {
			l.UploadTime, l.Size = "", -1
			m[l.Filename] = l
		}
		return m
	}
	for _, form := range []string{pyTypeHTML, pyTypeHTMLv1} {
		if pg, ok := forms[form]; ok {
			if got, want := strip(pg.Links), strip(jsonPage.Links); !maps.Equal(got, want) {
				t.Errorf("the %s form differs from the JSON form:\n%s: %+v\nJSON: %+v", form, form, got, want)
			}
		}
	}

	r := fetch(t, pageURL, http.Header{"Accept": {"application/xml"}})
	if r.status != http.StatusNotAcceptable {
		t.Errorf("GET the page with Accept application/xml = %d %q, want 406", r.status, clip(string(r.body)))
	}
}

func TestPyPINameNormalisedRedirect(t *testing.T) {
	w := startPyPIWorld(t, nil)
	spelled := w.index + pyProjOldSpelling + "/"

	r := fetchNoRedirect(t, spelled, http.Header{"Accept": {pipAccept}})
	if r.status != http.StatusMovedPermanently {
		t.Fatalf("GET %s = %d %q, want 301", spelled, r.status, clip(string(r.body)))
	}
	base, _ := url.Parse(spelled)
	loc, err := base.Parse(r.header.Get("Location"))
	if err != nil || loc.String() != w.page(pyProjOld) {
		t.Errorf("GET %s: Location %q resolves to %v, want %s", spelled, r.header.Get("Location"), loc, w.page(pyProjOld))
	}

	_, pg := fetchPyPage(t, spelled, pipAccept) // following the redirect
	wantPyFiles(t, w, pg, w.public.File(pyWheelFile(pyProjOld, "1.0.0")))

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjOldSpelling)
	if v, _ := pip.Installed(t, pyProjOld); err != nil || v != "1.0.0" {
		t.Errorf("pip install %s = %q, %v; want 1.0.0\n%s", pyProjOldSpelling, v, err, out)
	}
}

func TestPyPIProjectList501(t *testing.T) {
	w := startPyPIWorld(t, nil)
	var e errorBody
	for _, accept := range []string{"", pipAccept, "text/html"} {
		r := fetch(t, w.index, http.Header{"Accept": {accept}})
		if r.status != http.StatusNotImplemented {
			t.Errorf("GET %s (Accept %q) = %d %q, want 501", w.index, accept, r.status, clip(string(r.body)))
			continue
		}
		if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
			t.Errorf("GET %s: body %q, want a JSON error", w.index, clip(string(r.body)))
		}
		if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/json" {
			t.Errorf("GET %s: Content-Type = %q, want application/json", w.index, r.header.Get("Content-Type"))
		}
	}
}

func TestPyPIUnknownProjectAndFileNotFound(t *testing.T) {
	w := startPyPIWorld(t, nil)
	if r := fetch(t, w.page("e2e-pypi-nope"), http.Header{"Accept": {pipAccept}}); r.status != http.StatusNotFound {
		t.Errorf("GET the page of an unknown project = %d %q, want 404", r.status, clip(string(r.body)))
	}
	for _, path := range []string{
		"/pypi/files/" + pyProjLatest + "/" + pyWheelFile(pyProjLatest, "9.9.9"),
		"/pypi/files/e2e-pypi-nope/" + pyWheelFile("e2e-pypi-nope", "1.0.0"),
	} {
		r := fetch(t, w.ecluse.URL+path, nil)
		var e errorBody
		if r.status != http.StatusNotFound || json.Unmarshal(r.body, &e) != nil || e.Error == "" {
			t.Errorf("GET %s = %d %q, want 404 with a JSON error", path, r.status, clip(string(r.body)))
		}
	}
}

// TestPyPITamperedFileCut has the files host serve, for a sound-looking old release, bytes
// whose sha256 is not the page's. Écluse must never hand the whole wrong file to a client:
// it answers 403 (a file small enough to be verified before the status is sent), 502, or
// cuts the stream before its last bytes.
func TestPyPITamperedFileCut(t *testing.T) {
	w := startPyPIWorld(t, nil)
	f := w.public.File(pyWheelFile(pyProjTampered, "1.1.0"))

	status, body, cut := fetchStream(t, w.fileURL(f))
	switch {
	case status == http.StatusForbidden && strings.Contains(string(body), "do not match"):
		// A small file is verified whole before the status is sent.
		t.Logf("GET %s: 403 %q", w.fileURL(f), clip(string(body)))
	case status == http.StatusBadGateway:
		t.Logf("GET %s: 502 %q", w.fileURL(f), clip(string(body)))
	case status == http.StatusOK && (cut != nil || len(body) < len(f.Served)):
		t.Logf("GET %s: 200, cut after %d of %d bytes (%v)", w.fileURL(f), len(body), len(f.Served), cut)
	case status == 0:
		t.Logf("GET %s: the connection was closed before an answer (%v)", w.fileURL(f), cut)
	default:
		t.Errorf("GET %s = %d, %d of %d bytes, read error %v; want 502, or 200 cut short", w.fileURL(f), status, len(body), len(f.Served), cut)
	}
	if string(body) == string(f.Served) {
		t.Errorf("GET %s delivered the whole tampered file", w.fileURL(f))
	}

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjTampered+"==1.1.0")
	if err == nil {
		t.Errorf("pip install of the tampered %s==1.1.0 succeeded through Écluse:\n%s", pyProjTampered, out)
	}
	if v, ok := pip.Installed(t, pyProjTampered); ok {
		t.Errorf("pip installed the tampered %s %s", pyProjTampered, v)
	}

	pip = newPip(t)
	out, err = pip.Install(t, w.index, pyProjTampered+"==1.0.0")
	if v, _ := pip.Installed(t, pyProjTampered); err != nil || v != "1.0.0" {
		t.Errorf("pip install of the sound %s==1.0.0 = %q, %v; want 1.0.0\n%s", pyProjTampered, v, err, out)
	}
}

// fetchStream sends GET target and reads the body as far as it goes: the status (0 if no
// answer came), the bytes read, and the error that ended the read early, if any.
func fetchStream(t *testing.T, target string) (int, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if ctx.Err() != nil {
		t.Fatalf("GET %s: the body did not end within the deadline: %v", target, err)
	}
	return resp.StatusCode, body, err
}

// TestPyPIPrivateProjectShadowsPublic asks for a project both indexes serve: only the
// private index's releases are listed and served, though the public one has a higher
// version. A project the private index does not have falls back to the public index.
func TestPyPIPrivateProjectShadowsPublic(t *testing.T) {
	w := startPyPIWorld(t, nil)

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjShadow)
	if v, _ := pip.Installed(t, pyProjShadow); err != nil || v != "1.1.0" {
		t.Errorf("pip install %s = %q, %v; want the private 1.1.0 (the public 9.0.0 must not show)\n%s", pyProjShadow, v, err, out)
	}

	r, pg := fetchPyPage(t, w.page(pyProjShadow), pipAccept)
	private := []*PyFile{w.private.File(pyWheelFile(pyProjShadow, "1.0.0")), w.private.File(pyWheelFile(pyProjShadow, "1.1.0"))}
	wantPyFiles(t, w, pg, private...)
	wantPyVersions(t, pg, "1.0.0", "1.1.0")
	wantPyHeaders(t, r, "private", "0")
	for _, f := range private {
		if got := fetch(t, w.fileURL(f), nil); got.status != http.StatusOK || string(got.body) != string(f.Body) {
			t.Errorf("GET %s = %d, %d bytes; want 200 and the private index's %d bytes", w.fileURL(f), got.status, len(got.body), len(f.Body))
		}
	}
	if seen := w.private.RequestsMentioning(pyWheelFile(pyProjShadow, "1.1.0")); len(seen) == 0 {
		t.Errorf("the private index never served %s; it saw %q", pyWheelFile(pyProjShadow, "1.1.0"), w.private.Requests())
	}
	if seen := w.public.RequestsMentioning("/files/"); slices.ContainsFunc(seen, func(p string) bool { return strings.Contains(p, pyDist(pyProjShadow)) }) {
		t.Errorf("the public files host was asked for %s's files: %q", pyProjShadow, seen)
	}

	// Not on the private index: from the public one, after asking the private one.
	r, pg = fetchPyPage(t, w.page(pyProjLatest), pipAccept)
	wantPyHeaders(t, r, "public", "1")
	wantPyVersions(t, pg, "1.0.0", "1.1.0")
	if len(w.private.RequestsMentioning("/simple/"+pyProjLatest)) == 0 {
		t.Errorf("the private index was never asked for %s before the public one", pyProjLatest)
	}
}

// TestPyPIInternalNeverAskedOfPublic fetches a project matching the internal pattern, which
// the public index also serves (at a higher version, as a dependency-confusion decoy), and
// one the private index does not have: Écluse must take the first from the private index
// only, answer 404 for the second, and never mention either to the public index.
func TestPyPIInternalNeverAskedOfPublic(t *testing.T) {
	w := startPyPIWorld(t, nil)

	pip := newPip(t)
	out, err := pip.Install(t, w.index, pyProjInternal)
	if v, _ := pip.Installed(t, pyProjInternal); err != nil || v != "1.0.0" {
		t.Errorf("pip install %s = %q, %v; want the private 1.0.0\n%s", pyProjInternal, v, err, out)
	}

	r, pg := fetchPyPage(t, w.page(pyProjInternal), pipAccept)
	wantPyFiles(t, w, pg, w.private.File(pyWheelFile(pyProjInternal, "1.0.0")))
	wantPyHeaders(t, r, "private", "0")
	_, _ = fetchPyPage(t, w.index+"Corp_E2E_PyPI.Lib/", pipAccept) // another spelling, redirected

	if r := fetch(t, w.page(pyProjInternalMissing), http.Header{"Accept": {pipAccept}}); r.status != http.StatusNotFound {
		t.Errorf("GET the page of %s (internal, not on the private index) = %d %q, want 404", pyProjInternalMissing, r.status, clip(string(r.body)))
	}
	pip = newPip(t)
	if out, err := pip.Install(t, w.index, pyProjInternalMissing); err == nil {
		t.Errorf("pip install %s (internal, not on the private index) succeeded:\n%s", pyProjInternalMissing, out)
	}
	if len(w.private.RequestsMentioning(pyProjInternalMissing)) == 0 {
		t.Errorf("the private index was never asked for %s", pyProjInternalMissing)
	}

	if seen := w.public.RequestsMentioning(strings.TrimSuffix(pyInternalPattern, "*")); len(seen) > 0 {
		t.Errorf("the public index was asked about internal projects: %q", seen)
	}
}

// pyPublicProject and pyPublicVersion are a small, long-published pure-Python project with
// a universal wheel, for TestPyPIPublicIndex.
const (
	pyPublicProject = "six"
	pyPublicVersion = "1.16.0"
)

// machinePipIndex returns the index URL the machine's pip is configured with
// (PIP_INDEX_URL, else an index-url of `python3 -m pip config list`), or "" with the
// reason there is none. pip's built-in default is not used: no public index is named here.
func machinePipIndex(t *testing.T) (string, string) {
	t.Helper()
	if v := strings.TrimSpace(os.Getenv("PIP_INDEX_URL")); v != "" {
		return v, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "-m", "pip", "config", "list").Output()
	if err != nil {
		return "", "python3 -m pip config list failed: " + err.Error()
	}
	for _, line := range strings.Split(string(out), "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && strings.HasSuffix(key, ".index-url") {
			if v := strings.Trim(value, `'"`); v != "" {
				return v, ""
			}
		}
	}
	return "", "pip on this machine configures no index URL (neither PIP_INDEX_URL nor an index-url in pip config)"
}

// probePyPIIndex reports why index cannot serve TestPyPIPublicIndex ("" if it can), and the
// base URL of the host its files are on: it must serve pyPublicProject's page in the JSON
// form with upload-times, listing the release's wheel, within a short timeout.
func probePyPIIndex(index string) (filesURL, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pageURL := strings.TrimSuffix(index, "/") + "/" + pyPublicProject + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return "", err.Error()
	}
	req.Header.Set("Accept", pipAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "the machine's package index is not reachable: " + err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", "reading the machine's package index: " + err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return "", "the machine's package index answered " + resp.Status + " for " + pyPublicProject
	}
	pg, err := parsePyPage(resp.Request.URL.String(), resp.Header.Get("Content-Type"), body)
	if err != nil || pg.Form != pyTypeJSON {
		return "", "the machine's package index does not serve the PEP 691 JSON form Écluse reads"
	}
	l, ok := pg.Link(pyPublicProject + "-" + pyPublicVersion + "-py2.py3-none-any.whl")
	if !ok || l.UploadTime == "" {
		return "", "the machine's package index lists no " + pyPublicProject + " " + pyPublicVersion + " wheel with an upload-time"
	}
	u, err := url.Parse(l.URL)
	if err != nil || u.Host == "" {
		return "", "the machine's package index gives an unusable file URL"
	}
	return u.Scheme + "://" + u.Host + "/", ""
}

// TestPyPIPublicIndex installs a real project through the binary's PyPI mount, in front of
// the package index the machine's pip is configured with, with the files host that index's
// page names.
func TestPyPIPublicIndex(t *testing.T) {
	index, why := machinePipIndex(t)
	if index == "" {
		t.Skip("skipping the real package index test: " + why)
	}
	t.Log("using the package index the machine's pip is configured with")
	filesURL, why := probePyPIIndex(index)
	if why != "" {
		t.Skip("skipping the real package index test: " + why)
	}

	npmPublic, npmPrivate := newFixtureRegistry(t), newFixtureRegistry(t)
	env := baseEnv(npmPublic.URL, npmPrivate.URL)
	delete(env, "PROXY_EGRESS_ALLOW_INTERNAL_CIDRS") // the real index needs no hole
	env["PROXY_CONFIG"] = pypiMountDocument(t, strings.TrimSuffix(index, "/")+"/", filesURL, "", pyPolicyRules(nil))
	checkPyPIConfig(t, env)
	p := startEcluse(t, env)

	pip := newPip(t)
	out, err := pip.Install(t, p.URL+"/pypi/simple/", pyPublicProject+"=="+pyPublicVersion)
	if err != nil {
		t.Fatalf("pip install %s==%s through Écluse: %v\n%s\nlogs:\n%s", pyPublicProject, pyPublicVersion, err, out, tail(p.Logs(), 40))
	}
	if v, ok := pip.Installed(t, pyPublicProject); !ok || v != pyPublicVersion {
		t.Errorf("installed %s = %q, want %s\n%s", pyPublicProject, v, pyPublicVersion, out)
	}
}
