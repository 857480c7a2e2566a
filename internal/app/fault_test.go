package app

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
)

// The fault suite drives the whole request path (Load, buildFront, the front door,
// the gate, the upstream clients and the egress guard) against hostile fake registries.
// For every case it asserts that nothing the policy denies is served, that the client
// gets a clear JSON error with a sensible status (or, for a tarball already streaming,
// a cut connection), that the proxy then serves normal requests correctly, and that
// goroutines and the live heap come back to where they were.

// side is the registry a fault is aimed at, and the package it is aimed at there.
type side struct {
	name string
	// faulty is the registry the fault is set on; other is the one that must not be
	// asked in its place.
	faulty, other func(h *harness) *fakeRegistry
	pkg           pkgSpec
	want          served
}

var sides = []side{
	{name: "public", faulty: func(h *harness) *fakeRegistry { return h.pub }, other: func(h *harness) *fakeRegistry { return h.priv }, pkg: leftPad, want: leftPadServed},
	{name: "private", faulty: func(h *harness) *fakeRegistry { return h.priv }, other: func(h *harness) *fakeRegistry { return h.pub }, pkg: corpLib, want: corpLibServed},
}

// outcome is how the proxy must answer a request whose upstream misbehaves.
type outcome int

const (
	// refused: a JSON 502 naming the package.
	refused outcome = iota
	// servedOK: the correct, filtered document, however slowly it came.
	servedOK
	// stalled: the client's own deadline ends the request (or the proxy answers a JSON
	// 502 or 504 first); everything else keeps being served meanwhile.
	stalled
	// deniedUpstream: an upstream 403: relayed from the private side, a 502 from the
	// public side (read anonymously, its refusal is a failure, not the caller's).
	deniedUpstream
)

// docCase is one way an upstream can answer a package document request.
type docCase struct {
	name  string
	fault func(reg *fakeRegistry, p pkgSpec) fault
	want  outcome
}

func plain(f fault) func(*fakeRegistry, pkgSpec) fault {
	return func(*fakeRegistry, pkgSpec) fault { return f }
}

// hostile serves the package's own document, altered by o.
func hostile(o docOptions) func(*fakeRegistry, pkgSpec) fault {
	return func(reg *fakeRegistry, p pkgSpec) fault { return faultBody(docJSON(reg.origin, reg.URL(), p, o)) }
}

// nest is an array value nested depth levels deep.
func nest(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }

var docCases = []docCase{
	{name: "503", fault: plain(faultStatus(http.StatusServiceUnavailable)), want: refused},
	{name: "500", fault: plain(faultStatus(http.StatusInternalServerError)), want: refused},
	{name: "403", fault: plain(faultStatus(http.StatusForbidden)), want: deniedUpstream},
	{name: "reset before headers", fault: plain(faultResetBeforeHeaders), want: refused},
	{name: "reset mid-body", fault: func(reg *fakeRegistry, p pkgSpec) fault {
		doc := docJSON(reg.origin, reg.URL(), p, docOptions{})
		return func(w http.ResponseWriter, r *http.Request, _ []byte, rel <-chan struct{}) {
			faultResetMidBody(w, r, doc, rel)
		}
	}, want: refused},
	{name: "closes early", fault: plain(faultCloseEarly), want: refused},
	{name: "stall before headers", fault: plain(faultStallHeaders), want: stalled},
	{name: "stall mid-body", fault: plain(faultStallBody), want: stalled},
	{name: "drip", fault: plain(faultDrip(30, 5*time.Millisecond)), want: servedOK},
	{name: "gzip bomb", fault: func(_ *fakeRegistry, p pkgSpec) fault { return faultGzipBomb(p.name, 1024) }, want: refused},
	{name: "truncated document", fault: func(reg *fakeRegistry, p pkgSpec) fault {
		doc := docJSON(reg.origin, reg.URL(), p, docOptions{})
		return faultBody(doc[:len(doc)/2])
	}, want: refused},
	{name: "not JSON", fault: plain(faultBody([]byte("<html><body>maintenance</body></html>"))), want: refused},
	{name: "deep nesting", fault: hostile(docOptions{extraManifest: `,"x":` + nest(40)}), want: refused},
	{name: "deeper than the decoder allows", fault: hostile(docOptions{extraTop: `,"x":` + nest(20000)}), want: refused},
	{name: "version flood", fault: func(reg *fakeRegistry, p pkgSpec) fault {
		flood := pkgSpec{name: p.name, latest: "1.0.0"}
		for i := range 41 { // PROXY_MAX_VERSION_COUNT is 40
			flood.versions = append(flood.versions, pkgVersion{v: fmt.Sprintf("1.0.%d", i), age: oldAge})
		}
		return faultBody(docJSON(reg.origin, reg.URL(), flood, docOptions{fakeDigests: true}))
	}, want: refused},
	{name: "name mismatch", fault: hostile(docOptions{name: "evil-pad"}), want: refused},
	{name: "invalid UTF-8", fault: hostile(docOptions{extraTop: `,"description":"bad ` + "\xff\xfe" + `"`}), want: refused},
	{name: "invalid UTF-8 in a manifest", fault: hostile(docOptions{extraManifest: `,"description":"` + "\xc3\x28" + `"`}), want: refused},
	{name: "repeated versions member", fault: hostile(docOptions{dupVersions: []pkgVersion{{"6.6.6", oldAge}}}), want: refused},
	{name: "repeated version key", fault: hostile(docOptions{dupVersionKey: true}), want: refused},
	{name: "repeated time entry", fault: hostile(docOptions{dupTime: true}), want: refused},
	{name: "repeated integrity", fault: hostile(docOptions{dupIntegrity: true}), want: refused},
	{name: "repeated dist-tag", fault: hostile(docOptions{dupLatest: true}), want: refused},
}

