package advisory

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
)

// testWait bounds every wait in these tests.
const testWait = 15 * time.Second

// osvRecord is a valid OSV record of an npm advisory on name, fixed in fixed.
func osvRecord(id, name, fixed string) []byte {
	return fmt.Appendf(nil, `{"schema_version":"1.6.0","id":%q,"modified":"2024-01-01T00:00:00Z",`+
		`"published":"2023-12-01T00:00:00Z","summary":"test advisory %s",`+
		`"affected":[{"package":{"ecosystem":"npm","name":%q},`+
		`"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":%q}]}]}]}`,
		id, id, name, fixed)
}

// zipEntry is one file of a test export.
type zipEntry struct {
	name string
	data []byte
}

// buildZip builds an export zip holding entries, in order.
func buildZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// exportOne and exportTwo are two generations of a test export.
func exportOne(t testing.TB) []byte {
	return buildZip(t, zipEntry{"GHSA-aaaa-bbbb-cccc.json", osvRecord("GHSA-aaaa-bbbb-cccc", "left-pad", "1.0.1")})
}

func exportTwo(t testing.TB) []byte {
	return buildZip(t,
		zipEntry{"GHSA-aaaa-bbbb-cccc.json", osvRecord("GHSA-aaaa-bbbb-cccc", "left-pad", "1.0.1")},
		zipEntry{"GHSA-dddd-eeee-ffff.json", osvRecord("GHSA-dddd-eeee-ffff", "right-pad", "2.0.0")},
	)
}

// exportServer serves one export zip with an ETag and a Last-Modified, answering 304
// to a request whose validators match. fail, when set, answers instead.
type exportServer struct {
	mu          sync.Mutex
	body        []byte
	etag        string
	modified    time.Time
	fail        http.HandlerFunc
	requests    []http.Header
	full        int // 200 answers with the export
	notModified int // 304 answers
}

func (e *exportServer) set(body []byte, modified time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	sum := sha256.Sum256(body)
	e.body, e.etag, e.modified = body, fmt.Sprintf(`"%x"`, sum[:8]), modified
}

func (e *exportServer) failWith(h http.HandlerFunc) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = h
}

// counts returns the 200 and 304 answers so far.
func (e *exportServer) counts() (full, notModified int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.full, e.notModified
}

// lastRequest returns the headers of the last request received.
func (e *exportServer) lastRequest() http.Header {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.requests) == 0 {
		return nil
	}
	return e.requests[len(e.requests)-1]
}

func (e *exportServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.requests = append(e.requests, r.Header.Clone())
	fail, body, etag, modified := e.fail, e.body, e.etag, e.modified
	e.mu.Unlock()
	if fail != nil {
		fail(w, r)
		return
	}
	if r.Header.Get("If-None-Match") == etag {
		e.mu.Lock()
		e.notModified++
		e.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	e.mu.Lock()
	e.full++
	e.mu.Unlock()
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the records logged with message msg.
func (b *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// fixture is a syncer over one export server, with its clock, logs and spool dir.
type fixture struct {
	srv   *httptest.Server
	exp   *exportServer
	sync  *Syncer
	clock *testClock
	logs  *logBuffer
	spool string
}

// newFixture starts an export server serving exportOne and a syncer over it; adjust
// may change the options before NewSyncer.
func newFixture(t *testing.T, adjust func(*SyncOptions)) *fixture {
	t.Helper()
	f := &fixture{exp: &exportServer{}, clock: newTestClock(), logs: &logBuffer{}, spool: t.TempDir()}
	f.exp.set(exportOne(t), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC))
	f.srv = httptest.NewTLSServer(f.exp)
	t.Cleanup(f.srv.Close)
	opts := SyncOptions{
		Sources:    []string{f.srv.URL + "/osv/all.zip?sig=s3cr3t"},
		Ecosystems: []string{EcosystemNPM},
		Client:     f.srv.Client(),
		SpoolDir:   f.spool,
		Logger:     slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        f.clock.Now,
	}
	if adjust != nil {
		adjust(&opts)
	}
	s, err := NewSyncer(opts)
	if err != nil {
		t.Fatalf("NewSyncer() = %v", err)
	}
	f.sync = s
	return f
}

// syncCtx is the context of one Sync in a test.
func syncCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testWait)
	t.Cleanup(cancel)
	return ctx
}

// assertSpoolEmpty fails when a spool file outlived its round.
func assertSpoolEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("spool dir holds %s after the round", e.Name())
	}
}

// advisoryIDs returns the ids of the advisories snap holds on an npm package.
func advisoryIDs(snap *Snapshot, name string) []string {
	var ids []string
	for _, m := range snap.Package(EcosystemNPM, name) {
		ids = append(ids, m.Advisory.ID)
	}
	return ids
}

