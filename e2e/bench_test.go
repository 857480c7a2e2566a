package e2e

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bigBody streams n deterministic bytes without holding them.
type bigBody struct {
	n, off int64
}

func (b *bigBody) Read(p []byte) (int, error) {
	if b.off >= b.n {
		return 0, io.EOF
	}
	if rem := b.n - b.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	for i := range p {
		p[i] = byte((b.off + int64(i)) * 2654435761 >> 13)
	}
	b.off += int64(len(p))
	return len(p), nil
}

// peakRSS reads the high-water mark of a process's resident set, in bytes.
func peakRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatalf("read /proc status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				tb.Fatalf("parse VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM in /proc status")
	return 0
}

// BenchmarkLargeTarballRSS streams a 200 MB public tarball through the real binary and
// reports the proxy's peak resident memory. The target is under 64 MB: the artifact is
// hashed as it streams and never buffered whole.
//
//	go test -run '^$' -bench LargeTarballRSS -benchtime 1x ./e2e/
func BenchmarkLargeTarballRSS(b *testing.B) {
	// A real package tarball (Écluse reads each one as it streams), its 200 MB file
	// stored uncompressed.
	tgz := packageTarball(b, "big", "1.0.0", &bigBody{n: 200 << 20})
	size := len(tgz)
	sum := sha512.Sum512(tgz)
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])

	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			published := time.Now().Add(-30 * 24 * time.Hour).UTC().Format(time.RFC3339)
			doc := map[string]any{
				"name": "big", "dist-tags": map[string]string{"latest": "1.0.0"},
				"time": map[string]string{"created": published, "modified": published, "1.0.0": published},
				"versions": map[string]any{"1.0.0": map[string]any{
					"name": "big", "version": "1.0.0",
					"dist": map[string]string{"integrity": integrity, "tarball": "http://" + r.Host + "/big/-/big-1.0.0.tgz"},
				}},
			}
			_ = json.NewEncoder(w).Encode(doc)
		case "/big/-/big-1.0.0.tgz":
			w.Header().Set("Content-Length", strconv.Itoa(size))
			_, _ = w.Write(tgz)
		default:
			http.NotFound(w, r)
		}
	}))
	defer public.Close()
	private := httptest.NewServer(http.NotFoundHandler())
	defer private.Close()

	p := startEcluse(b, baseEnv(public.URL, private.URL))
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		resp, err := http.Get(p.URL + "/big/-/big-1.0.0.tgz")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != int64(size) || resp.StatusCode != http.StatusOK {
			b.Fatalf("streamed %d bytes, status %d, err %v; want %d bytes", n, resp.StatusCode, err, size)
		}
	}
	b.StopTimer()
	rss := peakRSS(b, p.cmd.Process.Pid)
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
	if rss >= 64<<20 {
		b.Errorf("peak RSS %d MB while streaming a 200 MB tarball; the target is under 64 MB", rss>>20)
	}
}
