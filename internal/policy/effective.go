package policy

import (
	"time"
)

// ExpiryWarningWindow is how far ahead check-config and the boot warning look for
// AllowPackages entries about to lapse.
const ExpiryWarningWindow = 14 * 24 * time.Hour

// Effective is the merged policy as check-config prints it (JSON).
type Effective struct {
	// IntegrityFloor is the weakest digest algorithm a public version may rely on.
	IntegrityFloor string `json:"integrityFloor"`
	// Rules are in evaluation order: precedence descending, then name. Never nil.
	Rules []EffectiveRule `json:"rules"`
	// Suppressed names the built-in rules the document switched off. Never nil.
	Suppressed []string `json:"suppressed"`
}

// EffectiveRule is one rule of the merged policy.
type EffectiveRule struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Precedence int    `json:"precedence"`
	Mode       string `json:"mode"`
	// Origin says where the rule came from: "default" (built in, untouched), "patched"
	// (built in, changed by the document) or "added" (only in the document).
	Origin string `json:"origin"`
	// AgeSeconds is MinAge's window; zero (and omitted) for other types.
	AgeSeconds int64 `json:"ageSeconds,omitempty"`
	// Packages is the pattern list of AllowPackages and DenyPackages; nil otherwise.
	Packages []EffectivePackage `json:"packages,omitempty"`
	// MinSeverity is DenyIfCVE's threshold ("any", "low", ...); empty for other types.
	MinSeverity string `json:"minSeverity,omitempty"`
	// OnMissingIndex is what DenyIfCVE and DenyMalicious do before the advisory index
	// has loaded: "deny" or "abstain". Empty for other types.
	OnMissingIndex string `json:"onMissingIndex,omitempty"`
}

// EffectivePackage is one pattern of a package list.
type EffectivePackage struct {
	Pattern string `json:"pattern"`
	// Reason is empty when the entry gave none.
	Reason string `json:"reason,omitempty"`
	// Expires is the expiry as written; empty means the entry never expires.
	Expires string `json:"expires,omitempty"`
	// Expired reports whether the entry had lapsed at the instant Effective was asked about.
	Expired bool `json:"expired,omitempty"`
}

// Effective returns the merged policy, with each exception's expiry judged at now.
func (p *Policy) Effective(now time.Time) Effective {
	e := Effective{
		IntegrityFloor: p.floor.String(),
		Rules:          make([]EffectiveRule, 0, len(p.rules)),
		Suppressed:     append([]string{}, p.suppressed...),
	}
	for i := range p.rules {
		r := &p.rules[i]
		er := EffectiveRule{
			Name: r.name, Type: r.typ.name, Precedence: r.precedence,
			Mode: ModeEnforce, Origin: r.origin,
		}
		if r.warn {
			er.Mode = ModeWarn
		}
		switch r.typ.kind {
		case kindMinAge:
			er.AgeSeconds = int64(r.age / time.Second)
		case kindDenyCVE:
			er.MinSeverity = "any"
			if r.minSeverity != SeverityUnknown {
				er.MinSeverity = r.minSeverity.String()
			}
		}
		if r.typ.kind == kindDenyCVE || r.typ.kind == kindDenyMalicious {
			er.OnMissingIndex = MissingIndexDeny
			if r.missing == abstain {
				er.OnMissingIndex = MissingIndexAbstain
			}
		}
		for j := range r.patterns {
			pat := &r.patterns[j]
			er.Packages = append(er.Packages, EffectivePackage{
				Pattern: pat.text, Reason: pat.reason, Expires: pat.expiresText, Expired: !pat.active(now),
			})
		}
		e.Rules = append(e.Rules, er)
	}
	return e
}

// Exception is an AllowPackages entry that carries an expiry.
type Exception struct {
	// Rule is the AllowPackages rule's name.
	Rule    string
	Pattern string
	// Reason is empty when the entry gave none.
	Reason string
	// Expires is the first instant at which the entry no longer applies.
	Expires time.Time
	// ExpiresText is the expiry as written in the document.
	ExpiresText string
}

// Expiring lists the AllowPackages entries that have lapsed at now, and those that
// will lapse within the given window after now, in evaluation order. Both are nil
// when empty.
func (p *Policy) Expiring(now time.Time, within time.Duration) (expired, soon []Exception) {
	horizon := now.Add(within)
	for i := range p.rules {
		r := &p.rules[i]
		if r.typ.kind != kindAllowPackages {
			continue
		}
		for j := range r.patterns {
			pat := &r.patterns[j]
			if pat.expires.IsZero() {
				continue
			}
			x := Exception{Rule: r.name, Pattern: pat.text, Reason: pat.reason, Expires: pat.expires, ExpiresText: pat.expiresText}
			switch {
			case !pat.active(now):
				expired = append(expired, x)
			case !pat.expires.After(horizon):
				soon = append(soon, x)
			}
		}
	}
	return expired, soon
}

// NextExpiry returns the first instant after now at which an AllowPackages entry lapses,
// or the zero time when none will. Decisions may change then, so anything caching them
// must not outlive it.
func (p *Policy) NextExpiry(now time.Time) time.Time {
	var next time.Time
	for i := range p.rules {
		r := &p.rules[i]
		for j := range r.patterns {
			e := r.patterns[j].expires
			if e.IsZero() || !e.After(now) {
				continue
			}
			if next.IsZero() || e.Before(next) {
				next = e
			}
		}
	}
	return next
}
