package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/npm"
)

// The fixture packages. Each has versions on both sides of the default min-age rule.
var (
	// leftPad lives only on the public side; 1.2.0 is too young to be served.
	leftPad = pkgSpec{name: "left-pad", latest: "1.2.0", versions: []pkgVersion{{"1.0.0", oldAge}, {"1.1.0", agedAge}, {"1.2.0", youngAge}}}
	// steady is the public package every health check reads; no fault ever touches it.
	steady = pkgSpec{name: "steady", latest: "2.0.0", versions: []pkgVersion{{"1.0.0", oldAge}, {"1.2.0", agedAge}, {"2.0.0", youngAge}}}
	// corpLib and corpOther are private packages; the public side has look-alikes of
	// the same names (dependency confusion) that must never be served.
	corpLib         = pkgSpec{name: "corp-lib", latest: "1.1.0", versions: []pkgVersion{{"1.0.0", oldAge}, {"1.1.0", youngAge}}}
	corpLibPublic   = pkgSpec{name: "corp-lib", latest: "9.9.9", versions: []pkgVersion{{"9.9.9", oldAge}}}
	corpOther       = pkgSpec{name: "corp-other", latest: "2.0.0", versions: []pkgVersion{{"2.0.0", oldAge}}}
	corpOtherPublic = pkgSpec{name: "corp-other", latest: "9.9.9", versions: []pkgVersion{{"9.9.9", oldAge}}}
)

// served is what a correct answer for a package holds.
type served struct {
	name     string
	source   string   // X-Ecluse-Source
	versions []string // exactly these versions
	latest   string
	absent   []string // versions that must appear nowhere (denied, or from the wrong side)
}

var (
	leftPadServed   = served{name: "left-pad", source: "public", versions: []string{"1.0.0", "1.1.0"}, latest: "1.1.0", absent: []string{"1.2.0"}}
	steadyServed    = served{name: "steady", source: "public", versions: []string{"1.0.0", "1.2.0"}, latest: "1.2.0", absent: []string{"2.0.0"}}
	corpLibServed   = served{name: "corp-lib", source: "private", versions: []string{"1.0.0", "1.1.0"}, latest: "1.1.0", absent: []string{"9.9.9"}}
	corpOtherServed = served{name: "corp-other", source: "private", versions: []string{"2.0.0"}, latest: "2.0.0", absent: []string{"9.9.9"}}
)

// Bounds for a return to baseline, measured with every idle keep-alive connection
// closed (the client's to the proxy, the proxy's to the upstreams), so that a pool
// grown by concurrent requests is not mistaken for a leak.
const (
	goroutineSlack = 3
	heapSlack      = 16 << 20
	settleWithin   = 10 * time.Second
	requestTimeout = 20 * time.Second
)

// harness is the whole request path, built from an environment by Load and buildFront
// exactly as Run builds it, in front of two fake registries, served through httptest.
type harness struct {
	t      testing.TB
	pub    *fakeRegistry
	priv   *fakeRegistry
	proxy  *httptest.Server
	client *http.Client
	logs   *logBuffer
	fresh  atomic.Int64 // names handed out by healthy
}

// defaultEnv is the environment of every harness, before the test's own overrides.
func defaultEnv(pub, priv, proxyURL string) map[string]string {
	return map[string]string{
		"PUBLIC_UPSTREAM_URL":               pub + "/",
		"PRIVATE_UPSTREAM_URL":              priv + "/",
		"PROXY_PUBLIC_URL":                  proxyURL,
		"PROXY_EGRESS_ALLOW_INTERNAL_CIDRS": "127.0.0.0/8",
		"MIRROR_QUEUE_PROVIDER":             "memory",
		"PROXY_MAX_RESPONSE_BYTES":          strconv.Itoa(4 << 20),
		"PROXY_MAX_VERSION_COUNT":           "40",
		"PROXY_MAX_NESTING_DEPTH":           "32",
	}
}

