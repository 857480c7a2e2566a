package policy

import (
	"path"
	"strings"
	"testing"
	"time"
)

var globTests = []struct {
	pat, name string
	want      bool
}{
	{"*", "left-pad", true},
	{"*", "@corp/ui", false},
	{"@*/*", "@corp/ui", true},
	{"@*/*", "left-pad", false},
	{"@corp/*", "@corp/ui", true},
	{"@corp/*", "@corp/", true},
	{"@corp/*", "@corporate/ui", false},
	{"@corp/*", "@corp/ui/x", false},
	{"eslint-plugin-*", "eslint-plugin-react", true},
	{"eslint-plugin-*", "eslint-plugin-", true},
	{"eslint-plugin-*", "eslint-config-react", false},
	{"*-utils", "lodash-utils", true},
	{"*-utils", "lodash-utilsx", false},
	{"a*b*c", "abc", true},
	{"a*b*c", "axxbyyc", true},
	{"a*b*c", "axxbyycd", false},
	{"a*b*c", "acb", false},
	{"*a*", "banana", true},
	{"**", "x", true},
	{"@*/react-*", "@types/react-dom", true},
	{"@types/*", "@types/node", true},
	{"x", "x", true},
	{"x*", "", false},
}

func TestGlobMatch(t *testing.T) {
	for _, tt := range globTests {
		if strings.Contains(tt.pat, "**") {
			continue // path.Match's "**" is "*"; the dialect's crosses "/"
		}
		if got := globMatch(tt.pat, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
	}
}

// FuzzGlobMatch compares globMatch, and compiled globs without "**", with path.Match,
// whose "*" has the same meaning (any run of characters but "/"), on patterns free of
// path.Match's other metacharacters.
func FuzzGlobMatch(f *testing.F) {
	for _, tt := range globTests {
		f.Add(tt.pat, tt.name)
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		if strings.ContainsAny(pat, `?[\`) || strings.Contains(pat, "**") {
			return // metacharacters only path.Match knows, and "**", which it reads as "*"
		}
		want, err := path.Match(pat, name)
		if err != nil {
			return
		}
		if got := globMatch(pat, name); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, path.Match says %v", pat, name, got, want)
		}
		g, err := CompileGlob(pat)
		if err != nil {
			return
		}
		if got := g.Match(name); got != want {
			t.Fatalf("CompileGlob(%q).Match(%q) = %v, path.Match says %v", pat, name, got, want)
		}
	})
}

func TestSplitPattern(t *testing.T) {
	tests := []struct {
		in, name, rng string
	}{
		{"left-pad", "left-pad", ""},
		{"left-pad@1.3.0", "left-pad", "1.3.0"},
		{"typescript@>=5.0.0", "typescript", ">=5.0.0"},
		{"typescript@>=5.0.0 <6", "typescript", ">=5.0.0 <6"},
		{"@corp/*", "@corp/*", ""},
		{"@types/*@^18", "@types/*", "^18"},
		{"@types/node@18.x || 20.x", "@types/node", "18.x || 20.x"},
		{"eslint-plugin-*@*", "eslint-plugin-*", "*"},
		{"Uppercase_OK.js", "Uppercase_OK.js", ""},
	}
	for _, tt := range tests {
		name, rng, err := splitPattern(tt.in, "")
		if err != nil || name != tt.name || rng != tt.rng {
			t.Errorf("splitPattern(%q) = %q, %q, %v, want %q, %q", tt.in, name, rng, err, tt.name, tt.rng)
		}
	}
	for _, in := range []string{"", "@", "@@", "@corp", "@corp/", "@/x", "x/y", "a b", "foo@", "foo@ ", "@a/b/c", "é", strings.Repeat("a", maxPatternLen+1)} {
		if _, _, err := splitPattern(in, ""); err == nil {
			t.Errorf("splitPattern(%q) succeeded, want an error", in)
		}
	}
}

func TestParseExpiry(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-12-31", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-12-31T18:00:00Z", time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC)},
		{"2026-12-31T18:00:00+02:00", time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseExpiry(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseExpiry(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "2026-02-30", "31/12/2026", "2026-12-31 18:00:00", "tomorrow"} {
		if _, err := parseExpiry(in); err == nil {
			t.Errorf("parseExpiry(%q) succeeded, want an error", in)
		}
	}
}

func TestCompilePatternRange(t *testing.T) {
	p, err := compilePattern(packageEntry{pattern: "@types/*@^18"}, true, &npmOptions)
	if err != nil {
		t.Fatal(err)
	}
	if p.name.shape != shapeStar || p.inRange == nil || p.name.String() != "@types/*" {
		t.Errorf("compilePattern = %+v", p)
	}
	for v, want := range map[string]bool{"18.19.3": true, "20.0.0": false} {
		if got := p.match(&Version{Name: "@types/node", Version: v}); got != want {
			t.Errorf("pattern %q matches @types/node@%s = %v, want %v", p.text, v, got, want)
		}
	}
}
