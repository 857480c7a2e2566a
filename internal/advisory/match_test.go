package advisory

import (
	"fmt"
	"strings"
	"testing"
)

// osvEcoSpelling is each ecosystem as OSV records spell it.
var osvEcoSpelling = [ecoCount]string{"npm", "Go", "PyPI"}

// affectedOf compiles a record naming package "p" of eco in one affected[] entry per
// body (the entry's JSON members but the package, e.g. `"versions":["1.0.0"]`).
func affectedOf(t testing.TB, eco uint8, bodies ...string) *Affected {
	t.Helper()
	entries := make([]string, len(bodies))
	for i, b := range bodies {
		entries[i] = fmt.Sprintf(`{"package":{"ecosystem":%q,"name":"p"},%s}`, osvEcoSpelling[eco], b)
	}
	data := `{"id":"TEST-1","affected":[` + strings.Join(entries, ",") + `]}`
	rec, err := parseRecord([]byte(data), [ecoCount]bool{true, true, true}, nil)
	if err != nil {
		t.Fatalf("parseRecord(%s): %v", data, err)
	}
	if rec == nil || len(rec.pkgs) != 1 {
		t.Fatalf("parseRecord(%s) kept %v, want one package", data, rec)
	}
	return rec.pkgs[0].aff
}

// events spells a one-range body of the given type and events ("introduced:0", ...).
func events(typ string, evs ...string) string {
	parts := make([]string, len(evs))
	for i, e := range evs {
		k, v, _ := strings.Cut(e, ":")
		parts[i] = fmt.Sprintf(`{%q:%q}`, k, v)
	}
	return fmt.Sprintf(`"ranges":[{"type":%q,"events":[%s]}]`, typ, strings.Join(parts, ","))
}

