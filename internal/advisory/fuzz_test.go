package advisory

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refContains is OSV's evaluation algorithm written as the schema's pseudocode has it,
// evaluated per query, with no compilation: the reference the compiled Affected must
// agree with. It resolves unreadable bounds as match.go documents (an unreadable
// introduced is "0", an unreadable fixed or last_affected is left out, an unreadable
// limit is "*"), reads no ranges of an ecosystem without an ordering, and keeps for
// exact matching only listed versions that are sensible (see sensibleRaw).
func refContains(eco uint8, entries []*wireAffected, q string) bool {
	for _, a := range entries {
		for _, s := range a.Versions {
			if _, strict := parseStrict(eco, s); s == q && (strict || sensibleRaw(s)) {
				return true
			}
		}
	}
	v, ok := parseStrict(eco, q)
	if !ok {
		return false
	}
	for _, a := range entries {
		for _, s := range a.Versions {
			if w, ok := parseBound(eco, s); ok && w.Compare(v) == 0 {
				return true
			}
		}
	}
	if !ordered(eco) {
		return false
	}
	type event struct {
		kind      eventKind
		v         Version
		zero, inf bool
	}
	for _, a := range entries {
		for _, r := range a.Ranges {
			if r.Type != "SEMVER" && r.Type != "ECOSYSTEM" {
				continue
			}
			var evs []event
			for _, e := range r.Events {
				kind, value := e.kindValue()
				w, ok := parseBound(eco, value)
				ev := event{kind: kind, v: w}
				switch kind {
				case evIntroduced:
					ev.zero = value == "0" || !ok
				case evFixed, evLastAffected:
					if !ok {
						continue
					}
				case evLimit:
					ev.inf = strings.Contains(value, "*") || !ok
				}
				evs = append(evs, ev)
			}
			slices.SortStableFunc(evs, func(x, y event) int {
				switch {
				case x.zero && y.zero:
					return 0
				case x.zero:
					return -1
				case y.zero:
					return 1
				}
				return x.v.Compare(y.v)
			})
			// BeforeLimits.
			limited, before := false, false
			for _, e := range evs {
				if e.kind == evLimit {
					limited = true
					if e.inf || v.Compare(e.v) < 0 {
						before = true
					}
				}
			}
			if limited && !before {
				continue
			}
			vulnerable := false
			for _, e := range evs {
				switch {
				case e.kind == evIntroduced && (e.zero || v.Compare(e.v) >= 0):
					vulnerable = true
				case e.kind == evFixed && v.Compare(e.v) >= 0:
					vulnerable = false
				case e.kind == evLastAffected && v.Compare(e.v) > 0:
					vulnerable = false
				}
			}
			if vulnerable {
				return true
			}
		}
	}
	return false
}

// candidates are versions worth asking about entries: every bound and listed version,
// as written, with a "v", and just below and around them.
func candidates(entries []*wireAffected, extra ...string) []string {
	out := slices.Clone(extra)
	add := func(s string) {
		out = append(out, s, "v"+s, s+"-0", s+"-rc.1", s+".0", s+"+build", "0.0.0-0", "0.0.0")
		if v, ok := parseBound(ecoNPM, s); ok {
			w := v
			w.patch++
			out = append(out, v.String(), "v"+v.String(), w.String(), "v"+w.String())
			if v.pre != "" {
				out = append(out, v.String()+".0", v.String()+".a")
			}
		}
	}
	for _, a := range entries {
		for _, s := range a.Versions {
			add(s)
		}
		for _, r := range a.Ranges {
			for _, e := range r.Events {
				_, value := e.kindValue()
				add(value)
			}
		}
	}
	return out
}

