package e2e

// The one end-to-end test of the go mount that may use a real Go module proxy and checksum
// database: the ones the go command on this machine is configured with (`go env GOPROXY`,
// `go env GOSUMDB`). It skips, saying why, when they cannot be used; every other Go test uses
// fixtures. No real proxy or database is named here: they are read from the go command, and
// the database's verifier key from the toolchain's own source, at run time.

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// publicModule is a small, long-published module with no dependencies, and
// publicVersion one of its versions released long ago.
const (
	publicModule  = "github.com/google/uuid"
	publicVersion = "v1.6.0"
)

// goEnv returns `go env key` as the test's own environment configures it.
func goEnv(t *testing.T, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}

// machineGoProxy returns the first proxy URL of `go env GOPROXY` (without a trailing slash),
// or "" with the reason there is none.
func machineGoProxy(t *testing.T) (string, string) {
	t.Helper()
	list := goEnv(t, "GOPROXY")
	for _, entry := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '|' }) {
		entry = strings.TrimSpace(entry)
		if entry == "direct" || entry == "off" || entry == "" {
			continue
		}
		u, err := url.Parse(entry)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			continue
		}
		return strings.TrimSuffix(entry, "/"), ""
	}
	return "", "go env GOPROXY (" + list + ") names no proxy URL"
}

// machineGoSumDBKey returns the verifier key (NAME+HASH+KEY) of the checksum database `go env
// GOSUMDB` names, or "" with the reason there is none. A GOSUMDB that is already a key is
// used as is; a bare name is looked up in the go command's table of known keys, in
// $(go env GOROOT)/src/cmd/go/internal/modfetch/key.go.
func machineGoSumDBKey(t *testing.T) (string, string) {
	t.Helper()
	gosumdb := goEnv(t, "GOSUMDB")
	fields := strings.Fields(gosumdb)
	switch {
	case len(fields) == 0 || fields[0] == "off":
		return "", "go env GOSUMDB is " + strconv.Quote(gosumdb) + ": no checksum database"
	case len(fields) > 1:
		return "", "go env GOSUMDB (" + gosumdb + ") reaches its database at its own URL, not through the proxy"
	case strings.Contains(fields[0], "+"):
		return fields[0], ""
	}
	name := fields[0]
	keyFile := filepath.Join(goEnv(t, "GOROOT"), "src", "cmd", "go", "internal", "modfetch", "key.go")
	src, err := os.ReadFile(keyFile)
	if err != nil {
		return "", "cannot read the go command's known checksum database keys: " + err.Error()
	}
	re := regexp.MustCompile(`"(` + regexp.QuoteMeta(name) + `\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+)"`)
	m := re.FindSubmatch(src)
	if m == nil {
		return "", "no verifier key for " + name + " in " + keyFile
	}
	return string(m[1]), ""
}

// probeGoProxy reports why proxy cannot serve the test ("" if it can): it must list a small
// module and proxy the checksum database named by key, each within a short timeout.
func probeGoProxy(proxy, key string) string {
	name, _, _ := strings.Cut(key, "+")
	for _, path := range []string{"/" + publicModule + "/@v/list", "/sumdb/" + name + "/supported"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, proxy+path, nil)
		if err != nil {
			cancel()
			return err.Error()
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			return "the machine's Go proxy is not reachable: " + err.Error()
		}
		_ = resp.Body.Close()
		cancel()
		if resp.StatusCode != http.StatusOK {
			return "the machine's Go proxy answered " + resp.Status + " to " + path
		}
	}
	return ""
}

// TestGoPublicProxy fetches a real module through the binary's go mount, in front of the
// machine's own Go proxy and checksum database, with the go command verifying against that
// database through Écluse.
func TestGoPublicProxy(t *testing.T) {
	proxy, why := machineGoProxy(t)
	if proxy == "" {
		t.Skip("skipping the real Go proxy test: " + why)
	}
	key, why := machineGoSumDBKey(t)
	if key == "" {
		t.Skip("skipping the real Go proxy test: " + why)
	}
	t.Log("using the Go proxy and checksum database the go command is configured with")
	if why := probeGoProxy(proxy, key); why != "" {
		t.Skip("skipping the real Go proxy test: " + why)
	}

	npmPublic, npmPrivate := newFixtureRegistry(t), newFixtureRegistry(t)
	env := baseEnv(npmPublic.URL, npmPrivate.URL)
	delete(env, "PROXY_EGRESS_ALLOW_INTERNAL_CIDRS") // the real proxy needs no hole
	env["PROXY_CONFIG"] = goMountDocument(t, proxy, key, "")
	checkGoConfig(t, env)
	p := startEcluse(t, env)
	g := newGoTool(t, p.URL+"/go/", key)

	d, out, err := g.Download(t, publicModule, publicVersion)
	if err != nil {
		t.Fatalf("go mod download %s@%s through Écluse: %v\n%s\nlogs:\n%s", publicModule, publicVersion, err, out, tail(p.Logs(), 40))
	}
	if d.Version != publicVersion || !strings.HasPrefix(d.Sum, "h1:") {
		t.Errorf("go mod download = version %q sum %q, want %s with an h1: sum", d.Version, d.Sum, publicVersion)
	}

	out, err = g.Run(t, "get", publicModule+"@latest")
	if err != nil {
		t.Fatalf("go get %s@latest through Écluse: %v\n%s\nlogs:\n%s", publicModule, err, out, tail(p.Logs(), 40))
	}
	var latest struct{ Version string }
	getJSON(t, p.URL+"/go/"+publicModule+"/@latest", nil, http.StatusOK, &latest)
	if got := g.Required(t, publicModule); got == "" || got != latest.Version {
		t.Errorf("go get %s@latest required %q; Écluse's /go/%s/@latest says %q", publicModule, got, publicModule, latest.Version)
	}
}
