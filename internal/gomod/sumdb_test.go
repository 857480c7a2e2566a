package gomod

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
)

const testDBName = "sum.example.test"

// testModule is a module version with real content and its real hashes.
type testModule struct {
	path, version string
	zipHash       string
	modHash       string
}

func newTestModule(t testing.TB, path, version, extra string) testModule {
	t.Helper()
	prefix := path + "@" + version + "/"
	gomod := "module " + path + "\n\ngo 1.22\n"
	z := makeZip(t, prefix+"go.mod", gomod, prefix+"m.go", "package m\n// "+extra+"\n")
	zh, err := HashZip(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	return testModule{path: path, version: version, zipHash: zh, modHash: HashGoMod([]byte(gomod))}
}

func (m testModule) lines() []string {
	return []string{m.path + " " + m.version + " " + m.zipHash, m.path + " " + m.version + "/go.mod " + m.modHash}
}

// testDB is a real checksum database: sumdb.NewServer over the x/mod test ServerOps,
// signing with a key generated for the test.
type testDB struct {
	ops     *sumdb.TestServer
	handler http.Handler

	mu    sync.Mutex
	known map[string][]byte // path@version → go.sum lines the log records on lookup
}

// newTestDB serves the given modules, adding them (and then filler records, so the
// tree spans several tiles) to the log in order.
func newTestDB(t testing.TB, signer string, filler int, mods ...testModule) *testDB {
	t.Helper()
	db := &testDB{known: make(map[string][]byte)}
	db.ops = sumdb.NewTestServer(signer, func(path, vers string) ([]byte, error) {
		db.mu.Lock()
		defer db.mu.Unlock()
		if data, ok := db.known[path+"@"+vers]; ok {
			return data, nil
		}
		return nil, os.ErrNotExist
	})
	db.handler = sumdb.NewServer(db.ops)
	for _, m := range mods {
		db.add(t, m.path, m.version, []byte(strings.Join(m.lines(), "\n")+"\n"))
	}
	for i := range filler {
		path := fmt.Sprintf("example.com/filler%d", i)
		db.add(t, path, "v1.0.0", fmt.Appendf(nil, "%s v1.0.0 h1:filler%d=\n%s v1.0.0/go.mod h1:fillermod%d=\n", path, i, path, i))
	}
	return db
}

// add appends a record for path@version to the log.
func (db *testDB) add(t testing.TB, path, version string, lines []byte) {
	t.Helper()
	db.mu.Lock()
	db.known[path+"@"+version] = lines
	db.mu.Unlock()
	if _, err := db.ops.Lookup(context.Background(), module.Version{Path: path, Version: version}); err != nil {
		t.Fatal(err)
	}
}

// handlerFetcher reaches a database's http.Handler in process, as a real Fetcher
// would over HTTP. rewrite, when set, tampers with each answer.
type handlerFetcher struct {
	handler atomic.Pointer[http.Handler]
	rewrite func(path string, body []byte) []byte
	calls   atomic.Int64
}

var _ Fetcher = (*handlerFetcher)(nil)

func newFetcher(h http.Handler) *handlerFetcher {
	f := &handlerFetcher{}
	f.handler.Store(&h)
	return f
}

func (f *handlerFetcher) Fetch(ctx context.Context, path string) ([]byte, error) {
	f.calls.Add(1)
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	(*f.handler.Load()).ServeHTTP(rec, req)
	body, _ := io.ReadAll(io.LimitReader(rec.Body, 1<<20))
	switch {
	case rec.Code == http.StatusNotFound || rec.Code == http.StatusGone:
		return nil, fmt.Errorf("GET %s: %d: %w", path, rec.Code, ErrNotFound)
	case rec.Code != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %d %s", path, rec.Code, bytes.TrimSpace(body))
	}
	if f.rewrite != nil {
		body = f.rewrite(path, body)
	}
	return body, nil
}

func generateKey(t testing.TB, name string) (signer, verifier string) {
	t.Helper()
	signer, verifier, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	return signer, verifier
}

func newChecker(t testing.TB, vkey string, f Fetcher, latest []byte) *Checker {
	t.Helper()
	c, err := NewChecker(CheckerOptions{VerifierKey: vkey, Fetcher: f, Latest: latest})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantKind(t *testing.T, what string, err error, kind CheckKind) *CheckError {
	t.Helper()
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Kind != kind {
		t.Fatalf("%s = %v, want a *CheckError of kind %s", what, err, kind)
	}
	return ce
}

func TestCheckerAgainstRealDatabase(t *testing.T) {
	skey, vkey := generateKey(t, testDBName)
	good := newTestModule(t, "example.com/good", "v1.2.3", "good")
	upper := newTestModule(t, "github.com/BurntSushi/toml", "v1.0.0", "toml")
	v2 := newTestModule(t, "example.com/m/v2", "v2.0.0-rc.1", "v2")
	db := newTestDB(t, skey, 300, good, upper, v2)
	f := newFetcher(db.handler)
	c := newChecker(t, vkey, f, nil)
	ctx := context.Background()

	if c.Name() != testDBName {
		t.Errorf("Name() = %q, want %q", c.Name(), testDBName)
	}
	for _, m := range []testModule{good, upper, v2} {
		if err := c.CheckZip(ctx, m.path, m.version, m.zipHash); err != nil {
			t.Errorf("CheckZip(%s@%s) = %v", m.path, m.version, err)
		}
		if err := c.CheckGoMod(ctx, m.path, m.version, m.modHash); err != nil {
			t.Errorf("CheckGoMod(%s@%s) = %v", m.path, m.version, err)
		}
		lines, err := c.Lookup(ctx, m.path, m.version)
		if err != nil || !slices.Equal(lines, m.lines()) {
			t.Errorf("Lookup(%s@%s) = %q, %v, want %q", m.path, m.version, lines, err, m.lines())
		}
	}
	if len(c.Latest()) == 0 {
		t.Error("Latest() is empty after verified lookups")
	}

	t.Run("mismatch", func(t *testing.T) {
		err := c.CheckZip(ctx, good.path, good.version, upper.zipHash)
		wantKind(t, "CheckZip(wrong hash)", err, CheckMismatch)
		err = c.CheckGoMod(ctx, good.path, good.version, good.zipHash)
		wantKind(t, "CheckGoMod(zip hash)", err, CheckMismatch)
	})
	t.Run("not found", func(t *testing.T) {
		err := c.CheckZip(ctx, "example.com/absent", "v1.0.0", good.zipHash)
		if ce := wantKind(t, "CheckZip(absent)", err, CheckNotFound); !errors.Is(ce, ErrNotFound) {
			t.Errorf("CheckZip(absent) = %v, want it to wrap ErrNotFound", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		calls := f.calls.Load()
		for _, v := range []string{"master", "v1.2", "v2.0.0", ""} {
			err := c.CheckZip(ctx, good.path, v, good.zipHash)
			wantKind(t, fmt.Sprintf("CheckZip(%q)", v), err, CheckInvalid)
		}
		if _, err := c.Lookup(ctx, "Example.com/x", "v1.0.0"); err == nil {
			t.Error("Lookup(upper-case host) succeeded")
		}
		if f.calls.Load() != calls {
			t.Error("an invalid request reached the database")
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			m := []testModule{good, upper, v2}[i%3]
			wg.Go(func() {
				if err := c.CheckZip(ctx, m.path, m.version, m.zipHash); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// TestCheckerRejectsForgedLookup serves a lookup whose record claims another hash
// for the module: the signed tree does not contain that record, so the check fails
// even though everything else the database says is genuine.
func TestCheckerRejectsForgedLookup(t *testing.T) {
	skey, vkey := generateKey(t, testDBName)
	good := newTestModule(t, "example.com/good", "v1.2.3", "good")
	evil := newTestModule(t, "example.com/good", "v1.2.3", "evil content")
	db := newTestDB(t, skey, 20, good)
	f := newFetcher(db.handler)
	f.rewrite = func(path string, body []byte) []byte {
		if strings.HasPrefix(path, "/lookup/") {
			return bytes.ReplaceAll(body, []byte(good.zipHash), []byte(evil.zipHash))
		}
		return body
	}
	c := newChecker(t, vkey, f, nil)
	err := c.CheckZip(context.Background(), evil.path, evil.version, evil.zipHash)
	wantKind(t, "CheckZip(forged record, evil hash)", err, CheckInauthentic)
	err = c.CheckZip(context.Background(), good.path, good.version, good.zipHash)
	wantKind(t, "CheckZip(forged record, true hash)", err, CheckInauthentic)
}

// TestCheckerRejectsOtherKey serves a complete, self-consistent database under the
// same name but signed with another key.
func TestCheckerRejectsOtherKey(t *testing.T) {
	_, vkey := generateKey(t, testDBName)
	otherSigner, _ := generateKey(t, testDBName)
	evil := newTestModule(t, "example.com/good", "v1.2.3", "evil content")
	db := newTestDB(t, otherSigner, 5, evil)
	c := newChecker(t, vkey, newFetcher(db.handler), nil)
	err := c.CheckZip(context.Background(), evil.path, evil.version, evil.zipHash)
	wantKind(t, "CheckZip(database signed with another key)", err, CheckInauthentic)
	if len(c.Latest()) != 0 {
		t.Errorf("Latest() = %q after an inauthentic answer, want empty", c.Latest())
	}
}

// TestCheckerRejectsTamperedTile flips a byte in every hash tile: the record's
// inclusion cannot be proved against the signed tree.
func TestCheckerRejectsTamperedTile(t *testing.T) {
	skey, vkey := generateKey(t, testDBName)
	good := newTestModule(t, "example.com/good", "v1.2.3", "good")
	db := newTestDB(t, skey, 300, good)
	f := newFetcher(db.handler)
	f.rewrite = func(path string, body []byte) []byte {
		if strings.HasPrefix(path, "/tile/") && len(body) > 0 {
			body = bytes.Clone(body)
			body[0] ^= 1
		}
		return body
	}
	c := newChecker(t, vkey, f, nil)
	err := c.CheckZip(context.Background(), good.path, good.version, good.zipHash)
	wantKind(t, "CheckZip(tampered tiles)", err, CheckInauthentic)
}

// TestCheckerDetectsFork shows the checker two trees signed with the right key that
// cannot both be true: the database (or its stolen key) told another story before.
// A restarted checker that was handed the earlier head detects it too.
func TestCheckerDetectsFork(t *testing.T) {
	skey, vkey := generateKey(t, testDBName)
	good := newTestModule(t, "example.com/good", "v1.2.3", "good")
	evil := newTestModule(t, "example.com/good", "v1.2.3", "evil content")
	other := newTestModule(t, "example.com/other", "v1.0.0", "other")
	honest := newTestDB(t, skey, 10, good, other)
	forked := newTestDB(t, skey, 40, evil, other) // larger, and not an extension

	f := newFetcher(honest.handler)
	c := newChecker(t, vkey, f, nil)
	ctx := context.Background()
	if err := c.CheckZip(ctx, good.path, good.version, good.zipHash); err != nil {
		t.Fatalf("CheckZip(honest) = %v", err)
	}
	kept := c.Latest()

	f.handler.Store(&forked.handler)
	err := c.CheckZip(ctx, other.path, other.version, other.zipHash)
	if ce := wantKind(t, "CheckZip(forked database)", err, CheckForked); !errors.Is(ce, sumdb.ErrSecurity) {
		t.Errorf("CheckZip(forked database) = %v, want it to wrap sumdb.ErrSecurity", err)
	}
	if !bytes.Equal(c.Latest(), kept) {
		t.Error("Latest() moved to the forked tree")
	}

	// A restarted checker handed the earlier head first proves that head against the
	// database's tiles; the forked database cannot serve tiles that hash to it, so
	// the check fails before the fork's own head is even read.
	restarted := newChecker(t, vkey, newFetcher(forked.handler), kept)
	err = restarted.CheckZip(ctx, evil.path, evil.version, evil.zipHash)
	wantKind(t, "CheckZip(forked database, after restart)", err, CheckInauthentic)

	// Without the earlier head, a fresh checker cannot know: the fork is only
	// detectable by remembering. This is why Latest is there to be kept.
	fresh := newChecker(t, vkey, newFetcher(forked.handler), nil)
	if err := fresh.CheckZip(ctx, evil.path, evil.version, evil.zipHash); err != nil {
		t.Fatalf("CheckZip(forked database, fresh checker) = %v", err)
	}
}

// TestCheckerFollowsGrowth checks that a tree which grows by appending is accepted.
func TestCheckerFollowsGrowth(t *testing.T) {
	skey, vkey := generateKey(t, testDBName)
	good := newTestModule(t, "example.com/good", "v1.2.3", "good")
	later := newTestModule(t, "example.com/later", "v1.0.0", "later")
	db := newTestDB(t, skey, 100, good)
	c := newChecker(t, vkey, newFetcher(db.handler), nil)
	ctx := context.Background()
	if err := c.CheckZip(ctx, good.path, good.version, good.zipHash); err != nil {
		t.Fatal(err)
	}
	before := c.Latest()
	db.add(t, later.path, later.version, []byte(strings.Join(later.lines(), "\n")+"\n"))
	if err := c.CheckZip(ctx, later.path, later.version, later.zipHash); err != nil {
		t.Fatalf("CheckZip(after growth) = %v", err)
	}
	if bytes.Equal(c.Latest(), before) {
		t.Error("Latest() did not move forward with the tree")
	}
	restarted := newChecker(t, vkey, newFetcher(db.handler), before)
	if err := restarted.CheckGoMod(ctx, later.path, later.version, later.modHash); err != nil {
		t.Fatalf("CheckGoMod(after growth, restarted from the older head) = %v", err)
	}
}

// TestCheckerTileCache checks that authenticated tiles are reused and that the cache
// stays within MaxCachedTiles.
func TestCheckerTileCache(t *testing.T) {
	skey, vkey := generateKey(t, testDBName)
	good := newTestModule(t, "example.com/good", "v1.2.3", "good")
	db := newTestDB(t, skey, 300, good)
	f := newFetcher(db.handler)
	c := newChecker(t, vkey, f, nil)
	ctx := context.Background()
	if err := c.CheckZip(ctx, good.path, good.version, good.zipHash); err != nil {
		t.Fatal(err)
	}
	first := f.calls.Load()
	if err := c.CheckZip(ctx, good.path, good.version, good.zipHash); err != nil {
		t.Fatal(err)
	}
	if again := f.calls.Load() - first; again != 1 {
		t.Errorf("a repeated check made %d fetches, want 1 (the lookup; tiles from the cache)", again)
	}

	ops := &clientOps{ctx: ctx, c: c}
	for i := range MaxCachedTiles + 10 {
		ops.WriteCache(fmt.Sprintf("%s/tile/8/0/x%03d", testDBName, i), []byte{byte(i)})
	}
	ops.WriteCache(testDBName+"/lookup/example.com/x@v1.0.0", []byte("record"))
	if n := len(c.tiles); n != MaxCachedTiles || len(c.tileOrder) != n {
		t.Errorf("cache holds %d tiles (%d in order), want %d", n, len(c.tileOrder), MaxCachedTiles)
	}
	if _, err := ops.ReadCache(testDBName + "/tile/8/0/x000"); err == nil {
		t.Error("the oldest tile was not evicted")
	}
	if _, err := ops.ReadCache(testDBName + "/lookup/example.com/x@v1.0.0"); err == nil {
		t.Error("a lookup record was cached")
	}
}

func TestCheckerUnavailable(t *testing.T) {
	_, vkey := generateKey(t, testDBName)
	down := errors.New("connection refused")
	c := newChecker(t, vkey, fetchFunc(func(context.Context, string) ([]byte, error) { return nil, down }), nil)
	err := c.CheckZip(context.Background(), "example.com/m", "v1.0.0", "h1:x=")
	if ce := wantKind(t, "CheckZip(database down)", err, CheckUnavailable); !errors.Is(ce, down) {
		t.Errorf("CheckZip(database down) = %v, want it to wrap the fetch error", err)
	}
}

func TestNewCheckerRefuses(t *testing.T) {
	_, vkey := generateKey(t, testDBName)
	f := fetchFunc(func(context.Context, string) ([]byte, error) { return nil, nil })
	for name, opts := range map[string]CheckerOptions{
		"no key":     {Fetcher: f},
		"bad key":    {VerifierKey: "sum.example.test+1234+AAAA", Fetcher: f},
		"no fetcher": {VerifierKey: vkey},
	} {
		if _, err := NewChecker(opts); err == nil {
			t.Errorf("NewChecker(%s) succeeded", name)
		}
	}
}

// fetchFunc adapts a function to Fetcher.
type fetchFunc func(ctx context.Context, path string) ([]byte, error)

func (f fetchFunc) Fetch(ctx context.Context, path string) ([]byte, error) { return f(ctx, path) }

func TestCheckKindString(t *testing.T) {
	for k, want := range map[CheckKind]string{CheckInvalid: "invalid", CheckUnavailable: "unavailable",
		CheckNotFound: "not-found", CheckInauthentic: "inauthentic", CheckForked: "forked",
		CheckMismatch: "mismatch", CheckKind(42): "CheckKind(42)"} {
		if got := k.String(); got != want {
			t.Errorf("CheckKind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}