// checkAgainstReference fails t when aff disagrees with the reference on a candidate.
func checkAgainstReference(t *testing.T, eco uint8, entries []*wireAffected, aff *Affected, extra ...string) {
	t.Helper()
	for _, q := range candidates(entries, extra...) {
		want := refContains(eco, entries, q)
		if got := aff.Contains(q); got != want {
			t.Fatalf("%s: Contains(%q) = %v, reference says %v (range %s)", ecoNames[eco], q, got, want, aff.Range())
		}
		if v, ok := parseStrict(eco, q); ok && aff.ContainsVersion(v) != want {
			t.Fatalf("%s: ContainsVersion(%q) = %v, reference says %v", ecoNames[eco], q, !want, want)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "osv", "*.json"))
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"id":"TEST-1","affected":[{"package":{"ecosystem":"npm","name":"p"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"last_affected":"1.0.0"},{"fixed":"1.0.0"},{"introduced":"1.0.0"},{"limit":"2.0.0"}]}],"versions":["1.5.0","x"]}]}`))
	f.Add([]byte(`{"id":"TEST-1","affected":[{"package":{"ecosystem":"Go","name":"m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.0.0-20200101000000-abcdef123456"}]}]}]}`))
	f.Add([]byte(`{"id":"TEST-1","summary":"\u202e\n\t","details":"é","affected":[]}`))
	f.Add([]byte(`{"id":"TEST 1"}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := parseRecord(data, allEcosystems, &interner{})
		if err != nil {
			if !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("parseRecord failed with %v, not ErrInvalidRecord", err)
			}
			return
		}
		if rec == nil {
			return
		}
		a := rec.adv
		if !validID(a.ID) {
			t.Errorf("kept id %q", a.ID)
		}
		if len(a.Summary) > maxSummaryLen || !utf8.ValidString(a.Summary) || strings.ContainsAny(a.Summary, "\n\r\t") {
			t.Errorf("summary %q: %d bytes, not one valid line", a.Summary, len(a.Summary))
		}
		if !strings.HasPrefix(a.URL, ghsaURLPrefix) && !strings.HasPrefix(a.URL, osvURLPrefix) {
			t.Errorf("url %q", a.URL)
		}
		if a.Severity > SeverityCritical || a.Score < 0 || a.Score > 10 {
			t.Errorf("severity %d, score %v", a.Severity, a.Score)
		}
		if len(rec.pkgs) == 0 {
			t.Fatal("kept a record naming no package")
		}

		// Every package's compiled set agrees with the reference algorithm.
		var r wireRecord
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("the record parsed, but not a second time: %v", err)
		}
		for _, p := range rec.pkgs {
			if !validName(p.name) {
				t.Errorf("kept package name %q", p.name)
			}
			if p.aff.Range() == "" {
				t.Errorf("%s: empty Range()", p.name)
			}
			var entries []*wireAffected
			for i := range r.Affected {
				e := &r.Affected[i]
				if osvEcosystem(e.Package.Ecosystem) == p.eco && normalizeName(p.eco, e.Package.Name) == p.name {
					entries = append(entries, e)
				}
			}
			checkAgainstReference(t, p.eco, entries, p.aff)
		}
	})
}

// specEntries reads a compact spelling of affected entries: tokens separated by
// spaces, "|" starting a new range, "&" a new entry; a token is a kind letter (i
// introduced, f fixed, a last_affected, l limit, v a listed version, g a GIT range's
// introduced) then its version.
func specEntries(spec string) []*wireAffected {
	entries := []*wireAffected{{}}
	var rng *wireRange
	for _, tok := range strings.Fields(spec) {
		cur := entries[len(entries)-1]
		switch tok {
		case "|":
			rng = nil
			continue
		case "&":
			entries = append(entries, &wireAffected{})
			rng = nil
			continue
		}
		kind, value := tok[0], tok[1:]
		if value == "" {
			continue
		}
		if kind == 'v' {
			cur.Versions = append(cur.Versions, value)
			continue
		}
		var ev wireEvent
		typ := "SEMVER"
		switch kind {
		case 'i':
			ev.Introduced = value
		case 'f':
			ev.Fixed = value
		case 'a':
			ev.LastAffected = value
		case 'l':
			ev.Limit = value
		case 'g':
			ev.Introduced, typ = value, "GIT"
		default:
			continue
		}
		if rng == nil || rng.Type != typ {
			cur.Ranges = append(cur.Ranges, wireRange{Type: typ})
			rng = &cur.Ranges[len(cur.Ranges)-1]
		}
		rng.Events = append(rng.Events, ev)
	}
	return entries
}

