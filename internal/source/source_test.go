package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gated is a fake upstream: every fetch counts itself, then waits for release (or its
// context) before answering "value of {key}".
type gated struct {
	calls    atomic.Int64
	release  chan struct{}
	canceled atomic.Int64 // fetches that saw their context end
}

func newGated() *gated { return &gated{release: make(chan struct{})} }

func (g *gated) Fetch(ctx context.Context, key string) (string, error) {
	g.calls.Add(1)
	select {
	case <-g.release:
		return "value of " + key, nil
	case <-ctx.Done():
		g.canceled.Add(1)
		return "", ctx.Err()
	}
}

// waitFor polls cond until it holds, failing the test past a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

// waiters returns how many callers wait on key in f's flight, if f is a flight.
func waiters(f Fetcher[string], key string) int {
	if fl, ok := f.(*flight[string]); ok {
		return fl.waiting(key)
	}
	return 0
}

// TestSingleflightCollapses holds the upstream while n callers ask for one key: with
// the layer, all n wait on the single call in flight; without it, each of them reaches
// the upstream and the count of calls made while they all wait is n, not 1.
func TestSingleflightCollapses(t *testing.T) {
	for _, layered := range []struct {
		name string
		wrap func(Fetcher[string]) Fetcher[string]
	}{
		{"singleflight", Singleflight[string]},
		{"cached singleflight", func(f Fetcher[string]) Fetcher[string] {
			return Cached(Singleflight(f), CacheOptions[string]{})
		}},
	} {
		t.Run(layered.name, func(t *testing.T) {
			const n = 16
			up := newGated()
			f := layered.wrap(up)
			inner := f
			if c, ok := f.(*Cache[string]); ok {
				inner = c.f
			}
			var wg sync.WaitGroup
			got := make([]string, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { got[i], errs[i] = f.Fetch(context.Background(), "k") })
			}
			waitFor(t, "every caller to wait on the upstream", func() bool {
				return up.calls.Load() >= n || waiters(inner, "k") == n
			})
			if calls := up.calls.Load(); calls != 1 {
				t.Errorf("%d upstream calls while %d callers wait, want 1", calls, n)
			}
			close(up.release)
			wg.Wait()
			for i := range n {
				if errs[i] != nil || got[i] != "value of k" {
					t.Errorf("caller %d got %q, %v, want %q", i, got[i], errs[i], "value of k")
				}
			}
		})
	}
}

func TestSingleflightKeysApart(t *testing.T) {
	up := newGated()
	f := Singleflight[string](up)
	var wg sync.WaitGroup
	for _, k := range []string{"a", "b", "a", "b"} {
		wg.Go(func() { _, _ = f.Fetch(context.Background(), k) })
	}
	waitFor(t, "both keys to be fetched", func() bool { return up.calls.Load() == 2 && waiters(f, "a")+waiters(f, "b") == 4 })
	close(up.release)
	wg.Wait()
	if calls := up.calls.Load(); calls != 2 {
		t.Errorf("%d upstream calls for two keys, want 2", calls)
	}
}

// TestSingleflightRemembersNothing: once a fetch returns, the next caller fetches
// again.
func TestSingleflightRemembersNothing(t *testing.T) {
	var calls atomic.Int64
	f := Singleflight[string](Func[string](func(context.Context, string) (string, error) {
		calls.Add(1)
		return "v", nil
	}))
	for range 3 {
		if v, err := f.Fetch(context.Background(), "k"); err != nil || v != "v" {
			t.Fatalf("Fetch = %q, %v", v, err)
		}
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls for 3 sequential fetches, want 3", calls.Load())
	}
}