func TestSyncURLFirstLoad(t *testing.T) {
	f := newFixture(t, nil)
	if snap := f.sync.Snapshot(); snap != nil {
		t.Fatalf("Snapshot() before a round = generation %d, want nil", snap.Generation())
	}
	if st := f.sync.Status(); st.Loaded || st.Rounds != 0 || st.Age(f.clock.Now()) != 0 {
		t.Fatalf("Status() before a round = %+v, want empty", st)
	}
	if err := f.sync.Sync(syncCtx(t)); err != nil {
		t.Fatalf("Sync() = %v", err)
	}
	assertSpoolEmpty(t, f.spool)

	snap := f.sync.Snapshot()
	if snap == nil {
		t.Fatal("Snapshot() after a good round = nil")
	}
	if snap.Generation() != 1 || snap.Records() != 1 || !snap.Built().Equal(f.clock.Now()) {
		t.Errorf("snapshot = generation %d, %d records, built %v; want 1, 1, %v", snap.Generation(), snap.Records(), snap.Built(), f.clock.Now())
	}
	if got := advisoryIDs(snap, "left-pad"); len(got) != 1 || got[0] != "GHSA-aaaa-bbbb-cccc" {
		t.Errorf("Package(npm, left-pad) ids = %v, want [GHSA-aaaa-bbbb-cccc]", got)
	}

	h := f.exp.lastRequest()
	if got := h.Get("User-Agent"); got != "ecluse" {
		t.Errorf("User-Agent = %q, want ecluse", got)
	}
	for _, k := range []string{"If-None-Match", "If-Modified-Since", "Authorization", "Cookie"} {
		if v := h.Get(k); v != "" {
			t.Errorf("first request sent %s: %q, want none", k, v)
		}
	}

	st := f.sync.Status()
	want := SourceStatus{
		Source:       f.srv.URL + "/osv/all.zip",
		Records:      1,
		ETag:         f.exp.etag,
		LastModified: "Sat, 01 Feb 2025 00:00:00 GMT",
		Fetched:      f.clock.Now(),
	}
	if !st.Loaded || st.Generation != 1 || st.Records != 1 || st.Rounds != 1 || st.Failures != 0 || st.LastError != "" ||
		!st.LastSuccess.Equal(f.clock.Now()) || len(st.Sources) != 1 || st.Sources[0] != want {
		t.Errorf("Status() = %+v, want loaded generation 1 with source %+v", st, want)
	}
	f.clock.Advance(time.Minute)
	if got := f.sync.Status().Age(f.clock.Now()); got != time.Minute {
		t.Errorf("Status().Age(now) = %v, want 1m0s", got)
	}

	loaded := f.logs.lines(t, "advisory index loaded")
	if len(loaded) != 1 {
		t.Fatalf("%d %q log lines, want 1", len(loaded), "advisory index loaded")
	}
	for _, k := range []string{"generation", "records", "sources", "changed_sources", "took_ms"} {
		if _, ok := loaded[0][k]; !ok {
			t.Errorf("advisory index loaded log line = %v, lacks %s", loaded[0], k)
		}
	}
	if strings.Contains(f.logs.buf.String(), "s3cr3t") {
		t.Errorf("logs = %s, leak the query", f.logs.buf.String())
	}
}

func TestSyncURLUnchanged(t *testing.T) {
	f := newFixture(t, nil)
	ctx := syncCtx(t)
	if err := f.sync.Sync(ctx); err != nil {
		t.Fatalf("first Sync() = %v", err)
	}
	first := f.sync.Snapshot()
	fetched := f.clock.Now()
	f.clock.Advance(time.Hour)

	if err := f.sync.Sync(ctx); err != nil {
		t.Fatalf("second Sync() = %v", err)
	}
	h := f.exp.lastRequest()
	if got := h.Get("If-None-Match"); got != f.exp.etag {
		t.Errorf("If-None-Match = %q, want %q", got, f.exp.etag)
	}
	if got := h.Get("If-Modified-Since"); got != "Sat, 01 Feb 2025 00:00:00 GMT" {
		t.Errorf("If-Modified-Since = %q, want the Last-Modified received", got)
	}
	if full, nm := f.exp.counts(); full != 1 || nm != 1 {
		t.Errorf("server answered %d full and %d not-modified, want 1 and 1", full, nm)
	}
	if got := f.sync.Snapshot(); got != first {
		t.Errorf("Snapshot() after an unchanged round = generation %d, want the same snapshot", got.Generation())
	}
	st := f.sync.Status()
	if st.Generation != 1 || st.Unchanged != 1 || st.Rounds != 2 || !st.LastSuccess.Equal(f.clock.Now()) ||
		!st.Sources[0].Fetched.Equal(fetched) {
		t.Errorf("Status() = %+v, want generation 1, 1 unchanged of 2 rounds, fetched at %v", st, fetched)
	}
	if got := f.logs.lines(t, "advisory index unchanged"); len(got) != 1 {
		t.Errorf("%d unchanged log lines, want 1", len(got))
	}
	assertSpoolEmpty(t, f.spool)
}

