package e2e

// The proof with real clients: npm, pnpm and yarn (berry), each with fresh caches, install
// through Écluse with the fixture registry as the public upstream and a real Verdaccio as the
// private one. Run them with `go test ./e2e/ -run Clients`.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	oldEnough = 60 * 24 * time.Hour // well past the default 7-day quarantine
	tooYoung  = 2 * 24 * time.Hour  // inside it
)

// Sizes of the big tree: the project depends on bigMids packages, each depending on
// bigLeavesPerMid leaves of its own.
const (
	bigMids         = 30
	bigLeavesPerMid = 10
)

func bigMid(i int) string     { return fmt.Sprintf("e2e-big-mid-%02d", i) }
func bigLeaf(i, j int) string { return fmt.Sprintf("e2e-big-leaf-%02d-%d", i, j) }

// addBigTree adds the big tree's packages to reg, every one published long ago, and
// returns the project's dependencies.
func addBigTree(reg *FixtureRegistry) map[string]string {
	return addTree(reg, bigMids, bigLeavesPerMid, bigMid, bigLeaf)
}

// addTree adds a two-level install tree to reg: mids packages named mid(i), each
// depending on leavesPerMid packages named leaf(i, j), every one published long ago. It
// returns the project's dependencies (the mids).
func addTree(reg *FixtureRegistry, mids, leavesPerMid int, mid func(int) string, leaf func(int, int) string) map[string]string {
	deps := map[string]string{}
	for i := range mids {
		leaves := map[string]string{}
		for j := range leavesPerMid {
			reg.Add(Pkg{Name: leaf(i, j), Versions: []Ver{{Version: "1.0.0", PublishedAgo: oldEnough}}})
			leaves[leaf(i, j)] = "^1.0.0"
		}
		reg.Add(Pkg{Name: mid(i), Versions: []Ver{{Version: "1.0.0", PublishedAgo: oldEnough, Deps: leaves}}})
		deps[mid(i)] = "^1.0.0"
	}
	return deps
}

// installedBig returns the version of every e2e-big-* package installed in dir, as laid
// out by c: hoisted into node_modules by npm and yarn's node-modules linker, in
// node_modules/.pnpm/NAME@VERSION/node_modules/NAME by pnpm.
func installedBig(t *testing.T, c client, dir string) map[string]string {
	t.Helper()
	modules := filepath.Join(dir, "node_modules")
	if c == pnpmCLI {
		modules = filepath.Join(modules, ".pnpm")
	}
	entries, err := os.ReadDir(modules)
	if err != nil {
		t.Fatalf("%s left no %s: %v", c, modules, err)
	}
	got := map[string]string{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "e2e-big-") {
			continue
		}
		name, pkgDir := e.Name(), dir
		if c == pnpmCLI {
			name, _, _ = strings.Cut(e.Name(), "@")
			pkgDir = filepath.Join(modules, e.Name())
		}
		got[name] = installedVersion(t, pkgDir, name)
	}
	return got
}

// clientCase says how one client writes a lockfile without installing, and how it
// installs exactly what a lockfile says.
type clientCase struct {
	client   client
	lockfile string
	lockOnly []string
	frozen   []string
}

var clientCases = []clientCase{
	{npmCLI, "package-lock.json", []string{"install", "--package-lock-only"}, []string{"ci"}},
	{pnpmCLI, "pnpm-lock.yaml", []string{"install", "--lockfile-only"}, []string{"install", "--frozen-lockfile"}},
	{yarnCLI, "yarn.lock", []string{"install", "--mode=update-lockfile"}, []string{"install", "--immutable"}},
}

