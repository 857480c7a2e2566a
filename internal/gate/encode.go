package gate

import (
	"bytes"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/ecluse/ecluse/internal/npm"
)

// gzipLevel trades compression for speed: a served document is compressed once per
// rendering, on the request that first asks for it, so it must be fast; package
// documents are repetitive JSON and still shrink to a tenth or less at this level.
const gzipLevel = gzip.BestSpeed

// encodings holds a rendering's compressed copy. The zero value works; grew, when set,
// is told the copy's size once it is made (the cache counts it).
type encodings struct {
	once sync.Once
	gz   []byte
	err  error
	grew func(extra int64)
}

// Gzip returns the body compressed with gzip, and the ETag of that representation. The
// copy is made once per rendering, by the first request that asks for it, and kept
// beside the rendering for as long as it is cached, so a warm compressed serve costs no
// more than a warm identity serve.
func (d *Document) Gzip() ([]byte, string, error) {
	enc := d.enc
	if enc == nil {
		enc = &encodings{} // a Document built by hand: compress every time
	}
	enc.once.Do(func() {
		enc.gz, enc.err = gzipText(d.Body)
		if enc.err == nil && enc.grew != nil {
			enc.grew(int64(cap(enc.gz)))
		}
	})
	if enc.err != nil {
		return nil, "", enc.err
	}
	return enc.gz, GzipETag(d.ETag), nil
}

// GzipETag is the ETag of the gzip representation of a body whose identity ETag is
// etag: a different strong validator for different bytes, derived from the same one.
func GzipETag(etag string) string {
	return strings.TrimSuffix(etag, `"`) + `-gz"`
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzipLevel) // never fails for a valid level
	return w
}}

// gzipText compresses t into a buffer of exactly the compressed size.
func gzipText(t npm.Text) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(t.Len()/8 + 64)
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&buf)
	if _, err := t.WriteTo(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if buf.Cap()-buf.Len() > buf.Len()/8 {
		return bytes.Clone(buf.Bytes()), nil
	}
	return buf.Bytes(), nil
}
