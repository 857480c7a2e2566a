package policy

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestBuildDefault(t *testing.T) {
	p, errs := Build(nil, Options{})
	if len(errs) > 0 {
		t.Fatalf("Build(nil) = %v, want no errors", errs)
	}
	e := p.Effective(now)
	want := []EffectiveRule{
		{Name: "deny-malicious", Type: TypeDenyMalicious, Precedence: PrecedenceDenyMalicious, Mode: ModeEnforce, Origin: "default", OnMissingIndex: MissingIndexDeny},
		{Name: "remediation-fast-track", Type: TypeAllowIfRemediatesCve, Precedence: PrecedenceAllowIfRemediatesCve, Mode: ModeEnforce, Origin: "default"},
		{Name: "min-age", Type: TypeMinAge, Precedence: PrecedenceMinAge, Mode: ModeEnforce, Origin: "default", AgeSeconds: 604800},
	}
	if !reflect.DeepEqual(e.Rules, want) {
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
	e.Rules = withoutAdvisoryDefaults(e.Rules)
	if e.Rules[0].Name != "deny-scripts" || e.Rules[0].Precedence != 200 || e.Rules[0].Origin != "added" {
		t.Errorf("first rule = %+v, want deny-scripts at 200, added", e.Rules[0])
	}
	if e.Rules[1].Name != "min-age" || e.Rules[1].AgeSeconds != 1209600 || e.Rules[1].Origin != "patched" {
		t.Errorf("second rule = %+v, want min-age patched to 1209600s", e.Rules[1])
	}
}

// withoutAdvisoryDefaults drops the built-in advisory rules (deny-malicious and
// remediation-fast-track) when untouched, for tables written about the other rules.
func withoutAdvisoryDefaults(rules []EffectiveRule) []EffectiveRule {
	var out []EffectiveRule
	for _, r := range rules {
		if r.Origin == "default" && (r.Name == RuleDenyMalicious || r.Name == RuleRemediationFastTrack) {
			continue
		}
		out = append(out, r)
	}
	return out
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
			e.Rules = withoutAdvisoryDefaults(e.Rules)
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

// TestBuildRawRules covers what the rules map may be as a whole: absent, null or empty
// all mean the defaults, and surrounding space does not matter.
func TestBuildRawRules(t *testing.T) {
	for _, raw := range []string{"", "null", " null ", "{}", " {} \n"} {
		p, errs := Build(json.RawMessage(raw), Options{})
		if len(errs) > 0 {
			t.Errorf("Build(%q) = %v", raw, errs)
			continue
		}
		if e := p.Effective(now); len(e.Rules) != 3 || e.Rules[0].Origin != "default" || e.Rules[1].Origin != "default" || e.Rules[2].Origin != "default" {
			t.Errorf("Build(%q).Effective().Rules = %+v, want the defaults", raw, e.Rules)
		}
	}
}

// TestBuildPath: errors are reported under Options.Path, "rules" when it is empty.
func TestBuildPath(t *testing.T) {
	raw := json.RawMessage(`{"min-age":{"ageSeconds":0},"x":{"type":"Nope"}}`)
	_, errs := Build(raw, Options{Path: "policies.strict.rules"})
	want := []string{
		"policies.strict.rules.min-age: ageSeconds must be a positive number of seconds, got 0",
		`policies.strict.rules.x: unknown rule type "Nope"`,
	}
	if len(errs) != len(want) {
		t.Fatalf("Build = %q, want %d errors", errs, len(want))
	}
	for i := range want {
		var pe *Error
		if !strings.HasPrefix(errs[i].Error(), want[i]) || !errors.As(errs[i], &pe) || !strings.HasPrefix(pe.Path, "policies.strict.rules.") {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], want[i])
		}
	}
	_, errs = Build(json.RawMessage(`[]`), Options{Path: "policies.strict.rules"})
	if len(errs) != 1 || errs[0].Error() != "policies.strict.rules: expected an object of rules, got JSON array" {
		t.Errorf("Build([]) = %q", errs)
	}
}

