package app

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
)

// Soak settings. The load is bounded in clients, in time and to loopback.
const (
	soakWorkers        = 8
	soakClientDeadline = 2 * time.Second
	soakFaultRate      = 0.3                     // share of upstream requests that misbehave
	soakStallMax       = 1500 * time.Millisecond // a soak stall always ends
	soakProbeEvery     = time.Second
	// soakProbeDeadline bounds each continuous check: generous, because the machine is
	// loaded on purpose (and, under -race, slowed).
	soakProbeDeadline = 5 * time.Second
	soakCacheMaxBytes = 32 << 20
	// Ceilings checked while the load runs.
	soakGoroutinesPerWorker = 40
	soakHeapCeiling         = 512 << 20
	// soakMaxViolations stops the run early: past it, more of the same says nothing new.
	soakMaxViolations = 500
)

// TestSoak drives a bounded pool of clients through the whole request path for
// ECLUSE_SOAK (a duration) while both fake upstreams misbehave at random, and checks the
// fault suite's invariants on every answer, continuously while it runs, and at the end.
// The random choices come from one seed, logged, which ECLUSE_SOAK_SEED replays.
func TestSoak(t *testing.T) {
	spec := os.Getenv("ECLUSE_SOAK")
	if spec == "" {
		t.Skip("opt-in soak test: set ECLUSE_SOAK to a duration to run it, e.g. ECLUSE_SOAK=3m go test -race -count=1 -run Soak ./internal/app/ (ECLUSE_SOAK_SEED=<n> replays a run)")
	}
	dur, err := time.ParseDuration(spec)
	if err != nil || dur <= 0 {
		t.Fatalf("ECLUSE_SOAK=%q: want a positive duration such as 3m", spec)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ECLUSE_SOAK_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("ECLUSE_SOAK_SEED=%q: want an unsigned integer", s)
		}
	}
	t.Logf("soak for %s, %d clients, seed %d (replay with ECLUSE_SOAK_SEED=%d)", dur, soakWorkers, seed, seed)

	h := newHarness(t, map[string]string{
		"PROXY_PACKUMENT_CACHE_TTL_SECONDS": "1", // documents are fetched again, and faulted again, all the time
		"PROXY_PACKUMENT_CACHE_MAX_BYTES":   strconv.Itoa(soakCacheMaxBytes),
	})
	pkgs := soakPackages(h)
	in := newInjector(seed, h, pkgs)
	base := h.baseline()
	h.pub.setFaultChooser(in.chooser(h.pub))
	h.priv.setFaultChooser(in.chooser(h.priv))

	st := &soakStats{outcomes: map[string]int{}, violations: map[string]int{}}
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	deadline := time.Now().Add(dur)
	t.Cleanup(func() {
		t.Logf("soak: ended %s after the load began", time.Since(deadline.Add(-dur)).Round(time.Millisecond))
	})

	// Half the clients keep connections alive, as package managers do; the other half
	// open one per request, where the HTTP client cannot quietly retry a request whose
	// reused connection died before the answer (so an answer-less failure is seen).
	oneShot := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	var load, side sync.WaitGroup
	for w := range soakWorkers {
		client := h.client
		if w%2 == 1 {
			client = oneShot
		}
		load.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)+1))
			for time.Now().Before(deadline) {
				select {
				case <-stop:
					return
				default:
				}
				op := pickOp(rng, pkgs)
				ctx, cancel := context.WithTimeout(context.Background(), soakClientDeadline)
				r := h.doWith(ctx, client, op.path, op.accept)
				cancel()
				outcome, violation := op.check(r, h.proxy.URL)
				st.record(op, outcome, violation)
				if st.violationCount() >= soakMaxViolations {
					halt()
				}
			}
		})
	}
	// Outages: now and then the private registry fails everything for a while.
	side.Go(func() { in.outages(stop, deadline) })
	// The continuous checks: liveness, a normal request, goroutines and heap.
	var peakGoroutines atomic.Int64
	peakHeap := startHeapSampler()
	side.Go(func() {
		tick := time.NewTicker(soakProbeEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			st.probe(h, base, &peakGoroutines)
		}
	})
	start := time.Now()
	load.Wait()
	halt()
	side.Wait()
	peak := peakHeap.stop()
	t.Logf("soak: load ran %s past its start", time.Since(start).Round(time.Millisecond))

	// The end: faults stop, and everything is served correctly again.
	h.pub.setFaultChooser(nil)
	h.priv.setFaultChooser(nil)
	h.pub.releaseStalls()
	h.priv.releaseStalls()
	for _, p := range pkgs {
		pollUntil(t, settleWithin, "serve "+p.spec.name+" after the soak", func() string {
			return docProblems(h.get("/"+p.spec.name), p.want, h.proxy.URL, false)
		})
	}
	h.healthy()
	for _, name := range []string{"corp-lib", "corp-other"} {
		if n := h.pub.hitCount(tarballPathOf(name, "9.9.9")); n != 0 {
			t.Errorf("the public look-alike tarball of private %s was fetched %d times, want 0", name, n)
		}
	}

	t.Logf("soak: %s", st.summary())
	t.Logf("soak: faults injected: %s", in.summary())
	t.Logf("soak: peak %d goroutines (baseline %d), peak heap in use %d MiB (baseline %d MiB)",
		peakGoroutines.Load(), base.goroutines, peak>>20, base.inuse()>>20)
	st.report(t)
	// Expired cache entries may stay until evicted: allow the caches' whole budget.
	h.settleWithin(base, soakCacheMaxBytes)
}

