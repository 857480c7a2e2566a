package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Guard owns the guarded client and the policy it enforces. Build it with New; it is
// safe for concurrent use.
type Guard struct {
	allowed            allowlist
	allowInternal      []netip.Prefix
	respectTarballHost bool
	maxRedirects       int // -1: follow none
	resolver           Resolver
	log                *slog.Logger
	dialer             *net.Dialer
	transport          *http.Transport
	client             *http.Client

	// connect opens a TCP connection to an address that has already passed the
	// check. It is g.dialChecked outside tests; tests replace it to observe, without
	// touching the network, what a broken check would have dialled.
	connect func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error)
}

// New validates opts and builds the guard. It reports every bad option at once.
func New(opts Options) (*Guard, error) {
	errs := opts.validate()
	var allowed allowlist
	for i, h := range opts.AllowedHosts {
		grants, err := parseAllowEntry(h)
		if err != nil {
			errs = append(errs, &OptionError{Option: "AllowedHosts", Index: i, Msg: fmt.Sprintf("%q: %v", clip(h), err)})
			continue
		}
		for _, gr := range grants {
			allowed.add(gr)
		}
	}
	internal := make([]netip.Prefix, 0, len(opts.AllowInternal))
	for i, p := range opts.AllowInternal {
		switch {
		case !p.IsValid():
			errs = append(errs, &OptionError{Option: "AllowInternal", Index: i, Msg: "not a valid CIDR"})
		case p.Bits() == 0:
			errs = append(errs, &OptionError{Option: "AllowInternal", Index: i, Msg: fmt.Sprintf("%s admits every address; list the ranges you need", p)})
		default:
			internal = append(internal, p.Masked())
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	g := &Guard{
		allowed:            allowed,
		allowInternal:      internal,
		respectTarballHost: opts.RespectUpstreamTarballHost,
		maxRedirects:       redirectLimit(opts.MaxRedirects),
		resolver:           opts.Resolver,
		log:                loggerOr(opts.Logger),
	}
	if g.resolver == nil {
		g.resolver = net.DefaultResolver
	}
	p := opts.pool()
	g.dialer = p.dialer()
	g.dialer.ControlContext = g.control
	g.connect = g.dialChecked
	g.transport = p.transport(g.dialContext)
	g.client = &http.Client{
		Transport:     &guardedTransport{g: g, base: g.transport},
		CheckRedirect: g.checkRedirect,
	}
	if len(internal) > 0 {
		g.log.Warn("egress internal ranges admitted", "ranges", internal)
	}
	return g, nil
}

// Client returns the guarded client. Every request to the public upstream and every
// artifact fetch from an untrusted origin must go through it. Its CheckRedirect and
// Transport enforce the policy; do not replace them.
func (g *Guard) Client() *http.Client { return g.client }

// Stages name where a refusal happened, for the log.
const (
	stageRequest  = "request"
	stageRedirect = "redirect"
	stageTarball  = "tarball"
	stageDial     = "dial"
	stageConnect  = "connect"
)

// refuse logs a refusal and returns it as an error.
func (g *Guard) refuse(ctx context.Context, stage, host string, u *url.URL, reason string) *RefusedError {
	return refuse(ctx, g.log, stage, host, u, reason)
}

func refuse(ctx context.Context, log *slog.Logger, stage, host string, u *url.URL, reason string) *RefusedError {
	e := &RefusedError{Host: clip(host), Reason: reason, URL: redactURL(u)}
	attrs := []slog.Attr{
		slog.String("stage", stage),
		slog.String("host", e.Host),
		slog.String("reason", e.Reason),
	}
	if e.URL != "" {
		attrs = append(attrs, slog.String("url", e.URL))
	}
	log.LogAttrs(ctx, slog.LevelWarn, "egress refused", attrs...)
	return e
}

// vetURL applies the checks that need no network: scheme, userinfo, port, host
// syntax, address class of an IP literal, and the allowlist, which admits the URL's
// origin (scheme, host and port together). It returns a reason to refuse, or "".
func (g *Guard) vetURL(u *url.URL) string {
	scheme := schemeOf(u.Scheme)
	if scheme == 0 {
		return fmt.Sprintf("scheme %q not allowed (http and https only)", clip(u.Scheme))
	}
	if u.User != nil {
		return "userinfo in URL not allowed"
	}
	if u.Opaque != "" {
		return "opaque URL not allowed"
	}
	port, ok := effectivePort(u)
	if !ok {
		if strings.Trim(u.Port(), "0") == "" {
			return "port 0 not allowed"
		}
		return fmt.Sprintf("port %q out of range", clip(u.Port()))
	}
	_, reason := g.vetHost(u.Hostname(), port, scheme)
	return reason
}

// vetHost parses a host and checks it against the allowlist, on port over a scheme
// of schemes, and, for a literal, against the address block.
func (g *Guard) vetHost(h string, port uint16, schemes schemeSet) (target, string) {
	t, reason := parseHost(h)
	if reason != "" {
		return t, reason
	}
	if t.addr.IsValid() {
		if reason := g.addrReason(t.addr); reason != "" {
			return t, fmt.Sprintf("address %s: %s", t.addr, reason)
		}
	}
	return t, g.allowed.reason(t.key(), port, schemes)
}

// addrReason says why a may not be dialled, or returns "" when it may: a public
// address, or one inside an operator-admitted internal range.
func (g *Guard) addrReason(a netip.Addr) string {
	a = a.WithZone("")
	for _, p := range g.allowInternal {
		if p.Contains(a) || (a.Is4In6() && p.Contains(a.Unmap())) {
			return ""
		}
	}
	return blockedReason(a)
}

// checkRequest runs the URL checks and, when the context carries a packument origin,
// the tarball host policy.
func (g *Guard) checkRequest(ctx context.Context, stage string, u *url.URL) error {
	if u == nil {
		return g.refuse(ctx, stage, "", nil, "no URL")
	}
	if reason := g.vetURL(u); reason != "" {
		return g.refuse(ctx, stage, u.Host, u, reason)
	}
	if origin, ok := originFrom(ctx); ok {
		if reason := g.tarballReason(u, origin); reason != "" {
			return g.refuse(ctx, stageTarball, u.Host, u, reason)
		}
	}
	return nil
}

// checkRedirect is the guarded client's CheckRedirect: it bounds the chain, refuses
// a downgrade from https, and re-runs every check on the new hop.
func (g *Guard) checkRedirect(req *http.Request, via []*http.Request) error {
	ctx := req.Context()
	if g.maxRedirects < 0 {
		return g.refuse(ctx, stageRedirect, req.URL.Host, req.URL, "redirects are not followed")
	}
	if len(via) > g.maxRedirects {
		return g.refuse(ctx, stageRedirect, req.URL.Host, req.URL, fmt.Sprintf("more than %d redirects", g.maxRedirects))
	}
	if downgrade(req, via) {
		return g.refuse(ctx, stageRedirect, req.URL.Host, req.URL, "redirect downgrades https to http")
	}
	return g.checkRequest(ctx, stageRedirect, req.URL)
}

// downgrade reports whether req leaves https after any earlier hop used it.
func downgrade(req *http.Request, via []*http.Request) bool {
	if strings.EqualFold(req.URL.Scheme, "https") {
		return false
	}
	for _, v := range via {
		if strings.EqualFold(v.URL.Scheme, "https") {
			return true
		}
	}
	return false
}

// guardedTransport checks every request, first hop and redirect alike, before the
// pooled transport sees it.
type guardedTransport struct {
	g    *Guard
	base *http.Transport
}

var _ http.RoundTripper = (*guardedTransport)(nil)

func (t *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.g.checkRequest(req.Context(), stageRequest, req.URL); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	// The transport inflates gzip only when it asked for it itself. Drop a caller's
	// Accept-Encoding so that the body handed back is always decoded and a size limit
	// on it bounds what the caller really parses, unless the caller said it decodes
	// and bounds the body itself (WithCallerDecoding).
	if len(req.Header.Values("Accept-Encoding")) > 0 && !callerDecodes(req.Context()) {
		req = req.Clone(req.Context())
		req.Header.Del("Accept-Encoding")
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (t *guardedTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }
