package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Defaults applied to zero-valued fields of Options, and the limits SQS sets.
const (
	DefaultHold     = 60 * time.Second
	DefaultWaitTime = 20 * time.Second
	DefaultBatch    = 1

	// MaxHold is the longest visibility timeout SQS accepts (12 hours). A Nack delay
	// or an Extend past it is capped to it.
	MaxHold = 12 * time.Hour
	// MaxWaitTime is the longest long poll SQS accepts.
	MaxWaitTime = 20 * time.Second
	// MaxBatch is the most messages one ReceiveMessage call may return.
	MaxBatch = 10
)

// ErrNoQueueURL is returned by New when Options.QueueURL is empty.
var ErrNoQueueURL = errors.New("sqs queue url is required (MIRROR_QUEUE_URL)")

// Options configures a Queue.
type Options struct {
	// QueueURL is the queue's URL (MIRROR_QUEUE_URL), as CreateQueue or the console
	// gives it. Required: empty is refused with ErrNoQueueURL.
	QueueURL string

	// Region is the AWS region (AWS_REGION). It overrides AWSConfig's region when
	// set. Empty: AWSConfig's region, or the default chain's when AWSConfig is nil;
	// New fails when neither names one.
	Region string

	// AWSConfig is the SDK configuration: credentials, endpoint override, retries and
	// HTTP client. The composition root loads it with LoadAWSConfig, which honours
	// AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL and the standard credentials chain. Nil:
	// New calls LoadAWSConfig itself.
	AWSConfig *aws.Config

	// Hold is the visibility timeout asked for on every receive: how long a message
	// stays invisible to other consumers unless acknowledged, returned or extended.
	// Rounded up to whole seconds. Zero: DefaultHold. More than MaxHold is refused.
	Hold time.Duration

	// WaitTime is how long one ReceiveMessage call long-polls before it returns
	// empty (Receive then polls again). Rounded up to whole seconds. Zero:
	// DefaultWaitTime. More than MaxWaitTime is refused.
	WaitTime time.Duration

	// Batch is the most messages one ReceiveMessage call asks for. Messages beyond
	// the one handed out wait in this handle, in order, for the next Receive; their
	// hold runs while they wait, so they are refreshed to a full Hold when handed out,
	// dropped (left to reappear) when half of it has already gone, and made visible
	// again at Close. A batch above 1 also keeps them from other handles until then,
	// so keep it small. Zero: DefaultBatch (1, no buffering). More than MaxBatch is
	// refused.
	Batch int

	// Logger receives warnings the caller cannot act on (a buffered message that
	// could not be released at Close, a body that could not be decoded). Nil: discard.
	Logger *slog.Logger
}

// LoadAWSConfig loads the SDK configuration the standard way: credentials from the
// environment, shared files or the instance role, the endpoint override from
// AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL, and region when it is not empty (else
// AWS_REGION and the shared config).
func LoadAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}

// settings are Options after defaults and validation.
type settings struct {
	queueURL string
	hold     int32 // whole seconds
	wait     int32 // whole seconds
	batch    int32
	logger   *slog.Logger
}

// resolve applies defaults and checks every field, returning every problem at once.
func (o Options) resolve() (settings, error) {
	s := settings{queueURL: o.QueueURL, logger: o.Logger}
	var errs []error
	if o.QueueURL == "" {
		errs = append(errs, ErrNoQueueURL)
	} else if u, err := url.Parse(o.QueueURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path == "" || u.Path == "/" {
		errs = append(errs, fmt.Errorf("sqs queue url %q: want http(s)://host/account/name", o.QueueURL))
	}

	hold := o.Hold
	switch {
	case hold == 0:
		hold = DefaultHold
	case hold < 0 || hold > MaxHold:
		errs = append(errs, fmt.Errorf("sqs hold %v: want between 1s and %v", o.Hold, MaxHold))
	}
	s.hold = seconds(hold, MaxHold)
	if s.hold < 1 {
		s.hold = 1
	}

	wait := o.WaitTime
	switch {
	case wait == 0:
		wait = DefaultWaitTime
	case wait < 0 || wait > MaxWaitTime:
		errs = append(errs, fmt.Errorf("sqs wait time %v: want between 1s and %v", o.WaitTime, MaxWaitTime))
	}
	s.wait = seconds(wait, MaxWaitTime)

	switch {
	case o.Batch == 0:
		s.batch = DefaultBatch
	case o.Batch < 0 || o.Batch > MaxBatch:
		errs = append(errs, fmt.Errorf("sqs batch %d: want between 1 and %d", o.Batch, MaxBatch))
	default:
		s.batch = int32(o.Batch)
	}

	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s, errors.Join(errs...)
}

// seconds rounds d up to whole seconds, within 0 and limit: SQS counts visibility in
// whole seconds and a hold may only be rounded up, never cut short (except at the
// service's own ceiling).
func seconds(d, limit time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	if d > limit {
		d = limit
	}
	return int32((d + time.Second - 1) / time.Second)
}
