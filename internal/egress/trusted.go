package egress

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
)

// NewTrusted returns the client for the trusted private upstream at origin (the
// operator's PRIVATE_UPSTREAM_URL). It has no internal-address block and no
// allowlist, because a private registry normally lives on the internal network.
// What keeps that exemption narrow is that the client reaches origin and nothing
// else: every request, first hop and redirect alike, must have origin's scheme, host
// and port, or it is refused with a *RefusedError. Redirects are bounded by
// opts.MaxRedirects. A nil origin yields a client that refuses everything.
//
// Never send an upstream-chosen URL that points elsewhere through this client; use
// the guarded client for that.
func NewTrusted(origin *url.URL, opts TrustedOptions) *http.Client {
	var o *url.URL
	if origin != nil {
		c := *origin
		c.User = nil
		o = &c
	}
	p := opts.pool()
	base := p.transport(p.dialer().DialContext)
	t := &trustedTransport{origin: o, log: loggerOr(opts.Logger), base: base}
	maxRedirects := redirectLimit(opts.MaxRedirects)
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			ctx := req.Context()
			if maxRedirects < 0 {
				return refuse(ctx, t.log, stageRedirect, req.URL.Host, req.URL, "redirects are not followed")
			}
			if len(via) > maxRedirects {
				return refuse(ctx, t.log, stageRedirect, req.URL.Host, req.URL, fmt.Sprintf("more than %d redirects", maxRedirects))
			}
			return t.check(ctx, stageRedirect, req.URL)
		},
	}
}

type trustedTransport struct {
	origin *url.URL
	log    *slog.Logger
	base   *http.Transport
}

var _ http.RoundTripper = (*trustedTransport)(nil)

func (t *trustedTransport) check(ctx context.Context, stage string, u *url.URL) error {
	if u == nil {
		return refuse(ctx, t.log, stage, "", nil, "no URL")
	}
	if t.origin == nil {
		return refuse(ctx, t.log, stage, u.Host, u, "no trusted private origin configured")
	}
	if !sameOrigin(u, t.origin) {
		return refuse(ctx, t.log, stage, u.Host, u, "outside the trusted private origin")
	}
	return nil
}

func (t *trustedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.check(req.Context(), stageRequest, req.URL); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (t *trustedTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }
