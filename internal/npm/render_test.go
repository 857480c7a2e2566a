package npm

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// basicKept withholds 1.2.0 and 2.0.0-rc.1 from testdata/basic.json, so "latest" and
// "next" must move, "legacy" stays and "ghost" (never published) goes.
var basicKept = []string{"0.9.0", "1.0.0", "1.1.0"}

func TestRenderGolden(t *testing.T) {
	raw := readTestdata(t, "basic.json")
	p := mustParse(t, raw, "demo")
	ref := reference(t, raw)
	keep := keepKeys(p, basicKept...)

	full, err := p.Render(keep, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "basic.render.golden.json", full)
	checkRendered(t, p, ref, full, keep, gateURL)

	abbr, err := p.RenderAbbreviated(keep, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "basic.abbreviated.golden.json", abbr)
	checkAbbreviated(t, p, ref, abbr, keep, gateURL)

	all, err := p.RenderAbbreviated(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	checkAbbreviated(t, p, ref, all, nil, gateURL)
}

func TestRenderKeepsUntouchedBytes(t *testing.T) {
	raw := readTestdata(t, "basic.json")
	p := mustParse(t, raw, "demo")
	out, err := p.Render(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// With nothing withheld or rewritten, only the rebuilt objects lose their
	// whitespace: every manifest and every other member is the served bytes.
	checkRendered(t, p, reference(t, raw), out, nil, nil)
	for _, v := range p.Versions {
		if !bytes.Contains(out, []byte(v.Raw)) {
			t.Errorf("manifest of %s not copied verbatim", v.Key)
		}
	}
	for _, s := range []string{
		`"description":"A demo package with \"quotes\", a tab\t and an é"`,
		`"readme":"# demo\n\nKept as it is.\n"`,
		`"maintainers":[{"name": "someone", "email": "someone@example.invalid"}]`,
		`"time":{"created":"2020-01-01T00:00:00.000Z","modified":"2024-06-01T12:00:00.000Z","0.5.0":"2019-12-01T00:00:00.000Z",`,
		`"dist-tags":{"latest":"1.2.0","next":"2.0.0-rc.1","legacy":"0.9.0"}`,
	} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("Render output lacks %s\n%s", s, out)
		}
	}
}

func TestRenderCompactIsIdentity(t *testing.T) {
	raw := []byte(`{"_id":"x","name":"x","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"x","version":"1.0.0",` +
		`"dist":{"tarball":"https://registry.example.invalid/x/-/x-1.0.0.tgz"}}},"time":{"created":"2020-01-01T00:00:00Z","1.0.0":"2020-01-01T00:00:00Z"},"readme":"r"}`)
	p := mustParse(t, raw, "x")
	for _, tarballURL := range []func(*Version) string{nil, func(*Version) string { return "" }} {
		out, err := p.Render(nil, tarballURL)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, raw) {
			t.Errorf("Render(nil, no rewrite) =\n%s\nwant the input\n%s", out, raw)
		}
	}
}

func TestRenderManifestWithoutTarball(t *testing.T) {
	raw := []byte(`{"name":"x","versions":{"1.0.0":{"dist":{"shasum":"abc"}},"1.0.1":{"name":"x"}}}`)
	p := mustParse(t, raw, "x")
	calls := 0
	out, err := p.Render(nil, func(v *Version) string { calls++; return gateURL(v) })
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"x","versions":{"1.0.0":{"dist":{"shasum":"abc"}},"1.0.1":{"name":"x"}},"dist-tags":{}}`
	if string(out) != want {
		t.Errorf("Render = %s\nwant %s", out, want)
	}
	if calls != 0 {
		t.Errorf("tarballURL called %d times for manifests without dist.tarball", calls)
	}
}

func TestRenderRejectsInvalidURL(t *testing.T) {
	p := mustParse(t, readTestdata(t, "basic.json"), "demo")
	bad := func(*Version) string { return "https://x.example.test/\xff" }
	if _, err := p.Render(nil, bad); err == nil {
		t.Error("Render with an invalid UTF-8 URL succeeded")
	}
	if _, err := p.RenderAbbreviated(nil, bad); err == nil {
		t.Error("RenderAbbreviated with an invalid UTF-8 URL succeeded")
	}
	if _, err := p.RenderVersion("1.0.0", nil, bad); err == nil {
		t.Error("RenderVersion with an invalid UTF-8 URL succeeded")
	}
}

func TestRenderBuffersAreTight(t *testing.T) {
	p := mustParse(t, readTestdata(t, "basic.json"), "demo")
	keep := keepKeys(p, basicKept...)
	full, _ := p.Render(keep, gateURL)
	abbr, _ := p.RenderAbbreviated(keep, gateURL)
	for name, b := range map[string][]byte{"Render": full, "RenderAbbreviated": abbr} {
		if spare := cap(b) - len(b); spare > len(b)/8+1024 {
			t.Errorf("%s output has %d spare bytes of capacity for %d bytes", name, spare, len(b))
		}
	}
}

func TestRenderVersion(t *testing.T) {
	raw := readTestdata(t, "basic.json")
	p := mustParse(t, raw, "demo")
	ref := reference(t, raw)
	keep := keepKeys(p, basicKept...)
	tests := []struct {
		ref, want string
	}{
		{"1.0.0", "1.0.0"},
		{"0.9.0", "0.9.0"},
		{"latest", "1.1.0"}, // moved from the withheld 1.2.0
		{"next", "1.1.0"},   // moved from the withheld 2.0.0-rc.1
		{"legacy", "0.9.0"},
	}
	for _, tt := range tests {
		got, err := p.RenderVersion(tt.ref, keep, gateURL)
		if err != nil {
			t.Errorf("RenderVersion(%q) = %v", tt.ref, err)
			continue
		}
		checkManifest(t, p.Find(tt.want), got, gateURL, ref)
	}
	for _, ref := range []string{"1.2.0", "2.0.0-rc.1", "ghost", "9.9.9", "", "0.5.0"} {
		if _, err := p.RenderVersion(ref, keep, gateURL); !errors.Is(err, ErrVersionNotFound) {
			t.Errorf("RenderVersion(%q) error = %v, want ErrVersionNotFound", ref, err)
		}
	}
	// Nothing withheld: the tag's own target.
	got, err := p.RenderVersion("latest", nil, nil)
	if err != nil || string(got) != p.Find("1.2.0").Raw {
		t.Errorf("RenderVersion(latest, all) = %s, %v", got, err)
	}
}

func TestAbbreviatedInstallScriptFlag(t *testing.T) {
	raw := readTestdata(t, "basic.json")
	p := mustParse(t, raw, "demo")
	out, err := p.RenderAbbreviated(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	versions := memberValue(t, out, "versions")
	tests := []struct {
		key, want string // want: the raw hasInstallScript value, "" for absent
	}{
		{"0.9.0", ""},     // no scripts
		{"1.0.0", ""},     // test and prepare do not run on install
		{"1.1.0", "true"}, // postinstall, flag added
		{"1.2.0", "true"}, // gypfile, flag false replaced
		{"2.0.0-rc.1", "true"},
	}
	for _, tt := range tests {
		m := memberValue(t, versions, tt.key)
		if got := string(memberValue(t, m, "hasInstallScript")); got != tt.want {
			t.Errorf("abbreviated %s hasInstallScript = %q, want %q\n%s", tt.key, got, tt.want, m)
		}
	}
	// A flag set without any script stays as served.
	q := mustParse(t, []byte(`{"name":"f","versions":{"1.0.0":{"hasInstallScript":true}}}`), "f")
	out, err = q.RenderAbbreviated(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"f","dist-tags":{},"versions":{"1.0.0":{"hasInstallScript":true}}}`; string(out) != want {
		t.Errorf("RenderAbbreviated = %s, want %s", out, want)
	}
}

