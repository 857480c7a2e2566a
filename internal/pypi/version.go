package pypi

import (
	"cmp"
	"fmt"
	"strconv"
)

// Bounds on a version string. PEP 440 sets none; real versions are far shorter.
const (
	// maxVersionLen bounds a version as written, whitespace included.
	maxVersionLen = 128
	// maxReleaseSegments bounds the numbers of a release segment ("1.2.3" has 3).
	maxReleaseSegments = 32
	// maxNumberDigits bounds one number (leading zeros aside), so it fits an int64.
	maxNumberDigits = 18
)

// preKind is a pre-release phase, in PEP 440 order.
type preKind uint8

const (
	preNone preKind = iota
	preAlpha
	preBeta
	preRC
)

// Version is a PEP 440 version. It is parsed from any spelling the PEP accepts and
// keeps pieces of the string it was parsed from, so parsing does not allocate.
// The zero Version is "0".
type Version struct {
	epoch int64
	// release is the release segment as written: decimal numbers separated by '.',
	// leading zeros kept. Empty only in the zero Version.
	release string
	pre     preKind
	preN    int64
	hasPost bool
	post    int64
	hasDev  bool
	dev     int64
	// local is the local version label as written, without its '+' (segments of
	// ASCII letters and digits separated by '.', '_' or '-', any case); empty when
	// there is none.
	local string
}

// ParseVersion parses s as a PEP 440 version, accepting every spelling the PEP's
// normalisation rules allow: any case, surrounding whitespace, a leading "v",
// '-', '_' and '.' separators, "alpha", "beta", "c", "pre" and "preview" for the
// pre-release phases, "r" and "rev" for post, omitted numbers (0), "1.0-1" for a
// post-release, and '-' or '_' between local segments. Numbers may have at most 18
// digits, the release at most 32 numbers, and s at most 128 bytes.
func ParseVersion(s string) (Version, error) {
	v, at, why := parseVersion(s)
	if why != "" {
		if at >= 0 {
			return Version{}, fmt.Errorf("%w %q: %s at byte %d", ErrInvalidVersion, clip(s), why, at)
		}
		return Version{}, fmt.Errorf("%w %q: %s", ErrInvalidVersion, clip(s), why)
	}
	return v, nil
}

// Canonical returns the normalised form of the version s, and false when s is not a
// PEP 440 version.
func Canonical(s string) (string, bool) {
	v, _, why := parseVersion(s)
	if why != "" {
		return "", false
	}
	return v.String(), true
}

// isSpace reports the ASCII white space PEP 440 tells parsers to ignore around a
// version.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// isVersionSep reports a separator PEP 440 allows between a version's parts.
func isVersionSep(c byte) bool { return c == '.' || c == '-' || c == '_' }

// readNumber reads the decimal digits of s from i. It returns their value and the
// index after them (i itself when there are none, with value 0). ok is false when
// the number has more than maxNumberDigits digits once leading zeros are dropped.
func readNumber(s string, i int) (n int64, end int, ok bool) {
	end = i
	for end < len(s) && s[end] == '0' {
		end++
	}
	start := end
	for end < len(s) && isASCIIDigit(s[end]) {
		if end-start >= maxNumberDigits {
			return 0, end, false
		}
		n = n*10 + int64(s[end]-'0')
		end++
	}
	return n, end, true
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word w, in any
// case.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if lowerASCII(s[i]) != w[i] {
			return false
		}
	}
	return true
}

// preLabels are the pre-release spellings, each before any spelling that is its
// prefix, so the first match is the longest.
var preLabels = [...]struct {
	word string
	kind preKind
}{
	{"alpha", preAlpha}, {"a", preAlpha},
	{"beta", preBeta}, {"b", preBeta},
	{"preview", preRC}, {"pre", preRC}, {"rc", preRC}, {"c", preRC},
}

// postLabels are the post-release spellings, longest first.
var postLabels = [...]string{"post", "rev", "r"}

func matchPre(s string) (preKind, int) {
	for _, l := range preLabels {
		if hasPrefixFold(s, l.word) {
			return l.kind, len(l.word)
		}
	}
	return preNone, 0
}

func matchPost(s string) int {
	for _, w := range postLabels {
		if hasPrefixFold(s, w) {
			return len(w)
		}
	}
	return 0
}

