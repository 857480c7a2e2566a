package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecluse/ecluse/internal/redact"
)

// Problem is one configuration error, tied to the variable or document path it concerns.
type Problem struct {
	// Path is an environment variable name ("PROXY_PORT") or a document path ("rules.x").
	Path string
	// Message says what is wrong, for an operator.
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems is every problem found in one load; it is an error when non-empty.
type Problems []Problem

// Error renders one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Source is where Load reads from. Zero fields mean the process's own environment and
// file system.
type Source struct {
	// Getenv looks a variable up; nil means os.LookupEnv.
	Getenv func(string) (string, bool)
	// ConfigPath is the --config flag. Empty means PROXY_CONFIG_FILE, if set.
	ConfigPath string
	// ReadFile reads the document file; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Defaults returns the configuration every unset variable falls back to.
func Defaults() Config {
	return Config{
		Port:                4873,
		Metrics:             MetricsOff,
		MetricsPort:         9464,
		LogFormat:           LogFormatJSON,
		MaxResponseBytes:    64 << 20,
		MaxInflightBytes:    128 << 20,
		MaxTarballBytes:     1 << 30,
		MaxSpoolBytes:       4 << 30,
		MaxVersionCount:     100000,
		MaxDistTagCount:     10000,
		MaxNestingDepth:     64,
		MinPublicIntegrity:  "sha256",
		CacheTTL:            5 * time.Minute,
		CacheMaxBytes:       256 << 20,
		MirrorDetection:     MirrorDetectionCopies,
		ShutdownGrace:       25 * time.Second,
		CVESyncInterval:     time.Hour,
		CVEMaxDownloadBytes: 1 << 30,
		CredentialStrategy:  StrategyPassthrough,
		Signing:             SigningOff,
		TarballManifest:     TarballManifest{Scripts: ManifestRefuse, Dependencies: ManifestWarn},
		Mirror: Mirror{
			CredentialProvider: CredentialStatic,
			QueueProvider:      QueueSQS,
			MemoryMaxDepth:     50000,
			WorkerConcurrency:  4,
			WorkerStallAfter:   2 * time.Minute,
		},
		Document: &Document{},
	}
}

// loader accumulates problems while reading variables.
type loader struct {
	getenv   func(string) (string, bool)
	problems Problems
}

func (l *loader) addf(path, format string, args ...any) {
	l.problems = append(l.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// lookup returns a variable's value with surrounding space removed; unset and empty are
// the same.
func (l *loader) lookup(name string) (string, bool) {
	v, ok := l.getenv(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (l *loader) positiveInt(name string, dst *int64) {
	v, ok := l.lookup(name)
	if !ok {
		return
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		l.addf(name, "must be a positive integer, got %q", v)
		return
	}
	*dst = n
}

// port reads a TCP port number, 1 to 65535.
func (l *loader) port(name string, dst *int) {
	v, ok := l.lookup(name)
	if !ok {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		l.addf(name, "must be a port number between 1 and 65535, got %q", v)
		return
	}
	*dst = n
}

func (l *loader) positiveIntInt(name string, dst *int) {
	n := int64(*dst)
	l.positiveInt(name, &n)
	*dst = int(n)
}

// maxSeconds bounds every duration given in seconds (ten years), so that none overflows.
const maxSeconds = 10 * 365 * 24 * 3600

func (l *loader) seconds(name string, dst *time.Duration) {
	n := int64(*dst / time.Second)
	l.positiveInt(name, &n)
	if n > maxSeconds {
		l.addf(name, "must be at most %d seconds (ten years), got %d", maxSeconds, n)
		return
	}
	*dst = time.Duration(n) * time.Second
}

// nonNegativeSeconds reads a duration in whole seconds where zero is meaningful.
func (l *loader) nonNegativeSeconds(name string, dst *time.Duration) {
	v, ok := l.lookup(name)
	if !ok {
		return
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		l.addf(name, "must be a whole number of seconds, 0 or more, got %q", v)
		return
	}
	if n > maxSeconds {
		l.addf(name, "must be at most %d seconds (ten years), got %d", maxSeconds, n)
		return
	}
	*dst = time.Duration(n) * time.Second
}

func (l *loader) boolean(name string, dst *bool) {
	v, ok := l.lookup(name)
	if !ok {
		return
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.addf(name, "must be true or false, got %q", v)
		return
	}
	*dst = b
}

func (l *loader) enum(name string, dst *string, allowed ...string) {
	v, ok := l.lookup(name)
	if !ok {
		return
	}
	for _, a := range allowed {
		if v == a {
			*dst = v
			return
		}
	}
	l.addf(name, "unknown value %q (want one of: %s)", v, strings.Join(allowed, ", "))
}

// url parses an upstream or public URL: http or https, a host, no user information.
func (l *loader) url(name string, required bool, hint string) *url.URL {
	v, ok := l.lookup(name)
	if !ok {
		if required {
			l.addf(name, "is required%s", hint)
		}
		return nil
	}
	u, err := ParseHTTPURL(v)
	if err != nil {
		l.addf(name, "%v", err)
		return nil
	}
	return u
}

// ParseHTTPURL parses an absolute http(s) URL with a host and no user information. The
// error never repeats user information, which may hold a password.
func ParseHTTPURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if u.User != nil {
		return nil, errors.New("must not carry user information (credentials go in their own variables)")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("must be an http or https URL, got scheme %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("has an invalid port %q", p)
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must not carry a query or fragment")
	}
	if strings.HasSuffix(u.Path, "/") && !strings.HasSuffix(u.EscapedPath(), "/") {
		return nil, errors.New("has a path ending in an escaped slash (%2F); write the path plainly")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// Load reads the environment and the optional document, applies defaults and validates
// everything. It returns the configuration and every problem found; the configuration is
// usable only when there are no problems.
func Load(src Source) (*Config, Problems) {
	if src.Getenv == nil {
		src.Getenv = os.LookupEnv
	}
	if src.ReadFile == nil {
		src.ReadFile = os.ReadFile
	}
	l := &loader{getenv: src.Getenv}
	c := Defaults()

	l.port("PROXY_PORT", &c.Port)
	c.PrivateUpstream = l.url("PRIVATE_UPSTREAM_URL", true, " (the URL of your private npm registry, the authority for reads)")
	c.PublicUpstream = l.url("PUBLIC_UPSTREAM_URL", true,
		": Écluse has no built-in public registry; set it to the registry your clients use today, "+
			"for example PUBLIC_UPSTREAM_URL=\"$(npm config get registry)\"")
	c.PublicURL = l.url("PROXY_PUBLIC_URL", false, "")

	if v, ok := l.lookup("PROXY_AUTH_TOKEN"); ok {
		c.AuthToken = redact.New(v)
	}
	if v, ok := l.lookup("PRIVATE_UPSTREAM_TOKEN"); ok {
		c.PrivateUpstreamToken = redact.New(v)
	}
	if v, ok := l.lookup("PROXY_TRUSTED_IDENTITY_HEADER"); ok {
		if !validHeaderName(v) {
			l.addf("PROXY_TRUSTED_IDENTITY_HEADER", "%q is not a valid HTTP header name", v)
		} else if isReservedHeader(v) {
			l.addf("PROXY_TRUSTED_IDENTITY_HEADER", "%q is a standard header a client controls; name the header your gateway sets", v)
		} else {
			c.IdentityHeader = v
		}
	}
	if v, ok := l.lookup("PROXY_SIGNING_KEY_FILE"); ok {
		c.SigningKeyFile = v
	}
	if v, ok := l.getenv("PROXY_HELP_MESSAGE"); ok {
		c.HelpMessage = strings.TrimSpace(v)
	}
	l.enum("PROXY_LOG_FORMAT", &c.LogFormat, LogFormatJSON, LogFormatConsole)
	l.boolean("PROXY_DEBUG", &c.Debug)
	telemetry := "off"
	l.enum("PROXY_TELEMETRY", &telemetry, "on", "off")
	c.Telemetry = telemetry == "on"
	l.enum("PROXY_METRICS", &c.Metrics, MetricsOff, MetricsPrometheus)
	l.port("PROXY_METRICS_PORT", &c.MetricsPort)
	if c.Metrics == MetricsPrometheus && c.MetricsPort == c.Port {
		l.addf("PROXY_METRICS_PORT", "must differ from PROXY_PORT (%d): /metrics is served on its own listener", c.Port)
	}

	l.boolean("PROXY_RESPECT_UPSTREAM_TARBALL_HOST", &c.RespectUpstreamTarballHost)
	if v, ok := l.lookup("PROXY_EGRESS_ALLOWED_HOSTS"); ok {
		for _, h := range splitList(v) {
			if err := checkHostName(h); err != nil {
				l.addf("PROXY_EGRESS_ALLOWED_HOSTS", "%q %v", h, err)
				continue
			}
			c.EgressAllowedHosts = append(c.EgressAllowedHosts, strings.ToLower(h))
		}
	}
	if v, ok := l.lookup("PROXY_EGRESS_ALLOW_INTERNAL_CIDRS"); ok {
		for _, s := range splitList(v) {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				l.addf("PROXY_EGRESS_ALLOW_INTERNAL_CIDRS", "%q is not a CIDR (like 10.1.2.0/24)", s)
				continue
			}
			c.EgressAllowInternal = append(c.EgressAllowInternal, p.Masked())
		}
	}

	l.positiveInt("PROXY_MAX_RESPONSE_BYTES", &c.MaxResponseBytes)
	if c.MaxResponseBytes > maxDocumentBytes {
		l.addf("PROXY_MAX_RESPONSE_BYTES", "must be at most %d (1 GiB): a document is held in memory whole", maxDocumentBytes)
	}
	l.positiveInt("PROXY_MAX_INFLIGHT_BYTES", &c.MaxInflightBytes)
	l.positiveInt("PROXY_MAX_TARBALL_BYTES", &c.MaxTarballBytes)
	l.positiveInt("PROXY_MAX_SPOOL_BYTES", &c.MaxSpoolBytes)
	l.positiveIntInt("PROXY_MAX_VERSION_COUNT", &c.MaxVersionCount)
	l.positiveIntInt("PROXY_MAX_DIST_TAG_COUNT", &c.MaxDistTagCount)
	l.positiveIntInt("PROXY_MAX_NESTING_DEPTH", &c.MaxNestingDepth)
	if v, ok := l.lookup("PROXY_MIN_PUBLIC_INTEGRITY"); ok {
		switch v = strings.ToLower(v); v {
		case "sha256", "sha384", "sha512", "blake2b":
			c.MinPublicIntegrity = v
		case "sha1", "md5":
			l.addf("PROXY_MIN_PUBLIC_INTEGRITY", "%s is below the SHA-256 floor and is refused (want sha256, sha384, sha512 or blake2b)", v)
		default:
			l.addf("PROXY_MIN_PUBLIC_INTEGRITY", "unknown algorithm %q (want sha256, sha384, sha512 or blake2b)", v)
		}
	}
	l.seconds("PROXY_PACKUMENT_CACHE_TTL_SECONDS", &c.CacheTTL)
	l.positiveInt("PROXY_PACKUMENT_CACHE_MAX_BYTES", &c.CacheMaxBytes)
	l.nonNegativeSeconds("PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS", &c.PrivateRevalidateAfter)
	if c.PrivateRevalidateAfter > c.CacheTTL {
		l.addf("PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS", "must not exceed PROXY_PACKUMENT_CACHE_TTL_SECONDS (%d): a private document is not kept longer than that",
			int64(c.CacheTTL/time.Second))
	}
	l.enum("PROXY_MIRROR_DETECTION", &c.MirrorDetection, MirrorDetectionCopies, MirrorDetectionOff)
	l.seconds("PROXY_SHUTDOWN_GRACE_SECONDS", &c.ShutdownGrace)
	l.seconds("CVE_SYNC_INTERVAL_SECONDS", &c.CVESyncInterval)

	l.loadMirror(&c)
	l.loadDocument(&c, src)
	l.resolveMounts(&c)
	l.loadCVE(&c)
	return &c, l.problems
}

func (l *loader) loadMirror(c *Config) {
	m := &c.Mirror
	m.TargetURL = l.url("MIRROR_TARGET_URL", false, "")
	if m.TargetURL == nil {
		m.TargetURL = c.PrivateUpstream
	}
	l.enum("MIRROR_TARGET_CREDENTIAL_PROVIDER", &m.CredentialProvider,
		CredentialStatic, CredentialCodeArtifact, CredentialGCPArtifactRegistry)
	if v, ok := l.lookup("MIRROR_TARGET_TOKEN"); ok {
		m.Token = redact.New(v)
	}
	m.AWSRegion, _ = l.lookup("AWS_REGION")
	m.GoogleCloudProject, _ = l.lookup("GOOGLE_CLOUD_PROJECT")
	if v, ok := l.lookup("AWS_ENDPOINT_URL_SQS"); ok {
		m.SQSEndpoint = v
	} else if v, ok := l.lookup("AWS_ENDPOINT_URL"); ok {
		m.SQSEndpoint = v
	}
	if m.SQSEndpoint != "" {
		name := "AWS_ENDPOINT_URL_SQS"
		if _, ok := l.lookup(name); !ok {
			name = "AWS_ENDPOINT_URL"
		}
		if _, err := ParseHTTPURL(m.SQSEndpoint); err != nil {
			l.addf(name, "%v", err)
		}
	}
	if m.CredentialProvider == CredentialCodeArtifact {
		l.loadCodeArtifact(c)
	}

	l.enum("MIRROR_QUEUE_PROVIDER", &m.QueueProvider, QueueSQS, QueueMemory, QueuePubSub, QueueNATS)
	m.QueueURL, _ = l.lookup("MIRROR_QUEUE_URL")
	l.positiveIntInt("MIRROR_QUEUE_MEMORY_MAX_DEPTH", &m.MemoryMaxDepth)
	l.positiveIntInt("MIRROR_WORKER_CONCURRENCY", &m.WorkerConcurrency)
	l.seconds("MIRROR_WORKER_STALL_SECONDS", &m.WorkerStallAfter)
	m.QueueSubscription, _ = l.lookup("MIRROR_QUEUE_SUBSCRIPTION")
	l.boolean("MIRROR_QUEUE_CREATE", &m.QueueCreate)
	m.NATSURL, _ = l.lookup("NATS_URL")
	m.QueueDir, _ = l.lookup("MIRROR_QUEUE_DIR")
	switch m.QueueProvider {
	case QueueSQS:
		if m.QueueURL == "" {
			l.addf("MIRROR_QUEUE_URL", "is required when MIRROR_QUEUE_PROVIDER=sqs (the SQS queue URL); set MIRROR_QUEUE_PROVIDER=memory for a single-node deployment without a cloud queue")
		} else if _, err := ParseHTTPURL(m.QueueURL); err != nil {
			l.addf("MIRROR_QUEUE_URL", "an SQS queue URL %v", err)
		}
	case QueueNATS:
		if m.NATSURL != "" {
			if u, err := url.Parse(m.NATSURL); err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
				l.addf("NATS_URL", "must be a nats:// or tls:// URL of a NATS server, got %q", m.NATSURL)
			} else if u.User != nil {
				l.addf("NATS_URL", "must not carry credentials; they would be printed with the configuration")
			}
		}
	case QueuePubSub:
		if m.QueueSubscription == "" {
			l.addf("MIRROR_QUEUE_SUBSCRIPTION", "is required when MIRROR_QUEUE_PROVIDER=pubsub (the subscription the worker pulls from)")
		} else if !pubsubSubscription.MatchString(m.QueueSubscription) {
			l.addf("MIRROR_QUEUE_SUBSCRIPTION", "must be a subscription name or projects/<project>/subscriptions/<name>, got %q", m.QueueSubscription)
		}
		if m.QueueURL == "" {
			l.addf("MIRROR_QUEUE_URL", "is required when MIRROR_QUEUE_PROVIDER=pubsub (projects/<project>/topics/<topic>)")
		} else if !pubsubTopic.MatchString(m.QueueURL) {
			l.addf("MIRROR_QUEUE_URL", "must look like projects/<project>/topics/<topic> for pubsub, got %q", m.QueueURL)
		}
	}
}

var (
	pubsubTopic        = regexp.MustCompile(`^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~%+-]{2,254}$`)
	pubsubSubscription = regexp.MustCompile(`^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/subscriptions/)?[A-Za-z][A-Za-z0-9._~%+-]{2,254}$`)
	// codeArtifactHost is <domain>-<owner>.d.codeartifact.<region>.amazonaws.com.
	codeArtifactHost = regexp.MustCompile(`^([a-z][a-z0-9-]{0,49})-([^.]+)\.d\.codeartifact\.([a-z0-9-]+)\.amazonaws\.com$`)
	accountID        = regexp.MustCompile(`^[0-9]{12}$`)
)

func (l *loader) loadCodeArtifact(c *Config) {
	ca := &c.Mirror.CodeArtifact
	var hostDomain, hostOwner, hostRegion string
	if t := c.Mirror.TargetURL; t != nil {
		if m := codeArtifactHost.FindStringSubmatch(strings.ToLower(t.Hostname())); m != nil {
			hostDomain, hostOwner, hostRegion = m[1], m[2], m[3]
		}
	}
	ca.Domain = firstNonEmpty(l.value("MIRROR_TARGET_CODEARTIFACT_DOMAIN"), hostDomain)
	ca.DomainOwner = firstNonEmpty(l.value("MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER"), hostOwner)
	ca.Region = firstNonEmpty(l.value("MIRROR_TARGET_CODEARTIFACT_REGION"), hostRegion, c.Mirror.AWSRegion)
	if ca.Domain == "" {
		l.addf("MIRROR_TARGET_CODEARTIFACT_DOMAIN", "is required for the codeartifact provider (or use a CodeArtifact MIRROR_TARGET_URL)")
	}
	switch {
	case ca.DomainOwner == "":
		l.addf("MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER", "is required for the codeartifact provider (the 12-digit account id)")
	case !accountID.MatchString(ca.DomainOwner):
		l.addf("MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER", "must be a 12-digit AWS account id, got %q", ca.DomainOwner)
	}
	if ca.Region == "" {
		l.addf("MIRROR_TARGET_CODEARTIFACT_REGION", "is required for the codeartifact provider (or AWS_REGION)")
	}
	secs := int64(MaxCodeArtifactTokenSeconds)
	l.positiveInt("MIRROR_TARGET_CODEARTIFACT_TOKEN_DURATION_SECONDS", &secs)
	secs = min(secs, MaxCodeArtifactTokenSeconds)
	ca.TokenDuration = time.Duration(secs) * time.Second
}

func (l *loader) value(name string) string {
	v, _ := l.lookup(name)
	return v
}

func (l *loader) loadDocument(c *Config, src Source) {
	path := src.ConfigPath
	pathVar := "--config"
	if path == "" {
		path, _ = l.lookup("PROXY_CONFIG_FILE")
		pathVar = "PROXY_CONFIG_FILE"
	}
	inline, hasInline := l.lookup("PROXY_CONFIG")
	var raw []byte
	switch {
	case path != "" && hasInline:
		l.addf("PROXY_CONFIG", "is set together with %s; give the document one way only", pathVar)
		return
	case path != "":
		b, err := src.ReadFile(path)
		if err != nil {
			l.addf(pathVar, "cannot read the configuration document: %v", errors.Unwrap(err))
			return
		}
		raw, c.DocumentSource = b, path
	case hasInline:
		raw, c.DocumentSource = []byte(inline), "PROXY_CONFIG"
	default:
		return
	}
	doc, err := ParseDocument(raw)
	if err != nil {
		for _, line := range flatten(err) {
			l.addf(c.DocumentSource, "%s", line)
		}
		return
	}
	c.Document = doc
	l.validateDocument(c)
}

// flatten splits a joined error into its parts.
func flatten(err error) []string {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		var out []string
		for _, e := range multi.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func (l *loader) validateDocument(c *Config) {
	d := c.Document
	if d.CredentialStrategy != "" {
		if !validStrategy(d.CredentialStrategy) {
			l.addf("credentialStrategy", "unknown value %q (want passthrough or service)", d.CredentialStrategy)
		} else {
			c.CredentialStrategy = d.CredentialStrategy
		}
	}
	c.Internal = d.Internal
	l.validatePatterns("internal", d.Internal)
	if d.Signing != "" {
		if !validSigning(d.Signing) {
			l.addf("signing", "unknown value %q (want off, warn, internal or all)", d.Signing)
		} else {
			c.Signing = d.Signing
		}
	}
	l.validateTarballManifest(c)
	if d.Egress != nil {
		for i, h := range d.Egress.AllowedHosts {
			if err := checkHostName(h); err != nil {
				l.addf(fmt.Sprintf("egress.allowedHosts[%d]", i), "%q %v", h, err)
				continue
			}
			c.EgressAllowedHosts = append(c.EgressAllowedHosts, strings.ToLower(h))
		}
	}
	if c.CredentialStrategy == StrategyService && !c.PrivateUpstreamToken.IsSet() {
		l.addf("PRIVATE_UPSTREAM_TOKEN", "is required when credentialStrategy is service")
	}
}

// resolveMounts turns the document's "mounts" map (or, without one, the environment)
// into the resolved list of mounts, checking each and their paths against each other.
func (l *loader) resolveMounts(c *Config) {
	d := c.Document
	if d == nil {
		d = &Document{}
	}
	if len(d.Mounts) == 0 {
		c.Mounts = []Mount{{
			Name: EcosystemNPM, Path: "/", Ecosystem: EcosystemNPM,
			PrivateUpstream: c.PrivateUpstream, PublicUpstream: c.PublicUpstream,
			CredentialStrategy: c.CredentialStrategy, Internal: c.Internal, InternalPath: "internal",
			Rules: d.Rules, RulesPath: "rules", Signing: c.Signing,
		}}
		if msg := signingNeedsKey(c, c.Signing, fmt.Sprintf("signing is %q (the npm mount at /)", c.Signing)); msg != "" {
			l.addf("PROXY_SIGNING_KEY_FILE", "%s", msg)
		}
		return
	}
	for _, name := range sortedKeys(d.Mounts) {
		if m, ok := l.resolveMount(c, name, d.Mounts[name]); ok {
			c.Mounts = append(c.Mounts, m)
		}
	}
	slices.SortFunc(c.Mounts, func(a, b Mount) int { return strings.Compare(a.Path, b.Path) })
	for i, a := range c.Mounts {
		for _, b := range c.Mounts[i+1:] {
			// Sorted, so a equal or enclosing path comes first. Every path is under "/":
			// the root mount is the one allowed to enclose the others.
			switch {
			case a.Path == b.Path:
				l.addf("mounts."+b.Name+".path", "%q is already the path of mounts.%s", b.Path, a.Name)
			case a.Path != "/" && strings.HasPrefix(b.Path, a.Path):
				l.addf("mounts."+b.Name+".path", "%q lies inside mounts.%s's path %q: one mount would shadow part of the other", b.Path, a.Name, a.Path)
			}
		}
	}
	var npmMounts []Mount
	for _, m := range c.Mounts {
		if m.Ecosystem == EcosystemNPM {
			npmMounts = append(npmMounts, m)
		}
	}
	if len(npmMounts) == 1 {
		// The one npm mount is what the top-level settings describe (the mirror target
		// follows its private upstream unless MIRROR_TARGET_URL is set).
		m := npmMounts[0]
		if c.Mirror.TargetURL == c.PrivateUpstream {
			c.Mirror.TargetURL = m.PrivateUpstream
		}
		c.PrivateUpstream, c.PublicUpstream = m.PrivateUpstream, m.PublicUpstream
		c.CredentialStrategy, c.Internal = m.CredentialStrategy, m.Internal
	}
}

// resolveMount checks one entry of the "mounts" map and resolves what it inherits.
func (l *loader) resolveMount(c *Config, name string, md *MountDoc) (Mount, bool) {
	at := "mounts." + name
	ok := true
	fail := func(path, format string, args ...any) {
		l.addf(path, format, args...)
		ok = false
	}
	m := Mount{Name: name, Ecosystem: md.Ecosystem, CredentialStrategy: c.CredentialStrategy,
		Internal: c.Internal, InternalPath: "internal", PolicyName: md.Policy}
	if msg := checkMountName(name); msg != "" {
		fail(at, "%s", msg)
	}
	if p, msg := normaliseMountPath(md.Path); msg != "" {
		fail(at+".path", "%s", msg)
	} else {
		m.Path = p
	}
	switch {
	case m.Ecosystem == "":
		m.Ecosystem = EcosystemNPM
	case m.Ecosystem == EcosystemNPM || m.Ecosystem == EcosystemGo || m.Ecosystem == EcosystemPyPI:
	case slices.Contains(reservedEcosystems, m.Ecosystem):
		fail(at+".ecosystem", "ecosystem %q is reserved for a later release and not served yet (served: npm, go, pypi)", m.Ecosystem)
	default:
		fail(at+".ecosystem", "unknown ecosystem %q (served: npm, go, pypi; reserved: %s)", m.Ecosystem, strings.Join(reservedEcosystems, ", "))
	}
	parse := func(key, v string) *url.URL {
		if v == "" {
			return nil
		}
		u, err := ParseHTTPURL(v)
		if err != nil {
			fail(at+"."+key, "%v", err)
			return nil
		}
		return u
	}
	m.PrivateUpstream = parse("privateUpstreamUrl", md.PrivateUpstreamURL)
	m.PublicUpstream = parse("publicUpstreamUrl", md.PublicUpstreamURL)
	if m.Ecosystem != EcosystemNPM {
		// The top-level internal patterns are npm names; another ecosystem's mount
		// lists its own.
		m.Internal, m.InternalPath = nil, ""
	}
	if m.Ecosystem == EcosystemNPM {
		if md.PrivateUpstreamURL == "" {
			m.PrivateUpstream = c.PrivateUpstream
		}
		if md.PublicUpstreamURL == "" {
			m.PublicUpstream = c.PublicUpstream
		}
	} else if md.PublicUpstreamURL == "" {
		fail(at+".publicUpstreamUrl", "is required for a %s mount: the public upstream's base URL (the environment's upstreams are npm's)", m.Ecosystem)
	}
	if md.CredentialStrategy != "" {
		if !validStrategy(md.CredentialStrategy) {
			fail(at+".credentialStrategy", "unknown value %q (want passthrough or service)", md.CredentialStrategy)
		} else {
			m.CredentialStrategy = md.CredentialStrategy
		}
	}
	if md.Internal != nil {
		m.Internal, m.InternalPath = md.Internal, at+".internal"
		if m.Ecosystem == EcosystemNPM {
			l.validatePatterns(at+".internal", md.Internal)
		}
	}
	m.Rules, m.RulesPath = c.Document.Rules, "rules"
	if md.Policy != "" {
		p, found := c.Document.Policies[md.Policy]
		if !found {
			fail(at+".policy", "unresolved policy reference %q (defined in policies: %s)", md.Policy, definedPolicies(c.Document.Policies))
		} else {
			m.Rules, m.RulesPath = p.Rules, "policies."+md.Policy+".rules"
		}
	}
	if cd := md.ChecksumDatabase; cd != nil {
		if m.Ecosystem != EcosystemGo {
			fail(at+".checksumDatabase", "applies to go mounts only")
		}
		m.ChecksumDatabase.Key = strings.TrimSpace(cd.Key)
		if m.ChecksumDatabase.Key != "" && strings.Count(m.ChecksumDatabase.Key, "+") < 2 {
			fail(at+".checksumDatabase.key", "is not a verifier key (want <name>+<hash>+<key>, as GOSUMDB spells it)")
		}
		m.ChecksumDatabase.URL = parse("checksumDatabase.url", cd.URL)
	}
	if md.FilesUpstreamURL != "" {
		if m.Ecosystem != EcosystemPyPI {
			fail(at+".filesUpstreamUrl", "applies to pypi mounts only")
		}
		m.FilesUpstream = parse("filesUpstreamUrl", md.FilesUpstreamURL)
	}
	if signing, path, msg := resolveSigning(c, name, m.Ecosystem, md.Signing); msg != "" {
		fail(path, "%s", msg)
	} else {
		m.Signing = signing
	}
	if md.CredentialStrategy == StrategyService && m.PrivateUpstream != nil && !c.PrivateUpstreamToken.IsSet() {
		fail("PRIVATE_UPSTREAM_TOKEN", "is required when credentialStrategy is service (mounts.%s)", name)
	}
	return m, ok
}

// resolveSigning returns the signing value of mount name, of ecosystem eco, whose own
// "signing" key holds own ("" when absent); or the problem with it and the path to
// report it under.
func resolveSigning(c *Config, name, eco, own string) (value, path, msg string) {
	at := "mounts." + name + ".signing"
	if own != "" && !validSigning(own) {
		return "", at, fmt.Sprintf("unknown value %q (want off, warn, internal or all)", own)
	}
	if eco != EcosystemNPM {
		// The top-level value is npm's; it is not applied to another ecosystem.
		if own != "" && own != SigningOff {
			return "", at, fmt.Sprintf("applies to npm mounts only (this is a %s mount): remove it or set it to off", eco)
		}
		return SigningOff, "", ""
	}
	value, where := c.Signing, fmt.Sprintf("signing is %q (inherited by mounts.%s)", c.Signing, name)
	if own != "" {
		value, where = own, fmt.Sprintf("%s is %q", at, own)
	}
	if msg := signingNeedsKey(c, value, where); msg != "" {
		return "", "PROXY_SIGNING_KEY_FILE", msg
	}
	return value, "", ""
}

// signingNeedsKey returns the problem with a signing value that requires Écluse's own
// signatures (internal or all) while PROXY_SIGNING_KEY_FILE is unset, or "". where
// says which setting holds the value and for which mount.
func signingNeedsKey(c *Config, value, where string) string {
	if c.SigningKeyFile != "" || (value != SigningInternal && value != SigningAll) {
		return ""
	}
	return "is required when " + where + ": without a signing key no internal version carries a valid signature, so every one would be refused"
}

func validSigning(s string) bool {
	return s == SigningOff || s == SigningWarn || s == SigningInternal || s == SigningAll
}

func definedPolicies(p map[string]*PolicyDoc) string {
	if len(p) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(p), ", ")
}

// checkMountName returns a problem with a mount's name, or "".
func checkMountName(name string) string {
	if name == "" || len(name) > 64 {
		return "a mount name is 1 to 64 characters"
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Sprintf("mount name %q may hold only letters, digits, '-', '_' and '.'", name)
		}
	}
	return ""
}

// normaliseMountPath checks a mount's path prefix and returns it ending in "/".
func normaliseMountPath(p string) (string, string) {
	if p == "" || p[0] != '/' {
		return "", fmt.Sprintf("must start with /, got %q", p)
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	if len(p) > 128 {
		return "", fmt.Sprintf("%q is longer than 128 characters", p)
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-._~", r)) {
			return "", fmt.Sprintf("%q may hold only letters, digits, '/', '-', '.', '_' and '~'", p)
		}
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if p != "/" && (seg == "" || seg == "." || seg == "..") {
			return "", fmt.Sprintf("%q has an empty, \".\" or \"..\" segment", p)
		}
	}
	if p != "/" && strings.HasPrefix(p, "/-/") {
		return "", fmt.Sprintf("%q is under /-/, which Écluse keeps for its own endpoints", p)
	}
	if p == "/livez/" || p == "/readyz/" {
		return "", fmt.Sprintf("%q is a health probe's path", p)
	}
	return p, ""
}

func validStrategy(s string) bool { return s == StrategyPassthrough || s == StrategyService }

// namePattern is what an internal pattern may hold: npm name characters and the * glob.
var namePattern = regexp.MustCompile(`^(@[A-Za-z0-9*~._-]+/)?[A-Za-z0-9*~._!'()-]+$`)

func (l *loader) validatePatterns(path string, patterns []string) {
	for i, p := range patterns {
		if !namePattern.MatchString(p) {
			l.addf(fmt.Sprintf("%s[%d]", path, i), "%q is not a package name pattern (an exact name, @scope/*, or a glob such as corp-*)", p)
		}
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

var hostLabel = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)

// checkHostName accepts a DNS name or an IP literal, without scheme, port or path.
// maxDocumentBytes is the largest PROXY_MAX_RESPONSE_BYTES accepted.
const maxDocumentBytes = 1 << 30

// checkHostName checks an egress allowlist entry: a host name or IP address, optionally
// with a port ("files.example.com:8443") or as an origin with a scheme
// ("https://files.example.com:8443"). The egress guard parses the entry again, strictly,
// when it is built; this catches the common mistakes with the entry's own path.
func checkHostName(h string) error {
	rest, hadScheme := h, false
	for _, scheme := range []string{"http://", "https://"} {
		if len(rest) > len(scheme) && strings.EqualFold(rest[:len(scheme)], scheme) {
			rest, hadScheme = strings.TrimSuffix(rest[len(scheme):], "/"), true
			break
		}
	}
	if strings.ContainsAny(rest, "/@ ?#") || strings.Contains(rest, "://") {
		return errors.New("must be a host name, host:port or scheme://host[:port] (no path, user or query)")
	}
	host := rest
	if a, err := netip.ParseAddr(strings.Trim(rest, "[]")); err == nil && (!a.Is6() || !hadScheme || strings.HasPrefix(rest, "[")) {
		return nil // a bare IP address (an IPv6 one in brackets inside an origin)
	}
	if strings.Contains(rest, ":") {
		hp, port, err := net.SplitHostPort(rest)
		if err != nil {
			return errors.New("has a malformed port (write host:port, an IPv6 address in brackets)")
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return fmt.Errorf("has port %q, want a number from 1 to 65535", port)
		}
		host = hp
		if _, err := netip.ParseAddr(host); err == nil {
			return nil
		}
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if !hostLabel.MatchString(label) {
			return errors.New("is not a valid host name")
		}
	}
	return nil
}

func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, r := range h {
		if r > 127 || !(r == '-' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

func isReservedHeader(h string) bool {
	switch strings.ToLower(h) {
	case "authorization", "host", "cookie", "user-agent", "content-type", "accept", "x-request-id":
		return true
	}
	return false
}

// Addr is the listen address of the front door.
func (c *Config) Addr() string { return net.JoinHostPort("", strconv.Itoa(c.Port)) }

// MetricsAddr is the listen address of the Prometheus /metrics listener.
func (c *Config) MetricsAddr() string { return net.JoinHostPort("", strconv.Itoa(c.MetricsPort)) }
