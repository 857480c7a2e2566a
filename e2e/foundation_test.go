package e2e

// Foundation tests of the built binary: configuration errors, probes, edge authentication,
// log hygiene and graceful shutdown.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// baseEnv is a complete, valid configuration: public and private upstreams (both usually
// fixture registries here), the proxy's own URL (so served tarball URLs are absolute), the
// in-memory mirror queue, JSON logs, and the loopback range opened on the egress guard so the
// public fixture on 127.0.0.1 may be reached.
//
// npm is mounted at "/" beside a Go modules mount at "/go/" (whose upstream is never
// asked here), so every npm test runs under the multi-mount dispatch; a test that sets
// its own PROXY_CONFIG gets the single npm mount the environment describes.
func baseEnv(public, private string) map[string]string {
	return map[string]string{
		"PUBLIC_UPSTREAM_URL":               public + "/",
		"PRIVATE_UPSTREAM_URL":              private + "/",
		"PROXY_PUBLIC_URL":                  selfURL + "/",
		"MIRROR_QUEUE_PROVIDER":             "memory",
		"PROXY_LOG_FORMAT":                  "json",
		"PROXY_EGRESS_ALLOW_INTERNAL_CIDRS": "127.0.0.0/8",
		"PROXY_CONFIG": `{"mounts": {"npm": {"path": "/"}, "go": {"path": "/go/", "ecosystem": "go",
			"publicUpstreamUrl": "` + public + `/go-unused/", "checksumDatabase": {"key": "` + besideSumDBKey + `"}}}}`,
	}
}

// besideSumDBKey is a checksum database verifier key for the Go mount baseEnv adds: a
// valid key of a database that does not exist.
var besideSumDBKey = func() string {
	_, vkey, err := note.GenerateKey(rand.Reader, "beside.test.invalid")
	if err != nil {
		panic(err)
	}
	return vkey
}()

// errorBody is the JSON error document npm clients print.
type errorBody struct {
	Error string `json:"error"`
}

func TestFoundationProbes(t *testing.T) {
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	p := startEcluse(t, baseEnv(public.URL, private.URL))

	status, body := get(t, p.URL+"/-/ping", nil)
	if status != http.StatusOK || strings.TrimSpace(string(body)) != "{}" {
		t.Errorf("GET /-/ping = %d %q, want 200 {}", status, body)
	}
	for _, path := range []string{"/livez", "/readyz"} {
		if status, body := get(t, p.URL+path, nil); status != http.StatusOK {
			t.Errorf("GET %s = %d %q, want 200", path, status, body)
		}
	}
	var e errorBody
	getJSON(t, p.URL+"/-/v1/search?text=left-pad", nil, http.StatusNotImplemented, &e)
	if e.Error == "" {
		t.Error("GET /-/v1/search: the 501 body has no error message")
	}
}

func TestFoundationCheckConfigNamesEveryProblem(t *testing.T) {
	public := newFixtureRegistry(t)
	env := map[string]string{
		"PUBLIC_UPSTREAM_URL":      public.URL + "/",
		"PRIVATE_UPSTREAM_URL":     "ftp://x",
		"PROXY_MAX_RESPONSE_BYTES": "-5",
		"PROXY_CONFIG":             `{"rules":{"x":{"type":"Nope"}}}`,
		"MIRROR_QUEUE_PROVIDER":    "memory",
	}
	_, stderr, code := runEcluse(t, env, "check-config")
	if code != 2 {
		t.Errorf("ecluse check-config exit code = %d, want 2; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"PRIVATE_UPSTREAM_URL", "PROXY_MAX_RESPONSE_BYTES", "rules.x"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("ecluse check-config stderr does not mention %s:\n%s", want, stderr)
		}
	}
}

func TestFoundationPublicUpstreamRequired(t *testing.T) {
	private := newFixtureRegistry(t)
	env := map[string]string{
		"PRIVATE_UPSTREAM_URL":  private.URL + "/",
		"MIRROR_QUEUE_PROVIDER": "memory",
	}
	for _, args := range [][]string{{"serve"}, {"check-config"}} {
		_, stderr, code := runEcluse(t, env, args...)
		if code != 2 {
			t.Errorf("ecluse %s without PUBLIC_UPSTREAM_URL: exit code = %d, want 2; stderr:\n%s", args[0], code, stderr)
		}
		for _, want := range []string{"PUBLIC_UPSTREAM_URL", "npm config get registry"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("ecluse %s without PUBLIC_UPSTREAM_URL: stderr does not mention %q:\n%s", args[0], want, stderr)
			}
		}
	}
}