func TestAbbreviatedDropsOtherFields(t *testing.T) {
	p := mustParse(t, readTestdata(t, "basic.json"), "demo")
	out, err := p.RenderAbbreviated(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"readme", "maintainers", "_rev", "description", "funding", "libc", "scripts",
		"_npmUser", "repository", "main", `"time"`, "registry.example.invalid"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("abbreviated form contains %s:\n%s", s, out)
		}
	}
	// Kept members are copied as served, spacing included.
	for _, s := range []string{`"os": ["linux", "darwin"]`, `"cpu": ["x64", "arm64"]`, `"peerDependenciesMeta": {"react": {"optional": true}}`,
		`"_hasShrinkwrap": false`, `"bundleDependencies": ["inner"]`, `"deprecated": "use 1.x"`, `"engines": {"node": ">=18"}`,
		`"signatures": [{"keyid": "SHA256:example", "sig": "MEUCIQ=="}]`} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("abbreviated form lacks %s:\n%s", s, out)
		}
	}
}

func TestAbbreviatedModified(t *testing.T) {
	tests := []struct {
		name, time, want string
	}{
		{"from time.modified", `{"modified":"2024-01-01T00:00:00Z","1.0.0":"2020-01-01T00:00:00Z"}`, `"2024-01-01T00:00:00Z"`},
		{"latest kept publish time", `{"1.0.0":"2020-01-01T00:00:00.000Z","1.1.0":"2021-06-01T00:00:00.000Z","2.0.0":"2022-01-01T00:00:00Z"}`, `"2021-06-01T00:00:00.000Z"`},
		{"unparseable times are skipped", `{"1.0.0":"2020-01-01T00:00:00Z","1.1.0":"soon"}`, `"2020-01-01T00:00:00Z"`},
		{"modified that is not a string", `{"modified":5,"1.0.0":"2020-01-01T00:00:00Z"}`, `"2020-01-01T00:00:00Z"`},
		{"no times at all", `{}`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := `{"name":"m","versions":{"1.0.0":{},"1.1.0":{},"2.0.0":{}},"time":` + tt.time + `}`
			p := mustParse(t, []byte(raw), "m")
			out, err := p.RenderAbbreviated(keepKeys(p, "1.0.0", "1.1.0"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(memberValue(t, out, "modified")); got != tt.want {
				t.Errorf("modified = %s, want %s", got, tt.want)
			}
			if !strings.HasPrefix(string(out), `{"name":"m",`) {
				t.Errorf("abbreviated form starts %s", out)
			}
		})
	}
}

func TestConcurrentRender(t *testing.T) {
	// One parsed document serves many requests at once; run under -race.
	p := mustParse(t, readTestdata(t, "basic.json"), "demo")
	keep := keepKeys(p, basicKept...)
	wantFull, _ := p.Render(keep, gateURL)
	wantAbbr, _ := p.RenderAbbreviated(keep, gateURL)
	u := Union(p, p, keep)
	done := make(chan error)
	for range 8 {
		go func() {
			for range 20 {
				full, err := p.Render(keep, gateURL)
				if err == nil && !bytes.Equal(full, wantFull) {
					err = errors.New("Render output changed")
				}
				abbr, err2 := p.RenderAbbreviated(keep, gateURL)
				if err == nil && (err2 != nil || !bytes.Equal(abbr, wantAbbr)) {
					err = errors.New("RenderAbbreviated output changed")
				}
				if _, err3 := p.RenderVersion("latest", keep, gateURL); err == nil && err3 != nil {
					err = err3
				}
				if _, err4 := u.Render(nil, gateURL); err == nil && err4 != nil {
					err = err4
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
