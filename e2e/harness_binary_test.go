package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts for the subprocesses the tests start.
const (
	readyTimeout = 60 * time.Second // until a server answers its readiness probe
	stopTimeout  = 20 * time.Second // from SIGTERM until the process must have exited
)

// Proc is a server subprocess owned by one test: Écluse (startEcluse) or Verdaccio
// (startVerdaccio). Its stdout and stderr are captured for the test to read. It is stopped
// when the test ends (SIGTERM, then SIGKILL past stopTimeout), and its output is written to
// the test log if the test failed.
type Proc struct {
	// Name is a short label used in messages ("ecluse", "verdaccio").
	Name string
	// URL is the base URL the server listens on, without a trailing slash
	// (http://127.0.0.1:PORT).
	URL string
	// Port is the TCP port in URL.
	Port int

	t      testing.TB
	cmd    *exec.Cmd
	all    *syncBuffer // stdout and stderr interleaved
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	state  *os.ProcessState
}

// syncBuffer is a bytes.Buffer safe for one writer goroutine per stream and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logs returns everything the process wrote so far, stdout and stderr interleaved.
func (p *Proc) Logs() string { return p.all.String() }

// Stdout returns what the process wrote to stdout so far (Écluse's structured log).
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Signal sends sig to the process, failing the test if it cannot be delivered.
func (p *Proc) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: sending %v: %v", p.Name, sig, err)
	}
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to stopTimeout for the process to exit and returns its exit code (-1 if a
// signal killed it). It fails the test if the process is still running at the deadline.
func (p *Proc) Wait() int {
	p.t.Helper()
	return p.WaitFor(stopTimeout)
}

// WaitFor is Wait with an explicit deadline.
func (p *Proc) WaitFor(timeout time.Duration) int {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.state.ExitCode()
	case <-timer.C:
		p.t.Fatalf("%s did not exit within %s; output so far:\n%s", p.Name, timeout, p.Logs())
		return -1
	}
}

// procSpec says how to start a server subprocess.
type procSpec struct {
	name string
	path string
	args []string
	env  []string // the complete environment
	dir  string
	port int
}

// startProc starts a subprocess and arranges for it to be stopped when the test ends. It
// does not wait for readiness.
func startProc(t testing.TB, s procSpec) *Proc {
	t.Helper()
	p := &Proc{
		Name:   s.name,
		Port:   s.port,
		URL:    "http://127.0.0.1:" + strconv.Itoa(s.port),
		t:      t,
		all:    &syncBuffer{},
		stdout: &syncBuffer{},
		stderr: &syncBuffer{},
		done:   make(chan struct{}),
	}
	cmd := exec.Command(s.path, s.args...)
	cmd.Env = s.env
	cmd.Dir = s.dir
	cmd.Stdout = io.MultiWriter(p.stdout, p.all)
	cmd.Stderr = io.MultiWriter(p.stderr, p.all)
	// Same process group as `go test`: a Ctrl-C at the terminal ends the servers too.
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", s.name, err)
	}
	p.cmd = cmd
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", p.Name, p.Logs())
		}
	})
	return p
}

// stop ends the process if it is still running: SIGTERM, then SIGKILL past stopTimeout.
func (p *Proc) stop() {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.t.Errorf("%s did not stop within %s of SIGTERM; killing it", p.Name, stopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitHTTP polls GET p.URL+path until it answers 200, failing the test if the process
// exits first or readyTimeout passes.
func (p *Proc) waitHTTP(path string) {
	p.t.Helper()
	pollUntil(p.t, readyTimeout, p.Name+" to answer "+path, func() (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("%s exited with code %d before it was ready; output:\n%s",
				p.Name, p.state.ExitCode(), p.Logs())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
		if err != nil {
			return false, err
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return false, nil // not listening yet
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// ecluseEnv turns env into a complete environment for the binary: exactly the given
// variables plus PATH and HOME from the test process, so that nothing else in the
// developer's or CI's environment changes what is tested.
func ecluseEnv(env map[string]string) []string {
	full := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME")}
	for k, v := range env {
		full[k] = v
	}
	return envList(full)
}

// selfURL, anywhere in a value of the env given to startEcluse, is replaced by the started
// proxy's own base URL (http://127.0.0.1:PORT, no trailing slash), which is not known before
// the port is picked: PROXY_PUBLIC_URL: selfURL + "/".
const selfURL = "{{ECLUSE_URL}}"

// startEcluseProc starts `ecluse serve` with env (plus PROXY_PORT set to a free port, and
// PATH and HOME; selfURL in values replaced) and returns without waiting for readiness. Use
// it for a process expected to fail at start; otherwise use startEcluse.
func startEcluseProc(t testing.TB, env map[string]string) *Proc {
	t.Helper()
	bin := ecluseBinary(t)
	port := freePort(t)
	self := "http://127.0.0.1:" + strconv.Itoa(port)
	full := make(map[string]string, len(env)+1)
	for k, v := range env {
		full[k] = strings.ReplaceAll(v, selfURL, self)
	}
	full["PROXY_PORT"] = strconv.Itoa(port)
	if _, ok := full["CVE_SOURCE_URL"]; !ok {
		// Never OSV's public export: an empty directory is an index that loads at once
		// and knows nothing. Tests about advisories give their own.
		full["CVE_SOURCE_URL"] = t.TempDir()
	}
	return startProc(t, procSpec{
		name: "ecluse",
		path: bin,
		args: []string{"serve"},
		env:  ecluseEnv(full),
		dir:  t.TempDir(),
		port: port,
	})
}

// startEcluse starts `ecluse serve` with exactly env (plus PROXY_PORT, PATH and HOME; selfURL
// in values replaced; CVE_SOURCE_URL an empty directory unless env gives one), waits until
// GET /readyz answers 200 and says the advisory index has loaded, and stops it when the
// test ends. A PROXY_PORT in env is replaced by a free port.
func startEcluse(t testing.TB, env map[string]string) *Proc {
	t.Helper()
	p := startEcluseProc(t, env)
	p.waitHTTP("/readyz")
	p.waitAdvisories()
	return p
}

// waitAdvisories polls /readyz until its detail says the advisory index has loaded, so
// that no request is decided before it (the advisory rules fail closed until then).
func (p *Proc) waitAdvisories() {
	p.t.Helper()
	pollUntil(p.t, readyTimeout, p.Name+" to load its advisory index", func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/readyz", nil)
		if err != nil {
			return false, err
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		var body struct {
			Detail struct {
				Advisories struct {
					Loaded bool `json:"loaded"`
				} `json:"advisories"`
			} `json:"detail"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
			return false, nil
		}
		return body.Detail.Advisories.Loaded, nil
	})
}

// runEcluse runs the binary to completion with args and exactly env (plus PATH and HOME),
// and returns its stdout, stderr and exit code. It fails the test if the command cannot be
// started or runs longer than a minute.
func runEcluse(t testing.TB, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := ecluseBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = ecluseEnv(env)
	cmd.Dir = t.TempDir()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
	default:
		t.Fatalf("running ecluse %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("ecluse %s did not finish within a minute", strings.Join(args, " "))
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}
