package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Reason explains the decision in one sentence a developer can act on: which rule
// decided and why, with the numbers that matter. It is built on demand, so a caller
// that does not need it pays nothing.
func (d Decision) Reason() string {
	if d.policy == nil || d.v == nil {
		return "no decision was made"
	}
	v := d.v
	if d.refused && v.Refusal != nil {
		return v.Refusal.Reason
	}
	id := v.Name + "@" + v.Version
	switch d.Rule {
	case RuleIntegrityFloor:
		return fmt.Sprintf("%s has no %s integrity digest (%s); a public version below the integrity floor is never served",
			id, d.policy.floorPhrase(), describeIntegrity(v.Digests))
	case RuleDefaultDeny:
		return d.defaultDenyReason(id)
	}
	r := &d.policy.rules[d.rule]
	if d.Allowed {
		return admitReason(id, r, d.pattern, d.v, d.now)
	}
	s := denyReason(id, r, d.pattern, d.v)
	if d.overruled >= 0 {
		o := &d.policy.rules[d.overruled]
		s += fmt.Sprintf("; rule %s would admit it, but at equal precedence (%d) a denial wins", o.name, r.precedence)
	}
	return s
}

// Warnings explains each rule of Warned: what it would have denied and why. It
// re-evaluates those rules, so it is as costly as a decision; call it only to log.
func (d Decision) Warnings() []string {
	if d.policy == nil || d.v == nil || len(d.Warned) == 0 {
		return nil
	}
	out := make([]string, 0, len(d.Warned))
	for i := range d.policy.rules {
		r := &d.policy.rules[i]
		if !r.warn {
			continue
		}
		for _, name := range d.Warned {
			if name != r.name {
				continue
			}
			if verdict, pat := d.policy.eval(r, d.v, d.now); verdict == deny {
				out = append(out, "warn-mode "+denyReason(d.v.Name+"@"+d.v.Version, r, pat, d.v))
			}
		}
	}
	return out
}

func (d Decision) defaultDenyReason(id string) string {
	v := d.v
	if d.rule >= 0 {
		r := &d.policy.rules[d.rule]
		return fmt.Sprintf("%s was published %s ago; rule %s admits versions older than %s (this one in %s)",
			id, humanDuration(d.now.Sub(v.Published), false), r.name, exactDuration(r.age),
			humanDuration(d.AdmitAt.Sub(d.now), true))
	}
	for i := range d.policy.rules {
		r := &d.policy.rules[i]
		if r.typ.kind != kindMinAge || r.warn {
			continue
		}
		if v.Published.IsZero() {
			return fmt.Sprintf("%s has no usable publish time, so rule %s cannot vouch for its age; no rule admits it", id, r.name)
		}
		return fmt.Sprintf("%s claims a publish time in the future (%s), so rule %s cannot vouch for its age; no rule admits it",
			id, v.Published.UTC().Format(time.RFC3339), r.name)
	}
	return fmt.Sprintf("%s: no rule admits it, and the policy denies by default", id)
}

func admitReason(id string, r *rule, pattern int, v *Version, now time.Time) string {
	switch r.typ.kind {
	case kindMinAge:
		return fmt.Sprintf("%s was published %s ago; rule %s admits versions older than %s",
			id, humanDuration(now.Sub(v.Published), false), r.name, exactDuration(r.age))
	case kindAllowPackages:
		p := &r.patterns[pattern]
		s := fmt.Sprintf("%s is admitted by rule %s (pattern %q", id, r.name, p.text)
		if p.reason != "" {
			s += ", reason: " + clip(p.reason)
		}
		if p.expiresText != "" {
			s += ", expires " + p.expiresText
		}
		return s + ")"
	case kindRemediation:
		if rem := v.Advice.Remedy; rem != nil {
			return fmt.Sprintf("%s is the first release that fixes %s, which affects %s@%s; rule %s admits such a fix ahead of the quarantine",
				id, rem.Advisory.label(), v.Name, rem.Fixes, r.name)
		}
	}
	return fmt.Sprintf("%s is admitted by rule %s", id, r.name)
}

