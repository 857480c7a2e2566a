package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	toolsOnce sync.Once
	toolsDir  string // node_modules of the tools install
	toolsErr  error
)

// toolsModules returns the node_modules directory holding Verdaccio, pnpm and yarn, running
// scripts/install-tools.sh on first use in this process. The script caches the install
// across runs (keyed by a hash of scripts/verdaccio/package.json and its lockfile), so only
// the first run on a machine pays for it. It uses the registry npm is configured with here.
func toolsModules(t testing.TB) string {
	t.Helper()
	toolsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, "scripts", "install-tools.sh"))
		cmd.Dir = repoRoot
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			toolsErr = fmt.Errorf("scripts/install-tools.sh: %w\n%s%s", err, stdout.String(), stderr.String())
			return
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		bin := strings.TrimSpace(lines[len(lines)-1])
		toolsDir = filepath.Dir(bin)
		if _, err := os.Stat(filepath.Join(toolsDir, "verdaccio", "package.json")); err != nil {
			toolsErr = fmt.Errorf("scripts/install-tools.sh printed %q, which holds no verdaccio: %w", bin, err)
			return
		}
		t.Logf("tools ready in %s (%s)", toolsDir, time.Since(start).Round(time.Millisecond))
	})
	if toolsErr != nil {
		t.Fatalf("cannot install the Node tools: %v", toolsErr)
	}
	return toolsDir
}

// Verdaccio is a real Verdaccio playing the private registry, with a registered user.
type Verdaccio struct {
	*Proc
	// User and Password are the registered user's credentials.
	User, Password string
	// Token is the user's bearer token; it may publish.
	Token string
}

// startVerdaccio starts Verdaccio on a free 127.0.0.1 port with its storage in a temporary
// directory and no uplinks, waits until it answers /-/ping, registers a user (Token), and
// stops it when the test ends. Anyone may read every package, except those matching one of
// restricted (Verdaccio package patterns such as "@corp/*"), which only an authenticated
// user may read: an anonymous read of them is refused.
func startVerdaccio(t testing.TB, restricted ...string) *Verdaccio {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "verdaccio", "config.yaml"))
	if err != nil {
		t.Fatalf("reading the Verdaccio config template: %v", err)
	}
	start := time.Now()
	p := runVerdaccio(t, func(storage, listen string) string {
		conf := strings.NewReplacer("__ECLUSE_STORAGE__", storage, "__ECLUSE_LISTEN__", listen).Replace(string(tmpl))
		if len(restricted) > 0 {
			// Verdaccio applies the first pattern that matches, so these go before the template's.
			var rules strings.Builder
			for _, pattern := range restricted {
				fmt.Fprintf(&rules, "  %s:\n    access: $authenticated\n    publish: $authenticated\n    unpublish: $authenticated\n", strconv.Quote(pattern))
			}
			if !strings.Contains(conf, "\npackages:\n") {
				t.Fatal("the Verdaccio config template has no packages: section to restrict")
			}
			conf = strings.Replace(conf, "\npackages:\n", "\npackages:\n"+rules.String(), 1)
		}
		return conf
	})
	t.Logf("verdaccio answered on %s after %s", p.URL, time.Since(start).Round(time.Millisecond))
	v := &Verdaccio{Proc: p, User: "e2e-publisher", Password: "e2e-password-" + strconv.Itoa(p.Port)}
	v.Token = v.AddUser(t, v.User, v.Password)
	return v
}

