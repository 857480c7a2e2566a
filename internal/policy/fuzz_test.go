package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
)

// FuzzBuild feeds raw rules maps (the JSON under a document's "rules") to Build, which
// decodes them itself. Build must never panic; every error must be a *Error under its
// path (Options.Path, or the floor's setting); and a policy it accepts must decide and
// explain without panicking, for npm and for an ecosystem without an ordering.
func FuzzBuild(f *testing.F) {
	for _, doc := range []string{
		`{"rules":{"min-age":{"ageSeconds":1209600},"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200}}}`,
		`{"rules":{"min-age":null}}`,
		`{"rules":{"x":{"type":"Nope"}}}`,
		`{"rules":{"a":{"type":"AllowPackages","packages":["@types/*@^18",{"pattern":"x","reason":"r","expires":"2026-12-31"}]}}}`,
		`{"rules":{"d":{"type":"DenyPackages","mode":"warn","packages":["eslint-plugin-*","typescript@>=5.0.0 <6"]}}}`,
		`{"rules":{"o":{"type":"DenyDeprecated","precedence":-3}}}`,
		benchDoc,
		exceptionsDoc,
	} {
		var d struct{ Rules json.RawMessage }
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			f.Fatal(err)
		}
		f.Add(string(d.Rules), "", false)
		f.Add(string(d.Rules), "", true)
	}
	for _, raw := range []string{``, `null`, `{}`, `[]`, `{"min-age":`, `{"a":{"x":1},"b":{"packages":[{"reason":"r"}]}}`,
		`{"min-age":{"ageSeconds":"week"}}`, `{"a":{"type":"AllowPackages","packages":["ok",5,null,{"pattern":"a","why":1}]}}`,
		`{"go":{"type":"AllowPackages","packages":["corp.example.com/**"]}}`} {
		f.Add(raw, "", false)
	}
	f.Add(`{}`, "sha1", false)
	f.Add(`{"min-age":{"ageSeconds":60}}`, "blake2b", true)
	versions := []*Version{
		version("typescript", "5.4.2", time.Hour),
		version("@types/node", "18.0.0", 30*day),
		version("x", "not-semver", 30*day),
		version("corp.example.com/mod", "v1.2.3", 30*day),
		{Name: "@corp/ui", Version: "1.0.0", Digests: sriDigests(sha1Integrity, ""), Deprecated: "d", InstallScripts: []string{"install"}},
	}
	f.Fuzz(func(t *testing.T, rules, floor string, goMount bool) {
		opts := Options{MinIntegrity: floor, Ordering: npm.Semver{}}
		prefix := "rules"
		if goMount {
			opts = Options{MinIntegrity: floor, Ecosystem: "go", Path: "policies.go.rules"}
			prefix = opts.Path
		}
		p, errs := Build(json.RawMessage(rules), opts)
		if len(errs) > 0 {
			if p != nil {
				t.Fatalf("Build returned a policy and %d errors", len(errs))
			}
			for _, err := range errs {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %q is not a *policy.Error", err)
				}
				if !strings.HasPrefix(pe.Path, prefix) && pe.Path != floorSetting || !strings.HasPrefix(err.Error(), pe.Path+": ") || pe.Kind == nil || pe.Msg == "" {
					t.Fatalf("error %q (%#v) does not start with its path", err, pe)
				}
			}
			return
		}
		for _, v := range versions {
			dec := p.Decide(v, now)
			if dec.Rule == "" || dec.Reason() == "" {
				t.Fatalf("Decide(%s@%s) = %+v with reason %q", v.Name, v.Version, dec, dec.Reason())
			}
			if dec.Allowed && !dec.AdmitAt.IsZero() {
				t.Fatalf("an admitted version carries AdmitAt %v", dec.AdmitAt)
			}
			_ = dec.Warnings()
			if !dec.AdmitAt.IsZero() {
				if later := p.Decide(v, dec.AdmitAt); !later.Allowed {
					t.Fatalf("Decide at AdmitAt %v still refuses %s@%s: %s", dec.AdmitAt, v.Name, v.Version, later.Reason())
				}
			}
		}
		if _, err := json.Marshal(p.Effective(now)); err != nil {
			t.Fatalf("Effective does not marshal: %v", err)
		}
		p.Expiring(now, ExpiryWarningWindow)
	})
}
