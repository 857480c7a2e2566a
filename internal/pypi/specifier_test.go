package pypi

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

type rangeTest struct {
	version, spec string
	want          bool
}

// specifierTests hold PEP 440's own examples for every operator, then a wider
// table of matches and refusals.
var specifierTests = []rangeTest{
	// ~=: the PEP's equivalences, checked at their edges.
	{"2.2", "~=2.2", true},
	{"2.9.9", "~=2.2", true},
	{"3.0", "~=2.2", false},
	{"2.1", "~=2.2", false},
	{"1.4.5", "~=1.4.5", true},
	{"1.4.99", "~=1.4.5", true},
	{"1.5.0", "~=1.4.5", false},
	{"2.2.post3", "~=2.2.post3", true},
	{"2.2.post2", "~=2.2.post3", false},
	{"2.9", "~=2.2.post3", true},
	{"3.0", "~=2.2.post3", false},
	{"1.4.5a4", "~=1.4.5a4", true},
	{"1.4.5a3", "~=1.4.5a4", false},
	{"1.4.6", "~=1.4.5a4", true},
	{"1.5.0", "~=1.4.5a4", false},
	{"2.2.0", "~=2.2.0", true},
	{"2.2.9", "~=2.2.0", true},
	{"2.3", "~=2.2.0", false},
	{"1.4.5.0", "~= 1.4.5.0", true},
	{"1.4.5.9", "~= 1.4.5.0", true},
	{"1.4.6", "~= 1.4.5.0", false},
	// ==, for 1.1.post1, 1.1a1 and 1.1 as the PEP shows.
	{"1.1.post1", "== 1.1", false},
	{"1.1.post1", "== 1.1.post1", true},
	{"1.1.post1", "== 1.1.*", true},
	{"1.1a1", "== 1.1", false},
	{"1.1a1", "== 1.1a1", true},
	{"1.1a1", "== 1.1.*", true},
	{"1.1", "== 1.1", true},
	{"1.1", "== 1.1.0", true},
	{"1.1", "== 1.1.dev1", false},
	{"1.1", "== 1.1a1", false},
	{"1.1", "== 1.1.post1", false},
	{"1.1", "== 1.1.*", true},
	// !=, the same versions.
	{"1.1.post1", "!= 1.1", true},
	{"1.1.post1", "!= 1.1.post1", false},
	{"1.1.post1", "!= 1.1.*", false},
	// Exclusive ordered comparisons.
	{"1.7.1", ">1.7", true},
	{"1.7.0.post1", ">1.7", false},
	{"1.7.1", ">1.7.post2", true},
	{"1.7.post3", ">1.7.post2", true},
	{"1.7.0", ">1.7.post2", false},
	{"3.1.dev0", "<3.1", false},
	{"3.0.dev0", "<3.1", true},
	{"3.1a1", "<3.1", false},
	{"3.1a1", "<3.1rc1", true},
	{"1.7+local", ">1.7", false},
	// Inclusive ordered comparisons.
	{"2.0", ">=2", true},
	{"2.0.post1", ">=2", true},
	{"2.0rc1", ">=2", false},
	{"2.0+local", "<=2", true},
	{"2.0.post1", "<=2", false},
	// ===.
	{"1.0", "===1.0", true},
	{"1.0.0", "===1.0", false},
	{"1.0A1", "===1.0a1", true},
	{"1.0+downstream1", "===1.0", false},
	{"01.0", "===01.0", true},
	{"01.0", "===1.0", false},
	// Sets.
	{"1.5", ">=1.0,<2.0", true},
	{"2.0", ">=1.0,<2.0", false},
	{"1.5", " >= 1.0 , != 1.5.* , < 2 ", false},
	{"1.6", " >= 1.0 , != 1.5.* , < 2 ", true},
	{"1.6", ">=1.0,", true},
	{"1.6", "*", true},
	{"1.6+local", "*", true},
	// Versions that do not parse match nothing.
	{"not a version", "==1.0", false},
	{"not a version", "!=1.0", false},
	{"not a version", "!=1.*", false},
	{"not a version", ">=1.0", false},
	{"not a version", "<1.0", false},
	{"not a version", "~=1.0", false},
	{"not a version", "*", false},
	{"invalid", "===invalid", false},
	{"", ">=0", false},
}

// packagingTests are the cases of the reference Python implementation's
// specifier suite, with pre-releases admitted.
var packagingTests = func() []rangeTest {
	yes := [][2]string{
		{"2.0", "==2"}, {"2.0", "==2.0"}, {"2.0", "==2.0.0"}, {"2.0+deadbeef", "==2"},
		{"2.0+deadbeef", "==2.0"}, {"2.0+deadbeef", "==2.0.0"}, {"2.0+deadbeef", "==2+deadbeef"},
		{"2.0+deadbeef", "==2.0+deadbeef"}, {"2.0+deadbeef", "==2.0.0+deadbeef"},
		{"2.0+deadbeef.0", "==2.0.0+deadbeef.00"},
		{"2.dev1", "==2.*"}, {"2a1", "==2.*"}, {"2a1.post1", "==2.*"}, {"2b1", "==2.*"},
		{"2b1.dev1", "==2.*"}, {"2c1", "==2.*"}, {"2c1.post1.dev1", "==2.*"},
		{"2c1.post1.dev1", "==2.0.*"}, {"2rc1", "==2.*"}, {"2rc1", "==2.0.*"}, {"2", "==2.*"},
		{"2", "==2.0.*"}, {"2", "==2.0.0.*"}, {"2", "==0!2.*"}, {"0!2", "==2.*"}, {"2.0", "==2.*"},
		{"2.0.0", "==2.*"}, {"2.0.0.0", "==2.0.*"}, {"2.1+local.version", "==2.1.*"},
		{"2.1", "!=2"}, {"2.1", "!=2.0"}, {"2.0.1", "!=2"}, {"2.0.1", "!=2.0"}, {"2.0.1", "!=2.0.0"},
		{"2.0", "!=2.0+deadbeef"},
		{"2.0", "!=3.*"}, {"2.1", "!=2.0.*"}, {"3", "!=2.0.0.*"}, {"2.1.0.0", "!=2.0.*"},
		{"2.0", ">=2"}, {"2.0", ">=2.0"}, {"2.0", ">=2.0.0"}, {"2.0.post1", ">=2"},
		{"2.0.post1.dev1", ">=2"}, {"3", ">=2"}, {"3.0.0a8", ">=3.0.0a7"},
		{"2.0", "<=2"}, {"2.0", "<=2.0"}, {"2.0", "<=2.0.0"}, {"2.0.dev1", "<=2"}, {"2.0a1", "<=2"},
		{"2.0a1.dev1", "<=2"}, {"2.0b1", "<=2"}, {"2.0b1.post1", "<=2"}, {"2.0c1", "<=2"},
		{"2.0c1.post1.dev1", "<=2"}, {"2.0rc1", "<=2"}, {"1", "<=2"}, {"3.0.0a7", "<=3.0.0a8"},
		{"3", ">2"}, {"2.1", ">2.0"}, {"2.0.1", ">2"}, {"2.1.post1", ">2"}, {"2.1+local.version", ">2"},
		{"3.0.0a8", ">3.0.0a7"},
		{"1", "<2"}, {"2.0", "<2.1"}, {"2.0.dev0", "<2.1"}, {"3.0.0a7", "<3.0.0a8"},
		{"1", "~=1.0"}, {"1.0.1", "~=1.0"}, {"1.1", "~=1.0"}, {"1.9999999", "~=1.0"}, {"1.1", "~=1.0a1"},
		{"2022.01.01", "~=2022.01.01"},
		{"2!1.0", "~=2!1.0"}, {"2!1.0", "==2!1.*"}, {"2!1.0", "==2!1.0"}, {"2!1.0", "!=1.0"},
		{"2!1.0.0", "==2!1.0.0.0.*"}, {"2!1.0.0", "==2!1.0.*"}, {"2!1.0.0", "==2!1.*"},
		{"1.0", "!=2!1.0"}, {"1.0", "<=2!0.1"}, {"2!1.0", ">=2.0"}, {"1.0", "<2!0.1"}, {"2!1.0", ">2.0"},
		{"2.0.5", ">2.0dev"},
		{"1.0+local", ">1.0.dev1"}, {"4.1.0a2.dev1235+local", ">4.1.0a2.dev1234"},
		{"1.0a2+local", ">1.0a1"}, {"1.0b2+local", ">1.0b1"}, {"1.0rc2+local", ">1.0rc1"},
		{"1.0.post2+local", ">1.0.post1"}, {"1.0.dev2+local", ">1.0.dev1"},
		{"1.0a1.dev2+local", ">1.0a1.dev1"}, {"1.0.post1.dev2+local", ">1.0.post1.dev1"},
		{"1.0.dev2", ">1.0.dev1"}, {"1.0.post0", ">1.0.dev1"}, {"1.0.post0", ">1.0a1"},
		{"1.0.post0", ">1.0rc1"}, {"1.0a2.post0", ">1.0a1"}, {"1.0", ">1.0.dev1"}, {"1.0a1", ">1.0.dev1"},
		{"2.0.post0", ">1.0"}, {"1.1.post0", ">1.0.dev1"},
		{"1.0.dev0", "<1.0.post1"}, {"1.0a1", "<1.0.post1"}, {"1.0rc1", "<1.0.post1"},
		{"1.0b1", "<1.0.post0"}, {"1.0.post0.dev0", "<1.0.post1"}, {"1.0.post1.dev0", "<1.0.post2"},
		{"1.0", "<1.0.post1"}, {"1.0.post0", "<1.0.post1"}, {"0.9", "<1.0.post1"}, {"1.0", "<1.0.post0"},
		{"2.0a1", "<2.0a2"}, {"1.0.dev1", "<=2.0"}, {"1.0a1", "<=2.0.dev1"}, {"2.0a1.dev1", "==2.0.*"},
	}
	no := [][2]string{
		{"2.1", "==2"}, {"2.1", "==2.0"}, {"2.1", "==2.0.0"}, {"2.0", "==2.0+deadbeef"},
		{"2.0", "==3.*"}, {"2.1", "==2.0.*"}, {"3", "==2.0.0.*"}, {"2.1.0.0", "==2.0.*"},
		{"2.0", "!=2"}, {"2.0", "!=2.0"}, {"2.0", "!=2.0.0"}, {"2.0+deadbeef", "!=2"},
		{"2.0+deadbeef", "!=2.0"}, {"2.0+deadbeef", "!=2.0.0"}, {"2.0+deadbeef", "!=2+deadbeef"},
		{"2.0+deadbeef", "!=2.0+deadbeef"}, {"2.0+deadbeef", "!=2.0.0+deadbeef"},
		{"2.0+deadbeef.0", "!=2.0.0+deadbeef.00"},
		{"2.dev1", "!=2.*"}, {"2a1", "!=2.*"}, {"2a1.post1", "!=2.*"}, {"2b1", "!=2.*"},
		{"2b1.dev1", "!=2.*"}, {"2c1", "!=2.*"}, {"2c1.post1.dev1", "!=2.*"},
		{"2c1.post1.dev1", "!=2.0.*"}, {"2rc1", "!=2.*"}, {"2rc1", "!=2.0.*"}, {"2", "!=2.*"},
		{"2", "!=2.0.*"}, {"2", "!=2.0.0.*"}, {"2.0", "!=2.*"}, {"2.0.0", "!=2.*"}, {"2.0.0.0", "!=2.0.*"},
		{"2.0.dev1", ">=2"}, {"2.0a1", ">=2"}, {"2.0a1.dev1", ">=2"}, {"2.0b1", ">=2"},
		{"2.0b1.post1", ">=2"}, {"2.0c1", ">=2"}, {"2.0c1.post1.dev1", ">=2"}, {"2.0rc1", ">=2"}, {"1", ">=2"},
		{"2.0.post1", "<=2"}, {"2.0.post1.dev1", "<=2"}, {"3", "<=2"},
		{"1", ">2"}, {"2.0.dev1", ">2"}, {"2.0a1", ">2"}, {"2.0a1.post1", ">2"}, {"2.0b1", ">2"},
		{"2.0b1.dev1", ">2"}, {"2.0c1", ">2"}, {"2.0c1.post1.dev1", ">2"}, {"2.0rc1", ">2"}, {"2.0", ">2"},
		{"2.0.post1", ">2"}, {"2.0.post1.dev1", ">2"}, {"2.0+local.version", ">2"},
		{"4.1.0a2.dev1234+local", ">4.1.0a2.dev1234"},
		{"1.0a1+local", ">1.0a1"}, {"1.0b1+local", ">1.0b1"}, {"1.0rc1+local", ">1.0rc1"},
		{"1.0.post1+local", ">1.0.post1"}, {"1.0.dev1+local", ">1.0.dev1"},
		{"1.0a1.dev1+local", ">1.0a1.dev1"}, {"1.0.post1.dev1+local", ">1.0.post1.dev1"},
		{"2.0.dev1", "<2"}, {"2.0a1", "<2"}, {"2.0a1.post1", "<2"}, {"2.0b1", "<2"}, {"2.0b2.dev1", "<2"},
		{"2.0c1", "<2"}, {"2.0c1.post1.dev1", "<2"}, {"2.0rc1", "<2"}, {"2.0", "<2"}, {"2.post1", "<2"},
		{"2.post1.dev1", "<2"}, {"3", "<2"},
		{"2.0", "~=1.0"}, {"1.1.0", "~=1.0.0"}, {"1.1.post1", "~=1.0.0"},
		{"1.0", "~=2!1.0"}, {"2!1.0", "~=1.0"}, {"2!1.0", "==1.0"}, {"1.0", "==2!1.0"},
		{"2!1.0", "==1.0.0.*"}, {"1.0", "==2!1.0.0.*"}, {"2!1.0", "==1.*"}, {"1.0", "==2!1.*"},
		{"2!1.0", "!=2!1.0"},
		{"1.0.dev0", ">1.0.dev1"}, {"1.0a1.post0", ">1.0a1"}, {"1.0b2.post0", ">1.0b2"},
		{"1.0rc1.post0", ">1.0rc1"}, {"1.0.post0", ">1.0"}, {"1.0.post1", ">1.0"}, {"0.9.post0", ">1.0"},
		{"0.9.post0", ">1.0.dev1"},
		{"1.0.post1.dev0", "<1.0.post1"}, {"1.0.post0.dev0", "<1.0.post0"}, {"2.0a1", "<2.0"},
	}
	var out []rangeTest
	for _, c := range yes {
		out = append(out, rangeTest{c[0], c[1], true})
	}
	for _, c := range no {
		out = append(out, rangeTest{c[0], c[1], false})
	}
	return out
}()

