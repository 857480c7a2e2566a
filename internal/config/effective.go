package config

import (
	"net/url"

	"github.com/ecluse/ecluse/internal/redact"
)

// Effective is the JSON view of a Config that check-config prints: every setting with
// its resolved value, secrets shown only as a placeholder.
type Effective struct {
	Port                       int           `json:"PROXY_PORT"`
	PrivateUpstream            string        `json:"PRIVATE_UPSTREAM_URL"`
	PrivateUpstreamToken       redact.Secret `json:"PRIVATE_UPSTREAM_TOKEN"`
	PublicUpstream             string        `json:"PUBLIC_UPSTREAM_URL"`
	PublicURL                  string        `json:"PROXY_PUBLIC_URL"`
	AuthToken                  redact.Secret `json:"PROXY_AUTH_TOKEN"`
	IdentityHeader             string        `json:"PROXY_TRUSTED_IDENTITY_HEADER"`
	SigningKeyFile             string        `json:"PROXY_SIGNING_KEY_FILE"`
	HelpMessage                string        `json:"PROXY_HELP_MESSAGE"`
	LogFormat                  string        `json:"PROXY_LOG_FORMAT"`
	Telemetry                  bool          `json:"PROXY_TELEMETRY"`
	Metrics                    string        `json:"PROXY_METRICS"`
	MetricsPort                int           `json:"PROXY_METRICS_PORT"`
	Debug                      bool          `json:"PROXY_DEBUG"`
	RespectUpstreamTarballHost bool          `json:"PROXY_RESPECT_UPSTREAM_TARBALL_HOST"`
	EgressAllowedHosts         []string      `json:"egressAllowedHosts"`
	EgressAllowInternal        []string      `json:"PROXY_EGRESS_ALLOW_INTERNAL_CIDRS"`
	MaxResponseBytes           int64         `json:"PROXY_MAX_RESPONSE_BYTES"`
	MaxInflightBytes           int64         `json:"PROXY_MAX_INFLIGHT_BYTES"`
	MaxTarballBytes            int64         `json:"PROXY_MAX_TARBALL_BYTES"`
	MaxSpoolBytes              int64         `json:"PROXY_MAX_SPOOL_BYTES"`
	MaxVersionCount            int           `json:"PROXY_MAX_VERSION_COUNT"`
	MaxDistTagCount            int           `json:"PROXY_MAX_DIST_TAG_COUNT"`
	MaxNestingDepth            int           `json:"PROXY_MAX_NESTING_DEPTH"`
	MinPublicIntegrity         string        `json:"PROXY_MIN_PUBLIC_INTEGRITY"`
	CacheTTLSeconds            int64         `json:"PROXY_PACKUMENT_CACHE_TTL_SECONDS"`
	CacheMaxBytes              int64         `json:"PROXY_PACKUMENT_CACHE_MAX_BYTES"`
	PrivateRevalidateAfter     int64         `json:"PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS"`
	MirrorDetection            string        `json:"PROXY_MIRROR_DETECTION"`
	ShutdownGraceSeconds       int64         `json:"PROXY_SHUTDOWN_GRACE_SECONDS"`
	CVESyncIntervalSeconds     int64         `json:"CVE_SYNC_INTERVAL_SECONDS"`
	CVESources                 []string      `json:"CVE_SOURCE_URL"`
	CVEMaxDownloadBytes        int64         `json:"CVE_MAX_DOWNLOAD_BYTES"`
	MirrorTargetURL            string        `json:"MIRROR_TARGET_URL"`
	MirrorCredentialProvider   string        `json:"MIRROR_TARGET_CREDENTIAL_PROVIDER"`
	MirrorToken                redact.Secret `json:"MIRROR_TARGET_TOKEN"`
	CodeArtifact               *CodeArtifact `json:"codeArtifact,omitempty"`
	QueueProvider              string        `json:"MIRROR_QUEUE_PROVIDER"`
	QueueURL                   string        `json:"MIRROR_QUEUE_URL,omitempty"`
	MemoryMaxDepth             int           `json:"MIRROR_QUEUE_MEMORY_MAX_DEPTH"`
	QueueSubscription          string        `json:"MIRROR_QUEUE_SUBSCRIPTION,omitempty"`
	QueueCreate                bool          `json:"MIRROR_QUEUE_CREATE"`
	NATSURL                    string        `json:"NATS_URL,omitempty"`
	QueueDir                   string        `json:"MIRROR_QUEUE_DIR,omitempty"`
	WorkerConcurrency          int           `json:"MIRROR_WORKER_CONCURRENCY"`
	WorkerStallSeconds         int64         `json:"MIRROR_WORKER_STALL_SECONDS"`
	CredentialStrategy         string        `json:"credentialStrategy"`
	Internal                   []string      `json:"internal"`
	Signing                    string        `json:"signing"`
	DocumentSource             string        `json:"documentSource,omitempty"`

	// TarballManifest is the document's tarballManifest setting.
	TarballManifest TarballManifest `json:"tarballManifest"`
	// Mounts are the resolved mounts, in path order.
	Mounts []EffectiveMount `json:"mounts"`
}

