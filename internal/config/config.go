package config

import (
	"net/netip"
	"net/url"
	"time"

	"github.com/ecluse/ecluse/internal/redact"
)

// Enumerations accepted by the environment.
const (
	LogFormatJSON    = "json"
	LogFormatConsole = "console"

	QueueSQS    = "sqs"
	QueueMemory = "memory"
	QueuePubSub = "pubsub"
	QueueNATS   = "nats"

	CredentialStatic              = "static"
	CredentialCodeArtifact        = "codeartifact"
	CredentialGCPArtifactRegistry = "gcp-artifact-registry"

	StrategyPassthrough = "passthrough"
	StrategyService     = "service"

	MirrorDetectionCopies = "copies"
	MirrorDetectionOff    = "off"

	MetricsOff        = "off"
	MetricsPrometheus = "prometheus"

	// What the document's "signing" key asks of an npm mount (see Mount.Signing).
	SigningOff      = "off"
	SigningWarn     = "warn"
	SigningInternal = "internal"
	SigningAll      = "all"

	// MaxCodeArtifactTokenSeconds is the longest token lifetime CodeArtifact grants.
	MaxCodeArtifactTokenSeconds = 43200
)

// Config is the whole validated configuration of one Écluse process.
type Config struct {
	// Port is PROXY_PORT, the TCP port of the front door.
	Port int
	// PrivateUpstream is PRIVATE_UPSTREAM_URL, the trusted authority for reads.
	PrivateUpstream *url.URL
	// PrivateUpstreamToken is PRIVATE_UPSTREAM_TOKEN, Écluse's own read credential for the
	// private upstream: every private read under the service strategy; under passthrough,
	// only the confirmation of a private 404 before the public side is asked. Unset
	// means none.
	PrivateUpstreamToken redact.Secret
	// PublicUpstream is PUBLIC_UPSTREAM_URL, read anonymously and gated by the rules.
	PublicUpstream *url.URL
	// PublicURL is PROXY_PUBLIC_URL, the proxy's own external base URL. Nil means served
	// tarball URLs are path-relative.
	PublicURL *url.URL

	// AuthToken is PROXY_AUTH_TOKEN. Unset means the edge is open.
	AuthToken redact.Secret
	// SigningKeyFile is PROXY_SIGNING_KEY_FILE: a PEM file of PKCS#8 private keys
	// whose first unexpired key signs every version published through Écluse. Empty
	// means published versions are forwarded unsigned. The file is read by the
	// composition root; its contents are never part of the configuration.
	SigningKeyFile string
	// IdentityHeader is PROXY_TRUSTED_IDENTITY_HEADER: a header set by a fronting gateway
	// whose value is logged as the caller. Empty means none is trusted.
	IdentityHeader string
	// HelpMessage is PROXY_HELP_MESSAGE, appended to every denial.
	HelpMessage string
	// LogFormat is PROXY_LOG_FORMAT: "json" or "console".
	LogFormat string
	// Telemetry is PROXY_TELEMETRY=on: OpenTelemetry traces and metrics exported over
	// OTLP/HTTP. False means nothing is exported.
	Telemetry bool
	// Metrics is PROXY_METRICS: MetricsOff (no scrape endpoint) or MetricsPrometheus (the
	// same metrics served for scraping at /metrics on MetricsPort), independent of
	// Telemetry.
	Metrics string
	// MetricsPort is PROXY_METRICS_PORT, the TCP port of the /metrics listener; used only
	// when Metrics is MetricsPrometheus, and then never the same as Port.
	MetricsPort int
	// Debug is PROXY_DEBUG: debug-level logs.
	Debug bool

	// RespectUpstreamTarballHost is PROXY_RESPECT_UPSTREAM_TARBALL_HOST.
	RespectUpstreamTarballHost bool
	// EgressAllowedHosts are the extra hosts of PROXY_EGRESS_ALLOWED_HOSTS and the
	// document's egress.allowedHosts (the public upstream's host is always allowed).
	EgressAllowedHosts []string
	// EgressAllowInternal is PROXY_EGRESS_ALLOW_INTERNAL_CIDRS.
	EgressAllowInternal []netip.Prefix

	// MaxResponseBytes is PROXY_MAX_RESPONSE_BYTES.
	MaxResponseBytes int64
	// MaxInflightBytes is PROXY_MAX_INFLIGHT_BYTES: the memory budget of upstream
	// documents being read and parsed at once.
	MaxInflightBytes int64
	// MaxTarballBytes is PROXY_MAX_TARBALL_BYTES: the largest public tarball relayed.
	MaxTarballBytes int64
	// MaxSpoolBytes is PROXY_MAX_SPOOL_BYTES: the disk space public Go module zips may
	// take at once while they are verified against the checksum database.
	MaxSpoolBytes int64
	// MaxVersionCount is PROXY_MAX_VERSION_COUNT.
	MaxVersionCount int
	// MaxDistTagCount is PROXY_MAX_DIST_TAG_COUNT.
	MaxDistTagCount int
	// MaxNestingDepth is PROXY_MAX_NESTING_DEPTH.
	MaxNestingDepth int
	// MinPublicIntegrity is PROXY_MIN_PUBLIC_INTEGRITY (validated by the policy package).
	MinPublicIntegrity string

	// CacheTTL is PROXY_PACKUMENT_CACHE_TTL_SECONDS.
	CacheTTL time.Duration
	// CacheMaxBytes is PROXY_PACKUMENT_CACHE_MAX_BYTES.
	CacheMaxBytes int64
	// PrivateRevalidateAfter is PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS: how long a cached
	// private document is served without asking the private upstream again. Zero means
	// it is revalidated on every request. At most CacheTTL.
	PrivateRevalidateAfter time.Duration
	// MirrorDetection is PROXY_MIRROR_DETECTION: "copies" (a private document that looks
	// like a copy of a public one is looked up on the public side and merged once
	// verified) or "off" (the public side is never asked about a private package).
	MirrorDetection string
	// ShutdownGrace is PROXY_SHUTDOWN_GRACE_SECONDS: how long in-flight requests may run
	// after SIGTERM.
	ShutdownGrace time.Duration

	// CVESyncInterval is CVE_SYNC_INTERVAL_SECONDS.
	CVESyncInterval time.Duration
	// CVESources are the entries of CVE_SOURCE_URL: https URLs of OSV exports, or
	// local paths (a zip or a directory of OSV records). Unset means OSV's export for
	// each ecosystem the mounts serve.
	CVESources []string
	// CVESourcesDefault reports that CVE_SOURCE_URL was unset.
	CVESourcesDefault bool
	// CVEMaxDownloadBytes is CVE_MAX_DOWNLOAD_BYTES: the largest export downloaded
	// from one source URL.
	CVEMaxDownloadBytes int64

	Mirror Mirror

	// CredentialStrategy is the document's credentialStrategy ("passthrough" or "service").
	CredentialStrategy string
	// Internal holds the document's internal name patterns.
	Internal []string
	// TarballManifest is the document's tarballManifest setting, defaults filled in.
	TarballManifest TarballManifest
	// Signing is the document's top-level "signing" value (SigningOff when absent):
	// what an npm mount without its own "signing" inherits. What applies to a mount
	// is its Mount.Signing.
	Signing string
	// Mounts are the ecosystems served, each under its path prefix, sorted by path. The
	// environment alone describes one npm mount at "/"; a document's "mounts" map
	// replaces it. Never empty after a Load without problems.
	Mounts []Mount
	// Document is the parsed configuration document; never nil after Load.
	Document *Document
	// DocumentSource says where the document came from ("", "PROXY_CONFIG", or a path).
	DocumentSource string
}