func TestSyncURLChanged(t *testing.T) {
	f := newFixture(t, nil)
	ctx := syncCtx(t)
	if err := f.sync.Sync(ctx); err != nil {
		t.Fatalf("first Sync() = %v", err)
	}
	f.exp.set(exportTwo(t), time.Date(2025, 2, 2, 0, 0, 0, 0, time.UTC))
	f.clock.Advance(time.Hour)
	if err := f.sync.Sync(ctx); err != nil {
		t.Fatalf("second Sync() = %v", err)
	}
	snap := f.sync.Snapshot()
	if snap.Generation() != 2 || snap.Records() != 2 || !snap.Built().Equal(f.clock.Now()) {
		t.Errorf("snapshot = generation %d with %d records, want 2 with 2", snap.Generation(), snap.Records())
	}
	if got := advisoryIDs(snap, "right-pad"); len(got) != 1 || got[0] != "GHSA-dddd-eeee-ffff" {
		t.Errorf("Package(npm, right-pad) ids = %v, want [GHSA-dddd-eeee-ffff]", got)
	}
	if full, _ := f.exp.counts(); full != 2 {
		t.Errorf("server answered %d full, want 2", full)
	}
	st := f.sync.Status()
	if st.Unchanged != 0 || st.Sources[0].Records != 2 || st.Sources[0].ETag != f.exp.etag ||
		st.Sources[0].LastModified != "Sun, 02 Feb 2025 00:00:00 GMT" {
		t.Errorf("Status() = %+v, want the new export's validators and 2 records", st)
	}
}

