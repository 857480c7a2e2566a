package policy

import (
	"time"
)

// The rule types a document may name in "type".
const (
	// TypeMinAge admits a version published at least its window ago (ageSeconds).
	TypeMinAge = "MinAge"
	// TypeDenyInstallTimeExecution denies a version whose Version.InstallScripts is
	// not empty, and abstains otherwise. It never admits, so where nothing runs at
	// install (Go modules; InstallScripts nil) it has no effect at all.
	TypeDenyInstallTimeExecution = "DenyInstallTimeExecution"
	// TypeAllowPackages admits the versions its patterns match (packages).
	TypeAllowPackages = "AllowPackages"
	// TypeDenyPackages denies the versions its patterns match (packages).
	TypeDenyPackages = "DenyPackages"
	// TypeDenyDeprecated denies a version the registry marked deprecated.
	TypeDenyDeprecated = "DenyDeprecated"
	// TypeDenyIfCVE denies a version a known vulnerability affects, at or above its
	// minSeverity (default: any).
	TypeDenyIfCVE = "DenyIfCVE"
	// TypeAllowIfRemediatesCve admits, whatever its age, the first release that fixes a
	// known vulnerability of a version the rest of the policy admits (see MarkRemedies).
	TypeAllowIfRemediatesCve = "AllowIfRemediatesCve"
	// TypeDenyMalicious denies a version a malicious-package report names, whatever
	// its age; only an expiring AllowPackages entry naming the package lifts it.
	TypeDenyMalicious = "DenyMalicious"
)

// The default precedence of each rule type; a rule's "precedence" overrides it. They
// are spaced so that, out of the box: the fast-track admits a fix the age rule would
// still hold back, but a denial of install scripts or deprecated versions beats both; a
// known vulnerability beats those admissions; an AllowPackages exception beats all of
// that; a DenyPackages entry beats the exception; and a malware report beats everything
// (DenyMalicious yields only to an expiring exception that names the package).
const (
	PrecedenceMinAge                   = 100
	PrecedenceAllowIfRemediatesCve     = 120
	PrecedenceDenyDeprecated           = 150
	PrecedenceDenyInstallTimeExecution = 200
	PrecedenceDenyIfCVE                = 250
	PrecedenceAllowPackages            = 300
	PrecedenceDenyPackages             = 400
	PrecedenceDenyMalicious            = 500
)

// The modes a rule may run in.
const (
	ModeEnforce = "enforce"
	ModeWarn    = "warn"
)

// kind is a rule type in compiled form.
type kind uint8

const (
	kindMinAge kind = iota + 1
	kindDenyScripts
	kindAllowPackages
	kindDenyPackages
	kindDenyDeprecated
	kindDenyCVE
	kindRemediation
	kindDenyMalicious
)

// typeInfo describes what a rule type accepts.
type typeInfo struct {
	name       string
	kind       kind
	precedence int
	// fields are the type's own fields ("ageSeconds", "packages", ...); nil for none.
	fields []string
	// allowOnly types never deny, so warn mode would have nothing to report.
	allowOnly bool
}

var types = []typeInfo{
	{TypeAllowIfRemediatesCve, kindRemediation, PrecedenceAllowIfRemediatesCve, nil, true},
	{TypeAllowPackages, kindAllowPackages, PrecedenceAllowPackages, []string{keyPackages}, true},
	{TypeDenyDeprecated, kindDenyDeprecated, PrecedenceDenyDeprecated, nil, false},
	{TypeDenyIfCVE, kindDenyCVE, PrecedenceDenyIfCVE, []string{keyMinSeverity, keyOnMissingIndex}, false},
	{TypeDenyInstallTimeExecution, kindDenyScripts, PrecedenceDenyInstallTimeExecution, nil, false},
	{TypeDenyMalicious, kindDenyMalicious, PrecedenceDenyMalicious, []string{keyOnMissingIndex}, false},
	{TypeDenyPackages, kindDenyPackages, PrecedenceDenyPackages, []string{keyPackages}, false},
	{TypeMinAge, kindMinAge, PrecedenceMinAge, []string{keyAgeSeconds}, true},
}

// advisory reports whether the type reads Advice.
func (t *typeInfo) advisory() bool {
	return t.kind == kindDenyCVE || t.kind == kindDenyMalicious || t.kind == kindRemediation
}

func lookupType(name string) (typeInfo, bool) {
	for _, t := range types {
		if t.name == name {
			return t, true
		}
	}
	return typeInfo{}, false
}

func typeNames() []string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.name
	}
	return names
}

// verdict is what one rule says about one version.
type verdict uint8

const (
	abstain verdict = iota
	allow
	deny
)

// rule is one compiled rule of a Policy. Evaluating it does not allocate, unless an
// ecosystem's range predicate does.
type rule struct {
	name       string
	typ        typeInfo
	precedence int
	warn       bool
	// origin is "default", "patched" or "added", for the effective view.
	origin string

	// age is MinAge's window.
	age time.Duration
	// patterns is AllowPackages' or DenyPackages' list, in the order written.
	patterns []pattern
	// minSeverity is DenyIfCVE's threshold; SeverityUnknown means any advisory.
	minSeverity Severity
	// missing is what DenyIfCVE and DenyMalicious say while no advisory index has
	// loaded: deny (the default) or abstain.
	missing verdict
}

// The values of onMissingIndex.
const (
	MissingIndexDeny    = "deny"
	MissingIndexAbstain = "abstain"
)

// eval returns the rule's verdict on v and, for a package list, the index of the
// pattern that matched (-1 otherwise).
func (p *Policy) eval(r *rule, v *Version, now time.Time) (verdict, int) {
	switch r.typ.kind {
	case kindDenyCVE:
		if !v.Advice.Loaded {
			return r.missing, -1
		}
		if cveFinding(v, r.minSeverity) != nil {
			return deny, -1
		}
	case kindDenyMalicious:
		if !v.Advice.Loaded {
			return r.missing, -1
		}
		if malwareFinding(v) != nil && !p.expiringException(v, now) {
			return deny, -1
		}
	case kindRemediation:
		if v.Advice.Loaded && v.Advice.Remedy != nil {
			return allow, -1
		}
	case kindMinAge:
		if old, _ := r.oldEnough(v, now); old {
			return allow, -1
		}
	case kindDenyScripts:
		// Nil InstallScripts: nothing runs at install (always so for Go), so the rule
		// abstains rather than admits.
		if len(v.InstallScripts) > 0 {
			return deny, -1
		}
	case kindDenyDeprecated:
		if v.Deprecated != "" {
			return deny, -1
		}
	case kindAllowPackages, kindDenyPackages:
		for i := range r.patterns {
			p := &r.patterns[i]
			if p.match(v) && p.active(now) {
				if r.typ.kind == kindAllowPackages {
					return allow, i
				}
				return deny, i
			}
		}
	}
	return abstain, -1
}

// oldEnough is MinAge's arithmetic: whether v was published at least the window ago.
// When it was not, at is the instant it will be, or zero when its publish time is
// absent or later than now (such a version is never admitted by age).
func (r *rule) oldEnough(v *Version, now time.Time) (ok bool, at time.Time) {
	if v.Published.IsZero() || v.Published.After(now) {
		return false, time.Time{}
	}
	at = v.Published.Add(r.age)
	if !now.Before(at) {
		return true, time.Time{}
	}
	return false, at
}
