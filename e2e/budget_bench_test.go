package e2e

import (
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// distinctDocs serves, for any name "doc-N", a full packument of about size bytes
// (3,000 old versions with padded manifests), generated as it is written so the server
// holds one shared template rather than a copy per name.
func distinctDocs(size int) http.Handler {
	const versions = 3000
	pad := strings.Repeat("y", size/versions-300)
	old := time.Now().Add(-400 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	sum := sha512.Sum512([]byte("x"))
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if !strings.HasPrefix(name, "doc-") || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		var b strings.Builder
		b.Grow(size + size/8)
		fmt.Fprintf(&b, `{"name":%q,"dist-tags":{"latest":"1.0.%d"},"versions":{`, name, versions-1)
		for i := range versions {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"1.0.%d":{"name":%q,"version":"1.0.%d","description":%q,"dist":{"integrity":%q,"tarball":"http://%s/%s/-/%s-1.0.%d.tgz"}}`,
				i, name, i, pad, integrity, r.Host, name, name, i)
		}
		b.WriteString(`},"time":{`)
		for i := range versions {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"1.0.%d":%q`, i, old)
		}
		b.WriteString("}}")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
		_, _ = io.WriteString(w, b.String())
	})
}

// BenchmarkBudgetRSS replays the security review's memory runs against the real binary
// with default settings: 16 distinct 16 MB documents one after another, then 16 and 32
// of them requested at once, each run in a fresh process. It reports each run's peak
// resident memory and how many requests were answered 200 or 503 (the in-flight budget
// refusing, with Retry-After). The review measured 1.0 GB, 1.8 GB and 3.65 GB before the
// budget; the target is to stay within a 512 MiB container.
//
//	go test -run '^$' -bench BudgetRSS -benchtime 1x ./e2e/
func BenchmarkBudgetRSS(b *testing.B) {
	public := httptest.NewServer(distinctDocs(16 << 20))
	defer public.Close()
	private := httptest.NewServer(http.NotFoundHandler())
	defer private.Close()
	for _, run := range []struct {
		name        string
		docs, width int
	}{
		{"sequential-16", 16, 1},
		{"concurrent-16", 16, 16},
		{"concurrent-32", 32, 32},
	} {
		b.Run(run.name, func(b *testing.B) {
			for range b.N {
				p := startEcluse(b, baseEnv(public.URL, private.URL))
				var mu sync.Mutex
				statuses := map[int]int{}
				sem := make(chan struct{}, run.width)
				var wg sync.WaitGroup
				for i := range run.docs {
					sem <- struct{}{}
					wg.Add(1)
					go func() {
						defer func() { <-sem; wg.Done() }()
						req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/doc-%d", p.URL, i), nil)
						if err != nil {
							b.Error(err)
							return
						}
						req.Header.Set("Accept", "application/vnd.npm.install-v1+json")
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
						if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
							b.Error("503 without Retry-After")
						}
						mu.Lock()
						statuses[resp.StatusCode]++
						mu.Unlock()
					}()
				}
				wg.Wait()
				rss := peakRSS(b, p.cmd.Process.Pid)
				b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
				b.ReportMetric(float64(statuses[http.StatusOK]), "ok")
				b.ReportMetric(float64(statuses[http.StatusServiceUnavailable]), "busy-503")
				if other := run.docs - statuses[http.StatusOK] - statuses[http.StatusServiceUnavailable]; other != 0 {
					b.Errorf("%d answers were neither 200 nor 503: %v\n%s", other, statuses, p.Logs())
				}
				if rss >= 512<<20 {
					b.Errorf("peak RSS %d MB; the target is to stay within a 512 MiB container", rss>>20)
				}
				p.stop()
			}
		})
	}
}
