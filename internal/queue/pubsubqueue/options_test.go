package pubsubqueue

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestResolveNames(t *testing.T) {
	tests := []struct {
		name                        string
		o                           Options
		project, topic, subcription string
	}{
		{
			"bare subscription in the topic's project",
			Options{Topic: "projects/alpha/topics/jobs", Subscription: "workers"},
			"alpha", "projects/alpha/topics/jobs", "projects/alpha/subscriptions/workers",
		},
		{
			"bare subscription in the named project",
			Options{Topic: "projects/alpha/topics/jobs", Project: "beta", Subscription: "workers"},
			"beta", "projects/alpha/topics/jobs", "projects/beta/subscriptions/workers",
		},
		{
			"full subscription name",
			Options{Topic: "projects/alpha/topics/jobs", Subscription: "projects/gamma/subscriptions/workers"},
			"alpha", "projects/alpha/topics/jobs", "projects/gamma/subscriptions/workers",
		},
		{
			"domain-scoped project",
			Options{Topic: "projects/example.com:alpha/topics/jobs.v1", Subscription: "workers_1"},
			"example.com:alpha", "projects/example.com:alpha/topics/jobs.v1", "projects/example.com:alpha/subscriptions/workers_1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.o.resolve()
			if err != nil {
				t.Fatalf("resolve(%+v) = %v", tt.o, err)
			}
			if s.project != tt.project || s.topic != tt.topic || s.subscription != tt.subcription {
				t.Errorf("resolve(%+v) = project %q, topic %q, subscription %q; want %q, %q, %q",
					tt.o, s.project, s.topic, s.subscription, tt.project, tt.topic, tt.subcription)
			}
			if s.hold != 60 || s.batch != 1 {
				t.Errorf("resolve(%+v) = hold %ds, batch %d; want the defaults 60s, 1", tt.o, s.hold, s.batch)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	const topic, sub = "projects/alpha/topics/jobs", "workers"
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no topic", Options{Subscription: sub}, "topic is required"},
		{"topic without projects/", Options{Topic: "jobs", Subscription: sub}, "want projects/<project>/topics/<name>"},
		{"topic as a subscription", Options{Topic: "projects/alpha/subscriptions/jobs", Subscription: sub}, "want projects/<project>/topics/<name>"},
		{"topic with an empty project", Options{Topic: "projects//topics/jobs", Subscription: sub}, "not a project ID"},
		{"topic name too short", Options{Topic: "projects/alpha/topics/jo", Subscription: sub}, "3 to 255"},
		{"topic name starting with a digit", Options{Topic: "projects/alpha/topics/1jobs", Subscription: sub}, "a letter first"},
		{"topic name starting with goog", Options{Topic: "projects/alpha/topics/google-jobs", Subscription: sub}, "goog"},
		{"topic name with a space", Options{Topic: "projects/alpha/topics/my jobs", Subscription: sub}, "not allowed"},
		{"no subscription", Options{Topic: topic}, "subscription is required"},
		{"subscription path of a topic", Options{Topic: topic, Subscription: "projects/alpha/topics/workers"}, "want projects/<project>/subscriptions/<name>"},
		{"bare subscription bad name", Options{Topic: topic, Subscription: "w!"}, "3 to 255"},
		{"hold under a second", Options{Topic: topic, Subscription: sub, Hold: 500 * time.Millisecond}, "pubsub hold"},
		{"hold past 10 minutes", Options{Topic: topic, Subscription: sub, Hold: 11 * time.Minute}, "pubsub hold"},
		{"batch past 10", Options{Topic: topic, Subscription: sub, Batch: 11}, "pubsub batch"},
		{"negative batch", Options{Topic: topic, Subscription: sub, Batch: -1}, "pubsub batch"},
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
	_, err := New(context.Background(), Options{})
	if !errors.Is(err, ErrNoTopic) || !errors.Is(err, ErrNoSubscription) {
		t.Errorf("New(Options{}) = %v, want ErrNoTopic and ErrNoSubscription together", err)
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int32
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Millisecond, 1},
		{time.Second, 1},
		{1500 * time.Millisecond, 2},
		{time.Hour, 600},
	}
	for _, tt := range tests {
		if got := seconds(tt.d, MaxHold); got != tt.want {
			t.Errorf("seconds(%v, MaxHold) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

// FuzzParseName checks that parseName never panics and that what it accepts is
// exactly projects/<project>/<kind>/<id>.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"projects/alpha/topics/jobs", "projects//topics/jobs", "projects/a/topics/goog1", "jobs", "projects/a/topics/j\u00e9bs", "projects/a/topics/jobs/extra"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		project, id, err := parseName(name, "topics")
		if err != nil {
			return
		}
		if got := "projects/" + project + "/topics/" + id; got != name {
			t.Fatalf("parseName(%q) = %q, %q; rebuilt %q", name, project, id, got)
		}
		if checkID(id) != nil || checkProject(project) != nil {
			t.Fatalf("parseName(%q) accepted %q, %q, which the checks refuse", name, project, id)
		}
	})
}
