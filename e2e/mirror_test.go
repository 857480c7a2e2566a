package e2e

// End-to-end tests of the asynchronous mirror: approved public packages served through
// Écluse are copied to the mirror target (a real Verdaccio, which is also the private
// upstream: the default fold), byte for byte, and a quarantined version never is.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// mirrorFixture is the public side of the mirror tests: two packages, each with an old
// version npm installs and a young one the policy refuses.
func mirrorFixture(t *testing.T) *FixtureRegistry {
	public := newFixtureRegistry(t)
	public.Add(Pkg{Name: "e2e-mirror-plain", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: oldEnough},
		{Version: "1.1.0", PublishedAgo: oldEnough},
		{Version: "2.0.0", PublishedAgo: tooYoung},
	}})
	public.Add(Pkg{Name: "@e2e-mirror/scoped", Versions: []Ver{
		{Version: "3.0.0", PublishedAgo: oldEnough},
		{Version: "3.1.0", PublishedAgo: tooYoung},
	}})
	return public
}

// targetVersions reads name's document from the mirror target and returns its versions'
// integrity and tarball URL; nil when the target does not have the package.
func targetVersions(t *testing.T, base, token, name string) map[string][2]string {
	t.Helper()
	out, r := readTargetVersions(t, base, token, name)
	if r.status != http.StatusOK && r.status != http.StatusNotFound {
		t.Fatalf("GET %s from the mirror target = %d %s", name, r.status, r.body)
	}
	return out
}

// readTargetVersions is targetVersions returning, instead of failing on, an answer
// other than 200 or 404 (nil versions then).
func readTargetVersions(t *testing.T, base, token, name string) (map[string][2]string, response) {
	t.Helper()
	path := "/" + strings.Replace(url.PathEscape(name), "%2F", "%2f", 1)
	r := fetch(t, strings.TrimSuffix(base, "/")+path, http.Header{"Authorization": {"Bearer " + token}})
	if r.status != http.StatusOK {
		return nil, r
	}
	var doc packumentDoc
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("the mirror target's document of %s: %v", name, err)
	}
	out := map[string][2]string{}
	for v, m := range doc.Versions {
		out[v] = [2]string{m.Dist.Integrity, m.Dist.Tarball}
	}
	return out, r
}

// waitMirrored polls the mirror target until it has name@version, and checks that the
// copy has the public integrity and byte-identical tarball.
func waitMirrored(t *testing.T, public *FixtureRegistry, base, token, name, version string, logs func() string) {
	t.Helper()
	waitMirroredWithin(t, public, base, token, name, version, logs, 60*time.Second)
}

// waitMirroredWithin is waitMirrored with its own time limit.
func waitMirroredWithin(t *testing.T, public *FixtureRegistry, base, token, name, version string, logs func() string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		// Verdaccio can answer 500 while it is writing the very document asked for (two
		// workers publishing at once): that is "not yet", and the deadline still holds.
		versions, r := readTargetVersions(t, base, token, name)
		if r.status != http.StatusOK && r.status != http.StatusNotFound && r.status < 500 {
			t.Fatalf("GET %s from the mirror target = %d %s", name, r.status, r.body)
		}
		got, ok := versions[version]
		if ok {
			if want := public.Integrity(name, version); got[0] != want {
				t.Errorf("mirrored %s@%s has integrity %s, want the public %s", name, version, got[0], want)
			}
			r := fetch(t, got[1], http.Header{"Authorization": {"Bearer " + token}})
			if r.status != http.StatusOK || !bytes.Equal(r.body, public.Tarball(name, version)) {
				t.Errorf("mirrored tarball of %s@%s: %d, %d bytes; want the public %d bytes exactly", name, version, r.status, len(r.body), len(public.Tarball(name, version)))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s@%s was not mirrored within %s (the target last answered %d)\nlogs:\n%s", name, version, within, r.status, tail(logs(), 40))
		}
		time.Sleep(100 * time.Millisecond) // polling the target with a deadline
	}
}

