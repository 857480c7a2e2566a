package advisory

import (
	"cmp"
	"strconv"
	"strings"
)

// Version is a version parsed in an ecosystem's ordering: a SemVer 2.0 triple and its
// prerelease identifiers. Build metadata is read but not kept, since it takes no part
// in the order. The zero Version is 0.0.0; whether a Version came from a successful
// parse is what ParseVersion's ok says. A Version is a small value, cheap to copy.
type Version struct {
	major, minor, patch uint64
	// pre is the prerelease without its leading '-' (its dot-separated identifiers),
	// a substring of the parsed text; empty for a release.
	pre string
}

// maxSafeInteger is the largest version number node-semver accepts (JavaScript's
// Number.MAX_SAFE_INTEGER); npm cannot publish a version past it.
const maxSafeInteger = 1<<53 - 1

// ParseVersion parses a version in an ecosystem's ordering. npm: strict SemVer 2.0 as
// node-semver reads it (no leading zeros, every number below 2^53), with one leading
// "v" or "=" tolerated. go: a module version, which must start with "v" and carry all
// three numbers, each below 10^19 (pseudo-versions and "+incompatible" are SemVer, so
// they parse too). ok is false for a version that does not parse, and for any other
// ecosystem: the index has no ordering of its own for PyPI, whose advisories match
// through their explicit versions lists. Parsing does not allocate; the Version keeps
// a piece of s when s has a prerelease.
func ParseVersion(ecosystem, s string) (v Version, ok bool) {
	return parseStrict(ecoIndex(ecosystem), s)
}

// parseStrict is ParseVersion by ecosystem index.
func parseStrict(eco uint8, s string) (v Version, ok bool) {
	ok = parseStrictTo(&v, eco, s)
	return v, ok
}

// parseStrictTo is parseStrict writing into *v (the lookup's hot path: it spares
// copying the result through the calls).
func parseStrictTo(v *Version, eco uint8, s string) bool {
	switch eco {
	case ecoNPM:
		if s != "" && (s[0] == 'v' || s[0] == '=') {
			s = s[1:]
		}
		return parseSemverTo(v, s, maxSafeInteger, false)
	case ecoGo:
		if s == "" || s[0] != 'v' {
			return false
		}
		return parseSemverTo(v, s[1:], 1<<64-1, false)
	}
	return false
}

// parseBound parses a version as an OSV record writes it in a range event or a
// versions list. It is more tolerant than ParseVersion, as bounds are written by
// people and tools rather than by the package manager: surrounding spaces, any run of
// leading "v" and "=" (OSV's Go records drop the "v" a module version has), and a
// missing minor or patch number ("1.2" reads as 1.2.0). Everything after the numbers
// is as strict as ParseVersion.
func parseBound(eco uint8, s string) (v Version, ok bool) {
	if eco != ecoNPM && eco != ecoGo {
		return Version{}, false
	}
	s = strings.TrimSpace(s)
	for s != "" && (s[0] == 'v' || s[0] == '=') {
		s = s[1:]
	}
	limit := uint64(maxSafeInteger)
	if eco == ecoGo {
		limit = 1<<64 - 1
	}
	ok = parseSemverTo(&v, s, limit, true)
	return v, ok
}

// parseSemverTo parses "MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]" into *v with SemVer
// 2.0's rules: numbers without leading zeros and at most limit, prerelease identifiers
// non-empty [0-9A-Za-z-] and numeric ones without leading zeros, build identifiers
// non-empty [0-9A-Za-z-]. short allows the minor and patch numbers to be left out. On
// failure *v is the zero Version.
func parseSemverTo(v *Version, s string, limit uint64, short bool) bool {
	*v = Version{}
	var ok bool
	if v.major, s, ok = parseNumber(s, limit); !ok {
		return false
	}
	if s == "" || s[0] != '.' {
		if !short || (s != "" && s[0] != '-' && s[0] != '+') {
			return false
		}
	} else {
		if v.minor, s, ok = parseNumber(s[1:], limit); !ok {
			*v = Version{}
			return false
		}
		if s == "" || s[0] != '.' {
			if !short || (s != "" && s[0] != '-' && s[0] != '+') {
				*v = Version{}
				return false
			}
		} else if v.patch, s, ok = parseNumber(s[1:], limit); !ok {
			*v = Version{}
			return false
		}
	}
	if s == "" {
		return true
	}
	if s[0] == '-' {
		end := strings.IndexByte(s, '+')
		if end < 0 {
			end = len(s)
		}
		v.pre = s[1:end]
		if !validIdentifiers(v.pre, true) {
			*v = Version{}
			return false
		}
		s = s[end:]
	}
	if s != "" && (s[0] != '+' || !validIdentifiers(s[1:], false)) {
		*v = Version{}
		return false
	}
	return true
}

