package policy

import (
	"strings"
	"testing"
	"time"
)

var (
	vulnHigh = Advisory{ID: "GHSA-aaaa-bbbb-cccc", Aliases: []string{"CVE-2026-0001"}, Severity: SeverityHigh}
	vulnLow  = Advisory{ID: "GHSA-low0-low0-low0", Severity: SeverityLow}
	vulnWho  = Advisory{ID: "GHSA-unkn-unkn-unkn"}
	malware  = Advisory{ID: "MAL-2026-42", Malicious: true}
)

// advised returns version() with the given advisories affecting it.
func advised(name, ver string, age time.Duration, as ...Advisory) *Version {
	v := version(name, ver, age)
	v.Advice.Affecting = as
	return v
}

func TestAdvisoryRules(t *testing.T) {
	tests := []struct {
		name        string
		doc         string
		v           *Version
		wantAllowed bool
		wantRule    string
		wantReason  []string
	}{
		{
			name: "malware is denied whatever its age", v: advised("evil", "1.0.0", 400*day, malware),
			wantRule: RuleDenyMalicious, wantReason: []string{"evil@1.0.0 is reported as malware (MAL-2026-42)", "whatever its age"},
		},
		{
			name:     "a lasting exception does not lift a malware report",
			doc:      `{"rules":{"ok":{"type":"AllowPackages","packages":["evil"]}}}`,
			v:        advised("evil", "1.0.0", 400*day, malware),
			wantRule: RuleDenyMalicious,
		},
		{
			name:     "an expiring wildcard exception does not lift it either",
			doc:      `{"rules":{"ok":{"type":"AllowPackages","packages":[{"pattern":"ev*","expires":"2027-01-01"}]}}}`,
			v:        advised("evil", "1.0.0", 400*day, malware),
			wantRule: RuleDenyMalicious,
		},
		{
			name:        "an expiring exception naming the package lifts it",
			doc:         `{"rules":{"ok":{"type":"AllowPackages","packages":[{"pattern":"evil@1.0.0","expires":"2027-01-01","reason":"false positive"}]}}}`,
			v:           advised("evil", "1.0.0", day, malware),
			wantAllowed: true, wantRule: "ok",
		},
		{
			name:     "a lapsed exception no longer lifts it",
			doc:      `{"rules":{"ok":{"type":"AllowPackages","packages":[{"pattern":"evil","expires":"2026-01-01"}]}}}`,
			v:        advised("evil", "1.0.0", 400*day, malware),
			wantRule: RuleDenyMalicious,
		},
		{
			name:     "before the index loads the default denies",
			v:        func() *Version { v := version("left-pad", "1.0.0", 400*day); v.Advice = Advice{}; return v }(),
			wantRule: RuleDenyMalicious, wantReason: []string{"advisory index has not loaded yet", "rule deny-malicious", "malware"},
		},
		{
			name:        "before the index loads an abstaining rule lets the rest decide",
			doc:         `{"rules":{"deny-malicious":{"onMissingIndex":"abstain"}}}`,
			v:           func() *Version { v := version("left-pad", "1.0.0", 400*day); v.Advice = Advice{}; return v }(),
			wantAllowed: true, wantRule: RuleMinAge,
		},
		{
			name:     "DenyIfCVE denies a vulnerable old version and names the advisory",
			doc:      `{"rules":{"cve":{"type":"DenyIfCVE"}}}`,
			v:        advised("lodash", "4.17.20", 400*day, vulnHigh),
			wantRule: "cve", wantReason: []string{"lodash@4.17.20 is affected by GHSA-aaaa-bbbb-cccc (CVE-2026-0001, high severity)", "rule cve"},
		},
		{
			name:        "below the threshold it abstains",
			doc:         `{"rules":{"cve":{"type":"DenyIfCVE","minSeverity":"high"}}}`,
			v:           advised("lodash", "4.17.20", 400*day, vulnLow),
			wantAllowed: true, wantRule: RuleMinAge,
		},
		{
			name:     "unknown severity meets every threshold",
			doc:      `{"rules":{"cve":{"type":"DenyIfCVE","minSeverity":"critical"}}}`,
			v:        advised("lodash", "4.17.20", 400*day, vulnWho),
			wantRule: "cve", wantReason: []string{"GHSA-unkn-unkn-unkn (unknown severity)", "of critical severity or above"},
		},
		{
			name:        "an exception admits a vulnerable version",
			doc:         `{"rules":{"cve":{"type":"DenyIfCVE"},"ok":{"type":"AllowPackages","packages":["lodash"]}}}`,
			v:           advised("lodash", "4.17.20", 400*day, vulnHigh),
			wantAllowed: true, wantRule: "ok",
		},
		{
			name:        "DenyIfCVE ignores malware reports (deny-malicious handles them)",
			doc:         `{"rules":{"cve":{"type":"DenyIfCVE"},"deny-malicious":null}}`,
			v:           advised("evil", "1.0.0", 400*day, malware),
			wantAllowed: true, wantRule: RuleMinAge,
		},
		{
			name:     "DenyIfCVE before the index loads",
			doc:      `{"rules":{"cve":{"type":"DenyIfCVE"},"deny-malicious":{"onMissingIndex":"abstain"}}}`,
			v:        func() *Version { v := version("left-pad", "1.0.0", 400*day); v.Advice = Advice{}; return v }(),
			wantRule: "cve", wantReason: []string{"advisory index has not loaded yet", "vulnerabilities"},
		},
		{
			name:        "warn mode only reports",
			doc:         `{"rules":{"cve":{"type":"DenyIfCVE","mode":"warn"}}}`,
			v:           advised("lodash", "4.17.20", 400*day, vulnHigh),
			wantAllowed: true, wantRule: RuleMinAge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustBuild(t, tt.doc, Options{})
			d := p.Decide(tt.v, now)
			if d.Allowed != tt.wantAllowed || d.Rule != tt.wantRule {
				t.Fatalf("Decide = allowed %v by %q (%s), want allowed %v by %q", d.Allowed, d.Rule, d.Reason(), tt.wantAllowed, tt.wantRule)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(d.Reason(), w) {
					t.Errorf("Reason() = %q, want it to contain %q", d.Reason(), w)
				}
			}
		})
	}
}