func FuzzContains(f *testing.F) {
	seeds := []struct {
		spec, query string
		goEco       bool
	}{
		{"i0 f1.0.1", "1.0.1-beta", false},
		{"f3.0.1 i3.0.0 f2.3.1 i2.0.0", "2.3.1", false},
		{"i1.0.0 a1.2.0 | i2.0.0 l2.5.0", "1.2.0", false},
		{"i1.0.0 f1.0.0 a1.0.0 i1.0.0", "1.0.0", false},
		{"i0 l1.0.0 l3.0.0 | i5.0.0", "2.0.0", false},
		{"ibanana f2.0.0 & i3.0.0 fnope", "4.0.0", false},
		{"v1.2.3 vbanana v2.0.0-rc.1 & i0 f1.0.0", "banana", false},
		{"i0 f1.6.0 v1.7.0", "v1.6.0-0.20200101000000-abcdef123456", true},
		{"i1.2 f 1.4 l*", "1.3.0", false},
		{"g0 i0 fdeadbeef", "1.0.0", false},
	}
	for _, s := range seeds {
		f.Add(s.spec, s.query, s.goEco)
	}
	f.Fuzz(func(t *testing.T, spec, query string, goEco bool) {
		eco := ecoNPM
		if goEco {
			eco = ecoGo
		}
		entries := specEntries(spec)
		aff := compileAffected(eco, entries)
		checkAgainstReference(t, eco, entries, aff, query)
		// The range Range() spells is in order and its versions parse.
		if r := aff.Range(); r == "" {
			t.Fatal("empty Range()")
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	seeds := []string{
		"1.2.3", "v1.2.3", "=1.2.3", "1.2.3-beta.1", "1.2.3-0", "1.2.3+build.007", "1.0.0-alpha.beta",
		"1.0.0-beta.11", "1.0.0-rc.1", "9007199254740991.0.0", "01.2.3", "1.2.3-01", "1.2", " 1.2.3",
		"v0.0.0-20200101000000-abcdef123456", "v2.0.0+incompatible", "1.0.1-10.a", "1.0.1-1a",
	}
	for i, a := range seeds {
		f.Add(a, seeds[(i+1)%len(seeds)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, eco := range []uint8{ecoNPM, ecoGo} {
			va, oka := parseStrict(eco, a)
			vb, okb := parseStrict(eco, b)
			if oka {
				checkVersion(t, eco, a, va)
			}
			if okb {
				checkVersion(t, eco, b, vb)
			}
			if oka && okb {
				ab, ba := va.Compare(vb), vb.Compare(va)
				if ab != -ba || ab < -1 || ab > 1 {
					t.Fatalf("Compare(%q, %q) = %d, Compare(%q, %q) = %d: not antisymmetric", a, b, ab, b, a, ba)
				}
				if (ab == 0) != (va.String() == vb.String()) {
					t.Fatalf("Compare(%q, %q) = %d, but they spell %s and %s", a, b, ab, va, vb)
				}
				// Transitivity through the release of each.
				ra, rb := va, vb
				ra.pre, rb.pre = "", ""
				if va.Compare(ra) > 0 || vb.Compare(rb) > 0 {
					t.Fatalf("a prerelease above its release: %q or %q", a, b)
				}
				if ra.Compare(rb) < 0 && va.Compare(vb) >= 0 {
					t.Fatalf("Compare(%q, %q) = %d, but release %s < %s", a, b, ab, ra, rb)
				}
			}
		}
	})
}

// checkVersion checks the properties of one parsed version.
func checkVersion(t *testing.T, eco uint8, s string, v Version) {
	t.Helper()
	if v.Compare(v) != 0 {
		t.Fatalf("Compare(%q, itself) = %d", s, v.Compare(v))
	}
	spelled := v.String()
	if eco == ecoGo {
		spelled = "v" + spelled
	}
	w, ok := parseStrict(eco, spelled)
	if !ok || w.Compare(v) != 0 {
		t.Fatalf("%q spells %q, which parses to %v, %v", s, spelled, w, ok)
	}
	if b, ok := parseBound(eco, s); !ok || b.Compare(v) != 0 {
		t.Fatalf("parseBound(%q) = %v, %v, want what ParseVersion reads", s, b, ok)
	}
}
