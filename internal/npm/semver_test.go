package npm

import (
	"testing"

	"github.com/Masterminds/semver/v3"
)

var rangeSeeds = []string{
	">=5.0.0", ">=5.0.0 <6", "^18", "^1.2.3", "^0.2.3", "^0.0.3", "^0.0", "^0", "^1.x", "^*",
	"~1.2.3", "~1.2", "~1", "~0", "~>1.2", "~*", "1.2.3 - 2.3.4", "1 - 2", ">=1 <2 || ^3",
	"18.x", "1.x.x", "*", "x", "!=1.2.3", "!=1.2", "!=1", "!=1.2.3-beta", "<=1.2", "<=1", "<=1.2.3",
	">1.x", ">1.2", ">1", ">1.2.3", "<1.2", "<1.2.3-beta.2", "1.2.3-beta.1", "=1.2.3", "=>1", "=<2",
	"v1.2.3", ">=1.2.3-alpha", "^1.2.3-rc.1", "~1.2.3-0", ">=1.0.0+build.5", "1.2", "1", "1.2-beta",
	">= 1.2, < 2", "^1.2.3 || ~2.0 || 3.x", ">=0.0.0", "<0.0.1",
}

var versionSeeds = []string{
	"0.0.0", "0.0.3", "0.0.4", "0.1.0", "0.2.3", "0.2.9", "0.3.0", "1.0.0", "1.2.2", "1.2.3", "1.2.4",
	"1.3.0", "1.9.9", "2.0.0", "2.3.4", "2.3.5", "3.0.0", "3.1.0", "5.0.0", "5.9.9", "6.0.0", "18.0.0",
	"18.19.3", "19.0.0", "1.2.3-beta", "1.2.3-beta.1", "1.2.3-beta.2", "1.2.3-beta.11", "1.2.3-alpha",
	"1.2.3-rc.1", "1.2.3-0", "1.2.3-1", "1.2.3-x.7.z.92", "1.2.3+build.5", "5.5.0-dev.20240301",
	"1.2.3-99999999999999999999999", "18446744073709551615.0.0",
}

// TestRangeFastPath checks that the common range spellings compile to the fast form
// and agree with the library on a grid of versions.
func TestRangeFastPath(t *testing.T) {
	for _, r := range rangeSeeds {
		c, err := semver.NewConstraint(r)
		if err != nil {
			t.Fatalf("NewConstraint(%q) = %v", r, err)
		}
		f, ok := compileRange(c.String())
		if !ok {
			t.Errorf("compileRange(%q) (from %q) fell back to the library", c.String(), r)
			continue
		}
		for _, vs := range versionSeeds {
			lv, err := semver.StrictNewVersion(vs)
			if err != nil {
				t.Fatalf("StrictNewVersion(%q) = %v", vs, err)
			}
			v, ok := parseStrict(vs)
			if !ok {
				t.Fatalf("parseStrict(%q) failed", vs)
			}
			if got, want := f.check(&v), c.Check(lv); got != want {
				t.Errorf("range %q on %s: fast check = %v, library = %v", r, vs, got, want)
			}
		}
	}
}

func TestParseStrict(t *testing.T) {
	bad := []string{"", "1", "1.2", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b",
		"v1.2.3", "1.2.3.4", "1.2.x", "-1.2.3", "1.2.3-é", "18446744073709551616.0.0", " 1.2.3"}
	for _, s := range bad {
		if _, ok := parseStrict(s); ok {
			t.Errorf("parseStrict(%q) succeeded, want failure", s)
		}
	}
	for _, s := range versionSeeds {
		if _, ok := parseStrict(s); !ok {
			t.Errorf("parseStrict(%q) failed", s)
		}
	}
}

func TestRangeCheckAllocs(t *testing.T) {
	in, err := Semver{}.CompileRange(">=5.0.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"4.9.5", "5.5.0-dev.20240301", "5.1.0", "not-semver"} {
		n := testing.AllocsPerRun(100, func() { _ = in(v) })
		if n != 0 {
			t.Errorf("checking %q allocates %v times, want 0", v, n)
		}
	}
}

// TestSemverCompileRange checks the predicate end to end, through the library's
// normalisation, and that a malformed range is the library's error.
func TestSemverCompileRange(t *testing.T) {
	tests := []struct {
		rng, version string
		want         bool
	}{
		{">=5.0.0", "5.4.2", true},
		{">=5.0.0", "4.9.5", false},
		{">=5.0.0", "5.5.0-beta", false},
		{">=5.0.0", "5.4", false},
		{"^18", "18.19.3", true},
		{"^18", "20.0.0", false},
		{"3.3.6", "3.3.6", true},
		{"3.3.6", "3.3.5", false},
		{"18.x || 20.x", "20.1.0", true},
		{"1.2.3 - 2.3.4", "2.3.5", false},
		{"*", "0.0.1", true},
		{"*", "not-semver", false},
	}
	for _, tt := range tests {
		in, err := Semver{}.CompileRange(tt.rng)
		if err != nil {
			t.Errorf("CompileRange(%q) = %v", tt.rng, err)
			continue
		}
		if got := in(tt.version); got != tt.want {
			t.Errorf("CompileRange(%q)(%q) = %v, want %v", tt.rng, tt.version, got, tt.want)
		}
	}
	for _, bad := range []string{">=five", "latest", "", "1.2.3 ||| 4"} {
		if in, err := (Semver{}).CompileRange(bad); err == nil {
			t.Errorf("CompileRange(%q) = %p, nil; want an error", bad, in)
		}
	}
}

// FuzzRange holds the fast range check to the library's answers, and the allocation-free
// version parser to the library's strict one.
func FuzzRange(f *testing.F) {
	for i, r := range rangeSeeds {
		f.Add(r, versionSeeds[i%len(versionSeeds)])
	}
	f.Fuzz(func(t *testing.T, r, vs string) {
		lv, lerr := semver.StrictNewVersion(vs)
		v, ok := parseStrict(vs)
		if ok != (lerr == nil) {
			t.Fatalf("parseStrict(%q) ok = %v, library error = %v", vs, ok, lerr)
		}
		if ok && (v.major != lv.Major() || v.minor != lv.Minor() || v.patch != lv.Patch() || v.pre != lv.Prerelease()) {
			t.Fatalf("parseStrict(%q) = %+v, library %v", vs, v, lv)
		}
		c, err := semver.NewConstraint(r)
		if err != nil {
			return
		}
		in, err := Semver{}.CompileRange(r)
		if err != nil {
			t.Fatalf("CompileRange(%q) = %v, but the library accepts it", r, err)
		}
		if got, want := in(vs), ok && c.Check(lv); got != want {
			t.Fatalf("range %q (normalised %q) on %q: predicate = %v, library = %v", r, c.String(), vs, got, want)
		}
		fr, fast := compileRange(c.String())
		if !fast || !ok {
			return
		}
		if got, want := fr.check(&v), c.Check(lv); got != want {
			t.Fatalf("range %q (normalised %q) on %q: fast = %v, library = %v", r, c.String(), vs, got, want)
		}
	})
}
