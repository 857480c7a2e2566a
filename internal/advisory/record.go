package advisory

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file reads one OSV record (https://ossf.github.io/osv-schema/) into what the
// index keeps of it: an Advisory, and per affected package of a wanted ecosystem its
// compiled Affected. Everything else a record says (details, references, credits,
// ecosystem- and database-specific blocks but the two fields read below) is dropped.

// Ecosystem indexes: the index keeps one table per ecosystem.
const (
	ecoNPM uint8 = iota
	ecoGo
	ecoPyPI
	ecoCount
	ecoNone = ecoCount
)

// ecoNames are the ecosystems' names in Écluse's spelling, by index.
var ecoNames = [ecoCount]string{EcosystemNPM, EcosystemGo, EcosystemPyPI}

// ecoIndex maps an ecosystem name, in Écluse's spelling or OSV's, to its index;
// ecoNone for any other.
func ecoIndex(name string) uint8 {
	switch name {
	case EcosystemNPM:
		return ecoNPM
	case EcosystemGo, "Go":
		return ecoGo
	case EcosystemPyPI, "PyPI":
		return ecoPyPI
	}
	return ecoNone
}

// osvEcosystem maps a record's package.ecosystem to an index: OSV spells the three
// "npm", "Go" and "PyPI", exactly. Any other spelling, including a ":suffix" naming a
// release or a registry, is an ecosystem the index does not keep.
func osvEcosystem(name string) uint8 {
	switch name {
	case "npm":
		return ecoNPM
	case "Go":
		return ecoGo
	case "PyPI":
		return ecoPyPI
	}
	return ecoNone
}

// The parts of an OSV record the index reads.
type (
	wireRecord struct {
		ID               string          `json:"id"`
		Modified         string          `json:"modified"`
		Published        string          `json:"published"`
		Withdrawn        string          `json:"withdrawn"`
		Aliases          []string        `json:"aliases"`
		Summary          string          `json:"summary"`
		Details          unread          `json:"details"`
		Severity         []wireSeverity  `json:"severity"`
		Affected         []wireAffected  `json:"affected"`
		DatabaseSpecific *wireDBSpecific `json:"database_specific"`
	}
	wireSeverity struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	}
	wireAffected struct {
		Package  wirePackage    `json:"package"`
		Severity []wireSeverity `json:"severity"`
		Ranges   []wireRange    `json:"ranges"`
		Versions []string       `json:"versions"`
	}
	wirePackage struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	}
	wireRange struct {
		Type   string      `json:"type"`
		Events []wireEvent `json:"events"`
	}
	wireEvent struct {
		Introduced   string `json:"introduced"`
		Fixed        string `json:"fixed"`
		LastAffected string `json:"last_affected"`
		Limit        string `json:"limit"`
	}
	// unread is a field the decoder checks is well-formed JSON but does not copy:
	// details are long, and read (see summaryOf) only for a record without a summary.
	unread struct{}
	// wireDetails reads a record's details, when they are needed.
	wireDetails struct {
		Details string `json:"details"`
	}
	// wireDBSpecific is the top-level database_specific block. Its content is each
	// database's own, so its fields are read leniently: one of an unexpected type is
	// ignored, not an error.
	wireDBSpecific struct {
		Severity json.RawMessage `json:"severity"`
		CWEIDs   json.RawMessage `json:"cwe_ids"`
	}
)

// UnmarshalJSON accepts any JSON value and keeps nothing of it.
func (*unread) UnmarshalJSON([]byte) error { return nil }

// kindValue returns the event's kind and version. The record was validated, so
// exactly one of the four is set.
func (e wireEvent) kindValue() (eventKind, string) {
	switch {
	case e.Introduced != "":
		return evIntroduced, e.Introduced
	case e.Fixed != "":
		return evFixed, e.Fixed
	case e.LastAffected != "":
		return evLastAffected, e.LastAffected
	}
	return evLimit, e.Limit
}

// set counts the event's non-empty fields: a well-formed event has exactly one.
func (e wireEvent) set() int {
	n := 0
	for _, s := range [...]string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
		if s != "" {
			n++
		}
	}
	return n
}

// record is one record as a Set keeps it.
type record struct {
	adv  *Advisory
	pkgs []pkgAffected
}

