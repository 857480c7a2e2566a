package gomod

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"

	"golang.org/x/mod/sumdb/dirhash"
)

// MaxZipUncompressedBytes bounds what HashZip decompresses, the go command's own
// limit on a module's unpacked size.
const MaxZipUncompressedBytes = 500 << 20

// ErrInvalidZip is wrapped by every error HashZip returns for a zip it refuses.
var ErrInvalidZip = errors.New("invalid module zip")

// HashZip returns the "h1:" hash of a module zip, the one go.sum and the checksum
// database record for "{module} {version}": dirhash.Hash1 over every file in the zip
// under its name in the zip, as dirhash.HashZip computes it for a file on disk. The
// zip is read from r, size bytes long. A malformed zip, one with two files of the same
// name, or one that unpacks to more than MaxZipUncompressedBytes is refused with an
// error wrapping ErrInvalidZip.
func HashZip(r io.ReaderAt, size int64) (string, error) {
	return hashZip(r, size, MaxZipUncompressedBytes)
}

// hashZip is HashZip with the unpacked-size bound as a parameter.
func hashZip(r io.ReaderAt, size, limit int64) (string, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidZip, err)
	}
	files := make([]string, 0, len(z.File))
	byName := make(map[string]*zip.File, len(z.File))
	for _, f := range z.File {
		if _, dup := byName[f.Name]; dup {
			return "", fmt.Errorf("%w: the file %s appears twice", ErrInvalidZip, quoteShort(f.Name))
		}
		byName[f.Name] = f
		files = append(files, f.Name)
	}
	budget := limit
	open := func(name string) (io.ReadCloser, error) {
		f := byName[name]
		if f == nil {
			return nil, fmt.Errorf("the file %s is not in the zip", quoteShort(name))
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		return &budgetReader{rc: rc, budget: &budget}, nil
	}
	h, err := dirhash.Hash1(files, open)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidZip, err)
	}
	return h, nil
}

// HashGoMod returns the "h1:" hash of a go.mod file, the one go.sum and the checksum
// database record for "{module} {version}/go.mod": dirhash.Hash1 over the single file
// named "go.mod".
func HashGoMod(data []byte) string {
	h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		// Hash1 fails only on a file name with a newline or a failing open.
		panic(fmt.Sprintf("gomod: hashing go.mod: %v", err))
	}
	return h
}

// errZipTooLarge is returned once a zip unpacks past its bound.
var errZipTooLarge = errors.New("it unpacks to more than the bound on a module's size")

// budgetReader fails once the bytes read through all readers sharing budget pass it.
type budgetReader struct {
	rc     io.ReadCloser
	budget *int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	*b.budget -= int64(n)
	if *b.budget < 0 {
		return n, errZipTooLarge
	}
	return n, err
}

func (b *budgetReader) Close() error { return b.rc.Close() }
