package policy

import (
	"time"
)

// Decision is the outcome of Decide for one version. Only the exported fields are
// meant to be read; the rest lets Reason and Warnings explain it later without
// Decide paying for text nobody may read.
type Decision struct {
	// Allowed reports whether the version may be served.
	Allowed bool
	// Rule names what decided: the name of a rule, RuleIntegrityFloor when the floor
	// refused the version, RuleDefaultDeny when no rule admitted it, or the Rule of the
	// version's Refusal. Empty only in the zero Decision.
	Rule string
	// AdmitAt is set only when the version is refused solely because a MinAge window has
	// not yet elapsed: it is the instant the version will be admitted, if the policy
	// stays the same. Zero otherwise.
	AdmitAt time.Time
	// Warned lists, in evaluation order, the warn-mode rules that would have changed
	// this decision to a denial (or joined one) had they been enforcing: those that
	// would deny at or above the precedence that decided. Nil when none; the slice is
	// allocated only then.
	Warned []string

	policy *Policy
	v      *Version
	now    time.Time
	// rule indexes policy.rules: the deciding rule or, for a default denial, the MinAge
	// rule that would admit first. -1 when neither applies.
	rule int
	// pattern indexes that rule's patterns when a package list decided; -1 otherwise.
	pattern int
	// overruled indexes an enforcing rule that admitted at the deciding precedence but
	// lost to a denial there; -1 when none.
	overruled int
	// refused says v.Refusal decided.
	refused bool
}

// Decide decides whether an untrusted version — one offered by the public upstream —
// may be served at instant now. The gate never calls it for versions of the trusted
// private upstream, which enter unfiltered.
//
// The integrity floor comes first: a version without a well-formed digest at least as
// strong as the floor is refused whatever the rules say. So is a version carrying a
// Refusal (recorded by the gate, for what its artifact holds, say). Then the rules,
// from the highest precedence down: the first precedence at which some enforcing rule
// does not abstain decides, a denial beating an admission there; when every rule
// abstains the version is refused (deny by default). Warn-mode rules never change the
// outcome.
//
// Decide is pure and safe for concurrent use. It does not allocate, except to record a
// warn-mode rule that triggered, or where the ecosystem's range predicate does (npm's
// does not for the usual range spellings).
// The Decision refers to v: v must stay alive, unmodified, as long as the Decision's
// methods may be called.
func (p *Policy) Decide(v *Version, now time.Time) Decision {
	return p.decide(v, now, false)
}

// decide is Decide, with the advisory rules set aside when skipAdvisory is set (the
// fast-track asks what the rest of the policy says of an earlier version).
func (p *Policy) decide(v *Version, now time.Time, skipAdvisory bool) Decision {
	d := Decision{policy: p, v: v, now: now, rule: -1, pattern: -1, overruled: -1}
	if !meetsFloor(v.Digests, p.floor) {
		d.Rule = RuleIntegrityFloor
		return d
	}
	if r := v.Refusal; r != nil {
		// Recorded by the gate (after it read the version's artifact, say): refused
		// like the floor refuses, whatever the rules say.
		d.Rule, d.refused = r.Rule, true
		return d
	}
	decided := false
	level := 0
	ageRule := -1
	for i := range p.rules {
		r := &p.rules[i]
		if decided && r.precedence < level {
			break
		}
		if skipAdvisory && r.typ.advisory() {
			continue
		}
		verdict, pat := p.eval(r, v, now)
		if r.warn {
			if verdict == deny {
				d.Warned = append(d.Warned, r.name)
			}
			continue
		}
		switch verdict {
		case abstain:
			if r.typ.kind == kindMinAge {
				if _, at := r.oldEnough(v, now); !at.IsZero() && (d.AdmitAt.IsZero() || at.Before(d.AdmitAt)) {
					d.AdmitAt, ageRule = at, i
				}
			}
			continue
		case deny:
			if !decided || d.Allowed {
				if decided {
					d.overruled = d.rule
				}
				d.Allowed, d.rule, d.pattern = false, i, pat
			}
		case allow:
			if !decided {
				d.Allowed, d.rule, d.pattern = true, i, pat
			} else if !d.Allowed && d.overruled < 0 {
				d.overruled = i
			}
		}
		decided, level = true, r.precedence
	}
	if !decided {
		// Every enforcing rule abstained. Rules other than MinAge do not change their
		// minds as time passes (an exception can only lapse, which is abstaining too),
		// so the earliest MinAge admission is exactly when this version gets in.
		d.Rule, d.rule = RuleDefaultDeny, ageRule
		return d
	}
	d.Rule = p.rules[d.rule].name
	d.AdmitAt = time.Time{}
	return d
}
