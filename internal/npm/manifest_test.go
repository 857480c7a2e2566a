package npm

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePackageJSON(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       *Manifest
		wantErr    string
	}{
		{name: "identity and scripts", json: `{"name":" x ","version":"v1.0.0","scripts":{"postinstall":"node a.js","install":null,"preinstall":"","test":"t"}}`,
			want: &Manifest{Name: " x ", Version: "v1.0.0", Scripts: []Script{{Name: "postinstall", Value: "node a.js", IsString: true}}}},
		{name: "scripts not an object", json: `{"scripts":"node a.js"}`, want: &Manifest{}},
		{name: "dependencies", json: `{"dependencies":{"a":"^1","b":2,"c":"git+ssh://git@github.com/u/c.git"},"optionalDependencies":{"o":"~1"}}`,
			want: &Manifest{Dependencies: map[string]string{"a": "^1", "c": "git+ssh://git@github.com/u/c.git"}, OptionalDependencies: map[string]string{"o": "~1"}}},
		{name: "legacy array dependencies", json: `{"dependencies":["a@1.0.0","b >=2","c"]}`,
			want: &Manifest{Dependencies: map[string]string{"a": "1.0.0", "b": ">=2", "c": ""}}},
		{name: "legacy string dependencies", json: `{"dependencies":"a@1, b"}`,
			want: &Manifest{Dependencies: map[string]string{"a": "1", "b": ""}}},
		{name: "bundle spellings", json: `{"bundledDependencies":["x"],"bundleDependencies":["y"]}`, want: &Manifest{Bundled: []string{"y"}}},
		{name: "bundled only", json: `{"bundledDependencies":["x"]}`, want: &Manifest{Bundled: []string{"x"}}},
		{name: "bundle all", json: `{"bundleDependencies":true}`, want: &Manifest{BundleAll: true}},
		{name: "gypfile false", json: `{"gypfile":false}`, want: &Manifest{NoGypfile: true}},
		{name: "gypfile true", json: `{"gypfile":1}`, want: &Manifest{Gypfile: true}},
		{name: "escaped keys", json: `{"n\u0061me":"x","scripts":{"post\u0069nstall":"y"}}`,
			want: &Manifest{Name: "x", Scripts: []Script{{Name: "postinstall", Value: "y", IsString: true}}}},
		{name: "escaped repeat", json: `{"name":"x","n\u0061me":"y"}`, wantErr: `repeats the member "name"`},
		{name: "repeated gypfile", json: `{"gypfile":false,"gypfile":true}`, wantErr: `repeats the member "gypfile"`},
		{name: "repeated optional dependency", json: `{"optionalDependencies":{"a":"1","a":"2"}}`, wantErr: `repeats inside optionalDependencies`},
		{name: "not an object", json: `"x"`, wantErr: "is not a JSON object"},
		{name: "empty", json: ``, wantErr: "is not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePackageJSON([]byte(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParsePackageJSON(%s) = %+v, %v; want error %q", tc.json, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParsePackageJSON(%s) = %+v, %v; want %+v", tc.json, got, err, tc.want)
			}
		})
	}
}

func TestVersionManifestLastWins(t *testing.T) {
	v := &Version{Raw: `{"name":"x","dependencies":{"a":"1","a":"2","b":"1","b":{}},"scripts":{"install":"a","install":"b"}}`}
	m, err := v.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Dependencies, map[string]string{"a": "2"}) || m.Scripts[0].Value != "b" {
		t.Errorf("Manifest() = %+v, want the last of repeated names, as JSON.parse", m)
	}
}

func TestCleanVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.2.3", "1.2.3"},
		{" v1.2.3 ", "1.2.3"},
		{"=v1.2.3", "1.2.3"},
		{"01.002.3", "1.2.3"},
		{"1.2.3beta", "1.2.3-beta"},
		{"1.2.3-beta.01", "1.2.3-beta.1"},
		{"1.2.3-rc.1+build.5", "1.2.3-rc.1"},
		{"1.2.3+build", "1.2.3"},
		{"1.2.3--", "1.2.3--"},
		{"1.2", ""},
		{"1.2.3.4", ""},
		{"x", ""},
		{"9007199254740992.0.0", ""},
		{"", ""},
	} {
		got, ok := CleanVersion(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("CleanVersion(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	if !SameVersion("v1.0.0", "1.0.0") || !SameVersion("1.0.0+x", "1.0.0+y") || SameVersion("1.0.1", "1.0.0") || SameVersion("", "") {
		t.Error("SameVersion disagrees with npm's normalisation")
	}
	if !SameName(" x ", "x") || SameName("X", "x") || SameName("", "") {
		t.Error("SameName disagrees with npm's normalisation")
	}
}

func TestCompareManifests(t *testing.T) {
	parse := func(s string) *Manifest {
		t.Helper()
		m, err := ParsePackageJSON([]byte(s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		return m
	}
	for _, tc := range []struct {
		name          string
		meta, tarball string
		gyp           bool
		scripts, deps []string // names that differ
	}{
		{name: "the same", meta: `{"scripts":{"postinstall":"a"},"dependencies":{"x":"1"}}`, tarball: `{"scripts":{"postinstall":"a"},"dependencies":{"x":"1"}}`},
		{name: "postinstall only in the tarball", meta: `{}`, tarball: `{"scripts":{"postinstall":"node evil.js"}}`, scripts: []string{"postinstall"}},
		{name: "postinstall only in the metadata", meta: `{"scripts":{"postinstall":"a"}}`, tarball: `{}`, scripts: []string{"postinstall"}},
		{name: "another command", meta: `{"scripts":{"install":"a"}}`, tarball: `{"scripts":{"install":"b"}}`, scripts: []string{"install"}},
		{name: "a non-string script", meta: `{}`, tarball: `{"scripts":{"install":1}}`, scripts: []string{"install"}},
		{name: "node_modules/.bin", meta: `{"scripts":{"install":"prebuild-install"}}`, tarball: `{"scripts":{"install":"./node_modules/.bin/prebuild-install"}}`},
		{name: "npm's gyp script", meta: `{"scripts":{"install":"node-gyp rebuild"},"gypfile":true}`, tarball: `{}`, gyp: true},
		{name: "gyp script without the gyp file", meta: `{"scripts":{"install":"node-gyp rebuild"}}`, tarball: `{}`, scripts: []string{"install"}},
		{name: "gyp file the metadata flags", meta: `{"gypfile":true}`, tarball: `{}`, gyp: true},
		{name: "gyp file the metadata hides", meta: `{}`, tarball: `{}`, gyp: true, scripts: []string{"install"}},
		{name: "gyp file switched off", meta: `{}`, tarball: `{"gypfile":false}`, gyp: true},
		{name: "gyp file beside an install script", meta: `{"scripts":{"install":"prebuild-install || node-gyp rebuild"}}`,
			tarball: `{"scripts":{"install":"prebuild-install || node-gyp rebuild"}}`, gyp: true},
		{name: "optional dependencies folded", meta: `{"dependencies":{"a":"1","o":"2"},"optionalDependencies":{"o":"2"}}`,
			tarball: `{"dependencies":{"a":"1"},"optionalDependencies":{"o":"2"}}`},
		{name: "optional dependencies deduplicated", meta: `{"dependencies":{"a":"1"},"optionalDependencies":{"o":"2"}}`,
			tarball: `{"dependencies":{"a":"1","o":"3"},"optionalDependencies":{"o":"2"}}`},
		{name: "bundled dependency filled in", meta: `{"dependencies":{"b":"*"},"bundleDependencies":["b"]}`, tarball: `{"bundleDependencies":["b"]}`},
		{name: "hosted git spellings", meta: `{"dependencies":{"g":"git+ssh://git@github.com/u/r.git#v1","h":"git+https://gitlab.com/u/h.git"}}`,
			tarball: `{"dependencies":{"g":"u/r#v1","h":"gitlab:u/h"}}`},
		{name: "another repository", meta: `{"dependencies":{"g":"github:u/r"}}`, tarball: `{"dependencies":{"g":"github:evil/r"}}`, deps: []string{"g"}},
		{name: "dependency added, removed and changed", meta: `{"dependencies":{"a":"1","b":"1"}}`,
			tarball: `{"dependencies":{"a":"2","c":"1"}}`, deps: []string{"a", "b", "c"}},
		{name: "white space", meta: `{"dependencies":{"a":"^1.0.0"}}`, tarball: `{"dependencies":{"a":" ^1.0.0 "}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := CompareManifests(parse(tc.meta), parse(tc.tarball), tc.gyp)
			var scripts, deps []string
			for _, s := range d.Scripts {
				scripts = append(scripts, s.Name)
				if s.String() == "" {
					t.Error("empty description")
				}
			}
			for _, s := range d.Dependencies {
				deps = append(deps, s.Name)
			}
			if !reflect.DeepEqual(scripts, tc.scripts) || !reflect.DeepEqual(deps, tc.deps) {
				t.Errorf("CompareManifests = scripts %v, deps %v; want %v, %v (%+v)", scripts, deps, tc.scripts, tc.deps, d)
			}
		})
	}
	d := Difference{Name: "postinstall", Tarball: "node evil.js", InTarball: true}
	if got, want := d.String(), `"postinstall": "node evil.js" in the tarball, none in the metadata`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// FuzzParsePackageJSON: never panics; what the strict reader accepts, the lenient one
// (used on registry manifests) reads the same way.
func FuzzParsePackageJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","version":"1.0.0","scripts":{"postinstall":"a"},"dependencies":{"a":"1"},"bundleDependencies":true}`,
		`{"dependencies":["a@1"],"optionalDependencies":"b c","gypfile":false}`,
		"\xef\xbb\xbf{\"name\":\"\xff\"}", `[]`, `{"scripts":{"install":{}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParsePackageJSON(b)
		if err != nil {
			return
		}
		i := 0
		if len(b) >= 3 && string(b[:3]) == "\xef\xbb\xbf" {
			i = 3
		}
		lenient, err := readManifest(string(b[i:]), false)
		if err != nil || !reflect.DeepEqual(m, lenient) {
			t.Fatalf("strict %+v, lenient %+v, %v", m, lenient, err)
		}
		_ = CompareManifests(m, lenient, true)
	})
}
