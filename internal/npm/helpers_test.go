package npm

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixtureDir holds the real packuments shared by the project (see its README.md). The
// repository is checked out with shared/ beside it.
const fixtureDir = "../../../shared/fixtures/packuments"

// fixture describes one real packument.
type fixture struct {
	file     string
	name     string
	versions int
}

var fixtures = []fixture{
	{"next.json.gz", "next", 2627},
	{"typescript.json.gz", "typescript", 3478},
	{"types__node.json.gz", "@types/node", 2346},
	{"react.json.gz", "react", 2963},
	{"express.json.gz", "express", 290},
	{"lodash.json.gz", "lodash", 117},
}

var fixtureCache sync.Map // file name → []byte

// loadFixture returns a fixture's uncompressed bytes. The slice is shared between
// tests: never modify it.
func loadFixture(tb testing.TB, file string) []byte {
	tb.Helper()
	if b, ok := fixtureCache.Load(file); ok {
		return b.([]byte)
	}
	path := filepath.Join(fixtureDir, file)
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("real packument fixture %s is missing (%v); clone the project with shared/ beside the repository", path, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("fixture %s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("fixture %s: %v", path, err)
	}
	fixtureCache.Store(file, b)
	return b
}

// readTestdata returns a file under testdata/.
func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// checkGolden compares got with testdata/name, or rewrites the file under -update.
// JSON goldens are stored indented for review and compared after compaction, so the
// check is byte-exact on the compact form.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		pretty, err := jsontext.AppendFormat(nil, got, jsontext.WithIndent("  "))
		if err != nil {
			t.Fatalf("%s: output is not JSON: %v", name, err)
		}
		if err := os.WriteFile(path, append(pretty, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	wantCompact, err := jsontext.AppendFormat(nil, want)
	if err != nil {
		t.Fatalf("golden %s is not JSON: %v", name, err)
	}
	gotCompact, err := jsontext.AppendFormat(nil, got)
	if err != nil {
		t.Fatalf("output for %s is not JSON: %v\n%s", name, err, got)
	}
	if !bytes.Equal(gotCompact, wantCompact) {
		t.Errorf("output differs from %s (run go test -update and review the diff):\ngot:  %s\nwant: %s", path, gotCompact, wantCompact)
	}
}

// gateURL is the tarball rewrite used across the tests: back through a gate.
func gateURL(v *Version) string {
	return "https://ecluse.example.test" + TarballPath(v.Info.Name, v.Key)
}

func mustParse(tb testing.TB, raw []byte, name string) *Packument {
	tb.Helper()
	p, err := ParsePackument(raw, name, Limits{})
	if err != nil {
		tb.Fatalf("ParsePackument(%s) = %v", name, err)
	}
	return p
}

// keepKeys returns a keep function serving only the listed version keys.
func keepKeys(p *Packument, keys ...string) func(int) bool {
	set := map[string]bool{}
	for _, k := range keys {
		set[k] = true
	}
	return func(i int) bool { return set[p.Versions[i].Key] }
}

// rawMembers returns the members of a JSON object as raw values, in order.
func rawMembers(tb testing.TB, obj []byte) (keys []string, vals []jsontext.Value) {
	tb.Helper()
	dec := jsontext.NewDecoder(bytes.NewReader(obj), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		tb.Fatalf("not an object: %v %s", err, obj)
	}
	for dec.PeekKind() != '}' {
		k, err := dec.ReadToken()
		if err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, k.String())
		v, err := dec.ReadValue()
		if err != nil {
			tb.Fatal(err)
		}
		vals = append(vals, bytes.Clone(v))
	}
	return keys, vals
}

// memberValue returns the raw value of key in a JSON object, or nil.
func memberValue(tb testing.TB, obj []byte, key string) jsontext.Value {
	tb.Helper()
	keys, vals := rawMembers(tb, obj)
	for i, k := range keys {
		if k == key {
			return vals[i]
		}
	}
	return nil
}