// pkgAffected is what a record says of one package.
type pkgAffected struct {
	name string // normalised
	aff  *Affected
	eco  uint8
}

// Bounds of what a record may hold that the index keeps.
const (
	maxIDLen      = 128
	maxNameLen    = 512
	maxSummaryLen = 300
	maxVectorLen  = 256
	maxCWELen     = 32
)

// URL prefixes of the pages a person reads an advisory on.
const (
	ghsaURLPrefix = "https://github.com/advisories/"
	osvURLPrefix  = "https://osv.dev/vulnerability/"
)

// errRecord is the cause of a record that is not a valid OSV record.
func errRecord(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRecord}, args...)...)
}

// parseRecord reads one OSV record's JSON. It returns nil, nil for a record the index
// does not keep: a withdrawn one, or one naming no package of a wanted ecosystem. in
// shares repeated strings and Affected values between records; nil shares nothing.
func parseRecord(data []byte, want [ecoCount]bool, in *interner) (*record, error) {
	var r wireRecord
	if err := json.Unmarshal(data, &r); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, errRecord("json at offset %d: %s", syn.Offset, syn.Error())
		case errors.As(err, &typ):
			return nil, errRecord("field %q: not a %s", clip(typ.Field, 80), typ.Type)
		}
		return nil, errRecord("%s", clip(err.Error(), 200))
	}
	if !validID(r.ID) {
		return nil, errRecord("id %q is not a valid advisory id", clip(r.ID, maxIDLen))
	}
	if r.Withdrawn != "" {
		return nil, nil
	}

	// Group the wanted entries by package: one record may name a package in several
	// entries (one per vulnerable branch), which become one Affected.
	type group struct {
		name    string
		eco     uint8
		entries []*wireAffected
	}
	type groupKey struct {
		eco  uint8
		name string
	}
	var groups []group
	var byName map[groupKey]int // groups by package, once there are more than a few
	var first *wireAffected     // the first wanted entry, whose severity stands in for the record's
	for i := range r.Affected {
		a := &r.Affected[i]
		eco := osvEcosystem(a.Package.Ecosystem)
		if eco == ecoNone || !want[eco] {
			continue
		}
		if err := checkAffected(i, a); err != nil {
			return nil, err
		}
		name := normalizeName(eco, a.Package.Name)
		if !validName(name) {
			return nil, errRecord("affected[%d]: package name %q is not valid", i, clip(a.Package.Name, 80))
		}
		if first == nil {
			first = a
		}
		// Few records name more than a handful of packages: look them up in order,
		// and only past a few through a map, so that a hostile record naming
		// thousands costs no more than linear time.
		j := -1
		if byName != nil {
			if k, ok := byName[groupKey{eco, name}]; ok {
				j = k
			}
		} else {
			for k := range groups {
				if groups[k].eco == eco && groups[k].name == name {
					j = k
					break
				}
			}
		}
		if j < 0 {
			j = len(groups)
			groups = append(groups, group{name: in.str(name), eco: eco})
			if byName == nil && len(groups) > 8 {
				byName = make(map[groupKey]int, 2*len(groups))
				for k, g := range groups {
					byName[groupKey{g.eco, g.name}] = k
				}
			} else if byName != nil {
				byName[groupKey{eco, name}] = j
			}
		}
		groups[j].entries = append(groups[j].entries, a)
	}
	if len(groups) == 0 {
		return nil, nil
	}

	// The summary, or the start of the details when it says nothing: on one line (runs
	// of white space made one space, control and formatting characters dropped) and
	// clipped. The details are decoded only then.
	summary := oneLine(r.Summary, maxSummaryLen)
	if summary == "" {
		var d wireDetails
		if json.Unmarshal(data, &d) == nil {
			summary = oneLine(d.Details, maxSummaryLen)
		}
	}
	rec := &record{adv: newAdvisory(&r, summary, first, in), pkgs: make([]pkgAffected, len(groups))}
	for i, g := range groups {
		rec.pkgs[i] = pkgAffected{name: g.name, eco: g.eco, aff: in.affected(compileAffected(g.eco, g.entries))}
	}
	return rec, nil
}