// blockUntilGone writes headers (and a first byte) then waits for the client to leave.
func blockUntilGone(release <-chan struct{}, header func(http.Header)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		header(w.Header())
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("P"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

func TestSyncURLFailureKeepsLastGood(t *testing.T) {
	hostile := strings.Repeat("\x1b[31mBOOM\x00\r\n<b>é\xff", 1<<16)
	partial := osvRecord("GHSA-gggg-hhhh-iiii", "left-pad", "1.0.1")
	tests := []struct {
		name string
		// fail answers instead of the export; release is closed when the test ends.
		fail func(t *testing.T, release <-chan struct{}) http.HandlerFunc
		// down closes the server instead.
		down bool
		// check examines the round's error.
		check func(t *testing.T, err error)
	}{
		{
			name: "corrupt zip",
			fail: func(*testing.T, <-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					_, _ = io.WriteString(w, "this is not a zip file at all")
				}
			},
		},
		{
			name: "partial record",
			fail: func(t *testing.T, _ <-chan struct{}) http.HandlerFunc {
				body := buildZip(t,
					zipEntry{"GHSA-aaaa-bbbb-cccc.json", osvRecord("GHSA-aaaa-bbbb-cccc", "left-pad", "1.0.1")},
					zipEntry{"GHSA-gggg-hhhh-iiii.json", partial[:len(partial)/2]},
				)
				return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }
			},
		},
		{
			name: "truncated body",
			fail: func(t *testing.T, _ <-chan struct{}) http.HandlerFunc {
				body := exportTwo(t)
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
					_, _ = w.Write(body[:len(body)/2])
				}
			},
		},
		{
			name: "server down",
			down: true,
		},
		{
			name: "announced oversize",
			fail: func(_ *testing.T, release <-chan struct{}) http.HandlerFunc {
				return blockUntilGone(release, func(h http.Header) { h.Set("Content-Length", strconv.Itoa(1<<30)) })
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrDownloadTooLarge) || !strings.Contains(err.Error(), "announced") {
					t.Errorf("Sync() = %v, want ErrDownloadTooLarge refused on the announced length", err)
				}
			},
		},
		{
			name: "unannounced oversize",
			// An endless body: only the bound ends the download.
			fail: func(_ *testing.T, release <-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					chunk := bytes.Repeat([]byte("z"), 1024)
					for {
						if _, err := w.Write(chunk); err != nil {
							return
						}
						w.(http.Flusher).Flush()
						select {
						case <-r.Context().Done():
							return
						case <-release:
							return
						default:
						}
					}
				}
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrDownloadTooLarge) {
					t.Errorf("Sync() = %v, want ErrDownloadTooLarge", err)
				}
			},
		},
		{
			name: "server error with a huge hostile body",
			fail: func(*testing.T, <-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(http.StatusInternalServerError)
					_, _ = io.WriteString(w, hostile)
				}
			},
			check: func(t *testing.T, err error) {
				var se *StatusError
				if !errors.As(err, &se) || se.Status != http.StatusInternalServerError {
					t.Fatalf("Sync() = %v, want a *StatusError with status 500", err)
				}
				if len(se.Body) > maxQuotedBody || !strings.HasPrefix(se.Body, "[31mBOOM <b>é [31mBOOM") {
					t.Errorf("StatusError.Body = %q (%d bytes), want the start of the body, clipped", se.Body, len(se.Body))
				}
				if strings.ContainsFunc(se.Body, func(r rune) bool { return !unicode.IsPrint(r) }) {
					t.Errorf("StatusError.Body = %q, holds unprintable characters", se.Body)
				}
				if len(err.Error()) > 600 {
					t.Errorf("len(Sync().Error()) = %d, want the body clipped", len(err.Error()))
				}
			},
		},
		{
			name: "not found",
			fail: func(*testing.T, <-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
			},
			check: func(t *testing.T, err error) {
				var se *StatusError
				if !errors.As(err, &se) || se.Status != http.StatusNotFound {
					t.Errorf("Sync() = %v, want a *StatusError with status 404", err)
				}
			},
		},
		{
			name: "redirect to plain http",
			fail: func(t *testing.T, _ <-chan struct{}) http.HandlerFunc {
				plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(exportTwo(t)) }))
				t.Cleanup(plain.Close)
				return func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, plain.URL+"/all.zip", http.StatusFound)
				}
			},
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "only https") {
					t.Errorf("Sync() = %v, want a refused redirect", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *SyncOptions) { o.MaxDownloadBytes = 16 << 10 })
			ctx := syncCtx(t)
			if err := f.sync.Sync(ctx); err != nil {
				t.Fatalf("first Sync() = %v", err)
			}
			good := f.sync.Snapshot()
			goodETag := f.exp.etag

			if tt.down {
				f.srv.Close()
			} else {
				release := make(chan struct{})
				t.Cleanup(func() { close(release) })
				f.exp.failWith(tt.fail(t, release))
			}
			f.clock.Advance(time.Hour)
			err := f.sync.Sync(ctx)
			if err == nil {
				t.Fatal("Sync() = nil, want an error")
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			name := f.srv.URL + "/osv/all.zip"
			if !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("Sync() = %v, want it to name %s without its query", err, name)
			}
			assertSpoolEmpty(t, f.spool)
			if got := f.sync.Snapshot(); got != good {
				t.Errorf("Snapshot() after a failed round = generation %d, want the last good one", got.Generation())
			}
			st := f.sync.Status()
			if !st.Loaded || st.Generation != 1 || st.LastError != err.Error() || st.Failures != 1 ||
				st.ConsecutiveFailures != 1 || st.Rounds != 2 || !st.LastAttempt.Equal(f.clock.Now()) ||
				st.LastSuccess.Equal(f.clock.Now()) {
				t.Errorf("Status() = %+v, want generation 1 kept and the failure reported", st)
			}
			if src := st.Sources[0]; src.LastError == "" || src.ETag != goodETag || src.Records != 1 {
				t.Errorf("Status().Sources[0] = %+v, want the error and the last good state", src)
			}
			warned := f.logs.lines(t, "advisory sync failed")
			if len(warned) != 1 || warned[0]["consecutive_failures"] != 1.0 || warned[0]["retry_in_ms"] != 30000.0 {
				t.Errorf("advisory sync failed log lines = %v, want one with consecutive_failures and retry_in_ms", warned)
			}
			if tt.down {
				return
			}

			// The server recovers: the retry is conditional again (the failed round
			// left the last good validators in place) and changes nothing.
			f.exp.failWith(nil)
			if err := f.sync.Sync(ctx); err != nil {
				t.Fatalf("Sync() after recovery = %v", err)
			}
			if got := f.exp.lastRequest().Get("If-None-Match"); got != goodETag {
				t.Errorf("If-None-Match after a failure = %q, want %q", got, goodETag)
			}
			st = f.sync.Status()
			if f.sync.Snapshot() != good || st.LastError != "" || st.ConsecutiveFailures != 0 || st.Failures != 1 ||
				st.Unchanged != 1 || st.Sources[0].LastError != "" {
				t.Errorf("Status() after recovery = %+v, want the same snapshot and no error", st)
			}
			assertSpoolEmpty(t, f.spool)
		})
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSyncShortBodyFromTransport checks the length against Content-Length itself,
// whatever the client's transport does.
func TestSyncShortBodyFromTransport(t *testing.T) {
	body := exportOne(t)
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode:    http.StatusOK,
			Header:        http.Header{},
			Body:          io.NopCloser(bytes.NewReader(body[:len(body)-10])),
			ContentLength: int64(len(body)),
			Request:       r,
		}, nil
	})}
	spool := t.TempDir()
	s, err := NewSyncer(SyncOptions{
		Sources:    []string{"https://osv.example/all.zip"},
		Ecosystems: []string{EcosystemNPM},
		Client:     client,
		SpoolDir:   spool,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(syncCtx(t)); !errors.Is(err, ErrDownloadTruncated) {
		t.Errorf("Sync() = %v, want ErrDownloadTruncated", err)
	}
	if s.Snapshot() != nil {
		t.Error("Snapshot() after a failed first round != nil")
	}
	assertSpoolEmpty(t, spool)
}

func TestSyncCancelDuringDownload(t *testing.T) {
	f := newFixture(t, nil)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	started := make(chan struct{}, 1)
	block := blockUntilGone(release, func(h http.Header) { h.Set("Content-Length", "4096") })
	f.exp.failWith(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		block(w, r)
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.sync.Sync(ctx) }()
	select {
	case <-started:
	case <-time.After(testWait):
		t.Fatal("the download never started")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Sync() = %v, want context.Canceled", err)
		}
	case <-time.After(testWait):
		t.Fatal("Sync() did not return after its context was cancelled")
	}
	st := f.sync.Status()
	if st.Failures != 0 || st.LastError != "" || st.Rounds != 1 {
		t.Errorf("Status() = %+v, want a cancelled round not counted as failed", st)
	}
	assertSpoolEmpty(t, f.spool)
}

