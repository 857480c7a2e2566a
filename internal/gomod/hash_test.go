package gomod

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/dirhash"
)

// makeZip returns a zip holding files (name, content pairs) in that order.
func makeZip(t testing.TB, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		f, err := w.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(f, files[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHashZipMatchesDirhash(t *testing.T) {
	tests := map[string][]byte{
		"module": makeZip(t, "example.com/m@v1.0.0/go.mod", "module example.com/m\n",
			"example.com/m@v1.0.0/m.go", "package m\n", "example.com/m@v1.0.0/LICENSE", "MIT\n"),
		"unsorted names": makeZip(t, "b", "2", "a", "1"),
		"empty zip":      makeZip(t),
	}
	for name, z := range tests {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "m.zip")
			if err := os.WriteFile(file, z, 0o600); err != nil {
				t.Fatal(err)
			}
			want, err := dirhash.HashZip(file, dirhash.Hash1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := HashZip(bytes.NewReader(z), int64(len(z)))
			if err != nil || got != want {
				t.Fatalf("HashZip = %q, %v, want %q (dirhash.HashZip)", got, err, want)
			}
		})
	}
}

func TestHashZipRefuses(t *testing.T) {
	tests := map[string][]byte{
		"not a zip":      []byte("PK\x03\x04 not really"),
		"duplicate name": makeZip(t, "a", "1", "a", "2"),
		"newline name":   makeZip(t, "a\nb", "1"),
	}
	for name, z := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := HashZip(bytes.NewReader(z), int64(len(z))); !errors.Is(err, ErrInvalidZip) {
				t.Fatalf("HashZip = %q, %v, want ErrInvalidZip", got, err)
			}
		})
	}
}

func TestHashZipBudget(t *testing.T) {
	z := makeZip(t, "a", "0123456789", "b", "0123456789")
	if _, err := hashZip(bytes.NewReader(z), int64(len(z)), 20); err != nil {
		t.Fatalf("hashZip(20 bytes, limit 20) = %v, want success", err)
	}
	if got, err := hashZip(bytes.NewReader(z), int64(len(z)), 19); !errors.Is(err, ErrInvalidZip) {
		t.Fatalf("hashZip(20 bytes, limit 19) = %q, %v, want ErrInvalidZip", got, err)
	}
}

// TestHashGoModReal checks the go.mod hash of a real module against the line the
// checksum database recorded for it (copied from this repository's go.sum).
func TestHashGoModReal(t *testing.T) {
	data, err := os.ReadFile("testdata/x-mod-v0.43.0.mod")
	if err != nil {
		t.Fatal(err)
	}
	const want = "h1:4ec1JnuyBz5+FIVhg86UsA39YG8BpnrZdJYSNHmGzHY="
	if got := HashGoMod(data); got != want {
		t.Fatalf("HashGoMod(golang.org/x/mod v0.43.0 go.mod) = %q, want %q", got, want)
	}
}

func TestParseInfoReal(t *testing.T) {
	data, err := os.ReadFile("testdata/x-mod-v0.43.0.info")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseInfo(data, "v0.43.0")
	if err != nil || got.Version != "v0.43.0" || got.Time.IsZero() {
		t.Fatalf("ParseInfo(real .info) = %+v, %v", got, err)
	}
	if body, err := RenderInfo(got); err != nil || !bytes.Equal(bytes.TrimSpace(body), bytes.TrimSpace(data)) {
		t.Errorf("RenderInfo(%+v) = %s, %v, want %s", got, body, err, data)
	}
}