func TestFaultPackument(t *testing.T) {
	for _, sd := range sides {
		t.Run(sd.name, func(t *testing.T) {
			for _, tc := range docCases {
				t.Run(tc.name, func(t *testing.T) {
					h := newHarness(t, nil)
					base := h.baseline()
					reg, other := sd.faulty(h), sd.other(h)
					path := "/" + sd.pkg.name
					otherBefore := other.hitCount(path)
					reg.setFault(pathIs(path), tc.fault(reg, sd.pkg))

					switch tc.want {
					case refused:
						h.wantJSONError(h.get(path), sd.pkg.name, http.StatusBadGateway)
						h.wantJSONError(h.npm(path), sd.pkg.name, http.StatusBadGateway)
					case deniedUpstream:
						status := http.StatusBadGateway
						if sd.name == "private" {
							status = http.StatusForbidden
						}
						h.wantJSONError(h.get(path), sd.pkg.name, status)
					case servedOK:
						h.wantServed(h.get(path), sd.want)
					case stalled:
						h.wantStalled(path, base)
					}
					if sd.name == "private" && tc.want != servedOK {
						if n := other.hitCount(path) - otherBefore; n != 0 {
							t.Errorf("the private registry failed for %s and the public one was asked %d times, want 0 (no fallback)", sd.pkg.name, n)
						}
					}

					// The upstream recovers: failures were not cached, and the same
					// package is served correctly, filtered as before.
					reg.setFault(nil, nil)
					reg.releaseStalls()
					pollUntil(t, settleWithin, "serve "+sd.pkg.name+" once its upstream recovers", func() string {
						r := h.get(path)
						if r.status == http.StatusBadGateway && tc.want == stalled {
							return r.describe() // a request that joined the stalled fetch as it failed
						}
						return docProblems(r, sd.want, h.proxy.URL, false)
					})
					h.wantServedAbbreviated(h.npm(path), sd.want)
					h.healthy()
					h.settle(base)
				})
			}
		})
	}
}

// npm sends GET path as npm does (preferring the abbreviated form).
func (h *harness) npm(path string) reply {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	return h.do(ctx, path, acceptNPM)
}

// stallDeadline is the client's own deadline for a request whose upstream stalls.
const stallDeadline = 300 * time.Millisecond

// stallGoroutines bounds the goroutines one stalled upstream request may pin.
const stallGoroutines = 24