// Ecosystems a mount may serve.
const (
	EcosystemNPM  = "npm"
	EcosystemGo   = "go"
	EcosystemPyPI = "pypi"
)

// reservedEcosystems are named for the mounts of later releases; a mount naming one
// is refused with that said.
var reservedEcosystems = []string{"cargo", "maven", "rubygems"}

// Mount is one ecosystem served under a path prefix, with every inherited setting
// resolved.
type Mount struct {
	// Name is the mount's key in the document's "mounts" map ("npm" for the mount the
	// environment describes).
	Name string
	// Path is the URL prefix, starting and ending with "/" ("/", "/go/").
	Path string
	// Ecosystem is EcosystemNPM, EcosystemGo or EcosystemPyPI.
	Ecosystem string
	// PrivateUpstream is the trusted upstream. Nil means the mount has none (allowed
	// for ecosystems other than npm): its internal patterns then name modules that are
	// never fetched at all.
	PrivateUpstream *url.URL
	// PublicUpstream is the untrusted upstream, gated by the mount's policy.
	PublicUpstream *url.URL
	// CredentialStrategy is how private reads are credentialled ("passthrough" or
	// "service").
	CredentialStrategy string
	// Internal holds the name patterns served from the private upstream only.
	Internal []string
	// InternalPath is the document path Internal came from, for errors.
	InternalPath string
	// PolicyName names the document's policy the mount uses; empty means the
	// top-level "rules".
	PolicyName string
	// Rules is the rules object that applies (the named policy's or the top-level
	// one), raw for internal/policy to read. Nil means the built-in defaults.
	Rules []byte
	// RulesPath is the document path of Rules ("rules", "policies.<name>.rules"), the
	// prefix policy errors are reported under.
	RulesPath string
	// ChecksumDatabase is a go mount's checksum database. Zero for other ecosystems.
	ChecksumDatabase ChecksumDatabase
	// Signing is the signatures the mount requires: SigningOff, SigningWarn,
	// SigningInternal or SigningAll; the mount's own "signing", else the top-level
	// one. Always SigningOff on a mount of another ecosystem than npm. After a Load
	// without problems, SigningInternal and SigningAll come with a SigningKeyFile.
	Signing string
	// FilesUpstream is a pypi mount's files host: where the public index's pages may
	// point for the files themselves (an index and its files are often on different
	// hosts). Its origin is added to the egress allowlist, and a public file URL is
	// fetched when it has the index's origin or this one (with this URL's path as a
	// prefix). Nil means files must be on the index's own origin.
	FilesUpstream *url.URL
}

