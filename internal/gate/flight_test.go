package gate

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitingIn returns how many callers wait on the call in flight under key in f, when f
// is a singleflight layer (0 otherwise).
func waitingIn(f docFetcher, key string) int {
	if w, ok := f.(interface{ waiting(key string) int }); ok {
		return w.waiting(key)
	}
	return 0
}

// publicReq asks for the public document of name.
func publicReq(name string) docRequest {
	return docRequest{key: docKey(SourcePublic, name, ""), src: &docSource{origin: SourcePublic}, name: name}
}

// answering returns a fakeDocs answer that always gives doc as downloaded.
func answering(doc *fetched) func(docRequest) (*fetched, freshness, error) {
	return func(docRequest) (*fetched, freshness, error) { return doc, downloaded, nil }
}

// TestDocFlightCollapses holds the upstream while n callers ask for one document: with
// the layer, all n wait on the one call in flight and the upstream is called once;
// without it, every caller reaches the upstream, and the count while they all wait is
// n, not 1. Nothing is cached here, so no caller can be answered any other way.
func TestDocFlightCollapses(t *testing.T) {
	const n = 16
	doc := testDoc(t, "pkg", "1.0.0", now)
	up := &fakeDocs{release: make(chan struct{}), answer: answering(doc)}
	var f docFetcher = newDocFlight(up, time.Minute)
	req := publicReq("pkg")
	var wg sync.WaitGroup
	got := make([]*fetched, n)
	fresh := make([]freshness, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { got[i], fresh[i], errs[i] = f.Fetch(context.Background(), req) })
	}
	waitUntil(t, "every caller to wait on the upstream", func() bool {
		return up.calls.Load() >= n || (waitingIn(f, req.flightKey()) == n && up.calls.Load() >= 1)
	})
	if calls := up.calls.Load(); calls != 1 {
		t.Errorf("%d upstream calls while %d callers wait for one document, want 1", calls, n)
	}
	close(up.release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != doc || fresh[i] != downloaded {
			t.Errorf("caller %d got %p, %v, %v; want the one document, downloaded", i, got[i], fresh[i], errs[i])
		}
	}
}

// TestDocFlightKeysApart: documents of other keys, and a revalidation of a document
// being fetched plainly, do not share a call.
func TestDocFlightKeysApart(t *testing.T) {
	doc := testDoc(t, "a", "1.0.0", now)
	up := &fakeDocs{release: make(chan struct{}), answer: answering(doc)}
	f := newDocFlight(up, time.Minute)
	a, b := publicReq("a"), publicReq("b")
	revalidation := a
	revalidation.prev = doc
	reqs := []docRequest{a, b, revalidation, a, b, revalidation}
	var wg sync.WaitGroup
	for _, req := range reqs {
		wg.Go(func() { _, _, _ = f.Fetch(context.Background(), req) })
	}
	waitUntil(t, "every caller to wait", func() bool {
		return f.waiting(a.flightKey())+f.waiting(b.flightKey())+f.waiting(revalidation.flightKey()) == len(reqs) && up.calls.Load() == 3
	})
	close(up.release)
	wg.Wait()
	if calls := up.calls.Load(); calls != 3 {
		t.Errorf("%d upstream calls for a, b and a revalidation of a, want 3", calls)
	}
}

// TestDocFlightAsksAnew: once a caller is answered, the next request is a new call; it
// is never given the answer of a call that ended before it was made (a revalidation
// made after a caller's access was revoked must reach the upstream).
func TestDocFlightAsksAnew(t *testing.T) {
	doc := testDoc(t, "pkg", "1.0.0", now)
	up := &fakeDocs{answer: answering(doc)}
	f := newDocFlight(up, time.Minute)
	const n = 200
	for range n {
		if _, _, err := f.Fetch(context.Background(), publicReq("pkg")); err != nil {
			t.Fatal(err)
		}
	}
	if calls := up.calls.Load(); calls != n {
		t.Errorf("%d upstream calls for %d requests made one after the other, want %d", calls, n, n)
	}
}

