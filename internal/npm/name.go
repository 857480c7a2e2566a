package npm

import (
	"errors"
	"fmt"
	"strings"
)

// MaxNameLength is the longest package name npm allows, scope included.
const MaxNameLength = 214

// ErrInvalidName is matched (with errors.Is) by every *NameError.
var ErrInvalidName = errors.New("invalid package name")

// NameError says why a string is not a package name. Its text is meant for the npm user
// who typed the name.
type NameError struct {
	// Name is the rejected name, as given.
	Name string
	// Reason says what is wrong, e.g. `it starts with a dot`.
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("invalid package name %s: %s", quoteShort(e.Name), e.Reason)
}

// Is makes errors.Is(err, ErrInvalidName) hold.
func (e *NameError) Is(target error) bool { return target == ErrInvalidName }

// ValidateName accepts the names npm serves for existing packages, "left-pad",
// "JSONStream", "@types/node", and nothing else. A name
//
//   - is 1 to 214 bytes long, scope included;
//   - does not start with "." or "_" and does not contain "..";
//   - is either "name" or "@scope/name", with both parts non-empty and neither part
//     "." (so it cannot act as a path segment of its own);
//   - uses only the characters encodeURIComponent leaves alone (ASCII letters and
//     digits and - . _ ~ ! * ' ( )), apart from the scope's "@" and its one "/";
//   - is not one of npm's reserved names, node_modules and favicon.ico.
//
// Upper case is allowed because old packages have it; npm only refuses it for new
// ones. The error is a *NameError.
func ValidateName(name string) error {
	fail := func(reason string) error { return &NameError{Name: name, Reason: reason} }
	switch {
	case name == "":
		return fail("it is empty")
	case len(name) > MaxNameLength:
		return fail(fmt.Sprintf("it is longer than %d characters", MaxNameLength))
	case name[0] == '.':
		return fail("it starts with a dot")
	case name[0] == '_':
		return fail("it starts with an underscore")
	case strings.Contains(name, ".."):
		return fail(`it contains ".."`)
	}
	pkg := name
	if name[0] == '@' {
		scope, rest, ok := strings.Cut(name[1:], "/")
		switch {
		case !ok:
			return fail("a scoped name needs a slash between scope and package, as in @scope/name")
		case scope == "":
			return fail("the scope after @ is empty")
		case rest == "":
			return fail("the package part after the scope is empty")
		case scope == ".":
			return fail(`the scope is "."`)
		}
		if reason := nameCharsProblem(scope); reason != "" {
			return fail("the scope " + reason)
		}
		pkg = rest
	}
	if pkg == "." {
		return fail(`the package part is "."`)
	}
	if reason := nameCharsProblem(pkg); reason != "" {
		return fail("it " + reason)
	}
	switch strings.ToLower(name) {
	case "node_modules", "favicon.ico":
		return fail("it is a reserved name")
	}
	return nil
}

// nameCharsProblem describes the first character of s that a name part may not hold,
// or returns "".
func nameCharsProblem(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isNameChar(c) {
			continue
		}
		switch {
		case c == '/':
			return "contains a slash; only a scoped name has one, right after the scope"
		case c == '@':
			return "contains @; it may only start a scoped name"
		case c == ' ':
			return "contains a space"
		case c < 0x20 || c == 0x7f:
			return "contains a control character"
		case c >= 0x80:
			return "contains a non-ASCII character"
		default:
			return fmt.Sprintf("contains %q, which is not URL-safe", c)
		}
	}
	return ""
}

// isNameChar reports whether c is left unescaped by JavaScript's encodeURIComponent.
func isNameChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '*', '\'', '(', ')':
		return true
	}
	return false
}

// splitName returns a scoped name's scope (with its "@") and package part; an
// unscoped name has an empty scope.
func splitName(name string) (scope, pkg string) {
	if strings.HasPrefix(name, "@") {
		if s, p, ok := strings.Cut(name, "/"); ok {
			return s, p
		}
	}
	return "", name
}