// soakPkg is one package the soak asks for, and what a correct answer holds.
type soakPkg struct {
	spec   pkgSpec
	origin string // the registry that serves its tarballs
	want   served
}

// soakPackages publishes the soak's public packages (some of them a few MB) and returns
// every package the clients ask for.
func soakPackages(h *harness) []soakPkg {
	pkgs := []soakPkg{
		{spec: leftPad, origin: "public", want: leftPadServed},
		{spec: corpLib, origin: "private", want: corpLibServed},
		{spec: corpOther, origin: "private", want: corpOtherServed},
	}
	for i := range 6 {
		p := pkgSpec{name: fmt.Sprintf("soak-%d", i), latest: "2.0.0", versions: []pkgVersion{{"1.0.0", oldAge}, {"1.5.0", agedAge}, {"2.0.0", youngAge}}}
		var o docOptions
		if i < 2 {
			// Large documents: a few MB of description.
			o.extraTop = `,"description":"` + strings.Repeat("abcdefgh", (2*i+1)<<17) + `"` // 1 and 3 MiB
		}
		h.pub.publishWith(p, o)
		pkgs = append(pkgs, soakPkg{spec: p, origin: "public", want: served{name: p.name, source: "public", versions: []string{"1.0.0", "1.5.0"}, latest: "1.5.0", absent: []string{"2.0.0"}}})
	}
	return pkgs
}

// soakOp is one client request and what a correct answer to it is.
type soakOp struct {
	kind    string // "packument", "abbreviated", "version", "tarball"
	pkg     soakPkg
	version string
	allowed bool // the version may be served (admitted, or private)
	path    string
	accept  string
}

func pickOp(rng *rand.Rand, pkgs []soakPkg) soakOp {
	p := pkgs[rng.IntN(len(pkgs))]
	v := p.spec.versions[rng.IntN(len(p.spec.versions))].v
	op := soakOp{pkg: p, version: v, allowed: slices.Contains(p.want.versions, v), accept: acceptFull}
	switch n := rng.IntN(10); {
	case n < 3:
		op.kind, op.path = "packument", "/"+p.spec.name
	case n < 5:
		op.kind, op.path, op.accept = "abbreviated", "/"+p.spec.name, acceptNPM
	case n < 6:
		op.kind, op.path = "version", "/"+p.spec.name+"/"+v
	default:
		op.kind, op.path = "tarball", npm.TarballPath(p.spec.name, v)
	}
	return op
}