// TestClients installs projects with npm, pnpm and yarn through Écluse and checks what
// each gets: the admitted version of a range, a refused lockfile with the reason, no
// sha1-only version, the private package over a public one of the same name, a scoped
// internal package read with the client's own token, and a tree of 330 packages.
func TestClients(t *testing.T) {
	const help = "Ask #e2e-platform for an exception."

	public := newFixtureRegistry(t)
	public.Add(Pkg{Name: "e2e-caret", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: 90 * 24 * time.Hour},
		{Version: "1.1.0", PublishedAgo: oldEnough},
		{Version: "1.2.0", PublishedAgo: tooYoung},
	}})
	public.Add(Pkg{Name: "e2e-pinned", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: oldEnough},
		{Version: "2.0.0", PublishedAgo: tooYoung},
	}})
	public.Add(Pkg{Name: "e2e-weak", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: oldEnough},
		{Version: "1.1.0", PublishedAgo: oldEnough, ShasumOnly: true},
	}})
	public.Add(Pkg{Name: "e2e-shadowed", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: oldEnough},
		{Version: "2.0.0", PublishedAgo: oldEnough},
	}})
	bigDeps := addBigTree(public)

	// lockgen serves e2e-pinned with 2.0.0 already old, so that each client writes a real
	// lockfile pinning it. Tarballs are built deterministically, so the integrity it records
	// is the public fixture's.
	lockgen := newFixtureRegistry(t)
	lockgen.Add(Pkg{Name: "e2e-pinned", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: oldEnough},
		{Version: "2.0.0", PublishedAgo: oldEnough},
	}})

	private := startVerdaccio(t, "@corp/*")
	// Its own content: a different tarball, so a different integrity, than the public 1.0.0.
	private.Publish(t, Pkg{Name: "e2e-shadowed", Versions: []Ver{
		{Version: "1.0.0", Scripts: map[string]string{"e2e-origin": "private"}},
	}})
	private.Publish(t, Pkg{Name: "@corp/e2e-internal", Versions: []Ver{{Version: "1.0.0"}}})

	env := baseEnv(public.URL, private.URL)
	env["PROXY_HELP_MESSAGE"] = help
	env["PROXY_CONFIG"] = `{"internal": ["@corp/*"], "credentialStrategy": "passthrough"}`
	p := startEcluse(t, env)

	// noLeaks checks what must hold after every install: the public upstream never saw a
	// credential, was never asked about @corp, and never served a denied tarball or one of
	// the shadowed package.
	noLeaks := func(t *testing.T) {
		t.Helper()
		if reqs := public.RequestsWithHeader("Authorization"); len(reqs) != 0 {
			t.Errorf("the public upstream received credentials: %d requests, first %s", len(reqs), reqs[0].Path)
		}
		for _, r := range public.Requests() {
			if strings.Contains(strings.ToLower(r.Path), "corp") {
				t.Errorf("the public upstream was asked about an internal name: %s %s", r.Method, r.Path)
			}
		}
		for _, f := range public.TarballFetches() {
			for _, denied := range []string{"/e2e-pinned-2.0.0.tgz", "/e2e-weak-1.1.0.tgz", "/e2e-caret-1.2.0.tgz", "/e2e-shadowed/"} {
				if strings.Contains(f, denied) {
					t.Errorf("the public upstream served %s", f)
				}
			}
		}
	}

	t.Run("sha1-only version over HTTP", func(t *testing.T) {
		var doc packumentDoc
		getJSON(t, p.URL+"/e2e-weak", nil, http.StatusOK, &doc)
		if _, ok := doc.Versions["1.1.0"]; ok || len(doc.Versions) != 1 || doc.DistTags["latest"] != "1.0.0" {
			t.Errorf("e2e-weak through ecluse: versions %v, dist-tags %v; want only 1.0.0, latest 1.0.0", keys(doc.Versions), doc.DistTags)
		}
		var e errorBody
		getJSON(t, p.URL+"/e2e-weak/-/e2e-weak-1.1.0.tgz", nil, http.StatusForbidden, &e)
		if !strings.Contains(e.Error, "e2e-weak@1.1.0 has no") || !strings.Contains(e.Error, help) {
			t.Errorf("403 error = %q, want the integrity floor's reason and the help message", e.Error)
		}
		noLeaks(t)
	})

	t.Run("private documents over HTTP", func(t *testing.T) {
		auth := http.Header{"Authorization": {"Bearer " + private.Token}}
		r := fetch(t, p.URL+"/e2e-shadowed", auth)
		var doc packumentDoc
		if r.status != http.StatusOK || json.Unmarshal(r.body, &doc) != nil {
			t.Fatalf("GET /e2e-shadowed = %d %s", r.status, r.body)
		}
		if got := r.header.Get("X-Ecluse-Source"); got != "private" || len(doc.Versions) != 1 ||
			doc.Versions["1.0.0"].Dist.Integrity == public.Integrity("e2e-shadowed", "1.0.0") {
			t.Errorf("e2e-shadowed through ecluse: source %q, versions %v; want private, only the private 1.0.0", got, keys(doc.Versions))
		}
		if r := fetch(t, p.URL+"/@corp%2fe2e-internal", nil); r.status != http.StatusUnauthorized {
			t.Errorf("GET @corp/e2e-internal without a token = %d %s, want Verdaccio's 401 relayed", r.status, r.body)
		}
		if r := fetch(t, p.URL+"/@corp%2fe2e-internal", auth); r.status != http.StatusOK || r.header.Get("X-Ecluse-Source") != "private" {
			t.Errorf("GET @corp/e2e-internal with the token = %d, source %q; want 200 from private", r.status, r.header.Get("X-Ecluse-Source"))
		}
		noLeaks(t)
	})

	for _, cc := range clientCases {
		c := cc.client
		t.Run(string(c), func(t *testing.T) {
			run := func(t *testing.T, dir, token string, args ...string) (string, error) {
				t.Helper()
				return runClient(t, c, ClientOpts{Dir: dir, Registry: p.URL, Token: token}, args...)
			}

			t.Run("caret range gets the older admitted version", func(t *testing.T) {
				dir := t.TempDir()
				writePackageJSON(t, dir, map[string]string{"e2e-caret": "^1.0.0"})
				out, err := run(t, dir, private.Token, "install")
				if err != nil {
					t.Fatalf("%s install: %v\n%s", c, err, out)
				}
				if got := installedVersion(t, dir, "e2e-caret"); got != "1.1.0" {
					t.Errorf("installed e2e-caret = %q, want 1.1.0 (1.2.0 is 2 days old); output:\n%s", got, out)
				}
				noLeaks(t)
			})

			t.Run("lockfile pinned to a young version fails with the reason", func(t *testing.T) {
				dir := t.TempDir()
				writePackageJSON(t, dir, map[string]string{"e2e-pinned": "2.0.0"})
				out, err := runClient(t, c, ClientOpts{Dir: dir, Registry: lockgen.URL}, cc.lockOnly...)
				if err != nil {
					t.Fatalf("%s %s against the lockfile generator: %v\n%s", c, strings.Join(cc.lockOnly, " "), err, out)
				}
				lockPath := filepath.Join(dir, cc.lockfile)
				lock, err := os.ReadFile(lockPath)
				if err != nil {
					t.Fatalf("%s wrote no %s: %v\n%s", c, cc.lockfile, err, out)
				}
				lock = []byte(strings.ReplaceAll(string(lock), lockgen.URL, p.URL))
				if err := os.WriteFile(lockPath, lock, 0o644); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(lock), "2.0.0") {
					t.Fatalf("%s does not pin e2e-pinned 2.0.0:\n%s", cc.lockfile, lock)
				}
				if c == npmCLI {
					checkNPMLock(t, lock, p.URL+"/e2e-pinned/-/e2e-pinned-2.0.0.tgz", public.Integrity("e2e-pinned", "2.0.0"))
				}
				if c == pnpmCLI && !strings.Contains(string(lock), public.Integrity("e2e-pinned", "2.0.0")) {
					t.Fatalf("%s lacks e2e-pinned 2.0.0's integrity:\n%s", cc.lockfile, lock)
				}
				if strings.Contains(string(lock), lockgen.URL) {
					t.Fatalf("%s still names the lockfile generator:\n%s", cc.lockfile, lock)
				}

				out, err = run(t, dir, private.Token, cc.frozen...)
				if err == nil {
					t.Fatalf("%s %s installed a version 2 days old; output:\n%s", c, strings.Join(cc.frozen, " "), out)
				}
				for _, want := range []string{
					"e2e-pinned@2.0.0 was published 2 days ago; rule min-age admits versions older than 7 days",
					help,
				} {
					if !strings.Contains(out, want) {
						t.Errorf("%s %s output does not contain %q:\n%s", c, strings.Join(cc.frozen, " "), want, out)
					}
				}
				if got := installedVersion(t, dir, "e2e-pinned"); got != "" {
					t.Errorf("e2e-pinned %s is installed after the refusal", got)
				}
				noLeaks(t)
			})

			t.Run("sha1-only version is invisible", func(t *testing.T) {
				dir := t.TempDir()
				writePackageJSON(t, dir, map[string]string{"e2e-weak": "1.1.0"})
				out, err := run(t, dir, private.Token, "install")
				if err == nil {
					t.Fatalf("%s install e2e-weak@1.1.0 succeeded; output:\n%s", c, out)
				}
				if !strings.Contains(out, "e2e-weak@") || !strings.Contains(out, "1.1.0") {
					t.Errorf("%s install output does not name e2e-weak 1.1.0:\n%s", c, out)
				}
				if got := installedVersion(t, dir, "e2e-weak"); got != "" {
					t.Errorf("installed e2e-weak = %q, want nothing", got)
				}
				noLeaks(t)
			})

			t.Run("internal package shadows the public one", func(t *testing.T) {
				dir := t.TempDir()
				writePackageJSON(t, dir, map[string]string{"e2e-shadowed": "*"})
				out, err := run(t, dir, private.Token, "install")
				if err != nil {
					t.Fatalf("%s install: %v\n%s", c, err, out)
				}
				if got := installedVersion(t, dir, "e2e-shadowed"); got != "1.0.0" {
					t.Errorf("installed e2e-shadowed = %q, want the private 1.0.0; output:\n%s", got, out)
				}
				b, err := os.ReadFile(filepath.Join(dir, "node_modules", "e2e-shadowed", "package.json"))
				if err != nil {
					t.Fatal(err)
				}
				var pj struct {
					Scripts map[string]string `json:"scripts"`
				}
				if err := json.Unmarshal(b, &pj); err != nil || pj.Scripts["e2e-origin"] != "private" {
					t.Errorf("installed e2e-shadowed is not the private one: package.json %s", b)
				}
				noLeaks(t)
			})

			t.Run("scoped internal package with the client's token", func(t *testing.T) {
				dir := t.TempDir()
				writePackageJSON(t, dir, map[string]string{"@corp/e2e-internal": "^1.0.0"})
				out, err := run(t, dir, "", "install")
				if err == nil {
					t.Fatalf("%s install without a token succeeded, so Verdaccio did not require one; output:\n%s", c, out)
				}
				// npm and pnpm print the status, yarn its own words for it.
				if !strings.Contains(out, "401") && !strings.Contains(out, "Invalid authentication") {
					t.Errorf("%s install without a token did not fail on authentication:\n%s", c, out)
				}
				if got := installedVersion(t, dir, "@corp/e2e-internal"); got != "" {
					t.Errorf("installed @corp/e2e-internal %s without a token", got)
				}

				dir = t.TempDir()
				writePackageJSON(t, dir, map[string]string{"@corp/e2e-internal": "^1.0.0"})
				out, err = run(t, dir, private.Token, "install")
				if err != nil {
					t.Fatalf("%s install with the token: %v\n%s", c, err, out)
				}
				if got := installedVersion(t, dir, "@corp/e2e-internal"); got != "1.0.0" {
					t.Errorf("installed @corp/e2e-internal = %q, want 1.0.0; output:\n%s", got, out)
				}
				noLeaks(t)
			})

			t.Run("330 packages", func(t *testing.T) {
				dir := t.TempDir()
				writePackageJSON(t, dir, bigDeps)
				// Anonymous: Verdaccio checks a bearer token against its bcrypt password file on
				// every request (about 90 ms each), which would dominate 660 private lookups.
				out, err := run(t, dir, "", "install")
				if err != nil {
					t.Fatalf("%s install: %v\n%s", c, err, out)
				}
				got := installedBig(t, c, dir)
				want := bigMids * (bigLeavesPerMid + 1)
				if len(got) != want {
					t.Errorf("%s installed %d e2e-big-* packages, want %d", c, len(got), want)
				}
				for i := range bigMids {
					names := []string{bigMid(i)}
					for j := range bigLeavesPerMid {
						names = append(names, bigLeaf(i, j))
					}
					for _, name := range names {
						if got[name] != "1.0.0" {
							t.Errorf("%s: %s installed at %q, want 1.0.0", c, name, got[name])
						}
					}
				}
				noLeaks(t)
			})
		})
	}
}

// checkNPMLock checks that an npm lockfile is version 3 and pins e2e-pinned to the
// Écluse tarball URL with the fixture's integrity.
func checkNPMLock(t *testing.T, lock []byte, resolved, integrity string) {
	t.Helper()
	var pl struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Version   string `json:"version"`
			Resolved  string `json:"resolved"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(lock, &pl); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	got := pl.Packages["node_modules/e2e-pinned"]
	if pl.LockfileVersion != 3 || got.Version != "2.0.0" || got.Resolved != resolved || got.Integrity != integrity {
		t.Fatalf("package-lock.json = version %d, e2e-pinned %+v; want version 3, 2.0.0 resolved at %s with %s",
			pl.LockfileVersion, got, resolved, integrity)
	}
}

// keys returns m's keys, for messages.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