// TestDecodeErrors covers the strict decoding of the rules map: unknown keys and wrong
// JSON types, each reported under its rule, every rule decoded even after one failed.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		want  []string
		kind  error
	}{
		{"not an object", `"min-age"`, []string{"rules: expected an object of rules, got JSON string"}, ErrInvalid},
		{"not JSON", `{"min-age":`, []string{"rules: invalid JSON"}, ErrInvalid},
		{"trailing data", `{} {}`, []string{"rules: invalid JSON"}, ErrInvalid},
		{"unknown key", `{"min-age":{"agSeconds":5}}`, []string{`rules.min-age: unknown key "agSeconds"`}, ErrUnknownField},
		{"two unknown keys and two rules", `{"a":{"x":1,"y":2},"b":{"packages":[{"reason":"r"}]}}`, []string{
			`rules.a: unknown key "x"`, `rules.a: unknown key "y"`, `rules.b: packages[0]: package entry object needs a non-empty "pattern"`,
		}, nil},
		{"rule not an object", `{"min-age":7}`, []string{"rules.min-age: expected a rule object (or null to suppress a built-in rule), got JSON number"}, ErrInvalid},
		{"wrong type for ageSeconds", `{"min-age":{"ageSeconds":"week"}}`, []string{"rules.min-age: ageSeconds: expected int64, got JSON string"}, ErrInvalid},
		{"fractional ageSeconds", `{"min-age":{"ageSeconds":1.5}}`, []string{"rules.min-age: ageSeconds: expected int64, got JSON number 1.5"}, ErrInvalid},
		{"wrong type for type", `{"x":{"type":5}}`, []string{"rules.x: type: expected string, got JSON number"}, ErrInvalid},
		{"wrong type for precedence", `{"min-age":{"precedence":"high"}}`, []string{"rules.min-age: precedence: expected int, got JSON string"}, ErrInvalid},
		{"wrong type for mode", `{"min-age":{"mode":true}}`, []string{"rules.min-age: mode: expected string, got JSON bool"}, ErrInvalid},
		{"packages not an array", `{"a":{"type":"AllowPackages","packages":"left-pad"}}`, []string{"rules.a: packages: expected an array of patterns, got JSON string"}, ErrInvalid},
		{"package entry of the wrong kind", `{"a":{"type":"AllowPackages","packages":["ok",5,null]}}`, []string{
			`rules.a: packages[1]: a package entry is a pattern string or an object {"pattern", "reason", "expires"}, not JSON number`,
			`rules.a: packages[2]: a package entry is a pattern string or an object {"pattern", "reason", "expires"}, not JSON null`,
		}, ErrInvalid},
		{"package entry with an unknown key", `{"a":{"type":"AllowPackages","packages":[{"pattern":"a","why":"?"}]}}`, []string{
			`rules.a: packages[0]: unknown key "why" (valid: pattern, reason, expires)`,
		}, ErrInvalid},
		{"package entry field of the wrong type", `{"a":{"type":"AllowPackages","packages":[{"pattern":"a","expires":20261231}]}}`, []string{
			`rules.a: packages[0]: expires: expected string, got JSON number`,
		}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, errs := Build(json.RawMessage(tt.rules), Options{})
			if p != nil || len(errs) != len(tt.want) {
				t.Fatalf("Build(%s) = %v, %q; want %d errors %q", tt.rules, p, errs, len(tt.want), tt.want)
			}
			for i, err := range errs {
				if !strings.HasPrefix(err.Error(), tt.want[i]) {
					t.Errorf("Build(%s) error %d = %q, want prefix %q", tt.rules, i, err, tt.want[i])
				}
				if tt.kind != nil && !errors.Is(err, tt.kind) {
					t.Errorf("errors.Is(%q, %v) = false", err, tt.kind)
				}
			}
		})
	}
}

// TestDecodeWritten checks that a key written as null counts as written: merging reads
// "the document set this", not "the document set this to a non-zero value".
func TestDecodeWritten(t *testing.T) {
	specs, errs := decodeRules(json.RawMessage(`{"min-age":{"type":null,"mode":null,"precedence":3},"off":null}`), "rules")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s := specs["min-age"]
	if s == nil || !s.written[keyType] || !s.written[keyMode] || !s.written[keyPrecedence] || s.written[keyAgeSeconds] || *s.precedence != 3 {
		t.Errorf("decoded min-age = %+v", s)
	}
	if v, ok := specs["off"]; !ok || v != nil {
		t.Errorf("rules.off = %v, %v; want present and nil (suppress)", v, ok)
	}
}

// TestRangeNeedsOrdering: without an Ordering, a range is an error with its path, and
// a pattern without one is fine.
func TestRangeNeedsOrdering(t *testing.T) {
	raw := json.RawMessage(`{"a":{"type":"AllowPackages","packages":["left-pad","typescript@>=5"]}}`)
	_, errs := Build(raw, Options{Ecosystem: "go"})
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), `rules.a: packages[1]: malformed pattern "typescript@>=5": version range ">=5": this ecosystem has no version ordering`) {
		t.Errorf("Build without an ordering = %q", errs)
	}
	if _, errs := Build(json.RawMessage(`{"a":{"type":"AllowPackages","packages":["left-pad"]}}`), Options{}); len(errs) > 0 {
		t.Errorf("Build without an ordering or a range = %q", errs)
	}
}

// TestGoPatterns: outside npm, a pattern's name part is held to the glob dialect alone,
// so module paths with "/" and "**" are patterns.
func TestGoPatterns(t *testing.T) {
	p, errs := Build(json.RawMessage(`{"ours":{"type":"AllowPackages","packages":["corp.example.com/**","example.com/x/*"]}}`),
		Options{Ecosystem: "go"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for name, want := range map[string]bool{
		"corp.example.com/a": true, "corp.example.com/a/b/c": true, "corp.example.com": true, "corp.example.community/x": false,
		"example.com/x/y": true, "example.com/x/y/z": false, "other.example.com/a": false,
	} {
		v := version(name, "v1.0.0", time.Hour)
		if got := p.Decide(v, now).Allowed; got != want {
			t.Errorf("Decide(%s) allowed = %v, want %v", name, got, want)
		}
	}
	_, errs = Build(json.RawMessage(`{"ours":{"type":"AllowPackages","packages":["corp example.com/**"]}}`), Options{Ecosystem: "go"})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "a space is not allowed") {
		t.Errorf("Build with a space = %q", errs)
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
			want: []string{`rules.x: unknown rule type "DenyEverything" (one of AllowIfRemediatesCve, AllowPackages, DenyDeprecated, DenyIfCVE, DenyInstallTimeExecution, DenyMalicious, DenyPackages, MinAge)`},
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
			want: []string{`rules.nope: null suppresses a built-in rule, and there is no built-in rule named "nope" (built-in: deny-malicious, min-age, remediation-fast-track)`},
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
			var rules json.RawMessage
			if tt.doc != "" {
				rules = rulesOf(t, tt.doc)
			}
			tt.opts.Ordering = npm.Semver{}
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
	rules := rulesOf(t, `{"rules":{
		"min-age":{"ageSeconds":-5,"packages":["x"],"mode":"loud"},
		"x":{"type":"Nope"},
		"y":{"type":"DenyPackages","packages":["ok","bad pattern"]}}}`)
	_, errs := Build(rules, Options{MinIntegrity: "sha1", Ordering: npm.Semver{}})
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