// pkg builds one package's versions in ascending order from specs "1.0.0:age:advisory ids".
type spec struct {
	ver     string
	age     time.Duration
	affects []Advisory
	scripts bool
}

func versionsOf(name string, specs ...spec) []Version {
	out := make([]Version, len(specs))
	for i, s := range specs {
		out[i] = *advised(name, s.ver, s.age, s.affects...)
		if s.scripts {
			out[i].InstallScripts = []string{"postinstall"}
		}
	}
	return out
}

func TestFastTrack(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		specs []spec
		// want is, per version, the deciding rule ("" for default-deny).
		want []string
	}{
		{
			name: "the first fix ships ahead of the quarantine, the next release waits",
			specs: []spec{
				{ver: "1.0.0", age: 400 * day, affects: []Advisory{vulnHigh}},
				{ver: "1.0.1", age: day},
				{ver: "1.0.2", age: day},
			},
			want: []string{RuleMinAge, RuleRemediationFastTrack, RuleDefaultDeny},
		},
		{
			name: "with DenyIfCVE the vulnerable version is hidden and the fix still ships",
			doc:  `{"rules":{"cve":{"type":"DenyIfCVE"}}}`,
			specs: []spec{
				{ver: "1.0.0", age: 400 * day, affects: []Advisory{vulnHigh}},
				{ver: "1.0.1", age: day},
				{ver: "1.0.2", age: day},
			},
			want: []string{"cve", RuleRemediationFastTrack, RuleDefaultDeny},
		},
		{
			name: "install scripts still win over a fast-tracked fix",
			doc:  `{"rules":{"deny-scripts":{"type":"DenyInstallTimeExecution"}}}`,
			specs: []spec{
				{ver: "1.0.0", age: 400 * day, affects: []Advisory{vulnHigh}},
				{ver: "1.0.1", age: day, scripts: true},
			},
			want: []string{RuleMinAge, "deny-scripts"},
		},
		{
			name: "no fix when no admitted version was affected",
			specs: []spec{
				{ver: "1.0.0", age: day, affects: []Advisory{vulnHigh}},
				{ver: "1.0.1", age: day},
			},
			want: []string{RuleDefaultDeny, RuleDefaultDeny},
		},
		{
			name: "the fix is the lowest unaffected version above the admitted one",
			specs: []spec{
				{ver: "1.0.0", age: 400 * day, affects: []Advisory{vulnHigh}},
				{ver: "1.0.1", age: day, affects: []Advisory{vulnHigh}},
				{ver: "1.0.2", age: day},
				{ver: "1.0.3", age: day},
			},
			want: []string{RuleMinAge, RuleDefaultDeny, RuleRemediationFastTrack, RuleDefaultDeny},
		},
		{
			name: "each affected run gets its own fix",
			specs: []spec{
				{ver: "1.0.0", age: 400 * day, affects: []Advisory{vulnHigh}},
				{ver: "1.0.1", age: day},
				{ver: "2.0.0", age: 300 * day, affects: []Advisory{vulnHigh}},
				{ver: "2.0.1", age: day},
				{ver: "2.0.2", age: day},
			},
			want: []string{RuleMinAge, RuleRemediationFastTrack, RuleMinAge, RuleRemediationFastTrack, RuleDefaultDeny},
		},
		{
			name: "a malware report is never remedied",
			doc:  `{"rules":{"deny-malicious":{"onMissingIndex":"deny","mode":"warn"}}}`,
			specs: []spec{
				{ver: "1.0.0", age: 400 * day, affects: []Advisory{malware}},
				{ver: "1.0.1", age: day},
			},
			want: []string{RuleMinAge, RuleDefaultDeny},
		},
		{
			name: "a fix that is itself vulnerable to another advisory is denied by DenyIfCVE",
			doc:  `{"rules":{"cve":{"type":"DenyIfCVE"}}}`,
			specs: []spec{
				{ver: "1.0.0", age: 400 * day, affects: []Advisory{vulnHigh}},
				{ver: "1.0.1", age: day, affects: []Advisory{vulnLow}},
			},
			want: []string{"cve", "cve"},
		},
		{
			name: "suppressed, nothing ships early",
			doc:  `{"rules":{"remediation-fast-track":null}}`,
			specs: []spec{
				{ver: "1.0.0", age: 400 * day, affects: []Advisory{vulnHigh}},
				{ver: "1.0.1", age: day},
			},
			want: []string{RuleMinAge, RuleDefaultDeny},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustBuild(t, tt.doc, Options{})
			vs := versionsOf("pkg", tt.specs...)
			p.MarkRemedies(vs, now)
			for i := range vs {
				d := p.Decide(&vs[i], now)
				if d.Rule != tt.want[i] {
					t.Errorf("Decide(%s) = %q (%s), want %q", vs[i].Version, d.Rule, d.Reason(), tt.want[i])
				}
				if d.Rule == RuleRemediationFastTrack {
					if !d.Allowed || !strings.Contains(d.Reason(), "first release that fixes GHSA-aaaa-bbbb-cccc (CVE-2026-0001), which affects pkg@") {
						t.Errorf("fast-track decision = %v, %q", d.Allowed, d.Reason())
					}
				}
			}
		})
	}
}

