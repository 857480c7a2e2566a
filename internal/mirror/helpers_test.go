package mirror

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/mirror/credential"
	"github.com/ecluse/ecluse/internal/queue"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// ---- a fake queue ----

// fakeQueue is a queue.Queue whose deliveries the test makes by hand and whose
// messages record how they were settled.
type fakeQueue struct {
	deliveries chan *fakeMsg
	closeOnce  sync.Once
	closed     chan struct{}

	mu       sync.Mutex
	enqueued [][]byte
	// enqueueErr, when set, is what Enqueue returns; block makes Enqueue wait for its
	// context instead.
	enqueueErr error
	block      bool
}

var _ queue.Queue = (*fakeQueue)(nil)

func newFakeQueue() *fakeQueue {
	return &fakeQueue{deliveries: make(chan *fakeMsg, 64), closed: make(chan struct{})}
}

func (q *fakeQueue) Enqueue(ctx context.Context, body []byte) error {
	q.mu.Lock()
	err, block := q.enqueueErr, q.block
	q.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	q.mu.Lock()
	q.enqueued = append(q.enqueued, append([]byte(nil), body...))
	q.mu.Unlock()
	return nil
}

func (q *fakeQueue) Receive(ctx context.Context) (queue.Message, error) {
	select {
	case m := <-q.deliveries:
		return m, nil
	case <-q.closed:
		return nil, queue.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (q *fakeQueue) Close() error {
	q.closeOnce.Do(func() { close(q.closed) })
	return nil
}

func (q *fakeQueue) bodies() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([][]byte(nil), q.enqueued...)
}

// deliver hands the worker one message.
func (q *fakeQueue) deliver(body []byte, attempt int) *fakeMsg {
	m := &fakeMsg{body: body, attempt: attempt, settled: make(chan struct{})}
	q.deliveries <- m
	return m
}

// fakeMsg records its settlement.
type fakeMsg struct {
	body    []byte
	attempt int

	extends atomic.Int64
	once    sync.Once
	settled chan struct{}

	mu      sync.Mutex
	acked   bool
	nacked  bool
	delay   time.Duration
	settles int
}

func (m *fakeMsg) Body() []byte { return m.body }
func (m *fakeMsg) Attempt() int { return m.attempt }

func (m *fakeMsg) Ack(context.Context) error {
	m.mu.Lock()
	m.acked = true
	m.settles++
	m.mu.Unlock()
	m.once.Do(func() { close(m.settled) })
	return nil
}

func (m *fakeMsg) Nack(_ context.Context, delay time.Duration) error {
	m.mu.Lock()
	m.nacked, m.delay = true, delay
	m.settles++
	m.mu.Unlock()
	m.once.Do(func() { close(m.settled) })
	return nil
}

func (m *fakeMsg) Extend(context.Context, time.Duration) error {
	m.extends.Add(1)
	return nil
}

// wait waits for the message to be settled and returns how.
func (m *fakeMsg) wait(t *testing.T) (acked bool, delay time.Duration) {
	t.Helper()
	select {
	case <-m.settled:
	case <-time.After(20 * time.Second):
		t.Fatal("message never settled")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.settles != 1 {
		t.Errorf("message settled %d times, want once", m.settles)
	}
	return m.acked, m.delay
}

// ---- tarballs and integrity ----

func sriOf(b []byte) string {
	sum := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func sha1Of(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// ---- a fake public upstream ----

// fakePublic serves packuments and tarballs like a public npm registry.
type fakePublic struct {
	srv *httptest.Server
	mu  sync.Mutex
	// tarballs by name and version; served is what is actually served when it
	// differs (to break integrity).
	tarballs map[string]map[string][]byte
	served   map[string][]byte
	// extra adds members to every manifest.
	extra map[string]any
	hits  atomic.Int64
}

func newFakePublic(t *testing.T) *fakePublic {
	p := &fakePublic{tarballs: map[string]map[string][]byte{}, served: map[string][]byte{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakePublic) add(name, version string, tgz []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tarballs[name] == nil {
		p.tarballs[name] = map[string][]byte{}
	}
	p.tarballs[name][version] = tgz
}

func (p *fakePublic) tarballURL(name, version string) string {
	base := name
	if i := strings.LastIndex(name, "/"); i >= 0 {
		base = name[i+1:]
	}
	return p.srv.URL + "/" + name + "/-/" + base + "-" + version + ".tgz"
}

func (p *fakePublic) manifest(name, version string, tgz []byte) map[string]any {
	m := map[string]any{
		"name": name, "version": version, "description": "the " + name + " package",
		"_id": name + "@" + version,
		"dist": map[string]any{
			"integrity": sriOf(tgz), "shasum": sha1Of(tgz), "tarball": p.tarballURL(name, version),
			"signatures": []any{map[string]any{"keyid": "k", "sig": "s"}},
		},
		"dependencies": map[string]any{"left-pad": "^1.0.0"},
	}
	for k, v := range p.extra {
		m[k] = v
	}
	return m
}

func (p *fakePublic) serve(w http.ResponseWriter, r *http.Request) {
	p.hits.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	raw := r.URL.EscapedPath()
	if i := strings.Index(raw, "/-/"); i >= 0 {
		name, _ := url.PathUnescape(strings.TrimPrefix(raw[:i], "/"))
		for v, tgz := range p.tarballs[name] {
			if strings.HasSuffix(raw, "-"+v+".tgz") {
				if s, ok := p.served[name+"@"+v]; ok {
					tgz = s
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(tgz)))
				_, _ = w.Write(tgz)
				return
			}
		}
		http.NotFound(w, r)
		return
	}
	name, _ := url.PathUnescape(strings.TrimPrefix(raw, "/"))
	versions := p.tarballs[name]
	if versions == nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"not found"}`)
		return
	}
	doc := map[string]any{"name": name, "dist-tags": map[string]any{}, "versions": map[string]any{}}
	for v, tgz := range versions {
		doc["versions"].(map[string]any)[v] = p.manifest(name, v, tgz)
		doc["dist-tags"].(map[string]any)["latest"] = v
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

// ---- a fake mirror target ----

// put is one publish the target received.
type put struct {
	rawPath string
	auth    string
	doc     publishBody
	tarball []byte
	status  int
}

type publishBody struct {
	ID          string                     `json:"_id"`
	Name        string                     `json:"name"`
	Description string                     `json:"description"`
	DistTags    map[string]string          `json:"dist-tags"`
	Versions    map[string]json.RawMessage `json:"versions"`
	Attachments map[string]struct {
		ContentType string `json:"content_type"`
		Data        string `json:"data"`
		Length      int64  `json:"length"`
	} `json:"_attachments"`
}

// fakeTarget is an npm registry playing the mirror target. It accepts publishes as
// Verdaccio does: one version and one attachment per document, the attachment's base
// name equal to dist.tarball's, dist.shasum equal to the attachment's SHA-1, 409 for a
// version it holds; it moves the dist-tags the document names.
type fakeTarget struct {
	srv *httptest.Server

	mu       sync.Mutex
	versions map[string]map[string]json.RawMessage
	tags     map[string]map[string]string
	puts     []put
	gets     atomic.Int64
	// putStatus, when set, answers a PUT with its status instead of storing it.
	putStatus func(n int) int
	// onPut, when set, runs before a PUT is handled (a test blocks it there).
	onPut func()
	// streaming makes PUT read the body as a stream: the attachment is hashed while
	// it is decoded, never held, and put.tarball stays nil (digest in streamedSHA512).
	streaming    bool
	streamedHash string
	streamedLen  int64
}

func newFakeTarget(t *testing.T) *fakeTarget {
	f := &fakeTarget{versions: map[string]map[string]json.RawMessage{}, tags: map[string]map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// hold records name@version as published with integrity and the given dist-tags.
func (f *fakeTarget) hold(name, version, integrity string, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.versions[name] == nil {
		f.versions[name] = map[string]json.RawMessage{}
		f.tags[name] = map[string]string{}
	}
	m, _ := json.Marshal(map[string]any{"name": name, "version": version, "dist": map[string]any{"integrity": integrity}})
	f.versions[name][version] = m
	for k, v := range tags {
		f.tags[name][k] = v
	}
}

func (f *fakeTarget) putsSnapshot() []put {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]put(nil), f.puts...)
}

func (f *fakeTarget) distTags(name string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.tags[name] {
		out[k] = v
	}
	return out
}

func (f *fakeTarget) serve(w http.ResponseWriter, r *http.Request) {
	segment := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	name, err := url.PathUnescape(segment)
	if err != nil || strings.Contains(segment, "/-/") {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		f.gets.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.versions[name] == nil {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"no such package available"}`)
			return
		}
		doc := map[string]any{"name": name, "dist-tags": f.tags[name], "versions": f.versions[name]}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	case http.MethodPut:
		if f.onPut != nil {
			f.onPut()
		}
		f.handlePut(w, r, name)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (f *fakeTarget) handlePut(w http.ResponseWriter, r *http.Request, name string) {
	p := put{rawPath: r.URL.EscapedPath(), auth: r.Header.Get("Authorization")}
	fail := func(status int, msg string) {
		p.status = status
		f.mu.Lock()
		f.puts = append(f.puts, p)
		f.mu.Unlock()
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	f.mu.Lock()
	n := len(f.puts)
	statusFn := f.putStatus
	f.mu.Unlock()
	if statusFn != nil {
		if s := statusFn(n); s != 0 {
			_, _ = io.Copy(io.Discard, r.Body)
			fail(s, "forced")
			return
		}
	}
	if r.Header.Get("Content-Type") != "application/json" {
		fail(http.StatusUnsupportedMediaType, "not json")
		return
	}
	var sha1hex string
	if f.streaming {
		doc, digest, length, s1, err := streamPublish(r.Body)
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		p.doc = doc
		f.mu.Lock()
		f.streamedHash, f.streamedLen = digest, length
		f.mu.Unlock()
		sha1hex = s1
	} else {
		if err := json.NewDecoder(r.Body).Decode(&p.doc); err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		if len(p.doc.Attachments) != 1 {
			fail(http.StatusBadRequest, "unsupported registry call")
			return
		}
		for _, a := range p.doc.Attachments {
			b, err := base64.StdEncoding.DecodeString(a.Data)
			if err != nil || int64(len(b)) != a.Length || a.ContentType != "application/octet-stream" {
				fail(http.StatusBadRequest, "bad attachment")
				return
			}
			p.tarball = b
			sha1hex = sha1Of(b)
		}
	}
	if p.doc.Name != name || p.doc.ID != name || len(p.doc.Versions) != 1 {
		fail(http.StatusBadRequest, "unsupported registry call")
		return
	}
	var version string
	var manifest json.RawMessage
	for v, m := range p.doc.Versions {
		version, manifest = v, m
	}
	var meta struct {
		Dist struct {
			Tarball, Shasum, Integrity string
		} `json:"dist"`
	}
	if err := json.Unmarshal(manifest, &meta); err != nil {
		fail(http.StatusBadRequest, "bad manifest")
		return
	}
	var attachment string
	for k := range p.doc.Attachments {
		attachment = k
	}
	if path.Base(attachment) != path.Base(meta.Dist.Tarball) {
		fail(http.StatusBadRequest, "attachment and dist.tarball differ")
		return
	}
	if meta.Dist.Shasum != sha1hex {
		fail(http.StatusBadRequest, "shasum error")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.versions[name][version]; ok {
		p.status = http.StatusConflict
		f.puts = append(f.puts, p)
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"error":"this package is already present"}`)
		return
	}
	if f.versions[name] == nil {
		f.versions[name] = map[string]json.RawMessage{}
		f.tags[name] = map[string]string{}
	}
	f.versions[name][version] = manifest
	for tag, v := range p.doc.DistTags {
		f.tags[name][tag] = v
	}
	p.status = http.StatusCreated
	f.puts = append(f.puts, p)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, `{"ok":"created new package","success":true}`)
}

// streamPublish reads a publish document whose attachment data may be large without
// holding it: everything but the data is kept and parsed; the data is decoded and hashed
// as it streams.
func streamPublish(body io.Reader) (doc publishBody, sha512sri string, length int64, sha1hex string, err error) {
	const marker = `"data":"`
	br := bufio.NewReaderSize(body, 64<<10)
	var head []byte
	for !strings.HasSuffix(string(tail(head, len(marker))), marker) {
		c, err := br.ReadByte()
		if err != nil {
			return doc, "", 0, "", fmt.Errorf("no attachment data: %w", err)
		}
		head = append(head, c)
		if len(head) > 1<<20 {
			return doc, "", 0, "", errors.New("head too long")
		}
	}
	h512, h1 := sha512.New(), sha1.New()
	dec := base64.NewDecoder(base64.StdEncoding, &untilQuote{r: br})
	n, err := io.Copy(io.MultiWriter(h512, h1), dec)
	if err != nil {
		return doc, "", 0, "", fmt.Errorf("data: %w", err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		return doc, "", 0, "", err
	}
	whole := append(append(head, '"'), rest...)
	if err := json.Unmarshal(whole, &doc); err != nil {
		return doc, "", 0, "", fmt.Errorf("document: %w", err)
	}
	return doc, "sha512-" + base64.StdEncoding.EncodeToString(sumOf(h512)), n, hex.EncodeToString(sumOf(h1)), nil
}

func tail(b []byte, n int) []byte {
	if len(b) < n {
		return b
	}
	return b[len(b)-n:]
}

func sumOf(h hash.Hash) []byte { return h.Sum(nil) }

// untilQuote reads r up to (and consuming) the next '"'.
type untilQuote struct {
	r    *bufio.Reader
	done bool
}

func (u *untilQuote) Read(p []byte) (int, error) {
	if u.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		c, err := u.r.ReadByte()
		if err != nil {
			return n, err
		}
		if c == '"' {
			u.done = true
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
		p[n] = c
		n++
	}
	return n, nil
}

// ---- wiring ----

// rig is a worker wired to a fake public upstream and a fake target.
type rig struct {
	public *fakePublic
	target *fakeTarget
	q      *fakeQueue
	pub    *NPMPublisher
	fetch  *UpstreamFetcher
	clock  *fakeClock
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{public: newFakePublic(t), target: newFakeTarget(t), q: newFakeQueue(), clock: newFakeClock()}
	pubURL, _ := url.Parse(r.public.srv.URL + "/")
	host := pubURL.Host
	guard, err := egress.New(egress.Options{
		AllowedHosts:  []string{"http://" + host},
		AllowInternal: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(guard.Client().CloseIdleConnections)
	origin := upstream.New(upstream.Options{Origin: "public", Base: pubURL, HTTP: guard.Client(), Anonymous: true})
	r.fetch = NewUpstreamFetcher(UpstreamFetcherOptions{Origins: []Origin{origin}})
	targetURL, _ := url.Parse(r.target.srv.URL + "/")
	trusted := egress.NewTrusted(targetURL, egress.TrustedOptions{})
	t.Cleanup(trusted.CloseIdleConnections)
	r.pub, err = NewNPMPublisher(NPMPublisherOptions{
		Target: targetURL, HTTP: trusted, Credential: credential.Static(redact.New("w-token")),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) job(name, version string, tgz []byte) Job {
	return Job{
		Mount: "npm", Ecosystem: EcosystemNPM, Name: name, Version: version,
		Upstream: r.public.srv.URL + "/", Tarball: r.public.tarballURL(name, version), Integrity: sriOf(tgz),
	}
}

// worker builds a worker with fast, deterministic settings, changed by edit.
func (r *rig) worker(t *testing.T, edit func(*WorkerOptions)) *Worker {
	t.Helper()
	opts := WorkerOptions{
		Queue: r.q, Target: r.pub, Fetch: r.fetch, Concurrency: 2,
		Jitter: func(limit time.Duration) time.Duration { return limit },
		Now:    r.clock.Now,
	}
	if edit != nil {
		edit(&opts)
	}
	w, err := NewWorker(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// run runs w until the test ends.
func run(t *testing.T, w *Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
	})
}

func mustEncode(t *testing.T, j Job) []byte {
	t.Helper()
	b, err := j.Encode()
	if err != nil {
		t.Fatalf("Encode(%+v) = %v", j, err)
	}
	return b
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// blockPuts makes the target's PUTs wait until the returned function is called (it may
// be called more than once). Register it with t.Cleanup after run, so that it runs
// before the worker is stopped and the servers closed.
func blockPuts(r *rig) (release func()) {
	ch := make(chan struct{})
	var once sync.Once
	r.target.onPut = func() { <-ch }
	return func() { once.Do(func() { close(ch) }) }
}

// freeHost returns "127.0.0.1:<port>" of a closed listener: nothing answers there.
func freeHost(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
