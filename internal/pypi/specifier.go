package pypi

import (
	"fmt"
	"strings"
)

// Ordering reads the version ranges written in the policy's package patterns
// ("requests@>=2.28,<3") for Python projects. It satisfies the policy's Ordering
// interface without importing it.
//
// A range is a PEP 440 specifier set: clauses separated by commas, all of which
// must hold. The operators are ~= (compatible release), == and != (with a trailing
// ".*" for a prefix match), <=, >=, < and >, and === (arbitrary equality, a
// case-insensitive comparison of the version as written; here it too matches only
// versions that parse). "*" alone, which is not PEP 440, matches every version, as
// it does for the other ecosystems. Each clause means what PEP 440 says it means:
//
//   - ~=V.N is >=V.N together with ==V.*, V.N having at least two release numbers;
//   - ==V ignores the candidate's local label unless V has one, and pads release
//     numbers with zeros (==1.0 matches 1 and 1.0.0);
//   - <V does not match a pre-release of V itself unless V is a pre-release;
//   - >V does not match a post-release of V unless V is a post-release, nor a local
//     version of V;
//   - <= and >= compare the candidate without its local label.
//
// Unlike pip, a clause matches a pre-release whenever the pre-release satisfies it:
// whether pre-releases are admitted at all is the policy's decision, not the
// range's. A version string that is not PEP 440 lies outside every range.
type Ordering struct{}

// maxRangeLen bounds a range as written.
const maxRangeLen = 1024

type specOp uint8

const (
	opCompatible specOp = iota
	opEqual
	opNotEqual
	opLessEqual
	opGreaterEqual
	opLess
	opGreater
	opArbitrary
)

// operators in the order a clause's start is tried: longer spellings first.
var operators = [...]struct {
	text string
	op   specOp
}{
	{"===", opArbitrary},
	{"~=", opCompatible}, {"==", opEqual}, {"!=", opNotEqual},
	{"<=", opLessEqual}, {">=", opGreaterEqual},
	{"<", opLess}, {">", opGreater},
}

// clause is one compiled specifier.
type clause struct {
	op specOp
	v  Version
	// prefix is the number of release numbers a prefix match compares: those of
	// ==V.* and !=V.*, or all but the last for ~=. Zero for a plain comparison.
	prefix int
	// text is the version of a === clause, as written.
	text string
}

// CompileRange parses expr as a PEP 440 specifier set and returns a predicate
// reporting whether a version string satisfies every clause. The predicate is safe
// for concurrent use and does not allocate.
func (Ordering) CompileRange(expr string) (func(version string) bool, error) {
	expr = trimSpace(expr)
	if expr == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSpecifier)
	}
	if len(expr) > maxRangeLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidSpecifier, maxRangeLen)
	}
	if expr == "*" {
		return func(version string) bool {
			_, _, why := parseVersion(version)
			return why == ""
		}, nil
	}
	var clauses []clause
	for _, part := range strings.Split(expr, ",") {
		part = trimSpace(part)
		if part == "" {
			continue
		}
		c, err := parseClause(part)
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, c)
	}
	if len(clauses) == 0 {
		return nil, fmt.Errorf("%w %q: no clauses", ErrInvalidSpecifier, clip(expr))
	}
	return func(version string) bool {
		v, _, why := parseVersion(version)
		if why != "" {
			return false
		}
		for i := range clauses {
			if !clauses[i].match(&v, version) {
				return false
			}
		}
		return true
	}, nil
}

