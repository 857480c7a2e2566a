package policy

import (
	"strings"
	"time"
)

// Severity is an advisory's severity level, ordered: a higher value is more severe.
type Severity uint8

// The severity levels. SeverityUnknown is an advisory whose severity nobody stated in
// a form Écluse reads.
const (
	SeverityUnknown Severity = iota
	SeverityLow
	SeverityModerate
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"unknown", "low", "moderate", "high", "critical"}

// String is the level's lower-case name.
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "unknown"
}

// parseSeverity reads a DenyIfCVE threshold: "any" (every advisory, including those of
// unknown severity), "low", "moderate" (or "medium"), "high" or "critical".
func parseSeverity(s string) (Severity, bool) {
	switch strings.ToLower(s) {
	case "any", "":
		return SeverityUnknown, true
	case "low":
		return SeverityLow, true
	case "moderate", "medium":
		return SeverityModerate, true
	case "high":
		return SeverityHigh, true
	case "critical":
		return SeverityCritical, true
	}
	return 0, false
}

// Advisory is one known advisory about a version, as the advisory rules read it.
type Advisory struct {
	// ID is the advisory's own id ("GHSA-...", "MAL-2025-...").
	ID string
	// Aliases are its other ids (CVE-..., GHSA-...), for messages. Nil when none.
	Aliases []string
	// Severity is SeverityUnknown when the advisory states none Écluse reads.
	Severity Severity
	// Malicious marks a report that the version is malware, not a vulnerability.
	Malicious bool
}

// label names the advisory with its first CVE alias, for messages: "GHSA-x (CVE-y)".
func (a *Advisory) label() string {
	for _, al := range a.Aliases {
		if strings.HasPrefix(al, "CVE-") && al != a.ID {
			return a.ID + " (" + al + ")"
		}
	}
	return a.ID
}

// Advice is what the advisory index says about one version. The gate fills it in
// from the snapshot it decides with; the advisory rules read nothing else.
type Advice struct {
	// Loaded reports that an advisory index was consulted. False means none has loaded
	// yet: DenyIfCVE and DenyMalicious then deny (or abstain, as each is set) and
	// AllowIfRemediatesCve admits nothing. The zero Advice is therefore "not loaded",
	// so a caller that forgets to fill it in fails closed.
	Loaded bool
	// Affecting are the advisories that affect this version, vulnerabilities and
	// malware reports alike. Nil when none.
	Affecting []Advisory
	// Remedy, when set, says this version is the first fix of an advisory that affects
	// an earlier version the rest of the policy admits (see MarkRemedies). Nil otherwise.
	Remedy *Remedy
}

// Remedy is the fast-track's finding about a version.
type Remedy struct {
	// Advisory is the advisory the version fixes.
	Advisory Advisory
	// Fixes is the highest earlier version, admitted by the rest of the policy, that the
	// advisory affects and this version is the first fix of.
	Fixes string
}

// ReadsAdvisories reports whether any rule reads Advice, so that a caller knows the
// advisory index matters to this policy.
func (p *Policy) ReadsAdvisories() bool {
	for i := range p.rules {
		if p.rules[i].typ.advisory() {
			return true
		}
	}
	return false
}

// FastTracks reports whether the policy has an enforcing AllowIfRemediatesCve rule, so
// that a caller knows MarkRemedies is worth its cost.
func (p *Policy) FastTracks() bool {
	for i := range p.rules {
		if r := &p.rules[i]; r.typ.kind == kindRemediation && !r.warn {
			return true
		}
	}
	return false
}

// MarkRemedies finds the versions the remediation fast-track admits and sets their
// Advice.Remedy (it clears every other version's). versions are one package's public
// versions, every one with its Advice filled in, sorted in ascending version order by
// the caller (the ecosystem's ordering; the policy has none of its own).
//
// Version V is a remedy of advisory A when some version U below V is affected by A
// and admitted by the policy with the advisory rules set aside (so U is something a
// build could be using today), V is not affected by A, and V is the lowest version
// above U that A does not affect. Malware reports are never remedied: a release after
// a malicious one is not a fix. Nothing is marked while the index has not loaded.
func (p *Policy) MarkRemedies(versions []Version, now time.Time) {
	for i := range versions {
		versions[i].Advice.Remedy = nil
	}
	if len(versions) == 0 || !versions[0].Advice.Loaded {
		return
	}
	// admitted caches, per version, whether the rest of the policy admits it: 0 not
	// yet known, 1 yes, 2 no.
	var admitted []uint8
	admits := func(i int) bool {
		if admitted == nil {
			admitted = make([]uint8, len(versions))
		}
		if admitted[i] == 0 {
			admitted[i] = 2
			if p.decide(&versions[i], now, true).Allowed {
				admitted[i] = 1
			}
		}
		return admitted[i] == 1
	}
	seen := map[string]bool{}
	for i := range versions {
		for _, a := range versions[i].Advice.Affecting {
			if a.Malicious || seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			p.markRemediesOf(versions, a, admits)
		}
	}
}