// failureStatuses are the statuses a request may get while its upstreams misbehave.
var failureStatuses = []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// check classifies an answer and returns a violation of the invariants, or "".
func (op soakOp) check(r reply, proxyURL string) (outcome, violation string) {
	name := op.pkg.spec.name
	if isDeadline(r.err) {
		return "client deadline", "" // before the answer, or while reading it
	}
	if r.status == 0 {
		return "no response", fmt.Sprintf("%s %s: no response and no JSON error: %v", op.kind, op.path, r.err)
	}
	if r.status != http.StatusOK {
		msg, problem := errorMessage(r)
		if problem != "" {
			return "bad error", fmt.Sprintf("%s %s: status %d: %s", op.kind, op.path, r.status, problem)
		}
		// A 403 is relayed from the private registry, whichever package it is about.
		want := append(slices.Clip(failureStatuses), http.StatusForbidden)
		switch {
		case op.kind == "version" && !op.allowed:
			want = append(want, http.StatusNotFound)
		case op.kind == "tarball":
			want = append(want, http.StatusNotFound) // the upstream has no such file
		}
		if !slices.Contains(want, r.status) {
			return "bad error", fmt.Sprintf("%s %s: status %d (%q), want one of %v", op.kind, op.path, r.status, msg, want)
		}
		if !strings.Contains(msg, name) && r.status != http.StatusServiceUnavailable {
			return "bad error", fmt.Sprintf("%s %s: error %q does not name %s", op.kind, op.path, msg, name)
		}
		return strconv.Itoa(r.status), ""
	}
	switch op.kind {
	case "packument", "abbreviated":
		if r.err != nil {
			return "cut", fmt.Sprintf("%s %s: a document was cut: %v", op.kind, op.path, r.err)
		}
		if p := docProblems(r, op.pkg.want, proxyURL, op.kind == "abbreviated"); p != "" {
			return "wrong document", fmt.Sprintf("%s %s: %s", op.kind, op.path, p)
		}
	case "version":
		var m struct{ Name, Version string }
		if r.err != nil || json.Unmarshal(r.body, &m) != nil || m.Name != name || m.Version != op.version {
			return "wrong document", fmt.Sprintf("version %s: got %s", op.path, r.describe())
		}
		if !op.allowed {
			return "denied served", fmt.Sprintf("version %s: %s@%s must not be served", op.path, name, op.version)
		}
	case "tarball":
		if !op.allowed {
			return "denied served", fmt.Sprintf("tarball %s: %s@%s must not be served (got %d bytes)", op.path, name, op.version, len(r.body))
		}
		if r.err != nil {
			return "cut", "" // the stream was cut: the client knows it is incomplete
		}
		if string(r.body) != string(tarballBytes(op.pkg.origin, name, op.version)) {
			return "wrong bytes", fmt.Sprintf("tarball %s: a complete body of %d bytes that are not the %s registry's", op.path, len(r.body), op.pkg.origin)
		}
	}
	return "200", ""
}

// soakStats counts outcomes and keeps the first example of each kind of violation.
type soakStats struct {
	mu         sync.Mutex
	outcomes   map[string]int
	violations map[string]int
	examples   []string
	total      int
	probeMax   time.Duration // the slowest continuous check
}

func (s *soakStats) record(op soakOp, outcome, violation string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[op.kind+" "+outcome]++
	if violation == "" {
		return
	}
	s.total++
	if s.violations[outcome] == 0 && len(s.examples) < 20 {
		s.examples = append(s.examples, violation)
	}
	s.violations[outcome]++
}

func (s *soakStats) violation(kind, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	if s.violations[kind] == 0 && len(s.examples) < 20 {
		s.examples = append(s.examples, msg)
	}
	s.violations[kind]++
}

func (s *soakStats) violationCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// probe is one round of the continuous checks.
func (s *soakStats) probe(h *harness, base usage, peak *atomic.Int64) {
	probe := func(path string) reply {
		ctx, cancel := context.WithTimeout(context.Background(), soakProbeDeadline)
		defer cancel()
		r := h.do(ctx, path, acceptFull)
		s.mu.Lock()
		s.probeMax = max(s.probeMax, r.elapsed)
		s.mu.Unlock()
		return r
	}
	if r := probe("/-/ping"); r.err != nil || r.status != http.StatusOK {
		s.violation("liveness", "GET /-/ping during the soak: "+r.describe())
	}
	// steady is never faulted, but the private side is asked about it first and may
	// be in an outage: then a clear 502 is right.
	r := probe("/steady")
	if r.status == http.StatusBadGateway || r.status == http.StatusServiceUnavailable {
		if _, problem := errorMessage(r); problem != "" {
			s.violation("health", "GET /steady during the soak: "+problem)
		}
	} else if p := docProblems(r, steadyServed, h.proxy.URL, false); p != "" {
		s.violation("health", "GET /steady during the soak: "+p)
	}
	g := int64(runtime.NumGoroutine())
	if g > peak.Load() {
		peak.Store(g)
	}
	if ceiling := base.goroutines + soakWorkers*soakGoroutinesPerWorker; int(g) > ceiling {
		s.violation("goroutines", fmt.Sprintf("%d goroutines during the soak, over the ceiling of %d", g, ceiling))
	}
	if inuse := heapInuse(); inuse > base.inuse()+soakHeapCeiling {
		s.violation("heap", fmt.Sprintf("heap in use %d MiB during the soak, over the ceiling of %d MiB", inuse>>20, (base.inuse()+soakHeapCeiling)>>20))
	}
}

func (s *soakStats) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.Sorted(maps.Keys(s.outcomes))
	parts := make([]string, len(keys))
	n := 0
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, s.outcomes[k])
		n += s.outcomes[k]
	}
	return fmt.Sprintf("%d requests: %s; slowest health probe %s", n, strings.Join(parts, ", "), s.probeMax.Round(time.Millisecond))
}

