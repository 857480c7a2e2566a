package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// maxPatternLen bounds a pattern as written: a name (npm's are at most 214 characters)
// and a range.
const maxPatternLen = 1024

// pattern is one compiled entry of an AllowPackages or DenyPackages list. Matching
// never allocates, unless the ecosystem's range predicate does.
type pattern struct {
	// text is the pattern as written, for reasons and the effective view.
	text string
	// name is the name part, in the glob dialect of CompileGlob.
	name Glob
	// inRange is the version range's predicate; nil means every version.
	inRange func(version string) bool

	// reason is the entry's reason as written; empty means none.
	reason string
	// expiresText is the expiry as written; empty means the entry never expires.
	expiresText string
	// expires is the first instant at which the entry no longer applies; zero means never.
	expires time.Time
}

// active reports whether the entry still applies at now.
func (p *pattern) active(now time.Time) bool {
	return p.expires.IsZero() || now.Before(p.expires)
}

// match reports whether p's name and range cover v (whatever its expiry).
func (p *pattern) match(v *Version) bool {
	return p.name.Match(v.Name) && (p.inRange == nil || p.inRange(v.Version))
}

// errNoOrdering is wrapped when a pattern has a range and the ecosystem has no ordering.
var errNoOrdering = errors.New("this ecosystem has no version ordering, so a pattern cannot carry a version range")

// compilePattern parses one package entry. allowExpiry is false for deny lists, where an
// expiry would silently re-open what the operator closed.
func compilePattern(e packageEntry, allowExpiry bool, opts *Options) (pattern, error) {
	p := pattern{text: e.pattern, reason: e.reason, expiresText: e.expires}
	name, rng, err := splitPattern(e.pattern, opts.Ecosystem)
	if err != nil {
		return pattern{}, err
	}
	// For npm, splitPattern has held the name to npm's characters, which the glob
	// dialect accepts; for other ecosystems the dialect is the only check. An ecosystem
	// whose names are compared normalised has its patterns normalised the same way.
	if opts.FoldName != nil {
		name = opts.FoldName(name)
	}
	if p.name, err = CompileGlob(name); err != nil {
		return pattern{}, err
	}
	if rng != "" {
		if opts.Ordering == nil {
			return pattern{}, fmt.Errorf("%w %q: version range %q: %w", errPattern, e.pattern, rng, errNoOrdering)
		}
		in, err := opts.Ordering.CompileRange(rng)
		if err != nil {
			return pattern{}, fmt.Errorf("%w %q: version range %q: %w", errPattern, e.pattern, rng, err)
		}
		p.inRange = in
	}
	if e.expires != "" {
		if !allowExpiry {
			return pattern{}, fmt.Errorf("pattern %q: expires is only meaningful on an AllowPackages entry (a deny entry never lapses)", e.pattern)
		}
		t, err := parseExpiry(e.expires)
		if err != nil {
			return pattern{}, fmt.Errorf("pattern %q: %w", e.pattern, err)
		}
		p.expires = t
	}
	return p, nil
}

// splitPattern separates the name part from an optional "@range". A leading "@" belongs
// to a scope, so the range separator is the first "@" after the first byte (no Go module
// path holds one). An npm name part is held to npm's name characters and scope syntax.
func splitPattern(s, ecosystem string) (name, rng string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("%w: empty", errPattern)
	}
	if len(s) > maxPatternLen {
		return "", "", fmt.Errorf("%w: longer than %d bytes", errPattern, maxPatternLen)
	}
	name = s
	if i := strings.IndexByte(s[1:], '@'); i >= 0 {
		name, rng = s[:i+1], strings.TrimSpace(s[i+2:])
		if rng == "" {
			return "", "", fmt.Errorf("%w %q: nothing follows the version \"@\"", errPattern, s)
		}
	}
	if ecosystem == "" || ecosystem == EcosystemNPM {
		if err := checkNamePattern(name); err != nil {
			return "", "", fmt.Errorf("%w %q: %w", errPattern, s, err)
		}
	}
	return name, rng, nil
}

// checkNamePattern accepts "name", "@scope/name" and the same with "*" wildcards in
// either part. Characters are those npm allows in names, in either case.
func checkNamePattern(name string) error {
	rest := name
	if strings.HasPrefix(name, "@") {
		scope, pkg, ok := strings.Cut(name[1:], "/")
		if !ok {
			return errors.New(`a scoped pattern needs a "/" ("@scope/name" or "@scope/*")`)
		}
		if err := checkSegment(scope); err != nil {
			return fmt.Errorf("scope: %w", err)
		}
		rest = pkg
	}
	return checkSegment(rest)
}

func checkSegment(s string) error {
	if s == "" {
		return errors.New("empty name")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!'()*", c) >= 0:
		default:
			return fmt.Errorf("character %q is not allowed in a package name", c)
		}
	}
	return nil
}

// parseExpiry accepts an RFC 3339 date-time, or a date alone, which is read as lasting
// through the end of that day in UTC.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expires %q is neither an RFC 3339 date (2026-12-31) nor date-time (2026-12-31T18:00:00Z)", s)
}
