package app

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pkgVersion is one version of a fixture package.
type pkgVersion struct {
	v   string
	age time.Duration // how long ago it was published
}

// pkgSpec is a fixture package as one registry serves it.
type pkgSpec struct {
	name     string
	latest   string
	versions []pkgVersion
}

// Ages on either side of the default min-age rule (7 days).
const (
	oldAge   = 30 * 24 * time.Hour
	agedAge  = 15 * 24 * time.Hour
	youngAge = 2 * time.Hour
)

// tarballSize is the length of every fixture tarball: large enough that a fault mid-body
// leaves the client well short of the end.
const tarballSize = 192 << 10

// tarball is one fixture tarball and its digests.
type tarball struct {
	bytes []byte
	sri   string // sha512 integrity
	sha1  string // hex shasum
}

// tarballs memoises fixture tarballs: each is built once per test binary.
var tarballs sync.Map // "origin\x00name\x00version" -> *tarball

// tarballOf returns the deterministic tarball of name@version as served by the
// registry called origin ("public" or "private"): the two sides never share bytes, so a
// tarball served from the wrong side is seen. The bytes are shared: never modify them.
func tarballOf(origin, name, version string) *tarball {
	key := origin + "\x00" + name + "\x00" + version
	if v, ok := tarballs.Load(key); ok {
		return v.(*tarball)
	}
	b := packTarball(key, name, version)
	sum := sha512.Sum512(b)
	s1 := sha1.Sum(b)
	tb := &tarball{bytes: b, sri: "sha512-" + base64.StdEncoding.EncodeToString(sum[:]), sha1: hex.EncodeToString(s1[:])}
	v, _ := tarballs.LoadOrStore(key, tb)
	return v.(*tarball)
}

// packTarball builds a real package tarball of exactly tarballSize bytes: a gzipped tar
// of package/package.json (naming name@version, as Écluse checks) and a file of random
// bytes seeded by key, stored uncompressed so the size is exact (the gzip header's extra
// field takes up the difference).
func packTarball(key, name, version string) []byte {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	r := rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
	blob := make([]byte, tarballSize-8<<10)
	for i := 0; i+8 <= len(blob); i += 8 {
		binary.LittleEndian.PutUint64(blob[i:], r.Uint64())
	}
	pack := func(extra []byte) []byte {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.NoCompression)
		zw.Extra = extra
		tw := tar.NewWriter(zw)
		for _, f := range []struct {
			name string
			body []byte
		}{
			{"package/package.json", []byte(`{"name":` + jsonString(name) + `,"version":` + jsonString(version) + `}`)},
			{"package/blob.bin", blob},
		} {
			_ = tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))})
			_, _ = tw.Write(f.body)
		}
		_ = tw.Close()
		_ = zw.Close()
		return out.Bytes()
	}
	b := pack(nil)
	if pad := tarballSize - len(b) - 2; pad >= 0 {
		b = pack(make([]byte, pad))
	}
	if len(b) != tarballSize {
		panic("fixture tarball of " + strconv.Itoa(len(b)) + " bytes, want " + strconv.Itoa(tarballSize))
	}
	return b
}

// tarballBytes returns the content of tarballOf (shared: never modify it).
func tarballBytes(origin, name, version string) []byte { return tarballOf(origin, name, version).bytes }

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// tarballPathOf is the upstream path of a version's tarball, as npm registries lay it out.
func tarballPathOf(name, version string) string {
	base := name[strings.LastIndex(name, "/")+1:]
	return "/" + name + "/-/" + base + "-" + version + ".tgz"
}

// docOptions shape the text of a fixture document, for hostile variants.
type docOptions struct {
	// name overrides the document's "name" (a name mismatch).
	name string
	// extraManifest is raw JSON members appended to every version manifest.
	extraManifest string
	// extraTop is raw JSON members appended to the top-level object.
	extraTop string
	// dupVersions appends a second "versions" member holding these versions.
	dupVersions []pkgVersion
	// dupVersionKey repeats the first version's key inside "versions", with a postinstall
	// script and a different digest.
	dupVersionKey bool
	// dupTime repeats the last version's key inside "time" with an old date.
	dupTime bool
	// dupIntegrity repeats "integrity" inside the first version's dist.
	dupIntegrity bool
	// dupLatest repeats "latest" inside "dist-tags".
	dupLatest bool
	// fakeDigests gives every version a made-up digest instead of its tarball's, for
	// documents that are refused whole (no tarball is ever built for them).
	fakeDigests bool
}

