package gomod

import (
	"errors"
	"testing"
)

var requestTests = []struct {
	name string
	path string
	want Request
	bad  bool
}{
	{name: "list", path: "/golang.org/x/text/@v/list", want: Request{Kind: KindList, Module: "golang.org/x/text"}},
	{name: "info", path: "/golang.org/x/text/@v/v0.3.0.info", want: Request{Kind: KindInfo, Module: "golang.org/x/text", Version: "v0.3.0"}},
	{name: "mod", path: "/golang.org/x/text/@v/v0.3.0.mod", want: Request{Kind: KindMod, Module: "golang.org/x/text", Version: "v0.3.0"}},
	{name: "zip", path: "/golang.org/x/text/@v/v0.3.0.zip", want: Request{Kind: KindZip, Module: "golang.org/x/text", Version: "v0.3.0"}},
	{name: "latest", path: "/golang.org/x/text/@latest", want: Request{Kind: KindLatest, Module: "golang.org/x/text"}},
	{name: "case-encoded path", path: "/github.com/!burnt!sushi/toml/@v/v1.2.1.zip", want: Request{Kind: KindZip, Module: "github.com/BurntSushi/toml", Version: "v1.2.1"}},
	{name: "case-encoded version", path: "/example.com/m/@v/v1.0.0-!r!c1.info", want: Request{Kind: KindInfo, Module: "example.com/m", Version: "v1.0.0-RC1"}},
	{name: "major suffix", path: "/example.com/m/v2/@v/v2.1.0.mod", want: Request{Kind: KindMod, Module: "example.com/m/v2", Version: "v2.1.0"}},
	{name: "incompatible", path: "/example.com/m/@v/v2.0.0+incompatible.zip", want: Request{Kind: KindZip, Module: "example.com/m", Version: "v2.0.0+incompatible"}},
	{name: "pseudo-version", path: "/example.com/m/@v/v0.0.0-20191109021931-daa7c04131f5.info", want: Request{Kind: KindInfo, Module: "example.com/m", Version: "v0.0.0-20191109021931-daa7c04131f5"}},
	{name: "gopkg.in", path: "/gopkg.in/yaml.v3/@v/v3.0.1.zip", want: Request{Kind: KindZip, Module: "gopkg.in/yaml.v3", Version: "v3.0.1"}},
	{name: "sumdb supported", path: "/sumdb/sum.example.test/supported", want: Request{Kind: KindSumDB, SumDB: "sum.example.test", SumDBPath: "/supported"}},
	{name: "sumdb latest", path: "/sumdb/sum.example.test/latest", want: Request{Kind: KindSumDB, SumDB: "sum.example.test", SumDBPath: "/latest"}},
	{name: "sumdb lookup", path: "/sumdb/sum.example.test/lookup/github.com/!burnt!sushi/toml@v1.2.1", want: Request{Kind: KindSumDB, SumDB: "sum.example.test", SumDBPath: "/lookup/github.com/!burnt!sushi/toml@v1.2.1", Module: "github.com/BurntSushi/toml", Version: "v1.2.1"}},
	{name: "sumdb tile", path: "/sumdb/sum.example.test/tile/8/0/x001/234", want: Request{Kind: KindSumDB, SumDB: "sum.example.test", SumDBPath: "/tile/8/0/x001/234"}},
	{name: "sumdb partial tile", path: "/sumdb/sum.example.test/tile/8/1/000.p/5", want: Request{Kind: KindSumDB, SumDB: "sum.example.test", SumDBPath: "/tile/8/1/000.p/5"}},
	{name: "sumdb data tile", path: "/sumdb/sum.example.test/tile/8/data/000", want: Request{Kind: KindSumDB, SumDB: "sum.example.test", SumDBPath: "/tile/8/data/000"}},

	{name: "empty", path: "", bad: true},
	{name: "root", path: "/", bad: true},
	{name: "no slash", path: "golang.org/x/text/@v/list", bad: true},
	{name: "no route", path: "/golang.org/x/text", bad: true},
	{name: "upper case in path", path: "/github.com/BurntSushi/toml/@v/list", bad: true},
	{name: "upper case in version", path: "/example.com/m/@v/v1.0.0-RC1.info", bad: true},
	{name: "empty module", path: "/@v/list", bad: true},
	{name: "empty latest module", path: "/@latest", bad: true},
	{name: "empty version", path: "/example.com/m/@v/.info", bad: true},
	{name: "unknown file", path: "/example.com/m/@v/v1.0.0.tgz", bad: true},
	{name: "no extension", path: "/example.com/m/@v/v1.0.0", bad: true},
	{name: "branch query", path: "/example.com/m/@v/master.info", bad: true},
	{name: "commit query", path: "/example.com/m/@v/daa7c04131f5.info", bad: true},
	{name: "short version", path: "/example.com/m/@v/v1.2.info", bad: true},
	{name: "build metadata", path: "/example.com/m/@v/v1.2.3+meta.zip", bad: true},
	{name: "wrong major", path: "/example.com/m/@v/v2.0.0.zip", bad: true},
	{name: "v2 path v1 version", path: "/example.com/m/v2/@v/v1.0.0.zip", bad: true},
	{name: "v1 incompatible", path: "/example.com/m/@v/v1.0.0+incompatible.zip", bad: true},
	{name: "percent escape", path: "/example.com/m/@v/v1.0.0%2einfo", bad: true},
	{name: "dot dot", path: "/example.com/../m/@v/list", bad: true},
	{name: "trailing slash", path: "/example.com/m/@v/list/", bad: true},
	{name: "double @v", path: "/example.com/m/@v/@v/list", bad: true},
	{name: "no dot in first element", path: "/localhost/m/@v/list", bad: true},
	{name: "bang at end", path: "/example.com/m!/@v/list", bad: true},
	{name: "non-ASCII", path: "/example.com/mé/@v/list", bad: true},
	{name: "too long", path: "/example.com/" + string(make([]byte, MaxPathLength)) + "/@v/list", bad: true},
	{name: "sumdb without path", path: "/sumdb/sum.example.test", bad: true},
	{name: "sumdb bad name", path: "/sumdb/Sum.Example/latest", bad: true},
	{name: "sumdb empty name", path: "/sumdb//latest", bad: true},
	{name: "sumdb unknown", path: "/sumdb/sum.example.test/admin", bad: true},
	{name: "sumdb lookup without version", path: "/sumdb/sum.example.test/lookup/example.com/m", bad: true},
	{name: "sumdb lookup bad version", path: "/sumdb/sum.example.test/lookup/example.com/m@master", bad: true},
	{name: "sumdb bad tile", path: "/sumdb/sum.example.test/tile/8/0/1x", bad: true},
	{name: "sumdb tile traversal", path: "/sumdb/sum.example.test/tile/../../etc", bad: true},
}

func TestParseRequest(t *testing.T) {
	for _, tt := range requestTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest(tt.path)
			if tt.bad {
				var pe *PathError
				if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidPath) {
					t.Fatalf("ParseRequest(%q) = %+v, %v, want a *PathError", tt.path, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRequest(%q) = %+v, %v, want %+v", tt.path, got, err, tt.want)
			}
			if back := got.EscapedPath(); back != tt.path {
				t.Errorf("ParseRequest(%q).EscapedPath() = %q, want the input", tt.path, back)
			}
		})
	}
}

func TestIsCanonical(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.2.3": true, "v0.0.0-20191109021931-daa7c04131f5": true, "v2.0.0+incompatible": true,
		"v1.0.0-rc.1": true, "v1.2": false, "v1": false, "1.2.3": false, "v1.2.3+meta": false,
		"v1.0.0+incompatible": false, "v0.1.0+incompatible": false, "": false, "v01.2.3": false,
	} {
		if got := IsCanonical(v); got != want {
			t.Errorf("IsCanonical(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindList: "list", KindInfo: "info", KindMod: "mod", KindZip: "zip",
		KindLatest: "latest", KindSumDB: "sumdb", Kind(99): "Kind(99)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}