// checkAffected checks the shape of one wanted affected[] entry (index i).
func checkAffected(i int, a *wireAffected) error {
	for j := range a.Ranges {
		r := &a.Ranges[j]
		if r.Type == "" {
			return errRecord("affected[%d].ranges[%d]: no type", i, j)
		}
		if len(r.Events) == 0 {
			return errRecord("affected[%d].ranges[%d]: no events", i, j)
		}
		for k, e := range r.Events {
			if e.set() != 1 {
				return errRecord("affected[%d].ranges[%d].events[%d]: an event has exactly one of introduced, fixed, last_affected and limit", i, j, k)
			}
		}
	}
	return nil
}

// newAdvisory builds the Advisory of a validated record, given its summary; first is
// its first wanted affected[] entry.
func newAdvisory(r *wireRecord, summary string, first *wireAffected, in *interner) *Advisory {
	adv := &Advisory{
		Summary:   summary,
		Published: parseTime(r.Published),
		Modified:  parseTime(r.Modified),
		Malicious: strings.HasPrefix(r.ID, "MAL-"),
	}
	n := 0
	for _, a := range r.Aliases {
		if validID(a) {
			n++
		}
	}
	if n > 0 {
		adv.Aliases = make([]string, 0, n)
		for _, a := range r.Aliases {
			if validID(a) {
				adv.Aliases = append(adv.Aliases, a)
			}
		}
	}

	// The URL and the id share one string: the id is the URL's tail when the page is
	// the record's own.
	ghsa := -1 // index in Aliases of the GHSA id the URL names, when not the record's
	switch {
	case isGHSA(r.ID):
		adv.URL = ghsaURLPrefix + r.ID
		adv.ID = adv.URL[len(ghsaURLPrefix):]
	default:
		for i, a := range adv.Aliases {
			if isGHSA(a) {
				ghsa = i
				break
			}
		}
		if ghsa >= 0 {
			adv.URL = ghsaURLPrefix + adv.Aliases[ghsa]
			adv.Aliases[ghsa] = adv.URL[len(ghsaURLPrefix):]
			adv.ID = r.ID
		} else {
			adv.URL = osvURLPrefix + r.ID
			adv.ID = adv.URL[len(osvURLPrefix):]
		}
	}

	severities := r.Severity
	if len(severities) == 0 && first != nil {
		severities = first.Severity
	}
	var scored bool
	adv.Vector, adv.Score, scored = pickVector(severities)
	adv.Vector = in.str(adv.Vector)
	if scored {
		adv.Severity = ratingOf(adv.Score)
	}
	// A severity the database states wins over the score: it is what the database's
	// own reviewers concluded, and the level GitHub shows beside the advisory.
	if db := r.DatabaseSpecific; db != nil {
		var s string
		if json.Unmarshal(db.Severity, &s) == nil {
			if sev := parseSeverityName(s); sev != SeverityUnknown {
				adv.Severity = sev
			}
		}
		var cwes []string
		if json.Unmarshal(db.CWEIDs, &cwes) == nil {
			for _, c := range cwes {
				if c != "" && len(c) <= maxCWELen && printableASCII(c) {
					adv.CWEs = append(adv.CWEs, in.str(c))
				}
			}
		}
	}
	return adv
}

// pickVector chooses the record's CVSS vector: the first CVSS v3 vector that scores,
// with its base score (scored is true), else the first v4 one, else the first v2 one
// (kept for messages, unscored).
func pickVector(severities []wireSeverity) (vector string, score float64, scored bool) {
	var v4, v2 string
	for _, s := range severities {
		if s.Score == "" || len(s.Score) > maxVectorLen || !printableASCII(s.Score) {
			continue
		}
		switch s.Type {
		case "CVSS_V3":
			if sc, ok := cvss3BaseScore(s.Score); ok {
				return s.Score, sc, true
			}
		case "CVSS_V4":
			if v4 == "" {
				v4 = s.Score
			}
		case "CVSS_V2":
			if v2 == "" {
				v2 = s.Score
			}
		}
	}
	if v4 != "" {
		return v4, 0, false
	}
	return v2, 0, false
}

