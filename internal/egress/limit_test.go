package egress

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLimitReader(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		max     int64
		want    string
		tooLong bool
	}{
		{name: "under", body: "abc", max: 10, want: "abc"},
		{name: "exact", body: "abcdefghij", max: 10, want: "abcdefghij"},
		{name: "one over", body: "abcdefghijk", max: 10, want: "abcdefghij", tooLong: true},
		{name: "far over", body: strings.Repeat("x", 1<<16), max: 100, want: strings.Repeat("x", 100), tooLong: true},
		{name: "zero limit, empty body", body: "", max: 0, want: ""},
		{name: "zero limit", body: "a", max: 0, want: "", tooLong: true},
		{name: "negative limit", body: "a", max: -5, want: "", tooLong: true},
	}
	for _, tc := range tests {
		for _, oneByte := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "", true: "/one byte reads"}[oneByte], func(t *testing.T) {
				var r io.Reader = strings.NewReader(tc.body)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				got, err := io.ReadAll(LimitReader(io.NopCloser(r), tc.max))
				if string(got) != tc.want {
					t.Errorf("read %d bytes, want %d", len(got), len(tc.want))
				}
				if tc.tooLong {
					var tl *TooLargeError
					if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.Limit != max(tc.max, 0) {
						t.Errorf("LimitReader error = %v, want a TooLargeError with limit %d", err, max(tc.max, 0))
					}
				} else if err != nil {
					t.Errorf("LimitReader error = %v, want nil", err)
				}
			})
		}
	}
}

func TestLimitReaderIsSticky(t *testing.T) {
	r := LimitReader(io.NopCloser(strings.NewReader("abcdef")), 2)
	_, _ = io.ReadAll(r)
	if n, err := r.Read(make([]byte, 4)); n != 0 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("Read after the limit = %d, %v, want 0, ErrTooLarge", n, err)
	}
}

// gzipBomb is 16 MiB of zeros, gzipped to a few KiB.
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for range 16 {
		if _, err := zw.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGzipBombIsOverTheLimit serves a small gzip body that inflates far past the
// limit. The guarded client inflates it, so the limit sees decoded bytes, even when
// the caller asked for gzip itself.
func TestGzipBombIsOverTheLimit(t *testing.T) {
	const limit = 1 << 20
	bomb := gzipBomb(t)
	if len(bomb) >= limit {
		t.Fatalf("bomb is %d bytes compressed, want under the %d byte limit", len(bomb), limit)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "gzip only", http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bomb)
	}))
	t.Cleanup(srv.Close)
	g := newGuard(t, Options{
		AllowedHosts:  []string{hostPort(registryHost, serverPort(t, srv))},
		AllowInternal: loopbackOnly,
		Resolver:      newResolver(t, resolvesTo("127.0.0.1")),
	})
	u := "http://" + hostPort(registryHost, serverPort(t, srv)) + "/bomb"

	for _, callerAsks := range []string{"", "gzip", "identity"} {
		t.Run("Accept-Encoding="+callerAsks, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			if callerAsks != "" {
				req.Header.Set("Accept-Encoding", callerAsks)
			}
			resp, err := g.Client().Do(req)
			if err != nil {
				t.Fatalf("GET = %v", err)
			}
			body := LimitReader(resp.Body, limit)
			defer body.Close()
			if resp.StatusCode != http.StatusOK || !resp.Uncompressed {
				t.Fatalf("status %d, Uncompressed %v, want 200 and a body decoded by the transport", resp.StatusCode, resp.Uncompressed)
			}
			n, err := io.Copy(io.Discard, body)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("reading the bomb = %d bytes, %v, want ErrTooLarge", n, err)
			}
			if n != limit {
				t.Errorf("read %d bytes before the error, want %d", n, limit)
			}
		})
	}
}