// wantStalled sends path with a short client deadline while its upstream stalls and
// asserts that the request ends by that deadline (or with a JSON 502/504), that the proxy
// keeps serving everything else meanwhile, and that the stall pins few goroutines.
func (h *harness) wantStalled(path string, base usage) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stallDeadline)
	r := h.do(ctx, path, acceptNPM)
	cancel()
	switch {
	case isDeadline(r.err):
		// Ended by the client's deadline: before any response, or cut mid-body.
		if r.elapsed > stallDeadline+2*time.Second {
			h.t.Errorf("the client's %s deadline ended the request only after %s", stallDeadline, r.elapsed)
		}
		if r.status == http.StatusOK && strings.Contains(path, "/-/") {
			break // a tarball that was streaming: cut, and the client knows it
		}
		if r.status != 0 {
			h.t.Errorf("stalled %s: got %s, want no response before the client's deadline", path, r.describe())
		}
	default:
		h.wantJSONError(r, "", http.StatusBadGateway, http.StatusGatewayTimeout)
	}
	h.healthy()
	if g := runtime.NumGoroutine(); g > base.goroutines+stallGoroutines {
		h.t.Errorf("%d goroutines while one upstream stalls, want at most %d (baseline %d + %d)", g, base.goroutines+stallGoroutines, base.goroutines, stallGoroutines)
	}
}

// tarballOutcome is how the proxy must answer a tarball request whose upstream
// misbehaves.
type tarballOutcome int

const (
	tarballBadGateway tarballOutcome = iota // a JSON 502 before any byte
	tarballNotFound                         // a JSON 404
	tarballCut                              // the stream is cut: never a complete body
	tarballOK                               // the exact bytes, however slowly
	tarballStalled                          // ended by the client's deadline; nothing stays pinned
)

type tarballCase struct {
	name  string
	fault func(name string) fault
	want  tarballOutcome
	// publicOnly: the private registry is trusted and its tarballs are not verified
	// against the document's digest, so byte faults apply to the public side only.
	publicOnly bool
	// mismatch: the proxy must log an integrity mismatch.
	mismatch bool
	// sent is how many (decoded) bytes the faulted upstream sends, when the client must
	// get fewer; zero means not checked.
	sent int
}

func tplain(f fault) func(string) fault { return func(string) fault { return f } }

var tarballCases = []tarballCase{
	{name: "502", fault: tplain(faultStatus(http.StatusBadGateway)), want: tarballBadGateway},
	{name: "404", fault: tplain(faultStatus(http.StatusNotFound)), want: tarballNotFound},
	{name: "reset before headers", fault: tplain(faultResetBeforeHeaders), want: tarballBadGateway},
	// Nothing has reached the client when the upstream fails before the first byte of
	// the body, so a clear JSON 502 is still possible, and owed.
	{name: "reset after headers", fault: tplain(faultResetAfterHeaders), want: tarballBadGateway},
	{name: "reset mid-body", fault: tplain(faultResetMidBody), want: tarballCut},
	{name: "closes early", fault: tplain(faultCloseEarly), want: tarballCut},
	{name: "wrong bytes", fault: tplain(faultWrongBytes(false)), want: tarballCut, publicOnly: true, mismatch: true, sent: tarballSize},
	{name: "wrong bytes without a length", fault: tplain(faultWrongBytes(true)), want: tarballCut, publicOnly: true, mismatch: true, sent: tarballSize},
	{name: "gzip bomb", fault: func(name string) fault { return faultGzipBomb(name, 8) }, want: tarballCut, publicOnly: true, mismatch: true},
	{name: "drip", fault: tplain(faultDrip(30, 5*time.Millisecond)), want: tarballOK},
	{name: "stall before headers", fault: tplain(faultStallHeaders), want: tarballStalled},
	{name: "stall mid-body", fault: tplain(faultStallBody), want: tarballStalled},
}