// TestSyncRoundTimeout abandons a stalled download when the round's bound passes, and
// counts it as a failure (unlike a cancellation).
func TestSyncRoundTimeout(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.sync.Sync(syncCtx(t)); err != nil {
		t.Fatalf("first Sync() = %v", err)
	}
	good := f.sync.Snapshot()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.exp.set(exportTwo(t), time.Date(2025, 2, 2, 0, 0, 0, 0, time.UTC))
	f.exp.failWith(blockUntilGone(release, func(h http.Header) { h.Set("Content-Length", "4096") }))
	f.sync.roundTimeout = 50 * time.Millisecond

	err := f.sync.Sync(syncCtx(t))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "took longer than 50ms") {
		t.Errorf("Sync() = %v, want the round's time bound reported", err)
	}
	st := f.sync.Status()
	if f.sync.Snapshot() != good || st.Failures != 1 || st.LastError == "" {
		t.Errorf("Status() = %+v, want a failure and the last good snapshot", st)
	}
	assertSpoolEmpty(t, f.spool)
}

// writeFile writes data at path and sets its modification time.
func writeFile(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// localSyncer is a syncer over one local source.
func localSyncer(t *testing.T, path string) *Syncer {
	t.Helper()
	s, err := NewSyncer(SyncOptions{
		Sources:    []string{path},
		Ecosystems: []string{EcosystemNPM},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("NewSyncer() = %v", err)
	}
	return s
}

// localStep is one change to a local source and what the next round must do.
type localStep struct {
	name   string
	change func(t *testing.T)
	// wantGen is the generation after the round; 0 means the round must fail.
	wantGen     uint64
	wantRecords int
}

func runLocalSteps(t *testing.T, s *Syncer, steps []localStep) {
	t.Helper()
	ctx := syncCtx(t)
	var unchanged uint64
	var last *Snapshot
	for _, step := range steps {
		step.change(t)
		err := s.Sync(ctx)
		snap := s.Snapshot()
		switch {
		case step.wantGen == 0:
			if err == nil {
				t.Errorf("%s: Sync() = nil, want an error", step.name)
			}
			if snap != last {
				t.Errorf("%s: Snapshot() changed on a failed round", step.name)
			}
			if st := s.Status(); st.LastError == "" || st.Sources[0].LastError == "" {
				t.Errorf("%s: Status() = %+v, want the error", step.name, st)
			}
			continue
		case err != nil:
			t.Errorf("%s: Sync() = %v", step.name, err)
			continue
		case snap.Generation() != step.wantGen || snap.Records() != step.wantRecords:
			t.Errorf("%s: snapshot = generation %d with %d records, want %d with %d",
				step.name, snap.Generation(), snap.Records(), step.wantGen, step.wantRecords)
		}
		if last != nil && last.Generation() == step.wantGen {
			unchanged++
			if snap != last {
				t.Errorf("%s: an unchanged round swapped the snapshot", step.name)
			}
		}
		if st := s.Status(); st.Unchanged != unchanged || !st.Sources[0].Local || st.Sources[0].Records != step.wantRecords {
			t.Errorf("%s: Status() = %+v, want %d unchanged rounds and %d records", step.name, st, unchanged, step.wantRecords)
		}
		last = snap
	}
}

func TestSyncLocalZip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "all.zip")
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	runLocalSteps(t, localSyncer(t, path), []localStep{
		{"missing", func(*testing.T) {}, 0, 0},
		{"first load", func(t *testing.T) { writeFile(t, path, exportOne(t), base) }, 1, 1},
		{"unchanged", func(*testing.T) {}, 1, 1},
		{"touched", func(t *testing.T) { writeFile(t, path, exportOne(t), base.Add(time.Hour)) }, 2, 1},
		{"unchanged again", func(*testing.T) {}, 2, 1},
		{"changed", func(t *testing.T) { writeFile(t, path, exportTwo(t), base.Add(2*time.Hour)) }, 3, 2},
		{"corrupt", func(t *testing.T) { writeFile(t, path, []byte("not a zip"), base.Add(3*time.Hour)) }, 0, 0},
		// The same bytes and time as the last good round: unchanged.
		{"repaired", func(t *testing.T) { writeFile(t, path, exportTwo(t), base.Add(2*time.Hour)) }, 3, 2},
		{"repaired anew", func(t *testing.T) { writeFile(t, path, exportTwo(t), base.Add(4*time.Hour)) }, 4, 2},
	})
}

func TestSyncLocalDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "osv")
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	first := filepath.Join(dir, "npm", "GHSA-aaaa-bbbb-cccc.json")
	second := filepath.Join(dir, "npm", "deep", "GHSA-dddd-eeee-ffff.json")
	broken := filepath.Join(dir, "GHSA-gggg-hhhh-iiii.json")
	runLocalSteps(t, localSyncer(t, dir), []localStep{
		{"missing", func(*testing.T) {}, 0, 0},
		{"first load", func(t *testing.T) {
			writeFile(t, first, osvRecord("GHSA-aaaa-bbbb-cccc", "left-pad", "1.0.1"), base)
			writeFile(t, filepath.Join(dir, "README.md"), []byte("not a record"), base)
		}, 1, 1},
		{"unchanged", func(*testing.T) {}, 1, 1},
		{"file added", func(t *testing.T) {
			writeFile(t, second, osvRecord("GHSA-dddd-eeee-ffff", "right-pad", "2.0.0"), base.Add(time.Hour))
		}, 2, 2},
		{"unchanged again", func(*testing.T) {}, 2, 2},
		{"file rewritten", func(t *testing.T) {
			writeFile(t, second, osvRecord("GHSA-dddd-eeee-ffff", "right-pad", "2.0.1"), base.Add(2*time.Hour))
		}, 3, 2},
		{"partial record", func(t *testing.T) {
			rec := osvRecord("GHSA-gggg-hhhh-iiii", "up-pad", "1.0.0")
			writeFile(t, broken, rec[:len(rec)/2], base.Add(3*time.Hour))
		}, 0, 0},
		// The tree is back to the last good round's: unchanged.
		{"partial record removed", func(t *testing.T) {
			if err := os.Remove(broken); err != nil {
				t.Fatal(err)
			}
		}, 3, 2},
		{"file touched", func(t *testing.T) {
			if err := os.Chtimes(first, base.Add(-time.Hour), base.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}, 4, 2},
		{"file renamed", func(t *testing.T) {
			if err := os.Rename(first, filepath.Join(dir, "GHSA-aaaa-bbbb-cccc.json")); err != nil {
				t.Fatal(err)
			}
		}, 5, 2},
		{"symlinked record", func(t *testing.T) {
			target := filepath.Join(dir, "store", "MAL-2024-9.data")
			writeFile(t, target, osvRecord("MAL-2024-9", "evil-pkg", "9.9.9"), base)
			if err := os.Symlink(filepath.Join("store", "MAL-2024-9.data"), filepath.Join(dir, "MAL-2024-9.json")); err != nil {
				t.Fatal(err)
			}
		}, 6, 3},
		{"symlink target rewritten", func(t *testing.T) {
			target := filepath.Join(dir, "store", "MAL-2024-9.data")
			writeFile(t, target, osvRecord("MAL-2024-9", "evil-pkg", "9.9.8"), base.Add(time.Hour))
		}, 7, 3},
	})
}

func TestSyncSeveralSources(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "MAL-2024-1.json"), []byte(`{"id":"MAL-2024-1","modified":"2024-01-01T00:00:00Z",`+
		`"affected":[{"package":{"ecosystem":"npm","name":"evil-pkg"},"versions":["1.0.0"]}]}`), time.Now())
	f := newFixture(t, func(o *SyncOptions) { o.Sources = append(o.Sources, dir) })
	ctx := syncCtx(t)
	if err := f.sync.Sync(ctx); err != nil {
		t.Fatalf("Sync() = %v", err)
	}
	snap := f.sync.Snapshot()
	if snap.Records() != 2 || len(advisoryIDs(snap, "evil-pkg")) != 1 || len(advisoryIDs(snap, "left-pad")) != 1 {
		t.Fatalf("snapshot = %d records, want both sources merged", snap.Records())
	}

	// One source failing fails the round, even when the other changed.
	f.exp.set(exportTwo(t), time.Date(2025, 2, 2, 0, 0, 0, 0, time.UTC))
	if err := os.WriteFile(filepath.Join(dir, "MAL-2024-1.json"), []byte(`{"id":`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := f.sync.Sync(ctx)
	if err == nil || !strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), f.srv.URL) {
		t.Errorf("Sync() = %v, want an error naming the directory only", err)
	}
	st := f.sync.Status()
	if f.sync.Snapshot() != snap || st.Sources[0].LastError != "" || st.Sources[1].LastError == "" {
		t.Errorf("Status() = %+v, want the snapshot kept and only the directory's error", st)
	}
}

