package policy

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// dialectTests are the dialect's own cases, "**" included.
var dialectTests = []struct {
	pat, name string
	want      bool
}{
	{"@corp/*", "@corp/ui", true},
	{"@corp/*", "@corp/ui/x", false},
	{"@corp/**", "@corp/ui/x", true},
	{"corp.example.com/**", "corp.example.com/mod", true},
	{"corp.example.com/**", "corp.example.com/a/b/c", true},
	{"corp.example.com/**", "corp.example.com", true},
	{"corp.example.com/**", "corp.example.comx", false},
	{"*/**", "anything", false},
	{"corp.example.com/**", "corp.example.com.evil/x", false},
	{"corp.example.com**", "corp.example.com.evil/x", true},
	{"**", "", true},
	{"**", "a/b", true},
	{"*", "a/b", false},
	{"***", "a/b", true},
	{"a/**/b", "a/b", false},
	{"a/**/b", "a//b", true},
	{"a/**/b", "a/x/y/b", true},
	{"a/**/b", "a/x/y/c", false},
	{"**/v2", "example.com/x/v2", true},
	{"**/v2", "example.com/x/v3", false},
	{"a**b*c", "a/x/byc", true},
	{"a**b*c", "a/b/x/bc", true},
	{"a**b*c", "a/x/b/yc", false},
	{"a**b*c", "a/xb/y/d", false},
	{"*/**/*-go", "example.com/a/b/x-go", true},
	{"*/**/*-go", "example.com/x-go", false},
	{"example.com/*/**", "example.com/x", false},
	{"example.com/*/**", "example.com/x/", true},
	{"left-pad", "left-pad", true},
	{"left-pad", "Left-pad", false},
	{"é*", "éa", true},
}

