package gomod

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Bounds on a version list body. A real list holds a few hundred versions at most.
const (
	// MaxListBytes is the largest list body ParseList reads.
	MaxListBytes = 4 << 20
	// MaxListVersions is the most versions ParseList returns.
	MaxListVersions = 100_000
	// MaxVersionLength is the longest version ParseList keeps; longer lines are dropped.
	MaxVersionLength = 256
)

// ErrInvalidList is matched (with errors.Is) by every *ListError.
var ErrInvalidList = errors.New("invalid version list")

// ListError says why a version list body was refused as a whole.
type ListError struct {
	// Reason says what is wrong.
	Reason string
}

func (e *ListError) Error() string { return "invalid version list: " + e.Reason }

// Is makes errors.Is(err, ErrInvalidList) hold.
func (e *ListError) Is(target error) bool { return target == ErrInvalidList }

// ParseList reads the body of /{module}/@v/list for module mod: one version per line,
// optionally followed by other fields (some proxies add a timestamp), which are
// ignored. Lines that are not a canonical version of mod (module.Check), or longer
// than MaxVersionLength, are dropped, as the go command drops them. The result is
// free of duplicates and sorted by Sort. A body over MaxListBytes, or holding more
// than MaxListVersions versions, is refused with a *ListError.
func ParseList(mod string, body []byte) ([]string, error) {
	if len(body) > MaxListBytes {
		return nil, &ListError{Reason: fmt.Sprintf("the body is larger than %d bytes", MaxListBytes)}
	}
	seen := make(map[string]struct{})
	var list []string
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte{'\n'})
		fields := bytes.Fields(line)
		if len(fields) == 0 || len(fields[0]) > MaxVersionLength {
			continue
		}
		v := string(fields[0])
		if _, dup := seen[v]; dup || !IsCanonical(v) || module.Check(mod, v) != nil {
			continue
		}
		if len(list) == MaxListVersions {
			return nil, &ListError{Reason: fmt.Sprintf("it holds more than %d versions", MaxListVersions)}
		}
		seen[v] = struct{}{}
		list = append(list, v)
	}
	Sort(list)
	return list, nil
}

// RenderList returns a list body for versions, one per line in the order given, each
// followed by a newline. ParseList reads it back as the valid versions, sorted.
func RenderList(versions []string) []byte {
	n := 0
	for _, v := range versions {
		n += len(v) + 1
	}
	b := make([]byte, 0, n)
	for _, v := range versions {
		b = append(b, v...)
		b = append(b, '\n')
	}
	return b
}

// Sort orders versions as the go command lists them (go list -m -versions): by
// semantic-version precedence (semver.Compare), ties broken by the strings
// themselves, so "v1.0.0" and "v1.0.0+incompatible" sort in a fixed order. Pseudo-
// versions sort as the prereleases they are, by their base version and then by
// commit time.
func Sort(versions []string) { semver.Sort(versions) }

// IsRelease reports whether v is a release: no prerelease part and not a
// pseudo-version. "+incompatible" releases are releases.
func IsRelease(v string) bool {
	return semver.IsValid(v) && semver.Prerelease(v) == "" && !module.IsPseudoVersion(v)
}

// IsPrerelease reports whether v is a tagged prerelease ("v1.2.0-rc.1"), not a
// pseudo-version.
func IsPrerelease(v string) bool {
	return semver.IsValid(v) && semver.Prerelease(v) != "" && !module.IsPseudoVersion(v)
}

// Latest chooses what the go command resolves "@latest" to among versions, counting
// only those admitted returns true for (a nil admitted admits all; invalid versions
// are never chosen):
//
//  1. the highest release;
//  2. if there is none, the highest tagged prerelease;
//  3. if there is none, the pseudo-version with the latest commit time
//     (module.PseudoVersionTime), ties going to the higher version.
//
// Within each step, "+incompatible" versions are chosen only when no compatible one
// qualifies. The go command ignores them when the highest compatible version has a
// go.mod file, which this package cannot see; every module with a compatible version
// since modules began has one, and the choice errs toward the older major version.
// Retractions are not read here: a caller that honours them excludes retracted
// versions through admitted. ok is false when nothing qualifies.
func Latest(versions []string, admitted func(string) bool) (v string, ok bool) {
	for _, tier := range []func(string) bool{IsRelease, IsPrerelease} {
		var best, bestIncompatible string
		for _, c := range versions {
			if !tier(c) || !IsCanonical(c) || admitted != nil && !admitted(c) {
				continue
			}
			if strings.HasSuffix(c, "+incompatible") {
				if bestIncompatible == "" || semver.Compare(c, bestIncompatible) > 0 {
					bestIncompatible = c
				}
				continue
			}
			if best == "" || semver.Compare(c, best) > 0 {
				best = c
			}
		}
		if best != "" {
			return best, true
		}
		if bestIncompatible != "" {
			return bestIncompatible, true
		}
	}
	var best string
	var bestCompatible bool
	for _, c := range versions {
		if !module.IsPseudoVersion(c) || !IsCanonical(c) || admitted != nil && !admitted(c) {
			continue
		}
		if best == "" {
			best, bestCompatible = c, !strings.HasSuffix(c, "+incompatible")
			continue
		}
		compatible := !strings.HasSuffix(c, "+incompatible")
		if compatible != bestCompatible {
			if compatible {
				best, bestCompatible = c, true
			}
			continue
		}
		if pseudoLater(c, best) {
			best = c
		}
	}
	return best, best != ""
}

// pseudoLater reports whether pseudo-version a is to be preferred to b: a later
// commit time, or the same time and a higher version.
func pseudoLater(a, b string) bool {
	ta, errA := module.PseudoVersionTime(a)
	tb, errB := module.PseudoVersionTime(b)
	switch {
	case errA != nil || errB != nil:
		return errB != nil && errA == nil
	case ta.After(tb):
		return true
	case ta.Equal(tb):
		return semver.Compare(a, b) > 0
	}
	return false
}