// TestMirrorCopiesApprovedPackages installs through Écluse with npm and finds every
// approved version in Verdaccio (the private upstream and mirror target at once), byte for
// byte, and no quarantined one; the next read classifies the package as mirrored.
func TestMirrorCopiesApprovedPackages(t *testing.T) {
	public := mirrorFixture(t)
	verdaccio := startVerdaccio(t)
	env := baseEnv(public.URL, verdaccio.URL)
	env["MIRROR_TARGET_TOKEN"] = verdaccio.Token
	env["PROXY_PACKUMENT_CACHE_TTL_SECONDS"] = "1" // so the read after mirroring asks Verdaccio again
	p := startEcluse(t, env)

	if out, err := runNPM(t, t.TempDir(), p.URL+"/", "", "install", "e2e-mirror-plain", "@e2e-mirror/scoped"); err != nil {
		t.Fatalf("npm install through Écluse: %v\n%s", err, out)
	}
	waitMirrored(t, public, verdaccio.URL, verdaccio.Token, "e2e-mirror-plain", "1.1.0", p.Logs)
	waitMirrored(t, public, verdaccio.URL, verdaccio.Token, "@e2e-mirror/scoped", "3.0.0", p.Logs)
	for name, young := range map[string]string{"e2e-mirror-plain": "2.0.0", "@e2e-mirror/scoped": "3.1.0"} {
		if _, ok := targetVersions(t, verdaccio.URL, verdaccio.Token, name)[young]; ok {
			t.Errorf("the quarantined %s@%s reached the mirror target", name, young)
		}
	}

	// The mirrored copy is now what the private upstream has: once the cached answer
	// lapses, the read path serves it with the public side's admitted versions, and the
	// young version stays out.
	var r response
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = fetch(t, p.URL+"/e2e-mirror-plain", nil)
		if r.header.Get("X-Ecluse-Source") == "mirror+public" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after mirroring, X-Ecluse-Source = %q (status %d), want mirror+public\nlogs:\n%s", r.header.Get("X-Ecluse-Source"), r.status, tail(p.Logs(), 30))
		}
		time.Sleep(200 * time.Millisecond) // polling the read path with a deadline
	}
	var doc packumentDoc
	if r.status != http.StatusOK || json.Unmarshal(r.body, &doc) != nil {
		t.Fatalf("GET /e2e-mirror-plain after mirroring = %d %s", r.status, r.body)
	}
	if _, ok := doc.Versions["2.0.0"]; ok {
		t.Error("the young 2.0.0 is served after mirroring")
	}
	if _, ok := doc.Versions["1.1.0"]; !ok {
		t.Errorf("versions after mirroring = %v, want 1.1.0 among them", keys(doc.Versions))
	}
}

// TestMirrorSurvivesSIGKILL: with a durable queue (nats: the embedded JetStream server
// storing under MIRROR_QUEUE_DIR; sqs: a real SQS emulator), a job enqueued before Écluse
// is killed with SIGKILL, and not yet published because the mirror target was
// unavailable, is published after Écluse restarts.
func TestMirrorSurvivesSIGKILL(t *testing.T) {
	for _, provider := range []string{"nats", "sqs"} {
		t.Run(provider, func(t *testing.T) {
			env := map[string]string{}
			switch provider {
			case "nats":
				env["MIRROR_QUEUE_PROVIDER"] = "nats"
				env["MIRROR_QUEUE_DIR"] = filepath.Join(t.TempDir(), "queue")
			case "sqs":
				endpoint := startMoto(t)
				sqsEnv(env, endpoint, motoQueue(t, endpoint, "e2e-sigkill"))
			}
			testMirrorSurvivesSIGKILL(t, env)
		})
	}
}

// gatedTarget fronts the mirror target with a gate that answers 503 until opened, and
// counts the publishes that went through.
type gatedTarget struct {
	url       string
	open      atomic.Bool
	refused   atomic.Int64
	published atomic.Int64
}