// newHarness builds the proxy in front of fresh fake registries holding the fixtures.
// over adds to or replaces the default environment. When the test ends everything is
// stopped and no goroutine the harness started may be left.
func newHarness(t testing.TB, over map[string]string) *harness {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	h := &harness{t: t, logs: &logBuffer{}}
	t.Cleanup(func() {
		if h.logs.count(logPanic) > 0 {
			t.Errorf("the proxy panicked serving a request (a crash); log:\n%s", h.logs.tail(4<<10))
		} else if t.Failed() {
			t.Logf("proxy log (tail):\n%s", h.logs.tail(4<<10))
		}
	})
	h.pub = newFakeRegistry(t, "public")
	h.priv = newFakeRegistry(t, "private")
	h.pub.publish(leftPad)
	h.pub.publish(steady)
	h.pub.publish(corpLibPublic)
	h.pub.publish(corpOtherPublic)
	h.priv.publish(corpLib)
	h.priv.publish(corpOther)

	h.proxy = httptest.NewUnstartedServer(nil)
	proxyURL := "http://" + h.proxy.Listener.Addr().String()
	env := defaultEnv(h.pub.URL(), h.priv.URL(), proxyURL)
	// An empty directory of advisories: an index that loads and knows nothing.
	env["CVE_SOURCE_URL"] = t.TempDir()
	maps.Copy(env, over)
	l, problems := Load(config.Source{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if len(problems) > 0 {
		t.Fatalf("Load: %v", problems)
	}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	b, err := buildFront(context.Background(), l, log)
	if err != nil {
		t.Fatalf("buildFront: %v", err)
	}
	t.Cleanup(func() { _ = b.mirror.queue.Close() })
	// Run would start the sync in the background; the harness loads the index once,
	// before the first request, so decisions do not race it.
	if err := b.advisories.Sync(context.Background()); err != nil {
		t.Fatalf("advisory sync: %v", err)
	}
	front := b.server
	front.Health().SetReady(true)
	// The front door's own server settings (header timeout, limits), as Run uses them.
	h.proxy.Config = front.HTTPServer(h.proxy.Listener.Addr().String())
	h.proxy.Start()
	t.Cleanup(h.proxy.Close)
	t.Cleanup(func() { h.pub.releaseStalls(); h.priv.releaseStalls() })

	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	h.client = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	t.Cleanup(func() {
		if n := h.pub.credentialLeaks.Load(); n > 0 {
			t.Errorf("%d requests reached the public upstream with a credential, want none", n)
		}
	})
	return h
}

// reply is one answer from the proxy, read to its end.
type reply struct {
	status int
	header http.Header
	body   []byte
	// err is the round trip's error, or the body's (a cut connection).
	err     error
	elapsed time.Duration
}

// Accept headers.
const (
	acceptFull = "application/json"
	acceptNPM  = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
)

// do sends GET path with accept and reads the whole answer. ctx bounds it.
func (h *harness) do(ctx context.Context, path, accept string) reply {
	return h.doWith(ctx, h.client, path, accept)
}

// doWith is do through another client.
func (h *harness) doWith(ctx context.Context, client *http.Client, path, accept string) reply {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.proxy.URL+path, nil)
	if err != nil {
		h.t.Fatalf("build request for %s: %v", path, err)
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		return reply{err: err, elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: body, err: err, elapsed: time.Since(start)}
}

// get sends GET path for the full document form, bounded by requestTimeout.
func (h *harness) get(path string) reply {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	return h.do(ctx, path, acceptFull)
}

// describe summarises a reply for failure messages.
func (r reply) describe() string {
	if r.status == 0 {
		return fmt.Sprintf("no response (%v) after %s", r.err, r.elapsed.Round(time.Millisecond))
	}
	body := r.body
	if len(body) > 300 {
		body = append(body[:300:300], "…"...)
	}
	s := fmt.Sprintf("status %d, %d bytes %q", r.status, len(r.body), body)
	if r.err != nil {
		s += fmt.Sprintf(", body error %v", r.err)
	}
	return s
}

// errorMessage checks that r is a complete JSON error {"error": "..."} and returns its
// message; problems are returned as a non-empty second value.
func errorMessage(r reply) (string, string) {
	if r.err != nil {
		return "", "the error response was cut: " + r.err.Error()
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return "", fmt.Sprintf("Content-Type %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		return "", fmt.Sprintf("body is not JSON: %v", err)
	}
	msg, ok := body["error"].(string)
	if !ok || strings.TrimSpace(msg) == "" || len(body) != 1 {
		return "", `body is not {"error": "<message>"}`
	}
	return msg, ""
}

// wantJSONError asserts that r is a clear JSON error with one of statuses, naming the
// package (when name is set) and not leaking either upstream's address.
func (h *harness) wantJSONError(r reply, name string, statuses ...int) {
	h.t.Helper()
	if !slices.Contains(statuses, r.status) {
		h.t.Errorf("got %s, want a JSON error with status %v", r.describe(), statuses)
		return
	}
	msg, problem := errorMessage(r)
	if problem != "" {
		h.t.Errorf("status %d: %s (%s)", r.status, problem, r.describe())
		return
	}
	if name != "" && !strings.Contains(msg, name) {
		h.t.Errorf("error %q does not name the package %s", msg, name)
	}
	for _, addr := range []string{h.pub.addr, h.priv.addr} {
		if strings.Contains(msg, addr) {
			h.t.Errorf("error %q leaks an upstream address", msg)
		}
	}
}

// packumentBody is the part of a served document the checks read.
type packumentBody struct {
	Name     string            `json:"name"`
	DistTags map[string]string `json:"dist-tags"`
	Versions map[string]struct {
		Version string `json:"version"`
		Dist    struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
	} `json:"versions"`
	Time map[string]string `json:"time"`
}

// docProblems returns what is wrong with a served document, or "" when it is exactly
// what want describes: the admitted versions only, repaired tags, rewritten tarballs.
func docProblems(r reply, want served, proxyURL string, abbreviated bool) string {
	if r.err != nil || r.status != http.StatusOK {
		return "got " + r.describe() + ", want 200"
	}
	var doc packumentBody
	if err := json.Unmarshal(r.body, &doc); err != nil {
		return fmt.Sprintf("served document is not JSON: %v", err)
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if doc.Name != want.name {
		add("name %q, want %q", doc.Name, want.name)
	}
	if src := r.header.Get("X-Ecluse-Source"); src != want.source {
		add("X-Ecluse-Source %q, want %q", src, want.source)
	}
	got := slices.Sorted(maps.Keys(doc.Versions))
	if !slices.Equal(got, want.versions) {
		add("versions %v, want %v", got, want.versions)
	}
	for _, v := range want.absent {
		if _, ok := doc.Time[v]; ok {
			add("time lists %s, which must not be served", v)
		}
		for tag, tv := range doc.DistTags {
			if tv == v {
				add("dist-tag %s points at %s, which must not be served", tag, v)
			}
		}
		if bytes.Contains(r.body, []byte(`"`+v+`"`)) {
			add("the body mentions %s, which must not be served", v)
		}
	}
	if doc.DistTags["latest"] != want.latest {
		add("latest %q, want %q", doc.DistTags["latest"], want.latest)
	}
	for v, m := range doc.Versions {
		if wantURL := proxyURL + npm.TarballPath(want.name, v); m.Dist.Tarball != wantURL {
			add("%s tarball %q, want %q", v, m.Dist.Tarball, wantURL)
		}
	}
	if !abbreviated && len(doc.Time) == 0 {
		add("time is missing from the full document")
	}
	return strings.Join(problems, "; ")
}

// wantServed asserts that r is the correct, filtered document.
func (h *harness) wantServed(r reply, want served) {
	h.t.Helper()
	if p := docProblems(r, want, h.proxy.URL, false); p != "" {
		h.t.Errorf("GET /%s: %s", want.name, p)
	}
}

// wantServedAbbreviated asserts that r is the correct, filtered abbreviated document.
func (h *harness) wantServedAbbreviated(r reply, want served) {
	h.t.Helper()
	if p := docProblems(r, want, h.proxy.URL, true); p != "" {
		h.t.Errorf("GET /%s (abbreviated): %s", want.name, p)
	}
}

// wantTarball asserts that r is the complete tarball origin serves for name@version.
func (h *harness) wantTarball(r reply, origin, name, version string) {
	h.t.Helper()
	want := tarballBytes(origin, name, version)
	if r.err != nil || r.status != http.StatusOK {
		h.t.Errorf("GET tarball %s@%s: got %s, want 200", name, version, r.describe())
		return
	}
	if !bytes.Equal(r.body, want) {
		h.t.Errorf("GET tarball %s@%s: got %d bytes that are not the %s registry's %d", name, version, len(r.body), origin, len(want))
	}
}

// wantCut asserts that a tarball whose upstream failed mid-stream never reached the
// client as a complete body: either the connection was cut (a body error) or the proxy
// answered with a JSON error before any byte. (A cut body may hold every true byte when
// the upstream announced more than it had: the error is what tells the client.)
func (h *harness) wantCut(r reply, origin, name, version string) {
	h.t.Helper()
	switch {
	case r.status == 0:
		h.t.Errorf("tarball %s@%s: %s, want a response (cut or error)", name, version, r.describe())
	case r.status != http.StatusOK:
		h.wantJSONError(r, name, http.StatusBadGateway)
	case r.err == nil:
		h.t.Errorf("tarball %s@%s: the client got a complete body of %d bytes from a faulted upstream; the connection must be cut", name, version, len(r.body))
	}
}

// healthy asserts that the proxy serves normal requests correctly: probes, a cached
// and a never-seen public document, an admitted tarball, and refusals of a young one.
func (h *harness) healthy() {
	h.t.Helper()
	if r := h.get("/-/ping"); r.err != nil || r.status != http.StatusOK {
		h.t.Errorf("GET /-/ping: got %s, want 200", r.describe())
	}
	if r := h.get("/readyz"); r.err != nil || r.status != http.StatusOK {
		h.t.Errorf("GET /readyz: got %s, want 200", r.describe())
	}
	h.wantServed(h.get("/steady"), steadyServed)
	h.wantTarball(h.get(npm.TarballPath("steady", "1.2.0")), "public", "steady", "1.2.0")
	young := tarballPathOf("steady", "2.0.0")
	before := h.pub.hitCount(young)
	h.wantJSONError(h.get(npm.TarballPath("steady", "2.0.0")), "steady", http.StatusForbidden)
	if n := h.pub.hitCount(young) - before; n != 0 {
		h.t.Errorf("a denied tarball was fetched from the public upstream %d times, want 0", n)
	}
	h.wantJSONError(h.get("/steady/2.0.0"), "steady", http.StatusNotFound)

	// A name never asked for before goes all the way to both upstreams.
	p := pkgSpec{name: fmt.Sprintf("fresh-%d", h.fresh.Add(1)), latest: "3.0.0", versions: []pkgVersion{{"1.0.0", oldAge}, {"3.0.0", youngAge}}}
	h.pub.publish(p)
	h.wantServed(h.get("/"+p.name), served{name: p.name, source: "public", versions: []string{"1.0.0"}, latest: "1.0.0", absent: []string{"3.0.0"}})
}

// usage is the process's goroutine count and live heap at one moment.
type usage struct {
	goroutines int
	heap       uint64 // live heap (HeapAlloc)
	heapInuse  uint64 // heap spans in use (HeapInuse), for comparison with samples
}

// measure collects garbage and reads the goroutine count and the live heap. Two
// collections: the parser's scratch sits in sync.Pools that survive one.
func measure() usage {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc, heapInuse: ms.HeapInuse}
}

// baseline warms the proxy up (pooled connections, caches of the steady package) and
// returns the usage to come back to.
func (h *harness) baseline() usage {
	h.t.Helper()
	h.healthy()
	h.dropIdle()
	return waitGoroutines(h.t, -1, 0)
}

// dropIdle closes every idle keep-alive connection on the request path.
func (h *harness) dropIdle() {
	h.client.CloseIdleConnections()
	h.pub.dropIdle()
	h.priv.dropIdle()
}

// settle asserts that goroutines and the live heap come back to base once every idle
// connection is closed.
func (h *harness) settle(base usage) {
	h.t.Helper()
	h.settleWithin(base, 0)
}

// settleWithin is settle allowing the live heap to keep extra bytes (what the caches may
// rightly hold).
func (h *harness) settleWithin(base usage, extra uint64) {
	h.t.Helper()
	h.dropIdle()
	now := waitGoroutines(h.t, base.goroutines, goroutineSlack)
	if bound := base.heap + heapSlack + extra; now.heap > bound {
		h.t.Errorf("live heap %d MiB after the case, want at most %d MiB (baseline %d MiB + %d MiB)",
			now.heap>>20, bound>>20, base.heap>>20, (heapSlack+extra)>>20)
	}
}

// waitGoroutines polls until the goroutine count is at most want+slack, or settleWithin
// passes, and returns the last usage. want < 0 asks for the count it settles at: the
// same over several polls in a row.
func waitGoroutines(t testing.TB, want, slack int) usage {
	t.Helper()
	deadline := time.Now().Add(settleWithin)
	last, steady := measure(), 0
	for {
		if want >= 0 && last.goroutines <= want+slack {
			return last
		}
		if want < 0 && steady >= 3 {
			return last
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
		cur := measure()
		if cur.goroutines == last.goroutines {
			steady++
		} else {
			steady = 0
		}
		last = cur
	}
	if want >= 0 {
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Errorf("%d goroutines %s after the case, want at most %d (baseline %d + %d); goroutines:\n%s",
			last.goroutines, settleWithin, want+slack, want, slack, clip(buf.String(), 12<<10))
	}
	return last
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n…"
}

// pollUntil calls check until it returns "" or within passes; it fails with the last
// problem.
func pollUntil(t testing.TB, within time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		p := check()
		if p == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s within %s: %s", what, within, p)
			return
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// isDeadline reports whether err is the client's own deadline ending the request.
func isDeadline(err error) bool {
	return errors.Is(err, context.DeadlineExceeded)
}

// Log messages the checks count.
const (
	logPanic             = `"panic serving request"`
	logIntegrityMismatch = `"tarball integrity mismatch`
)

// logBuffer is a concurrency-safe sink for the proxy's JSON log. It keeps the last
// MiB for failure messages and counts the lines that hold each marker above.
type logBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen map[string]int
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range []string{logPanic, logIntegrityMismatch} {
		if bytes.Contains(p, []byte(m)) {
			if b.seen == nil {
				b.seen = map[string]int{}
			}
			b.seen[m]++
		}
	}
	if b.buf.Len() > 2<<20 {
		keep := bytes.Clone(b.buf.Bytes()[b.buf.Len()-(1<<20):])
		b.buf.Reset()
		b.buf.Write(keep)
	}
	return b.buf.Write(p)
}

// count returns how many log lines held marker.
func (b *logBuffer) count(marker string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[marker]
}

func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}