// parseNumber reads a version number from the start of s: "0" or digits not starting
// with 0, at most limit and at most 19 digits (so below 10^19, which uint64 holds). It
// returns the number and what follows it.
func parseNumber(s string, limit uint64) (uint64, string, bool) {
	var n uint64
	i := 0
	for ; i < len(s) && i < 20; i++ {
		d := s[i] - '0'
		if d > 9 {
			break
		}
		n = n*10 + uint64(d)
	}
	if i == 0 || i == 20 || (i > 1 && s[0] == '0') || n > limit {
		return 0, s, false
	}
	return n, s[i:], true
}

// validIdentifiers reports whether s is one or more dot-separated non-empty
// identifiers of [0-9A-Za-z-]; with pre, numeric identifiers must not have leading
// zeros (SemVer requires it of prerelease identifiers, not of build metadata).
func validIdentifiers(s string, pre bool) bool {
	if s == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
			continue
		}
		id := s[start:i]
		if id == "" {
			return false
		}
		if pre && len(id) > 1 && id[0] == '0' && isNumeric(id) {
			return false
		}
		start = i + 1
	}
	return true
}

// isNumeric reports whether a non-empty identifier is all digits.
func isNumeric(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return id != ""
}

// Compare orders v and w by SemVer 2.0 precedence (node-semver's compare): -1 when v
// is lower, 0 when equal, +1 when higher. Numbers compare numerically; a prerelease is
// lower than its release; prerelease identifiers compare numerically when both are
// numeric, a numeric one is lower than an alphanumeric one, others compare in ASCII
// order, and a shorter list of identifiers is lower when all before are equal.
func (v Version) Compare(w Version) int { return v.cmp(&w) }

// cmp is Compare by pointer, for the lookup's hot path.
func (v *Version) cmp(w *Version) int {
	if v.major != w.major || v.minor != w.minor || v.patch != w.patch {
		return compareNumbers(v, w)
	}
	if v.pre == w.pre {
		return 0
	}
	return comparePrerelease(v.pre, w.pre)
}

// compareNumbers orders two versions by their numbers.
func compareNumbers(v, w *Version) int {
	switch {
	case v.major != w.major:
		return cmp.Compare(v.major, w.major)
	case v.minor != w.minor:
		return cmp.Compare(v.minor, w.minor)
	}
	return cmp.Compare(v.patch, w.patch)
}

// comparePrerelease orders two prereleases; the empty one (a release) is highest.
func comparePrerelease(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	for {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		if c := compareIdentifier(x, y); c != 0 {
			return c
		}
		switch {
		case a == "" && b == "":
			return 0
		case a == "":
			return -1
		case b == "":
			return 1
		}
	}
}

// compareIdentifier orders two prerelease identifiers.
func compareIdentifier(x, y string) int {
	xn, yn := isNumeric(x), isNumeric(y)
	switch {
	case xn && yn:
		// No leading zeros: the longer number is the larger.
		if len(x) != len(y) {
			return cmp.Compare(uint64(len(x)), uint64(len(y)))
		}
		return strings.Compare(x, y)
	case xn:
		return -1
	case yn:
		return 1
	}
	return strings.Compare(x, y)
}

// String spells v as SemVer without a "v" or build metadata ("1.2.3-rc.1"), as a
// node-semver range writes it.
func (v Version) String() string {
	b := make([]byte, 0, 16+len(v.pre))
	b = v.appendTo(b)
	return string(b)
}

// appendTo appends v's spelling to b.
func (v Version) appendTo(b []byte) []byte {
	b = strconv.AppendUint(b, v.major, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, v.minor, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, v.patch, 10)
	if v.pre != "" {
		b = append(b, '-')
		b = append(b, v.pre...)
	}
	return b
}
