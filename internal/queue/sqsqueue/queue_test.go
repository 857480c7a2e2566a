package sqsqueue

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecluse/ecluse/internal/queue"
)

func TestNewRefuses(t *testing.T) {
	cfg := &aws.Config{Region: testRegion}
	const url = "http://127.0.0.1:1/123456789012/jobs"
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no queue url", Options{AWSConfig: cfg}, "queue url is required"},
		{"queue url without path", Options{QueueURL: "https://sqs.example", AWSConfig: cfg}, "want http(s)://"},
		{"queue url not a url", Options{QueueURL: "jobs", AWSConfig: cfg}, "want http(s)://"},
		{"negative hold", Options{QueueURL: url, AWSConfig: cfg, Hold: -time.Second}, "sqs hold"},
		{"hold past 12h", Options{QueueURL: url, AWSConfig: cfg, Hold: 13 * time.Hour}, "sqs hold"},
		{"wait past 20s", Options{QueueURL: url, AWSConfig: cfg, WaitTime: 21 * time.Second}, "sqs wait time"},
		{"batch past 10", Options{QueueURL: url, AWSConfig: cfg, Batch: 11}, "sqs batch"},
		{"no region", Options{QueueURL: url, AWSConfig: &aws.Config{}}, "region is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := New(context.Background(), tt.o)
			if err == nil {
				q.Close()
				t.Fatalf("New(%+v) = nil error, want %q", tt.o, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) = %v, want %q", tt.o, err, tt.want)
			}
		})
	}
	if _, err := New(context.Background(), Options{AWSConfig: cfg}); !errors.Is(err, ErrNoQueueURL) {
		t.Errorf("New(no QueueURL) = %v, want ErrNoQueueURL", err)
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		d, limit time.Duration
		want     int32
	}{
		{0, MaxHold, 0},
		{-time.Second, MaxHold, 0},
		{time.Millisecond, MaxHold, 1},
		{time.Second, MaxHold, 1},
		{1500 * time.Millisecond, MaxHold, 2},
		{24 * time.Hour, MaxHold, 43200},
		{25 * time.Second, MaxWaitTime, 20},
	}
	for _, tt := range tests {
		if got := seconds(tt.d, tt.limit); got != tt.want {
			t.Errorf("seconds(%v, %v) = %d, want %d", tt.d, tt.limit, got, tt.want)
		}
	}
}

func receive(t *testing.T, q *Queue, within time.Duration) queue.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	m, err := q.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive() = %v, want a message within %v", err, within)
	}
	return m
}

func receiveNone(t *testing.T, q *Queue, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	m, err := q.Receive(ctx)
	if err == nil {
		t.Fatalf("Receive() = %q, want nothing within %v", m.Body(), within)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive() = %v, want context.DeadlineExceeded", err)
	}
}

func enqueue(t *testing.T, q *Queue, body []byte) {
	t.Helper()
	if err := q.Enqueue(context.Background(), body); err != nil {
		t.Fatalf("Enqueue(%q) = %v", body, err)
	}
}

// TestAttemptCountsReceives checks that Attempt follows ApproximateReceiveCount.
func TestAttemptCountsReceives(t *testing.T) {
	t.Parallel()
	q := openQueue(t, newQueueURL(t), Options{Hold: 2 * time.Second, WaitTime: time.Second})
	enqueue(t, q, []byte(`{"job":1}`))
	for want := 1; want <= 3; want++ {
		m := receive(t, q, 10*time.Second)
		if got := m.Attempt(); got != want {
			t.Fatalf("delivery %d: Attempt() = %d, want %d", want, got, want)
		}
		if err := m.Nack(context.Background(), 0); err != nil {
			t.Fatalf("Nack(0) = %v", err)
		}
	}
}

// payloads covers what SQS carries as text and what it must carry encoded.
var payloads = []struct {
	name    string
	body    []byte
	encoded bool
}{
	{"json", []byte(`{"name":"left-pad","version":"1.3.0"}`), false},
	{"utf-8 text", []byte("r\u00e9sum\u00e9 \U0001F600\ttab\r\n"), false},
	{"empty", []byte{}, true},
	{"invalid utf-8", []byte{0xff, 0xfe, 0xfd}, true},
	{"nul byte", []byte("a\x00b"), true},
	{"control character", []byte("bell\x07"), true},
	{"noncharacter U+FFFE", []byte("\uFFFE"), true},
	{"all bytes", allBytes(), true},
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestBodyOnTheWire checks what SQS stores: text payloads as they are, others in
// base64 with the encoding attribute, and that each comes back as it went in.
func TestBodyOnTheWire(t *testing.T) {
	t.Parallel()
	url := newQueueURL(t)
	admin := adminClient(t)
	q := openQueue(t, url, Options{Hold: 5 * time.Second, WaitTime: time.Second})
	ctx := context.Background()
	for _, p := range payloads {
		enqueue(t, q, p.body)
		out, err := admin.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:              aws.String(url),
			MessageAttributeNames: []string{"All"},
			WaitTimeSeconds:       5,
		})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("%s: admin ReceiveMessage = %d messages, %v; want 1", p.name, len(out.Messages), err)
		}
		raw := out.Messages[0]
		_, marked := raw.MessageAttributes[encodingAttribute]
		if marked != p.encoded {
			t.Errorf("%s: encoding attribute present = %v, want %v", p.name, marked, p.encoded)
		}
		if !p.encoded && aws.ToString(raw.Body) != string(p.body) {
			t.Errorf("%s: wire body = %q, want the payload as it is", p.name, aws.ToString(raw.Body))
		}
		if p.encoded && len(p.body) > 0 && aws.ToString(raw.Body) != base64.StdEncoding.EncodeToString(p.body) {
			t.Errorf("%s: wire body = %q, want base64", p.name, aws.ToString(raw.Body))
		}
		got, err := decodeBody(aws.ToString(raw.Body), raw.MessageAttributes)
		if err != nil || !bytes.Equal(got, p.body) {
			t.Errorf("%s: decodeBody(wire) = %q, %v; want %q", p.name, got, err, p.body)
		}
		if _, err := admin.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: raw.ReceiptHandle}); err != nil {
			t.Fatalf("admin DeleteMessage = %v", err)
		}
	}
}

// TestBodyRoundTrip checks that every payload comes back byte for byte.
func TestBodyRoundTrip(t *testing.T) {
	t.Parallel()
	q := openQueue(t, newQueueURL(t), Options{Hold: 5 * time.Second, WaitTime: time.Second})
	for _, p := range payloads {
		enqueue(t, q, p.body)
		m := receive(t, q, 10*time.Second)
		if !bytes.Equal(m.Body(), p.body) {
			t.Errorf("%s: Body() = %q, want %q", p.name, m.Body(), p.body)
		}
		if err := m.Ack(context.Background()); err != nil {
			t.Fatalf("Ack() = %v", err)
		}
	}
}

// TestForeignBodyHandedOut checks that a message another writer marked with an
// unknown encoding is handed out as it was received, not lost.
func TestForeignBodyHandedOut(t *testing.T) {
	t.Parallel()
	url := newQueueURL(t)
	_, err := adminClient(t).SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl:    aws.String(url),
		MessageBody: aws.String("%%%"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			encodingAttribute: {DataType: aws.String("String"), StringValue: aws.String("base64")},
		},
	})
	if err != nil {
		t.Fatalf("admin SendMessage = %v", err)
	}
	q := openQueue(t, url, Options{Hold: 5 * time.Second, WaitTime: time.Second})
	if m := receive(t, q, 10*time.Second); string(m.Body()) != "%%%" {
		t.Errorf("Body() = %q, want the raw text %q", m.Body(), "%%%")
	}
}