// parseSeverityName reads a database's severity word, in any case: GitHub's LOW,
// MODERATE, HIGH and CRITICAL, and MEDIUM as a synonym of MODERATE.
func parseSeverityName(s string) Severity {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "LOW":
		return SeverityLow
	case "MODERATE", "MEDIUM":
		return SeverityModerate
	case "HIGH":
		return SeverityHigh
	case "CRITICAL":
		return SeverityCritical
	}
	return SeverityUnknown
}

// parseTime reads an RFC 3339 time; zero when absent or malformed.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// validID reports whether s is a sane advisory id: 1 to 128 bytes of letters, digits
// and "-_.:+" (every OSV database prefix and id format fits).
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("-_.:+", c) >= 0) {
			return false
		}
	}
	return true
}

// isGHSA reports whether s is a GitHub advisory id ("GHSA-xxxx-xxxx-xxxx", lower-case
// letters and digits).
func isGHSA(s string) bool {
	if len(s) != 19 || !strings.HasPrefix(s, "GHSA-") {
		return false
	}
	for i := 5; i < len(s); i++ {
		c := s[i]
		switch i {
		case 9, 14:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
				return false
			}
		}
	}
	return true
}

// printableASCII reports whether s is made of printable ASCII characters only.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validName reports whether a normalised package name is one the index keeps: 1 to
// 512 bytes, without control or formatting characters.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// normalizeName spells a package name as its ecosystem compares names: npm trimmed
// and in lower case; Go as written (module paths are case-sensitive); PyPI as PEP 503
// normalises it (lower case, each run of "-", "_" and "." made one "-"). It does not
// allocate when the name is already normal.
func normalizeName(eco uint8, name string) string {
	switch eco {
	case ecoNPM:
		return strings.ToLower(strings.TrimSpace(name))
	case ecoPyPI:
		return normalizePyPI(name)
	}
	return name
}

// normalizePyPI is PEP 503's normalisation.
func normalizePyPI(name string) string {
	isSep := func(c byte) bool { return c == '-' || c == '_' || c == '.' }
	clean := true
	for i := 0; i < len(name) && clean; i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= utf8.RuneSelf, c == '_', c == '.':
			clean = false
		case c == '-' && i > 0 && name[i-1] == '-':
			clean = false
		}
	}
	if clean {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		if isSep(name[i]) {
			for i+1 < len(name) && isSep(name[i+1]) {
				i++
			}
			b.WriteByte('-')
			continue
		}
		b.WriteByte(name[i])
	}
	return strings.ToLower(b.String())
}

// oneLine puts s on one line and clips it to at most max bytes, never inside a UTF-8
// character; a clipped text ends with "…". It returns s itself when s needs no change.
func oneLine(s string, max int) string {
	if len(s) <= max && plainLine(s) {
		return s
	}
	// Only the start matters: look at no more than a few times what is kept.
	if len(s) > 4*max {
		cut := 4 * max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	var b strings.Builder
	b.Grow(min(len(s), max))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return clip(b.String(), max)
}

// plainLine reports whether s is printable ASCII without leading, trailing or doubled
// spaces: a line oneLine would leave as it is.
func plainLine(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' || !printableASCII(s) {
		return false
	}
	return !strings.Contains(s, "  ")
}

// clip shortens s to at most max bytes, never inside a UTF-8 character, marking a cut
// with "…" (counted in max). It is the package's one clipping helper, for what a
// record or an archive names in messages and errors.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	cut := max - len(mark)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " ") + mark
}

// interner shares equal strings and equal Affected values between the records of one
// source, so that a package named by a thousand advisories, or a thousand
// advisories saying "every version", cost one copy. A nil interner shares nothing.
type interner struct {
	strs map[string]string
	affs map[string]*Affected
}

// str returns the shared copy of s.
func (in *interner) str(s string) string {
	if in == nil || s == "" {
		return s
	}
	if t, ok := in.strs[s]; ok {
		return t
	}
	if in.strs == nil {
		in.strs = map[string]string{}
	}
	in.strs[s] = s
	return s
}

// affected returns the shared Affected holding the same versions as a.
func (in *interner) affected(a *Affected) *Affected {
	if in == nil {
		return a
	}
	for _, e := range everything {
		if a == e {
			return a
		}
	}
	k := a.key()
	if b, ok := in.affs[k]; ok {
		return b
	}
	if in.affs == nil {
		in.affs = map[string]*Affected{}
	}
	in.affs[k] = a
	return a
}
