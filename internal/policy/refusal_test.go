package policy

import (
	"testing"
)

// A version carrying a Refusal (recorded by the gate after reading its tarball) is
// refused with it whatever the rules say, an exception included; the integrity floor
// still speaks first.
func TestDecideRefusal(t *testing.T) {
	p := mustBuild(t, `{"rules":{"allow-x":{"type":"AllowPackages","packages":["x"]}}}`, Options{})
	v := version("x", "1.0.0", 30*day)
	if d := p.Decide(v, now); !d.Allowed {
		t.Fatalf("without a refusal: %s", d.Reason())
	}
	v.Refusal = &Refusal{Rule: RuleTarballManifest, Reason: "the tarball of x@1.0.0 says it is y"}
	d := p.Decide(v, now)
	if d.Allowed || d.Rule != RuleTarballManifest || d.Reason() != v.Refusal.Reason || !d.AdmitAt.IsZero() {
		t.Errorf("Decide = allowed %v, rule %q, reason %q; want the refusal", d.Allowed, d.Rule, d.Reason())
	}
	v.Digests = nil
	if d := p.Decide(v, now); d.Rule != RuleIntegrityFloor {
		t.Errorf("without a digest: rule %q, want the integrity floor first", d.Rule)
	}
	if msg := checkRuleName(RuleTarballManifest); msg == "" {
		t.Errorf("the rule name %q is not reserved", RuleTarballManifest)
	}
}