// parseVersion is ParseVersion without the error value: why is empty on success,
// else a constant saying what is wrong, and at the byte offset in s it concerns (-1
// when none). It does not allocate.
//
// The grammar is the one PEP 440 gives in its appendix as a regular expression;
// wherever that expression could match in more than one way, taking the longest
// match at each step (as below) gives the match it finds, so no backtracking is
// needed.
func parseVersion(s string) (v Version, at int, why string) {
	if len(s) > maxVersionLen {
		return Version{}, -1, "longer than 128 bytes"
	}
	lead := 0
	for lead < len(s) && isSpace(s[lead]) {
		lead++
	}
	t := trimSpace(s)
	if t == "" {
		return Version{}, -1, "empty"
	}
	pos := func(i int) int { return lead + i }
	i := 0
	if t[0] == 'v' || t[0] == 'V' {
		i++
	}
	n, j, ok := readNumber(t, i)
	if !ok {
		return Version{}, pos(i), "number longer than 18 digits"
	}
	if j == i {
		return Version{}, pos(i), "no release number"
	}
	if j < len(t) && t[j] == '!' {
		v.epoch = n
		i = j + 1
		if _, j, ok = readNumber(t, i); !ok {
			return Version{}, pos(i), "number longer than 18 digits"
		}
		if j == i {
			return Version{}, pos(i), "no release number after the epoch"
		}
	}
	relStart, segs := i, 1
	i = j
	for i+1 < len(t) && t[i] == '.' && isASCIIDigit(t[i+1]) {
		if segs++; segs > maxReleaseSegments {
			return Version{}, pos(i), "more than 32 release numbers"
		}
		if _, j, ok = readNumber(t, i+1); !ok {
			return Version{}, pos(i + 1), "number longer than 18 digits"
		}
		i = j
	}
	v.release = t[relStart:i]

	// Pre-release: [sep] label [sep] [number].
	k := i
	if k < len(t) && isVersionSep(t[k]) {
		k++
	}
	if kind, l := matchPre(t[k:]); l > 0 {
		k += l
		if k < len(t) && isVersionSep(t[k]) {
			k++
		}
		if v.preN, i, ok = readNumber(t, k); !ok {
			return Version{}, pos(k), "number longer than 18 digits"
		}
		v.pre = kind
	}

	// Post-release: "-" number, or [sep] label [sep] [number].
	if i+1 < len(t) && t[i] == '-' && isASCIIDigit(t[i+1]) {
		if v.post, i, ok = readNumber(t, i+1); !ok {
			return Version{}, pos(i + 1), "number longer than 18 digits"
		}
		v.hasPost = true
	} else {
		k = i
		if k < len(t) && isVersionSep(t[k]) {
			k++
		}
		if l := matchPost(t[k:]); l > 0 {
			k += l
			if k < len(t) && isVersionSep(t[k]) {
				k++
			}
			if v.post, i, ok = readNumber(t, k); !ok {
				return Version{}, pos(k), "number longer than 18 digits"
			}
			v.hasPost = true
		}
	}

	// Development release: [sep] "dev" [sep] [number].
	k = i
	if k < len(t) && isVersionSep(t[k]) {
		k++
	}
	if hasPrefixFold(t[k:], "dev") {
		k += 3
		if k < len(t) && isVersionSep(t[k]) {
			k++
		}
		if v.dev, i, ok = readNumber(t, k); !ok {
			return Version{}, pos(k), "number longer than 18 digits"
		}
		v.hasDev = true
	}

	// Local label: "+" segments of letters and digits, separated by one of ". _ -".
	if i < len(t) && t[i] == '+' {
		start := i + 1
		k = start
		for {
			segStart := k
			for k < len(t) && isASCIIAlnum(t[k]) {
				k++
			}
			if k == segStart {
				return Version{}, pos(k), "empty local version segment"
			}
			if k < len(t) && isVersionSep(t[k]) {
				k++
				continue
			}
			break
		}
		v.local = t[start:k]
		i = k
	}
	if i != len(t) {
		return Version{}, pos(i), "unexpected character"
	}
	return v, -1, ""
}

// nextNumber reads the number starting at s[i] (digits up to a '.' or the end) and
// returns it with the index of the next number (past the '.'). The input is a
// release segment parseVersion accepted, so every number fits.
func nextNumber(s string, i int) (int64, int) {
	var n int64
	for i < len(s) && s[i] != '.' {
		n = n*10 + int64(s[i]-'0')
		i++
	}
	if i < len(s) {
		i++
	}
	return n, i
}

// String returns v in PEP 440's normalised form: "1!2.0rc1.post2.dev3+ubuntu.1".
func (v Version) String() string {
	b := make([]byte, 0, len(v.release)+len(v.local)+24)
	b = v.appendPublic(b)
	if v.local != "" {
		b = append(b, '+')
		b = appendLocal(b, v.local)
	}
	return string(b)
}

// Public returns v's normalised form without its local label.
func (v Version) Public() string {
	return string(v.appendPublic(make([]byte, 0, len(v.release)+24)))
}

