package e2e

// The install half of BenchmarkCompare: a cold `npm ci` of a project of more than a
// thousand packages, through Écluse and straight from the fixture registry.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Sizes of the install tree: the project depends on ciMids packages, each depending on
// ciLeavesPerMid leaves of its own, 1,040 packages in all.
const (
	ciMids         = 40
	ciLeavesPerMid = 25
	ciPackages     = ciMids * (ciLeavesPerMid + 1)
)

func ciMid(i int) string     { return fmt.Sprintf("bench-ci-mid-%02d", i) }
func ciLeaf(i, j int) string { return fmt.Sprintf("bench-ci-leaf-%02d-%02d", i, j) }

// addCITree adds the install tree's packages to reg, every one published long ago, and
// returns the project's dependencies.
func addCITree(reg *FixtureRegistry) map[string]string {
	return addTree(reg, ciMids, ciLeavesPerMid, ciMid, ciLeaf)
}

// ciTimes are the durations of the `npm ci` runs, in the order run, and of the one
// lockfile resolution of each side (`npm install --package-lock-only`).
type ciTimes struct {
	direct []time.Duration
	// cold are the runs through a freshly started Écluse; warm the runs right after, through
	// the same instance, its documents cached by the cold run.
	cold, warm             []time.Duration
	lockDirect, lockEcluse time.Duration
}

// compareNPMCI installs the tree with `npm ci` rounds times straight from reg and through
// Écluse, alternating which goes first. Each side's lockfile is written against its own
// registry beforehand (`npm install --package-lock-only`), and every run has a fresh npm
// cache. Through Écluse, each round starts a fresh Écluse (env), so that its caches are as
// cold as npm's: every tarball request makes it fetch and decide the package's document
// first; then a second run goes through the same instance, its documents now cached (a
// tarball is never cached: it streams from the upstream each time). The lockfile, written
// through an earlier instance, is pointed at the new one's port.
func compareNPMCI(b *testing.B, reg *FixtureRegistry, env map[string]string, rounds int) ciTimes {
	b.Helper()
	deps := addCITree(reg)
	directDir, ecluseDir := b.TempDir(), b.TempDir()
	for _, dir := range []string{directDir, ecluseDir} {
		writePackageJSON(b, dir, deps)
	}
	var times ciTimes
	start := time.Now()
	if out, err := runNPM(b, directDir, reg.URL, "", "install", "--package-lock-only"); err != nil {
		b.Fatalf("npm install --package-lock-only against the fixture registry: %v\n%s", err, out)
	}
	times.lockDirect = time.Since(start)
	lockgen := startEcluse(b, env)
	start = time.Now()
	if out, err := runNPM(b, ecluseDir, lockgen.URL, "", "install", "--package-lock-only"); err != nil {
		b.Fatalf("npm install --package-lock-only through Écluse: %v\n%s", err, out)
	}
	times.lockEcluse = time.Since(start)
	lockgen.stop()
	lockPath := filepath.Join(ecluseDir, "package-lock.json")
	lock, err := os.ReadFile(lockPath)
	if err != nil {
		b.Fatal(err)
	}
	lockURL := lockgen.URL + "/"
	if n := strings.Count(string(lock), lockURL); n != ciPackages {
		b.Fatalf("the lockfile written through Écluse resolves %d packages at %s, want %d", n, lockURL, ciPackages)
	}

	direct := func() {
		start := time.Now()
		out, err := runNPM(b, directDir, reg.URL, "", "ci")
		d := time.Since(start)
		if err != nil {
			b.Fatalf("npm ci against the fixture registry: %v\n%s", err, out)
		}
		checkCIInstalled(b, directDir)
		times.direct = append(times.direct, d)
	}
	through := func() {
		p := startEcluse(b, env)
		defer p.stop()
		fresh := strings.ReplaceAll(string(lock), lockURL, p.URL+"/")
		if err := os.WriteFile(lockPath, []byte(fresh), 0o644); err != nil {
			b.Fatal(err)
		}
		for _, runs := range []*[]time.Duration{&times.cold, &times.warm} {
			start := time.Now()
			out, err := runNPM(b, ecluseDir, p.URL, "", "ci")
			d := time.Since(start)
			if err != nil {
				b.Fatalf("npm ci through Écluse: %v\n%s", err, out)
			}
			checkCIInstalled(b, ecluseDir)
			*runs = append(*runs, d)
		}
	}
	for r := range rounds {
		if r%2 == 0 {
			direct()
			through()
		} else {
			through()
			direct()
		}
	}
	return times
}

// checkCIInstalled fails the benchmark unless dir's node_modules holds every package of
// the install tree.
func checkCIInstalled(b *testing.B, dir string) {
	b.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "node_modules"))
	if err != nil {
		b.Fatalf("npm ci left no node_modules: %v", err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "bench-ci-") {
			n++
		}
	}
	if n != ciPackages {
		b.Fatalf("npm ci installed %d bench-ci-* packages in %s, want %d", n, dir, ciPackages)
	}
}