func denyReason(id string, r *rule, pattern int, v *Version) string {
	switch r.typ.kind {
	case kindDenyScripts:
		return fmt.Sprintf("%s %s; rule %s denies install-time execution", id, describeScripts(v), r.name)
	case kindDenyDeprecated:
		return fmt.Sprintf("%s is deprecated (%s); rule %s denies deprecated versions", id, strconv.Quote(clip(v.Deprecated)), r.name)
	case kindDenyPackages:
		p := &r.patterns[pattern]
		s := fmt.Sprintf("%s is on the deny list of rule %s (pattern %q", id, r.name, p.text)
		if p.reason != "" {
			s += ", reason: " + clip(p.reason)
		}
		return s + ")"
	case kindDenyCVE, kindDenyMalicious:
		if !v.Advice.Loaded {
			return fmt.Sprintf("the advisory index has not loaded yet, so rule %s cannot vouch that %s is free of known %s; it is denied until the index loads",
				r.name, id, map[bool]string{true: "malware", false: "vulnerabilities"}[r.typ.kind == kindDenyMalicious])
		}
		if r.typ.kind == kindDenyMalicious {
			if a := malwareFinding(v); a != nil {
				return fmt.Sprintf("%s is reported as malware (%s); rule %s denies it whatever its age", id, a.label(), r.name)
			}
			break
		}
		return fmt.Sprintf("%s is affected by %s; rule %s denies versions with known vulnerabilities%s",
			id, describeAdvisories(v, r.minSeverity), r.name, severityPhrase(r.minSeverity))
	}
	return fmt.Sprintf("%s is denied by rule %s", id, r.name)
}

// describeAdvisories lists the vulnerabilities affecting v at or above min, each with
// its severity, at most a few by name: "GHSA-x (CVE-y, high), GHSA-z (moderate) and 3
// more".
func describeAdvisories(v *Version, min Severity) string {
	const shown = 3
	var names []string
	more := 0
	for i := range v.Advice.Affecting {
		a := &v.Advice.Affecting[i]
		if a.Malicious || a.Severity != SeverityUnknown && a.Severity < min {
			continue
		}
		if len(names) == shown {
			more++
			continue
		}
		label := a.ID + " (" + a.Severity.String() + " severity)"
		if l := a.label(); l != a.ID {
			label = l[:len(l)-1] + ", " + a.Severity.String() + " severity)"
		}
		names = append(names, label)
	}
	s := strings.Join(names, ", ")
	if more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// severityPhrase completes a DenyIfCVE reason with its threshold, if it has one.
func severityPhrase(min Severity) string {
	if min == SeverityUnknown {
		return ""
	}
	return " of " + min.String() + " severity or above"
}

// describeScripts says how a version would run code at install time.
func describeScripts(v *Version) string {
	if v.InstallSummary != "" {
		return clip(v.InstallSummary)
	}
	switch n := len(v.InstallScripts); {
	case n == 1:
		return "declares a " + v.InstallScripts[0] + " script"
	case n > 1:
		return "declares " + strings.Join(v.InstallScripts[:n-1], ", ") + " and " + v.InstallScripts[n-1] + " scripts"
	}
	return "runs code at install time"
}

// clip shortens upstream- or operator-supplied prose to keep reasons one line long.
func clip(s string) string {
	const max = 160
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// humanDuration renders d in minutes below two hours, hours below two days, days above,
// rounding down, or up when roundUp is set (for "in N days", so it never promises early).
func humanDuration(d time.Duration, roundUp bool) string {
	unit, name := time.Minute, "minute"
	switch {
	case d >= 48*time.Hour:
		unit, name = 24*time.Hour, "day"
	case d >= 2*time.Hour:
		unit, name = time.Hour, "hour"
	}
	n := d / unit
	if roundUp && d%unit > 0 {
		n++
	}
	switch {
	case n < 1 && roundUp:
		n = 1
	case n < 1:
		return "less than a minute"
	}
	if n == 1 {
		return "1 " + name
	}
	return strconv.FormatInt(int64(n), 10) + " " + name + "s"
}

// exactDuration renders a configured window in the largest unit that divides it.
func exactDuration(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if d%u.unit == 0 {
			if n := d / u.unit; n != 1 {
				return strconv.FormatInt(int64(n), 10) + " " + u.name + "s"
			}
			return "1 " + u.name
		}
	}
	return d.String()
}