// ChecksumDatabase is a go mount's checksum database settings.
type ChecksumDatabase struct {
	// Key is the verifier key. Empty means the Go toolchain's default, which the
	// composition root looks up at boot.
	Key string
	// URL is where the database is read. Nil means the public upstream's
	// "/sumdb/<name>/" path.
	URL *url.URL
}

// Mirror is the asynchronous mirror's configuration.
type Mirror struct {
	// TargetURL is MIRROR_TARGET_URL; defaults to the private upstream.
	TargetURL *url.URL
	// CredentialProvider is MIRROR_TARGET_CREDENTIAL_PROVIDER.
	CredentialProvider string
	// Token is MIRROR_TARGET_TOKEN.
	Token redact.Secret
	// CodeArtifact is filled for the codeartifact provider.
	CodeArtifact CodeArtifact
	// QueueProvider is MIRROR_QUEUE_PROVIDER.
	QueueProvider string
	// QueueURL is MIRROR_QUEUE_URL.
	QueueURL string
	// MemoryMaxDepth is MIRROR_QUEUE_MEMORY_MAX_DEPTH.
	MemoryMaxDepth int
	// AWSRegion is AWS_REGION.
	AWSRegion string
	// SQSEndpoint is AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL. Empty means normal resolution.
	SQSEndpoint string
	// GoogleCloudProject is GOOGLE_CLOUD_PROJECT.
	GoogleCloudProject string
	// QueueSubscription is MIRROR_QUEUE_SUBSCRIPTION: the Pub/Sub subscription the
	// worker pulls from (a name, or projects/<p>/subscriptions/<s>). Required for pubsub.
	QueueSubscription string
	// QueueCreate is MIRROR_QUEUE_CREATE: create the Pub/Sub topic and subscription
	// when they are absent. False means they must exist.
	QueueCreate bool
	// NATSURL is NATS_URL: the NATS server (or cluster) of the nats provider. Empty
	// means Écluse starts an embedded JetStream server storing under QueueDir.
	NATSURL string
	// QueueDir is MIRROR_QUEUE_DIR: where the embedded JetStream server keeps the
	// queue. Empty means a directory "ecluse-mirror-queue" under the system's
	// temporary directory (durable across restarts of the process, not of the host).
	QueueDir string
	// WorkerConcurrency is MIRROR_WORKER_CONCURRENCY: jobs the worker runs at once.
	WorkerConcurrency int
	// WorkerStallAfter is MIRROR_WORKER_STALL_SECONDS: how long the worker may hold
	// jobs without progress before /livez fails.
	WorkerStallAfter time.Duration
}

// CodeArtifact identifies a CodeArtifact repository for the credential leaf.
type CodeArtifact struct {
	Domain        string        `json:"MIRROR_TARGET_CODEARTIFACT_DOMAIN"`
	DomainOwner   string        `json:"MIRROR_TARGET_CODEARTIFACT_DOMAIN_OWNER"`
	Region        string        `json:"MIRROR_TARGET_CODEARTIFACT_REGION"`
	TokenDuration time.Duration `json:"-"`
}