func TestAffectedContains(t *testing.T) {
	tests := []struct {
		name   string
		eco    uint8
		bodies []string
		in     []string // affected
		out    []string // not affected
	}{
		{
			name:   "fixed, prereleases around the fix",
			bodies: []string{events("SEMVER", "introduced:0", "fixed:1.0.1")},
			in:     []string{"0.0.0-0", "0.0.0", "0.5.0-rc.1", "1.0.0", "1.0.1-0", "1.0.1-beta", "1.0.1-rc.99"},
			out:    []string{"1.0.1", "1.0.1+build", "1.0.2-0", "1.0.2", "2.0.0"},
		},
		{
			name:   "introduced, prereleases around the start",
			bodies: []string{events("ECOSYSTEM", "introduced:2.0.0", "fixed:2.3.1")},
			in:     []string{"2.0.0", "2.0.1-alpha", "2.3.0", "2.3.1-rc.1"},
			out:    []string{"1.9.9", "2.0.0-0", "2.0.0-rc.1", "2.3.1", "3.0.0"},
		},
		{
			name:   "introduced 0 alone is every version",
			bodies: []string{events("SEMVER", "introduced:0")},
			in:     []string{"0.0.0-0", "0.0.0", "1.2.3", "999.9.9", "v1.0.0"},
			out:    []string{"", "latest", "1.2", "01.0.0"},
		},
		{
			name:   "last_affected is inclusive",
			bodies: []string{events("ECOSYSTEM", "introduced:1.0.0", "last_affected:1.2.0")},
			in:     []string{"1.0.0", "1.1.9", "1.2.0", "1.2.0+build", "1.2.0-rc.1"},
			out:    []string{"0.9.0", "1.0.0-rc.1", "1.2.1-0", "1.2.1"},
		},
		{
			name:   "unordered events, several pairs in one range",
			bodies: []string{events("SEMVER", "fixed:3.0.1", "introduced:3.0.0", "fixed:2.3.1", "introduced:2.0.0")},
			in:     []string{"2.0.0", "2.3.0", "3.0.0", "3.0.1-0"},
			out:    []string{"1.0.0", "2.3.1", "2.9.9", "3.0.1", "4.0.0"},
		},
		{
			name:   "introduced 0 written last",
			bodies: []string{events("ECOSYSTEM", "fixed:1.0.1", "introduced:0")},
			in:     []string{"0.1.0", "1.0.0"},
			out:    []string{"1.0.1", "1.1.0"},
		},
		{
			name:   "several ranges in one entry",
			bodies: []string{`"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.2.1"}]},{"type":"ECOSYSTEM","events":[{"introduced":"1.0.0"},{"fixed":"1.2.3"}]}]`},
			in:     []string{"0.2.0", "1.0.0", "1.2.2"},
			out:    []string{"0.2.1", "0.9.9", "1.2.3"},
		},
		{
			name: "several entries for the package merge",
			bodies: []string{
				events("ECOSYSTEM", "introduced:7.0.0", "fixed:7.5.2"),
				events("ECOSYSTEM", "introduced:6.0.0", "fixed:6.3.1"),
				events("ECOSYSTEM", "introduced:0", "fixed:5.7.2"),
			},
			in:  []string{"5.7.1", "6.0.0", "6.3.0", "7.5.1"},
			out: []string{"5.7.2", "5.9.0", "6.3.1", "7.5.2"},
		},
		{
			name:   "limit bounds the range",
			bodies: []string{events("SEMVER", "introduced:0", "limit:2.0.0")},
			in:     []string{"1.9.9", "2.0.0-rc.1"},
			out:    []string{"2.0.0", "3.0.0"},
		},
		{
			name:   "the highest of several limits",
			bodies: []string{events("SEMVER", "introduced:1.0.0", "limit:1.5.0", "limit:3.0.0")},
			in:     []string{"1.0.0", "2.0.0", "2.9.9"},
			out:    []string{"0.9.0", "3.0.0"},
		},
		{
			name:   "a limit below the fix",
			bodies: []string{events("SEMVER", "introduced:0", "fixed:1.5.0", "limit:1.2.0")},
			in:     []string{"1.1.9"},
			out:    []string{"1.2.0", "1.3.0", "1.5.0"},
		},
		{
			name:   "a limit of infinity",
			bodies: []string{events("SEMVER", "introduced:1.0.0", "limit:*")},
			in:     []string{"1.0.0", "99.0.0"},
			out:    []string{"0.1.0"},
		},
		{
			name:   "a limit applies to its own range only",
			bodies: []string{`"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"limit":"1.0.0"}]},{"type":"SEMVER","events":[{"introduced":"2.0.0"}]}]`},
			in:     []string{"0.5.0", "2.0.0", "9.0.0"},
			out:    []string{"1.0.0", "1.5.0"},
		},
		{
			name:   "introduced and fixed at one version affect nothing",
			bodies: []string{events("SEMVER", "introduced:1.0.0", "fixed:1.0.0")},
			out:    []string{"0.9.0", "1.0.0", "1.0.1"},
		},
		{
			name:   "fixed with no introduced affects nothing",
			bodies: []string{events("SEMVER", "fixed:1.0.0")},
			out:    []string{"0.9.0", "1.0.0", "1.0.1"},
		},
		{
			name:   "an unreadable fixed leaves the range open",
			bodies: []string{events("ECOSYSTEM", "introduced:1.0.0", "fixed:banana")},
			in:     []string{"1.0.0", "99.0.0"},
			out:    []string{"0.9.0"},
		},
		{
			name:   "an unreadable introduced reads as 0",
			bodies: []string{events("ECOSYSTEM", "introduced:banana", "fixed:2.0.0")},
			in:     []string{"0.0.1", "1.9.9"},
			out:    []string{"2.0.0"},
		},
		{
			name:   "a bound written loosely",
			bodies: []string{events("ECOSYSTEM", "introduced:v1.2", "fixed: 1.4 ")},
			in:     []string{"1.2.0", "1.3.9"},
			out:    []string{"1.1.9", "1.4.0"},
		},
		{
			name:   "GIT ranges name no versions",
			bodies: []string{events("GIT", "introduced:0", "fixed:0123456789abcdef0123456789abcdef01234567")},
			out:    []string{"0.0.1", "1.0.0", "0123456789abcdef0123456789abcdef01234567"},
		},
		{
			name:   "a versions list: exact strings and parsed equality",
			bodies: []string{`"versions":["1.2.3","2.0.0-rc.1","banana"]`},
			in:     []string{"1.2.3", "v1.2.3", "=1.2.3", "1.2.3+build", "2.0.0-rc.1", "banana"},
			out:    []string{"1.2.4", "1.2.3-0", "2.0.0", "Banana", "banana ", "1.2"},
		},
		{
			name:   "a versions list beside ranges",
			bodies: []string{events("SEMVER", "introduced:0", "fixed:1.0.0") + `,"versions":["0.5.0","3.0.0"]`},
			in:     []string{"0.5.0", "0.9.0", "3.0.0"},
			out:    []string{"1.0.0", "2.0.0"},
		},
		{
			name:   "go: module versions, OSV bounds without v",
			eco:    ecoGo,
			bodies: []string{events("SEMVER", "introduced:0", "fixed:1.6.0")},
			in:     []string{"v0.0.0-20190101000000-abcdef123456", "v1.5.9", "v1.6.0-0.20200101000000-abcdef123456"},
			out:    []string{"1.5.9", "v1.6.0", "v1.6.1", "v2.0.0+incompatible"},
		},
		{
			name:   "go: a pseudo-version fix",
			eco:    ecoGo,
			bodies: []string{events("SEMVER", "introduced:1.2.0", "fixed:1.2.4-0.20200601000000-0123456789ab")},
			in:     []string{"v1.2.0", "v1.2.3", "v1.2.4-0.20200101000000-aaaaaaaaaaaa"},
			out:    []string{"v1.1.0", "v1.2.4-0.20200601000000-0123456789ab", "v1.2.4"},
		},
		{
			name:   "go: a listed version without v matches by exact string",
			eco:    ecoGo,
			bodies: []string{`"versions":["1.0.0"]`},
			in:     []string{"v1.0.0", "1.0.0"},
			out:    []string{"v1.0.1", "=1.0.0"},
		},
		{
			name:   "pypi: ranges are not read, lists are",
			eco:    ecoPyPI,
			bodies: []string{events("ECOSYSTEM", "introduced:0", "fixed:3.2") + `,"versions":["3.0","3.1"]`},
			in:     []string{"3.0", "3.1"},
			out:    []string{"3.0.0", "2.0", "3.1.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := affectedOf(t, tt.eco, tt.bodies...)
			for _, v := range tt.in {
				if !a.Contains(v) {
					t.Errorf("Contains(%q) = false, want true (range %s)", v, a.Range())
				}
				if pv, ok := parseStrict(tt.eco, v); ok && !a.ContainsVersion(pv) {
					t.Errorf("ContainsVersion(%s) = false, want true", v)
				}
			}
			for _, v := range tt.out {
				if a.Contains(v) {
					t.Errorf("Contains(%q) = true, want false (range %s)", v, a.Range())
				}
				if pv, ok := parseStrict(tt.eco, v); ok && a.ContainsVersion(pv) {
					t.Errorf("ContainsVersion(%s) = true, want false", v)
				}
			}
		})
	}
}

