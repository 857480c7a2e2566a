package npm

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

var scanSeeds = []string{
	`{}`, `[]`, `""`, `0`, `-1.5e+10`, `true`, `null`,
	` { "a" : [ 1 , { "b" : "c\"}" } ] , "d\\" : "\\\"" } `,
	`{"a":{"b":{"c":[[[]]]}},"e":"]}"}`,
	`["\u0022", "\\", "x\\\"y", {"k\u0065y": 1}]`,
	"{\"\\\\\":\"\\\\\\\\\"}",
}

// referenceDepth is the deepest nesting jsontext reports while reading v.
func referenceDepth(t *testing.T, v []byte) int {
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	depth := 0
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return depth
		}
		if err != nil {
			t.Fatal(err)
		}
		if k := tok.Kind(); k == '{' || k == '[' {
			depth = max(depth, dec.StackDepth())
		}
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !jsontext.Value(b).IsValid() {
			return
		}
		doc := string(b)
		start := skipSpace(doc, 0)
		end, depth := skipValue(doc, start)
		if rest := skipSpace(doc, end); rest != len(b) {
			t.Fatalf("skipValue(%q) ended at %d, leaving %q", b, end, b[end:])
		}
		if want := referenceDepth(t, b); depth != want {
			t.Fatalf("skipValue(%q) depth = %d, want %d", b, depth, want)
		}
		if b[start] != '{' {
			return
		}
		wantKeys, wantVals := rawMembers(t, b[start:end])
		it := newObjectIter(doc, start)
		for i := 0; ; i++ {
			kq, vs, ok := it.next()
			if !ok {
				if i != len(wantKeys) {
					t.Fatalf("objectIter(%q) found %d members, want %d", b, i, len(wantKeys))
				}
				break
			}
			ve, _ := skipValue(doc, vs)
			it.done(ve)
			if i >= len(wantKeys) {
				t.Fatalf("objectIter(%q) found more than %d members", b, len(wantKeys))
			}
			if got := key(kq); got != wantKeys[i] {
				t.Fatalf("objectIter(%q) key %d = %q, want %q", b, i, got, wantKeys[i])
			}
			if doc[vs:ve] != string(wantVals[i]) {
				t.Fatalf("objectIter(%q) value %d = %q, want %q", b, i, b[vs:ve], wantVals[i])
			}
		}
		if it.end() != end {
			t.Fatalf("objectIter(%q) end = %d, want %d", b, it.end(), end)
		}
	})
}

func TestTruthy(t *testing.T) {
	for in, want := range map[string]bool{
		`""`: false, `"x"`: true, `" "`: true, `false`: false, `null`: false, `true`: true,
		`0`: false, `-0`: false, `0.0`: false, `0e10`: false, `1`: true, `-0.5`: true, `1e999`: true,
		`{}`: true, `[]`: true,
	} {
		if got := truthy(in); got != want {
			t.Errorf("truthy(%s) = %v, want %v", in, got, want)
		}
	}
}

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`: "plain", `"a\"b"`: `a"b`, `"\u00e9\n"`: "é\n", `""`: "",
	} {
		got, ok := unquote(in)
		if !ok || got != want {
			t.Errorf("unquote(%s) = %q, %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{`1`, `null`, `{}`, ``} {
		if _, ok := unquote(in); ok {
			t.Errorf("unquote(%s) ok, want not a string", in)
		}
	}
}
