package e2e

// The Go modules mount through the built binary, driven by the real go command: the listing
// and @latest carry only admitted versions, a young version or pseudo-version is refused
// with Écluse's reason, a zip the checksum database does not vouch for is refused, internal
// modules come from the private proxy only, and the npm mount beside it keeps working.
// The public upstream is a fixture Go proxy with its own checksum database, the private one a
// fixture Go proxy without one. Run them with `go test ./e2e/ -run Go`.

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/module"
)

// The modules the Go tests serve (addGoCatalogue). "old" is 30 days before the test, "young"
// an hour before: the go mount's policy admits versions at least 7 days old.
const (
	// goModList has old releases, an old pre-release, an old +incompatible release, and a
	// young release and pre-release, listed out of order.
	goModList = "mods.e2e.test/lister"
	// goModLatest has old v1.0.0 and v1.1.0, and young v1.2.0.
	goModLatest = "mods.e2e.test/latest"
	// goModGuarded has old v1.0.0 (sound), old v1.1.0 (zip tampered with), old v1.2.0
	// (absent from the checksum database) and young v1.3.0.
	goModGuarded = "mods.e2e.test/guarded"
	// goModPseudo has only pseudo-versions, one old and one young.
	goModPseudo = "mods.e2e.test/pseudo"
	// goModInternal is served by the private proxy at old v1.0.0 and v1.1.0, and by the
	// public proxy, as a decoy the tests must never reach, at the higher old v1.9.0.
	goModInternal = goInternalPrefix + "/lib"
)

// goListAll is `go list -m -versions goModList` straight from the fixture; goListAdmitted is
// the same without the young versions.
const (
	goListAll      = goModList + " v1.0.0 v1.1.0-rc.1 v1.1.0 v1.9.0 v1.10.0 v1.11.0 v1.12.0-rc.1 v2.0.0+incompatible"
	goListAdmitted = goModList + " v1.0.0 v1.1.0-rc.1 v1.1.0 v1.9.0 v1.10.0 v2.0.0+incompatible"
)

// goCatalogue is what addGoCatalogue served that depends on the clock.
type goCatalogue struct {
	oldPseudo, youngPseudo string
	oldPseudoTime          time.Time
}

// addGoCatalogue adds the tests' modules to public and, if not nil, private.
func addGoCatalogue(public, private *GoProxy) goCatalogue {
	now := time.Now()
	old, young := now.Add(-30*24*time.Hour), now.Add(-time.Hour)
	public.Add(GoModule{Path: goModList, Versions: []GoVersion{
		{Version: "v1.10.0", Published: old},
		{Version: "v1.0.0", Published: old},
		{Version: "v1.11.0", Published: young},
		{Version: "v2.0.0+incompatible", Published: old},
		{Version: "v1.1.0-rc.1", Published: old},
		{Version: "v1.12.0-rc.1", Published: young},
		{Version: "v1.9.0", Published: old},
		{Version: "v1.1.0", Published: old},
	}})
	public.Add(GoModule{Path: goModLatest, Versions: []GoVersion{
		{Version: "v1.0.0", Published: old},
		{Version: "v1.1.0", Published: old},
		{Version: "v1.2.0", Published: young},
	}})
	public.Add(GoModule{Path: goModGuarded, Versions: []GoVersion{
		{Version: "v1.0.0", Published: old},
		{Version: "v1.1.0", Published: old, Tampered: true},
		{Version: "v1.2.0", Published: old, NotInSumDB: true},
		{Version: "v1.3.0", Published: young},
	}})
	var c goCatalogue
	c.oldPseudo, c.oldPseudoTime = goPseudoVersion(old, "0123456789ab")
	var youngAt time.Time
	c.youngPseudo, youngAt = goPseudoVersion(young, "abcdef012345")
	public.Add(GoModule{Path: goModPseudo, Versions: []GoVersion{
		{Version: c.oldPseudo, Published: c.oldPseudoTime},
		{Version: c.youngPseudo, Published: youngAt},
	}})
	public.Add(GoModule{Path: goModInternal, Versions: []GoVersion{{Version: "v1.9.0", Published: old}}})
	if private != nil {
		private.Add(GoModule{Path: goModInternal, Versions: []GoVersion{
			{Version: "v1.0.0", Published: old},
			{Version: "v1.1.0", Published: old},
		}})
	}
	return c
}

