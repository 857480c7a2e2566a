package policy

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The glob dialect of every package-name pattern Écluse reads (the policy's package
// lists, a mount's internal names): "*" matches any run of characters other than "/",
// "**" (or any longer run of stars) matches any run of characters including "/", and
// every other character matches itself. A pattern ending in "/**" also matches what
// comes before that ending: "corp.example.com/**" covers the module
// "corp.example.com" and everything below it, as GOPRIVATE's "corp.example.com" does. Matching is case-sensitive; a caller that wants
// otherwise folds both sides.

// maxGlobLen bounds a glob as written. It is far above any package name (npm's are at
// most 214 bytes) and keeps the general matcher's state on the stack.
const maxGlobLen = 1024

// errPattern is wrapped by every pattern parse error.
var errPattern = errors.New("malformed pattern")

// Glob is a compiled package-name pattern. Its zero value matches nothing. It is
// immutable, safe for concurrent use, and Match does not allocate.
type Glob struct {
	// text is the pattern as written.
	text string
	// shape says which matcher runs.
	shape globShape
	// prefix and suffix are the literal text before the first star and after the last.
	prefix, suffix string
	// toks is the pattern as tokens, for the general matcher: a byte, tokStar or
	// tokAny. Nil for the shapes that do not need it.
	toks []int16
	// root is set when the pattern ends in "/**": the pattern without that ending,
	// which names the root of everything the pattern covers ("corp.example.com/**"
	// covers "corp.example.com" too). Nil otherwise.
	root *Glob
}

type globShape uint8

const (
	shapeNone    globShape = iota // the zero Glob: matches nothing
	shapeLiteral                  // no star
	shapeStar                     // prefix*suffix: one "*"
	shapeAny                      // prefix**suffix: one "**"
	shapeStars                    // only single stars: compared one "/"-segment at a time
	shapeGeneral                  // anything else
)

// Tokens of the general matcher besides bytes.
const (
	tokStar int16 = -1 - iota // "*": any run without "/"
	tokAny                    // "**": any run
)

// CompileGlob compiles a package-name pattern in Écluse's glob dialect. It refuses an
// empty pattern, one longer than 1024 bytes, and one holding spaces, control characters
// or bytes that are not UTF-8.
func CompileGlob(pattern string) (Glob, error) {
	if err := checkGlob(pattern); err != nil {
		return Glob{}, err
	}
	g := Glob{text: pattern}
	if base, ok := strings.CutSuffix(pattern, "/**"); ok && base != "" && !strings.HasSuffix(base, "*") {
		root, err := CompileGlob(base)
		if err == nil {
			g.root = &root
		}
	}
	first := strings.IndexByte(pattern, '*')
	if first < 0 {
		g.shape = shapeLiteral
		return g, nil
	}
	last := strings.LastIndexByte(pattern, '*')
	g.prefix, g.suffix = pattern[:first], pattern[last+1:]
	middle := pattern[first : last+1]
	switch {
	case len(middle) == 1:
		g.shape = shapeStar
		return g, nil
	case strings.Trim(middle, "*") == "":
		g.shape = shapeAny
		return g, nil
	case !strings.Contains(pattern, "**"):
		g.shape = shapeStars
		return g, nil
	}
	g.shape = shapeGeneral
	g.toks = make([]int16, 0, len(pattern))
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '*' {
			g.toks = append(g.toks, int16(pattern[i]))
			continue
		}
		j := i
		for j+1 < len(pattern) && pattern[j+1] == '*' {
			j++
		}
		if j > i {
			g.toks = append(g.toks, tokAny)
		} else {
			g.toks = append(g.toks, tokStar)
		}
		i = j
	}
	return g, nil
}

// checkGlob returns nil for a pattern the dialect accepts, else why not.
func checkGlob(pattern string) error {
	if pattern == "" {
		return fmt.Errorf("%w: empty", errPattern)
	}
	if len(pattern) > maxGlobLen {
		return fmt.Errorf("%w: longer than %d bytes", errPattern, maxGlobLen)
	}
	if !utf8.ValidString(pattern) {
		return fmt.Errorf("%w %q: not UTF-8", errPattern, pattern)
	}
	for _, r := range pattern {
		switch {
		case unicode.IsSpace(r):
			return fmt.Errorf("%w %q: a space is not allowed", errPattern, pattern)
		case unicode.IsControl(r):
			return fmt.Errorf("%w %q: control character %q is not allowed", errPattern, pattern, r)
		}
	}
	return nil
}

// String returns the pattern as written.
func (g *Glob) String() string { return g.text }

// Match reports whether name matches the pattern. It does not allocate.
func (g *Glob) Match(name string) bool {
	// The exact name is the usual pattern: compared here, where the call is inlined.
	if g.shape == shapeLiteral {
		return name == g.text
	}
	return g.matchWild(name) || (g.root != nil && g.root.Match(name))
}

// matchWild is Match for the shapes with stars.
func (g *Glob) matchWild(name string) bool {
	switch g.shape {
	case shapeStar, shapeAny:
		if len(name) < len(g.prefix)+len(g.suffix) || !strings.HasPrefix(name, g.prefix) || !strings.HasSuffix(name, g.suffix) {
			return false
		}
		return g.shape == shapeAny || strings.IndexByte(name[len(g.prefix):len(name)-len(g.suffix)], '/') < 0
	case shapeStars:
		if !strings.HasPrefix(name, g.prefix) || !strings.HasSuffix(name, g.suffix) {
			return false
		}
		return globMatch(g.text, name)
	case shapeGeneral:
		return g.matchGeneral(name)
	}
	return false
}

