package modgate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ecluse/ecluse/internal/policy"
)

// The real policy decides Go versions from what the gate gives it.
var _ Decider = (*policy.Policy)(nil)

// TestRealPolicy runs the gate with the built-in policy (a 7-day MinAge rule and the
// SHA-256 integrity floor): the refusals the go command prints carry its reasons.
func TestRealPolicy(t *testing.T) {
	p, errs := policy.Build(nil, policy.Options{Ecosystem: "go"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	w := newWorld(t, func(o *Options) { o.Policy = p })
	ctx := context.Background()
	tests := []struct {
		name, module, version string
		kind, rule            string
		msg                   []string
	}{
		{name: "old", module: "example.com/lib", version: "v1.1.0", kind: okay},
		{name: "young", module: "example.com/lib", version: "v1.2.0", kind: refused, rule: "min-age",
			msg: []string{"Écluse refused example.com/lib@v1.2.0: ", "was published", "rule min-age", "(this one in 6 days)"}},
		{name: "young pseudo-version", module: "example.com/youngpseudo", version: youngPseudo, kind: refused, rule: "min-age",
			msg: []string{"was published"}},
		{name: "pseudo-version whose .info is backdated", module: "example.com/backdated", version: youngPseudo, kind: refused, rule: "min-age",
			msg: []string{"was published"}},
		{name: "no checksum record", module: "example.com/nosum", version: "v1.0.0", kind: refused, rule: policy.RuleIntegrityFloor,
			msg: []string{"the checksum database " + testDBName + " has no record of it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.gate.Info(ctx, tt.module, tt.version, cred(""))
			checkErr(t, "Info("+tt.module+"@"+tt.version+")", err, tt.kind, "")
			var ref *RefusedError
			if !errors.As(err, &ref) {
				return
			}
			if ref.Rule != tt.rule && !(tt.rule == "min-age" && ref.Rule == policy.RuleDefaultDeny) {
				t.Errorf("refusal rule = %q, want %q", ref.Rule, tt.rule)
			}
			for _, m := range tt.msg {
				if !strings.Contains(ref.Message, m) {
					t.Errorf("refusal = %q, want it to contain %q", ref.Message, m)
				}
			}
		})
	}
	doc, err := w.gate.List(ctx, "example.com/nosum", cred(""))
	if err != nil || string(doc.Body) != "v1.1.0\n" {
		t.Errorf("List(nosum) = %q, %v, want only the version the database vouches for", doc.Body, err)
	}
}