// goWorld is Écluse with an npm mount at / and a go mount at /go/, and its fixtures.
type goWorld struct {
	public  *GoProxy         // the go mount's public upstream, with the checksum database
	private *GoProxy         // the go mount's private upstream
	npm     *FixtureRegistry // the npm mount's public upstream
	cat     goCatalogue      // the modules served
	ecluse  *Proc            // the binary under test
	goproxy string           // GOPROXY for a go command using the mount
}

// goMountDocument is the agreed PROXY_CONFIG of a go mount at /go/ beside the npm mount at
// /: publicURL is the public GOPROXY (its checksum database reached under
// publicURL/sumdb/NAME/), sumDBKey the database's verifier key, and privateURL, unless
// empty, the private GOPROXY serving the internal goInternalPrefix/** modules. The mount's
// policy admits versions at least 7 days old.
func goMountDocument(t testing.TB, publicURL, sumDBKey, privateURL string) string {
	t.Helper()
	goMount := map[string]any{
		"path":              "/go/",
		"ecosystem":         "go",
		"publicUpstreamUrl": publicURL,
		"checksumDatabase":  map[string]any{"key": sumDBKey},
		"policy":            "gopol",
	}
	if privateURL != "" {
		goMount["privateUpstreamUrl"] = privateURL
		goMount["internal"] = []string{goInternalPrefix + "/**"}
	}
	doc := map[string]any{
		"mounts": map[string]any{
			"npm": map[string]any{"path": "/"},
			"go":  goMount,
		},
		"policies": map[string]any{
			"gopol": map[string]any{"rules": map[string]any{
				"min-age": map[string]any{"ageSeconds": 7 * 24 * 60 * 60},
			}},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// startGoWorld serves the catalogue from fresh fixtures and starts Écluse in front of them.
// It first runs `ecluse check-config` with the same environment, so that a refused
// configuration fails the test with Écluse's own account of what it refused.
func startGoWorld(t *testing.T) *goWorld {
	t.Helper()
	w := &goWorld{public: newGoProxy(t), private: newPrivateGoProxy(t), npm: newFixtureRegistry(t)}
	w.cat = addGoCatalogue(w.public, w.private)
	w.npm.Add(Pkg{Name: "e2e-go-beside", Versions: []Ver{{Version: "1.0.0", PublishedAgo: 30 * 24 * time.Hour}}})
	npmPrivate := newFixtureRegistry(t)
	env := baseEnv(w.npm.URL, npmPrivate.URL)
	env["PROXY_CONFIG"] = goMountDocument(t, w.public.URL, w.public.SumDBKey, w.private.URL)
	checkGoConfig(t, env)
	w.ecluse = startEcluse(t, env)
	w.goproxy = w.ecluse.URL + "/go/"
	return w
}

// checkGoConfig runs `ecluse check-config` with env (selfURL standing for a placeholder
// address, as no server is started) and fails the test with Écluse's account of what it
// refused, if it refused anything.
func checkGoConfig(t *testing.T, env map[string]string) {
	t.Helper()
	checked := make(map[string]string, len(env))
	for k, v := range env {
		checked[k] = strings.ReplaceAll(v, selfURL, "http://127.0.0.1:1")
	}
	if _, stderr, code := runEcluse(t, checked, "check-config"); code != 0 {
		t.Fatalf("ecluse check-config refused the go mount configuration (exit code %d):\n%s\nPROXY_CONFIG: %s",
			code, stderr, env["PROXY_CONFIG"])
	}
}

// goTool returns a fresh go command using the mount as its only proxy and the public
// fixture's checksum database through it.
func (w *goWorld) goTool(t *testing.T) *goTool {
	t.Helper()
	return newGoTool(t, w.goproxy, w.public.SumDBKey)
}

// url is the mount's URL of one of modPath's files: file is "@v/list" or "@latest".
func (w *goWorld) url(t *testing.T, modPath, file string) string {
	t.Helper()
	esc, err := module.EscapePath(modPath)
	if err != nil {
		t.Fatal(err)
	}
	return w.goproxy + esc + "/" + file
}

// versionURL is the mount's URL of modPath@version's .info, .mod or .zip (ext).
func (w *goWorld) versionURL(t *testing.T, modPath, version, ext string) string {
	t.Helper()
	esc, err := module.EscapeVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	return w.url(t, modPath, "@v/"+esc+ext)
}

// wantGoRefusal checks that GET url is refused as the go mount refuses: 403, a text/plain
// body (the go command prints only those) of one line that names Écluse.
func wantGoRefusal(t *testing.T, url string) {
	t.Helper()
	r := fetch(t, url, nil)
	line := strings.TrimSpace(string(r.body))
	if r.status != http.StatusForbidden {
		t.Errorf("GET %s = %d %q, want 403", url, r.status, clip(line))
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "text/plain" {
		t.Errorf("GET %s: Content-Type = %q, want text/plain (the go command prints no other error body)",
			url, r.header.Get("Content-Type"))
	}
	if strings.Contains(line, "\n") || !strings.Contains(line, "Écluse") {
		t.Errorf("GET %s: body = %q, want one line naming Écluse", url, clip(line))
	}
	t.Logf("GET %s: 403 %q", strings.TrimPrefix(url, "http://"), clip(line))
}

// wantGoOutputRefusal checks that the go command's output reports a 403 from the mount with
// a server response naming Écluse, and that the go command did not reach its own checksum
// verdict (which would mean the bytes got through Écluse).
func wantGoOutputRefusal(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, "403 Forbidden") {
		t.Errorf("go output does not report a 403 from the mount:\n%s", out)
	}
	_, resp, ok := strings.Cut(out, "server response:")
	if line, _, _ := strings.Cut(strings.TrimSpace(resp), "\n"); !ok || !strings.Contains(line, "Écluse") {
		t.Errorf("go output does not print Écluse's reason as the server response:\n%s", out)
	}
	if strings.Contains(out, "SECURITY ERROR") {
		t.Errorf("the go command's own checksum check fired, so the refused bytes got through Écluse:\n%s", out)
	}
}

// wantNotCached checks that the go command's module cache has no zip or files of
// modPath@version.
func wantNotCached(t *testing.T, g *goTool, modPath, version string) {
	t.Helper()
	if has, files := g.HasZip(t, modPath, version); has {
		t.Errorf("the module cache holds %s@%s after the refusal: %v", modPath, version, files)
	}
}

// clip shortens s for a message, and stands in for a body that is not text.
func clip(s string) string {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return fmt.Sprintf("(%d bytes, not text)", len(s))
	}
	if r := []rune(s); len(r) > 300 {
		return string(r[:300]) + "…"
	}
	return s
}

func TestGoListVersionsShowsOnlyAdmittedVersionsInGoOrder(t *testing.T) {
	w := startGoWorld(t)

	// What the go command makes of the fixture's own list, without Écluse.
	direct := newGoTool(t, w.public.URL, w.public.SumDBKey)
	out, err := direct.Run(t, "list", "-m", "-versions", goModList)
	if err != nil || strings.TrimSpace(out) != goListAll {
		t.Fatalf("go list -m -versions from the fixture = %v\n%s\nwant %s", err, out, goListAll)
	}

	g := w.goTool(t)
	out, err = g.Run(t, "list", "-m", "-versions", goModList)
	if err != nil {
		t.Fatalf("go list -m -versions through Écluse: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(out); got != goListAdmitted {
		t.Errorf("go list -m -versions through Écluse =\n  %s\nwant\n  %s", got, goListAdmitted)
	}

	r := fetch(t, w.url(t, goModList, "@v/list"), nil)
	listed := strings.Fields(string(r.body))
	if r.status != http.StatusOK {
		t.Fatalf("GET @v/list = %d %q, want 200", r.status, clip(string(r.body)))
	}
	for _, young := range []string{"v1.11.0", "v1.12.0-rc.1"} {
		if slices.Contains(listed, young) {
			t.Errorf("@v/list through Écluse = %q, lists the young %s", listed, young)
		}
	}
	for _, old := range strings.Fields(goListAdmitted)[1:] {
		if !slices.Contains(listed, old) {
			t.Errorf("@v/list through Écluse = %q, lacks the old %s", listed, old)
		}
	}
}

func TestGoGetLatestResolvesNewestAdmittedVersion(t *testing.T) {
	w := startGoWorld(t)
	g := w.goTool(t)
	out, err := g.Run(t, "get", goModLatest+"@latest")
	if err != nil {
		t.Fatalf("go get %s@latest through Écluse: %v\n%s", goModLatest, err, out)
	}
	if got := g.Required(t, goModLatest); got != "v1.1.0" {
		t.Errorf("go get %s@latest required %q, want v1.1.0 (v1.2.0 is younger than 7 days); output:\n%s", goModLatest, got, out)
	}
	sum, err := os.ReadFile(filepath.Join(g.Dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if want := goModLatest + " v1.1.0 " + w.public.ZipHash(goModLatest, "v1.1.0"); !strings.Contains(string(sum), want) {
		t.Errorf("go.sum lacks %q:\n%s", want, sum)
	}

	var info struct{ Version string }
	getJSON(t, w.url(t, goModLatest, "@latest"), nil, http.StatusOK, &info)
	if info.Version != "v1.1.0" {
		t.Errorf("GET %s/@latest through Écluse = %q, want v1.1.0", goModLatest, info.Version)
	}
}

func TestGoDownloadYoungVersionRefusedWithReason(t *testing.T) {
	w := startGoWorld(t)
	g := w.goTool(t)
	_, out, err := g.Download(t, goModGuarded, "v1.3.0")
	if err == nil {
		t.Fatalf("go mod download %s@v1.3.0 (an hour old) succeeded through Écluse:\n%s", goModGuarded, out)
	}
	wantGoOutputRefusal(t, out)
	wantNotCached(t, g, goModGuarded, "v1.3.0")

	for _, ext := range []string{".info", ".mod", ".zip"} {
		wantGoRefusal(t, w.versionURL(t, goModGuarded, "v1.3.0", ext))
	}

	// The sound old version of the same module is admitted.
	d, out, err := g.Download(t, goModGuarded, "v1.0.0")
	if err != nil || d.Sum != w.public.ZipHash(goModGuarded, "v1.0.0") {
		t.Errorf("go mod download %s@v1.0.0 = sum %q, %v; want %s\n%s", goModGuarded, d.Sum, err,
			w.public.ZipHash(goModGuarded, "v1.0.0"), out)
	}
}

// TestGoDownloadTamperedZipRefused serves a zip whose hash is not the one the checksum
// database records. Écluse must refuse it before the go command's own check sees it, and
// must refuse it even to a go command that does not check (GONOSUMDB covering the module).
func TestGoDownloadTamperedZipRefused(t *testing.T) {
	w := startGoWorld(t)
	for _, tc := range []struct {
		name      string
		gonosumdb string
	}{
		{"go command checking", goInternalPrefix},
		{"go command not checking", goInternalPrefix + "," + goModGuarded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := w.goTool(t)
			g.Setenv("GONOSUMDB", tc.gonosumdb)
			_, out, err := g.Download(t, goModGuarded, "v1.1.0")
			if err == nil {
				t.Fatalf("go mod download of the tampered %s@v1.1.0 succeeded through Écluse:\n%s", goModGuarded, out)
			}
			wantGoOutputRefusal(t, out)
			wantNotCached(t, g, goModGuarded, "v1.1.0")
		})
	}
	wantGoRefusal(t, w.versionURL(t, goModGuarded, "v1.1.0", ".zip"))
}

// TestGoDownloadVersionMissingFromChecksumDatabaseRefused asks for a version the checksum
// database has no record of. The go command would refuse it itself; Écluse must refuse it
// too, even to a go command that does not check.
func TestGoDownloadVersionMissingFromChecksumDatabaseRefused(t *testing.T) {
	w := startGoWorld(t)

	t.Run("go command checking", func(t *testing.T) {
		g := w.goTool(t)
		if _, out, err := g.Download(t, goModGuarded, "v1.2.0"); err == nil {
			t.Fatalf("go mod download %s@v1.2.0 (not in the checksum database) succeeded through Écluse:\n%s", goModGuarded, out)
		}
		wantNotCached(t, g, goModGuarded, "v1.2.0")
	})
	t.Run("go command not checking", func(t *testing.T) {
		g := w.goTool(t)
		g.Setenv("GONOSUMDB", goInternalPrefix+","+goModGuarded)
		_, out, err := g.Download(t, goModGuarded, "v1.2.0")
		if err == nil {
			t.Fatalf("go mod download %s@v1.2.0 (not in the checksum database) succeeded through Écluse:\n%s", goModGuarded, out)
		}
		wantGoOutputRefusal(t, out)
		wantNotCached(t, g, goModGuarded, "v1.2.0")
	})
	wantGoRefusal(t, w.versionURL(t, goModGuarded, "v1.2.0", ".zip"))
}

func TestGoPseudoVersionsAdmittedByAge(t *testing.T) {
	w := startGoWorld(t)
	g := w.goTool(t)

	d, out, err := g.Download(t, goModPseudo, w.cat.oldPseudo)
	if err != nil {
		t.Fatalf("go mod download %s@%s (30 days old) through Écluse: %v\n%s", goModPseudo, w.cat.oldPseudo, err, out)
	}
	if d.Version != w.cat.oldPseudo || d.Sum != w.public.ZipHash(goModPseudo, w.cat.oldPseudo) {
		t.Errorf("go mod download = %s sum %s, want %s sum %s", d.Version, d.Sum, w.cat.oldPseudo,
			w.public.ZipHash(goModPseudo, w.cat.oldPseudo))
	}

	_, out, err = g.Download(t, goModPseudo, w.cat.youngPseudo)
	if err == nil {
		t.Fatalf("go mod download %s@%s (an hour old) succeeded through Écluse:\n%s", goModPseudo, w.cat.youngPseudo, out)
	}
	wantGoOutputRefusal(t, out)
	wantNotCached(t, g, goModPseudo, w.cat.youngPseudo)
	wantGoRefusal(t, w.versionURL(t, goModPseudo, w.cat.youngPseudo, ".info"))
}

// TestGoInternalModuleComesOnlyFromPrivateUpstream fetches corp.example.com/lib, which the
// public proxy also serves (at a higher version, as a dependency-confusion decoy): Écluse
// must take it from the private proxy only and never mention it to the public one, neither
// to its module paths nor to its checksum database.
func TestGoInternalModuleComesOnlyFromPrivateUpstream(t *testing.T) {
	w := startGoWorld(t)
	g := w.goTool(t)

	d, out, err := g.Download(t, goModInternal, "v1.1.0")
	if err != nil {
		t.Fatalf("go mod download %s@v1.1.0 through Écluse: %v\n%s", goModInternal, err, out)
	}
	if want := w.private.ZipHash(goModInternal, "v1.1.0"); d.Sum != want {
		t.Errorf("go mod download %s@v1.1.0: sum %s, want the private proxy's %s", goModInternal, d.Sum, want)
	}
	out, err = g.Run(t, "list", "-m", "-versions", goModInternal)
	if want := goModInternal + " v1.0.0 v1.1.0"; err != nil || strings.TrimSpace(out) != want {
		t.Errorf("go list -m -versions %s = %v\n%s\nwant %s", goModInternal, err, out, want)
	}
	out, err = g.Run(t, "get", goModInternal+"@latest")
	if err != nil {
		t.Fatalf("go get %s@latest through Écluse: %v\n%s", goModInternal, err, out)
	}
	if got := g.Required(t, goModInternal); got != "v1.1.0" {
		t.Errorf("go get %s@latest required %q, want the private v1.1.0", goModInternal, got)
	}

	// `go get corp.example.com/lib@latest` also asks about the parent path, corp.example.com
	// (it might be the module holding package corp.example.com/lib). The internal pattern
	// corp.example.com/** covers it too, as GOPRIVATE=corp.example.com would: asking the
	// public side about it would tell the public proxy the internal host's name.
	if seen := w.public.RequestsMentioning(goInternalPrefix); len(seen) > 0 {
		t.Errorf("the public upstream was asked about internal paths: %q; want none "+
			"(corp.example.com/** must cover corp.example.com itself, which go get asks about)", seen)
	}
	if seen := w.private.RequestsMentioning(goModInternal + "/@v/v1.1.0.zip"); len(seen) == 0 {
		t.Errorf("the private upstream never served %s@v1.1.0's zip; it saw %+v", goModInternal, w.private.Requests())
	}
}

// TestGoMountLeavesNPMMountWorking reads an npm packument and tarball through / while the go
// mount is configured beside it.
func TestGoMountLeavesNPMMountWorking(t *testing.T) {
	w := startGoWorld(t)
	var doc packumentDoc
	getJSON(t, w.ecluse.URL+"/e2e-go-beside", nil, http.StatusOK, &doc)
	if doc.Name != "e2e-go-beside" || len(doc.Versions) != 1 {
		t.Fatalf("GET /e2e-go-beside = name %q, %d versions; want e2e-go-beside with 1 version", doc.Name, len(doc.Versions))
	}
	tarball := doc.Versions["1.0.0"].Dist.Tarball
	if !strings.HasPrefix(tarball, w.ecluse.URL+"/") {
		t.Errorf("dist.tarball = %q, want it under Écluse's %s/", tarball, w.ecluse.URL)
	}
	if status, tgz := get(t, tarball, nil); status != http.StatusOK || string(tgz) != string(w.npm.Tarball("e2e-go-beside", "1.0.0")) {
		t.Errorf("GET %s = %d, %d bytes; want 200 and the fixture's tarball", tarball, status, len(tgz))
	}
}