func TestFaultTarball(t *testing.T) {
	for _, sd := range sides {
		t.Run(sd.name, func(t *testing.T) {
			for _, tc := range tarballCases {
				if tc.publicOnly && sd.name != "public" {
					continue
				}
				t.Run(tc.name, func(t *testing.T) {
					h := newHarness(t, nil)
					base := h.baseline()
					reg, other := sd.faulty(h), sd.other(h)
					name, version := sd.pkg.name, sd.pkg.versions[0].v
					path := npm.TarballPath(name, version)
					// The install reads the document first, then the tarball.
					h.wantServed(h.get("/"+name), sd.want)
					otherBefore := other.hitCount(tarballPathOf(name, version)) + other.hitCount(tarballPathOf(name, "9.9.9"))
					mismatches := h.logs.count(logIntegrityMismatch)
					reg.setFault(pathIs(tarballPathOf(name, version)), tc.fault(name))

					switch tc.want {
					case tarballBadGateway:
						h.wantJSONError(h.get(path), name, http.StatusBadGateway)
					case tarballNotFound:
						h.wantJSONError(h.get(path), name, http.StatusNotFound)
					case tarballCut:
						r := h.get(path)
						h.wantCut(r, sd.name, name, version)
						if tc.sent > 0 && len(r.body) >= tc.sent {
							t.Errorf("tarball %s@%s: %d bytes of a mismatching body reached the client, want fewer than the %d sent", name, version, len(r.body), tc.sent)
						}
						t.Logf("%d bytes reached the client", len(r.body))
					case tarballOK:
						h.wantTarball(h.get(path), sd.name, name, version)
					case tarballStalled:
						h.wantStalled(path, base)
						// A tarball is read within its request: once the client has
						// gone, nothing stays pinned, even while the upstream stalls.
						h.settle(base)
					}
					if tc.mismatch {
						pollUntil(t, settleWithin, "log the integrity mismatch", func() string {
							if h.logs.count(logIntegrityMismatch) == mismatches {
								return "no integrity mismatch logged"
							}
							return ""
						})
					}
					if n := other.hitCount(tarballPathOf(name, version)) + other.hitCount(tarballPathOf(name, "9.9.9")) - otherBefore; n != 0 {
						t.Errorf("the %s registry failed and the other one was asked for the tarball %d times, want 0", sd.name, n)
					}

					reg.setFault(nil, nil)
					reg.releaseStalls()
					h.wantTarball(h.get(path), sd.name, name, version)
					h.healthy()
					h.settle(base)
				})
			}
		})
	}
}

// TestFaultPrivateDownMidInstall takes the private registry down in the middle of an
// install: what is already resolved keeps its source, nothing falls back to the
// public side (whose look-alikes of the private names must never be served), and each
// client request gets a clear 502.
func TestFaultPrivateDownMidInstall(t *testing.T) {
	for _, tc := range []struct {
		name     string
		down, up func(t *testing.T, h *harness)
	}{
		{
			name: "5xx",
			down: func(_ *testing.T, h *harness) { h.priv.setFault(anyPath, faultStatus(http.StatusServiceUnavailable)) },
			up:   func(_ *testing.T, h *harness) { h.priv.setFault(nil, nil) },
		},
		{
			name: "reset",
			down: func(_ *testing.T, h *harness) { h.priv.setFault(anyPath, faultResetBeforeHeaders) },
			up:   func(_ *testing.T, h *harness) { h.priv.setFault(nil, nil) },
		},
		{
			name: "connection refused",
			down: func(_ *testing.T, h *harness) { h.priv.stop() },
			up:   func(t *testing.T, h *harness) { h.priv.start(t) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			base := h.baseline()
			h.wantServed(h.get("/corp-lib"), corpLibServed)
			h.wantTarball(h.get(npm.TarballPath("corp-lib", "1.0.0")), "private", "corp-lib", "1.0.0")
			watched := []string{"/corp-other", "/left-pad", tarballPathOf("corp-lib", "9.9.9"), tarballPathOf("corp-other", "9.9.9"), tarballPathOf("corp-lib", "1.1.0")}
			before := make([]int, len(watched))
			for i, p := range watched {
				before[i] = h.pub.hitCount(p)
			}

			tc.down(t, h)
			// The document already resolved may be served from the cache, correctly;
			// anything else is a 502.
			if r := h.get("/corp-lib"); r.status == http.StatusOK {
				h.wantServed(r, corpLibServed)
			} else {
				h.wantJSONError(r, "corp-lib", http.StatusBadGateway)
			}
			h.wantJSONError(h.get(npm.TarballPath("corp-lib", "1.1.0")), "corp-lib", http.StatusBadGateway)
			h.wantJSONError(h.get("/corp-other"), "corp-other", http.StatusBadGateway)
			h.wantJSONError(h.npm("/corp-other"), "corp-other", http.StatusBadGateway)
			h.wantJSONError(h.get(npm.TarballPath("corp-other", "2.0.0")), "corp-other", http.StatusBadGateway)
			h.wantJSONError(h.get(npm.TarballPath("corp-other", "9.9.9")), "corp-other", http.StatusBadGateway)
			h.wantJSONError(h.get("/left-pad"), "left-pad", http.StatusBadGateway)
			for i, p := range watched {
				if n := h.pub.hitCount(p) - before[i]; n != 0 {
					t.Errorf("with the private registry down, the public one was asked for %s %d times, want 0", p, n)
				}
			}

			tc.up(t, h)
			h.wantServed(h.get("/corp-other"), corpOtherServed)
			h.wantTarball(h.get(npm.TarballPath("corp-lib", "1.1.0")), "private", "corp-lib", "1.1.0")
			h.wantServed(h.get("/left-pad"), leftPadServed)
			h.healthy()
			h.settle(base)
		})
	}
}

