package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// client names a package manager CLI the tests drive.
type client string

const (
	npmCLI  client = "npm"
	pnpmCLI client = "pnpm"
	yarnCLI client = "yarn" // yarn berry (4.x)
)

// defaultClientTimeout bounds one package manager command.
const defaultClientTimeout = 3 * time.Minute

// ClientOpts configures one package manager run. Each run gets a fresh HOME, cache and
// configuration in temporary directories, so the machine's own npm, pnpm and yarn settings
// are never read and no cache is shared between runs.
type ClientOpts struct {
	// Dir is the working directory (the project). Empty means a fresh temporary directory.
	Dir string
	// Registry is the registry URL the client uses for everything. Required.
	Registry string
	// Token, if not empty, is sent as a bearer token to Registry (.npmrc _authToken, yarn
	// npmAuthToken with npmAlwaysAuth).
	Token string
	// BasicAuth, if not empty, is "user:password" sent as Basic authentication to Registry
	// (.npmrc _auth, yarn npmAuthIdent with npmAlwaysAuth). Token wins if both are set.
	BasicAuth string
	// Npmrc are extra lines for the .npmrc of npm and pnpm. Nil means none.
	Npmrc []string
	// Yarnrc are extra lines for yarn's .yarnrc.yml. Nil means none.
	Yarnrc []string
	// Env are extra environment variables. Nil means none.
	Env map[string]string
	// Timeout bounds the command. Zero means defaultClientTimeout.
	Timeout time.Duration
}

// runNPM runs the real npm CLI in dir against registry (with token as its bearer token when
// not empty) and returns its combined output.
func runNPM(t testing.TB, dir, registry, token string, args ...string) (string, error) {
	t.Helper()
	return runClient(t, npmCLI, ClientOpts{Dir: dir, Registry: registry, Token: token}, args...)
}

// runPNPM is runNPM for pnpm (from the tools install), with its store in a temporary directory.
func runPNPM(t testing.TB, dir, registry, token string, args ...string) (string, error) {
	t.Helper()
	return runClient(t, pnpmCLI, ClientOpts{Dir: dir, Registry: registry, Token: token}, args...)
}

// runYarn is runNPM for yarn berry (from the tools install), configured by a .yarnrc.yml in
// its temporary HOME, with the node-modules linker and its cache in a temporary directory.
func runYarn(t testing.TB, dir, registry, token string, args ...string) (string, error) {
	t.Helper()
	return runClient(t, yarnCLI, ClientOpts{Dir: dir, Registry: registry, Token: token}, args...)
}

