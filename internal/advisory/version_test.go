package advisory

import (
	"slices"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		eco, in string
		ok      bool
		want    string // String() of the parsed version
	}{
		{EcosystemNPM, "1.2.3", true, "1.2.3"},
		{EcosystemNPM, "v1.2.3", true, "1.2.3"},
		{EcosystemNPM, "=1.2.3", true, "1.2.3"},
		{EcosystemNPM, "0.0.0", true, "0.0.0"},
		{EcosystemNPM, "1.2.3-beta.1", true, "1.2.3-beta.1"},
		{EcosystemNPM, "1.2.3-0", true, "1.2.3-0"},
		{EcosystemNPM, "1.2.3-x-y-z.--", true, "1.2.3-x-y-z.--"},
		{EcosystemNPM, "1.2.3+build.007", true, "1.2.3"},
		{EcosystemNPM, "1.2.3-rc.1+build", true, "1.2.3-rc.1"},
		{EcosystemNPM, "9007199254740991.0.0", true, "9007199254740991.0.0"},
		{EcosystemNPM, "9007199254740992.0.0", false, ""},
		{EcosystemNPM, "=v1.2.3", false, ""},
		{EcosystemNPM, "vv1.2.3", false, ""},
		{EcosystemNPM, " 1.2.3", false, ""},
		{EcosystemNPM, "1.2", false, ""},
		{EcosystemNPM, "1", false, ""},
		{EcosystemNPM, "01.2.3", false, ""},
		{EcosystemNPM, "1.02.3", false, ""},
		{EcosystemNPM, "1.2.3-01", false, ""},
		{EcosystemNPM, "1.2.3-", false, ""},
		{EcosystemNPM, "1.2.3-a..b", false, ""},
		{EcosystemNPM, "1.2.3+", false, ""},
		{EcosystemNPM, "1.2.3+a+b", false, ""},
		{EcosystemNPM, "1.2.3-é", false, ""},
		{EcosystemNPM, "1.2.3.4", false, ""},
		{EcosystemNPM, "", false, ""},
		{EcosystemNPM, "latest", false, ""},
		{EcosystemGo, "v1.2.3", true, "1.2.3"},
		{EcosystemGo, "v0.0.0-20200101000000-abcdef123456", true, "0.0.0-20200101000000-abcdef123456"},
		{EcosystemGo, "v1.2.4-0.20191109021931-daa7c04131f5", true, "1.2.4-0.20191109021931-daa7c04131f5"},
		{EcosystemGo, "v2.0.0+incompatible", true, "2.0.0"},
		{EcosystemGo, "v20200101000000.0.0", true, "20200101000000.0.0"},
		{EcosystemGo, "1.2.3", false, ""},
		{EcosystemGo, "=v1.2.3", false, ""},
		{EcosystemGo, "v1.2", false, ""},
		{EcosystemPyPI, "1.2.3", false, ""},
		{"maven", "1.2.3", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.eco+"/"+tt.in, func(t *testing.T) {
			v, ok := ParseVersion(tt.eco, tt.in)
			if ok != tt.ok {
				t.Fatalf("ParseVersion(%q, %q) ok = %v, want %v", tt.eco, tt.in, ok, tt.ok)
			}
			if ok && v.String() != tt.want {
				t.Errorf("ParseVersion(%q, %q) = %s, want %s", tt.eco, tt.in, v, tt.want)
			}
		})
	}
}

