package e2e

// The one end-to-end test for npm that may use the real public registry: the one the
// npm client on this machine is configured with (`npm config get registry`). It skips,
// saying so, when that registry cannot be reached; every other test uses fixtures.

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// clientRegistry returns the npm client's configured registry, or "" with the reason.
func clientRegistry(t *testing.T) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "npm", "config", "get", "registry").Output()
	if err != nil {
		return "", "npm config get registry failed: " + err.Error()
	}
	registry := strings.TrimSpace(string(out))
	if !strings.HasPrefix(registry, "http") {
		return "", "npm config get registry gave no URL"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(registry, "/")+"/-/ping", nil)
	if err != nil {
		return "", err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "the client's registry is not reachable: " + err.Error()
	}
	_ = resp.Body.Close()
	return registry, ""
}

// TestPublicRegistryInstallNext installs `next` (a 21 MB document upstream) through the
// binary with default settings, against the real public registry the npm client is
// configured with and an empty private fixture registry.
func TestPublicRegistryInstallNext(t *testing.T) {
	registry, why := clientRegistry(t)
	if registry == "" {
		t.Skip("skipping the real-registry test: " + why)
	}
	private := newFixtureRegistry(t)
	env := baseEnv(strings.TrimSuffix(registry, "/"), private.URL)
	delete(env, "PROXY_EGRESS_ALLOW_INTERNAL_CIDRS") // the real registry needs no hole
	p := startEcluse(t, env)
	dir := t.TempDir()
	writePackageJSON(t, dir, map[string]string{"next": "*"})
	out, err := runClient(t, npmCLI, ClientOpts{Dir: dir, Registry: p.URL, Timeout: 8 * time.Minute}, "install", "--no-audit", "--no-fund")
	if err != nil {
		t.Fatalf("npm install next through ecluse: %v\n%s\nlogs:\n%s", err, out, tail(p.Logs(), 40))
	}
	if got := installedVersion(t, dir, "next"); got == "" {
		t.Fatalf("next is not installed; output:\n%s", out)
	}
	if strings.Contains(p.Logs(), "larger than PROXY_MAX_RESPONSE_BYTES") {
		t.Errorf("a document was refused for its size with default settings:\n%s", tail(p.Logs(), 40))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
