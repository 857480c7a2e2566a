package e2e

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// motoRegion and the static credentials are what Écluse and the test sign with; moto
// accepts any.
const (
	motoRegion = "us-east-1"
	motoKey    = "e2e-test-key"
	motoSecret = "e2e-test-secret"
)

// startMoto starts moto_server (Python moto, a real SQS emulator) on a free loopback
// port and returns its endpoint. The test fails, rather than skips, when it cannot.
func startMoto(t *testing.T) string {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server (it must be on PATH): %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s within 60 s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the port with a deadline
	}
}

// motoQueue creates an SQS queue in moto and returns its URL.
func motoQueue(t *testing.T, endpoint, name string) string {
	t.Helper()
	client := sqs.New(sqs.Options{
		Region:       motoRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(motoKey, motoSecret, ""),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create the SQS queue in moto: %v", err)
	}
	return aws.ToString(out.QueueUrl)
}

// sqsEnv points Écluse's mirror queue at a moto queue.
func sqsEnv(env map[string]string, endpoint, queueURL string) {
	env["MIRROR_QUEUE_PROVIDER"] = "sqs"
	env["MIRROR_QUEUE_URL"] = queueURL
	env["AWS_ENDPOINT_URL_SQS"] = endpoint
	env["AWS_REGION"] = motoRegion
	env["AWS_ACCESS_KEY_ID"] = motoKey
	env["AWS_SECRET_ACCESS_KEY"] = motoSecret
}