// markRemediesOf walks the versions in order for one advisory: after a run of affected
// versions holding at least one the rest of the policy admits, the first unaffected
// version is a remedy.
func (p *Policy) markRemediesOf(versions []Version, a Advisory, admits func(int) bool) {
	fixes := ""
	for i := range versions {
		v := &versions[i]
		if affectedBy(v, a.ID) {
			if admits(i) {
				fixes = v.Version
			}
			continue
		}
		if fixes != "" {
			if v.Advice.Remedy == nil {
				v.Advice.Remedy = &Remedy{Advisory: a, Fixes: fixes}
			}
			fixes = ""
		}
	}
}

func affectedBy(v *Version, id string) bool {
	for i := range v.Advice.Affecting {
		if v.Advice.Affecting[i].ID == id {
			return true
		}
	}
	return false
}

// cveFinding returns the first advisory (not a malware report) affecting v at or above
// min, or nil.
func cveFinding(v *Version, min Severity) *Advisory {
	for i := range v.Advice.Affecting {
		a := &v.Advice.Affecting[i]
		// An advisory of unknown severity meets every threshold: not knowing how bad a
		// vulnerability is is no reason to serve it.
		if !a.Malicious && (a.Severity == SeverityUnknown || a.Severity >= min) {
			return a
		}
	}
	return nil
}

// malwareFinding returns the first malware report affecting v, or nil.
func malwareFinding(v *Version) *Advisory {
	for i := range v.Advice.Affecting {
		if a := &v.Advice.Affecting[i]; a.Malicious {
			return a
		}
	}
	return nil
}

// expiringException reports whether an enforcing AllowPackages rule has an entry that
// names v's package literally (no wildcard), carries an expiry, is still active, and
// covers v: the one thing that may lift DenyMalicious.
func (p *Policy) expiringException(v *Version, now time.Time) bool {
	for i := range p.rules {
		r := &p.rules[i]
		if r.typ.kind != kindAllowPackages || r.warn {
			continue
		}
		for j := range r.patterns {
			pat := &r.patterns[j]
			if !pat.expires.IsZero() && pat.name.shape == shapeLiteral && pat.active(now) && pat.match(v) {
				return true
			}
		}
	}
	return false
}

// AdvisoryUse says which rules one advisory about a version fed, for explanations.
type AdvisoryUse struct {
	Advisory Advisory
	// Fixes is set when the version does not suffer the advisory but fixes it: the
	// earlier version it remedies (see Remedy). Empty when the advisory affects it.
	Fixes string
	// Rules names the rules that read the advisory for this version, in evaluation
	// order, warn-mode ones included. Nil when none did (a vulnerability below every
	// DenyIfCVE threshold, say).
	Rules []string
}

// AdvisoryUses lists the advisories of v's Advice, each with the rules it fed: a
// malware report feeds the DenyMalicious rules, a vulnerability the DenyIfCVE rules
// whose threshold it meets, and a remedy the AllowIfRemediatesCve rules.
func (p *Policy) AdvisoryUses(v *Version) []AdvisoryUse {
	var out []AdvisoryUse
	for _, a := range v.Advice.Affecting {
		u := AdvisoryUse{Advisory: a}
		for i := range p.rules {
			r := &p.rules[i]
			switch {
			case r.typ.kind == kindDenyMalicious && a.Malicious,
				r.typ.kind == kindDenyCVE && !a.Malicious && (a.Severity == SeverityUnknown || a.Severity >= r.minSeverity):
				u.Rules = append(u.Rules, r.name)
			}
		}
		out = append(out, u)
	}
	if rem := v.Advice.Remedy; rem != nil {
		u := AdvisoryUse{Advisory: rem.Advisory, Fixes: rem.Fixes}
		for i := range p.rules {
			if r := &p.rules[i]; r.typ.kind == kindRemediation {
				u.Rules = append(u.Rules, r.name)
			}
		}
		out = append(out, u)
	}
	return out
}
