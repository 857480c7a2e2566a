package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/npm"
)

// FuzzBuild feeds configuration documents through the real decoder and Build. Build must
// never panic; every error must name its path; and a policy it accepts must decide and
// explain without panicking.
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
		f.Add(doc, "")
	}
	f.Add(`{}`, "sha1")
	f.Add(`{"rules":{}}`, "blake2b")
	versions := []*npm.VersionInfo{
		version("typescript", "5.4.2", time.Hour),
		version("@types/node", "18.0.0", 30*day),
		version("x", "not-semver", 30*day),
		{Name: "@corp/ui", Version: "1.0.0", Integrity: sha1Integrity, Deprecated: "d", Gypfile: true},
	}
	f.Fuzz(func(t *testing.T, doc, floor string) {
		d, err := config.ParseDocument([]byte(doc))
		if err != nil {
			return
		}
		p, errs := Build(d.Rules, Options{MinIntegrity: floor})
		if len(errs) > 0 {
			if p != nil {
				t.Fatalf("Build returned a policy and %d errors", len(errs))
			}
			for _, err := range errs {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %q is not a *policy.Error", err)
				}
				if !strings.HasPrefix(err.Error(), "rules.") && !strings.HasPrefix(err.Error(), floorSetting+": ") {
					t.Fatalf("error %q does not start with its path", err)
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
