package npm

import (
	"bytes"
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
		if err == io.EOF {
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
		start := skipSpace(b, 0)
		end, depth := skipValue(b, start)
		if rest := skipSpace(b, end); rest != len(b) {
			t.Fatalf("skipValue(%q) ended at %d, leaving %q", b, end, b[end:])
		}
		if want := referenceDepth(t, b); depth != want {
			t.Fatalf("skipValue(%q) depth = %d, want %d", b, depth, want)
		}
		if b[start] != '{' {
			return
		}
		wantKeys, wantVals := rawMembers(t, b[start:end])
		it := newObjectIter(b, start)
		var scratch []byte
		for i := 0; ; i++ {
			kq, vs, ok := it.next()
			if !ok {
				if i != len(wantKeys) {
					t.Fatalf("objectIter(%q) found %d members, want %d", b, i, len(wantKeys))
				}
				break
			}
			ve, _ := skipValue(b, vs)
			it.done(ve)
			if i >= len(wantKeys) {
				t.Fatalf("objectIter(%q) found more than %d members", b, len(wantKeys))
			}
			if got := string(keyText(kq, &scratch)); got != wantKeys[i] {
				t.Fatalf("objectIter(%q) key %d = %q, want %q", b, i, got, wantKeys[i])
			}
			if !bytes.Equal(b[vs:ve], wantVals[i]) {
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
		if got := truthy([]byte(in)); got != want {
			t.Errorf("truthy(%s) = %v, want %v", in, got, want)
		}
	}
}

func TestStringValue(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`: "plain", `"a\"b"`: `a"b`, `"\u00e9\n"`: "é\n", `""`: "",
	} {
		got, ok := stringValue([]byte(in))
		if !ok || got != want {
			t.Errorf("stringValue(%s) = %q, %v, want %q", in, got, ok, want)
		}
		if !stringEquals([]byte(in), want) {
			t.Errorf("stringEquals(%s, %q) = false", in, want)
		}
	}
	for _, in := range []string{`1`, `null`, `{}`, ``} {
		if _, ok := stringValue([]byte(in)); ok {
			t.Errorf("stringValue(%s) ok, want not a string", in)
		}
	}
}
