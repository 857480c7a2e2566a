package egress

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

type originKey struct{}

// WithOrigin marks ctx as belonging to a tarball fetch whose packument came from
// origin. The guarded client then applies the tarball host policy to the request's
// first hop and to every redirect: by default each hop must have origin's scheme,
// host and port; with RespectUpstreamTarballHost any allowlisted origin (scheme, host
// and port) will do. Either way https is never given up for http. A nil origin is kept
// as "no origin", which the default policy refuses.
func WithOrigin(ctx context.Context, origin *url.URL) context.Context {
	var o *url.URL
	if origin != nil {
		c := *origin
		c.User = nil
		o = &c
	}
	return context.WithValue(ctx, originKey{}, o)
}

// originFrom returns the origin set by WithOrigin; ok is false when none was set.
func originFrom(ctx context.Context) (origin *url.URL, ok bool) {
	origin, ok = ctx.Value(originKey{}).(*url.URL)
	return origin, ok
}

// CheckTarballURL reports whether the guarded client would fetch tarball for a
// packument served by origin, without any network access: the URL checks, the
// allowlist, an IP literal's address class and the tarball host policy. A nil error
// does not promise that the fetch will succeed: the host's addresses are checked
// when it is dialled, and each redirect is checked when it happens.
func (g *Guard) CheckTarballURL(tarball, origin *url.URL) error {
	ctx := context.Background()
	if tarball == nil {
		return g.refuse(ctx, stageTarball, "", nil, "no URL")
	}
	if reason := g.vetURL(tarball); reason != "" {
		return g.refuse(ctx, stageTarball, tarball.Host, tarball, reason)
	}
	if reason := g.tarballReason(tarball, origin); reason != "" {
		return g.refuse(ctx, stageTarball, tarball.Host, tarball, reason)
	}
	return nil
}

// tarballReason applies the tarball host policy to one hop; the allowlist and other
// URL checks are assumed done.
func (g *Guard) tarballReason(u, origin *url.URL) string {
	if origin == nil {
		if g.respectTarballHost {
			return ""
		}
		return "tarball fetch without a packument origin"
	}
	if strings.EqualFold(origin.Scheme, "https") && !strings.EqualFold(u.Scheme, "https") {
		return "tarball downgrades https to http"
	}
	if g.respectTarballHost || sameOrigin(u, origin) {
		return ""
	}
	return fmt.Sprintf("tarball host differs from the packument's origin %q", clip(origin.Host))
}

// sameOrigin reports whether a and b share scheme, host and port, with a missing port
// read as the scheme's default (see effectivePort; a URL without a usable port has no
// origin to share).
func sameOrigin(a, b *url.URL) bool {
	if a == nil || b == nil || !strings.EqualFold(a.Scheme, b.Scheme) {
		return false
	}
	pa, okA := effectivePort(a)
	pb, okB := effectivePort(b)
	if !okA || !okB || pa != pb {
		return false
	}
	return sameHost(a.Hostname(), b.Hostname())
}

func sameHost(a, b string) bool {
	if x, err := netip.ParseAddr(a); err == nil {
		y, err := netip.ParseAddr(b)
		return err == nil && x == y
	}
	norm := func(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }
	return a != "" && norm(a) == norm(b)
}
