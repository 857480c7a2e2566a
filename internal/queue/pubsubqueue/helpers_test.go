package pubsubqueue

import (
	"context"
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/option"

	"github.com/ecluse/ecluse/internal/queue"
)

// fixture is one test's topic and subscription on one server.
type fixture struct {
	topic, sub string
	client     []option.ClientOption
}

func newFixture(t *testing.T, b backend) fixture {
	t.Helper()
	topic, sub := names(t)
	return fixture{topic: topic, sub: sub, client: b.dial(t)}
}

// withDeadLetter creates the fixture's topic, and its subscription with a
// dead-letter policy (so that Pub/Sub counts delivery attempts), as an operator
// would, behind the provider's back.
func (f fixture) withDeadLetter(t *testing.T) fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pubsub.NewClient(ctx, testProject, f.client...)
	if err != nil {
		t.Fatalf("pubsub.NewClient() = %v", err)
	}
	defer admin.Close()
	dead := f.topic + "-dead"
	for _, topic := range []string{f.topic, dead} {
		if _, err := admin.TopicAdminClient.CreateTopic(ctx, &pb.Topic{Name: topic}); err != nil {
			t.Fatalf("CreateTopic(%s) = %v", topic, err)
		}
	}
	sub := "projects/" + testProject + "/subscriptions/" + f.sub
	_, err = admin.SubscriptionAdminClient.CreateSubscription(ctx, &pb.Subscription{
		Name:               sub,
		Topic:              f.topic,
		AckDeadlineSeconds: 10,
		DeadLetterPolicy:   &pb.DeadLetterPolicy{DeadLetterTopic: dead, MaxDeliveryAttempts: 100},
	})
	if err != nil {
		t.Fatalf("CreateSubscription(%s) = %v", sub, err)
	}
	return f
}

// open opens a handle onto the fixture, creating the topic and subscription if
// needed, closed when the test ends.
func (f fixture) open(t *testing.T, o Options) *Queue {
	t.Helper()
	o.Topic, o.Subscription, o.ClientOptions, o.CreateIfAbsent = f.topic, f.sub, f.client, true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := New(ctx, o)
	if err != nil {
		t.Fatalf("New(%s, %s) = %v", o.Topic, o.Subscription, err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return q
}

func receive(t *testing.T, q queue.Queue, within time.Duration) queue.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	m, err := q.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive() = %v, want a message within %v", err, within)
	}
	return m
}

func receiveNone(t *testing.T, q queue.Queue, within time.Duration) {
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

func enqueue(t *testing.T, q queue.Queue, body []byte) {
	t.Helper()
	if err := q.Enqueue(context.Background(), body); err != nil {
		t.Fatalf("Enqueue(%q) = %v", body, err)
	}
}

// forEachBackend runs test as a parallel subtest against every server.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b)
		})
	}
}
