package pubsubqueue

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The tests run against two servers: pstest, the client library's in-memory fake,
// for speed; and Google's Pub/Sub emulator (a Java process started through gcloud),
// the closest thing to the service that runs here. The emulator is started once, on
// the first test that needs it, on a free loopback port, and stopped by TestMain. A
// test that cannot start it fails.
const (
	testProject        = "test-project"
	emulatorStartLimit = 120 * time.Second // a cold JVM on a small machine
)

var emulator emulatorServer

type emulatorServer struct {
	once sync.Once
	addr string
	err  error

	cmd     *exec.Cmd
	exited  chan struct{}
	dataDir string
	log     *os.File
}

// emulatorAddr returns the emulator's host:port, starting it on first use.
func emulatorAddr(t *testing.T) string {
	t.Helper()
	emulator.once.Do(func() {
		for range 3 { // a free port can be taken between the probe and the bind
			if emulator.err = emulator.start(); emulator.err == nil {
				return
			}
		}
	})
	if emulator.err != nil {
		t.Fatalf("start the Pub/Sub emulator (gcloud with the pubsub-emulator component is needed on PATH for these tests): %v", emulator.err)
	}
	return emulator.addr
}

func (s *emulatorServer) start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	if s.dataDir == "" {
		if s.dataDir, err = os.MkdirTemp("", "pubsub-emulator-*"); err != nil {
			return err
		}
	}
	if s.log == nil {
		if s.log, err = os.CreateTemp("", "pubsub-emulator-*.log"); err != nil {
			return err
		}
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command("gcloud", "beta", "emulators", "pubsub", "start",
		"--host-port="+addr, "--project="+testProject, "--data-dir="+s.dataDir)
	cmd.Env = append(os.Environ(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1")
	cmd.Stdout, cmd.Stderr = s.log, s.log
	// Its own process group: gcloud starts the JVM as a child, and stop kills both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(emulatorStartLimit)
	for {
		select {
		case <-exited:
			return fmt.Errorf("the emulator exited before answering; log in %s", s.log.Name())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			s.addr = addr
			return nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("the emulator did not answer on %s within %v; log in %s", addr, emulatorStartLimit, s.log.Name())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop kills the emulator's whole process group and waits for gcloud to exit.
func (s *emulatorServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
		// The JVM may outlive gcloud's exit: kill what is left of the group.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
		s.cmd = nil
	}
	if s.log != nil {
		s.log.Close()
		os.Remove(s.log.Name())
		s.log = nil
	}
	if s.dataDir != "" {
		os.RemoveAll(s.dataDir)
		s.dataDir = ""
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// insecureEndpoint is the client options for a local server without TLS or
// credentials.
func insecureEndpoint(addr string) []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// backend is a server the tests run against.
type backend struct {
	name string
	// dial returns client options onto the server, starting it if needed.
	dial func(t *testing.T) []option.ClientOption
}

var (
	pstestBackend = backend{"pstest", func(t *testing.T) []option.ClientOption {
		srv := pstest.NewServer()
		t.Cleanup(func() { srv.Close() })
		return insecureEndpoint(srv.Addr)
	}}
	emulatorBackend = backend{"emulator", func(t *testing.T) []option.ClientOption {
		return insecureEndpoint(emulatorAddr(t))
	}}
	backends = []backend{pstestBackend, emulatorBackend}
)

var nameSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// names returns a fresh topic and subscription for the test.
func names(t *testing.T) (topic, subscription string) {
	t.Helper()
	base := unsafeName.ReplaceAllString(t.Name(), "-")
	if len(base) > 100 {
		base = base[len(base)-100:]
	}
	n := nameSeq.Add(1)
	return fmt.Sprintf("projects/%s/topics/t%d-%s", testProject, n, base), fmt.Sprintf("s%d-%s", n, base)
}
