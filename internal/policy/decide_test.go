package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// decideCase is one row of the decision tables.
type decideCase struct {
	name    string
	v       *Version
	allowed bool
	rule    string
	// reason is the exact reason, or when it ends in "…" a prefix of it.
	reason  string
	admitAt time.Time
	warned  []string
}

func runDecide(t *testing.T, p *Policy, tests []decideCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.v, now)
			if d.Allowed != tt.allowed || d.Rule != tt.rule {
				t.Errorf("Decide(%s@%s) = allowed %v by %q, want allowed %v by %q (reason: %s)",
					tt.v.Name, tt.v.Version, d.Allowed, d.Rule, tt.allowed, tt.rule, d.Reason())
			}
			if !d.AdmitAt.Equal(tt.admitAt) {
				t.Errorf("Decide(%s@%s).AdmitAt = %v, want %v", tt.v.Name, tt.v.Version, d.AdmitAt, tt.admitAt)
			}
			if !slices.Equal(d.Warned, tt.warned) {
				t.Errorf("Decide(%s@%s).Warned = %q, want %q", tt.v.Name, tt.v.Version, d.Warned, tt.warned)
			}
			if tt.reason != "" {
				got := d.Reason()
				if prefix, ok := strings.CutSuffix(tt.reason, "…"); ok {
					if !strings.HasPrefix(got, prefix) {
						t.Errorf("Reason() = %q, want prefix %q", got, prefix)
					}
				} else if got != tt.reason {
					t.Errorf("Reason() = %q, want %q", got, tt.reason)
				}
			}
		})
	}
}

func with(v *Version, f func(*Version)) *Version {
	f(v)
	return v
}

func TestMinAge(t *testing.T) {
	p := mustBuild(t, "", Options{})
	runDecide(t, p, []decideCase{
		{
			name: "old enough", v: version("left-pad", "1.3.0", 30*day), allowed: true, rule: "min-age",
			reason: "left-pad@1.3.0 was published 30 days ago; rule min-age admits versions older than 7 days",
		},
		{name: "exactly the window", v: version("left-pad", "1.3.0", 7*day), allowed: true, rule: "min-age"},
		{
			name: "too young", v: version("left-pad", "1.3.0", 2*day), rule: RuleDefaultDeny,
			admitAt: now.Add(5 * day),
			reason:  "left-pad@1.3.0 was published 2 days ago; rule min-age admits versions older than 7 days (this one in 5 days)",
		},
		{
			name: "one second short", v: version("left-pad", "1.3.0", 7*day-time.Second), rule: RuleDefaultDeny,
			admitAt: now.Add(time.Second),
			reason:  "left-pad@1.3.0 was published 6 days ago; rule min-age admits versions older than 7 days (this one in 1 minute)",
		},
		{
			name: "hours", v: version("a", "1.0.0", 5*time.Hour), rule: RuleDefaultDeny, admitAt: now.Add(7*day - 5*time.Hour),
			reason: "a@1.0.0 was published 5 hours ago; rule min-age admits versions older than 7 days (this one in 7 days)",
		},
		{
			name: "just published", v: version("a", "1.0.0", 10*time.Second), rule: RuleDefaultDeny, admitAt: now.Add(7*day - 10*time.Second),
			reason: "a@1.0.0 was published less than a minute ago; rule min-age admits versions older than 7 days (this one in 7 days)",
		},
		{
			name: "no publish time", v: with(version("a", "1.0.0", 0), func(v *Version) { v.Published = time.Time{} }),
			rule:   RuleDefaultDeny,
			reason: "a@1.0.0 has no usable publish time, so rule min-age cannot vouch for its age; no rule admits it",
		},
		{
			name: "publish time in the future", v: version("a", "1.0.0", -30*day), rule: RuleDefaultDeny,
			reason: "a@1.0.0 claims a publish time in the future (2026-07-15T12:00:00Z), so rule min-age cannot vouch for its age; no rule admits it",
		},
	})
}

func TestMinAgeWindowWording(t *testing.T) {
	p := mustBuild(t, `{"rules":{"min-age":{"ageSeconds":5400}}}`, Options{})
	d := p.Decide(version("a", "1.0.0", time.Hour), now)
	want := "a@1.0.0 was published 60 minutes ago; rule min-age admits versions older than 90 minutes (this one in 30 minutes)"
	if got := d.Reason(); got != want {
		t.Errorf("Reason() = %q, want %q", got, want)
	}
}

