package main

import (
	"archive/tar"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ociimage", flag.ContinueOnError)
	binary := fs.String("binary", "", "the static linux/amd64 ecluse binary (required)")
	version := fs.String("version", "dev", "the version label")
	revision := fs.String("revision", "", "the commit the binary was built from")
	source := fs.String("source", "", "the repository URL label (optional)")
	created := fs.String("created", "0", "every timestamp, as Unix seconds (SOURCE_DATE_EPOCH)")
	layoutPath := fs.String("layout", "", "write the image as an OCI image layout directory (required)")
	archivePath := fs.String("archive", "", "also write that layout as one tar file (an OCI archive, which docker load, podman and skopeo read)")
	digestPath := fs.String("digest-file", "", "write the image's manifest digest to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *binary == "" || *layoutPath == "" {
		return fmt.Errorf("-binary and -layout are required")
	}
	secs, err := strconv.ParseInt(*created, 10, 64)
	if err != nil {
		return fmt.Errorf("-created %q: %w", *created, err)
	}
	bin, err := os.ReadFile(*binary)
	if err != nil {
		return err
	}
	img, err := Build(Spec{Binary: bin, Version: *version, Revision: *revision, Source: *source, Created: time.Unix(secs, 0)})
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	ref, err := name.NewTag("ecluse:" + tagOf(*version))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(*layoutPath); err != nil {
		return err
	}
	p, err := layout.Write(*layoutPath, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.TagStr(),
	}), layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		return fmt.Errorf("write %s: %w", *layoutPath, err)
	}
	if *archivePath != "" {
		if err := writeArchive(*archivePath, *layoutPath, time.Unix(secs, 0)); err != nil {
			return fmt.Errorf("write %s: %w", *archivePath, err)
		}
	}
	if *digestPath != "" {
		// A release artifact, read by anyone who verifies the release.
		if err := os.WriteFile(*digestPath, []byte(digest.String()+"\n"), 0o644); err != nil { //nolint:gosec // world-readable on purpose
			return err
		}
	}
	fmt.Println(digest.String())
	return nil
}

// tagOf makes a version usable as an image tag: letters, digits, '.', '_' and '-'.
func tagOf(version string) string {
	t := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, version)
	if t == "" || t[0] == '.' || t[0] == '-' {
		t = "v" + t
	}
	return t[:min(len(t), 128)]
}

// writeArchive tars the layout directory dir into path: its files in lexical order,
// each with mode 0644 (directories 0755), owner 0 and the time at, so the archive is as
// reproducible as the image.
func writeArchive(path, dir string, at time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(names)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range names {
		fi, err := os.Stat(p)
		if err != nil {
			return errors.Join(err, f.Close())
		}
		rel, _ := filepath.Rel(dir, p)
		h := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: at.UTC(), Format: tar.FormatPAX, Typeflag: tar.TypeReg, Size: fi.Size()}
		if fi.IsDir() {
			h.Name, h.Mode, h.Typeflag, h.Size = h.Name+"/", 0o755, tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return errors.Join(err, f.Close())
		}
		if !fi.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return errors.Join(err, f.Close())
			}
			if _, err := tw.Write(b); err != nil {
				return errors.Join(err, f.Close())
			}
		}
	}
	if err := tw.Close(); err != nil {
		return errors.Join(err, f.Close())
	}
	return f.Close()
}