// TestSingleflightCancel: a caller that gives up gets its context's error without
// failing the others; the fetch is cancelled only when the last waiter leaves.
func TestSingleflightCancel(t *testing.T) {
	up := newGated()
	f := Singleflight[string](up)
	quitter, quit := context.WithCancel(context.Background())
	stayer, stay := context.WithCancel(context.Background())
	defer stay()
	var wg sync.WaitGroup
	var quitErr, stayErr error
	var stayVal string
	wg.Go(func() { _, quitErr = f.Fetch(quitter, "k") })
	wg.Go(func() { stayVal, stayErr = f.Fetch(stayer, "k") })
	waitFor(t, "both callers to wait", func() bool { return waiters(f, "k") == 2 })
	quit()
	waitFor(t, "the quitter to leave", func() bool { return waiters(f, "k") == 1 })
	if up.canceled.Load() != 0 {
		t.Fatal("the fetch was cancelled while a caller still waited for it")
	}
	close(up.release)
	wg.Wait()
	if !errors.Is(quitErr, context.Canceled) {
		t.Errorf("quitter's error = %v, want context.Canceled", quitErr)
	}
	if stayErr != nil || stayVal != "value of k" {
		t.Errorf("stayer got %q, %v, want the value", stayVal, stayErr)
	}

	// The last waiter leaving cancels the fetch, and the next caller starts anew.
	up2 := newGated()
	f2 := Singleflight[string](up2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := f2.Fetch(ctx, "k"); done <- err }()
	waitFor(t, "the caller to wait", func() bool { return waiters(f2, "k") == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch after cancel = %v, want context.Canceled", err)
	}
	waitFor(t, "the abandoned fetch to be cancelled", func() bool { return up2.canceled.Load() == 1 })
	close(up2.release)
	if v, err := f2.Fetch(context.Background(), "k"); err != nil || v != "value of k" {
		t.Errorf("Fetch after an abandoned one = %q, %v", v, err)
	}
	if up2.calls.Load() != 2 {
		t.Errorf("%d upstream calls, want 2 (the abandoned one and a fresh one)", up2.calls.Load())
	}
}

// TestSingleflightKeepsValues: the shared fetch sees the starting caller's context
// values.
func TestSingleflightKeepsValues(t *testing.T) {
	type key struct{}
	f := Singleflight[string](Func[string](func(ctx context.Context, _ string) (string, error) {
		v, _ := ctx.Value(key{}).(string)
		return v, nil
	}))
	if v, _ := f.Fetch(context.WithValue(context.Background(), key{}, "carried"), "k"); v != "carried" {
		t.Errorf("the fetch saw %q, want the caller's context value", v)
	}
}

func TestSingleflightPanic(t *testing.T) {
	f := Singleflight[string](Func[string](func(context.Context, string) (string, error) { panic("boom") }))
	_, err := f.Fetch(context.Background(), "k")
	if err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Errorf("Fetch of a panicking fetcher = %v, want an error naming the panic", err)
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// scripted answers each key from a table and counts calls per key.
type scripted struct {
	mu     sync.Mutex
	calls  map[string]int
	answer func(key string) (string, error)
}

func (s *scripted) Fetch(_ context.Context, key string) (string, error) {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[key]++
	s.mu.Unlock()
	return s.answer(key)
}

func (s *scripted) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[key]
}

var (
	errGone = Permanent(errors.New("gone"))
	errDown = errors.New("down")
)

func TestCache(t *testing.T) {
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	up := &scripted{answer: func(key string) (string, error) {
		switch key {
		case "gone":
			return "", errGone
		case "down":
			return "", errDown
		case "canceled":
			return "", fmt.Errorf("wrapped: %w", context.Canceled)
		case "long":
			return "long-lived", nil
		}
		return "v:" + key, nil
	}}
	c := Cached[string](up, CacheOptions[string]{
		TTL: time.Minute, ErrorTTL: 10 * time.Second, Now: clk.Now,
		TTLOf: func(v string) time.Duration {
			if v == "long-lived" {
				return time.Hour
			}
			return time.Minute
		},
	})
	ctx := context.Background()
	tests := []struct {
		name      string
		key       string
		advance   time.Duration
		wantCalls int
		wantErr   error
	}{
		{"first fetch", "a", 0, 1, nil},
		{"reused", "a", 59 * time.Second, 1, nil},
		{"expired", "a", time.Second, 2, nil},
		{"permanent failure", "gone", 0, 1, errGone},
		{"permanent failure reused", "gone", 9 * time.Second, 1, errGone},
		{"permanent failure expired", "gone", time.Second, 2, errGone},
		{"temporary failure", "down", 0, 1, errDown},
		{"temporary failure not kept", "down", 0, 2, errDown},
		{"cancellation not kept", "canceled", 0, 1, context.Canceled},
		{"cancellation not kept, again", "canceled", 0, 2, context.Canceled},
		{"own ttl", "long", 0, 1, nil},
		{"own ttl outlives the default", "long", 30 * time.Minute, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.advance(tt.advance)
			_, err := c.Fetch(ctx, tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Fetch(%q) error = %v, want %v", tt.key, err, tt.wantErr)
			}
			if got := up.count(tt.key); got != tt.wantCalls {
				t.Errorf("Fetch(%q): %d upstream calls in all, want %d", tt.key, got, tt.wantCalls)
			}
		})
	}
	c.Forget("long")
	if _, _ = c.Fetch(ctx, "long"); up.count("long") != 2 {
		t.Errorf("Fetch after Forget made %d calls in all, want 2", up.count("long"))
	}
}