func newGatedTarget(t *testing.T, target string) *gatedTarget {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedTarget{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method == http.MethodPut && r.StatusCode/100 == 2 {
			g.published.Add(1)
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.open.Load() {
			g.refused.Add(1)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func testMirrorSurvivesSIGKILL(t *testing.T, queueEnv map[string]string) {
	public := mirrorFixture(t)
	verdaccio := startVerdaccio(t)
	target := newGatedTarget(t, verdaccio.URL)
	env := baseEnv(public.URL, verdaccio.URL)
	env["MIRROR_TARGET_URL"] = target.url + "/"
	env["MIRROR_TARGET_TOKEN"] = verdaccio.Token
	for k, v := range queueEnv {
		env[k] = v
	}

	first := startEcluse(t, env)
	tgz := fetch(t, first.URL+"/e2e-mirror-plain/-/e2e-mirror-plain-1.1.0.tgz", nil)
	if tgz.status != http.StatusOK {
		t.Fatalf("GET the tarball through Écluse = %d %s", tgz.status, tgz.body)
	}
	// Wait until the worker has tried the job (the target answered 503) and given it
	// back for a retry, then kill.
	deadline := time.Now().Add(30 * time.Second)
	for target.refused.Load() == 0 || !strings.Contains(first.Logs(), "mirror job will be retried") {
		if time.Now().After(deadline) {
			t.Fatalf("the worker never tried the job\nlogs:\n%s", tail(first.Logs(), 40))
		}
		time.Sleep(100 * time.Millisecond) // polling the gate's counter with a deadline
	}
	first.Signal(syscall.SIGKILL)
	first.WaitFor(10 * time.Second)
	if _, ok := targetVersions(t, verdaccio.URL, verdaccio.Token, "e2e-mirror-plain")["1.1.0"]; ok {
		t.Fatal("the job was published before the kill: the test proves nothing")
	}

	target.open.Store(true)
	second := startEcluse(t, env)
	// A job the killed process still held comes back when its hold (60 s) lapses.
	waitMirroredWithin(t, public, verdaccio.URL, verdaccio.Token, "e2e-mirror-plain", "1.1.0", second.Logs, 150*time.Second)
}

// TestMirrorSharedQueuePublishesOnce: two Écluse processes share one SQS queue (a real
// emulator); both serve the same version, so both enqueue it, and the mirror target is
// written once.
func TestMirrorSharedQueuePublishesOnce(t *testing.T) {
	public := mirrorFixture(t)
	verdaccio := startVerdaccio(t)
	target := newGatedTarget(t, verdaccio.URL)
	target.open.Store(true)
	endpoint := startMoto(t)
	env := baseEnv(public.URL, verdaccio.URL)
	env["MIRROR_TARGET_URL"] = target.url + "/"
	env["MIRROR_TARGET_TOKEN"] = verdaccio.Token
	env["PROXY_DEBUG"] = "true" // the worker logs a job it found already done at debug level
	sqsEnv(env, endpoint, motoQueue(t, endpoint, "e2e-shared"))
	a, b := startEcluse(t, env), startEcluse(t, env)
	for _, p := range []*Proc{a, b} {
		for _, v := range []string{"1.0.0", "1.1.0"} {
			if r := fetch(t, p.URL+"/e2e-mirror-plain/-/e2e-mirror-plain-"+v+".tgz", nil); r.status != http.StatusOK {
				t.Fatalf("GET the tarball of %s through Écluse = %d %s", v, r.status, r.body)
			}
		}
	}
	waitMirrored(t, public, verdaccio.URL, verdaccio.Token, "e2e-mirror-plain", "1.0.0", a.Logs)
	waitMirrored(t, public, verdaccio.URL, verdaccio.Token, "e2e-mirror-plain", "1.1.0", a.Logs)
	// Four jobs were made (two versions, two processes); wait until each was finished
	// by one of the workers, published or found present, before counting publishes.
	finished := func() int {
		logs := a.Logs() + b.Logs()
		return strings.Count(logs, `"msg":"mirror job done`) + strings.Count(logs, `"msg":"mirror job skipped`)
	}
	deadline := time.Now().Add(60 * time.Second)
	for finished() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 mirror jobs finished within 60 s\nlogs a:\n%s\nlogs b:\n%s", finished(), tail(a.Logs(), 20), tail(b.Logs(), 20))
		}
		time.Sleep(200 * time.Millisecond) // polling the logs with a deadline
	}
	if n := target.published.Load(); n != 2 {
		t.Errorf("the mirror target accepted %d publishes for 2 versions served by 2 processes, want 2 (each version once)\nlogs a:\n%s\nlogs b:\n%s",
			n, tail(a.Logs(), 20), tail(b.Logs(), 20))
	}
}

// TestMirrorStuckWorkerFailsLiveness: a mirror target that never answers leaves the
// worker holding a job without progress; /livez turns 503 naming the worker, while
// /readyz stays 200 (a mirror-target outage is no reason to take the instance out of
// rotation).
func TestMirrorStuckWorkerFailsLiveness(t *testing.T) {
	public := mirrorFixture(t)
	release := make(chan struct{})
	var asked atomic.Int64
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		<-release
		http.Error(w, "gone", http.StatusServiceUnavailable)
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	empty := newFixtureRegistry(t) // the private upstream: it has nothing
	env := baseEnv(public.URL, empty.URL)
	env["MIRROR_TARGET_URL"] = hang.URL + "/"
	env["MIRROR_WORKER_STALL_SECONDS"] = "2"
	p := startEcluse(t, env)
	if status, _ := get(t, p.URL+"/livez", nil); status != http.StatusOK {
		t.Fatalf("/livez before any job = %d, want 200 (an idle worker is healthy)", status)
	}
	if r := fetch(t, p.URL+"/e2e-mirror-plain/-/e2e-mirror-plain-1.1.0.tgz", nil); r.status != http.StatusOK {
		t.Fatalf("GET the tarball through Écluse = %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := get(t, p.URL+"/livez", nil)
		if status == http.StatusServiceUnavailable {
			if !strings.Contains(string(body), "mirror-worker") {
				t.Errorf("/livez = 503 %s, want the failing check named mirror-worker", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/livez = %d %s 30 s after the worker got stuck (target asked %d times), want 503", status, body, asked.Load())
		}
		time.Sleep(200 * time.Millisecond) // polling the probe with a deadline
	}
	if status, _ := get(t, p.URL+"/readyz", nil); status != http.StatusOK {
		t.Errorf("/readyz while the worker is stuck = %d, want 200", status)
	}
}
