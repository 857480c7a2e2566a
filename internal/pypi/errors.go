package pypi

import (
	"errors"
	"unicode/utf8"
)

// Sentinels for the ways input is refused, matched with errors.Is. The error texts
// around them are for people; callers branch on these only.
var (
	// ErrInvalidVersion: a string is not a PEP 440 version.
	ErrInvalidVersion = errors.New("invalid PEP 440 version")
	// ErrInvalidSpecifier: a version range is not a PEP 440 specifier set.
	ErrInvalidSpecifier = errors.New("invalid PEP 440 specifier")
	// ErrInvalidFilename: a distribution filename is unusable or does not belong to
	// the project.
	ErrInvalidFilename = errors.New("invalid distribution filename")
	// ErrInvalidPage: a project page is malformed (not JSON, a file without a URL, a
	// field of the wrong type).
	ErrInvalidPage = errors.New("pypi: invalid project page")
	// ErrPageTooLarge: a project page goes past Limits (too many files, a field too
	// long).
	ErrPageTooLarge = errors.New("pypi: project page over limits")
)

// pageError is why a project page was refused. Its text starts "pypi: project page:"
// and never quotes more than a clipped piece of the page.
type pageError struct {
	kind   error // ErrInvalidPage or ErrPageTooLarge
	reason string
	cause  error // a lower-level error (from encoding/json), or nil
}

func (e *pageError) Error() string {
	if e.cause != nil {
		return "pypi: project page: " + e.reason + ": " + e.cause.Error()
	}
	return "pypi: project page: " + e.reason
}

func (e *pageError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

func invalidPage(reason string) error { return &pageError{kind: ErrInvalidPage, reason: reason} }

func tooLarge(reason string) error { return &pageError{kind: ErrPageTooLarge, reason: reason} }

// maxQuoted bounds how much of a hostile input an error message quotes.
const maxQuoted = 64

// clip shortens s to at most maxQuoted bytes for an error message, without cutting a
// UTF-8 character, marking the cut with "...".
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
