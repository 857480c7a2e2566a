package npm

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Kind is the npm read route a request path names.
type Kind uint8

const (
	// KindPackument is the package document: /{name}. It is the zero Kind.
	KindPackument Kind = iota
	// KindVersion is one version's manifest: /{name}/{version-or-tag}.
	KindVersion
	// KindTarball is a version's tarball: /{name}/-/{file}.tgz.
	KindTarball
)

func (k Kind) String() string {
	switch k {
	case KindPackument:
		return "packument"
	case KindVersion:
		return "version"
	case KindTarball:
		return "tarball"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Request is a classified npm read path.
type Request struct {
	// Kind is the route. The zero value is KindPackument.
	Kind Kind
	// Name is the validated package name, unescaped ("@scope/name").
	Name string
	// Version is, for KindVersion, the version or dist-tag asked for; for KindTarball,
	// the version read from the file name. Empty for KindPackument.
	Version string
	// File is, for KindTarball, the tarball's file name ("name-1.2.3.tgz"). Empty
	// otherwise.
	File string
}

// MaxRefLength bounds a version or dist-tag in a request path.
const MaxRefLength = 256

// ErrInvalidPath is matched (with errors.Is) by every *PathError.
var ErrInvalidPath = errors.New("invalid request path")

// PathError says why a request path is not an npm read route. Its text is meant for
// the npm user. (A path whose only fault is its package name gives a *NameError.)
type PathError struct {
	// Path is the path as received, still escaped.
	Path string
	// Reason says what is wrong.
	Reason string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("unsupported request path %s: %s", quoteShort(e.Path), e.Reason)
}

// Is makes errors.Is(err, ErrInvalidPath) hold.
func (e *PathError) Is(target error) bool { return target == ErrInvalidPath }

// ParseRequestPath classifies an escaped URL path (as from url.URL.EscapedPath) as one
// of npm's read routes:
//
//	/{name}                        packument
//	/@scope%2fname, /@scope/name   packument of a scoped package (%2F too)
//	/{name}/{ref}                  manifest of a version or dist-tag
//	/{name}/-/{base}-{version}.tgz tarball; base is the name without its scope
//
// where a scoped name may be written either way wherever {name} appears. The name must
// pass ValidateName (the error is then a *NameError); a ref must be 1 to 256
// characters that a version or dist-tag can hold (the name characters and "+"); a
// tarball's file name must belong to the package and carry a version starting with a
// digit. Paths under /-/ are registry endpoints, not packages, and are refused.
// Every other failure is a *PathError.
func ParseRequestPath(escapedPath string) (Request, error) {
	fail := func(reason string) (Request, error) {
		return Request{}, &PathError{Path: escapedPath, Reason: reason}
	}
	if !strings.HasPrefix(escapedPath, "/") {
		return fail("it does not start with a slash")
	}
	segs := strings.Split(escapedPath[1:], "/")
	if segs[0] == "-" && len(segs) > 1 {
		return fail("it is a registry endpoint, not a package")
	}
	first, err := url.PathUnescape(segs[0])
	if err != nil {
		return fail("it has a malformed %-escape")
	}
	name, tail := first, segs[1:]
	switch {
	case strings.HasPrefix(first, "@") && !strings.Contains(first, "/") && len(segs) > 1:
		// /@scope/name: the scope and the name are two segments.
		second, err := url.PathUnescape(segs[1])
		if err != nil {
			return fail("it has a malformed %-escape")
		}
		if strings.Contains(second, "/") {
			return fail("the package part of a scoped name contains an escaped slash")
		}
		name, tail = first+"/"+second, segs[2:]
	case !strings.HasPrefix(first, "@") && strings.Contains(first, "/"):
		return fail("an unscoped name cannot contain an escaped slash")
	}
	if err := ValidateName(name); err != nil {
		return Request{}, err
	}
	switch len(tail) {
	case 0:
		return Request{Kind: KindPackument, Name: name}, nil
	case 1:
		ref, err := url.PathUnescape(tail[0])
		if err != nil {
			return fail("it has a malformed %-escape")
		}
		if reason := refProblem(ref); reason != "" {
			return fail("the version or tag " + reason)
		}
		return Request{Kind: KindVersion, Name: name, Version: ref}, nil
	case 2:
		if tail[0] != "-" {
			return fail("expected /{name}/-/{file}.tgz")
		}
		file, err := url.PathUnescape(tail[1])
		if err != nil {
			return fail("it has a malformed %-escape")
		}
		version, reason := tarballVersion(name, file)
		if reason != "" {
			return fail(reason)
		}
		return Request{Kind: KindTarball, Name: name, Version: version, File: file}, nil
	}
	return fail("it has too many segments for an npm route")
}

// refProblem describes what makes s unusable as a version or dist-tag, or returns "".
func refProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > MaxRefLength:
		return fmt.Sprintf("is longer than %d characters", MaxRefLength)
	case s == "." || s == "..":
		return "is a dot segment"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isNameChar(c) && c != '+' {
			return fmt.Sprintf("contains %q", c)
		}
	}
	return ""
}

// tarballVersion reads the version out of a tarball file name, checking that the file
// belongs to name. reason is empty on success.
func tarballVersion(name, file string) (version, reason string) {
	_, base := splitName(name)
	stem, ok := strings.CutSuffix(file, ".tgz")
	if !ok {
		return "", "a tarball file name must end in .tgz"
	}
	version, ok = strings.CutPrefix(stem, base+"-")
	if !ok || version == "" || version[0] < '0' || version[0] > '9' {
		return "", fmt.Sprintf("the file %s is not a tarball of %s (expected %s-{version}.tgz)",
			quoteShort(file), name, base)
	}
	if r := refProblem(version); r != "" {
		return "", "the version in the file name " + r
	}
	return version, ""
}

// TarballPath returns the path under which Écluse serves a version's tarball, escaped
// and rooted: "/left-pad/-/left-pad-1.3.0.tgz", "/@scope/name/-/name-1.0.0.tgz".
// ParseRequestPath reads it back as a KindTarball request for the same name and
// version. Characters outside the name alphabet are percent-escaped.
func TarballPath(name, version string) string {
	return TarballURLs("", name)(version)
}

// TarballURLs returns a function giving, for each version of the package name, the
// tarball path of TarballPath after prefix (an external base URL without its trailing
// slash, or ""). The part of the path that depends on the name is escaped once, so a
// rendering that rewrites thousands of versions builds each URL with one allocation.
func TarballURLs(prefix, name string) func(version string) string {
	scope, base := splitName(name)
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteByte('/')
	if scope != "" {
		b.WriteByte('@')
		escapeSegment(&b, scope[1:])
		b.WriteByte('/')
	}
	escapeSegment(&b, base)
	b.WriteString("/-/")
	escapeSegment(&b, base)
	b.WriteByte('-')
	head := b.String()
	return func(version string) string {
		var b strings.Builder
		b.Grow(len(head) + len(version) + 4)
		b.WriteString(head)
		escapeSegment(&b, version)
		b.WriteString(".tgz")
		return b.String()
	}
}

// escapeSegment writes s with every byte outside the name alphabet and "+" escaped.
func escapeSegment(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	clean := 0
	for clean < len(s) && (isNameChar(s[clean]) || s[clean] == '+') {
		clean++
	}
	b.WriteString(s[:clean]) // nearly always all of s: versions and names need no escape
	for i := clean; i < len(s); i++ {
		c := s[i]
		if isNameChar(c) || c == '+' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}