// TestDocFlightDetached: a caller that gives up gets its context's error without
// failing the others or the fetch, which runs to its end even when every caller gave
// up; a request made meanwhile joins it.
func TestDocFlightDetached(t *testing.T) {
	doc := testDoc(t, "pkg", "1.0.0", now)
	req := publicReq("pkg")

	t.Run("one caller gives up", func(t *testing.T) {
		up := &fakeDocs{release: make(chan struct{}), answer: answering(doc)}
		f := newDocFlight(up, time.Minute)
		quitter, quit := context.WithCancel(context.Background())
		var quitErr, stayErr error
		var stayDoc *fetched
		var wg sync.WaitGroup
		wg.Go(func() { _, _, quitErr = f.Fetch(quitter, req) })
		wg.Go(func() { stayDoc, _, stayErr = f.Fetch(context.Background(), req) })
		waitUntil(t, "both callers to wait", func() bool { return f.waiting(req.flightKey()) == 2 && up.calls.Load() == 1 })
		quit()
		waitUntil(t, "the quitter to leave", func() bool { return f.waiting(req.flightKey()) == 1 })
		close(up.release)
		wg.Wait()
		if !errors.Is(quitErr, context.Canceled) {
			t.Errorf("the quitter's error = %v, want context.Canceled", quitErr)
		}
		if stayErr != nil || stayDoc != doc {
			t.Errorf("the caller who stayed got %p, %v; want the document", stayDoc, stayErr)
		}
		if up.canceled.Load() != 0 {
			t.Error("the fetch was cancelled when one of its callers gave up")
		}
	})
	t.Run("every caller gives up", func(t *testing.T) {
		up := &fakeDocs{release: make(chan struct{}), answer: answering(doc)}
		f := newDocFlight(up, time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, _, err := f.Fetch(ctx, req); done <- err }()
		waitUntil(t, "the caller to wait", func() bool { return f.waiting(req.flightKey()) == 1 && up.calls.Load() == 1 })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Fetch after its caller gave up = %v, want context.Canceled", err)
		}
		joined := make(chan *fetched, 1)
		go func() { d, _, _ := f.Fetch(context.Background(), req); joined <- d }()
		waitUntil(t, "the late caller to join", func() bool { return f.waiting(req.flightKey()) == 1 })
		close(up.release)
		if d := <-joined; d != doc {
			t.Errorf("the late caller got %p, want the document of the fetch it joined", d)
		}
		if up.calls.Load() != 1 || up.canceled.Load() != 0 || up.finished.Load() != 1 {
			t.Errorf("calls %d, cancelled %d, finished %d; want one call, run to its end", up.calls.Load(), up.canceled.Load(), up.finished.Load())
		}
	})
	t.Run("the fetch keeps the values of its first caller's context", func(t *testing.T) {
		type key struct{}
		var seen any
		f := newDocFlight(docFetcherFunc(func(ctx context.Context, _ docRequest) (*fetched, freshness, error) {
			seen = ctx.Value(key{})
			return doc, downloaded, nil
		}), time.Minute)
		if _, _, err := f.Fetch(context.WithValue(context.Background(), key{}, "carried"), req); err != nil || seen != "carried" {
			t.Errorf("the fetch saw %v (err %v), want its caller's context value", seen, err)
		}
	})
}

// docFetcherFunc adapts a function to docFetcher.
type docFetcherFunc func(ctx context.Context, req docRequest) (*fetched, freshness, error)

func (f docFetcherFunc) Fetch(ctx context.Context, req docRequest) (*fetched, freshness, error) {
	return f(ctx, req)
}

// TestDocFlightTimeout: the shared fetch, which no caller's deadline bounds, is bounded
// by the layer's own timeout.
func TestDocFlightTimeout(t *testing.T) {
	up := &fakeDocs{release: make(chan struct{}), answer: answering(nil)} // never released
	f := newDocFlight(up, 20*time.Millisecond)
	if _, _, err := f.Fetch(context.Background(), publicReq("pkg")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Fetch of a fetch that never ends = %v, want its deadline exceeded", err)
	}
}

func TestDocFlightPanic(t *testing.T) {
	f := newDocFlight(docFetcherFunc(func(context.Context, docRequest) (*fetched, freshness, error) { panic("boom") }), time.Minute)
	_, _, err := f.Fetch(context.Background(), publicReq("pkg"))
	if err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Errorf("Fetch of a panicking fetch = %v, want an error naming the panic", err)
	}
}

// TestConcurrentRequestsShareOneFetch is TestSingleflight through the whole gate, made
// so that it fails without the singleflight layer: eight requests for one public
// document are held until all eight wait on the one call in flight (or, without the
// layer, have all reached the registry), so none can be answered from the cache.
func TestConcurrentRequestsShareOneFetch(t *testing.T) {
	f := newFixture(t, "", nil)
	f.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day})
	release := make(chan struct{})
	f.pub.delay = release
	const n = 8
	key := docKey(SourcePublic, "left-pad", "")
	var flight docFetcher
	if c, ok := f.gate.docs.(*docCache); ok {
		flight = c.next
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = f.gate.Packument(context.Background(), Query{Name: "left-pad"}) })
	}
	waitUntil(t, "every request to wait on the public document", func() bool {
		hits := f.pub.hitCount("/left-pad")
		return hits >= n || (waitingIn(flight, key) == n && hits >= 1)
	})
	if hits := f.pub.hitCount("/left-pad"); hits != 1 {
		t.Errorf("the public document was fetched %d times while %d requests waited for it, want 1", hits, n)
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
}
