package e2e

// BenchmarkCompare puts Écluse side by side with the peer a team would otherwise run
// (Verdaccio, proxying the same public registry) and with a floor (a minimal Go server
// handing out the same bytes from memory), all in one run on one machine, and prints the
// figures, their ratios and the targets they are held to. See "Side by side" in
// docs/performance.md.
//
//	make bench-compare
//	VEGETA=/path/to/vegeta go test -run '^$' -bench Compare -benchtime 1x -timeout 60m ./e2e/
//
// With -short every sample count and load duration is cut down, to try the harness quickly;
// its figures are not the measurement.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Documents of the comparison. The small ones have the sizes most packages have; the big
// ones have 3,000 and 3,500 versions, 20 and 25 MB, like the largest real packages.
// cmpBigFiltered is as big upstream, but 2,400 of its 3,000 versions are inside the 7-day
// quarantine, so Écluse withholds them and serves about 4 MB.
var (
	cmpSmall = []genSpec{
		{Versions: 3, VersionBytes: 1500},
		{Versions: 12, VersionBytes: 1600},
		{Versions: 40, VersionBytes: 2000},
		{Versions: 200, VersionBytes: 2200},
	}
	cmpBig20       = genSpec{Versions: 3000, VersionBytes: 6600}
	cmpBigFiltered = genSpec{Versions: 3000, VersionBytes: 6600, Young: 2400}
	cmpBig25       = genSpec{Versions: 3500, VersionBytes: 7100}
)

// acceptFull asks for the full document (npm view, and tools reading time or readmes).
const acceptFull = "application/json"

// cmpEncodings are the two ways every document is asked for: Accept-Encoding: identity
// (sent explicitly, as vegeta's Go client would otherwise ask for gzip itself) and gzip.
var cmpEncodings = []string{"identity", "gzip"}

// cmpDoc is one document as requested: a generated package and the form asked for.
type cmpDoc struct {
	label  string // upstream size and form, for the tables
	name   string // the package name of its warm copy
	accept string
	tmpl   []byte // generatePackument's output
}

// cmpPlan holds the sample counts and load durations of one run.
type cmpPlan struct {
	smallCold, smallWarm int           // Écluse cold samples (fresh names) and warm samples per name, small documents
	bigCold, bigWarm     int           // the same for big documents
	peerCold, peerWarm   int           // the same for Verdaccio, both sizes: its big path costs seconds
	load, sustained      time.Duration // each side's warm-throughput run; its sustained mixed run
	chunk                time.Duration // the sides of a load run take turns of this long
	ciRounds             int           // npm ci runs per side
}

func cmpPlanFor(short bool) cmpPlan {
	if short {
		return cmpPlan{
			smallCold: 1, smallWarm: 3, bigCold: 1, bigWarm: 2, peerCold: 1, peerWarm: 1,
			load: 2 * time.Second, sustained: 4 * time.Second, chunk: 2 * time.Second, ciRounds: 1,
		}
	}
	return cmpPlan{
		smallCold: 3, smallWarm: 20, bigCold: 3, bigWarm: 5, peerCold: 1, peerWarm: 2,
		load: 10 * time.Second, sustained: 30 * time.Second, chunk: 5 * time.Second, ciRounds: 3,
	}
}

// rawClient measures single requests: it never asks for gzip itself nor inflates a body,
// so what is timed and counted is the bytes on the wire.
var rawClient = &http.Client{
	Timeout: 5 * time.Minute,
	Transport: &http.Transport{
		Proxy:              nil,
		DisableCompression: true,
		IdleConnTimeout:    30 * time.Second,
	},
}

// answer is one response to a GET: how long it took until the last byte was read, the
// body length and the headers, and the body when asked to keep it.
type answer struct {
	dur    time.Duration
	size   int
	header http.Header
	body   []byte
}

// encodingServed is the Content-Encoding of an answer, "identity" when absent.
func (a answer) encodingServed() string {
	if ce := a.header.Get("Content-Encoding"); ce != "" {
		return ce
	}
	return "identity"
}