// TestHoldLapses checks that an unacknowledged message comes back after Hold, and not
// before, to another handle.
func TestHoldLapses(t *testing.T) {
	t.Parallel()
	url := newQueueURL(t)
	a := openQueue(t, url, Options{Hold: 3 * time.Second, WaitTime: time.Second})
	b := openQueue(t, url, Options{Hold: 3 * time.Second, WaitTime: time.Second})
	enqueue(t, a, []byte("held"))
	first := receive(t, a, 10*time.Second)
	start := time.Now()
	receiveNone(t, b, 2*time.Second)
	second := receive(t, b, 10*time.Second)
	if waited := time.Since(start); waited < 2*time.Second {
		t.Errorf("redelivered after %v, want at least the 3s hold", waited)
	}
	if second.Attempt() != first.Attempt()+1 {
		t.Errorf("Attempt() = %d then %d, want consecutive", first.Attempt(), second.Attempt())
	}
	if err := second.Ack(context.Background()); err != nil {
		t.Fatalf("Ack() = %v", err)
	}
	if err := second.Ack(context.Background()); err != nil {
		t.Errorf("second Ack() = %v, want nil", err)
	}
}

// TestExtendKeepsHold checks that Extend pushes the hold past Hold.
func TestExtendKeepsHold(t *testing.T) {
	t.Parallel()
	url := newQueueURL(t)
	a := openQueue(t, url, Options{Hold: 2 * time.Second, WaitTime: time.Second})
	b := openQueue(t, url, Options{Hold: 2 * time.Second, WaitTime: time.Second})
	enqueue(t, a, []byte("extended"))
	m := receive(t, a, 10*time.Second)
	if err := m.Extend(context.Background(), 6*time.Second); err != nil {
		t.Fatalf("Extend(6s) = %v", err)
	}
	receiveNone(t, b, 4*time.Second)
	if err := m.Extend(context.Background(), 0); err == nil {
		t.Errorf("Extend(0) = nil, want an error")
	}
	if err := m.Ack(context.Background()); err != nil {
		t.Fatalf("Ack() = %v", err)
	}
}

// TestNackDelay checks that Nack(delay) keeps the message away for delay.
func TestNackDelay(t *testing.T) {
	t.Parallel()
	q := openQueue(t, newQueueURL(t), Options{Hold: 30 * time.Second, WaitTime: time.Second})
	enqueue(t, q, []byte("retry"))
	m := receive(t, q, 10*time.Second)
	if err := m.Nack(context.Background(), 2*time.Second); err != nil {
		t.Fatalf("Nack(2s) = %v", err)
	}
	start := time.Now()
	again := receive(t, q, 10*time.Second)
	if waited := time.Since(start); waited < 1500*time.Millisecond {
		t.Errorf("redelivered %v after Nack(2s), want about 2s", waited)
	}
	if string(again.Body()) != "retry" {
		t.Errorf("Body() = %q, want %q", again.Body(), "retry")
	}
}

// TestBatchBuffers checks a handle with Batch > 1: the extra messages wait in the
// handle, come out in order, and go back to the queue at Close.
func TestBatchBuffers(t *testing.T) {
	t.Parallel()
	url := newQueueURL(t)
	a := openQueue(t, url, Options{Hold: 30 * time.Second, WaitTime: time.Second, Batch: 4})
	b := openQueue(t, url, Options{Hold: 30 * time.Second, WaitTime: time.Second})
	for _, body := range []string{"one", "two", "three"} {
		enqueue(t, b, []byte(body))
	}
	seen := map[string]bool{}
	first := receive(t, a, 10*time.Second)
	seen[string(first.Body())] = true
	a.mu.Lock()
	buffered := len(a.buffered)
	a.mu.Unlock()
	if buffered == 0 {
		t.Fatal("Receive() with Batch 4 buffered nothing, want the other messages of the batch buffered")
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	// The buffered messages are visible again at once, well before their 30s hold.
	for range buffered {
		m := receive(t, b, 5*time.Second)
		if seen[string(m.Body())] {
			t.Errorf("Body() = %q again, want a message not handed out before", m.Body())
		}
		seen[string(m.Body())] = true
	}
	if err := first.Ack(context.Background()); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Ack() after Close = %v, want ErrClosed", err)
	}
}

