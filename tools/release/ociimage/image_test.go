package main

import (
	"archive/tar"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var created = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func spec() Spec {
	return Spec{Binary: []byte("\x7fELF pretend binary"), Version: "v1.2.3", Revision: "0123456789abcdef", Created: created}
}

// TestBuildIsReproducible: the same inputs give the same digest; another binary or
// time gives another.
func TestBuildIsReproducible(t *testing.T) {
	digest := func(s Spec) string {
		t.Helper()
		img, err := Build(s)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	a, b := digest(spec()), digest(spec())
	if a != b {
		t.Fatalf("two builds of the same inputs: %s and %s", a, b)
	}
	other := spec()
	other.Binary = []byte("another binary")
	later := spec()
	later.Created = created.Add(time.Second)
	if digest(other) == a || digest(later) == a {
		t.Error("the digest does not depend on the binary or the time")
	}
}

// TestImageConfig: non-root, ecluse serve, port 4873, OCI media types, fixed times.
func TestImageConfig(t *testing.T) {
	img, err := Build(spec())
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := img.MediaType()
	if mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/ecluse"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("user %q entrypoint %v cmd %v", c.User, c.Entrypoint, c.Cmd)
	}
	if _, ok := c.ExposedPorts["4873/tcp"]; !ok || c.Healthcheck != nil {
		t.Errorf("exposed %v healthcheck %v; want 4873/tcp and none (Kubernetes probes /livez and /readyz)", c.ExposedPorts, c.Healthcheck)
	}
	if !cf.Created.Equal(created) || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("created %v os %s arch %s", cf.Created, cf.OS, cf.Architecture)
	}
	if c.Labels["org.opencontainers.image.version"] != "v1.2.3" || c.Labels["org.opencontainers.image.revision"] != "0123456789abcdef" {
		t.Errorf("labels %v", c.Labels)
	}
}

// TestImageFiles: exactly the binary, the CA bundle, passwd and group, a home and a
// tmp, owned by root but the home, at the fixed time.
func TestImageFiles(t *testing.T) {
	img, err := Build(spec())
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string][]byte{}
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(created) {
			t.Errorf("%s: time %v", h.Name, h.ModTime)
		}
		wantUID := 0
		if h.Name == "home/nonroot/" {
			wantUID = UID
		}
		if h.Uid != wantUID || h.Gid != wantUID {
			t.Errorf("%s: owner %d:%d", h.Name, h.Uid, h.Gid)
		}
		if h.Name == "ecluse" && h.Mode != 0o755 {
			t.Errorf("binary mode %o", h.Mode)
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
	want := []string{"etc/", "etc/group", "etc/passwd", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt", "home/", "home/nonroot/", "tmp/", "ecluse"}
	if !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	if string(files["ecluse"]) != string(spec().Binary) {
		t.Error("the binary is not the one given")
	}
	if !strings.Contains(string(files["etc/passwd"]), "nonroot:x:65532:65532:") {
		t.Errorf("passwd %q", files["etc/passwd"])
	}
	n := 0
	for rest := files["etc/ssl/certs/ca-certificates.crt"]; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			t.Fatalf("CA bundle entry %d: %v", n, err)
		}
		n++
	}
	if n < 100 {
		t.Errorf("CA bundle holds %d certificates", n)
	}
}

// TestRunWritesLoadableOutputs: the layout reads back as the same image, and the
// archive holds the layout byte for byte and is itself reproducible.
func TestRunWritesLoadableOutputs(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ecluse")
	if err := os.WriteFile(bin, spec().Binary, 0o755); err != nil {
		t.Fatal(err)
	}
	build := func(out string) (digest string, archive []byte) {
		t.Helper()
		layoutPath, archivePath, digestPath := filepath.Join(out, "oci"), filepath.Join(out, "image.tar"), filepath.Join(out, "digest")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := run([]string{"-binary", bin, "-version", "v1.2.3+dirty", "-created", "1796119200", "-layout", layoutPath, "-archive", archivePath, "-digest-file", digestPath}); err != nil {
			t.Fatal(err)
		}
		d, _ := os.ReadFile(digestPath)
		a, _ := os.ReadFile(archivePath)
		idx, err := layout.ImageIndexFromPath(layoutPath)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != 1 || im.Manifests[0].Digest.String()+"\n" != string(d) {
			t.Fatalf("layout index %+v, %v; digest file %s", im, err, d)
		}
		if im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v1.2.3-dirty" {
			t.Errorf("ref name %v", im.Manifests[0].Annotations)
		}
		return string(d), a
	}
	d1, a1 := build(filepath.Join(dir, "one"))
	d2, a2 := build(filepath.Join(dir, "two"))
	if d1 != d2 || string(a1) != string(a2) {
		t.Errorf("two runs: digests %s %s, archives equal %v", d1, d2, string(a1) == string(a2))
	}
	tr := tar.NewReader(strings.NewReader(string(a1)))
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if !slices.Contains(names, "oci-layout") || !slices.Contains(names, "index.json") || !slices.Contains(names, "blobs/sha256/"+strings.TrimPrefix(strings.TrimSpace(d1), "sha256:")) {
		t.Errorf("archive holds %v", names)
	}
}
