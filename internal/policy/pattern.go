package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/ecluse/ecluse/internal/config"
	"github.com/ecluse/ecluse/internal/npm"
)

// maxPatternLen bounds a pattern as written; npm names are at most 214 characters and a
// range is bounded by the semver library at 512.
const maxPatternLen = 1024

// pattern is one compiled entry of an AllowPackages or DenyPackages list. Matching
// never allocates, except for a range only the semver library understands, which then
// parses the version once per decision (see semrange.go).
type pattern struct {
	// text is the pattern as written, for reasons and the effective view.
	text string
	// name is the name part: an exact name, or a glob where "*" matches any run of
	// characters other than "/".
	name string
	// literal is true when name holds no "*".
	literal bool
	// prefix and suffix are the literal text before the first "*" and after the last;
	// oneStar says there is exactly one "*" between them. They let the usual forms
	// ("@corp/*", "eslint-plugin-*", "*-utils") match without the general matcher.
	prefix, suffix string
	oneStar        bool
	// rng is the version range; nil means every version.
	rng *versionRange

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

// setName installs the name part and precomputes what matching it needs.
func (p *pattern) setName(name string) {
	p.name = name
	first := strings.IndexByte(name, '*')
	if first < 0 {
		p.literal = true
		return
	}
	last := strings.LastIndexByte(name, '*')
	p.prefix, p.suffix, p.oneStar = name[:first], name[last+1:], first == last
}

// matchName reports whether name is matched by the name part of p.
func (p *pattern) matchName(name string) bool {
	if p.literal {
		return name == p.name
	}
	if len(name) < len(p.prefix)+len(p.suffix) || !strings.HasPrefix(name, p.prefix) || !strings.HasSuffix(name, p.suffix) {
		return false
	}
	if p.oneStar {
		return strings.IndexByte(name[len(p.prefix):len(name)-len(p.suffix)], '/') < 0
	}
	return globMatch(p.name, name)
}

// match reports whether p's name and range cover v (whatever its expiry). sv caches the
// parsed version across the patterns and rules of one decision.
func (p *pattern) match(v *npm.VersionInfo, sv *versionCache) bool {
	if !p.matchName(v.Name) {
		return false
	}
	return p.rng == nil || p.rng.check(v.Version, sv)
}

// versionCache parses the decided version at most once per decision, in whichever
// form the ranges it meets need.
type versionCache struct {
	strictDone, strictOK bool
	strictV              semVersion
	libDone              bool
	lib                  *semver.Version
}

// strict returns the version parsed without allocating; ok is false when it is not
// strict semver.
func (c *versionCache) strict(s string) (semVersion, bool) {
	if !c.strictDone {
		c.strictDone = true
		c.strictV, c.strictOK = parseStrict(s)
	}
	return c.strictV, c.strictOK
}

// library returns the version as the semver library parses it, or nil when it is not
// strict semver.
func (c *versionCache) library(s string) *semver.Version {
	if !c.libDone {
		c.libDone = true
		if v, err := semver.StrictNewVersion(s); err == nil {
			c.lib = v
		}
	}
	return c.lib
}

// globMatch reports whether name matches the glob pat, where "*" matches any run of
// characters except "/" and every other byte matches itself. Because a star never
// crosses "/", pattern and name are compared one "/"-separated segment at a time.
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

// errPattern is wrapped by every pattern parse error.
var errPattern = errors.New("malformed pattern")

// compilePattern parses one package entry. allowExpiry is false for deny lists, where an
// expiry would silently re-open what the operator closed.
func compilePattern(e config.PackageEntry, allowExpiry bool) (pattern, error) {
	p := pattern{text: e.Pattern, reason: e.Reason, expiresText: e.Expires}
	name, rng, err := splitPattern(e.Pattern)
	if err != nil {
		return pattern{}, err
	}
	p.setName(name)
	if rng != "" {
		c, err := semver.NewConstraint(rng)
		if err != nil {
			return pattern{}, fmt.Errorf("%w %q: version range %q: %w", errPattern, e.Pattern, rng, err)
		}
		p.rng = newVersionRange(c)
	}
	if e.Expires != "" {
		if !allowExpiry {
			return pattern{}, fmt.Errorf("pattern %q: expires is only meaningful on an AllowPackages entry (a deny entry never lapses)", e.Pattern)
		}
		t, err := parseExpiry(e.Expires)
		if err != nil {
			return pattern{}, fmt.Errorf("pattern %q: %w", e.Pattern, err)
		}
		p.expires = t
	}
	return p, nil
}

// splitPattern separates the name part from an optional "@range". A leading "@" belongs
// to a scope, so the range separator is the first "@" after the first byte.
func splitPattern(s string) (name, rng string, err error) {
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
	if err := checkNamePattern(name); err != nil {
		return "", "", fmt.Errorf("%w %q: %w", errPattern, s, err)
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
