package pypi

import (
	"fmt"
	"strings"
)

// String names the kind for logs and explanations: "wheel", "sdist" or "other".
func (k Kind) String() string {
	switch k {
	case KindWheel:
		return "wheel"
	case KindSdist:
		return "sdist"
	}
	return "other"
}

// maxFilenameLen bounds a distribution filename, as most file systems do.
const maxFilenameLen = 255

// sdistExtensions are the source distribution archive extensions, compared without
// regard to case.
var sdistExtensions = [...]string{".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip"}

// ParseFilename reads what a distribution's filename says about it, for the project
// whose normalised name is project.
//
// A wheel is {dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl: exactly five
// or six parts separated by '-', dist normalising to project, a build tag starting
// with a digit. A source distribution is {name}-{version} followed by one of .tar.gz,
// .tgz, .tar.bz2, .tar.xz, .tar or .zip; since old ones kept '-' in the name, the
// name ends at the first '-' where the part before it normalises to project and the
// part after it is a PEP 440 version. Any other file (an egg, an installer, an
// unknown kind) is KindOther, with the version read the same way where it can be
// and left empty where it cannot, and is never refused for its name or version.
//
// FileInfo.Version is the version as the filename spells it. An error, wrapping
// ErrInvalidFilename, refuses a name that cannot be a file name (empty, longer than
// 255 bytes, holding '/', '\\', "..", or a control character), a wheel or source
// distribution of another project, and one whose version is not PEP 440.
func ParseFilename(project, filename string) (FileInfo, error) {
	fail := func(why string, args ...any) (FileInfo, error) {
		return FileInfo{}, fmt.Errorf("%w %q: %s", ErrInvalidFilename, clip(filename), fmt.Sprintf(why, args...))
	}
	if filename == "" {
		return fail("empty")
	}
	if len(filename) > maxFilenameLen {
		return fail("longer than %d bytes", maxFilenameLen)
	}
	for i := 0; i < len(filename); i++ {
		switch c := filename[i]; {
		case c == '/' || c == '\\':
			return fail("holds a path separator")
		case c < 0x20 || c == 0x7f:
			return fail("holds a control character")
		}
	}
	if strings.Contains(filename, "..") {
		return fail(`holds ".."`)
	}
	project = Normalize(project)
	if project == "" {
		return fail("no project name to match it against")
	}

	if stem, ok := cutSuffixFold(filename, ".whl"); ok {
		return parseWheel(project, filename, stem)
	}
	for _, ext := range sdistExtensions {
		stem, ok := cutSuffixFold(filename, ext)
		if !ok {
			continue
		}
		name, version, found := splitNameVersion(project, stem)
		if !found {
			if name == "" {
				return fail("does not start with the project name %q and a version", clip(project))
			}
			if _, err := ParseVersion(version); err != nil {
				return FileInfo{}, fmt.Errorf("%w %q: %w", ErrInvalidFilename, clip(filename), err)
			}
			return fail("the version %q has surrounding white space", clip(version))
		}
		return FileInfo{Kind: KindSdist, Version: version}, nil
	}
	return FileInfo{Kind: KindOther, Version: otherVersion(project, filename)}, nil
}

func parseWheel(project, filename, stem string) (FileInfo, error) {
	fail := func(why string, args ...any) (FileInfo, error) {
		return FileInfo{}, fmt.Errorf("%w %q: %s", ErrInvalidFilename, clip(filename), fmt.Sprintf(why, args...))
	}
	parts := strings.Split(stem, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return fail("a wheel name has 5 or 6 parts separated by '-', not %d", len(parts))
	}
	for _, p := range parts {
		if p == "" {
			return fail("a wheel name has an empty part")
		}
	}
	if !sameProject(parts[0], project) {
		return fail("the wheel is of %q, not of %q", clip(parts[0]), clip(project))
	}
	version := parts[1]
	if _, _, why := parseVersion(version); why != "" || version != trimSpace(version) {
		if _, err := ParseVersion(version); err != nil {
			return FileInfo{}, fmt.Errorf("%w %q: %w", ErrInvalidFilename, clip(filename), err)
		}
		return fail("the version %q has surrounding white space", clip(version))
	}
	tags := parts[2:]
	if len(parts) == 6 {
		if !isASCIIDigit(parts[2][0]) || !isTag(parts[2]) {
			return fail("the build tag %q does not start with a digit", clip(parts[2]))
		}
		tags = parts[3:]
	}
	for _, t := range tags {
		if !isTag(t) {
			return fail("the compatibility tag %q holds a character other than letters, digits, '_' and '.'", clip(t))
		}
	}
	return FileInfo{Kind: KindWheel, Version: version}, nil
}

// isTag reports whether s is made of the characters of a wheel's tags.
func isTag(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isASCIIAlnum(c) && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// cutSuffixFold is strings.CutSuffix for an ASCII suffix in any case. The stem must
// not be empty.
func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) <= len(suffix) || !strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s, false
	}
	return s[:len(s)-len(suffix)], true
}

// splitNameVersion finds the first '-' in stem where the part before normalises to
// project and the part after is a PEP 440 version (without surrounding white space).
// When there is none, name is the first part that normalises to project and version
// what follows it, or both are empty when no part does.
func splitNameVersion(project, stem string) (name, version string, found bool) {
	for i := 0; i < len(stem); i++ {
		if stem[i] != '-' || !sameProject(stem[:i], project) {
			continue
		}
		v := stem[i+1:]
		if _, _, why := parseVersion(v); why == "" && v == trimSpace(v) {
			return stem[:i], v, true
		}
		if name == "" {
			name, version = stem[:i], v
		}
	}
	return name, version, false
}

// otherVersion reads the version of a file that is neither a wheel nor a source
// distribution ("name-1.0-py3.8.egg", "name-1.0.win32.exe", "name-1.0-1.noarch.rpm"):
// the text after the project name up to the next '-', shortened from the right one
// '.'-part at a time until it parses. Empty when nothing does.
func otherVersion(project, filename string) string {
	for i := 0; i < len(filename); i++ {
		if filename[i] != '-' || !sameProject(filename[:i], project) {
			continue
		}
		rest := filename[i+1:]
		if j := strings.IndexByte(rest, '-'); j >= 0 {
			rest = rest[:j]
		}
		for rest != "" {
			if _, _, why := parseVersion(rest); why == "" && rest == trimSpace(rest) {
				return rest
			}
			j := strings.LastIndexByte(rest, '.')
			if j < 0 {
				break
			}
			rest = rest[:j]
		}
		return ""
	}
	return ""
}