func TestFoundationEdgeAuthAndNoTokenInLogs(t *testing.T) {
	const token = "e2e-edge-token-5f1d2c9a7b"
	const wrong = "e2e-wrong-token-0c3e8d41"
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	env := baseEnv(public.URL, private.URL)
	env["PROXY_AUTH_TOKEN"] = token
	p := startEcluse(t, env)

	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		name          string
		authorization string
		want          int
	}{
		{"no credentials", "", http.StatusUnauthorized},
		{"wrong bearer", "Bearer " + wrong, http.StatusUnauthorized},
		{"wrong basic", basic("ci", wrong), http.StatusUnauthorized},
		{"bearer", "Bearer " + token, http.StatusNotImplemented},
		{"basic", basic("ci", token), http.StatusNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.authorization != "" {
				h.Set("Authorization", tt.authorization)
			}
			var e errorBody
			getJSON(t, p.URL+"/-/v1/search?text=x", h, tt.want, &e)
			if e.Error == "" {
				t.Errorf("status %d came without a JSON error message", tt.want)
			}
		})
	}

	// Probes stay open for the orchestrator.
	for _, path := range []string{"/-/ping", "/livez", "/readyz"} {
		if status, _ := get(t, p.URL+path, nil); status != http.StatusOK {
			t.Errorf("GET %s without a token = %d, want 200", path, status)
		}
	}

	// Package reads with each presentation, so the read path logs them too.
	for _, authz := range []string{"Bearer " + token, basic("ci", token), "Bearer " + wrong} {
		get(t, p.URL+"/e2e-absent-package", http.Header{"Authorization": {authz}})
	}

	logs := p.Logs()
	if logs == "" {
		t.Fatal("ecluse wrote no logs at all")
	}
	for _, secret := range []string{token, wrong, base64.StdEncoding.EncodeToString([]byte("ci:" + token))} {
		if strings.Contains(logs, secret) {
			t.Errorf("a credential (%.12s...) appears in the logs:\n%s", secret, logs)
		}
	}
	if reqs := public.RequestsWithHeader("Authorization"); len(reqs) != 0 {
		t.Errorf("the public upstream received credentials: %+v", reqs)
	}
}

func TestFoundationJSONLogs(t *testing.T) {
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	p := startEcluse(t, baseEnv(public.URL, private.URL))
	get(t, p.URL+"/-/v1/search?text=x", nil)
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	lines := strings.Split(strings.TrimSpace(p.Stdout()), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no log lines on stdout")
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stdout line %d is not JSON (PROXY_LOG_FORMAT=json): %q", i+1, line)
		}
	}
}

