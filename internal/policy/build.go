package policy

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Options are the settings of a Policy that do not come from the rules map.
type Options struct {
	// MinIntegrity is the integrity floor (PROXY_MIN_PUBLIC_INTEGRITY): the weakest
	// digest algorithm an untrusted version may rely on. One of "sha256", "sha384",
	// "sha512" or "blake2b", in any case. Empty means "sha256". Nothing weaker than
	// sha256 is accepted.
	MinIntegrity string
	// Ordering reads the version ranges of package patterns ("typescript@>=5.0.0") in
	// the ecosystem's own version syntax. Nil means the ecosystem has none: a pattern
	// with a range is then a Build error.
	Ordering Ordering
	// Path is the document path of the rules map, the prefix every error about it is
	// reported under ("rules.min-age: ..."); a named policy passes
	// "policies.<name>.rules". Empty means "rules".
	Path string
	// Ecosystem names the ecosystem whose package names the patterns match: "npm" or
	// "go" (others as they come). It decides only how the name part of a pattern is
	// checked at Build: npm's name characters and scopes for npm, the glob dialect
	// alone (see CompileGlob) for any other. Empty means "npm".
	Ecosystem string
	// FoldName, when set, rewrites the name part of every package pattern before it is
	// compiled: an ecosystem whose gate decides normalised names (PyPI's PEP 503 form)
	// passes its normalisation, so that "PyYAML" and "py_yaml*" match "pyyaml". Its
	// output must keep the glob characters. Nil means names are matched as written.
	FoldName func(string) string
}

// EcosystemNPM is Options.Ecosystem's default.
const EcosystemNPM = "npm"

// Policy is a validated, compiled rule set. It is immutable after Build and safe for
// concurrent use.
type Policy struct {
	floor algorithm
	// rules are in evaluation order: precedence descending, then name ascending.
	rules []rule
	// suppressed names the built-in rules the document switched off with null.
	suppressed []string
}

// Sentinels that every error returned by Build wraps, for errors.Is.
var (
	// ErrUnknownType: a rule names a type that does not exist, or a new rule names none.
	ErrUnknownType = errors.New("unknown rule type")
	// ErrUnknownField: a rule carries a field its type does not have.
	ErrUnknownField = errors.New("field not valid for the rule type")
	// ErrTypeMismatch: an entry named after a built-in rule gives it a different type.
	ErrTypeMismatch = errors.New("rule type differs from the built-in rule's")
	// ErrInvalid: a value is malformed or out of range.
	ErrInvalid = errors.New("invalid rule")
	// ErrWeakFloor: the integrity floor is not a known algorithm of at least SHA-256.
	ErrWeakFloor = errors.New("integrity floor refused")
)