// parseClause compiles one clause, already trimmed and non-empty.
func parseClause(s string) (clause, error) {
	fail := func(format string, args ...any) (clause, error) {
		return clause{}, fmt.Errorf("%w %q: %s", ErrInvalidSpecifier, clip(s), fmt.Sprintf(format, args...))
	}
	var c clause
	found := false
	rest := s
	for _, o := range operators {
		if strings.HasPrefix(s, o.text) {
			c.op, rest, found = o.op, trimSpace(s[len(o.text):]), true
			break
		}
	}
	if !found {
		return fail("no comparison operator (one of ~= == != <= >= < > ===)")
	}
	if rest == "" {
		return fail("no version after the operator")
	}
	if c.op == opArbitrary {
		if strings.ContainsAny(rest, " \t\n\r\f\v;)") {
			return fail("an arbitrary (===) version cannot hold white space, ';' or ')'")
		}
		c.text = rest
		return c, nil
	}
	if base, ok := strings.CutSuffix(rest, ".*"); ok {
		if c.op != opEqual && c.op != opNotEqual {
			return fail("a prefix match (.*) is only allowed with == and !=")
		}
		v, _, why := parseVersion(base)
		if why != "" || base != trimSpace(base) {
			return fail("%q is not a release such as 1.2", clip(base))
		}
		if v.pre != preNone || v.hasPost || v.hasDev || v.local != "" {
			return fail("a prefix match (.*) takes only a release, such as ==1.2.*")
		}
		c.v, c.prefix = v, releaseLen(v.release)
		return c, nil
	}
	v, at, why := parseVersion(rest)
	if why != "" {
		if at >= 0 {
			return fail("%q is not a PEP 440 version: %s at byte %d", clip(rest), why, at)
		}
		return fail("%q is not a PEP 440 version: %s", clip(rest), why)
	}
	if v.local != "" && c.op != opEqual && c.op != opNotEqual {
		return fail("a local version label (+...) is only allowed with == and !=")
	}
	if c.op == opCompatible {
		n := releaseLen(v.release)
		if n < 2 {
			return fail("~= needs a release of at least two numbers, such as ~=1.2")
		}
		c.prefix = n - 1
	}
	c.v = v
	return c, nil
}

// releaseLen counts the numbers of a release segment.
func releaseLen(release string) int {
	if release == "" {
		return 0
	}
	return strings.Count(release, ".") + 1
}

// match reports whether v (parsed from raw) satisfies c.
func (c *clause) match(v *Version, raw string) bool {
	switch c.op {
	case opArbitrary:
		return strings.EqualFold(raw, c.text)
	case opEqual:
		return c.equal(v)
	case opNotEqual:
		return !c.equal(v)
	case opLessEqual:
		return Compare(v.withoutLocal(), c.v) <= 0
	case opGreaterEqual:
		return Compare(v.withoutLocal(), c.v) >= 0
	case opLess:
		if Compare(*v, c.v) >= 0 {
			return false
		}
		// Not a pre-release of the very version named (<2.0 refuses 2.0rc1 and
		// 2.0.dev0), unless that version is a pre-release itself.
		if !c.v.IsPrerelease() && v.IsPrerelease() && Compare(*v, c.v.earliestPrerelease()) >= 0 {
			return false
		}
		return true
	case opGreater:
		if Compare(*v, c.v) <= 0 {
			return false
		}
		// Not a post-release of the very version named (>2.0 refuses 2.0.post1),
		// unless that version is a post-release itself.
		if !c.v.hasPost && v.hasPost && Compare(v.postBase(), c.v) == 0 {
			return false
		}
		// Nor a local version of it (>2.0 refuses 2.0+local).
		if v.local != "" && Compare(v.withoutLocal(), c.v) == 0 {
			return false
		}
		return true
	case opCompatible:
		return Compare(v.withoutLocal(), c.v) >= 0 && prefixMatch(v, &c.v, c.prefix)
	}
	return false
}

func (c *clause) equal(v *Version) bool {
	if c.prefix > 0 {
		return prefixMatch(v, &c.v, c.prefix)
	}
	if c.v.local == "" {
		return Compare(v.withoutLocal(), c.v) == 0
	}
	return Compare(*v, c.v) == 0
}

// prefixMatch reports whether v has spec's epoch and, after padding its release
// with zeros, the first n numbers of spec's release.
func prefixMatch(v, spec *Version, n int) bool {
	if v.epoch != spec.epoch {
		return false
	}
	i, j := 0, 0
	for k := 0; k < n; k++ {
		var x, y int64
		if i < len(v.release) {
			x, i = nextNumber(v.release, i)
		}
		if j < len(spec.release) {
			y, j = nextNumber(spec.release, j)
		}
		if x != y {
			return false
		}
	}
	return true
}

func (v Version) withoutLocal() Version {
	v.local = ""
	return v
}

// earliestPrerelease is the first development release of v: 1.2 gives 1.2.dev0,
// 1.2.post1 gives 1.2.post1.dev0.
func (v Version) earliestPrerelease() Version {
	v.hasDev, v.dev, v.local = true, 0, ""
	return v
}

// postBase is the version v is a post-release of: 1.0.post1 gives 1.0, 1.0a1.post2
// gives 1.0a1.
func (v Version) postBase() Version {
	v.hasPost, v.post, v.hasDev, v.dev, v.local = false, 0, false, 0, ""
	return v
}