func TestOrderingCompileRange(t *testing.T) {
	for _, table := range [][]rangeTest{specifierTests, packagingTests} {
		for _, tt := range table {
			in, err := Ordering{}.CompileRange(tt.spec)
			if err != nil {
				t.Errorf("CompileRange(%q) = %v", tt.spec, err)
				continue
			}
			if got := in(tt.version); got != tt.want {
				t.Errorf("CompileRange(%q)(%q) = %v, want %v", tt.spec, tt.version, got, tt.want)
			}
		}
	}
}

func TestOrderingCompileRangeRejects(t *testing.T) {
	for _, spec := range []string{
		"", " ", ",", " , ",
		"2.0", "=>2.0", "==", "=2.0", "~2.0", "^2.0", ">=x", ">= 1.0 and < 2",
		"~=1.0+5", ">=1.0+deadbeef", "<=1.0+abc123", ">1.0+watwat", "<1.0+1.0",
		"~=1.0.*", ">=1.0.*", "<=1.0.*", ">1.0.*", "<1.0.*",
		"==1.0.*+5", "!=1.0.*+deadbeef",
		"==2.0a1.*", "!=2.0a1.*", "==2.0.post1.*", "!=2.0.post1.*", "==2.0.dev1.*", "!=2.0.dev1.*",
		"==1.0+5.*", "!=1.0+deadbeef.*", "==1.0.*.5", "==1.0 .*", "==*",
		"~=1", "~=1a1",
		"==1.2+\u0130",
		"===", "=== ", "===a b", "===a;b",
		">=1.0,<<2",
		strings.Repeat(">=1.0,", 200),
	} {
		_, err := Ordering{}.CompileRange(spec)
		if err == nil {
			t.Errorf("CompileRange(%q) = nil error, want one", spec)
			continue
		}
		if !errors.Is(err, ErrInvalidSpecifier) {
			t.Errorf("CompileRange(%q) = %v, not an ErrInvalidSpecifier", spec, err)
		}
	}
}