// TestFastTrackNeedsTheIndex: nothing is marked while the index has not loaded.
func TestFastTrackNeedsTheIndex(t *testing.T) {
	p := mustBuild(t, `{"rules":{"deny-malicious":{"onMissingIndex":"abstain"}}}`, Options{})
	vs := versionsOf("pkg", spec{ver: "1.0.0", age: 400 * day, affects: []Advisory{vulnHigh}}, spec{ver: "1.0.1", age: day})
	for i := range vs {
		vs[i].Advice.Loaded = false
	}
	vs[1].Advice.Remedy = &Remedy{Advisory: vulnHigh, Fixes: "1.0.0"} // stale, from a caller's earlier pass
	p.MarkRemedies(vs, now)
	if vs[1].Advice.Remedy != nil {
		t.Fatalf("MarkRemedies marked %s without an index", vs[1].Version)
	}
	if d := p.Decide(&vs[1], now); d.Allowed {
		t.Errorf("Decide(1.0.1) admitted by %s without an index", d.Rule)
	}
}

func TestAdvisoryRuleErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"rules":{"cve":{"type":"DenyIfCVE","minSeverity":"severe"}}}`, `rules.cve: minSeverity "severe" is not one of any, low, moderate, high, critical`},
		{`{"rules":{"cve":{"type":"DenyIfCVE","onMissingIndex":"allow"}}}`, `rules.cve: onMissingIndex "allow" is neither "deny" nor "abstain"`},
		{`{"rules":{"deny-malicious":{"minSeverity":"high"}}}`, `rules.deny-malicious: field "minSeverity" is not valid for type DenyMalicious`},
		{`{"rules":{"remediation-fast-track":{"onMissingIndex":"deny"}}}`, `rules.remediation-fast-track: field "onMissingIndex" is not valid for type AllowIfRemediatesCve`},
		{`{"rules":{"remediation-fast-track":{"mode":"warn"}}}`, `rules.remediation-fast-track: mode "warn" has no effect on a AllowIfRemediatesCve rule`},
	}
	for _, tt := range tests {
		_, errs := Build(rulesOf(t, tt.doc), Options{})
		if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), tt.want) {
			t.Errorf("Build(%s) = %v, want an error starting %q", tt.doc, errs, tt.want)
		}
	}
}