func TestCompileGlob(t *testing.T) {
	for _, tt := range dialectTests {
		g, err := CompileGlob(tt.pat)
		if err != nil {
			t.Fatalf("CompileGlob(%q) = %v", tt.pat, err)
		}
		if got := g.Match(tt.name); got != tt.want {
			t.Errorf("CompileGlob(%q).Match(%q) = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
		if got := globReference(tt.pat).MatchString(tt.name); got != tt.want {
			t.Errorf("reference %q on %q = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
	}
	for _, tt := range globTests {
		g, err := CompileGlob(tt.pat)
		if err != nil {
			t.Fatalf("CompileGlob(%q) = %v", tt.pat, err)
		}
		want := tt.want
		if tt.pat == "**" {
			want = true
		}
		if got := g.Match(tt.name); got != want {
			t.Errorf("CompileGlob(%q).Match(%q) = %v, want %v", tt.pat, tt.name, got, want)
		}
	}
	for _, bad := range []string{"", "a b", "a\tb", "a\x00", "a\x7f", "\xff", "a\u00a0b", "a\u2028", strings.Repeat("a", maxGlobLen+1)} {
		if _, err := CompileGlob(bad); err == nil || !errors.Is(err, errPattern) {
			t.Errorf("CompileGlob(%q) = %v, want a malformed-pattern error", bad, err)
		}
	}
	var zero Glob
	if zero.Match("") || zero.Match("x") {
		t.Error("the zero Glob matches")
	}
}

func TestNames(t *testing.T) {
	n, err := CompileNames([]string{"@corp/*", "corp-*", "exact"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"@corp/ui": true, "corp-x": true, "exact": true, "exactly": false, "@other/ui": false} {
		if got := n.Match(name); got != want {
			t.Errorf("Names.Match(%q) = %v, want %v", name, got, want)
		}
	}
	fold, _ := CompileNames([]string{"@Corp/*", "left-pad"})
	for name, want := range map[string]bool{"@corp/ui": true, "@CORP/UI": true, "Left-Pad": true, "@corp/ui/x": false, "left-pads": false} {
		if got := fold.MatchFold(name); got != want {
			t.Errorf("Names.MatchFold(%q) = %v, want %v", name, got, want)
		}
	}
	if fold.Match("@corp/ui") || !fold.Match("@Corp/ui") {
		t.Error("Names.Match ignores case")
	}
	var none *Names
	if none.Match("x") || none.MatchFold("x") || none.Len() != 0 {
		t.Error("a nil *Names matches")
	}
	if empty, err := CompileNames(nil); err != nil || empty.Match("x") {
		t.Errorf("CompileNames(nil) = %v, %v", empty, err)
	}
	_, err = CompileNames([]string{"ok", "@corp/*", "bad name"})
	var ne *NameError
	if !errors.As(err, &ne) || ne.Index != 2 || !errors.Is(err, errPattern) || !strings.HasPrefix(err.Error(), `[2]: malformed pattern "bad name"`) {
		t.Errorf("CompileNames with a bad entry = %v", err)
	}
}

func TestGlobMatchAllocs(t *testing.T) {
	var globs []Glob
	for _, p := range []string{"left-pad", "@corp/*", "corp/**", "@*/react-*", "a/**/b*c", "x**y**z"} {
		g, err := CompileGlob(p)
		if err != nil {
			t.Fatal(err)
		}
		globs = append(globs, g)
	}
	names, _ := CompileNames([]string{"@corp/*", "corp-*", "a/**/b"})
	n := testing.AllocsPerRun(100, func() {
		for i := range globs {
			_ = globs[i].Match("a/x/y/bzc")
			_ = globs[i].Match("@types/react-dom")
		}
		_ = names.Match("a/q/b")
		_ = names.MatchFold("a/q/b")
	})
	if n != 0 {
		t.Errorf("Match allocates %v times, want 0", n)
	}
}

// globReference is the dialect as a regular expression: the slow, obvious reading.
func globReference(pat string) *regexp.Regexp {
	// A trailing "/**" after a base that does not end in a star also matches the base.
	if base, ok := strings.CutSuffix(pat, "/**"); ok && base != "" && !strings.HasSuffix(base, "*") {
		return regexp.MustCompile(`^(?:` + globBody(base) + `|` + globBody(pat) + `)$`)
	}
	return regexp.MustCompile(`^` + globBody(pat) + `$`)
}

// globBody is the regular expression of pat's plain reading, unanchored.
func globBody(pat string) string {
	var b strings.Builder
	for i := 0; i < len(pat); {
		if pat[i] != '*' {
			j := strings.IndexByte(pat[i:], '*')
			if j < 0 {
				j = len(pat) - i
			}
			b.WriteString(regexp.QuoteMeta(pat[i : i+j]))
			i += j
			continue
		}
		j := i
		for j < len(pat) && pat[j] == '*' {
			j++
		}
		if j-i > 1 {
			b.WriteString(`(?s:.*)`)
		} else {
			b.WriteString(`[^/]*`)
		}
		i = j
	}
	return b.String()
}

// FuzzCompileGlob holds every compiled glob to the regular-expression reading of the
// dialect, and CompileGlob's refusals to what the dialect refuses.
func FuzzCompileGlob(f *testing.F) {
	for _, tt := range dialectTests {
		f.Add(tt.pat, tt.name)
	}
	for _, tt := range globTests {
		f.Add(tt.pat, tt.name)
	}
	f.Add("a*a*a*a*a*a*a**b", strings.Repeat("a", 64))
	f.Fuzz(func(t *testing.T, pat, name string) {
		g, err := CompileGlob(pat)
		if err != nil {
			if !errors.Is(err, errPattern) {
				t.Fatalf("CompileGlob(%q) error %v is not a malformed-pattern error", pat, err)
			}
			if pat != "" && len(pat) <= maxGlobLen && !strings.ContainsFunc(pat, func(r rune) bool { return r <= ' ' || r == 0x7f || r > 0x7e }) {
				t.Fatalf("CompileGlob(%q) refused a printable ASCII pattern: %v", pat, err)
			}
			return
		}
		if g.String() != pat {
			t.Fatalf("CompileGlob(%q).String() = %q", pat, g.String())
		}
		if !utf8.ValidString(name) {
			return // the reference's regexp reads runes
		}
		if got, want := g.Match(name), globReference(pat).MatchString(name); got != want {
			t.Fatalf("CompileGlob(%q).Match(%q) = %v, reference says %v", pat, name, got, want)
		}
	})
}