// TestFaultMemoryBudget asks for many different 60 MB documents at once. The bytes of
// upstream metadata being read or parsed at once are bounded by PROXY_MAX_INFLIGHT_BYTES:
// a fetch that would exceed it waits for room, up to a bound, and then fails with a 503,
// a JSON error and Retry-After. The peak heap must stay near the budget, not grow with
// the number of concurrent requests.
func TestFaultMemoryBudget(t *testing.T) {
	const (
		docSize = 60_000_000
		docs    = 8
		budget  = 128 << 20
		// Each byte in flight costs about 1.5 bytes once parsed (the document plus its
		// index), and the collector lets the heap reach about twice what is live before
		// it runs: three times the budget, over the baseline, is the most it may reach.
		peakBound = 3 * budget
	)
	h := newHarness(t, map[string]string{
		"PROXY_MAX_RESPONSE_BYTES":        strconv.Itoa(64 << 20),
		"PROXY_MAX_INFLIGHT_BYTES":        strconv.Itoa(budget),
		"PROXY_PACKUMENT_CACHE_MAX_BYTES": strconv.Itoa(1 << 20),
	})
	h.pub.setFaultChooser(func(p string) fault {
		if name, ok := strings.CutPrefix(p, "/"); ok && strings.HasPrefix(name, "big-") {
			return faultBigDoc(h.pub.URL(), name, docSize)
		}
		return nil
	})
	base := h.baseline()
	sampler := startHeapSampler()
	replies := make([]reply, docs)
	var wg sync.WaitGroup
	for i := range docs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			replies[i] = h.do(ctx, fmt.Sprintf("/big-%d", i), acceptNPM)
		})
	}
	wg.Wait()
	peak := sampler.stop()

	nServed, rejected := 0, 0
	for i, r := range replies {
		name := fmt.Sprintf("big-%d", i)
		switch r.status {
		case http.StatusOK:
			nServed++
			if p := docProblems(r, served1(name), h.proxy.URL, true); p != "" {
				t.Errorf("GET /%s: %s", name, p)
			}
		case http.StatusServiceUnavailable:
			rejected++
			h.wantJSONError(r, "", http.StatusServiceUnavailable)
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s <= 0 {
				t.Errorf("GET /%s: 503 with Retry-After %q, want a positive number of seconds", name, r.header.Get("Retry-After"))
			}
		default:
			t.Errorf("GET /%s: got %s, want 200 or 503 with Retry-After", name, r.describe())
		}
	}
	t.Logf("%d documents of %d MB at once: %d served, %d refused with 503; peak heap %d MiB over a baseline of %d MiB",
		docs, docSize/1_000_000, nServed, rejected, (peak-base.inuse())>>20, base.inuse()>>20)
	if nServed == 0 {
		t.Errorf("none of the %d documents was served; the budget must admit one at a time at least", docs)
	}
	if grew := peak - min(peak, base.inuse()); grew > peakBound {
		t.Errorf("peak heap grew %d MiB over the baseline with %d documents of %d MB in flight, want at most %d MiB (3 x PROXY_MAX_INFLIGHT_BYTES)",
			grew>>20, docs, docSize/1_000_000, peakBound>>20)
	}
	h.healthy()
	h.settle(base)
}

// served1 is what a served big document holds: the old version only.
func served1(name string) served {
	return served{name: name, source: "public", versions: []string{"1.0.0"}, latest: "1.0.0", absent: []string{"2.0.0"}}
}

// heapInuse reads the bytes in in-use heap spans (HeapInuse) without stopping the world.
func heapInuse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// inuse is the heap in use at the baseline (measured after collection).
func (u usage) inuse() uint64 { return u.heapInuse }

// heapSampler records the peak of heapInuse until stopped.
type heapSampler struct {
	stopc chan struct{}
	done  chan uint64
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stopc: make(chan struct{}), done: make(chan uint64)}
	go func() {
		peak := heapInuse()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stopc:
				s.done <- max(peak, heapInuse())
				return
			case <-tick.C:
				peak = max(peak, heapInuse())
			}
		}
	}()
	return s
}

// stop ends sampling and returns the peak.
func (s *heapSampler) stop() uint64 {
	close(s.stopc)
	return <-s.done
}
