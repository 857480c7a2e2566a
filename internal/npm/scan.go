package npm

import (
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// This file holds a tiny JSON walker for text that jsontext has already validated. It
// works on strings so that what it finds (keys, string values, whole manifests) can be
// handed out as substrings of the one document string, without copying.
// Validation is the expensive, careful step; once it has passed, finding where a value
// starts and ends only needs the structural bytes and the string boundaries, which is
// much cheaper than decoding. The walker never allocates and never recurses. It stays
// inside the slice whatever it is given, but its offsets only mean something for
// valid JSON, so it must never see bytes that were not validated first.

// skipSpace returns the index of the first byte at or after i that is not JSON
// whitespace.
func skipSpace(b string, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the string that opens at b[i] (a quote).
func stringEnd(b string, i int) int {
	i++
	for {
		j := strings.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		k := i + j
		// The quote is escaped when an odd run of backslashes precedes it.
		n := 0
		for m := k - 1; m >= i && b[m] == '\\'; m-- {
			n++
		}
		if n&1 == 0 {
			return k + 1
		}
		i = k + 1
	}
}

// skipValue returns the index just past the value that starts at b[i], and how deeply
// it nests: 0 for a string, number or literal, 1 for a flat object or array, and so on.
func skipValue(b string, i int) (end, depth int) {
	if i >= len(b) {
		return i, 0
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i), 0
	case '{', '[':
		return skipNested(b, i)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i, 0
		}
		i++
	}
	return i, 0
}

// skipNested is skipValue for an object or array.
func skipNested(b string, i int) (end, depth int) {
	level := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = stringEnd(b, i)
			continue
		case '{', '[':
			level++
			if level > depth {
				depth = level
			}
		case '}', ']':
			level--
			if level == 0 {
				return i + 1, depth
			}
		}
		i++
	}
	return i, depth
}

// objectIter walks the members of one object. Start it with newObjectIter at the
// object's opening brace; after each next, the caller must report where the member's
// value ended with done (usually from skipValue, or from its own walk of the value).
type objectIter struct {
	b string
	i int
}

func newObjectIter(b string, open int) objectIter { return objectIter{b: b, i: open + 1} }

// next returns the next member's key (with its quotes, as written) and the index
// where its value starts. ok is false at the closing brace.
func (it *objectIter) next() (key string, valueStart int, ok bool) {
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		it.i = i
		return "", 0, false
	}
	ke := stringEnd(b, i)
	key = b[i:ke]
	i = skipSpace(b, ke)
	if i < len(b) { // the colon
		i++
	}
	return key, skipSpace(b, i), true
}

// done records where the current member's value ended.
func (it *objectIter) done(valueEnd int) { it.i = valueEnd }

// end returns the index just past the object's closing brace; call it once next has
// returned false.
func (it *objectIter) end() int { return min(it.i+1, len(it.b)) }

// unquote returns the text of a JSON string (quotes included in v), escapes resolved.
// Strings without a backslash, which is nearly all of them, come back as a substring
// of v; only the others are copied. ok is false when v is not a string.
func unquote(v string) (s string, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	out, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return "", false
	}
	return string(out), true
}

// truthy reports whether a JSON value counts as true in JavaScript, which is how npm
// reads flags and script entries: everything except false, null, 0 and "".
func truthy(v string) bool {
	if len(v) == 0 {
		return false
	}
	switch v[0] {
	case 'f', 'n':
		return false
	case '"':
		return len(v) > 2
	case 't', '{', '[':
		return true
	}
	f, err := strconv.ParseFloat(v, 64)
	return err != nil || f != 0
}
