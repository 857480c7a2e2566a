package modgate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/policy"
)

// decided is a public version with the policy's decision about it.
type decided struct {
	c *candidate
	d policy.Decision
	// v is the view d was decided on.
	v *policy.Version
}

// decide fetches what the policy reads about mod@version and decides it at now.
// Errors are the candidate fetch's: a *NotFoundError when the public proxy has no such
// version, an *UpstreamError when it or the checksum database failed.
func (g *Gate) decide(ctx context.Context, mod, version string, now time.Time) (dv decided, err error) {
	ctx, span := startDecide(ctx, mod, version)
	defer func() { endDecide(span, dv, err) }()
	c, err := g.candidates.Fetch(ctx, mod+"@"+version)
	if err != nil {
		return decided{}, err
	}
	v := c.version(mod)
	v.Advice = g.advice(mod, v.Version)
	return decided{c: c, d: g.opts.Policy.Decide(v, now), v: v}, nil
}

// advice is what the advisory index says of mod@version.
func (g *Gate) advice(mod, version string) policy.Advice {
	if g.opts.Advisories == nil {
		return policy.Advice{Loaded: true}
	}
	snap := g.opts.Advisories.Snapshot()
	if snap == nil {
		return policy.Advice{}
	}
	a := policy.Advice{Loaded: true}
	for _, m := range snap.Package(advisory.EcosystemGo, mod) {
		if m.Affected.Contains(version) {
			ad := m.Advisory
			a.Affecting = append(a.Affecting, policy.Advisory{
				ID: ad.ID, Aliases: ad.Aliases, Severity: policy.Severity(ad.Severity), Malicious: ad.Malicious,
			})
		}
	}
	return a
}

// admit decides mod@version and returns a *RefusedError when the policy refuses it.
func (g *Gate) admit(ctx context.Context, mod, version string) (*candidate, error) {
	dv, err := g.decide(ctx, mod, version, g.opts.Now())
	if err != nil {
		return nil, err
	}
	if !dv.d.Allowed {
		e := g.refusal(mod, version, dv)
		g.log.InfoContext(ctx, "public version refused", "module", mod, "version", version, "rule", e.Rule)
		return nil, e
	}
	return dv.c, nil
}

// refusal builds the refusal of a public version the policy denied.
func (g *Gate) refusal(mod, version string, dv decided) *RefusedError {
	return &RefusedError{
		Module: mod, Version: version, Kind: RefusedByPolicy, Rule: dv.d.Rule, AdmitAt: dv.d.AdmitAt,
		Message: fmt.Sprintf("Écluse refused %s@%s: %s", mod, version, g.reason(dv)),
	}
}

// reason explains a decision in one line, saying plainly when the checksum database
// had no record to vouch for the version.
func (g *Gate) reason(dv decided) string {
	if _, none := g.opts.Policy.(refuseAll); none {
		return "this mount has no policy, so no public version is served"
	}
	r := clip(dv.d.Reason())
	if !dv.d.Allowed && dv.c.record == nil && dv.d.Rule == policy.RuleIntegrityFloor {
		db := "the checksum database"
		if g.opts.SumDBName != "" {
			db += " " + g.opts.SumDBName
		}
		return db + " has no record of it, so its content cannot be verified (" + r + ")"
	}
	return r
}

// checksumRefusal builds the refusal of a public go.mod or zip whose hash the checksum
// database does not vouch for; what is "go.mod" or "zip".
func checksumRefusal(mod, version, what, detail string) *RefusedError {
	return &RefusedError{
		Module: mod, Version: version, Kind: RefusedChecksum, Rule: RuleChecksumDatabase,
		Message: fmt.Sprintf("Écluse refused %s@%s: the %s the public proxy served %s", mod, version, what, detail),
	}
}

// isNotFound reports whether err is a not-found.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