// waitFor polls cond until it holds or testWait passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func TestRunRetriesThenLoads(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t, func(o *SyncOptions) {
		o.Interval = time.Millisecond
		o.MinBackoff = time.Millisecond
		o.MaxBackoff = 2 * time.Millisecond
		o.Now = nil
	})
	f.exp.failWith(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		f.exp.failWith(nil)
		f.exp.ServeHTTP(w, r)
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.sync.Run(ctx) }()

	waitFor(t, "the index to load", func() bool { return f.sync.Status().Loaded })
	waitFor(t, "an unchanged round", func() bool { return f.sync.Status().Unchanged > 0 })
	st := f.sync.Status()
	if st.Failures != 2 || st.ConsecutiveFailures != 0 || st.Generation != 1 || st.LastError != "" {
		t.Errorf("Status() = %+v, want 2 failures then generation 1", st)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v, want nil on cancel", err)
		}
	case <-time.After(testWait):
		t.Fatal("Run() did not return after cancel")
	}
}

func TestRunReturnsOnCancelMidDownload(t *testing.T) {
	f := newFixture(t, nil)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	started := make(chan struct{}, 1)
	block := blockUntilGone(release, func(h http.Header) { h.Set("Content-Length", "4096") })
	f.exp.failWith(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		block(w, r)
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.sync.Run(ctx) }()
	select {
	case <-started:
	case <-time.After(testWait):
		t.Fatal("Run() never started a download")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v, want nil on cancel", err)
		}
	case <-time.After(testWait):
		t.Fatal("Run() did not return when cancelled mid-download")
	}
	if st := f.sync.Status(); st.Failures != 0 || st.Loaded {
		t.Errorf("Status() = %+v, want nothing loaded and no failure counted", st)
	}
	assertSpoolEmpty(t, f.spool)
}

