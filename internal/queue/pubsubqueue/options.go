package pubsubqueue

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/api/option"
)

// Defaults applied to zero-valued fields of Options, and the limits Pub/Sub sets.
const (
	DefaultHold  = 60 * time.Second
	DefaultBatch = 1

	// MaxHold is the longest ack deadline Pub/Sub accepts (10 minutes). A Nack delay
	// or an Extend past it is capped to it.
	MaxHold = 600 * time.Second
	// MinSubscriptionDeadline is the shortest ack deadline a subscription may be
	// created with. A shorter Hold still applies to every message received, since
	// each one's deadline is set right after the pull.
	MinSubscriptionDeadline = 10 * time.Second
	// MaxBatch is the most messages one Pull asks for.
	MaxBatch = 10
)

// Errors New returns for missing required options.
var (
	ErrNoTopic        = errors.New("pubsub topic is required (MIRROR_QUEUE_URL: projects/<p>/topics/<t>)")
	ErrNoSubscription = errors.New("pubsub subscription is required (MIRROR_QUEUE_SUBSCRIPTION)")
)

// Options configures a Queue.
type Options struct {
	// Topic is the topic jobs are published to (MIRROR_QUEUE_URL), in the form
	// projects/<project>/topics/<topic>. Required: empty is refused with ErrNoTopic.
	Topic string

	// Project is the Google Cloud project the client works in
	// (GOOGLE_CLOUD_PROJECT), and the one a bare Subscription name belongs to.
	// Empty: the Topic's project.
	Project string

	// Subscription is the subscription jobs are pulled from
	// (MIRROR_QUEUE_SUBSCRIPTION): a bare name in Project, or
	// projects/<project>/subscriptions/<name>. Every Écluse process shares it, so
	// each job goes to one of them. Required: empty is refused with
	// ErrNoSubscription.
	Subscription string

	// CreateIfAbsent makes New create the topic and the subscription when they do
	// not exist (a subscription with its ack deadline set from Hold, clamped to 10 s
	// to 600 s, and no expiry). False: New creates nothing, and a missing topic or
	// subscription shows on the first Enqueue or Receive.
	CreateIfAbsent bool

	// Hold is the ack deadline every received message is given, and the most a
	// buffered message waits: how long a message stays held by this consumer unless
	// acknowledged, returned or extended. Rounded up to whole seconds. Zero:
	// DefaultHold. Less than a second or more than MaxHold is refused.
	Hold time.Duration

	// Batch is the most messages one Pull asks for. Messages beyond the one handed
	// out wait in this handle, in order, for the next Receive; their hold runs while
	// they wait, so they are refreshed to a full Hold when handed out, dropped (left
	// to reappear) when half of it has already gone, and returned at Close. A batch above 1
	// also keeps them from other handles until then, so keep it small. Zero:
	// DefaultBatch (1, no buffering). More than MaxBatch is refused.
	Batch int

	// ClientOptions are passed to the Pub/Sub client: credentials, an endpoint. Nil:
	// Application Default Credentials and the service's endpoint, or the emulator
	// named by PUBSUB_EMULATOR_HOST (without credentials) when that is set.
	ClientOptions []option.ClientOption

	// Logger receives warnings the caller cannot act on (a buffered message that
	// could not be returned at Close). Nil: discard.
	Logger *slog.Logger
}

// settings are Options after defaults and validation.
type settings struct {
	project      string
	topic        string // full resource name
	subscription string // full resource name
	hold         int32  // whole seconds
	batch        int32
	logger       *slog.Logger
}

// resolve applies defaults and checks every field, returning every problem at once.
func (o Options) resolve() (settings, error) {
	s := settings{logger: o.Logger}
	var errs []error

	topicProject := ""
	if o.Topic == "" {
		errs = append(errs, ErrNoTopic)
	} else if p, _, err := parseName(o.Topic, "topics"); err != nil {
		errs = append(errs, fmt.Errorf("pubsub topic: %w", err))
	} else {
		topicProject, s.topic = p, o.Topic
	}

	s.project = o.Project
	if s.project == "" {
		s.project = topicProject
	} else if err := checkProject(s.project); err != nil {
		errs = append(errs, fmt.Errorf("pubsub project: %w", err))
	}

	switch {
	case o.Subscription == "":
		errs = append(errs, ErrNoSubscription)
	case strings.Contains(o.Subscription, "/"):
		if _, _, err := parseName(o.Subscription, "subscriptions"); err != nil {
			errs = append(errs, fmt.Errorf("pubsub subscription: %w", err))
		} else {
			s.subscription = o.Subscription
		}
	case s.project == "":
		errs = append(errs, fmt.Errorf("pubsub subscription %q: a bare name needs a project (GOOGLE_CLOUD_PROJECT or the topic's)", o.Subscription))
	default:
		if err := checkID(o.Subscription); err != nil {
			errs = append(errs, fmt.Errorf("pubsub subscription: %w", err))
		} else {
			s.subscription = "projects/" + s.project + "/subscriptions/" + o.Subscription
		}
	}

	hold := o.Hold
	switch {
	case hold == 0:
		hold = DefaultHold
	case hold < time.Second || hold > MaxHold:
		errs = append(errs, fmt.Errorf("pubsub hold %v: want between 1s and %v", o.Hold, MaxHold))
	}
	s.hold = seconds(hold, MaxHold)

	switch {
	case o.Batch == 0:
		s.batch = DefaultBatch
	case o.Batch < 0 || o.Batch > MaxBatch:
		errs = append(errs, fmt.Errorf("pubsub batch %d: want between 1 and %d", o.Batch, MaxBatch))
	default:
		s.batch = int32(o.Batch)
	}

	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s, errors.Join(errs...)
}

// parseName splits projects/<project>/<kind>/<id> and checks both parts.
func parseName(name, kind string) (project, id string, err error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != kind {
		return "", "", fmt.Errorf("%q: want projects/<project>/%s/<name>", name, kind)
	}
	if err := checkProject(parts[1]); err != nil {
		return "", "", fmt.Errorf("%q: %w", name, err)
	}
	if err := checkID(parts[3]); err != nil {
		return "", "", fmt.Errorf("%q: %w", name, err)
	}
	return parts[1], parts[3], nil
}

// checkProject accepts a project ID, including the domain-scoped form
// (example.com:project). It only rules out what cannot be one.
func checkProject(p string) error {
	if p == "" || strings.ContainsAny(p, "/ \t\r\n") {
		return fmt.Errorf("project %q is not a project ID", p)
	}
	return nil
}

// checkID applies Pub/Sub's rule for topic and subscription names: 3 to 255
// characters, starting with a letter, of letters, digits and - _ . ~ + %, and not
// starting with "goog".
func checkID(id string) error {
	if len(id) < 3 || len(id) > 255 {
		return fmt.Errorf("name %q: want 3 to 255 characters", id)
	}
	if c := id[0]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
		return fmt.Errorf("name %q: want a letter first", id)
	}
	if strings.HasPrefix(strings.ToLower(id), "goog") {
		return fmt.Errorf("name %q: must not start with goog", id)
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("-_.~+%", c):
		default:
			return fmt.Errorf("name %q: character %q not allowed", id, c)
		}
	}
	return nil
}

// seconds rounds d up to whole seconds, within 0 and limit: Pub/Sub counts ack
// deadlines in whole seconds, and a hold may only be rounded up, never cut short
// (except at the service's own ceiling).
func seconds(d, limit time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	if d > limit {
		d = limit
	}
	return int32((d + time.Second - 1) / time.Second)
}
