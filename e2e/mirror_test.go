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
	path := "/" + strings.Replace(url.PathEscape(name), "%2F", "%2f", 1)
	r := fetch(t, strings.TrimSuffix(base, "/")+path, http.Header{"Authorization": {"Bearer " + token}})
	if r.status == http.StatusNotFound {
		return nil
	}
	if r.status != http.StatusOK {
		t.Fatalf("GET %s from the mirror target = %d %s", name, r.status, r.body)
	}
	var doc packumentDoc
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("the mirror target's document of %s: %v", name, err)
	}
	out := map[string][2]string{}
	for v, m := range doc.Versions {
		out[v] = [2]string{m.Dist.Integrity, m.Dist.Tarball}
	}
	return out
}

// waitMirrored polls the mirror target until it has name@version, and checks that the
// copy has the public integrity and byte-identical tarball.
func waitMirrored(t *testing.T, public *FixtureRegistry, base, token, name, version string, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, ok := targetVersions(t, base, token, name)[version]
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
			t.Fatalf("%s@%s was not mirrored within 60 s\nlogs:\n%s", name, version, tail(logs(), 40))
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

// TestMirrorSurvivesSIGKILL: with the durable nats queue (the embedded JetStream server
// storing under MIRROR_QUEUE_DIR), a job enqueued before Écluse is killed with SIGKILL,
// and not yet published because the mirror target was unavailable, is published after
// Écluse restarts.
func TestMirrorSurvivesSIGKILL(t *testing.T) {
	public := mirrorFixture(t)
	verdaccio := startVerdaccio(t)
	target, err := url.Parse(verdaccio.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The mirror target is reached through a gate that answers 503 until it is opened.
	var open atomic.Bool
	var refused atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !open.Load() {
			refused.Add(1)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	gateSrv := gate.URL
	env := baseEnv(public.URL, verdaccio.URL)
	env["MIRROR_TARGET_URL"] = gateSrv + "/"
	env["MIRROR_TARGET_TOKEN"] = verdaccio.Token
	env["MIRROR_QUEUE_PROVIDER"] = "nats"
	env["MIRROR_QUEUE_DIR"] = filepath.Join(t.TempDir(), "queue")

	first := startEcluse(t, env)
	tgz := fetch(t, first.URL+"/e2e-mirror-plain/-/e2e-mirror-plain-1.1.0.tgz", nil)
	if tgz.status != http.StatusOK {
		t.Fatalf("GET the tarball through Écluse = %d %s", tgz.status, tgz.body)
	}
	// Wait until the worker has tried the job (the target answered 503), then kill.
	deadline := time.Now().Add(30 * time.Second)
	for refused.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the worker never tried the job\nlogs:\n%s", tail(first.Logs(), 40))
		}
		time.Sleep(100 * time.Millisecond) // polling the log with a deadline
	}
	first.Signal(syscall.SIGKILL)
	first.WaitFor(10 * time.Second)
	if _, ok := targetVersions(t, verdaccio.URL, verdaccio.Token, "e2e-mirror-plain")["1.1.0"]; ok {
		t.Fatal("the job was published before the kill: the test proves nothing")
	}

	open.Store(true)
	second := startEcluse(t, env)
	waitMirrored(t, public, verdaccio.URL, verdaccio.Token, "e2e-mirror-plain", "1.1.0", second.Logs)
}
