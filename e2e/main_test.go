package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
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

// minNodeMajor is the oldest Node.js the tools pinned in scripts/verdaccio run on.
const minNodeMajor = 20

var (
	// repoRoot is the module root (the directory holding go.mod), set by TestMain.
	repoRoot string
	// scratchDir is a per-process temporary directory for the built binary, removed at exit.
	scratchDir string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if err := checkNode(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n"+
			"e2e: these tests drive the real npm, pnpm and yarn CLIs and Verdaccio, so they need\n"+
			"e2e: Node.js %d or later with npm on PATH. Install Node.js and run them again.\n", err, minNodeMajor)
		return 1
	}
	root, err := filepath.Abs("..")
	if err == nil {
		_, err = os.Stat(filepath.Join(root, "go.mod"))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot find the module root above the e2e directory: %v\n", err)
		return 1
	}
	repoRoot = root
	scratchDir, err = os.MkdirTemp("", "ecluse-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(scratchDir) }()
	return m.Run()
}

// checkNode reports whether node and npm are on PATH and node is recent enough.
func checkNode() error {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s was not found on PATH", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", "--version").Output()
	if err != nil {
		return fmt.Errorf("node --version failed: %w", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		return fmt.Errorf("node --version printed %q", out)
	}
	if major < minNodeMajor {
		return fmt.Errorf("node is v%s, older than %d", v, minNodeMajor)
	}
	return nil
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// ecluseBinary returns the path of the ecluse binary, building ./cmd/ecluse on first use
// (once per test process; tests that never start the binary never pay for the build). If
// ECLUSE_E2E_BINARY is set, that binary (a path relative to the module root, or absolute) is
// used instead of building one. A failed build
// fails every test that needs the binary, each with the compiler's output.
func ecluseBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("ECLUSE_E2E_BINARY"); p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(repoRoot, p)
			}
			binPath = p
			_, binErr = os.Stat(p)
			return
		}
		out := filepath.Join(scratchDir, "ecluse")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/ecluse")
		cmd.Dir = repoRoot
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		start := time.Now()
		if err := cmd.Run(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/ecluse: %w\n%s", err, buf.String())
			return
		}
		binPath = out
		t.Logf("built ./cmd/ecluse in %s", time.Since(start).Round(time.Millisecond))
	})
	if binErr != nil {
		t.Fatalf("cannot get the ecluse binary: %v", binErr)
	}
	return binPath
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// httpClient talks to the servers the tests start. It ignores HTTP_PROXY and friends and
// keeps no connections between tests' servers alive for long.
var httpClient = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		Proxy:           nil,
		IdleConnTimeout: 5 * time.Second,
	},
}

// pollUntil calls cond every interval until it returns true, failing the test with what
// when the deadline passes first. cond may also stop the wait early by returning an error.
func pollUntil(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("waiting for %s: gave up after %s", what, timeout)
		case <-tick.C:
		}
	}
}
