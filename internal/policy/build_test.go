package policy

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecluse/ecluse/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestBuildDefault(t *testing.T) {
	p, errs := Build(nil, Options{})
	if len(errs) > 0 {
		t.Fatalf("Build(nil) = %v, want no errors", errs)
	}
	e := p.Effective(now)
	want := []EffectiveRule{{Name: "min-age", Type: TypeMinAge, Precedence: PrecedenceMinAge, Mode: ModeEnforce, Origin: "default", AgeSeconds: 604800}}
	if len(e.Rules) != 1 || e.Rules[0].Name != want[0].Name || e.Rules[0].AgeSeconds != want[0].AgeSeconds ||
		e.Rules[0].Precedence != want[0].Precedence || e.Rules[0].Origin != want[0].Origin || e.Rules[0].Mode != want[0].Mode {
		t.Errorf("Build(nil).Effective().Rules = %+v, want %+v", e.Rules, want)
	}
	if e.IntegrityFloor != "sha256" {
		t.Errorf("default floor = %q, want sha256", e.IntegrityFloor)
	}
}

// TestManualExample builds the operator manual's example document and checks the
// merged policy check-config would print against a golden file.
func TestManualExample(t *testing.T) {
	const doc = `{"rules":{"min-age":{"ageSeconds":1209600},"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200}}}`
	p := mustBuild(t, doc, Options{})
	got, err := json.MarshalIndent(p.Effective(now), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manual-example.effective.json", got)

	e := p.Effective(now)
	if e.Rules[0].Name != "deny-scripts" || e.Rules[0].Precedence != 200 || e.Rules[0].Origin != "added" {
		t.Errorf("first rule = %+v, want deny-scripts at 200, added", e.Rules[0])
	}
	if e.Rules[1].Name != "min-age" || e.Rules[1].AgeSeconds != 1209600 || e.Rules[1].Origin != "patched" {
		t.Errorf("second rule = %+v, want min-age patched to 1209600s", e.Rules[1])
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file: %v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestBuildMerge(t *testing.T) {
	tests := []struct {
		name       string
		doc        string
		want       []EffectiveRule // compared on name, type, precedence, mode, origin, age, pattern count
		suppressed []string
	}{
		{
			name: "patch age keeps type and precedence",
			doc:  `{"rules":{"min-age":{"ageSeconds":3600}}}`,
			want: []EffectiveRule{{Name: "min-age", Type: TypeMinAge, Precedence: 100, Mode: ModeEnforce, Origin: "patched", AgeSeconds: 3600}},
		},
		{
			name: "patch precedence only",
			doc:  `{"rules":{"min-age":{"precedence":7}}}`,
			want: []EffectiveRule{{Name: "min-age", Type: TypeMinAge, Precedence: 7, Mode: ModeEnforce, Origin: "patched", AgeSeconds: 604800}},
		},
		{
			name: "patch with the same type",
			doc:  `{"rules":{"min-age":{"type":"MinAge","ageSeconds":60}}}`,
			want: []EffectiveRule{{Name: "min-age", Type: TypeMinAge, Precedence: 100, Mode: ModeEnforce, Origin: "patched", AgeSeconds: 60}},
		},
		{
			name: "empty patch changes nothing but the origin",
			doc:  `{"rules":{"min-age":{}}}`,
			want: []EffectiveRule{{Name: "min-age", Type: TypeMinAge, Precedence: 100, Mode: ModeEnforce, Origin: "patched", AgeSeconds: 604800}},
		},
		{
			name: "explicit enforce mode",
			doc:  `{"rules":{"min-age":{"mode":"enforce"}}}`,
			want: []EffectiveRule{{Name: "min-age", Type: TypeMinAge, Precedence: 100, Mode: ModeEnforce, Origin: "patched", AgeSeconds: 604800}},
		},
		{
			name:       "suppress",
			doc:        `{"rules":{"min-age":null}}`,
			want:       []EffectiveRule{},
			suppressed: []string{"min-age"},
		},
		{
			name:       "suppress and replace",
			doc:        `{"rules":{"min-age":null,"quarantine":{"type":"MinAge","ageSeconds":86400}}}`,
			want:       []EffectiveRule{{Name: "quarantine", Type: TypeMinAge, Precedence: 100, Mode: ModeEnforce, Origin: "added", AgeSeconds: 86400}},
			suppressed: []string{"min-age"},
		},
		{
			name: "add every type with default precedences, in evaluation order",
			doc: `{"rules":{
				"deny-scripts":{"type":"DenyInstallTimeExecution"},
				"deprecated":{"type":"DenyDeprecated","mode":"warn"},
				"exceptions":{"type":"AllowPackages","packages":["left-pad",{"pattern":"@corp/*","reason":"ours","expires":"2026-12-31"}]},
				"blocked":{"type":"DenyPackages","packages":["evil-*"]}}}`,
			want: []EffectiveRule{
				{Name: "blocked", Type: TypeDenyPackages, Precedence: 400, Mode: ModeEnforce, Origin: "added", Packages: make([]EffectivePackage, 1)},
				{Name: "exceptions", Type: TypeAllowPackages, Precedence: 300, Mode: ModeEnforce, Origin: "added", Packages: make([]EffectivePackage, 2)},
				{Name: "deny-scripts", Type: TypeDenyInstallTimeExecution, Precedence: 200, Mode: ModeEnforce, Origin: "added"},
				{Name: "deprecated", Type: TypeDenyDeprecated, Precedence: 150, Mode: ModeWarn, Origin: "added"},
				{Name: "min-age", Type: TypeMinAge, Precedence: 100, Mode: ModeEnforce, Origin: "default", AgeSeconds: 604800},
			},
		},
		{
			name: "ties ordered by name",
			doc:  `{"rules":{"b":{"type":"DenyDeprecated","precedence":100},"a":{"type":"DenyDeprecated","precedence":100}}}`,
			want: []EffectiveRule{
				{Name: "a", Type: TypeDenyDeprecated, Precedence: 100, Mode: ModeEnforce, Origin: "added"},
				{Name: "b", Type: TypeDenyDeprecated, Precedence: 100, Mode: ModeEnforce, Origin: "added"},
				{Name: "min-age", Type: TypeMinAge, Precedence: 100, Mode: ModeEnforce, Origin: "default", AgeSeconds: 604800},
			},
		},
		{
			name: "negative precedence is allowed",
			doc:  `{"rules":{"late":{"type":"DenyDeprecated","precedence":-5}}}`,
			want: []EffectiveRule{
				{Name: "min-age", Type: TypeMinAge, Precedence: 100, Mode: ModeEnforce, Origin: "default", AgeSeconds: 604800},
				{Name: "late", Type: TypeDenyDeprecated, Precedence: -5, Mode: ModeEnforce, Origin: "added"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustBuild(t, tt.doc, Options{}).Effective(now)
			if len(e.Rules) != len(tt.want) {
				t.Fatalf("Effective().Rules = %+v, want %+v", e.Rules, tt.want)
			}
			for i, got := range e.Rules {
				w := tt.want[i]
				if got.Name != w.Name || got.Type != w.Type || got.Precedence != w.Precedence || got.Mode != w.Mode ||
					got.Origin != w.Origin || got.AgeSeconds != w.AgeSeconds || len(got.Packages) != len(w.Packages) {
					t.Errorf("Effective().Rules[%d] = %+v, want %+v", i, got, w)
				}
			}
			if strings.Join(e.Suppressed, ",") != strings.Join(tt.suppressed, ",") {
				t.Errorf("Effective().Suppressed = %v, want %v", e.Suppressed, tt.suppressed)
			}
		})
	}
}

// TestBuildGoSpecs covers RuleSpecs built in Go rather than decoded, which carry no
// record of their keys: non-zero fields count as written.
func TestBuildGoSpecs(t *testing.T) {
	p, errs := Build(map[string]*config.RuleSpec{
		"min-age": {AgeSeconds: ptr(int64(60))},
		"blocked": {Type: TypeDenyPackages, Packages: []config.PackageEntry{{Pattern: "evil"}}},
	}, Options{})
	if len(errs) > 0 {
		t.Fatalf("Build = %v", errs)
	}
	e := p.Effective(now)
	if len(e.Rules) != 2 || e.Rules[1].AgeSeconds != 60 || e.Rules[0].Name != "blocked" {
		t.Errorf("Effective().Rules = %+v", e.Rules)
	}
	_, errs = Build(map[string]*config.RuleSpec{"min-age": {Packages: []config.PackageEntry{{Pattern: "x"}}}}, Options{})
	if len(errs) != 1 || !errors.Is(errs[0], ErrUnknownField) {
		t.Errorf("Build(min-age with packages) = %v, want one ErrUnknownField", errs)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		opts Options
		// want are the expected errors in order, each a prefix of the error text or, when it
		// holds "…", a prefix and a fragment.
		want []string
		kind error
	}{
		{
			name: "unknown type",
			doc:  `{"rules":{"x":{"type":"DenyEverything"}}}`,
			want: []string{`rules.x: unknown rule type "DenyEverything" (one of AllowPackages, DenyDeprecated, DenyInstallTimeExecution, DenyPackages, MinAge)`},
			kind: ErrUnknownType,
		},
		{
			name: "new rule without a type",
			doc:  `{"rules":{"x":{"precedence":5}}}`,
			want: []string{`rules.x: a new rule needs a "type"`},
			kind: ErrUnknownType,
		},
		{
			name: "new rule with an empty type",
			doc:  `{"rules":{"x":{"type":""}}}`,
			want: []string{`rules.x: a new rule needs a "type"`},
			kind: ErrUnknownType,
		},
		{
			name: "new rule as an empty object",
			doc:  `{"rules":{"x":{}}}`,
			want: []string{`rules.x: a new rule needs a "type"`},
			kind: ErrUnknownType,
		},
		{
			name: "built-in name with another type",
			doc:  `{"rules":{"min-age":{"type":"DenyPackages","packages":["x"]}}}`,
			want: []string{`rules.min-age: type "DenyPackages" differs from the built-in rule's type "MinAge"`},
			kind: ErrTypeMismatch,
		},
		{
			name: "field of another type on a patch",
			doc:  `{"rules":{"min-age":{"packages":["x"]}}}`,
			want: []string{`rules.min-age: field "packages" is not valid for type MinAge (valid: type, precedence, mode, ageSeconds)`},
			kind: ErrUnknownField,
		},
		{
			name: "field of another type on a new rule",
			doc:  `{"rules":{"old":{"type":"DenyDeprecated","ageSeconds":5}}}`,
			want: []string{`rules.old: field "ageSeconds" is not valid for type DenyDeprecated (valid: type, precedence, mode)`},
			kind: ErrUnknownField,
		},
		{
			name: "zero age",
			doc:  `{"rules":{"min-age":{"ageSeconds":0}}}`,
			want: []string{`rules.min-age: ageSeconds must be a positive number of seconds, got 0`},
			kind: ErrInvalid,
		},
		{
			name: "negative age",
			doc:  `{"rules":{"q":{"type":"MinAge","ageSeconds":-1}}}`,
			want: []string{`rules.q: ageSeconds must be a positive number of seconds, got -1`},
			kind: ErrInvalid,
		},
		{
			name: "new MinAge without an age",
			doc:  `{"rules":{"q":{"type":"MinAge"}}}`,
			want: []string{`rules.q: ageSeconds must be a positive number of seconds, got 0`},
			kind: ErrInvalid,
		},
		{
			name: "null age",
			doc:  `{"rules":{"min-age":{"ageSeconds":null}}}`,
			want: []string{`rules.min-age: ageSeconds must be a positive number of seconds, not null`},
			kind: ErrInvalid,
		},
		{
			name: "age beyond a century",
			doc:  `{"rules":{"min-age":{"ageSeconds":9223372036854775807}}}`,
			want: []string{`rules.min-age: ageSeconds 9223372036854775807 is more than a century`},
			kind: ErrInvalid,
		},
		{
			name: "null precedence",
			doc:  `{"rules":{"min-age":{"precedence":null}}}`,
			want: []string{`rules.min-age: precedence must be an integer, not null`},
			kind: ErrInvalid,
		},
		{
			name: "bad mode",
			doc:  `{"rules":{"d":{"type":"DenyDeprecated","mode":"block"}}}`,
			want: []string{`rules.d: mode "block" is neither "enforce" nor "warn"`},
			kind: ErrInvalid,
		},
		{
			name: "warn mode on an allow-only rule",
			doc:  `{"rules":{"min-age":{"mode":"warn"}}}`,
			want: []string{`rules.min-age: mode "warn" has no effect on a MinAge rule`},
			kind: ErrInvalid,
		},
		{
			name: "warn mode on AllowPackages",
			doc:  `{"rules":{"a":{"type":"AllowPackages","mode":"warn","packages":["x"]}}}`,
			want: []string{`rules.a: mode "warn" has no effect on a AllowPackages rule`},
			kind: ErrInvalid,
		},
		{
			name: "empty packages",
			doc:  `{"rules":{"a":{"type":"AllowPackages","packages":[]}}}`,
			want: []string{`rules.a: packages must list at least one pattern`},
			kind: ErrInvalid,
		},
		{
			name: "null packages",
			doc:  `{"rules":{"a":{"type":"DenyPackages","packages":null}}}`,
			want: []string{`rules.a: packages must list at least one pattern`},
			kind: ErrInvalid,
		},
		{
			name: "missing packages",
			doc:  `{"rules":{"a":{"type":"DenyPackages"}}}`,
			want: []string{`rules.a: packages must list at least one pattern`},
			kind: ErrInvalid,
		},
		{
			name: "malformed patterns, each reported",
			doc:  `{"rules":{"a":{"type":"AllowPackages","packages":["ok","", "@corp", "a b", "foo@", "@/x", "x/y"]}}}`,
			want: []string{
				`rules.a: packages[1]: malformed pattern: empty`,
				`rules.a: packages[2]: malformed pattern "@corp": a scoped pattern needs a "/"`,
				`rules.a: packages[3]: malformed pattern "a b": character ' ' is not allowed`,
				`rules.a: packages[4]: malformed pattern "foo@": nothing follows the version "@"`,
				`rules.a: packages[5]: malformed pattern "@/x": scope: empty name`,
				`rules.a: packages[6]: malformed pattern "x/y": character '/' is not allowed`,
			},
			kind: ErrInvalid,
		},
		{
			name: "bad semver range",
			doc:  `{"rules":{"a":{"type":"DenyPackages","packages":["typescript@>=five"]}}}`,
			want: []string{`rules.a: packages[0]: malformed pattern "typescript@>=five": version range ">=five"`},
			kind: ErrInvalid,
		},
		{
			name: "dist-tag is not a range",
			doc:  `{"rules":{"a":{"type":"DenyPackages","packages":["@types/node@latest"]}}}`,
			want: []string{`rules.a: packages[0]: malformed pattern "@types/node@latest": version range "latest"`},
			kind: ErrInvalid,
		},
		{
			name: "bad expires",
			doc:  `{"rules":{"a":{"type":"AllowPackages","packages":[{"pattern":"x","expires":"2026-13-45"},{"pattern":"y","expires":"soon"}]}}}`,
			want: []string{
				`rules.a: packages[0]: pattern "x": expires "2026-13-45" is neither an RFC 3339 date`,
				`rules.a: packages[1]: pattern "y": expires "soon" is neither an RFC 3339 date`,
			},
			kind: ErrInvalid,
		},
		{
			name: "expires on a deny entry",
			doc:  `{"rules":{"a":{"type":"DenyPackages","packages":[{"pattern":"x","expires":"2026-12-31"}]}}}`,
			want: []string{`rules.a: packages[0]: pattern "x": expires is only meaningful on an AllowPackages entry`},
			kind: ErrInvalid,
		},
		{
			name: "null for a rule that is not built in",
			doc:  `{"rules":{"nope":null}}`,
			want: []string{`rules.nope: null suppresses a built-in rule, and there is no built-in rule named "nope" (built-in: min-age)`},
			kind: ErrInvalid,
		},
		{
			name: "reserved name",
			doc:  `{"rules":{"default-deny":{"type":"DenyDeprecated"},"integrity-floor":null}}`,
			want: []string{
				`rules.default-deny: the name "default-deny" is reserved`,
				`rules.integrity-floor: the name "integrity-floor" is reserved`,
			},
			kind: ErrInvalid,
		},
		{
			name: "bad rule names",
			doc:  `{"rules":{"":{"type":"DenyDeprecated"},"-x":{"type":"DenyDeprecated"},"a b":{"type":"DenyDeprecated"}}}`,
			want: []string{
				`rules.: a rule name must be 1 to 64`,
				`rules.-x: a rule name must be 1 to 64`,
				`rules.a b: a rule name must be 1 to 64`,
			},
			kind: ErrInvalid,
		},
		{
			name: "weak floor sha1",
			opts: Options{MinIntegrity: "sha1"},
			want: []string{`PROXY_MIN_PUBLIC_INTEGRITY: sha1 is below the SHA-256 floor and is refused`},
			kind: ErrWeakFloor,
		},
		{
			name: "weak floor md5",
			opts: Options{MinIntegrity: "MD5"},
			want: []string{`PROXY_MIN_PUBLIC_INTEGRITY: md5 is below the SHA-256 floor and is refused`},
			kind: ErrWeakFloor,
		},
		{
			name: "unknown floor",
			opts: Options{MinIntegrity: "sha3-256"},
			want: []string{`PROXY_MIN_PUBLIC_INTEGRITY: unknown algorithm "sha3-256" (want sha256, sha384, sha512 or blake2b)`},
			kind: ErrWeakFloor,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rules map[string]*config.RuleSpec
			if tt.doc != "" {
				rules = parseRules(t, tt.doc)
			}
			p, errs := Build(rules, tt.opts)
			if p != nil {
				t.Errorf("Build(%s) returned a policy alongside errors", tt.doc)
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("Build(%s) = %d errors %q, want %d %q", tt.doc, len(errs), errs, len(tt.want), tt.want)
			}
			for i, err := range errs {
				if !strings.HasPrefix(err.Error(), tt.want[i]) {
					t.Errorf("Build(%s) error %d = %q, want prefix %q", tt.doc, i, err, tt.want[i])
				}
				if !errors.Is(err, tt.kind) {
					t.Errorf("errors.Is(%q, %v) = false", err, tt.kind)
				}
				var pe *Error
				if !errors.As(err, &pe) || pe.Path == "" {
					t.Errorf("error %q is not a *policy.Error with a path", err)
				}
			}
		})
	}
}

// TestBuildReportsEverything checks that problems in several rules, several problems in
// one rule, and a bad floor are all returned together.
func TestBuildReportsEverything(t *testing.T) {
	rules := parseRules(t, `{"rules":{
		"min-age":{"ageSeconds":-5,"packages":["x"],"mode":"loud"},
		"x":{"type":"Nope"},
		"y":{"type":"DenyPackages","packages":["ok","bad pattern"]}}}`)
	_, errs := Build(rules, Options{MinIntegrity: "sha1"})
	want := []string{
		"PROXY_MIN_PUBLIC_INTEGRITY: ",
		`rules.min-age: field "packages"`,
		`rules.min-age: mode "loud"`,
		"rules.min-age: ageSeconds",
		`rules.x: unknown rule type "Nope"`,
		`rules.y: packages[1]: malformed pattern "bad pattern"`,
	}
	if len(errs) != len(want) {
		t.Fatalf("Build = %q, want %d errors", errs, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(errs[i].Error(), want[i]) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], want[i])
		}
	}
}

func TestFloorOptions(t *testing.T) {
	for in, want := range map[string]string{"": "sha256", "sha256": "sha256", "SHA384": "sha384", " sha512 ": "sha512", "blake2b": "blake2b"} {
		p, errs := Build(nil, Options{MinIntegrity: in})
		if len(errs) > 0 {
			t.Errorf("Build(MinIntegrity=%q) = %v", in, errs)
			continue
		}
		if got := p.Floor(); got != want {
			t.Errorf("Build(MinIntegrity=%q).Floor() = %q, want %q", in, got, want)
		}
	}
}