// EffectiveMount is the printable view of one resolved mount.
type EffectiveMount struct {
	Name               string   `json:"name"`
	Path               string   `json:"path"`
	Ecosystem          string   `json:"ecosystem"`
	PrivateUpstream    string   `json:"privateUpstreamUrl"`
	PublicUpstream     string   `json:"publicUpstreamUrl"`
	CredentialStrategy string   `json:"credentialStrategy"`
	Internal           []string `json:"internal"`
	// Policy names the document policy the mount uses; "" means the top-level rules.
	Policy string `json:"policy"`
	// Signing is the mount's resolved signing value ("off" on a non-npm mount).
	Signing string `json:"signing"`
	// ChecksumDatabaseKey and ChecksumDatabaseURL are a go mount's database settings
	// as configured ("" means the default).
	ChecksumDatabaseKey string `json:"checksumDatabaseKey,omitempty"`
	ChecksumDatabaseURL string `json:"checksumDatabaseUrl,omitempty"`
	// FilesUpstream is a pypi mount's files host ("" when none is set).
	FilesUpstream string `json:"filesUpstreamUrl,omitempty"`
}

func urlString(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.String()
}

// Effective returns the printable view of c.
func (c *Config) Effective() Effective {
	e := Effective{
		Port:                       c.Port,
		PrivateUpstream:            urlString(c.PrivateUpstream),
		PrivateUpstreamToken:       c.PrivateUpstreamToken,
		PublicUpstream:             urlString(c.PublicUpstream),
		PublicURL:                  urlString(c.PublicURL),
		AuthToken:                  c.AuthToken,
		IdentityHeader:             c.IdentityHeader,
		SigningKeyFile:             c.SigningKeyFile,
		HelpMessage:                c.HelpMessage,
		LogFormat:                  c.LogFormat,
		Telemetry:                  c.Telemetry,
		Metrics:                    c.Metrics,
		MetricsPort:                c.MetricsPort,
		Debug:                      c.Debug,
		RespectUpstreamTarballHost: c.RespectUpstreamTarballHost,
		EgressAllowedHosts:         append([]string{}, c.EgressAllowedHosts...),
		MaxResponseBytes:           c.MaxResponseBytes,
		MaxInflightBytes:           c.MaxInflightBytes,
		MaxTarballBytes:            c.MaxTarballBytes,
		MaxSpoolBytes:              c.MaxSpoolBytes,
		MaxVersionCount:            c.MaxVersionCount,
		MaxDistTagCount:            c.MaxDistTagCount,
		MaxNestingDepth:            c.MaxNestingDepth,
		MinPublicIntegrity:         c.MinPublicIntegrity,
		CacheTTLSeconds:            int64(c.CacheTTL.Seconds()),
		CacheMaxBytes:              c.CacheMaxBytes,
		PrivateRevalidateAfter:     int64(c.PrivateRevalidateAfter.Seconds()),
		MirrorDetection:            c.MirrorDetection,
		ShutdownGraceSeconds:       int64(c.ShutdownGrace.Seconds()),
		CVESyncIntervalSeconds:     int64(c.CVESyncInterval.Seconds()),
		CVESources:                 append([]string{}, c.CVESources...),
		CVEMaxDownloadBytes:        c.CVEMaxDownloadBytes,
		MirrorTargetURL:            urlString(c.Mirror.TargetURL),
		MirrorCredentialProvider:   c.Mirror.CredentialProvider,
		MirrorToken:                c.Mirror.Token,
		QueueProvider:              c.Mirror.QueueProvider,
		QueueURL:                   c.Mirror.QueueURL,
		MemoryMaxDepth:             c.Mirror.MemoryMaxDepth,
		QueueSubscription:          c.Mirror.QueueSubscription,
		QueueCreate:                c.Mirror.QueueCreate,
		NATSURL:                    c.Mirror.NATSURL,
		QueueDir:                   c.Mirror.QueueDir,
		WorkerConcurrency:          c.Mirror.WorkerConcurrency,
		WorkerStallSeconds:         int64(c.Mirror.WorkerStallAfter.Seconds()),
		CredentialStrategy:         c.CredentialStrategy,
		Internal:                   append([]string{}, c.Internal...),
		Signing:                    c.Signing,
		TarballManifest:            c.TarballManifest,
		DocumentSource:             c.DocumentSource,
	}
	e.Mounts = []EffectiveMount{}
	for _, m := range c.Mounts {
		e.Mounts = append(e.Mounts, EffectiveMount{
			Name: m.Name, Path: m.Path, Ecosystem: m.Ecosystem,
			PrivateUpstream: urlString(m.PrivateUpstream), PublicUpstream: urlString(m.PublicUpstream),
			CredentialStrategy: m.CredentialStrategy, Internal: append([]string{}, m.Internal...),
			Policy: m.PolicyName, Signing: m.Signing, ChecksumDatabaseKey: m.ChecksumDatabase.Key, ChecksumDatabaseURL: urlString(m.ChecksumDatabase.URL),
			FilesUpstream: urlString(m.FilesUpstream),
		})
	}
	for _, p := range c.EgressAllowInternal {
		e.EgressAllowInternal = append(e.EgressAllowInternal, p.String())
	}
	if e.EgressAllowInternal == nil {
		e.EgressAllowInternal = []string{}
	}
	if c.Mirror.CredentialProvider == CredentialCodeArtifact {
		ca := c.Mirror.CodeArtifact
		e.CodeArtifact = &ca
	}
	return e
}
