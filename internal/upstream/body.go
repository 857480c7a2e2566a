package upstream

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/ecluse/ecluse/internal/budget"
)

// firstRead is the buffer a body of unknown length starts with; it doubles from there.
const firstRead = 64 << 10

// readDocument reads a metadata body to its end, bounded by MaxBytes after decoding, and
// charges lease for the buffers it holds before it allocates them. The client asks for
// gzip and decodes it here (not in the transport) so that it knows the sizes first: the
// compressed body's Content-Length, then the decoded size its gzip trailer announces.
// A trailer that announces more than MaxBytes is refused before anything is inflated;
// one that announces less than the body really holds (a lie, or several gzip members)
// only costs the buffer growing again under the same bound.
func (c *Client) readDocument(ctx context.Context, resp *http.Response, lease *budget.Lease) ([]byte, error) {
	limit := c.opts.MaxBytes
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return readCharged(ctx, resp.Body, limit, resp.ContentLength, lease)
	case "gzip", "x-gzip":
		// Deflate cannot grow data by more than a few bytes per 16 KiB block, so a
		// compressed body past this is over the limit whatever it decodes to.
		packed, err := readCharged(ctx, resp.Body, limit+limit/256+1024, resp.ContentLength, lease)
		if err != nil {
			return nil, err
		}
		if int64(len(packed)) > limit+limit/256+1024 {
			return packed, nil // over the limit: the caller refuses it by its length
		}
		hint := int64(-1)
		if len(packed) >= 18 { // the smallest gzip stream: header and trailer
			hint = int64(binary.LittleEndian.Uint32(packed[len(packed)-4:]))
			if hint > limit {
				return nil, fmt.Errorf("gzip trailer announces %d bytes: %w", hint, ErrTooLarge)
			}
		}
		zr, err := gzip.NewReader(bytes.NewReader(packed))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer func() { _ = zr.Close() }()
		return readCharged(ctx, zr, limit, hint, lease)
	default:
		return nil, fmt.Errorf("unsupported content encoding %.40q", enc)
	}
}

// readCharged reads r to its end, or to one byte past limit (the caller refuses that).
// hint is the expected length (-1 when unknown): a buffer of that size plus one spare
// byte (to see the end without growing) is charged to lease and allocated once, so a
// large document is neither copied while the buffer grows nor left with unused
// capacity, and the parser adopts it in place. Without a hint, or past it, the buffer
// doubles, each time charged first. A nil lease charges nothing.
func readCharged(ctx context.Context, r io.Reader, limit, hint int64, lease *budget.Lease) ([]byte, error) {
	r = io.LimitReader(r, limit+1)
	size := hint + 1
	if hint < 0 || hint > limit {
		size = min(limit+1, firstRead)
	}
	if err := lease.Charge(ctx, size); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			grown := min(max(2*int64(cap(buf)), firstRead), limit+1)
			if grown <= int64(cap(buf)) {
				return buf, nil // limit+1 bytes read: the caller sees it is too large
			}
			if err := lease.Charge(ctx, grown-int64(cap(buf))); err != nil {
				return nil, err
			}
			buf = append(make([]byte, 0, grown), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// readBounded is readCharged without a lease.
func readBounded(r io.Reader, limit, hint int64) ([]byte, error) {
	return readCharged(context.Background(), r, limit, hint, nil)
}