// getDoc sends GET path to the server at base (srv, when it is a subprocess, else nil)
// with Accept accept and Accept-Encoding enc and reads the answer whole, failing the
// benchmark unless it is a 200.
func getDoc(tb testing.TB, srv *Proc, base, path, accept, enc string, keep bool) answer {
	tb.Helper()
	url := base + path
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("Accept-Encoding", enc)
	start := time.Now()
	resp, err := rawClient.Do(req)
	if err != nil {
		if srv != nil && srv.Exited() {
			tb.Fatalf("GET %s: %v; %s has exited (%v)", url, err, srv.Name, srv.state)
		}
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		tb.Fatalf("GET %s (Accept %q, Accept-Encoding %s) = %d, want 200; body: %s", url, accept, enc, resp.StatusCode, msg)
	}
	var (
		body []byte
		n    int64
	)
	if keep {
		body, err = io.ReadAll(resp.Body)
		n = int64(len(body))
	} else {
		n, err = io.Copy(io.Discard, resp.Body)
	}
	d := time.Since(start)
	if err != nil {
		tb.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return answer{dur: d, size: int(n), header: resp.Header, body: body}
}

// cmpRun is the state shared by the parts of one comparison.
type cmpRun struct {
	b      *testing.B
	plan   cmpPlan
	vegeta string
	docs   *genDocs
	env    map[string]string // Écluse's environment
	floor  *floorServer
}

// record fetches each document from Écluse at p, in both encodings, and has the floor
// serve exactly those answers at the same paths. It also warms Écluse's caches.
func (c *cmpRun) record(p *Proc, docs []cmpDoc) {
	c.b.Helper()
	for _, d := range docs {
		for _, enc := range cmpEncodings {
			a := getDoc(c.b, p, p.URL, packumentPath(d.name), d.accept, enc, true)
			c.floor.Record(packumentPath(d.name), d.accept, enc == "gzip", floorRep{
				body:            a.body,
				contentType:     a.header.Get("Content-Type"),
				contentEncoding: a.header.Get("Content-Encoding"),
				etag:            a.header.Get("ETag"),
			})
		}
	}
}

// BenchmarkCompare runs the whole comparison once (whatever b.N) and prints its tables.
func BenchmarkCompare(b *testing.B) {
	vegeta := vegetaBinary(b)
	plan := cmpPlanFor(testing.Short())
	out := os.Stdout
	started := time.Now()
	loadBefore := loadAverage()

	public := newFixtureRegistry(b)
	docs := newGenDocs(public)
	private := httptest.NewServer(http.NotFoundHandler())
	b.Cleanup(private.Close)
	env := baseEnv(public.URL, private.URL)
	// Until its default is raised, the upstream size limit must admit 25 MB documents.
	env["PROXY_MAX_RESPONSE_BYTES"] = "67108864"
	c := &cmpRun{b: b, plan: plan, vegeta: vegeta, docs: docs, env: env, floor: newFloorServer(b)}

	now := time.Now()
	gen := func(label, name, accept string, s genSpec) cmpDoc {
		tmpl := generatePackument(b, s, public.URL, now)
		docs.Put(name, tmpl)
		return cmpDoc{label: label, name: name, accept: accept, tmpl: tmpl}
	}
	var small []cmpDoc
	for i, s := range cmpSmall {
		d := gen("", fmt.Sprintf("bench-small-%d", i), npmAccept, s)
		d.label = "small " + fmtBytes(len(d.tmpl)) + ", abbreviated"
		small = append(small, d)
	}
	big20 := gen("20 MB, full", "bench-big20", acceptFull, cmpBig20)
	big20abbr := big20
	big20abbr.label, big20abbr.accept = "20 MB, abbreviated", npmAccept
	bigFiltered := gen("4 MB filtered (20 MB upstream), full", "bench-big-filtered", acceptFull, cmpBigFiltered)
	big25 := gen("25 MB, full", "bench-big25", acceptFull, cmpBig25)

	ecluse := startEcluse(b, env)
	verdaccio, verdaccioVersion := startVerdaccioProxy(b, public.URL)
	c.record(ecluse, append(slices.Clone(small), bigFiltered, big20, big20abbr))
	for _, d := range small { // Verdaccio's first answers are slow while node compiles its code
		getDoc(b, verdaccio, verdaccio.URL, packumentPath(d.name), d.accept, "identity", false)
	}

	fmt.Fprintf(out, "\nÉcluse side by side with Verdaccio %s and the floor: %s; %d CPUs; %s; node %s; load average at start %s.\n",
		verdaccioVersion, started.UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.Version(), nodeVersion(), loadBefore)
	fmt.Fprintf(out, "Load generator: %s.\n", vegeta)
	fmt.Fprintf(out, "Documents generated: %s.\n", docSizes(append(slices.Clone(small), big20, bigFiltered, big25)))

	// 1. One request at a time: cold (a name no server has seen) and warm.
	var rows []latencyRow
	for _, d := range append(slices.Clone(small), bigFiltered, big20, big20abbr) {
		for _, enc := range cmpEncodings {
			rows = append(rows, c.measureLatency(ecluse, verdaccio, d, enc))
		}
	}
	printLatency(out, rows)

	// 2. Warm throughput at 64 clients.
	sets := []loadSet{
		{label: "small mix (4 documents, abbreviated)", docs: small, peer: true},
		{label: bigFiltered.label, docs: []cmpDoc{bigFiltered}},
		{label: big20.label, docs: []cmpDoc{big20}},
	}
	var loads []loadRow
	for _, s := range sets {
		for _, enc := range cmpEncodings {
			loads = append(loads, c.measureLoad(ecluse, verdaccio, s, enc))
		}
	}
	printLoad(out, loads)
	verdaccio.stop()
	ecluse.stop()

	// 3. Sustained mixed load on a fresh Écluse, both big documents in the mix.
	sus := c.measureSustained(append(slices.Clone(small), bigFiltered, big20, big25))
	printSustained(out, sus)

	// 4. npm ci of 1,040 packages, direct and through Écluse.
	ci := compareNPMCI(b, public, env, plan.ciRounds)
	printCI(out, ci)

	targets := cmpTargets(rows, loads, sus, ci)
	printTargets(out, targets)
	b.ReportMetric(float64(sus.rssPeak)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(median(ci.cold))/float64(median(ci.direct)), "npm-ci-cold-x-direct")
	fmt.Fprintf(out, "\nTotal %s; load average at end %s.\n\n", time.Since(started).Round(time.Second), loadAverage())
}

// latencyRow is one document in one encoding, one request at a time: medians of the cold
// and warm samples through Écluse and Verdaccio, and of the floor's answers.
type latencyRow struct {
	doc, enc                 string
	ecluseSize, peerSize     int
	ecluseServed, peerServed string // Content-Encoding served
	ecluseCold, ecluseWarm   time.Duration
	peerCold, peerWarm       time.Duration
	floor                    time.Duration
}

// measureLatency times d in encoding enc, one request at a time. On each server it asks
// for a few names never asked for before (each a copy of d's document): first the cold
// request, then warm ones on the same name. Each warm request to Écluse is followed by one
// to the floor, so that both are sampled under the same conditions.
func (c *cmpRun) measureLatency(ecluse, peer *Proc, d cmpDoc, enc string) latencyRow {
	b := c.b
	b.Helper()
	cold, warm := c.plan.bigCold, c.plan.bigWarm
	if len(d.tmpl) < 1<<20 {
		cold, warm = c.plan.smallCold, c.plan.smallWarm
	}
	form := "full"
	if d.accept == npmAccept {
		form = "abbreviated"
	}
	var floor []time.Duration
	side := func(srv *Proc, colds, warms int) (size int, served string, coldMed, warmMed time.Duration) {
		isEcluse := srv == ecluse
		cache := func(a answer, name, want string) {
			if got := a.header.Get("X-Ecluse-Cache"); isEcluse && got != want {
				b.Fatalf("GET %s: X-Ecluse-Cache = %q, want %q", name, got, want)
			}
		}
		var cs, ws []time.Duration
		for i := range colds {
			name := fmt.Sprintf("%s-%s-%s-%s-%d", d.name, form, srv.Name, enc, i)
			c.docs.Put(name, d.tmpl)
			a := getDoc(b, srv, srv.URL, packumentPath(name), d.accept, enc, false)
			cache(a, name, "miss")
			cs = append(cs, a.dur)
			size, served = a.size, a.encodingServed()
			for range warms {
				a := getDoc(b, srv, srv.URL, packumentPath(name), d.accept, enc, false)
				cache(a, name, "hit")
				ws = append(ws, a.dur)
				if isEcluse {
					floor = append(floor, getDoc(b, nil, c.floor.URL, packumentPath(d.name), d.accept, enc, false).dur)
				}
			}
			c.docs.Drop(name)
		}
		return size, served, median(cs), median(ws)
	}
	row := latencyRow{doc: d.label, enc: enc}
	row.ecluseSize, row.ecluseServed, row.ecluseCold, row.ecluseWarm = side(ecluse, cold, warm)
	row.peerSize, row.peerServed, row.peerCold, row.peerWarm = side(peer, c.plan.peerCold, c.plan.peerWarm)
	row.floor = median(floor)
	return row
}

// loadSet is what one warm-throughput run asks for, in turn.
type loadSet struct {
	label string
	docs  []cmpDoc
	peer  bool // run Verdaccio too (only where its warm path costs milliseconds, not seconds)
}

// loadRow is one load set in one encoding at 64 clients, on each server.
type loadRow struct {
	set, enc     string
	served       string // Content-Encoding Écluse serves for it
	floor, ecl   loadResult
	peer         *loadResult
	bytesPerResp int // mean body size Écluse served
}

func (c *cmpRun) targets(base string, docs []cmpDoc, enc string) []loadTarget {
	var ts []loadTarget
	for _, d := range docs {
		ts = append(ts, loadTarget{url: base + packumentPath(d.name), header: http.Header{"Accept": {d.accept}, "Accept-Encoding": {enc}}})
	}
	return ts
}

// measureLoad runs s in encoding enc against the floor, Écluse and, for a peer set,
// Verdaccio, one after the other, each warmed first.
func (c *cmpRun) measureLoad(ecluse, peer *Proc, s loadSet, enc string) loadRow {
	c.b.Helper()
	row := loadRow{set: s.label, enc: enc}
	total := 0
	for _, d := range s.docs {
		a := getDoc(c.b, ecluse, ecluse.URL, packumentPath(d.name), d.accept, enc, false)
		row.served, total = a.encodingServed(), total+a.size
		if s.peer {
			getDoc(c.b, peer, peer.URL, packumentPath(d.name), d.accept, enc, false)
		}
	}
	row.bytesPerResp = total / len(s.docs)
	sides := [][]loadTarget{c.targets(c.floor.URL, s.docs, enc), c.targets(ecluse.URL, s.docs, enc)}
	if s.peer {
		sides = append(sides, c.targets(peer.URL, s.docs, enc))
	}
	res := compareLoad(c.b, c.vegeta, sides, c.plan.load, c.plan.chunk)
	row.floor, row.ecl = res[0], res[1]
	if s.peer {
		row.peer = &res[2]
	}
	return row
}

// sustained is the mixed run: every document in both encodings, in turn, at 64 clients.
type sustained struct {
	targets          int
	floor, ecl       loadResult
	rssWarm, rssPeak int64 // Écluse's VmHWM after warming, and after the run
}

// measureSustained starts a fresh Écluse, warms it with one request per target (which
// also records the floor's answers), and runs the mix against the floor and then Écluse.
func (c *cmpRun) measureSustained(docs []cmpDoc) sustained {
	c.b.Helper()
	p := startEcluse(c.b, c.env)
	defer p.stop()
	c.record(p, docs)
	var s sustained
	s.rssWarm = peakRSS(c.b, p.cmd.Process.Pid)
	var fl, ec []loadTarget
	for _, enc := range cmpEncodings {
		fl = append(fl, c.targets(c.floor.URL, docs, enc)...)
		ec = append(ec, c.targets(p.URL, docs, enc)...)
	}
	s.targets = len(ec)
	res := compareLoad(c.b, c.vegeta, [][]loadTarget{fl, ec}, c.plan.sustained, c.plan.chunk)
	s.floor, s.ecl = res[0], res[1]
	s.rssPeak = peakRSS(c.b, p.cmd.Process.Pid)
	return s
}

// target is one line of the targets table.
type target struct {
	what, measured, bound, verdict string
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

// cmpTargets holds the figures to the targets.
func cmpTargets(rows []latencyRow, loads []loadRow, sus sustained, ci ciTimes) []target {
	var ts []target
	for _, l := range loads {
		if strings.HasPrefix(l.set, "20 MB") {
			continue
		}
		r := l.ecl.Throughput / l.floor.Throughput
		ts = append(ts, target{
			what:     fmt.Sprintf("warm packument RPS, Écluse / floor: %s, %s", l.set, l.enc),
			measured: fmtRatio(r), bound: ">= 0.8x", verdict: verdict(r >= 0.8),
		})
	}
	for _, r := range rows {
		if r.doc != "20 MB, full" {
			continue
		}
		x := float64(r.peerWarm) / float64(r.ecluseWarm)
		ts = append(ts, target{
			what:     fmt.Sprintf("warm 20 MB packument, Verdaccio warm time / Écluse warm time, %s", r.enc),
			measured: fmtRatio(x), bound: ">= 20x", verdict: verdict(x >= 20),
		})
	}
	byKey := map[string]loadRow{}
	for _, l := range loads {
		byKey[l.set+"\x00"+l.enc] = l
	}
	for _, l := range loads {
		if l.enc != "identity" {
			continue
		}
		gz := byKey[l.set+"\x00gzip"]
		x := l.ecl.Throughput / gz.ecl.Throughput // time per request, gzip over identity
		t := target{
			what:     fmt.Sprintf("warm gzip serve time / warm identity serve time (at 64 clients): %s", l.set),
			measured: fmtRatio(x), bound: "<= 1.2x", verdict: verdict(x <= 1.2),
		}
		if gz.served != "gzip" {
			t.verdict = "n/a: identity served to gzip requests"
		}
		ts = append(ts, t)
	}
	var id, gz latencyRow
	for _, r := range rows {
		if r.doc == "20 MB, abbreviated" {
			if r.enc == "gzip" {
				gz = r
			} else {
				id = r
			}
		}
	}
	x := float64(gz.ecluseSize) / float64(id.ecluseSize)
	t := target{
		what:     "gzip body / identity body, 20 MB abbreviated form",
		measured: fmt.Sprintf("%.3f (%s / %s)", x, fmtBytes(gz.ecluseSize), fmtBytes(id.ecluseSize)),
		bound:    "<= 0.25", verdict: verdict(x <= 0.25),
	}
	if gz.ecluseServed != "gzip" {
		t.verdict = "NOT MET: identity served to gzip requests"
	}
	ts = append(ts, t)
	for _, s := range []struct {
		what string
		ds   []time.Duration
	}{{"a fresh Écluse", ci.cold}, {"an Écluse with the documents cached", ci.warm}} {
		x = float64(median(s.ds)) / float64(median(ci.direct))
		ts = append(ts, target{
			what:     fmt.Sprintf("cold npm ci of %d packages, through %s / direct (medians)", ciPackages, s.what),
			measured: fmtRatio(x), bound: "<= 1.1x", verdict: verdict(x <= 1.1),
		})
	}
	ts = append(ts, target{
		what:     "Écluse peak RSS (VmHWM), 64 clients, 20 and 25 MB documents in the mix",
		measured: fmtMiB(sus.rssPeak), bound: "< 256 MiB", verdict: verdict(sus.rssPeak < 256<<20),
	})
	return ts
}

func printLatency(w io.Writer, rows []latencyRow) {
	fmt.Fprintf(w, "\n### One request at a time (medians)\n\n")
	t := [][]string{{"document", "asked", "Écluse served", "Écluse cold", "Écluse warm", "floor", "Écluse warm / floor",
		"Verdaccio served", "Verdaccio cold", "Verdaccio warm", "Verdaccio warm / Écluse warm"}}
	for _, r := range rows {
		t = append(t, []string{r.doc, r.enc,
			fmtBytes(r.ecluseSize) + " " + r.ecluseServed, fmtDur(r.ecluseCold), fmtDur(r.ecluseWarm), fmtDur(r.floor),
			fmtRatio(float64(r.ecluseWarm) / float64(r.floor)),
			fmtBytes(r.peerSize) + " " + r.peerServed, fmtDur(r.peerCold), fmtDur(r.peerWarm),
			fmtRatio(float64(r.peerWarm) / float64(r.ecluseWarm))})
	}
	fmt.Fprint(w, mdTable(t))
}

func fmtLoad(r loadResult) []string {
	s := []string{fmt.Sprintf("%.0f", r.Throughput), fmtDur(r.P50), fmtDur(r.P99)}
	if r.Success < 1 {
		s[0] += fmt.Sprintf(" (%.1f%% ok)", 100*r.Success)
	}
	return s
}

func printLoad(w io.Writer, rows []loadRow) {
	fmt.Fprintf(w, "\n### Warm throughput, %d clients (requests per second, p50, p99)\n\n", loadClients)
	t := [][]string{{"documents", "asked", "Écluse served", "floor RPS", "p50", "p99", "Écluse RPS", "p50", "p99",
		"Écluse / floor", "Verdaccio RPS", "p50", "p99", "Écluse / Verdaccio"}}
	for _, r := range rows {
		line := []string{r.set, r.enc, fmtBytes(r.bytesPerResp) + " " + r.served}
		line = append(line, fmtLoad(r.floor)...)
		line = append(line, fmtLoad(r.ecl)...)
		line = append(line, fmtRatio(r.ecl.Throughput/r.floor.Throughput))
		if r.peer != nil {
			line = append(line, fmtLoad(*r.peer)...)
			line = append(line, fmtRatio(r.ecl.Throughput/r.peer.Throughput))
		} else {
			line = append(line, "not run", "", "", "")
		}
		t = append(t, line)
	}
	fmt.Fprint(w, mdTable(t))
	for _, r := range rows {
		errs := append(slices.Clone(r.floor.Errors), r.ecl.Errors...)
		if r.peer != nil {
			errs = append(errs, r.peer.Errors...)
		}
		for _, e := range errs {
			fmt.Fprintf(w, "error during %s, %s: %s\n", r.set, r.enc, e)
		}
	}
}

func printSustained(w io.Writer, s sustained) {
	fmt.Fprintf(w, "\n### Sustained mixed load, %d clients, %d targets in turn (every document above and the 25 MB one, both encodings)\n\n",
		loadClients, s.targets)
	t := [][]string{{"server", "RPS", "p50", "p99", "requests", "Écluse peak RSS after warming", "after the run"}}
	t = append(t, append(append([]string{"floor"}, fmtLoad(s.floor)...), fmt.Sprint(s.floor.Requests), "", ""))
	t = append(t, append(append([]string{"Écluse"}, fmtLoad(s.ecl)...), fmt.Sprint(s.ecl.Requests),
		fmtMiB(s.rssWarm), fmtMiB(s.rssPeak)))
	t = append(t, []string{"Écluse / floor", fmtRatio(s.ecl.Throughput / s.floor.Throughput), "", "", "", "", ""})
	fmt.Fprint(w, mdTable(t))
	for _, e := range append(slices.Clone(s.floor.Errors), s.ecl.Errors...) {
		fmt.Fprintf(w, "error during the sustained run: %s\n", e)
	}
}

func printCI(w io.Writer, ci ciTimes) {
	fmt.Fprintf(w, "\n### npm ci, %d packages, fresh npm cache each run\n\n", ciPackages)
	t := [][]string{{"side", "runs", "median", "/ direct"}}
	for _, s := range []struct {
		name string
		ds   []time.Duration
	}{
		{"direct from the fixture registry", ci.direct},
		{"through a fresh Écluse (cold caches)", ci.cold},
		{"through the same Écluse again (documents cached)", ci.warm},
	} {
		var runs []string
		for _, d := range s.ds {
			runs = append(runs, fmtDur(d))
		}
		t = append(t, []string{s.name, strings.Join(runs, ", "), fmtDur(median(s.ds)),
			fmtRatio(float64(median(s.ds)) / float64(median(ci.direct)))})
	}
	fmt.Fprint(w, mdTable(t))
	fmt.Fprintf(w, "\nFor information, resolving each lockfile (npm install --package-lock-only, cold, once): direct %s, through Écluse %s (%s).\n",
		fmtDur(ci.lockDirect), fmtDur(ci.lockEcluse), fmtRatio(float64(ci.lockEcluse)/float64(ci.lockDirect)))
}

func printTargets(w io.Writer, ts []target) {
	fmt.Fprintf(w, "\n### Targets\n\n")
	t := [][]string{{"target", "measured", "bound", "verdict"}}
	for _, x := range ts {
		t = append(t, []string{x.what, x.measured, x.bound, x.verdict})
	}
	fmt.Fprint(w, mdTable(t))
}

// mdTable renders rows (the first is the header) as a Markdown table with aligned columns.
func mdTable(rows [][]string) string {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, cell := range r {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		b.WriteString("|")
		for i, cell := range r {
			fmt.Fprintf(&b, " %s%s |", cell, strings.Repeat(" ", width[i]-len([]rune(cell))))
		}
		b.WriteString("\n")
	}
	line(rows[0])
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
	}
	line(sep)
	for _, r := range rows[1:] {
		line(r)
	}
	return b.String()
}

// median returns the median of ds, 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fmtDur prints a duration in milliseconds with about three significant digits, or in
// seconds from 10 s.
func fmtDur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

// fmtBytes prints a size in decimal kilo- or megabytes.
func fmtBytes(n int) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// fmtMiB prints a memory size in mebibytes, as the kernel counts it.
func fmtMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// fmtRatio prints a ratio with two decimals, or none from 100.
func fmtRatio(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0fx", x)
	}
	return fmt.Sprintf("%.2fx", x)
}

// docSizes lists documents' upstream sizes and version counts.
func docSizes(docs []cmpDoc) string {
	var parts []string
	for _, d := range docs {
		parts = append(parts, fmt.Sprintf("%s (%s upstream)", d.name, fmtBytes(len(d.tmpl))))
	}
	return strings.Join(parts, ", ")
}

// loadAverage returns the 1, 5 and 15 minute load averages from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// nodeVersion returns `node --version`.
func nodeVersion() string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
