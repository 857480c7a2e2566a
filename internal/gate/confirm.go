package gate

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecluse/ecluse/internal/budget"
)

// A private registry may answer 404 to a caller who may not read a name, to hide that
// the name exists (Artifactory and GitHub Packages do). Under passthrough that 404
// alone would send the caller to the public package of the same name: the dependency
// confusion the private-first lookup exists to stop. So a private 404 is confirmed with
// Écluse's own credential (Options.PrivateProbe) before the public side is asked.

// privateProbe is one confirmation of whether the private upstream has a name, made
// with Écluse's own credential. It is cached per name, for every caller: it does not
// depend on who asked.
type privateProbe struct{ has bool }

// probeKey is the cache key of a confirmation.
func probeKey(name string) string { return "p\x00" + name }

// confirmAbsent is called when the caller's own credential got a private 404 for name.
// It returns nil when the public side may be asked: no probe is configured, or the
// private upstream confirms, with Écluse's own credential, that it does not have the
// name. When it has the name, the caller is refused (403) and the public side is never
// asked. A probe that fails is a 502: the public side is not asked without an answer.
func (g *Gate) confirmAbsent(ctx context.Context, name string) error {
	probe := g.opts.PrivateProbe
	if probe == nil {
		return nil
	}
	key := probeKey(name)
	var p *privateProbe
	if v, ok := g.cache.get(key, g.opts.Now()); ok {
		p = v.(*privateProbe)
	} else {
		ch := g.flight.DoChan(key, func() (any, error) {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
			defer cancel()
			has, err := probe.Has(pctx, name)
			if err != nil {
				return nil, err
			}
			p := &privateProbe{has: has}
			g.cache.put(key, p, int64(len(key))+entryOverhead, g.opts.Now().Add(g.opts.ProbeTTL))
			return p, nil
		})
		select {
		case r := <-ch:
			if r.Err != nil {
				if errors.Is(r.Err, budget.ErrExhausted) {
					return upstreamFailure(SourcePrivate, name, r.Err)
				}
				return &UpstreamError{
					Message: fmt.Sprintf("the private registry could not confirm with Écluse's own credential that it does not have %s, so the public registry was not asked", name),
					Cause:   r.Err,
				}
			}
			p = r.Val.(*privateProbe)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !p.has {
		return nil
	}
	g.log.InfoContext(ctx, "private registry hides a private name from the caller; not served from the public registry", "package", name)
	return &UpstreamDeniedError{
		Status: 403,
		Message: fmt.Sprintf("the private registry has %s but does not serve it with your credential; "+
			"Écluse never serves a public package in place of a private one (ask for access to %s on the private registry)", name, name),
	}
}
