package npm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestParseBasic(t *testing.T) {
	raw := readTestdata(t, "basic.json")
	p := mustParse(t, raw, "demo")
	if p.Name != "demo" {
		t.Errorf("Name = %q, want demo", p.Name)
	}
	wantTags := []DistTag{{"latest", "1.2.0"}, {"next", "2.0.0-rc.1"}, {"legacy", "0.9.0"}, {"ghost", "9.9.9"}}
	if !reflect.DeepEqual(p.DistTags, wantTags) {
		t.Errorf("DistTags = %v, want %v", p.DistTags, wantTags)
	}
	var keys []string
	for _, v := range p.Versions {
		keys = append(keys, v.Key)
	}
	if got := strings.Join(keys, ","); got != "0.9.0,1.0.0,1.1.0,1.2.0,2.0.0-rc.1" {
		t.Errorf("version keys = %s, want document order", got)
	}
	sha := func(c byte) string { return "sha512-" + strings.Repeat(string(c), 86) + "==" }
	tests := []struct {
		key  string
		want VersionInfo
	}{
		{"0.9.0", VersionInfo{
			Shasum: "0000000000000000000000000000000000000009", Deprecated: "use 1.x",
			Published: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		}},
		{"1.0.0", VersionInfo{
			Integrity: sha('A'), Shasum: "0000000000000000000000000000000000000010",
			Signatures: `[{"keyid": "SHA256:example", "sig": "MEUCIQ=="}]`,
			Published:  time.Date(2021, 2, 3, 4, 5, 6, 789e6, time.UTC),
		}},
		{"1.1.0", VersionInfo{
			Integrity: sha('B'), Shasum: "0000000000000000000000000000000000000011",
			InstallScripts: []string{"postinstall"},
			Published:      time.Date(2022, 3, 4, 3, 6, 7, 0, time.UTC),
		}},
		{"1.2.0", VersionInfo{
			Integrity: sha('C'), Shasum: "0000000000000000000000000000000000000012", Gypfile: true,
			Published: time.Date(2023, 4, 5, 6, 7, 8, 123456e3, time.UTC),
		}},
		{"2.0.0-rc.1", VersionInfo{
			Integrity: sha('D'), Shasum: "0000000000000000000000000000000000000020",
			InstallScripts: []string{"preinstall", "install"}, HasInstallScript: true,
		}},
	}
	for _, tt := range tests {
		v := p.Find(tt.key)
		if v == nil {
			t.Fatalf("Find(%q) = nil", tt.key)
		}
		tt.want.Name, tt.want.Version = "demo", tt.key
		if !reflect.DeepEqual(v.Info, tt.want) {
			t.Errorf("Find(%q).Info = %+v\nwant %+v", tt.key, v.Info, tt.want)
		}
		if want := "https://registry.example.invalid/demo/-/demo-" + tt.key + ".tgz"; v.Tarball != want {
			t.Errorf("Find(%q).Tarball = %q, want %q", tt.key, v.Tarball, want)
		}
	}
	if p.Find("0.5.0") != nil || p.Find("9.9.9") != nil {
		t.Error("Find returned a version that is not in versions")
	}
	checkInfos(t, p, reference(t, raw))
}

