package gate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
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

// gzipChunk is the size of the blocks a large body is cut into, to be compressed on
// several cores at once. Each block is compressed on its own (without the previous
// block as its dictionary), which costs a fraction of a percent of the ratio at this
// size.
const gzipChunk = 1 << 20

// gzipText compresses t into a gzip stream held in a buffer of its exact size. A body
// larger than one chunk is cut into chunks compressed concurrently, each as a run of
// deflate blocks ending on a byte boundary (a sync flush) and the last one closing the
// stream, which concatenate into one valid deflate stream; the gzip header and trailer
// (CRC-32 and length of the whole) frame them.
func gzipText(t npm.Text) ([]byte, error) {
	chunks := t.Split(gzipChunk)
	if len(chunks) == 1 {
		return gzipSerial(t)
	}
	packed := make([][]byte, len(chunks))
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	next := make(chan int, len(chunks))
	for i := range chunks {
		next <- i
	}
	close(next)
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				packed[i], errs[i] = deflateChunk(chunks[i], i == len(chunks)-1)
			}
		}()
	}
	crc := crc32.NewIEEE()
	_, _ = t.WritePieces(crc) // never fails; overlaps with the compression
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	size := gzipHeaderLen + gzipTrailerLen
	for _, p := range packed {
		size += len(p)
	}
	out := make([]byte, 0, size)
	out = append(out, gzipHeader[:]...)
	for _, p := range packed {
		out = append(out, p...)
	}
	out = binary.LittleEndian.AppendUint32(out, crc.Sum32())
	out = binary.LittleEndian.AppendUint32(out, uint32(t.Len())) //nolint:gosec // G115: ISIZE is the length modulo 2^32 by definition
	return out, nil
}

// The fixed gzip header: magic, deflate, no flags, no time, no extra flags, unknown OS.
var gzipHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

const (
	gzipHeaderLen  = 10
	gzipTrailerLen = 8
)

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, gzipLevel) // never fails for a valid level
	return w
}}

// deflateChunk compresses one chunk as raw deflate blocks: ending on a sync flush, or
// closing the stream when last.
func deflateChunk(t npm.Text, last bool) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(t.Len()/8 + 64)
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(&buf)
	if _, err := t.WritePieces(w); err != nil {
		return nil, err
	}
	var err error
	if last {
		err = w.Close()
	} else {
		err = w.Flush()
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzipLevel) // never fails for a valid level
	return w
}}

// gzipSerial compresses t on one goroutine into a buffer of exactly the compressed size.
func gzipSerial(t npm.Text) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(t.Len()/8 + 64)
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&buf)
	if _, err := t.WritePieces(w); err != nil {
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