// runClient runs one package manager command as configured by o and returns its combined
// stdout and stderr. The error is non-nil if the command failed or timed out; the test is
// failed only if the command could not be set up.
func runClient(t testing.TB, c client, o ClientOpts, args ...string) (string, error) {
	t.Helper()
	if o.Registry == "" {
		t.Fatalf("%s: ClientOpts.Registry is required", c)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Timeout == 0 {
		o.Timeout = defaultClientTimeout
	}
	registry := strings.TrimSuffix(o.Registry, "/") + "/"
	u, err := url.Parse(registry)
	if err != nil || u.Host == "" {
		t.Fatalf("%s: bad registry URL %q: %v", c, o.Registry, err)
	}

	root := t.TempDir()
	home := filepath.Join(root, "home")
	cache := filepath.Join(root, "cache")
	tmp := filepath.Join(root, "tmp")
	for _, d := range []string{home, cache, tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	npmrc := filepath.Join(home, ".npmrc")
	globalrc := filepath.Join(root, "npmrc-global") // empty: hides the machine's global npmrc
	if err := os.WriteFile(globalrc, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(npmrc, []byte(npmrcText(c, registry, o, root)), 0o600); err != nil {
		t.Fatal(err)
	}
	if c == yarnCLI {
		yarnrc := filepath.Join(home, ".yarnrc.yml")
		if err := os.WriteFile(yarnrc, []byte(yarnrcText(registry, o, root)), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	env := map[string]string{
		"PATH":                    os.Getenv("PATH"),
		"HOME":                    home,
		"TMPDIR":                  tmp,
		"npm_config_userconfig":   npmrc,
		"npm_config_globalconfig": globalrc,
		"npm_config_cache":        cache,
		"NO_UPDATE_NOTIFIER":      "1",
		"NO_COLOR":                "1",
		"FORCE_COLOR":             "0",
		"COREPACK_ENABLE_STRICT":  "0",
		"YARN_ENABLE_TELEMETRY":   "0",
	}
	for k, v := range o.Env {
		env[k] = v
	}

	var argv []string
	switch c {
	case npmCLI:
		argv = append([]string{"npm"}, args...)
	case pnpmCLI:
		argv = append([]string{"node", filepath.Join(toolsModules(t), "pnpm", "bin", "pnpm.cjs")}, args...)
	case yarnCLI:
		argv = append([]string{"node", filepath.Join(toolsModules(t), "@yarnpkg", "cli-dist", "bin", "yarn.js")}, args...)
	default:
		t.Fatalf("unknown client %q", c)
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = o.Dir
	cmd.Env = envList(env)
	// Its own process group, so that a timeout also ends the install scripts it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s: %s", c, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("%s %s did not finish within %s: %w", c, strings.Join(args, " "), o.Timeout, ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %s: %v", c, err)
	}
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", c, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// nerfDart is the registry's key prefix for credentials in .npmrc: //host:port/path/.
func nerfDart(registry string) string {
	u, _ := url.Parse(registry)
	return "//" + u.Host + u.EscapedPath()
}

func npmrcText(c client, registry string, o ClientOpts, root string) string {
	lines := []string{
		"registry=" + registry,
		"audit=false",
		"fund=false",
		"update-notifier=false",
		"progress=false",
	}
	switch {
	case o.Token != "":
		lines = append(lines, nerfDart(registry)+":_authToken="+o.Token)
	case o.BasicAuth != "":
		lines = append(lines, nerfDart(registry)+":_auth="+base64.StdEncoding.EncodeToString([]byte(o.BasicAuth)))
	}
	if c == pnpmCLI {
		lines = append(lines,
			"store-dir="+filepath.Join(root, "pnpm-store"),
			"cache-dir="+filepath.Join(root, "pnpm-cache"),
			"state-dir="+filepath.Join(root, "pnpm-state"),
			"manage-package-manager-versions=false",
			"frozen-lockfile=false",
		)
	}
	lines = append(lines, o.Npmrc...)
	return strings.Join(lines, "\n") + "\n"
}

func yarnrcText(registry string, o ClientOpts, root string) string {
	q := strconv.Quote
	lines := []string{
		"npmRegistryServer: " + q(strings.TrimSuffix(registry, "/")),
		"unsafeHttpWhitelist:",
		"  - 127.0.0.1",
		"  - localhost",
		"enableGlobalCache: false",
		"cacheFolder: " + q(filepath.Join(root, "yarn-cache")),
		"globalFolder: " + q(filepath.Join(root, "yarn-global")),
		"enableTelemetry: false",
		"enableImmutableInstalls: false",
		"enableProgressBars: false",
		"enableColors: false",
		"enableHyperlinks: false",
		"nodeLinker: node-modules",
		// yarn's own quarantine (1 day by default) would hide versions just published to
		// Verdaccio; the gate under test is Écluse's.
		"npmMinimalAgeGate: 0",
	}
	switch {
	case o.Token != "":
		lines = append(lines, "npmAuthToken: "+q(o.Token), "npmAlwaysAuth: true")
	case o.BasicAuth != "":
		lines = append(lines, "npmAuthIdent: "+q(o.BasicAuth), "npmAlwaysAuth: true")
	}
	lines = append(lines, o.Yarnrc...)
	return strings.Join(lines, "\n") + "\n"
}

// envList turns env into KEY=VALUE pairs in a stable order.
func envList(env map[string]string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// writePackageJSON writes a minimal package.json into dir with the given dependencies.
func writePackageJSON(t testing.TB, dir string, deps map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("{\n  \"name\": \"ecluse-e2e-project\",\n  \"version\": \"1.0.0\",\n  \"private\": true,\n  \"dependencies\": {")
	keys := make([]string, 0, len(deps))
	for k := range deps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    %s: %s", strconv.Quote(k), strconv.Quote(deps[k]))
	}
	b.WriteString("\n  }\n}\n")
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