func (v Version) appendPublic(b []byte) []byte {
	if v.epoch != 0 {
		b = strconv.AppendInt(b, v.epoch, 10)
		b = append(b, '!')
	}
	if v.release == "" {
		b = append(b, '0')
	}
	for i := 0; i < len(v.release); {
		var n int64
		if i > 0 {
			b = append(b, '.')
		}
		n, i = nextNumber(v.release, i)
		b = strconv.AppendInt(b, n, 10)
	}
	switch v.pre {
	case preAlpha:
		b = append(b, 'a')
	case preBeta:
		b = append(b, 'b')
	case preRC:
		b = append(b, "rc"...)
	}
	if v.pre != preNone {
		b = strconv.AppendInt(b, v.preN, 10)
	}
	if v.hasPost {
		b = append(b, ".post"...)
		b = strconv.AppendInt(b, v.post, 10)
	}
	if v.hasDev {
		b = append(b, ".dev"...)
		b = strconv.AppendInt(b, v.dev, 10)
	}
	return b
}

// nextLocal returns the local segment starting at s[i] and the index of the next
// one (past its separator).
func nextLocal(s string, i int) (string, int) {
	j := i
	for j < len(s) && !isVersionSep(s[j]) {
		j++
	}
	seg := s[i:j]
	if j < len(s) {
		j++
	}
	return seg, j
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isASCIIDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// appendLocal appends the normalised local label: lower case, segments joined by
// '.', numeric segments without leading zeros.
func appendLocal(b []byte, local string) []byte {
	for i := 0; i < len(local); {
		var seg string
		if i > 0 {
			b = append(b, '.')
		}
		seg, i = nextLocal(local, i)
		if isAllDigits(seg) {
			b = append(b, trimZeros(seg)...)
			continue
		}
		for k := 0; k < len(seg); k++ {
			b = append(b, lowerASCII(seg[k]))
		}
	}
	return b
}

// IsPrerelease reports whether v is a pre-release or a development release.
func (v Version) IsPrerelease() bool { return v.pre != preNone || v.hasDev }

// Compare returns -1, 0 or +1 as a sorts before, with or after b in PEP 440's
// order: by epoch; by release, trailing zeros insignificant; then a release's
// development releases, its pre-releases (a < b < rc, each followed by its own
// post-releases, each preceded by its own development releases), the release, and
// its post-releases (each preceded by its development releases); last the local
// label, where no label sorts first, segments compare one by one, numbers
// numerically and above any word, words by their lower-case spelling, and a label
// that is a prefix of another sorts first. Versions that normalise alike compare
// equal.
func Compare(a, b Version) int {
	if c := cmp.Compare(a.epoch, b.epoch); c != 0 {
		return c
	}
	if c := compareRelease(a.release, b.release); c != 0 {
		return c
	}
	ap, an := a.preKey()
	bp, bn := b.preKey()
	if c := cmp.Compare(ap, bp); c != 0 {
		return c
	}
	if c := cmp.Compare(an, bn); c != 0 {
		return c
	}
	if c := cmpOptional(a.hasPost, a.post, b.hasPost, b.post, false); c != 0 {
		return c
	}
	if c := cmpOptional(a.hasDev, a.dev, b.hasDev, b.dev, true); c != 0 {
		return c
	}
	return compareLocal(a.local, b.local)
}

// preKey places v's pre-release part: a development release of the release itself
// sorts before every pre-release, and no pre-release sorts after them all.
func (v Version) preKey() (int64, int64) {
	switch {
	case v.pre != preNone:
		return int64(v.pre), v.preN
	case v.hasDev && !v.hasPost:
		return -1, 0
	default:
		return 1 << 8, 0
	}
}

// cmpOptional compares two optional numbers; an absent one sorts first, or last
// when absentLast.
func cmpOptional(ha bool, a int64, hb bool, b int64, absentLast bool) int {
	switch {
	case ha && hb:
		return cmp.Compare(a, b)
	case ha == hb:
		return 0
	case ha != absentLast:
		return 1
	default:
		return -1
	}
}

func compareRelease(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var x, y int64
		if i < len(a) {
			x, i = nextNumber(a, i)
		}
		if j < len(b) {
			y, j = nextNumber(b, j)
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// compareDecimal compares two digit strings by value, whatever their length.
func compareDecimal(a, b string) int {
	a, b = trimZeros(a), trimZeros(b)
	if len(a) != len(b) {
		return cmp.Compare(int64(len(a)), int64(len(b)))
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareWordFold compares two ASCII words by their lower-case spelling.
func compareWordFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := lowerASCII(a[i]), lowerASCII(b[i])
		if x != y {
			return cmp.Compare(int64(x), int64(y))
		}
	}
	return cmp.Compare(int64(len(a)), int64(len(b)))
}

func compareLocal(a, b string) int {
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		var x, y string
		x, i = nextLocal(a, i)
		y, j = nextLocal(b, j)
		xn, yn := isAllDigits(x), isAllDigits(y)
		var c int
		switch {
		case xn && yn:
			c = compareDecimal(x, y)
		case xn:
			c = 1
		case yn:
			c = -1
		default:
			c = compareWordFold(x, y)
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case i < len(a):
		return 1
	case j < len(b):
		return -1
	}
	return 0
}