// fakeTarball stands in for the tarballs of documents that are refused whole.
var fakeTarball = &tarball{sri: "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64)), sha1: strings.Repeat("0", 40)}

// manifestJSON is one version's manifest as the registry at base serves it.
func manifestJSON(origin, base, name string, v pkgVersion, extra string) string {
	return manifestWith(tarballOf(origin, name, v.v), base, name, v, extra)
}

func manifestWith(tgz *tarball, base, name string, v pkgVersion, extra string) string {
	var b strings.Builder
	b.WriteString(`{"name":` + jsonString(name) + `,"version":` + jsonString(v.v))
	b.WriteString(`,"dist":{"integrity":` + jsonString(tgz.sri) + `,"shasum":` + jsonString(tgz.sha1))
	b.WriteString(`,"tarball":` + jsonString(base+tarballPathOf(name, v.v)) + `}`)
	b.WriteString(extra)
	b.WriteString(`}`)
	return b.String()
}

// docJSON builds the text of a package document, member by member, so hostile variants
// can repeat members that a map could not hold twice.
func docJSON(origin, base string, p pkgSpec, o docOptions) []byte {
	name := p.name
	if o.name != "" {
		name = o.name
	}
	now := time.Now().UTC()
	var b strings.Builder
	b.WriteString(`{"_id":` + jsonString(name) + `,"name":` + jsonString(name))
	b.WriteString(`,"dist-tags":{"latest":` + jsonString(p.latest))
	if o.dupLatest {
		b.WriteString(`,"latest":` + jsonString(p.versions[0].v))
	}
	b.WriteString(`}`)
	versions := func(vs []pkgVersion) {
		b.WriteString(`"versions":{`)
		for i, v := range vs {
			if i > 0 {
				b.WriteByte(',')
			}
			tgz := fakeTarball
			if !o.fakeDigests {
				tgz = tarballOf(origin, p.name, v.v)
			}
			m := manifestWith(tgz, base, p.name, v, o.extraManifest)
			if i == 0 && o.dupIntegrity {
				m = strings.Replace(m, `"dist":{`, `"dist":{"integrity":"sha512-`+base64.StdEncoding.EncodeToString(make([]byte, 64))+`",`, 1)
			}
			b.WriteString(jsonString(v.v) + `:` + m)
			if i == 0 && o.dupVersionKey {
				evil := strings.Replace(manifestJSON(origin, base, p.name, pkgVersion{v: v.v + "-evil"}, `,"scripts":{"postinstall":"node evil.js"}`),
					jsonString(v.v+"-evil"), jsonString(v.v), 1)
				b.WriteString(`,` + jsonString(v.v) + `:` + evil)
			}
		}
		b.WriteString(`}`)
	}
	b.WriteByte(',')
	versions(p.versions)
	if len(o.dupVersions) > 0 {
		b.WriteByte(',')
		versions(o.dupVersions)
	}
	b.WriteString(`,"time":{"created":` + jsonString(now.Add(-1000*time.Hour).Format(time.RFC3339)))
	b.WriteString(`,"modified":` + jsonString(now.Format(time.RFC3339)))
	all := append(append([]pkgVersion{}, p.versions...), o.dupVersions...)
	for _, v := range all {
		b.WriteString(`,` + jsonString(v.v) + `:` + jsonString(now.Add(-v.age).Format(time.RFC3339Nano)))
	}
	if o.dupTime && len(all) > 0 {
		last := all[len(all)-1]
		b.WriteString(`,` + jsonString(last.v) + `:` + jsonString(now.Add(-oldAge).Format(time.RFC3339Nano)))
	}
	b.WriteString(`}`)
	b.WriteString(`,"readme":"kept as is"`)
	b.WriteString(o.extraTop)
	b.WriteString(`}`)
	return []byte(b.String())
}

// fault answers one request in a hostile way instead of the registry's normal answer.
// normal is what the registry would have served (nil for a 404); release is closed when
// the test lets stalled handlers go.
type fault func(w http.ResponseWriter, r *http.Request, normal []byte, release <-chan struct{})

// fakeRegistry is a hostile npm registry under httptest: it serves its fixture packages,
// and a fault, when one matches the request, answers instead. Its address stays the same
// across stop and start, so it can go down (connection refused) and come back.
type fakeRegistry struct {
	origin string // "public" or "private"
	addr   string

	release     chan struct{}
	releaseOnce sync.Once
	// credentialLeaks counts requests to the public side that carried a credential.
	credentialLeaks atomic.Int64

	mu       sync.Mutex
	srv      *httptest.Server
	docs     map[string][]byte // by request path
	tarballs map[string][]byte
	hits     map[string]int
	faultFor func(path string) fault
}

// newFakeRegistry starts a registry; it is stopped when the test ends.
func newFakeRegistry(t testing.TB, origin string) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{
		origin:   origin,
		release:  make(chan struct{}),
		docs:     map[string][]byte{},
		tarballs: map[string][]byte{},
		hits:     map[string]int{},
	}
	f.srv = httptest.NewServer(f)
	f.addr = f.srv.Listener.Addr().String()
	t.Cleanup(f.close)
	return f
}