func TestFoundationSIGTERMWhenIdle(t *testing.T) {
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	p := startEcluse(t, baseEnv(public.URL, private.URL))
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

// TestFoundationSIGTERMDrainsInFlight holds a public packument fetch open at the fixture,
// sends SIGTERM while the client's request is in flight, waits until Écluse has stopped
// taking new work, then lets the fetch finish: the client must get its full answer and the
// process must exit 0.
func TestFoundationSIGTERMDrainsInFlight(t *testing.T) {
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	public.Add(Pkg{Name: "e2e-slow", Versions: []Ver{{Version: "1.0.0", PublishedAgo: 90 * 24 * time.Hour}}})
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // runs before the fixture closes, so it never waits on a held request
	public.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/e2e-slow" {
			select {
			case arrived <- struct{}{}:
			default:
			}
			<-release
		}
		return false
	})
	p := startEcluse(t, baseEnv(public.URL, private.URL))

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/e2e-slow", nil)
		resp, err := httpClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		done <- result{status: resp.StatusCode, body: string(b), err: err}
	}()

	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("the packument request never reached the public fixture; logs:\n%s", p.Logs())
	}
	p.Signal(syscall.SIGTERM)
	// Shutdown has begun once the server stops answering /readyz with 200.
	pollUntil(t, 20*time.Second, "ecluse to stop reporting ready", func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/readyz", nil)
		resp, err := httpClient.Do(req)
		if err != nil {
			return true, nil // listener closed
		}
		_ = resp.Body.Close()
		return resp.StatusCode != http.StatusOK, nil
	})
	if p.Exited() {
		t.Fatalf("ecluse exited with a request in flight; logs:\n%s", p.Logs())
	}
	unblock()

	r := <-done
	if r.err != nil {
		t.Fatalf("in-flight request failed across shutdown: %v", r.err)
	}
	if r.status != http.StatusOK || !strings.Contains(r.body, `"e2e-slow"`) {
		t.Errorf("in-flight request = %d %.200q, want 200 with the packument", r.status, r.body)
	}
	if code := p.Wait(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

// TestFoundationNPMViewWithToken runs the real npm through Écluse with the edge token in
// .npmrc: the public package is visible, and the credential never reaches the public side.
func TestFoundationNPMViewWithToken(t *testing.T) {
	const token = "e2e-npm-token-8a7c6e5d4b"
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	public.Add(Pkg{Name: "e2e-viewed", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: 120 * 24 * time.Hour},
		{Version: "1.2.0", PublishedAgo: 60 * 24 * time.Hour},
	}})
	env := baseEnv(public.URL, private.URL)
	env["PROXY_AUTH_TOKEN"] = token
	p := startEcluse(t, env)

	out, err := runNPM(t, "", p.URL, token, "view", "e2e-viewed", "version")
	if err != nil {
		t.Fatalf("npm view through ecluse: %v\n%s\nlogs:\n%s", err, out, p.Logs())
	}
	if strings.TrimSpace(out) != "1.2.0" {
		t.Errorf("npm view e2e-viewed version = %q, want 1.2.0", strings.TrimSpace(out))
	}

	// The legacy _auth form: Basic authentication whose password is the token.
	out, err = runClient(t, npmCLI, ClientOpts{Registry: p.URL, BasicAuth: "ci:" + token}, "view", "e2e-viewed", "version")
	if err != nil || strings.TrimSpace(out) != "1.2.0" {
		t.Errorf("npm view with _auth through ecluse: %v, output %q, want 1.2.0", err, out)
	}

	out, err = runNPM(t, "", p.URL, "", "view", "e2e-viewed", "version")
	if err == nil || !strings.Contains(out, "401") {
		t.Errorf("npm view without the token: err %v, want an E401; output:\n%s", err, out)
	}

	if reqs := public.RequestsWithHeader("Authorization"); len(reqs) != 0 {
		t.Errorf("the public upstream received credentials: %+v", reqs)
	}
	for _, secret := range []string{token, base64.StdEncoding.EncodeToString([]byte("ci:" + token))} {
		if strings.Contains(p.Logs(), secret) {
			t.Errorf("a credential (%.12s...) appears in the logs:\n%s", secret, p.Logs())
		}
	}
}

// TestFoundationClientsInstallThroughEcluse installs a small dependency tree from the public
// fixture through Écluse, with the edge token, with each of npm, pnpm and yarn.
func TestFoundationClientsInstallThroughEcluse(t *testing.T) {
	const token = "e2e-install-token-1b2c3d4e5f"
	public, private := newFixtureRegistry(t), newFixtureRegistry(t)
	public.Add(Pkg{Name: "e2e-right", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: 400 * 24 * time.Hour},
		{Version: "1.1.0", PublishedAgo: 300 * 24 * time.Hour},
	}})
	public.Add(Pkg{Name: "e2e-left", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: 200 * 24 * time.Hour, Deps: map[string]string{"e2e-right": "^1.0.0"}},
	}})
	env := baseEnv(public.URL, private.URL)
	env["PROXY_AUTH_TOKEN"] = token
	p := startEcluse(t, env)

	for _, c := range []client{npmCLI, pnpmCLI, yarnCLI} {
		t.Run(string(c), func(t *testing.T) {
			dir := t.TempDir()
			writePackageJSON(t, dir, map[string]string{"e2e-left": "^1.0.0"})
			out, err := runClient(t, c, ClientOpts{Dir: dir, Registry: p.URL, Token: token}, "install")
			if err != nil {
				t.Fatalf("%s install through ecluse: %v\n%s\nlogs:\n%s", c, err, out, p.Logs())
			}
			if got := installedVersion(t, dir, "e2e-left"); got != "1.0.0" {
				t.Errorf("installed e2e-left = %q, want 1.0.0; output:\n%s", got, out)
			}
		})
	}
	if reqs := public.RequestsWithHeader("Authorization"); len(reqs) != 0 {
		t.Errorf("the public upstream received credentials: %+v", reqs)
	}
	if strings.Contains(p.Logs(), token) {
		t.Errorf("the token appears in the logs:\n%s", p.Logs())
	}
}