func TestOrderingCompileRangeErrorText(t *testing.T) {
	tests := []struct{ spec, want string }{
		{">=x", `invalid PEP 440 specifier ">=x": "x" is not a PEP 440 version: no release number at byte 0`},
		{">=1.0, 2.0", `invalid PEP 440 specifier "2.0": no comparison operator (one of ~= == != <= >= < > ===)`},
		{"~=1", `invalid PEP 440 specifier "~=1": ~= needs a release of at least two numbers, such as ~=1.2`},
		{">1.0.*", `invalid PEP 440 specifier ">1.0.*": a prefix match (.*) is only allowed with == and !=`},
		{"<1+local", `invalid PEP 440 specifier "<1+local": a local version label (+...) is only allowed with == and !=`},
	}
	for _, tt := range tests {
		_, err := Ordering{}.CompileRange(tt.spec)
		if err == nil || err.Error() != tt.want {
			t.Errorf("CompileRange(%q) = %v, want %s", tt.spec, err, tt.want)
		}
	}
}

func TestOrderingPredicateConcurrentAndAllocationFree(t *testing.T) {
	in, err := Ordering{}.CompileRange("~=1.4.5a4, !=1.4.7.*, >1.4.5a4, <=1.4.9, ==1.4.*")
	if err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() { in("1.4.6") }); allocs != 0 {
		t.Errorf("the predicate allocates %v times, want 0", allocs)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if !in("1.4.6") || in("1.4.7.1") || in("1.5") {
					t.Error("the predicate answered wrongly under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()
}