func (s *soakStats) report(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total == 0 {
		return
	}
	kinds := slices.Sorted(maps.Keys(s.violations))
	counts := make([]string, len(kinds))
	for i, k := range kinds {
		counts[i] = fmt.Sprintf("%s=%d", k, s.violations[k])
	}
	t.Errorf("%d invariant violations during the soak (%s); first of each kind:\n  %s",
		s.total, strings.Join(counts, ", "), strings.Join(s.examples, "\n  "))
}

// injector picks, per upstream request, whether and how the registry misbehaves.
type injector struct {
	mu     sync.Mutex
	rng    *rand.Rand
	counts map[string]int
	docs   map[*fakeRegistry]map[string][]namedFault // per registry, per document path
	h      *harness
	outage atomic.Bool
}

type namedFault struct {
	name  string
	fault fault
}

func newInjector(seed uint64, h *harness, pkgs []soakPkg) *injector {
	in := &injector{rng: rand.New(rand.NewPCG(seed, 0)), counts: map[string]int{}, h: h, docs: map[*fakeRegistry]map[string][]namedFault{}}
	// Every document path on both sides may meet every document fault: a hostile
	// document is refused wherever it comes from, and a transport fault on the private
	// side fails public names too.
	for _, reg := range []*fakeRegistry{h.pub, h.priv} {
		in.docs[reg] = map[string][]namedFault{}
		for _, p := range pkgs {
			var list []namedFault
			for _, c := range docCases {
				if c.want == stalled {
					continue // the soak stalls with its own bounded stall
				}
				list = append(list, namedFault{"doc " + c.name, c.fault(reg, p.spec)})
			}
			in.docs[reg]["/"+p.spec.name] = list
		}
	}
	return in
}

// tarballFaults are the faults a tarball request may meet; byte faults on the public
// side only (private tarballs are trusted, not verified).
func tarballFaults(public bool) []namedFault {
	var list []namedFault
	for _, c := range tarballCases {
		if c.want == tarballStalled || (c.publicOnly && !public) {
			continue
		}
		list = append(list, namedFault{"tarball " + c.name, c.fault("soak")})
	}
	return list
}

// chooser returns reg's per-request fault choice.
func (in *injector) chooser(reg *fakeRegistry) func(path string) fault {
	tarballs := tarballFaults(reg == in.h.pub)
	return func(path string) fault {
		if strings.HasPrefix(path, "/steady") || strings.HasPrefix(path, "/fresh-") {
			return nil // the health checks' packages are never faulted
		}
		if reg == in.h.priv && in.outage.Load() {
			return faultStatus(http.StatusServiceUnavailable)
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.rng.Float64() >= soakFaultRate {
			return nil
		}
		var list []namedFault
		switch {
		case strings.Contains(path, "/-/"):
			list = tarballs
		default:
			list = in.docs[reg][path]
		}
		// A bounded stall, then the normal answer, can meet any request.
		list = append(slices.Clip(list), namedFault{"stall", faultStallFor(time.Duration(in.rng.Int64N(int64(soakStallMax))))})
		nf := list[in.rng.IntN(len(list))]
		in.counts[nf.name]++
		return nf.fault
	}
}

// outages takes the private registry's answers to 503 for random windows.
func (in *injector) outages(stop <-chan struct{}, deadline time.Time) {
	in.mu.Lock()
	rng := rand.New(rand.NewPCG(in.rng.Uint64(), 7))
	in.mu.Unlock()
	for time.Now().Before(deadline) {
		wait := time.NewTimer(time.Duration(5+rng.IntN(10)) * time.Second) // the outage schedule, not synchronisation
		select {
		case <-stop:
			wait.Stop()
			return
		case <-wait.C:
		}
		in.outage.Store(true)
		in.mu.Lock()
		in.counts["private outage"]++
		in.mu.Unlock()
		down := time.NewTimer(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
		select {
		case <-stop:
		case <-down.C:
		}
		down.Stop()
		in.outage.Store(false)
	}
}

func (in *injector) summary() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	keys := slices.Sorted(maps.Keys(in.counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, in.counts[k])
	}
	return strings.Join(parts, ", ")
}

// faultStallFor sends nothing for d (or until released, or the reader gives up), then
// answers normally.
func faultStallFor(d time.Duration) fault {
	return func(w http.ResponseWriter, r *http.Request, normal []byte, release <-chan struct{}) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-release:
		case <-r.Context().Done():
			return
		}
		serveNormal(w, normal)
	}
}