// globMatch reports whether name matches pat, where "*" matches any run of characters
// except "/" and every other byte matches itself. Because a star never crosses "/",
// pattern and name are compared one "/"-separated segment at a time.
func globMatch(pat, name string) bool {
	for {
		pseg, prest, pmore := strings.Cut(pat, "/")
		nseg, nrest, nmore := strings.Cut(name, "/")
		if pmore != nmore || !segmentMatch(pseg, nseg) {
			return false
		}
		if !pmore {
			return true
		}
		pat, name = prest, nrest
	}
}

// segmentMatch is the classic linear wildcard match with a single backtrack point:
// on a mismatch, the most recent star absorbs one more byte.
func segmentMatch(pat, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pat) && pat[px] == '*':
			starPx, starSx = px, sx
			px++
		case px < len(pat) && pat[px] == s[sx]:
			px++
			sx++
		case starPx >= 0:
			starSx++
			px, sx = starPx+1, starSx
		default:
			return false
		}
	}
	for px < len(pat) && pat[px] == '*' {
		px++
	}
	return px == len(pat)
}

// globWords is the size of the general matcher's state: one bit per token position.
const globWords = (maxGlobLen + 1 + 63) / 64

// matchGeneral runs the pattern as a nondeterministic automaton over the name: the
// state is the set of token positions reached, kept in a bit set on the stack, so it
// takes time proportional to the name's length times the pattern's, whatever the
// stars.
func (g *Glob) matchGeneral(name string) bool {
	var cur, next [globWords]uint64
	n := len(g.toks)
	words := n/64 + 1
	cur[0] = 1
	g.closure(&cur)
	for i := 0; i < len(name); i++ {
		c := name[i]
		clear(next[:words])
		moved := false
		for w, word := range cur[:words] {
			for set := word; set != 0; set &= set - 1 {
				p := w*64 + bits.TrailingZeros64(set)
				if p >= n {
					continue
				}
				switch t := g.toks[p]; {
				case t == tokAny, t == tokStar && c != '/':
					next[p/64] |= 1 << (p % 64)
					moved = true
				case t >= 0 && byte(t) == c:
					next[(p+1)/64] |= 1 << ((p + 1) % 64)
					moved = true
				}
			}
		}
		if !moved {
			return false
		}
		cur = next
		g.closure(&cur)
	}
	return cur[n/64]&(1<<(n%64)) != 0
}

// closure adds to the set every position reachable without reading a byte: a star
// may match nothing, so the position after it is reached along with it.
func (g *Glob) closure(set *[globWords]uint64) {
	for p, t := range g.toks {
		if t < 0 && set[p/64]&(1<<(p%64)) != 0 {
			set[(p+1)/64] |= 1 << ((p + 1) % 64)
		}
	}
}

// Names is a compiled list of package-name patterns. A nil *Names matches nothing.
type Names struct {
	globs []Glob
	// folded are the patterns with ASCII letters in lower case, for MatchFold.
	folded []Glob
}

// NameError is CompileNames' error: which entry of the list is wrong, and why. Its text
// starts with the index in brackets ("[1]: malformed pattern ..."), so that a caller
// prefixes the list's own path ("internal" + err.Error()).
type NameError struct {
	// Index is the entry's position in the list.
	Index int
	// Err is CompileGlob's error, which wraps the malformed-pattern sentinel.
	Err error
}

func (e *NameError) Error() string { return fmt.Sprintf("[%d]: %v", e.Index, e.Err) }

// Unwrap returns CompileGlob's error.
func (e *NameError) Unwrap() error { return e.Err }

// CompileNames compiles a list of patterns in the glob dialect of CompileGlob. The error,
// a *NameError, names the first entry that does not compile. An empty list gives a
// Names that matches nothing.
func CompileNames(patterns []string) (*Names, error) {
	n := &Names{globs: make([]Glob, 0, len(patterns)), folded: make([]Glob, 0, len(patterns))}
	for i, p := range patterns {
		g, err := CompileGlob(p)
		if err != nil {
			return nil, &NameError{Index: i, Err: err}
		}
		n.globs = append(n.globs, g)
		// Folding ASCII letters keeps the length and every character's class, so the
		// folded pattern compiles too.
		f, _ := CompileGlob(lowerASCII(p))
		n.folded = append(n.folded, f)
	}
	return n, nil
}

// MatchFold reports whether some pattern of the list matches name when ASCII letters
// are compared without regard to case, for registries that treat names so (an npm
// client may ask for "@Corp/x", which must not slip past "@corp/*"). It allocates only
// when name holds an upper-case letter.
func (n *Names) MatchFold(name string) bool {
	if n == nil {
		return false
	}
	name = lowerASCII(name)
	for i := range n.folded {
		if n.folded[i].Match(name) {
			return true
		}
	}
	return false
}

// lowerASCII returns s with ASCII letters in lower case, s itself when it has none in
// upper case.
func lowerASCII(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Match reports whether some pattern of the list matches name. It does not allocate.
func (n *Names) Match(name string) bool {
	if n == nil {
		return false
	}
	for i := range n.globs {
		if n.globs[i].Match(name) {
			return true
		}
	}
	return false
}

// Len returns how many patterns the list holds; 0 for a nil *Names.
func (n *Names) Len() int {
	if n == nil {
		return 0
	}
	return len(n.globs)
}