// TestSuppressMinAge: with the only admitting rule switched off, deny-by-default
// refuses everything, however old.
func TestSuppressMinAge(t *testing.T) {
	p := mustBuild(t, `{"rules":{"min-age":null}}`, Options{})
	runDecide(t, p, []decideCase{
		{
			name: "ancient", v: version("left-pad", "1.3.0", 3000*day), rule: RuleDefaultDeny,
			reason: "left-pad@1.3.0: no rule admits it, and the policy denies by default",
		},
		{name: "young", v: version("left-pad", "1.3.1", time.Hour), rule: RuleDefaultDeny},
	})
}

func TestDenyInstallTimeExecution(t *testing.T) {
	p := mustBuild(t, `{"rules":{"min-age":{"ageSeconds":1209600},"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200}}}`, Options{})
	old := 30 * day
	runDecide(t, p, []decideCase{
		{name: "clean and old", v: version("foo", "1.0.0", old), allowed: true, rule: "min-age"},
		{
			name: "postinstall", rule: "deny-scripts",
			v:      with(version("foo", "1.0.0", old), func(v *Version) { v.InstallScripts = []string{"postinstall"} }),
			reason: "foo@1.0.0 declares a postinstall script; rule deny-scripts denies install-time execution",
		},
		{
			name: "three scripts", rule: "deny-scripts",
			v:      with(version("foo", "1.0.0", old), func(v *Version) { v.InstallScripts = []string{"preinstall", "install", "postinstall"} }),
			reason: "foo@1.0.0 declares preinstall, install and postinstall scripts; rule deny-scripts denies install-time execution",
		},
		{
			name: "a summary says how it runs code", rule: "deny-scripts",
			v: with(version("foo", "1.0.0", old), func(v *Version) {
				v.InstallScripts, v.InstallSummary = []string{"binding.gyp"}, "builds a native addon at install time (binding.gyp)"
			}),
			reason: "foo@1.0.0 builds a native addon at install time (binding.gyp); rule deny-scripts denies install-time execution",
		},
		{
			name: "an empty list runs nothing", allowed: true, rule: "min-age",
			v: with(version("foo", "1.0.0", old), func(v *Version) { v.InstallScripts = []string{} }),
		},
		{
			name: "a summary without scripts runs nothing", allowed: true, rule: "min-age",
			v: with(version("foo", "1.0.0", old), func(v *Version) { v.InstallSummary = "would say something" }),
		},
		{
			name: "young with a script is denied by the script rule, with no admission time", rule: "deny-scripts",
			v: with(version("foo", "1.0.0", day), func(v *Version) { v.InstallScripts = []string{"install"} }),
		},
		{name: "young and clean waits for min-age", v: version("foo", "1.0.0", day), rule: RuleDefaultDeny, admitAt: now.Add(13 * day)},
	})
}

func TestDenyDeprecated(t *testing.T) {
	p := mustBuild(t, `{"rules":{"old":{"type":"DenyDeprecated"}}}`, Options{})
	runDecide(t, p, []decideCase{
		{
			name: "deprecated", rule: "old",
			v: with(version("request", "2.88.2", 300*day), func(v *Version) {
				v.Deprecated = "request has been deprecated,\nsee https://example.invalid/issue"
			}),
			reason: `request@2.88.2 is deprecated ("request has been deprecated, see https://example.invalid/issue"); rule old denies deprecated versions`,
		},
		{
			name: "long message is clipped", rule: "old",
			v:      with(version("x", "1.0.0", 300*day), func(v *Version) { v.Deprecated = strings.Repeat("é", 200) }),
			reason: `x@1.0.0 is deprecated ("` + strings.Repeat("é", 80) + `…"); rule old denies deprecated versions`,
		},
		{name: "not deprecated", v: version("x", "1.0.0", 300*day), allowed: true, rule: "min-age"},
	})
}