func TestParseEscapes(t *testing.T) {
	// Keys and values may be written with escapes; they mean the same as plain ones.
	raw := []byte(`{"n\u0061me":"esc","versions":{"1.0.0\u002Bb":{"versio\u006E":"1.0.0+b",` +
		`"d\u0069st":{"t\u0061rball":"https:\/\/registry.example.invalid\/esc\/-\/esc-1.0.0.tgz","integrity":"sha512-\u0041"},` +
		`"scr\u0069pts":{"post\u0069nstall":"x"}}},"t\u0069me":{"1.0.0+b":"2020-01-01T00:00:00Z"},` +
		`"dist-tags":{"l\u0061test":"1.0.0\u002bb"}}`)
	p := mustParse(t, raw, "esc")
	v := p.Find("1.0.0+b")
	if v == nil {
		t.Fatal(`Find("1.0.0+b") = nil`)
	}
	want := VersionInfo{Name: "esc", Version: "1.0.0+b", Integrity: "sha512-A", InstallScripts: []string{"postinstall"},
		Published: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(v.Info, want) {
		t.Errorf("Info = %+v, want %+v", v.Info, want)
	}
	if v.Tarball != "https://registry.example.invalid/esc/-/esc-1.0.0.tgz" {
		t.Errorf("Tarball = %q", v.Tarball)
	}
	if got := p.DistTags; len(got) != 1 || got[0] != (DistTag{"latest", "1.0.0+b"}) {
		t.Errorf("DistTags = %v", got)
	}
	ref := reference(t, raw)
	checkInfos(t, p, ref)
	out, err := p.Render(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	checkRendered(t, p, ref, out, nil, gateURL)
	abbr, err := p.RenderAbbreviated(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	checkAbbreviated(t, p, ref, abbr, nil, gateURL)
}

// TestParseRepeatsInCopiedValues: a repeated name inside a value that is only copied
// (not read, not rebuilt) is served as it came; the client sees what the upstream sent.
func TestParseRepeatsInCopiedValues(t *testing.T) {
	raw := `{"name":"x","versions":{"1.0.0":{"version":"1.0.0","dependencies":{"a":"1","a":"2"},"readme":"r","readme":"s"}},"other":{"k":1,"k":2}}`
	p := mustParse(t, []byte(raw), "x")
	out, err := p.Render(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"dependencies":{"a":"1","a":"2"}`) || !strings.Contains(string(out), `"other":{"k":1,"k":2}`) {
		t.Errorf("Render changed copied values: %s", out)
	}
}

func TestParseLenientFields(t *testing.T) {
	// Odd but harmless shapes are read the way npm would, not refused.
	raw := []byte(`{"name":"odd","dist-tags":{"latest":"1.0.0","broken":7},"versions":{` +
		`"1.0.0":{"dist":"not an object","scripts":["install"],"deprecated":true,"gypfile":1},` +
		`"1.0.1":{"dist":{"tarball":42,"integrity":null},"scripts":{"install":"","preinstall":0,"postinstall":{"x":1}},"hasInstallScript":"yes"}},` +
		`"time":{"1.0.0":12,"1.0.1":"yesterday"}}`)
	p := mustParse(t, raw, "odd")
	if got := p.DistTags; len(got) != 1 || got[0].Name != "latest" {
		t.Errorf("DistTags = %v, want only latest (a non-string tag is dropped)", got)
	}
	a, b := p.Find("1.0.0").Info, p.Find("1.0.1").Info
	if a.Integrity != "" || a.InstallScripts != nil || a.Deprecated != "true" || !a.Gypfile || !a.Published.IsZero() {
		t.Errorf("1.0.0 Info = %+v", a)
	}
	if !reflect.DeepEqual(b.InstallScripts, []string{"postinstall"}) || !b.HasInstallScript || b.Integrity != "" || !b.Published.IsZero() {
		t.Errorf("1.0.1 Info = %+v", b)
	}
	if v := p.Find("1.0.1"); v.Tarball != "" || v.tarEnd == 0 {
		t.Errorf("1.0.1: a non-string dist.tarball is not read but is still replaced: Tarball %q span %d", v.Tarball, v.tarEnd)
	}
	checkInfos(t, p, reference(t, raw))
}

// deep returns a JSON value nested n levels deep.
func deep(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestParseErrors(t *testing.T) {
	const ok = `{"name":"x","versions":{"1.0.0":{"version":"1.0.0","dist":{"tarball":"t"}}},"time":{},"dist-tags":{}}`
	lim := Limits{MaxBytes: 1 << 10, MaxVersions: 2, MaxDepth: 6, MaxDistTags: 2}
	tests := []struct {
		name string
		raw  string
		want error
		msg  string
	}{
		{"too large", `{"name":"x","readme":"` + strings.Repeat("a", 1<<10) + `"}`, ErrTooLarge, "larger than 1024 bytes"},
		{"too many versions", `{"name":"x","versions":{"1.0.0":{},"1.0.1":{},"1.0.2":{}}}`, ErrTooManyVersions, "more than 2 versions"},
		{"too many dist-tags", `{"name":"x","dist-tags":{"latest":"1.0.0","next":"1.0.1","beta":"1.0.2"}}`, ErrTooManyDistTags, "more than 2 dist-tags"},
		{"too deep at top level", `{"name":"x","a":` + deep(6) + `}`, ErrTooDeep, "deeper than 6"},
		{"too deep in a manifest", `{"name":"x","versions":{"1.0.0":{"a":` + deep(4) + `}}}`, ErrTooDeep, "deeper than 6"},
		{"too deep in dist", `{"name":"x","versions":{"1.0.0":{"dist":{"a":` + deep(3) + `}}}}`, ErrTooDeep, "deeper than 6"},
		{"too deep in time", `{"name":"x","time":{"a":` + deep(5) + `}}`, ErrTooDeep, "deeper than 6"},
		{"too deep in dist-tags", `{"name":"x","dist-tags":{"a":` + deep(5) + `}}`, ErrTooDeep, "deeper than 6"},
		{"too deep in name", `{"name":` + deep(6) + `}`, ErrTooDeep, "deeper than 6"},
		{"name missing", `{"versions":{}}`, ErrNameMismatch, "has no name"},
		{"name differs", `{"name":"y"}`, ErrNameMismatch, `it is for "y", not "x"`},
		{"name differs in case", `{"name":"X"}`, ErrNameMismatch, `it is for "X"`},
		{"name not a string", `{"name":["x"]}`, ErrNameMismatch, "not a string"},
		{"not JSON", `{"name":"x",}`, ErrMalformed, "not valid JSON (problem at byte"},
		{"empty", ``, ErrMalformed, "not valid JSON"},
		{"trailing data", ok + `{}`, ErrMalformed, "not valid JSON"},
		{"invalid UTF-8", "{\"name\":\"x\",\"readme\":\"\xff\"}", ErrMalformed, "not valid JSON"},
		{"lone surrogate", `{"name":"x","readme":"\ud800"}`, ErrMalformed, "not valid JSON"},
		{"duplicate top-level key", `{"name":"x","name":"x"}`, ErrMalformed, `top level repeats the member name "name"`},
		{"duplicate versions key", `{"name":"x","versions":{},"versions":{}}`, ErrMalformed, `repeats the member name "versions"`},
		{"duplicate key in dist", `{"name":"x","versions":{"1.0.0":{"dist":{"tarball":"a","t\u0061rball":"b"}}}}`, ErrMalformed, `dist of version "1.0.0" repeats the member name "tarball"`},
		{"duplicate integrity", `{"name":"x","versions":{"1.0.0":{"dist":{"integrity":"a","integrity":"b"}}}}`, ErrMalformed, `repeats the member name "integrity"`},
		{"duplicate signatures", `{"name":"x","versions":{"1.0.0":{"dist":{"signatures":[],"signatures":[{"keyid":"a","sig":"b"}]}}}}`, ErrMalformed, `dist of version "1.0.0" repeats the member name "signatures"`},
		{"duplicate version", `{"name":"x","versions":{"1.0.0":{},"1.0.0":{}}}`, ErrMalformed, `versions object repeats the member name "1.0.0"`},
		{"duplicate manifest field", `{"name":"x","versions":{"1.0.0":{"dependencies":{},"dependencies":{"a":"1"}}}}`, ErrMalformed, `version "1.0.0" repeats the member name "dependencies"`},
		{"duplicate scripts", `{"name":"x","versions":{"1.0.0":{"scripts":{},"scripts":{"postinstall":"x"}}}}`, ErrMalformed, `repeats the member name "scripts"`},
		{"duplicate install script", `{"name":"x","versions":{"1.0.0":{"scripts":{"postinstall":"x","postinstall":""}}}}`, ErrMalformed, `scripts of version "1.0.0" repeats the member name "postinstall"`},
		{"duplicate version time", `{"name":"x","versions":{"1.0.0":{}},"time":{"1.0.0":"2020-01-01T00:00:00Z","1.0.0":"2026-01-01T00:00:00Z"}}`, ErrMalformed, `time object repeats the member name "1.0.0"`},
		{"duplicate modified", `{"name":"x","time":{"modified":"a","modified":"b"}}`, ErrMalformed, `time object repeats the member name "modified"`},
		{"duplicate tag", `{"name":"x","dist-tags":{"latest":"1.0.0","latest":"2.0.0"}}`, ErrMalformed, `dist-tags repeats the member name "latest"`},
		{"array", `["name"]`, ErrMalformed, "not a JSON object"},
		{"string", `"x"`, ErrMalformed, "not a JSON object"},
		{"versions not an object", `{"name":"x","versions":[]}`, ErrMalformed, "versions field is not an object"},
		{"versions null", `{"name":"x","versions":null}`, ErrMalformed, "versions field is not an object"},
		{"version not an object", `{"name":"x","versions":{"1.0.0":"1.0.0"}}`, ErrMalformed, `version "1.0.0" is not an object`},
		{"version field differs", `{"name":"x","versions":{"1.0.0":{"version":"1.0.1"}}}`, ErrMalformed, `"1.0.0" says it is version "1.0.1"`},
		{"version field not a string", `{"name":"x","versions":{"1.0.0":{"version":1}}}`, ErrMalformed, `says it is version "1"`},
		{"time not an object", `{"name":"x","time":"2020"}`, ErrMalformed, "time field is not an object"},
		{"dist-tags not an object", `{"name":"x","dist-tags":["latest"]}`, ErrMalformed, "dist-tags field is not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePackument([]byte(tt.raw), "x", lim)
			if err == nil {
				t.Fatalf("ParsePackument(%s) = %v, nil; want %v", tt.raw, p, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("ParsePackument(%s) = %v, want errors.Is %v", tt.raw, err, tt.want)
			}
			var de *DocumentError
			if !errors.As(err, &de) {
				t.Fatalf("ParsePackument(%s) = %T, want *DocumentError", tt.raw, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ParsePackument(%s) error = %q, want it to mention %q", tt.raw, err, tt.msg)
			}
			if strings.Contains(err.Error(), "registry.example.invalid") {
				t.Errorf("error %q leaks document content", err)
			}
		})
	}
	if _, err := ParsePackument([]byte(ok), "x", lim); err != nil {
		t.Errorf("ParsePackument(%s) = %v, want success", ok, err)
	}
}

func TestParseLimitBoundaries(t *testing.T) {
	doc := `{"name":"x","versions":{"1.0.0":{"a":` + deep(3) + `},"1.0.1":{}}}` // depth 6
	raw := []byte(doc)
	exact := Limits{MaxBytes: int64(len(raw)), MaxVersions: 2, MaxDepth: 6}
	if _, err := ParsePackument(raw, "x", exact); err != nil {
		t.Errorf("at the limits: %v", err)
	}
	if _, err := ParsePackument(raw, "x", Limits{}); err != nil {
		t.Errorf("zero Limits must mean unlimited: %v", err)
	}
	for _, lim := range []Limits{
		{MaxBytes: int64(len(raw)) - 1},
		{MaxVersions: 1},
		{MaxDepth: 5},
	} {
		if _, err := ParsePackument(raw, "x", lim); err == nil {
			t.Errorf("ParsePackument with %+v = nil error, want a limit error", lim)
		}
	}
	// Brackets inside strings do not nest: a value whose bracket count exceeds the
	// budget is measured exactly, not refused on the count.
	brackets := `{"name":"x","readme":["{{{{[[[["],"versions":{"1.0.0":{"bin":{"a":"[[[[{{{{"}}}}`
	if _, err := ParsePackument([]byte(brackets), "x", Limits{MaxDepth: 4}); err != nil {
		t.Errorf("ParsePackument(%s) with MaxDepth 4 = %v", brackets, err)
	}
	if _, err := ParsePackument([]byte(brackets), "x", Limits{MaxDepth: 3}); !errors.Is(err, ErrTooDeep) {
		t.Errorf("ParsePackument(%s) with MaxDepth 3 = %v, want ErrTooDeep", brackets, err)
	}
	// Empty objects count for their own level.
	for doc, depth := range map[string]int{
		`{"name":"x"}`:                                  1,
		`{"name":"x","time":{}}`:                        2,
		`{"name":"x","dist-tags":{}}`:                   2,
		`{"name":"x","versions":{}}`:                    2,
		`{"name":"x","versions":{"1.0.0":{}}}`:          3,
		`{"name":"x","versions":{"1.0.0":{"dist":{}}}}`: 4,
	} {
		if _, err := ParsePackument([]byte(doc), "x", Limits{MaxDepth: depth}); err != nil {
			t.Errorf("ParsePackument(%s) with MaxDepth %d = %v", doc, depth, err)
		}
		if _, err := ParsePackument([]byte(doc), "x", Limits{MaxDepth: depth - 1}); depth > 1 && !errors.Is(err, ErrTooDeep) {
			t.Errorf("ParsePackument(%s) with MaxDepth %d = %v, want ErrTooDeep", doc, depth-1, err)
		}
	}
}

func TestParseEmptyDocument(t *testing.T) {
	// An unpublished package has a name and time but no versions.
	raw := []byte(`{"name":"gone","time":{"created":"2020-01-01T00:00:00Z","unpublished":{"time":"2021-01-01T00:00:00Z"}}}`)
	p := mustParse(t, raw, "gone")
	if len(p.Versions) != 0 || len(p.DistTags) != 0 || p.Find("1.0.0") != nil {
		t.Errorf("parsed %+v", p)
	}
	out, err := p.Render(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"gone","time":{"created":"2020-01-01T00:00:00Z","unpublished":{"time":"2021-01-01T00:00:00Z"}},"dist-tags":{},"versions":{}}`
	if string(out) != want {
		t.Errorf("Render = %s\nwant %s", out, want)
	}
	abbr, err := p.RenderAbbreviated(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"gone","dist-tags":{},"versions":{}}`; string(abbr) != want {
		t.Errorf("RenderAbbreviated = %s\nwant %s", abbr, want)
	}
}

func FuzzParsePackument(f *testing.F) {
	f.Add(readTestdata(f, "basic.json"), "demo")
	for _, s := range []string{
		`{"name":"x","versions":{"1.0.0":{"version":"1.0.0","dist":{"tarball":"t","integrity":"sha512-x"},"scripts":{"install":"y"}}},"dist-tags":{"latest":"1.0.0","next":"2.0.0"},"time":{"1.0.0":"2020-01-01T00:00:00.5Z","modified":"2021-01-01T00:00:00Z"}}`,
		`{"name":"x","versions":{"1.0.0":{"d\u0069st":{"tarball":"\u0074"}},"2.0.0-rc.1":{"gypfile":true}},"dist-tags":{"latest":"2.0.0-rc.1"}}`,
		`{"name":"x","versions":{}}`,
		`{"name":"x","versions":{"1.0.0":{"dist":{"tarball":null}}}}`,
		` { "name" : "x" , "versions" : { "1.0.0" : { "dist" : { "tarball" : "a" } } } } `,
		`{"name":"x","versions":{"1.0.0":{"dependencies":{"a":"1","a":"2"},"readme":"r","readme":"s"}},"other":{"k":1,"k":2}}`,
	} {
		f.Add([]byte(s), "x")
	}
	f.Fuzz(func(t *testing.T, raw []byte, name string) {
		p, err := ParsePackument(raw, name, Limits{MaxDepth: 32, MaxVersions: 64})
		if err != nil {
			var de *DocumentError
			if !errors.As(err, &de) || de.Reason == "" {
				t.Fatalf("ParsePackument error %#v is not a *DocumentError with a reason", err)
			}
			return
		}
		ref := reference(t, raw)
		checkInfos(t, p, ref)
		// Everything kept and nothing rewritten.
		out, err := p.Render(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkRendered(t, p, ref, out, nil, nil)
		again, err := ParsePackument(out, name, Limits{})
		if err != nil {
			t.Fatalf("Render output does not parse again: %v\n%s", err, out)
		}
		if len(again.Versions) != len(p.Versions) {
			t.Fatalf("round trip kept %d of %d versions", len(again.Versions), len(p.Versions))
		}
		// Every other version kept, tarballs rewritten.
		odd := func(i int) bool { return i%2 == 1 }
		out, err = p.Render(odd, gateURL)
		if err != nil {
			t.Fatal(err)
		}
		checkRendered(t, p, ref, out, odd, gateURL)
		abbr, err := p.RenderAbbreviated(odd, gateURL)
		if err != nil {
			t.Fatal(err)
		}
		checkAbbreviated(t, p, ref, abbr, odd, gateURL)
	})
}

// TestParseAdoptsBuffer: a document read into a buffer of about its own size is used in
// place (no copy of a possibly 20 MB document), while one sitting in a much larger
// buffer is copied so the unused capacity is not kept alive by the cache.
func TestParseAdoptsBuffer(t *testing.T) {
	doc := `{"name":"demo","versions":{"1.0.0":{"name":"demo","version":"1.0.0","dist":{"integrity":"sha512-x"}}}}`
	tests := []struct {
		name   string
		extra  int
		shared bool
	}{
		{"exact size", 0, true},
		{"small slack", len(doc) / 8, true},
		{"large slack", len(doc), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := append(make([]byte, 0, len(doc)+tt.extra), doc...)
			p := mustParse(t, raw, "demo")
			got := p.Versions[0].Info.Integrity
			shared := unsafe.StringData(got) == &raw[strings.Index(doc, "sha512-x")]
			if shared != tt.shared {
				t.Errorf("name shares the caller's buffer = %v, want %v", shared, tt.shared)
			}
		})
	}
}

// TestCaseVariantMembersDropped: top-level members whose names differ from a member
// Écluse rewrites only by case ("Versions", "TIME", an escaped "\u0056ersions") could
// carry a withheld version's original tarball URL; they are left out of every rendering.
func TestCaseVariantMembersDropped(t *testing.T) {
	doc := `{"name":"x","dist-tags":{"latest":"1.0.0"},` +
		`"Versions":{"2.0.0":{"dist":{"tarball":"https://evil.example.test/x-2.0.0.tgz"}}},` +
		`"\u0056ERSIONS":{"2.0.0":{}},"TIME":{"2.0.0":"2026-01-01T00:00:00Z"},"Dist-Tags":{"latest":"2.0.0"},"NAME":"y",` +
		`"versions":{"1.0.0":{"name":"x","version":"1.0.0","dist":{"integrity":"sha512-AAAA","tarball":"https://r.example.test/x-1.0.0.tgz"}}},` +
		`"time":{"1.0.0":"2020-01-01T00:00:00Z"},"readme":"kept","Readme":"kept too"}`
	p, err := ParsePackument([]byte(doc), "x", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, render := range []func() ([]byte, error){
		func() ([]byte, error) { return p.Render(nil, nil) },
		func() ([]byte, error) { return p.RenderAbbreviated(nil, nil) },
	} {
		out, err := render()
		if err != nil {
			t.Fatal(err)
		}
		for _, gone := range []string{"evil.example.test", "Versions", "ERSIONS", "TIME", "Dist-Tags", "NAME"} {
			if strings.Contains(string(out), gone) {
				t.Errorf("rendering still carries %q:\n%s", gone, out)
			}
		}
	}
	full, _ := p.Render(nil, nil)
	if !strings.Contains(string(full), `"Readme":"kept too"`) {
		t.Errorf("a member that shadows nothing Écluse rewrites was dropped:\n%s", full)
	}
}

// TestParseKeepsSignatures: dist.signatures is kept as the exact text served, for the
// signing check to read, and a version without it has none.
func TestParseKeepsSignatures(t *testing.T) {
	const sigs = `[ {"keyid":"SHA256:k","sig":"MEUC\u0041"} ]`
	raw := `{"name":"x","versions":{"1.0.0":{"dist":{"integrity":"sha512-a","signatures":` + sigs + `}},"2.0.0":{"dist":{}}}}`
	p, err := ParsePackument([]byte(raw), "x", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Find("1.0.0").Info.Signatures; got != sigs {
		t.Errorf("Signatures = %q, want %q", got, sigs)
	}
	if got := p.Find("2.0.0").Info.Signatures; got != "" {
		t.Errorf("Signatures of an unsigned version = %q, want empty", got)
	}
}
