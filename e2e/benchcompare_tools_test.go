package e2e

// The peers and the load generator of BenchmarkCompare: Verdaccio set up as the caching
// proxy a team would otherwise run in front of the public registry, and vegeta.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verdaccioProxyConfig is Verdaccio's configuration as a caching proxy of one uplink:
// every package is read through it and its document kept for maxage, so a warm request
// is served from Verdaccio's own storage without asking the uplink.
const verdaccioProxyConfig = `storage: "__STORAGE__"
auth:
  htpasswd:
    file: "__STORAGE__/htpasswd"
uplinks:
  public:
    url: "__UPLINK__/"
    maxage: 60m
    timeout: 120s
    max_fails: 1000
packages:
  "**":
    access: $all
    proxy: public
listen: "__LISTEN__"
server:
  keepAliveTimeout: 60
web:
  enable: false
middlewares:
  audit:
    enabled: false
log:
  type: stdout
  format: pretty
  level: warn
`

// startVerdaccioProxy starts the pinned Verdaccio (scripts/verdaccio) on a free 127.0.0.1
// port as a caching proxy of uplink, with its storage in a temporary directory, waits
// until it answers /-/ping, and stops it when the benchmark ends. It returns the process
// and Verdaccio's version.
func startVerdaccioProxy(tb testing.TB, uplink string) (*Proc, string) {
	tb.Helper()
	p := runVerdaccio(tb, func(storage, listen string) string {
		return strings.NewReplacer("__STORAGE__", storage, "__UPLINK__", uplink, "__LISTEN__", listen).Replace(verdaccioProxyConfig)
	})
	modules := toolsModules(tb)
	var pj struct {
		Version string `json:"version"`
	}
	if b, err := os.ReadFile(filepath.Join(modules, "verdaccio", "package.json")); err == nil {
		_ = json.Unmarshal(b, &pj)
	}
	return p, pj.Version
}

// vegetaBinary returns the vegeta executable named by the VEGETA environment variable,
// which `make bench-compare` sets after installing the pinned version.
func vegetaBinary(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv("VEGETA")
	if path == "" {
		tb.Fatal("VEGETA is not set: BenchmarkCompare drives the vegeta load generator. Run `make bench-compare`, " +
			"which installs the pinned vegeta and sets VEGETA, or set VEGETA to a vegeta v12.13.0 executable " +
			"(go install github.com/tsenart/vegeta/v12@v12.13.0)")
	}
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("VEGETA=%s: %v", path, err)
	}
	return path
}

// loadTarget is one request of a load run.
type loadTarget struct {
	url    string
	header http.Header
}

// loadResult is what vegeta measured for one side of a comparison.
type loadResult struct {
	Requests   int
	Throughput float64 // successful requests per second, waiting for the last answers included
	P50, P99   time.Duration
	Success    float64 // fraction of answers with a 2xx or 3xx status
	Errors     []string
}

// vegetaReport is the part of `vegeta report -type=json` that loadResult is made from.
type vegetaReport struct {
	Latencies struct {
		P50 int64 `json:"50th"`
		P99 int64 `json:"99th"`
	} `json:"latencies"`
	Requests int      `json:"requests"`
	Duration int64    `json:"duration"` // from the first request sent to the last
	Wait     int64    `json:"wait"`     // from the last request sent to its answer
	Success  float64  `json:"success"`
	Errors   []string `json:"errors"`
}

// loadClients is the number of concurrent clients of every load run.
const loadClients = 64

// compareLoad drives each side's targets (in turn, round robin) with loadClients clients,
// each sending its next request as soon as it has read the last answer, for d per side.
// The sides take turns of chunk each (A B A B ...), so that a change in the machine's load
// (it is shared) falls on all of them alike. Response bodies are read whole and
// discarded, not decoded: a target's Accept-Encoding is sent as given (identity must be
// asked for explicitly, or Go's client would ask for gzip and inflate it).
func compareLoad(tb testing.TB, vegeta string, sides [][]loadTarget, d, chunk time.Duration) []loadResult {
	tb.Helper()
	dir := tb.TempDir()
	files := make([][]string, len(sides))
	chunks := max(int(d/chunk), 1)
	for c := range chunks {
		for i, targets := range sides {
			out := filepath.Join(dir, fmt.Sprintf("side%d-chunk%d.bin", i, c))
			attack(tb, vegeta, targets, d/time.Duration(chunks), out)
			files[i] = append(files[i], out)
		}
	}
	results := make([]loadResult, len(sides))
	for i := range sides {
		// Throughput over the chunks: vegeta's own over several files would count the
		// other sides' turns as idle time.
		var ok, secs float64
		for _, f := range files[i] {
			r := vegetaReportOf(tb, vegeta, f)
			ok += float64(r.Requests) * r.Success
			secs += time.Duration(r.Duration + r.Wait).Seconds()
		}
		all := vegetaReportOf(tb, vegeta, files[i]...)
		results[i] = loadResult{
			Requests:   all.Requests,
			Throughput: ok / secs,
			P50:        time.Duration(all.Latencies.P50),
			P99:        time.Duration(all.Latencies.P99),
			Success:    all.Success,
			Errors:     all.Errors,
		}
	}
	return results
}

// attack runs `vegeta attack` on targets for d and writes its results to out.
func attack(tb testing.TB, vegeta string, targets []loadTarget, d time.Duration, out string) {
	tb.Helper()
	var tf bytes.Buffer
	for _, t := range targets {
		fmt.Fprintf(&tf, "GET %s\n", t.url)
		names := make([]string, 0, len(t.header))
		for k := range t.header {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			for _, v := range t.header[k] {
				fmt.Fprintf(&tf, "%s: %s\n", k, v)
			}
		}
		tf.WriteString("\n")
	}
	targetsFile := out + ".targets"
	if err := os.WriteFile(targetsFile, tf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	clients := strconv.Itoa(loadClients)
	runVegeta(tb, vegeta, d+5*time.Minute, "attack",
		"-targets="+targetsFile, "-output="+out, "-rate=0", "-max-workers="+clients, "-workers="+clients,
		"-duration="+d.String(), "-timeout=2m", "-max-body=0")
}

// vegetaReportOf reads results files back with `vegeta report -type=json`.
func vegetaReportOf(tb testing.TB, vegeta string, files ...string) vegetaReport {
	tb.Helper()
	out := runVegeta(tb, vegeta, 5*time.Minute, append([]string{"report", "-type=json"}, files...)...)
	var rep vegetaReport
	if err := json.Unmarshal(out, &rep); err != nil {
		tb.Fatalf("vegeta report -type=json printed %q: %v", out, err)
	}
	if rep.Requests == 0 {
		tb.Fatalf("vegeta sent no request (%s)", strings.Join(files, " "))
	}
	return rep
}

// runVegeta runs vegeta with args and returns its stdout, failing the benchmark if it fails
// or runs longer than timeout. Only loopback addresses are attacked; the environment holds
// no proxy setting that could come in between.
func runVegeta(tb testing.TB, vegeta string, timeout time.Duration, args ...string) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, vegeta, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("vegeta %s: %v\n%s", args[0], err, stderr.String())
	}
	return stdout.Bytes()
}
