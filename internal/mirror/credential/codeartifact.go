package credential

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codeartifact"

	"github.com/ecluse/ecluse/internal/redact"
)

// Bounds CodeArtifact puts on a token's lifetime.
const (
	// MaxCodeArtifactDuration is the longest token CodeArtifact grants (12 hours).
	MaxCodeArtifactDuration = 43200 * time.Second
	// MinCodeArtifactDuration is the shortest explicit lifetime it accepts.
	MinCodeArtifactDuration = 900 * time.Second
)

// CodeArtifactOptions configures the CodeArtifact provider. Zero values are noted per
// field.
type CodeArtifactOptions struct {
	// Domain is the CodeArtifact domain (MIRROR_TARGET_CODEARTIFACT_DOMAIN). Required.
	Domain string
	// DomainOwner is the 12-digit account that owns the domain
	// (MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER). Required.
	DomainOwner string
	// Region is the domain's region (MIRROR_TARGET_CODEARTIFACT_REGION, else
	// AWS_REGION). Empty means the SDK's own resolution (AWS_REGION, the shared config).
	Region string
	// Duration is the token lifetime asked for
	// (MIRROR_TARGET_CODEARTIFACT_TOKEN_DURATION_SECONDS). It is rounded down to whole
	// seconds and kept within MinCodeArtifactDuration and MaxCodeArtifactDuration. Zero
	// means MaxCodeArtifactDuration.
	Duration time.Duration
	// Endpoint overrides the CodeArtifact API endpoint (a VPC endpoint, or a test's
	// stub). Empty means the SDK's resolution, which honours AWS_ENDPOINT_URL_CODEARTIFACT
	// and AWS_ENDPOINT_URL.
	Endpoint string
	// HTTPClient carries the SDK's API calls. Nil means the SDK's default client. Never
	// the egress guard's client: the SDK must reach AWS and the instance metadata.
	HTTPClient *http.Client
	// RefreshAt is the fraction of a token's life after which it is renewed. Zero
	// means 0.75.
	RefreshAt float64
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives renewal failures (never a token). Nil means slog.Default().
	Logger *slog.Logger
}

// tokenMinter mints one CodeArtifact token; the SDK client is one.
type tokenMinter interface {
	GetAuthorizationToken(ctx context.Context, in *codeartifact.GetAuthorizationTokenInput, optFns ...func(*codeartifact.Options)) (*codeartifact.GetAuthorizationTokenOutput, error)
}

// codeArtifact caches a CodeArtifact token and renews it before it expires.
type codeArtifact struct {
	opts   CodeArtifactOptions
	client tokenMinter
	log    *slog.Logger

	mu      sync.Mutex
	token   redact.Secret
	minted  time.Time
	expires time.Time
}

var _ Provider = (*codeArtifact)(nil)

// CodeArtifact returns a Provider minting CodeArtifact authorization tokens with
// GetAuthorizationToken, signed with the AWS SDK's default credential chain (the
// environment, the shared files, web identity, the container or instance role). It
// loads the SDK configuration now and mints nothing until the first Token call. A token
// is cached and renewed after RefreshAt of its life; when renewal fails, the cached
// token is handed out while it is still valid.
func CodeArtifact(ctx context.Context, opts CodeArtifactOptions) (Provider, error) {
	if opts.Domain == "" || opts.DomainOwner == "" {
		return nil, errors.New("codeartifact credential: domain and domain owner are required")
	}
	var load []func(*awsconfig.LoadOptions) error
	if opts.Region != "" {
		load = append(load, awsconfig.WithRegion(opts.Region))
	}
	if opts.HTTPClient != nil {
		load = append(load, awsconfig.WithHTTPClient(opts.HTTPClient))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("codeartifact credential: load the AWS configuration: %w", err)
	}
	client := codeartifact.NewFromConfig(cfg, func(o *codeartifact.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	return newCodeArtifact(opts, client), nil
}

func newCodeArtifact(opts CodeArtifactOptions, client tokenMinter) *codeArtifact {
	opts.Duration = clampDuration(opts.Duration)
	if opts.RefreshAt <= 0 || opts.RefreshAt >= 1 {
		opts.RefreshAt = 0.75
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &codeArtifact{opts: opts, client: client, log: log}
}

// clampDuration keeps d within what CodeArtifact accepts, in whole seconds.
func clampDuration(d time.Duration) time.Duration {
	if d <= 0 {
		return MaxCodeArtifactDuration
	}
	d = d.Truncate(time.Second)
	return min(max(d, MinCodeArtifactDuration), MaxCodeArtifactDuration)
}

// Token implements Provider.
func (c *codeArtifact) Token(ctx context.Context) (redact.Secret, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	if c.token.IsSet() && now.Before(c.renewAt()) {
		return c.token, nil
	}
	err := c.mint(ctx, now)
	if err == nil {
		return c.token, nil
	}
	if c.token.IsSet() && now.Before(c.expires) {
		c.log.WarnContext(ctx, "codeartifact token renewal failed; using the current token",
			"domain", c.opts.Domain, "expires", c.expires, "error", err.Error())
		return c.token, nil
	}
	return redact.Secret{}, err
}

// renewAt is when the cached token should be replaced.
func (c *codeArtifact) renewAt() time.Time {
	life := c.expires.Sub(c.minted)
	return c.minted.Add(time.Duration(float64(life) * c.opts.RefreshAt))
}

func (c *codeArtifact) mint(ctx context.Context, now time.Time) error {
	out, err := c.client.GetAuthorizationToken(ctx, &codeartifact.GetAuthorizationTokenInput{
		Domain:          aws.String(c.opts.Domain),
		DomainOwner:     aws.String(c.opts.DomainOwner),
		DurationSeconds: aws.Int64(int64(c.opts.Duration / time.Second)),
	})
	if err != nil {
		// The SDK's error names the operation and the service's message; it never
		// holds a token, which only a successful answer carries.
		return fmt.Errorf("codeartifact credential: GetAuthorizationToken for domain %q: %w", c.opts.Domain, err)
	}
	if out.AuthorizationToken == nil || *out.AuthorizationToken == "" {
		return errors.New("codeartifact credential: GetAuthorizationToken returned no token")
	}
	expires := now.Add(c.opts.Duration)
	if out.Expiration != nil && out.Expiration.After(now) {
		expires = *out.Expiration
	}
	c.token = redact.New(*out.AuthorizationToken)
	c.minted, c.expires = now, expires
	return nil
}
