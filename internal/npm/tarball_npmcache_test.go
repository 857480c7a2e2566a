package npm

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTarballsInNPMCache holds every tarball in a local npm cache against the package
// document cached beside it, as the gate does, to count false refusals on real packages.
// It runs only when ECLUSE_NPM_CACHE names a cache's _cacache directory, e.g.
// ECLUSE_NPM_CACHE=$HOME/.npm/_cacache go test -run TestTarballsInNPMCache -v ./internal/npm/
func TestTarballsInNPMCache(t *testing.T) {
	root := os.Getenv("ECLUSE_NPM_CACHE")
	if root == "" {
		t.Skip("ECLUSE_NPM_CACHE is not set")
	}
	content := func(integrity string) []byte {
		f := strings.Fields(integrity)
		if len(f) == 0 || !strings.HasPrefix(f[0], "sha512-") {
			return nil
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f[0], "sha512-"))
		if err != nil {
			return nil
		}
		h := hex.EncodeToString(raw)
		b, _ := os.ReadFile(filepath.Join(root, "content-v2", "sha512", h[:2], h[2:4], h[4:]))
		return b
	}
	docs := map[string][]byte{}
	type tgz struct{ name, file, integrity string }
	tgzs := map[string]tgz{}
	_ = filepath.WalkDir(filepath.Join(root, "index-v5"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			_, js, _ := strings.Cut(sc.Text(), "\t")
			var e struct{ Key, Integrity string }
			if json.Unmarshal([]byte(js), &e) != nil {
				continue
			}
			raw, ok := strings.CutPrefix(e.Key, "make-fetch-happen:request-cache:")
			u, err := url.Parse(raw)
			if !ok || err != nil {
				continue
			}
			if i := strings.Index(u.Path, "/-/"); i >= 0 {
				name, _ := url.PathUnescape(u.Path[1:i])
				tgzs[u.Path] = tgz{name, u.Path[i+3:], e.Integrity}
				continue
			}
			name, _ := url.PathUnescape(strings.TrimPrefix(u.Path, "/"))
			docs[name] = content(e.Integrity)
		}
		return nil
	})
	var read, refused, depsDiffer, runCode int
	for _, tg := range tgzs {
		b, doc := content(tg.integrity), docs[tg.name]
		if b == nil || doc == nil {
			continue
		}
		p, err := ParsePackument(doc, tg.name, Limits{})
		if err != nil {
			continue
		}
		base := tg.name[strings.LastIndex(tg.name, "/")+1:]
		v := p.Find(strings.TrimSuffix(strings.TrimPrefix(tg.file, base+"-"), ".tgz"))
		if v == nil {
			continue
		}
		read++
		rep, err := inspect(b, 32<<10, InspectLimits{})
		if err != nil {
			refused++
			t.Errorf("%s@%s: unreadable: %v", tg.name, v.Key, err)
			continue
		}
		if rep.RunsCode() {
			runCode++
		}
		if !SameName(rep.Manifest.Name, tg.name) || !SameVersion(rep.Manifest.Version, v.Key) {
			refused++
			t.Errorf("%s@%s: its tarball says %q@%q", tg.name, v.Key, rep.Manifest.Name, rep.Manifest.Version)
			continue
		}
		meta, err := v.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		d := CompareManifests(meta, rep.Manifest, rep.GypFile)
		if len(d.Scripts) > 0 {
			refused++
			t.Errorf("%s@%s: scripts differ: %v", tg.name, v.Key, d.Scripts)
		}
		if len(d.Dependencies) > 0 {
			depsDiffer++
			t.Logf("%s@%s: dependencies differ (a warning by default): %v", tg.name, v.Key, d.Dependencies)
		}
	}
	t.Logf("%d tarballs read (%d run code at install): %d would be refused, %d differ in dependencies", read, runCode, refused, depsDiffer)
}