func TestCacheBounds(t *testing.T) {
	up := &scripted{answer: func(key string) (string, error) { return key, nil }}
	ctx := context.Background()

	t.Run("entries, least recently used first", func(t *testing.T) {
		c := Cached[string](up, CacheOptions[string]{MaxEntries: 2})
		_, _ = c.Fetch(ctx, "e1")
		_, _ = c.Fetch(ctx, "e2")
		_, _ = c.Fetch(ctx, "e1") // e2 is now the least recently used
		_, _ = c.Fetch(ctx, "e3")
		if c.Len() != 2 {
			t.Errorf("Len() = %d, want 2", c.Len())
		}
		_, _ = c.Fetch(ctx, "e1")
		_, _ = c.Fetch(ctx, "e2")
		if up.count("e1") != 1 || up.count("e2") != 2 {
			t.Errorf("calls e1=%d e2=%d, want 1 and 2 (e2 evicted, e1 kept)", up.count("e1"), up.count("e2"))
		}
	})
	t.Run("bytes", func(t *testing.T) {
		c := Cached[string](up, CacheOptions[string]{MaxBytes: 10, SizeOf: func(v string) int64 { return int64(len(v)) }})
		_, _ = c.Fetch(ctx, "bbbbbb")
		_, _ = c.Fetch(ctx, "cccccc") // 12 bytes: bbbbbb leaves
		_, _ = c.Fetch(ctx, "way-too-heavy-to-keep")
		if c.Len() != 1 {
			t.Errorf("Len() = %d, want 1", c.Len())
		}
		_, _ = c.Fetch(ctx, "cccccc")
		_, _ = c.Fetch(ctx, "way-too-heavy-to-keep")
		if up.count("cccccc") != 1 || up.count("way-too-heavy-to-keep") != 2 {
			t.Errorf("calls cccccc=%d heavy=%d, want 1 and 2", up.count("cccccc"), up.count("way-too-heavy-to-keep"))
		}
	})
	t.Run("no ttl keeps nothing", func(t *testing.T) {
		c := Cached[string](up, CacheOptions[string]{TTLOf: func(string) time.Duration { return 0 }})
		_, _ = c.Fetch(ctx, "z")
		if c.Len() != 0 {
			t.Errorf("Len() = %d, want 0", c.Len())
		}
	})
}

type classified struct{ temporary bool }

func (c classified) Error() string   { return "classified" }
func (c classified) Temporary() bool { return c.temporary }

func TestIsTemporary(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unclassified", errors.New("x"), true},
		{"permanent", Permanent(io.EOF), false},
		{"wrapped permanent", fmt.Errorf("ctx: %w", Permanent(io.EOF)), false},
		{"says temporary", classified{true}, true},
		{"says permanent", classified{false}, false},
		{"outermost decides", fmt.Errorf("%w", Permanent(classified{true})), false},
		{"cancellation beats a permanent mark", Permanent(context.Canceled), true},
		{"deadline", context.DeadlineExceeded, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTemporary(tt.err); got != tt.want {
				t.Errorf("IsTemporary(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if !errors.Is(Permanent(io.EOF), io.EOF) || Permanent(io.EOF).Error() != io.EOF.Error() {
		t.Error("Permanent does not keep its error's chain and text")
	}
}