func TestPackageLists(t *testing.T) {
	p := mustBuild(t, `{"rules":{
		"exceptions":{"type":"AllowPackages","packages":[
			"left-pad",
			{"pattern":"@corp/*","reason":"our own scope"},
			"eslint-plugin-*",
			"typescript@>=5.0.0",
			{"pattern":"@types/*@^18","reason":"node 18 typings","expires":"2026-12-31"},
			{"pattern":"lapsed","expires":"2026-06-01"},
			{"pattern":"lapses-now","expires":"2026-06-15T12:00:00Z"},
			{"pattern":"lapses-later","expires":"2026-06-15T12:00:01Z"}]},
		"blocked":{"type":"DenyPackages","packages":["event-stream@3.3.6",{"pattern":"@corp/leaked","reason":"withdrawn"}]}}}`, Options{})
	young := time.Hour
	runDecide(t, p, []decideCase{
		{
			name: "exact name admitted while young", v: version("left-pad", "1.3.0", young), allowed: true, rule: "exceptions",
			reason: `left-pad@1.3.0 is admitted by rule exceptions (pattern "left-pad")`,
		},
		{name: "exact name is exact", v: version("left-pad2", "1.3.0", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{
			name: "scope", v: version("@corp/ui", "0.1.0", young), allowed: true, rule: "exceptions",
			reason: `@corp/ui@0.1.0 is admitted by rule exceptions (pattern "@corp/*", reason: our own scope)`,
		},
		{name: "other scope", v: version("@corporate/ui", "0.1.0", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{name: "glob", v: version("eslint-plugin-react", "7.0.0", young), allowed: true, rule: "exceptions"},
		{name: "glob needs its prefix", v: version("eslint-config-x", "7.0.0", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{name: "glob does not cross a scope", v: version("@x/eslint-plugin-y", "7.0.0", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{name: "range matches", v: version("typescript", "5.4.2", young), allowed: true, rule: "exceptions"},
		{name: "range excludes", v: version("typescript", "4.9.5", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{name: "range excludes prereleases", v: version("typescript", "5.5.0-beta", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{name: "non-semver version never matches a range", v: version("typescript", "5.4", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{
			name: "scoped glob with range", v: version("@types/node", "18.19.3", young), allowed: true, rule: "exceptions",
			reason: `@types/node@18.19.3 is admitted by rule exceptions (pattern "@types/*@^18", reason: node 18 typings, expires 2026-12-31)`,
		},
		{name: "scoped glob outside range", v: version("@types/node", "20.0.0", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{name: "expired entry no longer applies", v: version("lapsed", "1.0.0", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{name: "entry lapses at its instant", v: version("lapses-now", "1.0.0", young), rule: RuleDefaultDeny, admitAt: now.Add(7*day - young)},
		{name: "entry before its instant", v: version("lapses-later", "1.0.0", young), allowed: true, rule: "exceptions"},
		{
			name: "deny list beats the age rule", v: version("event-stream", "3.3.6", 3000*day), rule: "blocked",
			reason: `event-stream@3.3.6 is on the deny list of rule blocked (pattern "event-stream@3.3.6")`,
		},
		{name: "deny list range is exact", v: version("event-stream", "3.3.5", 3000*day), allowed: true, rule: "min-age"},
		{
			name: "deny list beats an exception", v: version("@corp/leaked", "1.0.0", young), rule: "blocked",
			reason: `@corp/leaked@1.0.0 is on the deny list of rule blocked (pattern "@corp/leaked", reason: withdrawn)`,
		},
	})
}

func TestPrecedence(t *testing.T) {
	t.Run("deny wins a tie", func(t *testing.T) {
		p := mustBuild(t, `{"rules":{
			"allow-x":{"type":"AllowPackages","precedence":300,"packages":["x"]},
			"deny-x":{"type":"DenyPackages","precedence":300,"packages":["x"]}}}`, Options{})
		runDecide(t, p, []decideCase{{
			name: "tie", v: version("x", "1.0.0", 30*day), rule: "deny-x",
			reason: `x@1.0.0 is on the deny list of rule deny-x (pattern "x"); rule allow-x would admit it, but at equal precedence (300) a denial wins`,
		}})
	})
	t.Run("deny wins a tie with the age rule", func(t *testing.T) {
		p := mustBuild(t, `{"rules":{"old":{"type":"DenyDeprecated","precedence":100}}}`, Options{})
		runDecide(t, p, []decideCase{{
			name: "tie", rule: "old",
			v:      with(version("x", "1.0.0", 30*day), func(v *Version) { v.Deprecated = "no" }),
			reason: `x@1.0.0 is deprecated ("no"); rule old denies deprecated versions; rule min-age would admit it, but at equal precedence (100) a denial wins`,
		}})
	})
	t.Run("higher admission beats lower denial", func(t *testing.T) {
		p := mustBuild(t, `{"rules":{"deny-x":{"type":"DenyPackages","precedence":50,"packages":["x"]}}}`, Options{})
		runDecide(t, p, []decideCase{
			{name: "old x", v: version("x", "1.0.0", 30*day), allowed: true, rule: "min-age"},
			{name: "young x is refused by the deny rule, not by default", v: version("x", "1.0.0", day), rule: "deny-x"},
		})
	})
	t.Run("two admissions at one level, first by name", func(t *testing.T) {
		p := mustBuild(t, `{"rules":{
			"b":{"type":"AllowPackages","packages":["x"]},
			"a":{"type":"AllowPackages","packages":["x*"]}}}`, Options{})
		runDecide(t, p, []decideCase{{name: "x", v: version("x", "1.0.0", day), allowed: true, rule: "a"}})
	})
	t.Run("abstaining higher levels fall through", func(t *testing.T) {
		p := mustBuild(t, `{"rules":{
			"deny-y":{"type":"DenyPackages","packages":["y"]},
			"allow-z":{"type":"AllowPackages","packages":["z"]},
			"deny-scripts":{"type":"DenyInstallTimeExecution"}}}`, Options{})
		runDecide(t, p, []decideCase{{name: "x", v: version("x", "1.0.0", 30*day), allowed: true, rule: "min-age"}})
	})
	t.Run("default precedences order the types", func(t *testing.T) {
		if !(PrecedenceMinAge < PrecedenceDenyDeprecated && PrecedenceDenyDeprecated < PrecedenceDenyInstallTimeExecution &&
			PrecedenceDenyInstallTimeExecution < PrecedenceAllowPackages && PrecedenceAllowPackages < PrecedenceDenyPackages) {
			t.Error("default precedences are out of their documented order")
		}
	})
	t.Run("an exception beats deny-scripts at default precedences", func(t *testing.T) {
		p := mustBuild(t, `{"rules":{
			"deny-scripts":{"type":"DenyInstallTimeExecution"},
			"native":{"type":"AllowPackages","packages":["esbuild"]}}}`, Options{})
		runDecide(t, p, []decideCase{
			{name: "esbuild", v: with(version("esbuild", "0.20.0", day), func(v *Version) { v.InstallScripts = []string{"postinstall"} }), allowed: true, rule: "native"},
			{name: "other", v: with(version("other", "1.0.0", 30*day), func(v *Version) { v.InstallScripts = []string{"postinstall"} }), rule: "deny-scripts"},
		})
	})
}

func TestWarnMode(t *testing.T) {
	p := mustBuild(t, `{"rules":{
		"deny-scripts":{"type":"DenyInstallTimeExecution","mode":"warn"},
		"deprecated":{"type":"DenyDeprecated","mode":"warn","precedence":50},
		"trial-block":{"type":"DenyPackages","mode":"warn","packages":["x"]},
		"exceptions":{"type":"AllowPackages","packages":["native"]}}}`, Options{})
	scripts := func(v *Version) { v.InstallScripts = []string{"postinstall"} }
	runDecide(t, p, []decideCase{
		{name: "clean", v: version("a", "1.0.0", 30*day), allowed: true, rule: "min-age"},
		{name: "scripts warned, still admitted", v: with(version("a", "1.0.0", 30*day), scripts), allowed: true, rule: "min-age", warned: []string{"deny-scripts"}},
		{
			name: "two warnings in evaluation order", v: with(version("x", "1.0.0", 30*day), scripts),
			allowed: true, rule: "min-age", warned: []string{"trial-block", "deny-scripts"},
		},
		{
			name: "a warn rule below the deciding precedence could not have mattered",
			v:    with(version("a", "1.0.0", 30*day), func(v *Version) { v.Deprecated = "old" }), allowed: true, rule: "min-age",
		},
		{
			name: "a warn rule under an exception that outranks it",
			v:    with(version("native", "1.0.0", day), scripts), allowed: true, rule: "exceptions",
		},
		{
			name: "default deny records every warn rule that would deny", rule: RuleDefaultDeny, admitAt: now.Add(6 * day),
			v:      with(version("a", "1.0.0", day), func(v *Version) { v.Deprecated = "old"; scripts(v) }),
			warned: []string{"deny-scripts", "deprecated"},
		},
	})

	d := p.Decide(with(version("x", "1.0.0", 30*day), scripts), now)
	want := []string{
		`warn-mode x@1.0.0 is on the deny list of rule trial-block (pattern "x")`,
		`warn-mode x@1.0.0 declares a postinstall script; rule deny-scripts denies install-time execution`,
	}
	if got := d.Warnings(); !slices.Equal(got, want) {
		t.Errorf("Warnings() = %q, want %q", got, want)
	}
	if got := p.Decide(version("a", "1.0.0", 30*day), now).Warnings(); got != nil {
		t.Errorf("Warnings() with none = %q, want nil", got)
	}
}

func TestIntegrityFloor(t *testing.T) {
	// An exception for everything, at the highest precedence, still cannot lift the floor.
	p := mustBuild(t, `{"rules":{"everything":{"type":"AllowPackages","precedence":1000000,"packages":["*","@*/*"]}}}`, Options{})
	set := func(integrity, shasum string) func(*Version) {
		return func(v *Version) { v.Digests = sriDigests(integrity, shasum) }
	}
	runDecide(t, p, []decideCase{
		{name: "sha512", v: version("bar", "2.0.0", day), allowed: true, rule: "everything"},
		{name: "sha256", v: with(version("bar", "2.0.0", day), set(sha256Integrity, "")), allowed: true, rule: "everything"},
		{
			name: "only a sha1 shasum", v: with(version("bar", "2.0.0", 3000*day), set("", "0123456789abcdef0123456789abcdef01234567")),
			rule:   RuleIntegrityFloor,
			reason: "bar@2.0.0 has no sha256-or-stronger integrity digest (only a legacy sha1 shasum); a public version below the integrity floor is never served",
		},
		{
			name: "sha1 in integrity", v: with(version("bar", "2.0.0", 3000*day), set(sha1Integrity, "abc")),
			rule: RuleIntegrityFloor, reason: "bar@2.0.0 has no sha256-or-stronger integrity digest (only sha1)…",
		},
		{
			name: "nothing at all", v: with(version("bar", "2.0.0", 3000*day), set("", "")),
			rule: RuleIntegrityFloor, reason: "bar@2.0.0 has no sha256-or-stronger integrity digest (it carries no digest at all)…",
		},
		{
			name: "malformed sha512", v: with(version("bar", "2.0.0", 3000*day), set("sha512-tooShort==", "")),
			rule: RuleIntegrityFloor, reason: "bar@2.0.0 has no sha256-or-stronger integrity digest (its sha512 digest is malformed)…",
		},
		{
			name: "garbage", v: with(version("bar", "2.0.0", 3000*day), set("%%%\x00", "")),
			rule: RuleIntegrityFloor, reason: "bar@2.0.0 has no sha256-or-stronger integrity digest (its integrity field is malformed)…",
		},
		{
			name: "floor comes before scripts", v: with(version("bar", "2.0.0", 3000*day), func(v *Version) { v.Digests = nil; v.InstallScripts = []string{"install"} }),
			rule: RuleIntegrityFloor,
		},
		{
			name: "a legacy field of another name", v: with(version("bar", "2.0.0", 3000*day), func(v *Version) { v.Digests = []Digest{{Algorithm: "md5", Value: "x", Legacy: "md5sum"}} }),
			rule: RuleIntegrityFloor, reason: "bar@2.0.0 has no sha256-or-stronger integrity digest (only a legacy md5 md5sum)…",
		},
		{
			name: "a strong digest in a legacy field counts", v: with(version("bar", "2.0.0", day), func(v *Version) {
				v.Digests = []Digest{{Algorithm: "sha256", Value: sha256Integrity[len("sha256-"):], Legacy: "checksum"}}
			}),
			allowed: true, rule: "everything",
		},
		{
			name: "an empty value never satisfies", v: with(version("bar", "2.0.0", 3000*day), func(v *Version) { v.Digests = []Digest{{Algorithm: "sha512"}} }),
			rule: RuleIntegrityFloor, reason: "bar@2.0.0 has no sha256-or-stronger integrity digest (its sha512 digest is malformed)…",
		},
		{
			name: "hex is not the floor's spelling", v: with(version("bar", "2.0.0", 3000*day), func(v *Version) {
				v.Digests = []Digest{{Algorithm: "sha256", Value: strings.Repeat("ab", 32)}}
			}),
			rule: RuleIntegrityFloor,
		},
		{
			name: "upper-case names are not known", v: with(version("bar", "2.0.0", 3000*day), func(v *Version) {
				v.Digests = []Digest{{Algorithm: "SHA512", Value: sha512Integrity[len("sha512-"):]}}
			}),
			rule: RuleIntegrityFloor, reason: "bar@2.0.0 has no sha256-or-stronger integrity digest (only SHA512)…",
		},
	})

	strict := mustBuild(t, "", Options{MinIntegrity: "sha512"})
	runDecide(t, strict, []decideCase{
		{
			name: "sha256 under a sha512 floor", v: with(version("bar", "2.0.0", 30*day), set(sha256Integrity, "")),
			rule: RuleIntegrityFloor, reason: "bar@2.0.0 has no sha512 or blake2b integrity digest (its strongest is sha256)…",
		},
		{name: "sha512 under a sha512 floor", v: version("bar", "2.0.0", 30*day), allowed: true, rule: "min-age"},
	})
	b2 := mustBuild(t, "", Options{MinIntegrity: "blake2b"})
	runDecide(t, b2, []decideCase{
		{name: "sha512 satisfies a blake2b floor", v: version("bar", "2.0.0", 30*day), allowed: true, rule: "min-age"},
	})
}

func TestFloorCheck(t *testing.T) {
	p := mustBuild(t, "", Options{MinIntegrity: "sha384"})
	tests := []struct {
		in        string
		ok        bool
		strongest string
	}{
		{"", false, ""},
		{sha1Integrity, false, ""},
		{sha256Integrity, false, "sha256"},
		{sha512Integrity, true, "sha512"},
		{sha256Integrity + " " + sha512Integrity, true, "sha512"},
		{"sha512-broken", false, ""},
	}
	for _, tt := range tests {
		ok, strongest := p.FloorCheck(sriDigests(tt.in, ""))
		if ok != tt.ok || strongest != tt.strongest {
			t.Errorf("FloorCheck(%q) = %v, %q, want %v, %q", tt.in, ok, strongest, tt.ok, tt.strongest)
		}
	}
}

func TestZeroDecision(t *testing.T) {
	var d Decision
	if d.Allowed || d.Reason() != "no decision was made" || d.Warnings() != nil {
		t.Errorf("zero Decision = %+v, %q", d, d.Reason())
	}
}

// benchPolicy is the default policy plus three extra rules, as in the benchmarks.
const benchDoc = `{"rules":{
	"deny-scripts":{"type":"DenyInstallTimeExecution"},
	"exceptions":{"type":"AllowPackages","packages":["@corp/*","left-pad","typescript@>=5.0.0",{"pattern":"eslint-plugin-*","expires":"2030-01-01"}]},
	"blocked":{"type":"DenyPackages","packages":["event-stream@3.3.6","flatmap-stream","@evil/*"]}}}`

// TestDecideAllocs asserts the hot path's promise: deciding an admitted version, and
// running rules that abstain, allocates nothing.
func TestDecideAllocs(t *testing.T) {
	p := mustBuild(t, benchDoc, Options{})
	tests := []struct {
		name string
		v    *Version
	}{
		{"admitted by age, every other rule abstaining", version("react", "18.2.0", 30*day)},
		{"admitted by an exception", version("@corp/ui", "1.0.0", day)},
		{"refused by default, every rule abstaining", version("react", "18.3.0", day)},
		{"refused by a deny list", version("flatmap-stream", "0.1.1", 30*day)},
		{"refused by the floor", with(version("react", "0.1.0", 30*day), func(v *Version) { v.Digests = nil })},
		{"admitted by a ranged exception", version("typescript", "5.4.2", day)},
		{"refused by a ranged deny entry", version("event-stream", "3.3.6", 30*day)},
	}
	for _, tt := range tests {
		var d Decision
		n := testing.AllocsPerRun(200, func() { d = p.Decide(tt.v, now) })
		if n != 0 {
			t.Errorf("%s: Decide allocates %v times per call (%s), want 0", tt.name, n, d.Reason())
		}
	}
}

// TestDecideConcurrent runs decisions from several goroutines at once (meaningful under
// -race): a Policy is read-only after Build.
func TestDecideConcurrent(t *testing.T) {
	p := mustBuild(t, benchDoc, Options{})
	vs := syntheticVersions(600)
	want := make([]Decision, len(vs))
	for i := range vs {
		want[i] = p.Decide(&vs[i], now)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range vs {
				d := p.Decide(&vs[i], now)
				if d.Allowed != want[i].Allowed || d.Rule != want[i].Rule || d.Reason() != want[i].Reason() {
					errs <- fmt.Sprintf("version %d: concurrent decision %q differs from %q", i, d.Reason(), want[i].Reason())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestDescribeIntegrityBounded(t *testing.T) {
	var b strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&b, "a%d-x ", i)
	}
	if got := describeIntegrity(sriDigests(b.String(), "")); len(got) > 80 {
		t.Errorf("describeIntegrity over 10,000 algorithm names = %d bytes, want a short reason", len(got))
	}
}
