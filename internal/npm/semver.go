package npm

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Semver is npm's version ordering as the policy reads it: it compiles the version range
// written after "@" in a package pattern ("typescript@>=5.0.0 <6") into a predicate. Its
// zero value is ready to use. It implements policy.Ordering without importing policy.
//
// Ranges are parsed and validated by Masterminds/semver, whose semantics are the
// contract. Checking a version with that library costs a heap-allocated Version and,
// whenever a comparison fails, a formatted error it then throws away: about a
// microsecond, which a 3,000-version packument matching a ranged pattern would pay
// 3,000 times. So a range the library accepted is compiled a second time, from the
// library's own normalised spelling (Constraints.String), into the comparisons below,
// which restate the library's rules without allocating. A range this second compiler
// does not understand keeps using the library. FuzzRange holds the two to the same
// answers.
type Semver struct{}

// CompileRange parses a range in the library's syntax (the npm range forms: "^18",
// "~1.2", ">=5.0.0 <6", "1.x || 2.x", "1.2.3 - 2.3.4", ...) and returns a predicate
// reporting whether a version lies in it. A version that is not strict semver
// ("5.4", "v1.2.3") lies in no range, and a prerelease only in a range that names a
// prerelease, as the library rules. The predicate is safe for concurrent use and, for
// every range the fast compiler understands (all the usual spellings), does not
// allocate. The error is the library's, in words for the operator.
func (Semver) CompileRange(expr string) (func(version string) bool, error) {
	c, err := semver.NewConstraint(expr)
	if err != nil {
		return nil, err
	}
	if f, ok := compileRange(c.String()); ok {
		return f.checkString, nil
	}
	return func(version string) bool {
		v, err := semver.StrictNewVersion(version)
		return err == nil && c.Check(v)
	}, nil
}

// semVersion is a strict semantic version, parsed without allocating.
type semVersion struct {
	major, minor, patch uint64
	// pre is the prerelease, without its "-"; empty for a release.
	pre string
}

// maxVersionLen matches the library's bound on a version string.
const maxVersionLen = semver.MaxVersionLen

// parseStrict accepts exactly what semver.StrictNewVersion accepts.
func parseStrict(s string) (semVersion, bool) {
	if s == "" || len(s) > maxVersionLen {
		return semVersion{}, false
	}
	major, rest, ok := strings.Cut(s, ".")
	if !ok {
		return semVersion{}, false
	}
	minor, patch, ok := strings.Cut(rest, ".")
	if !ok {
		return semVersion{}, false
	}
	if i := strings.IndexByte(patch, '+'); i >= 0 {
		if !validIdentifiers(patch[i+1:], false) {
			return semVersion{}, false
		}
		patch = patch[:i]
	}
	var v semVersion
	if i := strings.IndexByte(patch, '-'); i >= 0 {
		v.pre = patch[i+1:]
		if !validIdentifiers(v.pre, true) {
			return semVersion{}, false
		}
		patch = patch[:i]
	}
	var okMaj, okMin, okPat bool
	v.major, okMaj = strictNumber(major)
	v.minor, okMin = strictNumber(minor)
	v.patch, okPat = strictNumber(patch)
	return v, okMaj && okMin && okPat
}

// strictNumber parses a version number: decimal digits, no leading zero, no overflow.
func strictNumber(s string) (uint64, bool) {
	if len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	return parseDecimal(s)
}