// runVerdaccio starts the pinned Verdaccio on a free 127.0.0.1 port with its storage and
// home in a temporary directory, its configuration made by config from the storage
// directory and the listen address, waits until it answers /-/ping, and stops it when
// the test ends.
func runVerdaccio(tb testing.TB, config func(storage, listen string) string) *Proc {
	tb.Helper()
	modules := toolsModules(tb)
	dir := tb.TempDir()
	storage := filepath.Join(dir, "storage")
	home := filepath.Join(dir, "home")
	for _, d := range []string{storage, home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	port := freePort(tb)
	confPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(confPath, []byte(config(storage, "127.0.0.1:"+strconv.Itoa(port))), 0o644); err != nil {
		tb.Fatal(err)
	}
	p := startProc(tb, procSpec{
		name: "verdaccio",
		path: "node",
		args: []string{filepath.Join(modules, "verdaccio", "bin", "verdaccio"), "--config", confPath},
		env:  []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + dir, "NODE_ENV=production"},
		dir:  dir,
		port: port,
	})
	p.waitHTTP("/-/ping")
	return p
}

// AddUser registers a user (or logs an existing one in) and returns its bearer token.
func (v *Verdaccio) AddUser(t testing.TB, name, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "password": password})
	var out struct {
		Token string `json:"token"`
	}
	status, raw := v.do(t, http.MethodPut, "/-/user/org.couchdb.user:"+name, "", body, &out)
	if status != http.StatusCreated || out.Token == "" {
		t.Fatalf("verdaccio: adding user %s: status %d: %s", name, status, raw)
	}
	return out.Token
}

// Publish publishes every version of p, oldest first, through the registry's publish API
// (what `npm publish` sends), with v.Token. Then it sets p.DistTags if given (else latest
// is the last version). Versions' PublishedAgo is ignored: Verdaccio stamps the time itself.
func (v *Verdaccio) Publish(t testing.TB, p Pkg) {
	t.Helper()
	fp, err := buildPkg(p)
	if err != nil {
		t.Fatalf("verdaccio: %v", err)
	}
	for _, b := range fp.versions {
		file := tarballFile(p.Name, b.Version)
		doc := map[string]any{
			"_id":         p.Name,
			"name":        p.Name,
			"description": "Écluse end-to-end fixture",
			"dist-tags":   map[string]string{"latest": b.Version},
			"versions": map[string]any{
				b.Version: b.manifest(p.Name, v.URL+tarballPath(p.Name, b.Version)),
			},
			"access": nil,
			"_attachments": map[string]any{
				file: map[string]any{
					"content_type": "application/octet-stream",
					"data":         base64.StdEncoding.EncodeToString(b.tgz),
					"length":       len(b.tgz),
				},
			},
		}
		body, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		status, raw := v.do(t, http.MethodPut, packumentPath(p.Name), v.Token, body, nil)
		if status != http.StatusCreated && status != http.StatusOK {
			t.Fatalf("verdaccio: publishing %s@%s: status %d: %s", p.Name, b.Version, status, raw)
		}
	}
	if p.DistTags == nil {
		return
	}
	for tag, version := range p.DistTags {
		body, _ := json.Marshal(version)
		path := "/-/package/" + strings.Replace(p.Name, "/", "%2f", 1) + "/dist-tags/" + tag
		status, raw := v.do(t, http.MethodPut, path, v.Token, body, nil)
		if status != http.StatusCreated && status != http.StatusOK {
			t.Fatalf("verdaccio: setting dist-tag %s of %s to %s: status %d: %s", tag, p.Name, version, status, raw)
		}
	}
}

// Packument fetches name's packument from Verdaccio, failing the test unless it answers 200.
func (v *Verdaccio) Packument(t testing.TB, name string) map[string]any {
	t.Helper()
	var doc map[string]any
	status, raw := v.do(t, http.MethodGet, packumentPath(name), "", nil, &doc)
	if status != http.StatusOK {
		t.Fatalf("verdaccio: GET %s: status %d: %s", name, status, raw)
	}
	return doc
}

// do sends a JSON request to Verdaccio and returns the status and body, decoding a 2xx
// body into out when out is not nil.
func (v *Verdaccio) do(t testing.TB, method, path, token string, body []byte, out any) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, v.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("verdaccio: %s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("verdaccio: %s %s: reading the body: %v", method, path, err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("verdaccio: %s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}
