package egress

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Defaults applied to zero-valued fields of Options and TrustedOptions.
const (
	DefaultMaxRedirects          = 5
	DefaultDialTimeout           = 10 * time.Second
	DefaultTLSHandshakeTimeout   = 10 * time.Second
	DefaultResponseHeaderTimeout = 30 * time.Second
	// DefaultMaxIdleConnsPerHost is sized for a cold `npm ci`, which asks for
	// thousands of packuments and tarballs from one or two hosts in a burst.
	DefaultMaxIdleConnsPerHost = 256
)

// maxDialAttempts bounds how many of a name's addresses are tried in turn. Every
// address is checked; only the first few are dialled.
const maxDialAttempts = 8

// Resolver looks up the addresses of a host name. *net.Resolver implements it.
type Resolver interface {
	// LookupNetIP returns the addresses of host for network "ip", "ip4" or "ip6".
	// It must honour ctx's deadline. An empty answer with a nil error is treated
	// as a failed lookup.
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Options configures the guarded client. The zero value is valid and refuses every
// request (nothing is allowlisted).
type Options struct {
	// AllowedHosts are the origins the guarded client may reach: the public
	// upstream's own origin (scheme, host and port of PUBLIC_UPSTREAM_URL) plus the
	// operator's extras (document key egress.allowedHosts, env
	// PROXY_EGRESS_ALLOWED_HOSTS). A request passes only when its scheme, host and
	// port (a missing port read as the scheme's default) are admitted together. An
	// entry is a bare host name or IP literal ("files.example.com": http on port 80
	// and https on 443 only), a host and port ("files.example.com:8443": that port,
	// over http or https) or an origin ("https://files.example.com:8443": exactly
	// that; no port means the scheme's default). Host matching is exact and ignores
	// case and a trailing dot; IPv6 literals take brackets before a port or within
	// an origin; paths, userinfo, queries, wildcards and ports with leading zeros
	// are refused by New. Nil: every request is refused.
	AllowedHosts []string

	// AllowInternal admits exactly these ranges through the internal-address block
	// (env PROXY_EGRESS_ALLOW_INTERNAL_CIDRS). A range is matched against the address
	// actually dialled, and for an IPv4-mapped IPv6 address also against the IPv4
	// address inside. A /0 range is rejected by New. Nil: no internal address is
	// reachable.
	AllowInternal []netip.Prefix

	// RespectUpstreamTarballHost lets a tarball be fetched from any allowlisted
	// origin rather than only from the origin that served its packument (env
	// PROXY_RESPECT_UPSTREAM_TARBALL_HOST). False (the default): same scheme, host
	// and port as the packument's origin only.
	RespectUpstreamTarballHost bool

	// MaxRedirects bounds the redirects followed for one request. Zero means
	// DefaultMaxRedirects; a negative value means no redirect is followed.
	MaxRedirects int

	// DialTimeout bounds one TCP connect. Zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds one TLS handshake. Zero means
	// DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers once the request is
	// written. Zero means DefaultResponseHeaderTimeout. Reading the body is bounded
	// only by the request's context.
	ResponseHeaderTimeout time.Duration

	// MaxIdleConnsPerHost is the number of idle keep-alive connections kept per host.
	// Zero means DefaultMaxIdleConnsPerHost. The pool-wide cap is twice this.
	MaxIdleConnsPerHost int

	// TLSConfig is cloned for outbound TLS. Nil means the system roots. TLS 1.2 is
	// the minimum either way.
	TLSConfig *tls.Config

	// Resolver resolves allowlisted names. Nil means net.DefaultResolver.
	Resolver Resolver

	// Logger receives one warning per refusal. Nil means slog.Default().
	Logger *slog.Logger
}

// TrustedOptions configures the client for the trusted private upstream. The zero
// value is valid: every field falls back to the same default as in Options.
type TrustedOptions struct {
	// MaxRedirects bounds the redirects followed, all of which must stay on the
	// private origin. Zero means DefaultMaxRedirects; negative means none.
	MaxRedirects int
	// DialTimeout, TLSHandshakeTimeout and ResponseHeaderTimeout: zero or negative
	// means the package default.
	DialTimeout           time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost: zero or negative means DefaultMaxIdleConnsPerHost.
	MaxIdleConnsPerHost int
	// TLSConfig is cloned for outbound TLS (for a private CA, say). Nil means the
	// system roots. TLS 1.2 is the minimum either way.
	TLSConfig *tls.Config
	// Logger receives one warning per refusal. Nil means slog.Default().
	Logger *slog.Logger
}

// pool holds the connection settings both clients share.
type pool struct {
	dialTimeout           time.Duration
	tlsHandshakeTimeout   time.Duration
	responseHeaderTimeout time.Duration
	maxIdleConnsPerHost   int
	tlsConfig             *tls.Config
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func redirectLimit(v int) int {
	switch {
	case v == 0:
		return DefaultMaxRedirects
	case v < 0:
		return -1
	}
	return v
}

// validate reports negative settings, which are almost certainly typos.
func (o Options) validate() []error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"DialTimeout", o.DialTimeout},
		{"TLSHandshakeTimeout", o.TLSHandshakeTimeout},
		{"ResponseHeaderTimeout", o.ResponseHeaderTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, &OptionError{Option: d.name, Index: -1, Msg: fmt.Sprintf("negative (%s)", d.v)})
		}
	}
	if o.MaxIdleConnsPerHost < 0 {
		errs = append(errs, &OptionError{Option: "MaxIdleConnsPerHost", Index: -1, Msg: "negative"})
	}
	return errs
}

func (o Options) pool() pool {
	return pool{
		dialTimeout:           orDuration(o.DialTimeout, DefaultDialTimeout),
		tlsHandshakeTimeout:   orDuration(o.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout),
		responseHeaderTimeout: orDuration(o.ResponseHeaderTimeout, DefaultResponseHeaderTimeout),
		maxIdleConnsPerHost:   orInt(o.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost),
		tlsConfig:             o.TLSConfig,
	}
}

func (o TrustedOptions) pool() pool {
	return pool{
		dialTimeout:           orDuration(o.DialTimeout, DefaultDialTimeout),
		tlsHandshakeTimeout:   orDuration(o.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout),
		responseHeaderTimeout: orDuration(o.ResponseHeaderTimeout, DefaultResponseHeaderTimeout),
		maxIdleConnsPerHost:   orInt(o.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost),
		tlsConfig:             o.TLSConfig,
	}
}

// transport builds the pooled HTTP transport. It never consults HTTP_PROXY and
// friends: a forward proxy would make the address check judge the proxy instead of
// the destination. Compression is left on, so the transport asks for gzip and
// inflates it, and the caller's size limit counts decoded bytes.
func (p pool) transport(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.tlsConfig != nil {
		cfg = p.tlsConfig.Clone()
		if cfg.MinVersion < tls.VersionTLS12 {
			cfg.MinVersion = tls.VersionTLS12
		}
	}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        cfg,
		TLSHandshakeTimeout:    p.tlsHandshakeTimeout,
		ResponseHeaderTimeout:  p.responseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           2 * p.maxIdleConnsPerHost,
		MaxIdleConnsPerHost:    p.maxIdleConnsPerHost,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

func (p pool) dialer() *net.Dialer {
	return &net.Dialer{Timeout: p.dialTimeout, KeepAlive: 30 * time.Second}
}

func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