// parseDecimal is strconv.ParseUint(s, 10, 64) without the allocated error.
func parseDecimal(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// validIdentifiers checks dot-separated identifiers of [0-9A-Za-z-]; prerelease
// numeric identifiers may not have leading zeros.
func validIdentifiers(s string, pre bool) bool {
	for more := true; more; {
		var id string
		id, s, more = strings.Cut(s, ".")
		if id == "" {
			return false
		}
		numeric := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case '0' <= c && c <= '9':
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '-':
				numeric = false
			default:
				return false
			}
		}
		if pre && numeric && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// compareVersions orders versions as the library's Version.Compare does.
func compareVersions(a, b *semVersion) int {
	switch {
	case a.major != b.major:
		return cmpUint(a.major, b.major)
	case a.minor != b.minor:
		return cmpUint(a.minor, b.minor)
	case a.patch != b.patch:
		return cmpUint(a.patch, b.patch)
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	return comparePrerelease(a.pre, b.pre)
}

func cmpUint(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// comparePrerelease compares dot-separated identifiers pairwise, as the library does.
func comparePrerelease(a, b string) int {
	aMore, bMore := true, true
	for aMore || bMore {
		var ap, bp string
		if aMore {
			ap, a, aMore = strings.Cut(a, ".")
		}
		if bMore {
			bp, b, bMore = strings.Cut(b, ".")
		}
		if d := comparePrePart(ap, bp); d != 0 {
			return d
		}
	}
	return 0
}

// comparePrePart restates the library's comparison of two prerelease identifiers,
// quirks included (an identifier too large for uint64 counts as alphanumeric).
func comparePrePart(s, o string) int {
	switch {
	case s == o:
		return 0
	case s == "":
		return -1
	case o == "":
		return 1
	}
	oi, oNum := parseDecimal(o)
	si, sNum := parseDecimal(s)
	switch {
	case !oNum && !sNum:
		if s > o {
			return 1
		}
		return -1
	case !oNum:
		return -1
	case !sNum:
		return 1
	case si > oi:
		return 1
	}
	return -1
}

// The comparison operators, as the library's constraint table names them.
type rangeOp uint8

const (
	opTildeOrEqual rangeOp = iota
	opNotEqual
	opGreater
	opLess
	opGreaterEqual
	opLessEqual
	opTilde
	opCaret
)

// Operators by spelling, longest first so a prefix match picks the right one.
var rangeOps = []struct {
	text string
	op   rangeOp
}{
	{"!=", opNotEqual}, {">=", opGreaterEqual}, {"=>", opGreaterEqual}, {"<=", opLessEqual},
	{"=<", opLessEqual}, {"~>", opTilde}, {">", opGreater}, {"<", opLess}, {"=", opTildeOrEqual},
	{"~", opTilde}, {"^", opCaret},
}

// comparator is one constraint: an operator and the version it compares with, whose
// unspecified or wildcard parts make it "dirty".
type comparator struct {
	op                            rangeOp
	con                           semVersion
	dirty, minorDirty, patchDirty bool
}

// fastRange is a compiled range: any group may match, every comparator of a group must.
type fastRange struct {
	groups [][]comparator
	// withPre reports, per group, whether it names a prerelease, which is what lets
	// prerelease versions match that group at all.
	withPre []bool
}

// compileRange turns the library's normalised spelling of a range (groups joined by
// " || ", comparators by " ", each "<op><version>") into a fastRange. ok is false for
// anything it does not fully understand, and the caller then keeps the library's check.
func compileRange(normalised string) (r fastRange, ok bool) {
	for _, group := range strings.Split(normalised, " || ") {
		var cs []comparator
		pre := false
		for _, tok := range strings.Split(group, " ") {
			c, ok := compileComparator(tok)
			if !ok {
				return fastRange{}, false
			}
			pre = pre || c.con.pre != ""
			cs = append(cs, c)
		}
		r.groups = append(r.groups, cs)
		r.withPre = append(r.withPre, pre)
	}
	return r, len(r.groups) > 0
}

func compileComparator(tok string) (comparator, bool) {
	var c comparator
	for _, o := range rangeOps {
		if rest, found := strings.CutPrefix(tok, o.text); found {
			c.op, tok = o.op, rest
			break
		}
	}
	tok = strings.TrimPrefix(tok, "v")
	// Split off "+metadata" and "-prerelease" first; the numeric part is what remains.
	nums, meta, hasMeta := strings.Cut(tok, "+")
	if hasMeta && !validIdentifiers(meta, false) {
		return comparator{}, false
	}
	nums, pre, hasPre := strings.Cut(nums, "-")
	if hasPre && !validIdentifiers(pre, true) {
		return comparator{}, false
	}
	var parts [3]string
	n := 0
	for more := true; more; n++ {
		if n == 3 {
			return comparator{}, false
		}
		parts[n], nums, more = strings.Cut(nums, ".")
	}
	var vals [3]uint64
	var wild [3]bool
	for i := 0; i < n; i++ {
		switch p := parts[i]; p {
		case "x", "X", "*":
			wild[i] = true
		default:
			v, ok := strictNumber(p)
			if !ok {
				return comparator{}, false
			}
			vals[i] = v
		}
	}
	c.con.pre = pre
	switch {
	case wild[0]:
		c.dirty = true
	case n < 2 || wild[1]:
		c.dirty, c.minorDirty = true, true
		c.con.major = vals[0]
	case n < 3 || wild[2]:
		c.dirty, c.patchDirty = true, true
		c.con.major, c.con.minor = vals[0], vals[1]
	default:
		c.con.major, c.con.minor, c.con.patch = vals[0], vals[1], vals[2]
	}
	return c, true
}

// check reports whether v satisfies the range, as the library's Constraints.Check does.
func (r *fastRange) check(v *semVersion) bool {
	for g, group := range r.groups {
		all := true
		for i := range group {
			if !group[i].check(v, r.withPre[g]) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// check restates the library's per-operator rules.
func (c *comparator) check(v *semVersion, includePre bool) bool {
	if v.pre != "" && !includePre {
		return false
	}
	switch c.op {
	case opTildeOrEqual:
		if c.dirty {
			return c.tilde(v)
		}
		return compareVersions(v, &c.con) == 0
	case opTilde:
		return c.tilde(v)
	case opNotEqual:
		if c.dirty {
			switch {
			case c.con.major != v.major:
				return true
			case c.con.minor != v.minor && !c.minorDirty:
				return true
			case c.minorDirty:
				return false
			case c.con.patch != v.patch && !c.patchDirty:
				return true
			case c.patchDirty:
				if v.pre != "" || c.con.pre != "" {
					return comparePrerelease(v.pre, c.con.pre) != 0
				}
				return false
			}
		}
		return compareVersions(v, &c.con) != 0
	case opGreater:
		if !c.dirty {
			return compareVersions(v, &c.con) > 0
		}
		switch {
		case v.major > c.con.major:
			return true
		case v.major < c.con.major, c.minorDirty:
			return false
		case c.patchDirty:
			return v.minor > c.con.minor
		}
		return compareVersions(v, &c.con) > 0
	case opLess:
		return compareVersions(v, &c.con) < 0
	case opGreaterEqual:
		return compareVersions(v, &c.con) >= 0
	case opLessEqual:
		if !c.dirty {
			return compareVersions(v, &c.con) <= 0
		}
		switch {
		case v.major > c.con.major:
			return false
		case v.major == c.con.major && v.minor > c.con.minor && !c.minorDirty:
			return false
		}
		return true
	case opCaret:
		if compareVersions(v, &c.con) < 0 {
			return false
		}
		switch {
		case c.con.major > 0 || c.minorDirty:
			return v.major == c.con.major
		case v.major > 0:
			return false
		case c.con.minor > 0 || c.patchDirty:
			return v.minor == c.con.minor
		case v.minor > 0:
			return false
		}
		return c.con.patch == v.patch
	}
	return false
}

func (c *comparator) tilde(v *semVersion) bool {
	if compareVersions(v, &c.con) < 0 {
		return false
	}
	if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minorDirty && !c.patchDirty {
		return true
	}
	if v.major != c.con.major {
		return false
	}
	return v.minor == c.con.minor || c.minorDirty
}

// checkString reports whether the version string s satisfies the range; a string that
// is not strict semver never does.
func (r *fastRange) checkString(s string) bool {
	v, ok := parseStrict(s)
	return ok && r.check(&v)
}