// URL is the registry's base URL.
func (f *fakeRegistry) URL() string { return "http://" + f.addr }

// publish adds p (document and tarballs) to the registry.
func (f *fakeRegistry) publish(p pkgSpec) { f.publishWith(p, docOptions{}) }

// publishWith adds p with its document shaped by o.
func (f *fakeRegistry) publishWith(p pkgSpec, o docOptions) {
	doc := docJSON(f.origin, f.URL(), p, o)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs["/"+p.name] = doc
	for _, v := range p.versions {
		f.tarballs[tarballPathOf(p.name, v.v)] = tarballBytes(f.origin, p.name, v.v)
	}
}

// setFault makes fn answer every request whose path match accepts; nil clears it.
func (f *fakeRegistry) setFault(match func(path string) bool, fn fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fn == nil {
		f.faultFor = nil
		return
	}
	f.faultFor = func(p string) fault {
		if match(p) {
			return fn
		}
		return nil
	}
}

// setFaultChooser installs a per-request fault choice (the soak's random injector).
func (f *fakeRegistry) setFaultChooser(choose func(path string) fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faultFor = choose
}

func pathIs(want string) func(string) bool { return func(p string) bool { return p == want } }

func anyPath(string) bool { return true }

// hitCount returns how many requests reached path.
func (f *fakeRegistry) hitCount(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// releaseStalls lets every stalled handler go, now and in the future.
func (f *fakeRegistry) releaseStalls() { f.releaseOnce.Do(func() { close(f.release) }) }

// dropIdle closes the registry's idle keep-alive connections (the proxy's pooled ones),
// so that what remains of the proxy's goroutines afterwards is not its connection pool.
func (f *fakeRegistry) dropIdle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		f.srv.Config.SetKeepAlivesEnabled(false) // closes idle connections
		f.srv.Config.SetKeepAlivesEnabled(true)
	}
}

// stop takes the registry down: the listener closes (new connections are refused) and
// every open connection is cut.
func (f *fakeRegistry) stop() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// start brings a stopped registry back on the same address.
func (f *fakeRegistry) start(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; rebinding can race only with another process
	// taking it, which would fail the test loudly rather than mislead it.
	if ln, err = net.Listen("tcp", f.addr); err != nil {
		t.Fatalf("restart %s registry on %s: %v", f.origin, f.addr, err)
	}
	srv := httptest.NewUnstartedServer(f)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
}

func (f *fakeRegistry) close() {
	f.releaseStalls()
	f.stop()
}

// ServeHTTP implements http.Handler.
func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	f.mu.Lock()
	f.hits[path]++
	normal, isDoc := f.docs[path]
	if !isDoc {
		normal = f.tarballs[path]
	}
	var fn fault
	if f.faultFor != nil {
		fn = f.faultFor(path)
	}
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "" && f.origin == "public" {
		// The public side is read anonymously; a credential here is a leak.
		f.credentialLeaks.Add(1)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	if fn != nil {
		fn(w, r, normal, f.release)
		return
	}
	serveNormal(w, normal)
}

