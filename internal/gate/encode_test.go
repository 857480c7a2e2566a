package gate

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/ecluse/ecluse/internal/npm"
)

// TestGzipTextDecodes: the compressed copy decodes to exactly the text, with the
// standard library's reader and klauspost's, for sizes around the chunk boundaries
// where the stream is assembled from concurrently compressed pieces.
func TestGzipTextDecodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 100, gzipChunk - 1, gzipChunk, gzipChunk + 1, 3*gzipChunk + 12345} {
		// Half repetitive JSON-like text, half noise, so both literal and matched blocks occur.
		var b strings.Builder
		for b.Len() < size {
			if rng.IntN(2) == 0 {
				b.WriteString(`{"name":"left-pad","version":"1.3.0"},`)
			} else {
				b.WriteByte(byte(rng.IntN(256)))
			}
		}
		want := b.String()[:size]
		gz, err := gzipText(npm.TextOf([]byte(want)))
		if err != nil {
			t.Fatal(err)
		}
		std, err := stdgzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("size %d: standard reader: %v", size, err)
		}
		got, err := io.ReadAll(std)
		if err != nil || string(got) != want {
			t.Fatalf("size %d: standard reader decoded %d bytes (err %v), want the %d-byte text", size, len(got), err, size)
		}
		k, err := kgzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(k)
		if err != nil || string(got) != want {
			t.Fatalf("size %d: klauspost reader decoded %d bytes (err %v), want the %d-byte text", size, len(got), err, size)
		}
	}
}
