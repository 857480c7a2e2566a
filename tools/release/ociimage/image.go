// Command ociimage assembles Écluse's container image from a built binary without a
// Docker daemon: one layer holding the binary, a CA bundle and the passwd and group
// entries of the non-root user, every timestamp fixed, so that the same binary always
// gives the same image digest. It writes an OCI image layout and a tarball that crane
// push (and docker load) accept.
package main

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The image's fixed facts.
const (
	// UID and GID are the non-root user the image runs as.
	UID = 65532
	GID = 65532
	// BinaryPath is where the binary lies in the image.
	BinaryPath = "/ecluse"
	// CertsPath is the CA bundle, where Go's crypto/x509 looks on Linux.
	CertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// Port is the port Écluse listens on by default (PROXY_PORT).
	Port = "4873/tcp"
)

// Spec is what an image is built from.
type Spec struct {
	// Binary is the static linux/amd64 ecluse executable.
	Binary []byte
	// Version and Revision label the image (org.opencontainers.image.version and
	// .revision); Source is the repository URL, when known.
	Version, Revision, Source string
	// Created is every timestamp in the image: the commit's time, for a reproducible
	// build.
	Created time.Time
}

// Build assembles the image.
func Build(s Spec) (v1.Image, error) {
	if len(s.Binary) == 0 {
		return nil, errors.New("no binary")
	}
	files, err := rootfs(s)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	created := v1.Time{Time: s.Created.UTC()}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "ociimage: ecluse " + s.Version, Comment: "binary, CA bundle, passwd"},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = created
	labels := map[string]string{
		"org.opencontainers.image.title":    "ecluse",
		"org.opencontainers.image.version":  s.Version,
		"org.opencontainers.image.revision": s.Revision,
		"org.opencontainers.image.created":  created.Format(time.RFC3339),
	}
	if s.Source != "" {
		labels["org.opencontainers.image.source"] = s.Source
	}
	cf.Config = v1.Config{
		User:         fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint:   []string{BinaryPath},
		Cmd:          []string{"serve"},
		ExposedPorts: map[string]struct{}{Port: {}},
		Env:          []string{"SSL_CERT_FILE=" + CertsPath},
		WorkingDir:   "/",
		Labels:       labels,
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return img, nil
}

// rootfs is the layer's tar: directories, then files, in a fixed order, with fixed
// owners, modes and times.
func rootfs(s Spec) ([]byte, error) {
	certs, err := caBundle()
	if err != nil {
		return nil, err
	}
	type entry struct {
		name     string
		mode     int64
		uid, gid int
		body     []byte
		dir      bool
	}
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, body: fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", GID)},
		{name: "etc/passwd", mode: 0o644, body: fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: CertsPath[1:], mode: 0o644, body: certs},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: UID, gid: GID, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: BinaryPath[1:], mode: 0o755, body: s.Binary},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			ModTime: s.Created.UTC(), Format: tar.FormatPAX,
			Typeflag: tar.TypeReg, Size: int64(len(e.body)),
		}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// caBundle is the Mozilla (NSS) root store as Go's x509roots module pins it, in PEM.
// It comes from a module version, not from the build machine, so every build writes
// the same bundle. Roots the store trusts only for certificates issued before a date
// are left out: a PEM file cannot carry that constraint.
func caBundle() ([]byte, error) {
	var out bytes.Buffer
	n := 0
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		if err := pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, errors.New("the CA bundle is empty")
	}
	return out.Bytes(), nil
}