// Error is one problem found by Build. Its text is "<path>: <message>", where the path
// is Options.Path ("rules") for the rules map as a whole, Options.Path and the rule's
// name ("rules.<name>") for one rule, or "PROXY_MIN_PUBLIC_INTEGRITY".
type Error struct {
	// Path is the document path or setting the problem concerns.
	Path string
	// Msg says what is wrong and, where it helps, what would be accepted.
	Msg string
	// Kind is the sentinel the error wraps.
	Kind error
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// Unwrap returns the sentinel, so errors.Is(err, ErrUnknownType) works.
func (e *Error) Unwrap() error { return e.Kind }

// Names that a rule may not take, because decisions use them for themselves.
const (
	// RuleIntegrityFloor is Decision.Rule when the integrity floor refused a version.
	RuleIntegrityFloor = "integrity-floor"
	// RuleDefaultDeny is Decision.Rule when no rule admitted a version.
	RuleDefaultDeny = "default-deny"
	// RuleTarballManifest is Decision.Rule when Écluse refused a version for what its
	// tarball holds (a package.json that disagrees with the registry's metadata, or an
	// archive it cannot read as the clients do).
	RuleTarballManifest = "tarball-manifest"
)

// DefaultMinAgeSeconds is the quarantine window of the built-in min-age rule: 7 days.
const DefaultMinAgeSeconds = 7 * 24 * 60 * 60

// maxAgeSeconds keeps a MinAge window well inside time.Duration (about a century).
const maxAgeSeconds = 100 * 365 * 24 * 60 * 60

// maxRuleName bounds a rule name, which travels into logs and denial messages.
const maxRuleName = 64

// draft is a rule while the document is merged over the defaults.
type draft struct {
	name       string
	typ        typeInfo
	precedence int
	mode       string
	ageSeconds int64
	packages   []packageEntry
	origin     string
	// minSeverity and onMissingIndex are as written; empty means the default.
	minSeverity, onMissingIndex string
}

// The names of the built-in rules.
const (
	RuleMinAge               = "min-age"
	RuleRemediationFastTrack = "remediation-fast-track"
	RuleDenyMalicious        = "deny-malicious"
)

// defaults returns the built-in policy, fresh on each call.
func defaults() map[string]*draft {
	builtin := func(name, typ string) *draft {
		t, _ := lookupType(typ)
		return &draft{name: name, typ: t, precedence: t.precedence, mode: ModeEnforce, origin: "default"}
	}
	minAge := builtin(RuleMinAge, TypeMinAge)
	minAge.ageSeconds = DefaultMinAgeSeconds
	return map[string]*draft{
		RuleMinAge:               minAge,
		RuleRemediationFastTrack: builtin(RuleRemediationFastTrack, TypeAllowIfRemediatesCve),
		RuleDenyMalicious:        builtin(RuleDenyMalicious, TypeDenyMalicious),
	}
}

// Build decodes the rules map (the JSON object under the document's "rules"), merges it
// over the built-in default policy, validates the result and compiles it. A nil, empty
// or null rules means none were written: the built-in defaults alone. It returns every
// problem it finds, never just the first, each a *Error under its path; on any problem
// the Policy is nil.
//
// The merge, entry by entry: a name of a built-in rule with a null value suppresses that
// rule; the same name with an object patches the fields it writes (a "type", if given,
// must be the built-in one's); any other name adds a rule and must give its "type".
func Build(rules json.RawMessage, opts Options) (*Policy, []error) {
	var errs []error
	floor, err := parseFloor(opts.MinIntegrity)
	if err != nil {
		errs = append(errs, err)
	}
	prefix := opts.Path
	if prefix == "" {
		prefix = "rules"
	}
	specs, decodeErrs := decodeRules(rules, prefix)
	errs = append(errs, decodeErrs...)

	drafts := defaults()
	builtin := defaults()
	var suppressed []string
	for _, key := range sortedNames(specs) {
		spec := specs[key]
		path := prefix + "." + key
		fail := func(kind error, format string, args ...any) {
			errs = append(errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...), Kind: kind})
		}
		if msg := checkRuleName(key); msg != "" {
			fail(ErrInvalid, "%s", msg)
			continue
		}
		base, isBuiltin := builtin[key]
		if spec == nil {
			if !isBuiltin {
				fail(ErrInvalid, "null suppresses a built-in rule, and there is no built-in rule named %q (built-in: %s)",
					key, strings.Join(sortedNames(builtin), ", "))
				continue
			}
			delete(drafts, key)
			suppressed = append(suppressed, key)
			continue
		}
		if d := mergeOne(key, spec, base, isBuiltin, fail); d != nil {
			drafts[key] = d
		} else {
			delete(drafts, key)
		}
	}

	p := &Policy{floor: floor, suppressed: suppressed}
	for _, name := range sortedNames(drafts) {
		r, ruleErrs := compile(drafts[name], prefix+"."+name, &opts)
		errs = append(errs, ruleErrs...)
		p.rules = append(p.rules, r)
	}
	if len(errs) > 0 {
		// Group each rule's problems together, in the order of the document's keys.
		slices.SortStableFunc(errs, func(a, b error) int { return strings.Compare(errorPath(a), errorPath(b)) })
		return nil, errs
	}
	slices.SortStableFunc(p.rules, func(a, b rule) int {
		if c := cmp.Compare(b.precedence, a.precedence); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return p, nil
}

var commonFields = []string{keyType, keyPrecedence, keyMode}

// mergeOne applies one non-null entry. base is the built-in rule of that name, if any.
// It reports problems through fail. It returns nil when the entry has no usable type;
// otherwise the merged draft, which compile validates further.
func mergeOne(key string, s *ruleSpec, base *draft, isBuiltin bool, fail func(error, string, ...any)) *draft {
	w := s.written
	var d draft
	switch {
	case isBuiltin:
		d = *base
		d.origin = "patched"
		if w[keyType] && s.typ != base.typ.name {
			fail(ErrTypeMismatch, "type %q differs from the built-in rule's type %q; patch it without a type, or give the new rule another name",
				s.typ, base.typ.name)
			return nil
		}
	case s.typ == "":
		fail(ErrUnknownType, "a new rule needs a \"type\" (one of %s)", strings.Join(typeNames(), ", "))
		return nil
	default:
		t, ok := lookupType(s.typ)
		if !ok {
			fail(ErrUnknownType, "unknown rule type %q (one of %s)", s.typ, strings.Join(typeNames(), ", "))
			return nil
		}
		d = draft{name: key, typ: t, precedence: t.precedence, mode: ModeEnforce, origin: "added"}
	}

	valid := append(slices.Clone(commonFields), d.typ.fields...)
	for _, k := range sortedNames(w) {
		if w[k] && !slices.Contains(valid, k) {
			fail(ErrUnknownField, "field %q is not valid for type %s (valid: %s)", k, d.typ.name, strings.Join(valid, ", "))
		}
	}
	if w[keyPrecedence] {
		if s.precedence == nil {
			fail(ErrInvalid, "precedence must be an integer, not null")
		} else {
			d.precedence = *s.precedence
		}
	}
	if w[keyMode] {
		d.mode = s.mode
	}
	if w[keyAgeSeconds] && d.typ.kind == kindMinAge {
		if s.ageSeconds == nil {
			fail(ErrInvalid, "ageSeconds must be a positive number of seconds, not null")
		} else {
			d.ageSeconds = *s.ageSeconds
		}
	}
	if w[keyPackages] {
		d.packages = s.packages
	}
	if w[keyMinSeverity] {
		d.minSeverity = s.minSeverity
	}
	if w[keyOnMissingIndex] {
		d.onMissingIndex = s.onMissingIndex
	}
	return &d
}

// compile validates a merged draft and turns it into a rule, returning every problem,
// each under path.
func compile(d *draft, path string, opts *Options) (rule, []error) {
	var errs []error
	fail := func(kind error, format string, args ...any) {
		errs = append(errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...), Kind: kind})
	}
	r := rule{name: d.name, typ: d.typ, precedence: d.precedence, origin: d.origin}
	switch d.mode {
	case ModeEnforce, "":
	case ModeWarn:
		r.warn = true
		if d.typ.allowOnly {
			fail(ErrInvalid, "mode %q has no effect on a %s rule, which only ever admits; remove the rule (null for a built-in one) instead",
				ModeWarn, d.typ.name)
		}
	default:
		fail(ErrInvalid, "mode %q is neither %q nor %q", d.mode, ModeEnforce, ModeWarn)
	}
	switch d.typ.kind {
	case kindMinAge:
		switch {
		case d.ageSeconds <= 0:
			fail(ErrInvalid, "ageSeconds must be a positive number of seconds, got %d", d.ageSeconds)
		case d.ageSeconds > maxAgeSeconds:
			fail(ErrInvalid, "ageSeconds %d is more than a century (at most %d)", d.ageSeconds, maxAgeSeconds)
		default:
			r.age = time.Duration(d.ageSeconds) * time.Second
		}
	case kindDenyCVE:
		sev, ok := parseSeverity(d.minSeverity)
		if !ok {
			fail(ErrInvalid, "minSeverity %q is not one of any, low, moderate, high, critical", d.minSeverity)
		}
		r.minSeverity = sev
	case kindAllowPackages, kindDenyPackages:
		if len(d.packages) == 0 {
			fail(ErrInvalid, "packages must list at least one pattern")
		}
		for i, e := range d.packages {
			pat, err := compilePattern(e, d.typ.kind == kindAllowPackages, opts)
			if err != nil {
				fail(ErrInvalid, "packages[%d]: %v", i, err)
				continue
			}
			r.patterns = append(r.patterns, pat)
		}
	}
	if d.typ.kind == kindDenyCVE || d.typ.kind == kindDenyMalicious {
		switch d.onMissingIndex {
		case MissingIndexDeny, "":
			r.missing = deny
		case MissingIndexAbstain:
			r.missing = abstain
		default:
			fail(ErrInvalid, "onMissingIndex %q is neither %q nor %q", d.onMissingIndex, MissingIndexDeny, MissingIndexAbstain)
		}
	}
	return r, errs
}

// checkRuleName returns "" for an acceptable rule name, else what is wrong with it.
func checkRuleName(name string) string {
	if name == RuleIntegrityFloor || name == RuleDefaultDeny || name == RuleTarballManifest {
		return fmt.Sprintf("the name %q is reserved for decisions that no rule makes", name)
	}
	ok := name != "" && len(name) <= maxRuleName
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		ok = alnum || i > 0 && (c == '-' || c == '_' || c == '.')
	}
	if !ok {
		return fmt.Sprintf("a rule name must be 1 to %d letters, digits, \"-\", \"_\" or \".\", starting with a letter or digit", maxRuleName)
	}
	return ""
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func errorPath(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Path
	}
	return ""
}