func TestAffectedRange(t *testing.T) {
	tests := []struct {
		name   string
		bodies []string
		want   string
	}{
		{"fixed", []string{events("SEMVER", "introduced:0", "fixed:1.0.1")}, "<1.0.1"},
		{"every version", []string{events("SEMVER", "introduced:0")}, "*"},
		{"from a version on", []string{events("SEMVER", "introduced:1.0.0")}, ">=1.0.0"},
		{"last_affected", []string{events("ECOSYSTEM", "introduced:1.0.0", "last_affected:1.2.0")}, ">=1.0.0 <=1.2.0"},
		{"last_affected from 0", []string{events("ECOSYSTEM", "introduced:0", "last_affected:2.88.2")}, "<=2.88.2"},
		{"a range and a listed version", []string{events("SEMVER", "introduced:2.0.0", "fixed:2.3.1") + `,"versions":["3.0.0"]`}, ">=2.0.0 <2.3.1 || 3.0.0"},
		{"a listed version below a range", []string{events("SEMVER", "introduced:2.0.0") + `,"versions":["1.0.0"]`}, "1.0.0 || >=2.0.0"},
		{"listed versions inside a range vanish", []string{events("SEMVER", "introduced:0", "fixed:1.0.0") + `,"versions":["0.1.0","0.2.0"]`}, "<1.0.0"},
		{"versions only", []string{`"versions":["2.0.0","1.0.0-beta.1","1.0.0-beta.1","nope"]`}, "1.0.0-beta.1 || 2.0.0"},
		{"prerelease bounds", []string{events("SEMVER", "introduced:4.0.0-beta.2", "fixed:4.0.0")}, ">=4.0.0-beta.2 <4.0.0"},
		{
			"entries merged and sorted",
			[]string{
				events("ECOSYSTEM", "introduced:7.0.0", "fixed:7.5.2"),
				events("ECOSYSTEM", "introduced:0", "fixed:5.7.2"),
				events("ECOSYSTEM", "introduced:6.0.0", "fixed:6.3.1"),
			},
			"<5.7.2 || >=6.0.0 <6.3.1 || >=7.0.0 <7.5.2",
		},
		{"overlapping ranges merge", []string{events("SEMVER", "introduced:1.0.0", "fixed:2.0.0"), events("SEMVER", "introduced:1.5.0", "fixed:3.0.0")}, ">=1.0.0 <3.0.0"},
		{"touching ranges merge", []string{events("SEMVER", "introduced:1.0.0", "fixed:2.0.0"), events("SEMVER", "introduced:2.0.0", "fixed:3.0.0")}, ">=1.0.0 <3.0.0"},
		{"a last_affected touching an introduced", []string{events("SEMVER", "introduced:1.0.0", "last_affected:2.0.0"), events("SEMVER", "introduced:2.0.0", "fixed:3.0.0")}, ">=1.0.0 <3.0.0"},
		{"limit", []string{events("SEMVER", "introduced:1.0.0", "limit:1.5.0")}, ">=1.0.0 <1.5.0"},
		{"build metadata left out", []string{events("SEMVER", "introduced:1.0.0+a", "fixed:1.1.0+b")}, ">=1.0.0 <1.1.0"},
		{"nothing", []string{events("SEMVER", "introduced:1.0.0", "fixed:1.0.0")}, "<0.0.0-0"},
		{"nothing readable", []string{`"versions":["banana"]`}, "<0.0.0-0"},
		// The events at one version keep the record's order: here fixed then introduced,
		// so 1.0.0 is affected again, and nothing above it is closed.
		{"fixed and introduced at one version", []string{events("SEMVER", "introduced:0", "fixed:1.0.0", "introduced:1.0.0", "fixed:2.0.0")}, "<2.0.0"},
		{"a version excluded between two spans", []string{events("SEMVER", "introduced:0", "fixed:1.0.0"), events("SEMVER", "introduced:1.0.0", "fixed:1.0.0", "introduced:0.5.0", "last_affected:0.5.0")}, "<1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := affectedOf(t, ecoNPM, tt.bodies...)
			if got := a.Range(); got != tt.want {
				t.Errorf("Range() = %q, want %q", got, tt.want)
			}
		})
	}
	var none *Affected
	if got := none.Range(); got != "<0.0.0-0" {
		t.Errorf("(*Affected)(nil).Range() = %q, want <0.0.0-0", got)
	}
	if none.Contains("1.0.0") {
		t.Errorf("(*Affected)(nil).Contains(1.0.0) = true, want false")
	}
}

