package policy

import (
	"slices"
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

// Ladder is one package's public versions in ascending version order (the ecosystem's
// ordering; the policy has none of its own), as the fast-track reads them. It is made of
// functions so that a caller holding thousands of versions need not build a Version for
// each: only those the fast-track asks about.
type Ladder struct {
	// Len is the number of versions.
	Len int
	// Vulnerabilities are the advisories known for the package that are not malware
	// reports (a release after a malicious one is not a fix).
	Vulnerabilities []Advisory
	// Affected reports whether Vulnerabilities[j] affects the i-th version.
	Affected func(i, j int) bool
	// Admits reports whether the policy, its advisory rules set aside, admits the i-th
	// version (see AdmitsApartFromAdvisories). It is called at most once per version,
	// and only for affected ones.
	Admits func(i int) bool
	// Version returns the i-th version's string, for Remedy.Fixes.
	Version func(i int) string
}

// Remedies finds the versions the remediation fast-track admits. The result is indexed
// like the ladder; an entry is nil for a version that is no remedy, and the whole result
// is nil when none is.
//
// Version V is a remedy of vulnerability A when some version U below V is affected by A
// and admitted by the policy with the advisory rules set aside (so U is something a
// build could be using today), V is not affected by A, and V is the lowest version
// above U that A does not affect. Where V is a remedy of several, the first in
// Vulnerabilities is named.
func (p *Policy) Remedies(l Ladder) []*Remedy {
	var out []*Remedy
	var admitted []uint8 // per version: 0 not yet asked, 1 yes, 2 no
	for j := range l.Vulnerabilities {
		fixes := -1
		for i := 0; i < l.Len; i++ {
			if l.Affected(i, j) {
				if admitted == nil {
					admitted = make([]uint8, l.Len)
				}
				if admitted[i] == 0 {
					admitted[i] = 2
					if l.Admits(i) {
						admitted[i] = 1
					}
				}
				if admitted[i] == 1 {
					fixes = i
				}
				continue
			}
			if fixes >= 0 {
				if out == nil {
					out = make([]*Remedy, l.Len)
				}
				if out[i] == nil {
					out[i] = &Remedy{Advisory: l.Vulnerabilities[j], Fixes: l.Version(fixes)}
				}
				fixes = -1
			}
		}
	}
	return out
}

// AdmitsApartFromAdvisories reports whether the policy admits v with its advisory rules
// (DenyIfCVE, DenyMalicious, AllowIfRemediatesCve) set aside: the fast-track's question
// about an earlier version.
func (p *Policy) AdmitsApartFromAdvisories(v *Version, now time.Time) bool {
	return p.decide(v, now, true).Allowed
}

// MarkRemedies is Remedies over versions that are already built: one package's public
// versions in ascending order, each with its Advice filled in. It sets the Advice.Remedy
// of each version the fast-track admits and clears every other's. Nothing is marked
// while the index has not loaded.
func (p *Policy) MarkRemedies(versions []Version, now time.Time) {
	for i := range versions {
		versions[i].Advice.Remedy = nil
	}
	if len(versions) == 0 || !versions[0].Advice.Loaded {
		return
	}
	var vulns []Advisory
	for i := range versions {
		for _, a := range versions[i].Advice.Affecting {
			if !a.Malicious && !slices.ContainsFunc(vulns, func(b Advisory) bool { return b.ID == a.ID }) {
				vulns = append(vulns, a)
			}
		}
	}
	rem := p.Remedies(Ladder{
		Len:             len(versions),
		Vulnerabilities: vulns,
		Affected:        func(i, j int) bool { return affectedBy(&versions[i], vulns[j].ID) },
		Admits:          func(i int) bool { return p.AdmitsApartFromAdvisories(&versions[i], now) },
		Version:         func(i int) string { return versions[i].Version },
	})
	for i, r := range rem {
		versions[i].Advice.Remedy = r
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

// AdvisoryNote is one advisory about one version, with the rules it fed, as
// explanations show it.
type AdvisoryNote struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases,omitempty"`
	Severity string   `json:"severity"`
	Malware  bool     `json:"malware,omitempty"`
	// Fixes is set when the version does not suffer the advisory but is its
	// fast-tracked fix: the earlier, affected version it remedies.
	Fixes string `json:"fixes,omitempty"`
	// Rules names the rules that read the advisory for this version, in evaluation
	// order, warn-mode ones included. Empty when none did (a vulnerability below every
	// DenyIfCVE threshold, say).
	Rules []string `json:"rules"`
}

// AdvisoryNotes lists the advisories of v's Advice, each with the rules it fed: a
// malware report feeds the DenyMalicious rules, a vulnerability the DenyIfCVE rules
// whose threshold it meets, and a remedy the AllowIfRemediatesCve rules. Nil when v's
// Advice names none.
func (p *Policy) AdvisoryNotes(v *Version) []AdvisoryNote {
	var out []AdvisoryNote
	note := func(a Advisory, fixes string, feeds func(r *rule) bool) {
		n := AdvisoryNote{ID: a.ID, Aliases: a.Aliases, Severity: a.Severity.String(), Malware: a.Malicious, Fixes: fixes, Rules: []string{}}
		for i := range p.rules {
			if r := &p.rules[i]; feeds(r) {
				n.Rules = append(n.Rules, r.name)
			}
		}
		out = append(out, n)
	}
	for _, a := range v.Advice.Affecting {
		note(a, "", func(r *rule) bool {
			return r.typ.kind == kindDenyMalicious && a.Malicious ||
				r.typ.kind == kindDenyCVE && !a.Malicious && (a.Severity == SeverityUnknown || a.Severity >= r.minSeverity)
		})
	}
	if rem := v.Advice.Remedy; rem != nil {
		note(rem.Advisory, rem.Fixes, func(r *rule) bool { return r.typ.kind == kindRemediation })
	}
	return out
}