func TestSyncerBackoff(t *testing.T) {
	tests := []struct {
		name     string
		opts     SyncOptions
		failures []int
		want     []time.Duration
	}{
		{"defaults", SyncOptions{}, []int{1, 2, 3, 5, 6, 100}, []time.Duration{
			30 * time.Second, time.Minute, 2 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute}},
		{"capped by a short interval", SyncOptions{Interval: 5 * time.Minute}, []int{1, 4, 5}, []time.Duration{
			30 * time.Second, 4 * time.Minute, 5 * time.Minute}},
		{"explicit", SyncOptions{MinBackoff: time.Second, MaxBackoff: 10 * time.Second}, []int{1, 2, 4, 5, 1 << 20}, []time.Duration{
			time.Second, 2 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}},
		{"minimum above maximum", SyncOptions{MinBackoff: time.Hour, MaxBackoff: time.Minute}, []int{1, 3}, []time.Duration{
			time.Minute, time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Sources, tt.opts.Ecosystems = []string{"osv"}, []string{EcosystemNPM}
			s, err := NewSyncer(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range tt.failures {
				if got := s.backoff(n); got != tt.want[i] {
					t.Errorf("backoff(%d) = %v, want %v", n, got, tt.want[i])
				}
			}
		})
	}
}

func TestNewSyncer(t *testing.T) {
	client := &http.Client{}
	tests := []struct {
		name string
		opts SyncOptions
		// wantErr are substrings of the error; nil means success.
		wantErr []string
		// leak must not appear in the error.
		leak string
	}{
		{"https URL", SyncOptions{Sources: []string{"https://osv.example/npm/all.zip"}, Client: client}, nil, ""},
		{"signed https URL", SyncOptions{Sources: []string{"https://b.example/all.zip?X-Sig=abc"}, Client: client}, nil, ""},
		{"relative path", SyncOptions{Sources: []string{"data/osv.zip"}}, nil, ""},
		{"absolute dir and dotted colon", SyncOptions{Sources: []string{" /var/lib/osv ", "./a:b.zip"}}, nil, ""},
		{"several", SyncOptions{Sources: []string{"https://osv.example/all.zip", "/srv/osv"}, Client: client}, nil, ""},
		{"no source", SyncOptions{}, []string{"no source"}, ""},
		{"empty entry", SyncOptions{Sources: []string{"/srv/osv", "  "}}, []string{"source 2", "empty entry"}, ""},
		{"plain http", SyncOptions{Sources: []string{"http://osv.example/all.zip"}, Client: client}, []string{"source 1", `"http://osv.example/all.zip"`, `scheme "http"`}, ""},
		{"file scheme", SyncOptions{Sources: []string{"file:///srv/osv.zip"}}, []string{"file:///srv/osv.zip", `scheme "file"`}, ""},
		{"bucket scheme", SyncOptions{Sources: []string{"s3://bucket/osv.zip"}}, []string{`scheme "s3"`}, ""},
		{"bare colon name", SyncOptions{Sources: []string{"osv:all.zip"}}, []string{`scheme "osv"`}, ""},
		{"userinfo", SyncOptions{Sources: []string{"https://user:hunter2@osv.example/all.zip?token=t0k"}, Client: client}, []string{"userinfo", "https://osv.example/all.zip"}, "hunter2"},
		{"userinfo on http", SyncOptions{Sources: []string{"http://user:hunter2@osv.example/x"}, Client: client}, []string{`scheme "http"`}, "hunter2"},
		{"unparsable URL", SyncOptions{Sources: []string{"https://user:hunter2@osv example/%zz?t=1"}, Client: client}, []string{"not a valid URL"}, "hunter2"},
		{"no host", SyncOptions{Sources: []string{"https:///all.zip"}, Client: client}, []string{"needs a host"}, ""},
		{"opaque", SyncOptions{Sources: []string{"https:all.zip"}, Client: client}, []string{"needs a host"}, ""},
		{"control character", SyncOptions{Sources: []string{"/srv/osv\n.zip"}}, []string{"control character"}, ""},
		{"URL without client", SyncOptions{Sources: []string{"https://osv.example/all.zip"}}, []string{"HTTP client"}, ""},
		{"no ecosystem", SyncOptions{Sources: []string{"/srv/osv"}, Ecosystems: []string{}}, []string{"no ecosystem"}, ""},
		{"negative durations", SyncOptions{Sources: []string{"/srv/osv"}, Interval: -1, MinBackoff: -1, MaxBackoff: -1}, []string{"negative interval", "negative minimum backoff", "negative maximum backoff"}, ""},
		{"negative download limit", SyncOptions{Sources: []string{"/srv/osv"}, MaxDownloadBytes: -1}, []string{"negative download limit"}, ""},
		{"every problem", SyncOptions{Sources: []string{"", "ftp://x/y"}, Ecosystems: []string{}}, []string{"source 1", "source 2", "no ecosystem"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Ecosystems == nil {
				tt.opts.Ecosystems = []string{EcosystemNPM}
			}
			s, err := NewSyncer(tt.opts)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("NewSyncer(%q) = %v, want nil", tt.opts.Sources, err)
				}
				if st := s.Status(); len(st.Sources) != len(tt.opts.Sources) {
					t.Errorf("Status().Sources = %v, want one per entry", st.Sources)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewSyncer(%q) = nil, want an error", tt.opts.Sources)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("NewSyncer(%q) = %v, want it to mention %s", tt.opts.Sources, err, want)
				}
			}
			if tt.leak != "" && strings.Contains(err.Error(), tt.leak) {
				t.Errorf("NewSyncer(%q) = %v, leaks %s", tt.opts.Sources, err, tt.leak)
			}
		})
	}
}

func TestSyncerDefaults(t *testing.T) {
	s, err := NewSyncer(SyncOptions{Sources: []string{"/srv/osv"}, Ecosystems: []string{EcosystemNPM}})
	if err != nil {
		t.Fatal(err)
	}
	o := s.opts
	if o.Interval != time.Hour || o.MinBackoff != 30*time.Second || o.MaxBackoff != 15*time.Minute ||
		o.MaxDownloadBytes != 1<<30 || o.SpoolDir != os.TempDir() || s.log == nil || s.now == nil {
		t.Errorf("NewSyncer(zero options) = %+v, want the documented defaults", o)
	}
}

func TestStatusAge(t *testing.T) {
	built := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   Status
		now  time.Time
		want time.Duration
	}{
		{"not loaded", Status{Built: built}, built.Add(time.Hour), 0},
		{"loaded", Status{Loaded: true, Built: built}, built.Add(time.Hour), time.Hour},
		{"clock behind", Status{Loaded: true, Built: built}, built.Add(-time.Hour), 0},
	}
	for _, tt := range tests {
		if got := tt.st.Age(tt.now); got != tt.want {
			t.Errorf("%s: Age(%v) = %v, want %v", tt.name, tt.now, got, tt.want)
		}
	}
}

// TestSyncNotModifiedUnasked refuses a 304 to a request that carried no validator:
// there is nothing to reuse.
func TestSyncNotModifiedUnasked(t *testing.T) {
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusNotModified, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})}
	s, err := NewSyncer(SyncOptions{
		Sources:    []string{"https://osv.example/all.zip"},
		Ecosystems: []string{EcosystemNPM},
		Client:     client,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	var se *StatusError
	if err := s.Sync(syncCtx(t)); !errors.As(err, &se) || se.Status != http.StatusNotModified {
		t.Errorf("Sync() = %v, want a *StatusError with status 304", err)
	}
}