// serveNormal writes what a healthy registry would: the content, or a JSON 404.
func serveNormal(w http.ResponseWriter, normal []byte) {
	if normal == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"not found"}`))
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(normal)))
	_, _ = w.Write(normal)
}

// The faults. Each is an upstream misbehaving in one way.

// faultStatus answers with an HTML error page and the given status.
func faultStatus(code int) fault {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte, _ <-chan struct{}) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<html><body>upstream on fire</body></html>"))
	}
}

// faultBody serves body in place of the normal content, with a 200.
func faultBody(body []byte) fault {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte, _ <-chan struct{}) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}
}

// reset takes the connection over and closes it with a TCP reset. What the handler has
// written so far is flushed first; when it wrote nothing, nothing is sent.
func reset(w http.ResponseWriter, wrote bool) {
	rc := http.NewResponseController(w)
	if wrote {
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// faultResetBeforeHeaders cuts the connection before any response.
func faultResetBeforeHeaders(w http.ResponseWriter, _ *http.Request, _ []byte, _ <-chan struct{}) {
	reset(w, false)
}

// faultResetAfterHeaders sends a 200 with the length announced, then resets the
// connection before the first byte of the body.
func faultResetAfterHeaders(w http.ResponseWriter, _ *http.Request, normal []byte, _ <-chan struct{}) {
	w.Header().Set("Content-Length", strconv.Itoa(len(normal)))
	w.WriteHeader(http.StatusOK)
	reset(w, true)
}

// faultResetMidBody announces the whole content, sends half and resets the connection.
func faultResetMidBody(w http.ResponseWriter, _ *http.Request, normal []byte, _ <-chan struct{}) {
	w.Header().Set("Content-Length", strconv.Itoa(len(normal)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(normal[:len(normal)/2])
	reset(w, true)
}

// faultCloseEarly announces more bytes than it sends, then ends the response.
func faultCloseEarly(w http.ResponseWriter, _ *http.Request, normal []byte, _ <-chan struct{}) {
	w.Header().Set("Content-Length", strconv.Itoa(len(normal)+4096))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(normal)
}

// faultStallHeaders sends nothing until released, then answers normally.
func faultStallHeaders(w http.ResponseWriter, r *http.Request, normal []byte, release <-chan struct{}) {
	select {
	case <-release:
	case <-r.Context().Done():
		return
	}
	serveNormal(w, normal)
}

// faultStallBody sends the headers and half the content, then nothing until released;
// the response then ends short.
func faultStallBody(w http.ResponseWriter, r *http.Request, normal []byte, release <-chan struct{}) {
	w.Header().Set("Content-Length", strconv.Itoa(len(normal)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(normal[:len(normal)/2])
	_ = http.NewResponseController(w).Flush()
	select {
	case <-release:
	case <-r.Context().Done():
	}
}

// faultDrip sends the content in many small pieces, each after a pause: slow, but
// complete and correct.
func faultDrip(pieces int, pause time.Duration) fault {
	return func(w http.ResponseWriter, r *http.Request, normal []byte, _ <-chan struct{}) {
		if normal == nil {
			serveNormal(w, nil)
			return
		}
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Length", strconv.Itoa(len(normal)))
		w.WriteHeader(http.StatusOK)
		step := max(1, len(normal)/pieces)
		t := time.NewTicker(pause) // the upstream's slowness, not synchronisation
		defer t.Stop()
		for off := 0; off < len(normal); off += step {
			_, _ = w.Write(normal[off:min(off+step, len(normal))])
			_ = rc.Flush()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
	}
}

// faultWrongBytes serves content of the right length whose bytes do not match the
// digest. chunked leaves the length unannounced.
func faultWrongBytes(chunked bool) fault {
	return func(w http.ResponseWriter, _ *http.Request, normal []byte, _ <-chan struct{}) {
		bad := bytes.Clone(normal)
		bad[len(bad)/3] ^= 0x5a
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(bad)))
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(bad)
	}
}

// bombMember is one gzip member inflating to 1 MiB of '0'; a bomb is many of them in a
// row (a multi-member gzip stream), so it is built in microseconds.
var bombMember = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(bytes.Repeat([]byte{'0'}, 1<<20))
	_ = zw.Close()
	return buf.Bytes()
})

func gzipOf(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return buf.Bytes()
}

// faultGzipBomb answers with Content-Encoding: gzip of a JSON document whose readme is
// mib MiB of zeros: about a thousandth of that on the wire.
func faultGzipBomb(name string, mib int) fault {
	return func(w http.ResponseWriter, r *http.Request, _ []byte, _ <-chan struct{}) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write(gzipOf(`{"name":` + jsonString(name) + `,"readme":"`)); err != nil {
			return
		}
		m := bombMember()
		for i := 0; i < mib; i++ {
			if _, err := w.Write(m); err != nil || r.Context().Err() != nil {
				return // the reader gave up: the bomb did not go off
			}
		}
		_, _ = w.Write(gzipOf(`"}`))
	}
}

// padding fills the readme of a large document.
var padding = bytes.Repeat([]byte("lorem ipsum "), 8<<10)

// faultBigDoc streams a valid document of exactly size bytes for name, with an old and
// a young version and a readme that makes up the bulk, without holding it in memory:
// the fake upstream must not weigh on the heap the test measures.
func faultBigDoc(base, name string, size int) fault {
	return func(w http.ResponseWriter, r *http.Request, _ []byte, _ <-chan struct{}) {
		now := time.Now().UTC()
		head := `{"_id":` + jsonString(name) + `,"name":` + jsonString(name) +
			`,"dist-tags":{"latest":"2.0.0"},"versions":{` +
			`"1.0.0":` + manifestJSON("public", base, name, pkgVersion{v: "1.0.0"}, "") +
			`,"2.0.0":` + manifestJSON("public", base, name, pkgVersion{v: "2.0.0"}, "") +
			`},"time":{"1.0.0":` + jsonString(now.Add(-oldAge).Format(time.RFC3339)) +
			`,"2.0.0":` + jsonString(now.Add(-youngAge).Format(time.RFC3339)) + `},"readme":"`
		tail := `"}`
		fill := size - len(head) - len(tail)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(size))
		if _, err := w.Write([]byte(head)); err != nil {
			return
		}
		for fill > 0 {
			n := min(fill, len(padding))
			if _, err := w.Write(padding[:n]); err != nil || r.Context().Err() != nil {
				return
			}
			fill -= n
		}
		_, _ = w.Write([]byte(tail))
	}
}
