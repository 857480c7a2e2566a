package natsqueue_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const serverModule = "github.com/nats-io/nats-server/v2"

// serverBinary builds the nats-server of the version this module requires into the
// user's cache (…/ecluse-tools/go/nats-server-<version>), once; later runs reuse it.
// A test that cannot build it fails: the server process is not optional.
func serverBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build nats-server with: %v", err)
	}
	version := requiredVersion(t, goBin)
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for the nats-server binary: %v", err)
	}
	dir := filepath.Join(cache, "ecluse-tools", "go")
	bin := filepath.Join(dir, "nats-server-"+version)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("cannot create %s: %v", dir, err)
	}
	// Build beside the target and rename, so a concurrent run never sees half a file.
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command(goBin, "build", "-o", tmp, serverModule)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		t.Fatalf("go build %s@%s: %v\n%s", serverModule, version, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatalf("cannot install the nats-server binary: %v", err)
	}
	return bin
}

// requiredVersion is the nats-server version go.mod requires.
func requiredVersion(t *testing.T, goBin string) string {
	t.Helper()
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}", serverModule).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", serverModule, err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		t.Fatalf("go list -m %s: no version", serverModule)
	}
	return v
}

// startServerProcess runs a separate nats-server with JetStream on a random loopback
// port, storing under a temporary directory, and returns its client URL. It is
// stopped when t ends.
func startServerProcess(t *testing.T) string {
	t.Helper()
	bin := serverBinary(t)
	store := t.TempDir()
	portsDir := t.TempDir()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "nats-server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-js", "-sd", store, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", portsDir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("cannot start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	serverLog := func() string {
		b, _ := os.ReadFile(logFile.Name())
		return string(b)
	}

	// The server writes its ports file once it listens.
	portsFile := filepath.Join(portsDir, fmt.Sprintf("%s_%d.ports", filepath.Base(bin), cmd.Process.Pid))
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if url, err := readPorts(portsFile); err == nil {
			return url
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("nats-server exited before listening: %v\n%s", err, serverLog())
		case <-deadline.C:
			t.Fatalf("nats-server wrote no ports file within 30s\n%s", serverLog())
		case <-tick.C:
		}
	}
}

func readPorts(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var ports struct {
		Nats []string `json:"nats"`
	}
	if err := json.Unmarshal(b, &ports); err != nil {
		return "", err // written but not complete yet
	}
	if len(ports.Nats) == 0 {
		return "", errors.New("no client url in the ports file")
	}
	return ports.Nats[0], nil
}