func TestParseBound(t *testing.T) {
	tests := []struct {
		eco  uint8
		in   string
		ok   bool
		want string
	}{
		{ecoNPM, "1.2.3", true, "1.2.3"},
		{ecoNPM, " v1.2.3 ", true, "1.2.3"},
		{ecoNPM, "=v1.2.3", true, "1.2.3"},
		{ecoNPM, "1.2", true, "1.2.0"},
		{ecoNPM, "1", true, "1.0.0"},
		{ecoNPM, "1.2-beta", true, "1.2.0-beta"},
		{ecoNPM, "1-rc.1+b", true, "1.0.0-rc.1"},
		{ecoNPM, "1.", false, ""},
		{ecoNPM, "1.2.", false, ""},
		{ecoNPM, "1.2x", false, ""},
		{ecoNPM, "0", true, "0.0.0"},
		{ecoGo, "1.6.0", true, "1.6.0"},
		{ecoGo, "v1.6.0", true, "1.6.0"},
		{ecoGo, "0.0.0-20200101000000-abcdef123456", true, "0.0.0-20200101000000-abcdef123456"},
		{ecoPyPI, "1.2.3", false, ""},
	}
	for _, tt := range tests {
		t.Run(ecoNames[tt.eco]+"/"+tt.in, func(t *testing.T) {
			v, ok := parseBound(tt.eco, tt.in)
			if ok != tt.ok || ok && v.String() != tt.want {
				t.Errorf("parseBound(%s, %q) = %s, %v, want %s, %v", ecoNames[tt.eco], tt.in, v, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	// SemVer 2.0's own example of precedence, then more, each lower than the next.
	ascending := []string{
		"0.0.0-0",
		"0.0.0",
		"0.0.1",
		"0.9.0",
		"0.10.0",
		"1.0.0-alpha",
		"1.0.0-alpha.1",
		"1.0.0-alpha.beta",
		"1.0.0-beta",
		"1.0.0-beta.2",
		"1.0.0-beta.11",
		"1.0.0-rc.1",
		"1.0.0",
		"1.0.1-0",
		"1.0.1-1",
		"1.0.1-9",
		"1.0.1-10",
		"1.0.1-10.a",
		"1.0.1-1a",
		"1.0.1-A",
		"1.0.1-a",
		"1.0.1",
		"2.0.0",
		"10.0.0",
		"9007199254740991.0.0",
	}
	vs := make([]Version, len(ascending))
	for i, s := range ascending {
		v, ok := ParseVersion(EcosystemNPM, s)
		if !ok {
			t.Fatalf("ParseVersion(npm, %q) failed", s)
		}
		vs[i] = v
	}
	for i := range vs {
		for j := range vs {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ascending[i], ascending[j], got, want)
			}
		}
	}
	shuffled := slices.Clone(vs)
	slices.Reverse(shuffled)
	slices.SortFunc(shuffled, Version.Compare)
	for i := range shuffled {
		if shuffled[i].Compare(vs[i]) != 0 {
			t.Fatalf("sorted order differs at %d: %s, want %s", i, shuffled[i], vs[i])
		}
	}

	// Build metadata takes no part.
	a, _ := ParseVersion(EcosystemNPM, "1.2.3+a")
	b, _ := ParseVersion(EcosystemNPM, "1.2.3+b")
	if a.Compare(b) != 0 {
		t.Errorf("Compare(1.2.3+a, 1.2.3+b) = %d, want 0", a.Compare(b))
	}
	// A Go pseudo-version sorts below the release it precedes.
	p, _ := ParseVersion(EcosystemGo, "v1.6.0-0.20200101000000-abcdef123456")
	r, _ := ParseVersion(EcosystemGo, "v1.6.0")
	if p.Compare(r) >= 0 {
		t.Errorf("Compare(pseudo-version, v1.6.0) = %d, want -1", p.Compare(r))
	}
}

func TestParseVersionAllocs(t *testing.T) {
	var sink Version
	allocs := testing.AllocsPerRun(100, func() {
		sink, _ = ParseVersion(EcosystemNPM, "12.34.56-beta.7+build.8")
		sink, _ = ParseVersion(EcosystemGo, "v0.0.0-20200101000000-abcdef123456")
	})
	if allocs != 0 {
		t.Errorf("ParseVersion allocates %v times per run, want 0", allocs)
	}
	_ = sink
}