// TestEventsAtOneVersion checks that the events at one version are walked in the
// record's order, an introduced or fixed one taking effect at its own version and a
// last_affected one only past it.
func TestEventsAtOneVersion(t *testing.T) {
	tests := []struct {
		name string
		evs  []string
		want map[string]bool
	}{
		{
			name: "introduced, fixed, last_affected, introduced",
			evs:  []string{"introduced:1.0.0", "fixed:1.0.0", "last_affected:1.0.0", "introduced:1.0.0"},
			want: map[string]bool{"0.9.0": false, "1.0.0": true, "1.0.1": true},
		},
		{
			name: "introduced then last_affected",
			evs:  []string{"introduced:1.0.0", "last_affected:1.0.0"},
			want: map[string]bool{"0.9.0": false, "1.0.0": true, "1.0.1-0": false},
		},
		{
			name: "last_affected then introduced",
			evs:  []string{"last_affected:1.0.0", "introduced:1.0.0"},
			want: map[string]bool{"0.9.0": false, "1.0.0": true, "1.0.1": true},
		},
		{
			name: "a gap closed by last_affected, reopened later",
			evs:  []string{"introduced:0", "last_affected:1.0.0", "introduced:2.0.0"},
			want: map[string]bool{"0.1.0": true, "1.0.0": true, "1.0.1": false, "2.0.0-rc.1": false, "2.0.0": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := affectedOf(t, ecoNPM, events("SEMVER", tt.evs...))
			for v, want := range tt.want {
				if got := a.Contains(v); got != want {
					t.Errorf("Contains(%q) = %v, want %v (range %s)", v, got, want, a.Range())
				}
			}
		})
	}
}

func TestAffectedShared(t *testing.T) {
	a := affectedOf(t, ecoNPM, events("SEMVER", "introduced:0"))
	b := affectedOf(t, ecoNPM, events("ECOSYSTEM", "introduced:0", "fixed:1.0.0"), events("ECOSYSTEM", "introduced:0.5.0"))
	if a != everything[ecoNPM] || b != everything[ecoNPM] {
		t.Errorf("an Affected of every version is not the shared one")
	}
	if g := affectedOf(t, ecoGo, events("SEMVER", "introduced:0")); g != everything[ecoGo] || g.Contains("1.0.0") {
		t.Errorf("go's Affected of every version is not go's shared one, or reads npm versions")
	}
	// A list version kept for exact matching keeps the value apart.
	if c := affectedOf(t, ecoNPM, events("SEMVER", "introduced:0")+`,"versions":["banana"]`); c == everything[ecoNPM] || !c.Contains("banana") {
		t.Errorf("an Affected with an unparsed listed version is the shared one")
	}
}

func TestContainsAllocs(t *testing.T) {
	a := affectedOf(t, ecoNPM,
		events("SEMVER", "introduced:0", "fixed:1.0.1", "introduced:2.0.0", "fixed:2.3.1"),
		`"versions":["5.0.0","banana"]`)
	v, _ := ParseVersion(EcosystemNPM, "2.1.0-rc.1")
	var sink bool
	allocs := testing.AllocsPerRun(100, func() {
		sink = a.Contains("2.1.0-rc.1") || a.Contains("banana") || a.Contains("not a version") || a.ContainsVersion(v)
	})
	if allocs != 0 {
		t.Errorf("Contains allocates %v times per run, want 0", allocs)
	}
	_ = sink
}
