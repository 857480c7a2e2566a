package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The tests run against moto_server (Python moto 5), a real SQS emulator speaking the
// SDK's wire protocol. It is started once, on the first test that needs it, on a free
// loopback port, and stopped by TestMain. A test that cannot start it fails.
const (
	motoCommand    = "moto_server"
	motoStartLimit = 60 * time.Second
	testRegion     = "us-east-1"
)

var moto motoServer

type motoServer struct {
	once sync.Once
	url  string
	err  error

	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

// motoURL returns the emulator's endpoint, starting it on first use.
func motoURL(t *testing.T) string {
	t.Helper()
	moto.once.Do(func() {
		for range 3 { // a free port can be taken between the probe and the bind
			if moto.err = moto.start(); moto.err == nil {
				return
			}
		}
	})
	if moto.err != nil {
		t.Fatalf("start %s (needed on PATH for these tests): %v", motoCommand, moto.err)
	}
	return moto.url
}

func (s *motoServer) start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	if s.log == nil {
		if s.log, err = os.CreateTemp("", "moto-*.log"); err != nil {
			return err
		}
	}
	cmd := exec.Command(motoCommand, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = s.log, s.log
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
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(motoStartLimit)
	for {
		select {
		case <-exited:
			return fmt.Errorf("%s exited before answering; log in %s", motoCommand, s.log.Name())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			s.url = "http://" + addr
			return nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("%s did not answer on %s within %v; log in %s", motoCommand, addr, motoStartLimit, s.log.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop kills the emulator's whole process group and waits for it.
func (s *motoServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
	if s.log != nil {
		s.log.Close()
		os.Remove(s.log.Name())
		s.log = nil
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

// testConfig is the SDK configuration the tests use: static test credentials and the
// emulator as the endpoint. HTTPClient is left nil, so New builds (and Close cleans)
// its own.
func testConfig(endpoint string) *aws.Config {
	return &aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// adminClient is a plain SQS client onto the emulator, for creating queues and for
// looking at messages behind the provider's back.
func adminClient(t *testing.T) *sqs.Client {
	t.Helper()
	endpoint := motoURL(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := testConfig(endpoint)
	cfg.HTTPClient = &http.Client{Transport: tr}
	return sqs.NewFromConfig(*cfg)
}

var queueSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// newQueueURL creates a fresh queue for the test and returns its URL.
func newQueueURL(t *testing.T) string {
	t.Helper()
	name := unsafeName.ReplaceAllString(t.Name(), "-")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	name = fmt.Sprintf("q%d-%s", queueSeq.Add(1), name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := adminClient(t).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateQueue(%q) = %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// openQueue opens a handle onto queueURL against the emulator, closed when the test
// ends.
func openQueue(t *testing.T, queueURL string, o Options) *Queue {
	t.Helper()
	o.QueueURL = queueURL
	if o.AWSConfig == nil {
		o.AWSConfig = testConfig(motoURL(t))
	}
	q, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("New(%+v) = %v", o, err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Close() = %v", err)
		}
	})
	return q
}