// TestBatchHandsOutInOrder checks that buffered messages come out of Receive, each
// with a fresh hold.
func TestBatchHandsOutInOrder(t *testing.T) {
	t.Parallel()
	url := newQueueURL(t)
	a := openQueue(t, url, Options{Hold: 2 * time.Second, WaitTime: time.Second, Batch: 4})
	for _, body := range []string{"one", "two", "three"} {
		enqueue(t, a, []byte(body))
	}
	got := map[string]bool{}
	for len(got) < 3 {
		m := receive(t, a, 10*time.Second)
		got[string(m.Body())] = true
		if err := m.Ack(context.Background()); err != nil {
			t.Fatalf("Ack() = %v", err)
		}
	}
	receiveNone(t, a, 3*time.Second)
}

// TestCloseUnblocksReceive checks that Close ends a blocked Receive with ErrClosed and
// that the handle refuses work afterwards.
func TestCloseUnblocksReceive(t *testing.T) {
	t.Parallel()
	q := openQueue(t, newQueueURL(t), Options{Hold: 2 * time.Second})
	errc := make(chan error, 1)
	go func() {
		_, err := q.Receive(context.Background())
		errc <- err
	}()
	time.Sleep(500 * time.Millisecond)
	if err := q.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Receive() after Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Receive() still blocked 5s after Close")
	}
	if err := q.Enqueue(context.Background(), []byte("x")); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Enqueue() after Close = %v, want ErrClosed", err)
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
}

// TestLoadAWSConfigHonoursEndpointEnv checks the composition root's path: no
// AWSConfig, so New loads the default chain, which must pick up the endpoint
// override and credentials from the environment.
func TestLoadAWSConfigHonoursEndpointEnv(t *testing.T) {
	endpoint := motoURL(t)
	url := newQueueURL(t)
	empty := t.TempDir() + "/none"
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SQS":        endpoint,
		"AWS_ENDPOINT_URL":            "http://127.0.0.1:1", // the service-specific one wins
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  testRegion,
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             empty,
		"AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	q, err := New(context.Background(), Options{QueueURL: url, Hold: 2 * time.Second, WaitTime: time.Second})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	defer q.Close()
	enqueue(t, q, []byte("via env"))
	if m := receive(t, q, 10*time.Second); string(m.Body()) != "via env" {
		t.Errorf("Body() = %q, want %q", m.Body(), "via env")
	}
}

// TestBatchDropsStaleBuffered checks that a buffered message with less than half its
// hold left is not handed out, since its hold could lapse before the refresh lands; it
// reappears when its hold lapses.
func TestBatchDropsStaleBuffered(t *testing.T) {
	t.Parallel()
	a := openQueue(t, newQueueURL(t), Options{Hold: 30 * time.Second, WaitTime: time.Second, Batch: 4})
	for _, body := range []string{"one", "two", "three"} {
		enqueue(t, a, []byte(body))
	}
	receive(t, a, 10*time.Second)
	a.mu.Lock()
	buffered := len(a.buffered)
	for _, m := range a.buffered {
		m.received = time.Now().Add(-16 * time.Second)
	}
	a.mu.Unlock()
	if buffered == 0 {
		t.Fatal("Receive() with Batch 4 buffered nothing, want the rest of the batch buffered")
	}
	receiveNone(t, a, 2*time.Second)
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.buffered) != 0 {
		t.Errorf("%d messages still buffered, want the stale ones dropped", len(a.buffered))
	}
}

func TestDepth(t *testing.T) {
	q := openQueue(t, newQueueURL(t), Options{})
	ctx := context.Background()
	for i := range 3 {
		if err := q.Enqueue(ctx, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := q.Depth(ctx); err != nil || n != 3 {
		t.Errorf("Depth = %d, %v; want 3", n, err)
	}
}
