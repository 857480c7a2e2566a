package e2e

// Real-registry scale: documents the size of the largest public ones install with default
// settings, and compressed responses decode to exactly the identity bytes.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// hugePackument serves fp's packument padded with old filler versions to about size bytes,
// gzip-compressed when the client asks for it, as the public registry serves it.
func hugePackument(t *testing.T, reg *FixtureRegistry, fp *fixturePkg, size int) []byte {
	t.Helper()
	doc := reg.packument(fp)
	versions := doc["versions"].(map[string]any)
	times := doc["time"].(map[string]string)
	const fillers = 3000
	pad := strings.Repeat("x", size/fillers)
	old := time.Now().Add(-400 * 24 * time.Hour)
	for i := range fillers {
		v := fmt.Sprintf("0.0.%d", i)
		sum := sha512.Sum512([]byte(v))
		versions[v] = map[string]any{
			"name": fp.name, "version": v, "description": pad,
			"dist": map[string]any{
				"tarball":   reg.URL + "/" + fp.name + "/-/" + fp.name + "-" + v + ".tgz",
				"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sum[:]),
			},
		}
		times[v] = npmTime(old)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveHuge makes reg answer name's packument with body, compressed when accepted.
func serveHuge(reg *FixtureRegistry, bodies map[string][]byte) {
	packed := map[string][]byte{}
	for name, b := range bodies {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		_ = zw.Close()
		packed[name] = buf.Bytes()
	}
	reg.Intercept(func(w http.ResponseWriter, req *http.Request) bool {
		name := strings.TrimPrefix(req.URL.Path, "/")
		body, ok := bodies[name]
		if !ok {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(req.Header.Get("Accept-Encoding"), "gzip") {
			body = packed[name]
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body)
		return true
	})
}

// rawGet fetches url without the transport's transparent decompression.
func rawGet(t *testing.T, url string, header http.Header) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// TestScaleLargeDocumentsWithDefaults: with no setting changed, packages whose documents
// are as large as the largest public ones (21 MB and 25 MB, compressed on the wire)
// install through Écluse with npm, and a gzip request gets a gzip body that decodes to
// exactly the identity body, with its own ETag.
func TestScaleLargeDocumentsWithDefaults(t *testing.T) {
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	sizes := map[string]int{"e2e-huge-21": 21 << 20, "e2e-huge-25": 25 << 20}
	bodies := map[string][]byte{}
	for name, size := range sizes {
		public.Add(Pkg{Name: name, Versions: []Ver{{Version: "1.0.0", PublishedAgo: 300 * 24 * time.Hour}}})
		bodies[name] = hugePackument(t, public, public.lookup(name), size)
		if len(bodies[name]) < size {
			t.Fatalf("%s document is %d bytes, want at least %d", name, len(bodies[name]), size)
		}
	}
	serveHuge(public, bodies)
	p := startEcluse(t, baseEnv(public.URL, private.URL))

	dir := t.TempDir()
	writePackageJSON(t, dir, map[string]string{"e2e-huge-21": "^1.0.0", "e2e-huge-25": "^1.0.0"})
	out, err := runNPM(t, dir, p.URL, "", "install")
	if err != nil {
		t.Fatalf("npm install through ecluse: %v\n%s\nlogs:\n%s", err, out, p.Logs())
	}
	for name := range sizes {
		if got := installedVersion(t, dir, name); got != "1.0.0" {
			t.Errorf("installed %s = %q, want 1.0.0", name, got)
		}
	}

	for _, accept := range []string{"application/json", "application/vnd.npm.install-v1+json"} {
		t.Run(accept, func(t *testing.T) {
			plain := rawGet(t, p.URL+"/e2e-huge-25", http.Header{"Accept": {accept}})
			packed := rawGet(t, p.URL+"/e2e-huge-25", http.Header{"Accept": {accept}, "Accept-Encoding": {"gzip"}})
			if plain.status != http.StatusOK || packed.status != http.StatusOK {
				t.Fatalf("statuses %d and %d, want 200", plain.status, packed.status)
			}
			if enc := packed.header.Get("Content-Encoding"); enc != "gzip" {
				t.Fatalf("Content-Encoding = %q for a gzip request, want gzip", enc)
			}
			if plain.header.Get("Content-Encoding") != "" {
				t.Errorf("identity request got Content-Encoding %q", plain.header.Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(bytes.NewReader(packed.body))
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(decoded, plain.body) {
				t.Errorf("gzip body decodes to %d bytes, want exactly the %d identity bytes", len(decoded), len(plain.body))
			}
			// The abbreviated form of this generated document is mostly random digests;
			// the ratio on real documents is held by TestGzipOfRealDocuments in gate.
			if len(packed.body) >= len(plain.body) {
				t.Errorf("gzip body is %d bytes for %d identity bytes, want it smaller", len(packed.body), len(plain.body))
			}
			if a, b := plain.header.Get("ETag"), packed.header.Get("ETag"); a == "" || a == b {
				t.Errorf("ETags %s and %s, want one per representation", a, b)
			}
			if !strings.Contains(packed.header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary = %q, want Accept-Encoding named", packed.header.Get("Vary"))
			}
		})
	}
}
