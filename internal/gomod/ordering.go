package gomod

import (
	"fmt"
	"strings"

	"golang.org/x/mod/semver"
)

// Ordering reads the version ranges written in the policy's package patterns
// ("example.com/mod@<v1.5.0") for Go modules. It satisfies the policy's Ordering
// interface without importing it.
//
// A range is one or more comparators separated by spaces, all of which must hold:
// "v1.2.3" (exactly that version), "=v1.2.3", ">v1.2.3", ">=v1.2.3", "<v1.2.3",
// "<=v1.2.3". Versions compare by semantic-version precedence as the go command
// orders them (a pseudo-version is the prerelease it is; "+incompatible" is build
// metadata and does not change the order). "*" matches every version.
type Ordering struct{}

// maxRangeLen bounds a range as written.
const maxRangeLen = 512

type comparator struct {
	op string // "=", ">", ">=", "<", "<="
	v  string
}

// CompileRange parses expr and returns a predicate over version strings. A version
// that is not a valid semantic version lies outside every range but "*".
func (Ordering) CompileRange(expr string) (func(version string) bool, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, fmt.Errorf("empty version range")
	}
	if len(expr) > maxRangeLen {
		return nil, fmt.Errorf("version range longer than %d characters", maxRangeLen)
	}
	if expr == "*" {
		return func(string) bool { return true }, nil
	}
	var cs []comparator
	for _, tok := range strings.Fields(expr) {
		op := "="
		for _, o := range []string{">=", "<=", ">", "<", "="} {
			if strings.HasPrefix(tok, o) {
				op, tok = o, tok[len(o):]
				break
			}
		}
		if !semver.IsValid(tok) || semver.Canonical(tok) != tok {
			return nil, fmt.Errorf("%q is not a Go module version (want a full version in a comparator, such as >=v1.2.3 or <v2.0.0)", tok)
		}
		cs = append(cs, comparator{op: op, v: tok})
	}
	return func(version string) bool {
		if !semver.IsValid(version) {
			return false
		}
		for _, c := range cs {
			n := semver.Compare(version, c.v)
			var ok bool
			switch c.op {
			case "=":
				ok = n == 0
			case ">":
				ok = n > 0
			case ">=":
				ok = n >= 0
			case "<":
				ok = n < 0
			case "<=":
				ok = n <= 0
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}
