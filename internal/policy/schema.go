package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The rules map is the policy's own piece of the configuration document: the JSON
// object under "rules" (or under a named policy's "rules"), whose keys are rule names
// and whose values are rule objects, or null to suppress a built-in rule. It is decoded
// strictly: an unknown key or a value of the wrong JSON type is an error, reported under
// the rule's path with every other problem.

// The keys a rule object may carry. Which of them a rule's type accepts is checked
// after the merge (see mergeOne).
const (
	keyType       = "type"
	keyPrecedence = "precedence"
	keyMode       = "mode"
	keyAgeSeconds = "ageSeconds"
	keyPackages   = "packages"

	keyMinSeverity    = "minSeverity"
	keyOnMissingIndex = "onMissingIndex"
)

var ruleKeys = []string{keyType, keyPrecedence, keyMode, keyAgeSeconds, keyPackages, keyMinSeverity, keyOnMissingIndex}

// ruleSpec is one non-null entry of the rules map, as written.
type ruleSpec struct {
	typ            string
	precedence     *int
	mode           string
	ageSeconds     *int64
	packages       []packageEntry
	minSeverity    string
	onMissingIndex string
	// written records the keys the object had, null values included: a key written
	// as null is written, and merging treats it so.
	written map[string]bool
}

// packageEntry is one entry of a package list: a string is the pattern alone.
type packageEntry struct {
	pattern, reason, expires string
}

// decodeRules reads the rules map. A nil, empty or null raw means no rules were
// written. It returns the entries (nil for a null one), and every problem found, each
// under path or path.<name>. An entry with a problem is left out of the map.
func decodeRules(raw json.RawMessage, path string) (map[string]*ruleSpec, []error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, []error{&Error{Path: path, Msg: describeJSONError(err, "an object of rules"), Kind: ErrInvalid}}
	}
	specs := make(map[string]*ruleSpec, len(entries))
	var errs []error
	for _, name := range sortedNames(entries) {
		spec, specErrs := decodeRule(entries[name], path+"."+name)
		if len(specErrs) > 0 {
			errs = append(errs, specErrs...)
			continue
		}
		specs[name] = spec
	}
	return specs, errs
}

// decodeRule reads one entry of the rules map; null gives a nil spec.
func decodeRule(raw json.RawMessage, path string) (*ruleSpec, []error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, []error{&Error{Path: path, Msg: describeJSONError(err, "a rule object (or null to suppress a built-in rule)"), Kind: ErrInvalid}}
	}
	var errs []error
	fail := func(kind error, format string, args ...any) {
		errs = append(errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...), Kind: kind})
	}
	s := &ruleSpec{written: make(map[string]bool, len(fields))}
	for _, key := range sortedNames(fields) {
		if !slices.Contains(ruleKeys, key) {
			fail(ErrUnknownField, "unknown key %q", key)
			continue
		}
		s.written[key] = true
		value := fields[key]
		var err error
		switch key {
		case keyType:
			err = json.Unmarshal(value, &s.typ)
		case keyPrecedence:
			err = json.Unmarshal(value, &s.precedence)
		case keyMode:
			err = json.Unmarshal(value, &s.mode)
		case keyAgeSeconds:
			err = json.Unmarshal(value, &s.ageSeconds)
		case keyMinSeverity:
			err = json.Unmarshal(value, &s.minSeverity)
		case keyOnMissingIndex:
			err = json.Unmarshal(value, &s.onMissingIndex)
		case keyPackages:
			var entryErrs []string
			s.packages, entryErrs = decodePackages(value)
			for _, msg := range entryErrs {
				fail(ErrInvalid, "%s", msg)
			}
		}
		if err != nil {
			fail(ErrInvalid, "%s: %s", key, describeJSONError(err, ""))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// decodePackages reads a package list: null, or an array whose entries are each a
// pattern string or an object {"pattern", "reason", "expires"}. It returns what each
// wrong entry gets wrong.
func decodePackages(raw json.RawMessage) ([]packageEntry, []string) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, []string{"packages: " + describeJSONError(err, "an array of patterns")}
	}
	if items == nil {
		return nil, nil
	}
	out := make([]packageEntry, 0, len(items))
	var errs []string
	for i, item := range items {
		e, msg := decodePackage(item)
		if msg != "" {
			errs = append(errs, fmt.Sprintf("packages[%d]: %s", i, msg))
			continue
		}
		out = append(out, e)
	}
	return out, errs
}

// packageKeys are the keys of a package entry written as an object.
var packageKeys = []string{"pattern", "reason", "expires"}

// decodePackage reads one package entry; msg says what is wrong with it, "" when
// nothing is.
func decodePackage(raw json.RawMessage) (e packageEntry, msg string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &e.pattern); err != nil {
			return packageEntry{}, describeJSONError(err, "")
		}
		return e, ""
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || len(raw) == 0 || raw[0] != '{' {
		return packageEntry{}, fmt.Sprintf("a package entry is a pattern string or an object {\"pattern\", \"reason\", \"expires\"}, not JSON %s", jsonKind(raw))
	}
	var problems []string
	for _, key := range sortedNames(fields) {
		var dst *string
		switch key {
		case "pattern":
			dst = &e.pattern
		case "reason":
			dst = &e.reason
		case "expires":
			dst = &e.expires
		default:
			problems = append(problems, fmt.Sprintf("unknown key %q (valid: %s)", key, strings.Join(packageKeys, ", ")))
			continue
		}
		if err := json.Unmarshal(fields[key], dst); err != nil {
			problems = append(problems, key+": "+describeJSONError(err, ""))
		}
	}
	if e.pattern == "" && len(problems) == 0 {
		problems = append(problems, `package entry object needs a non-empty "pattern"`)
	}
	if len(problems) > 0 {
		return packageEntry{}, strings.Join(problems, "; ")
	}
	return e, ""
}

// describeJSONError words encoding/json's errors for an operator: a wrong type as
// "expected <want>, got JSON <kind>" (want defaults to the Go type's name), a syntax
// error with its offset.
func describeJSONError(err error, want string) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if want == "" {
			want = typeErr.Type.String()
		}
		return fmt.Sprintf("expected %s, got JSON %s", want, typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", syntaxErr.Offset, err)
	}
	return err.Error()
}

// jsonKind names the JSON type of a value, for messages.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}
