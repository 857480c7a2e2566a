package gate

import (
	"context"
	"fmt"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
)

// Explanation says, for every version of a package, whether it is served and why.
type Explanation struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	// Now is the instant the decisions were taken at.
	Now      time.Time            `json:"now"`
	Admitted int                  `json:"admitted"`
	Blocked  int                  `json:"blocked"`
	Versions []VersionExplanation `json:"versions"`
	Warning  string               `json:"warning,omitempty"`
	// Advisories says which advisory index the public versions were decided with.
	Advisories AdvisoryIndex `json:"advisories"`
	// Signing is the mount's signing mode: off, warn, internal or all.
	Signing string `json:"signing"`
}

// VersionExplanation is one version's decision.
type VersionExplanation struct {
	Version  string `json:"version"`
	Admitted bool   `json:"admitted"`
	// Origin is where the version is served from: private, or public.
	Origin string `json:"origin"`
	// Rule is the deciding rule ("trusted" for private versions).
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// AdmitAt is when a quarantined version will be admitted; nil when not quarantined.
	AdmitAt *time.Time `json:"admitAt,omitempty"`
	// Published is the version's publish time, when known.
	Published *time.Time `json:"published,omitempty"`
	// Warned lists warn-mode rules that would have denied it.
	Warned []string `json:"warned,omitempty"`
	// Advisories are the known advisories that affect the version, or that it is the
	// fast-tracked fix of, each with the rules it fed. Omitted when none.
	Advisories []policy.AdvisoryNote `json:"advisories,omitempty"`
}

// AdvisoryIndex says which advisory index the decisions were taken with.
type AdvisoryIndex struct {
	// Loaded is false while no index has loaded: the advisory rules then fail closed
	// (or abstain, as set).
	Loaded bool `json:"loaded"`
	// Generation numbers the index; 0 when none has loaded.
	Generation uint64 `json:"generation,omitempty"`
}

// Explain decides every version of name (or only version, when set) and reports why.
func (g *Gate) Explain(ctx context.Context, name, version string, cred redact.Secret) (*Explanation, error) {
	if err := npm.ValidateName(name); err != nil {
		return nil, &BadRequestError{Message: err.Error()}
	}
	res, err := g.resolve(ctx, name, cred)
	if err != nil {
		return nil, err
	}
	now := g.opts.Now()
	ex := &Explanation{Name: name, Source: res.source, Now: now, Warning: res.warning, Versions: []VersionExplanation{}, Signing: g.opts.Signing.Mode.String()}
	k := g.known(ctx)
	private := map[string]bool{}
	if res.private != nil {
		var reasons []string // one batch for the document, as when it is served
		if k.sig.coversPrivateOf(res) {
			reasons = k.sig.privateAll(res)
		}
		for i := range res.private.Versions {
			v := &res.private.Versions[i].Info
			private[v.Version] = true
			if version != "" && v.Version != version {
				continue
			}
			e := VersionExplanation{
				Version: v.Version, Admitted: true, Origin: SourcePrivate, Rule: "trusted",
				Reason:    "served from the trusted private registry; the rules do not apply",
				Published: timePtr(v.Published),
			}
			if reasons != nil {
				switch reason := reasons[i]; {
				case reason == "":
					e.Reason += "; its registry signature verifies"
				case k.sig.enforces():
					e.Admitted, e.Rule, e.Reason = false, RuleSignature, "withheld: "+reason
				default:
					e.Warned = []string{RuleSignature}
					e.Reason += "; signing (warn mode) would withhold it: " + reason
				}
			}
			ex.Versions = append(ex.Versions, e)
		}
	}
	ex.Advisories = AdvisoryIndex{Loaded: k.loaded, Generation: k.generation()}
	if res.public != nil && res.source != SourcePrivate {
		// One view serves every version in turn: each decision is explained before the
		// next version is filled in.
		view := new(policy.Version)
		a := g.adviceFor(k, res.public, now)
		for i := range res.public.Versions {
			v := &res.public.Versions[i].Info
			if private[v.Version] || (version != "" && v.Version != version) {
				continue
			}
			d := g.decide(v, view, a, now)
			reason := d.Reason()
			if d.Allowed && reason == "" {
				reason = "admitted by rule " + d.Rule
			}
			ex.Versions = append(ex.Versions, VersionExplanation{
				Version: v.Version, Admitted: d.Allowed, Origin: SourcePublic, Rule: d.Rule, Reason: reason,
				AdmitAt: timePtr(d.AdmitAt), Published: timePtr(v.Published), Warned: d.Warned,
				Advisories: g.opts.Policy.AdvisoryNotes(view),
			})
		}
	}
	for _, v := range ex.Versions {
		if v.Admitted {
			ex.Admitted++
		} else {
			ex.Blocked++
		}
	}
	if version != "" && len(ex.Versions) == 0 {
		return nil, &NotFoundError{Message: fmt.Sprintf("%s@%s does not exist", name, version)}
	}
	return ex, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
