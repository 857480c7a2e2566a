package e2e

// Manifest confusion with real clients: a public version whose registry metadata shows no
// install script while its tarball's package.json has a postinstall. Run with
// `go test ./e2e/ -run TarballManifest`.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// refusalLog is the message Écluse logs when it refuses a tarball for its contents.
const refusalLog = "tarball refused for its contents"

// TestTarballManifestClients installs, with npm, pnpm and yarn, a version whose tarball
// runs a postinstall (writing a marker file) that its registry metadata hides. Straight
// from the registry, yarn and pnpm run it; through Écluse with a DenyInstallTimeExecution
// rule, every client's install fails with the reason and the marker is never written.
// Then the big tree of TestClients (330 packages, metadata and tarballs in agreement)
// installs through the same Écluse with no tarball refused.
func TestTarballManifestClients(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "postinstall-ran")
	script := "node -e \"require('fs').writeFileSync(process.argv[1], 'ran')\" " + marker

	// One confused package per client, so that each one streams its tarball through
	// Écluse first (a client after the first would meet the recorded refusal).
	confused := func(c client) string { return "e2e-confused-" + string(c) }
	public := newFixtureRegistry(t)
	for _, cc := range clientCases {
		public.Add(Pkg{Name: confused(cc.client), Versions: []Ver{
			{Version: "1.0.0", PublishedAgo: oldEnough, Scripts: map[string]string{"postinstall": script}},
		}})
	}
	public.Add(Pkg{Name: "e2e-honest", Versions: []Ver{{Version: "1.0.0", PublishedAgo: oldEnough}}})
	// The registry's metadata loses the script; the tarball (and its digest) keep it.
	public.Intercept(func(w http.ResponseWriter, req *http.Request) bool {
		name := strings.TrimPrefix(req.URL.EscapedPath(), "/")
		if !strings.HasPrefix(name, "e2e-confused-") || strings.Contains(name, "/") {
			return false
		}
		doc := public.packument(public.lookup(name))
		for _, v := range doc["versions"].(map[string]any) {
			delete(v.(map[string]any), "scripts")
		}
		writeJSON(w, http.StatusOK, doc)
		return true
	})
	bigDeps := addBigTree(public)
	private := newFixtureRegistry(t) // has nothing: every package is public

	env := baseEnv(public.URL, private.URL)
	env["PROXY_CONFIG"] = `{"rules":{"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200}}}`
	p := startEcluse(t, env)

	// pnpm 10 runs no dependency's install script unless allowed, and this yarn only when
	// told to: allow them all, so that only Écluse stands between the hidden script and
	// the machine.
	opts := func(c client, registry, dir string) ClientOpts {
		o := ClientOpts{Dir: dir, Registry: registry}
		switch c {
		case pnpmCLI:
			o.Npmrc = []string{"dangerously-allow-all-builds=true"}
		case yarnCLI:
			o.Yarnrc = []string{"enableScripts: true"}
		}
		return o
	}
	ran := func() bool {
		_, err := os.Stat(marker)
		return err == nil
	}

	for _, cc := range clientCases {
		c := cc.client
		t.Run(string(c), func(t *testing.T) {
			t.Run("straight from the registry", func(t *testing.T) {
				// The control: proves the hidden script is real for this client.
				_ = os.Remove(marker)
				dir := t.TempDir()
				writePackageJSON(t, dir, map[string]string{confused(c): "1.0.0"})
				out, err := runClient(t, c, opts(c, public.URL, dir), "install")
				if err != nil {
					t.Fatalf("%s install straight from the registry: %v\n%s", c, err, out)
				}
				switch {
				case c != npmCLI && !ran():
					t.Errorf("%s did not run the tarball's postinstall; the test proves nothing for it:\n%s", c, out)
				case c == npmCLI && ran():
					t.Logf("npm ran the tarball's postinstall too")
				}
				_ = os.Remove(marker)
			})

			t.Run("through Écluse", func(t *testing.T) {
				dir := t.TempDir()
				writePackageJSON(t, dir, map[string]string{confused(c): "1.0.0", "e2e-honest": "1.0.0"})
				out, err := runClient(t, c, opts(c, p.URL, dir), "install")
				if err == nil {
					t.Fatalf("%s installed %s through Écluse:\n%s", c, confused(c), out)
				}
				if ran() {
					t.Fatalf("%s ran the hidden postinstall through Écluse:\n%s", c, out)
				}
				if got := installedVersion(t, dir, confused(c)); got != "" {
					t.Errorf("%s %s is installed after the refusal", confused(c), got)
				}
				const reason = "declares a postinstall script; rule deny-scripts denies install-time execution"
				if !strings.Contains(out, confused(c)) || !strings.Contains(out, reason) {
					t.Errorf("%s output does not give the reason (%q):\n%s", c, reason, out)
				}
				t.Logf("%s output:\n%s", c, out)
			})
		})
	}

	t.Run("the refusals are recorded", func(t *testing.T) {
		if n := strings.Count(p.Stdout(), refusalLog); n != len(clientCases) {
			t.Errorf("Écluse logged %d refusals, want %d (one per client's package)", n, len(clientCases))
		}
		for _, cc := range clientCases {
			name := confused(cc.client)
			var ex struct {
				Versions []struct {
					Version  string `json:"version"`
					Admitted bool   `json:"admitted"`
					Rule     string `json:"rule"`
					Reason   string `json:"reason"`
				} `json:"versions"`
			}
			getJSON(t, p.URL+"/-/ecluse/explain/"+name+"/1.0.0", nil, http.StatusOK, &ex)
			if len(ex.Versions) != 1 || ex.Versions[0].Admitted || ex.Versions[0].Rule != "deny-scripts" ||
				!strings.Contains(ex.Versions[0].Reason, "declares a postinstall script") {
				t.Errorf("explain %s = %+v, want refused by deny-scripts for the postinstall", name, ex.Versions)
			}
			var doc packumentDoc
			getJSON(t, p.URL+"/"+name, nil, http.StatusOK, &doc)
			if len(doc.Versions) != 0 {
				t.Errorf("the document of %s still lists %v", name, keys(doc.Versions))
			}
			var e errorBody
			getJSON(t, p.URL+"/"+name+"/-/"+name+"-1.0.0.tgz", nil, http.StatusForbidden, &e)
			if !strings.Contains(e.Error, "rule deny-scripts denies install-time execution") {
				t.Errorf("403 error = %q", e.Error)
			}
		}
	})

	// No false refusals: the 330 packages of the big tree, tarballs and metadata in
	// agreement, through the same Écluse, with each client.
	for _, cc := range clientCases {
		c := cc.client
		t.Run("330 packages with "+string(c), func(t *testing.T) {
			before := strings.Count(p.Stdout(), refusalLog)
			served := countServedTarballs(p.Stdout())
			dir := t.TempDir()
			writePackageJSON(t, dir, bigDeps)
			out, err := runClient(t, c, opts(c, p.URL, dir), "install")
			if err != nil {
				t.Fatalf("%s install: %v\n%s", c, err, out)
			}
			if got, want := len(installedBig(t, c, dir)), bigMids*(bigLeavesPerMid+1); got != want {
				t.Errorf("%s installed %d e2e-big-* packages, want %d", c, got, want)
			}
			refused := strings.Count(p.Stdout(), refusalLog) - before
			inspected := countServedTarballs(p.Stdout()) - served
			t.Logf("%s: %d tarballs served and inspected, %d refused", c, inspected, refused)
			if refused != 0 {
				t.Errorf("%d tarballs of the big tree were refused", refused)
			}
		})
	}
}

// countServedTarballs counts the tarball requests answered 200 in Écluse's log.
func countServedTarballs(log string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		var rec struct {
			Msg, Route string
			Status     int
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request" && rec.Route == "tarball" && rec.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// packageTarball is a package tarball of name@version holding its package.json and a
// file read from body, stored uncompressed (so a large one is built fast).
func packageTarball(tb testing.TB, name, version string, body io.Reader) []byte {
	tb.Helper()
	data, err := io.ReadAll(body)
	if err != nil {
		tb.Fatal(err)
	}
	pj, err := json.Marshal(map[string]string{"name": name, "version": version})
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		tb.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		body []byte
	}{{"package/package.json", pj}, {"package/data.bin", data}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body)), ModTime: fixtureEpoch}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
