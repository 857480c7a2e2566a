package advisory

import (
	"slices"
	"strings"
)

// This file compiles an advisory's affected[] entries for one package into the set of
// versions they name, and answers membership in that set.
//
// The set is what OSV's evaluation algorithm (the schema's "Evaluation" section)
// computes, worked out once when the record is read rather than on every query: a
// version is affected when an explicit versions list names it, or when a SEMVER or
// ECOSYSTEM range holds it. Within one range the events are sorted by version
// ("introduced": "0" below everything; events at one version keep the record's
// order), and walking them in that order, a version is affected when the last event
// it has reached is an introduced one (an introduced or fixed event is reached at its
// own version, a last_affected one only past it); a range with limit events holds only
// versions below its highest limit. That walk makes every range a union of intervals,
// which is what an Affected keeps.
//
// Bounds a record writes that the ecosystem's ordering cannot read are resolved toward
// matching more rather than less: an unreadable introduced is read as "0", an
// unreadable fixed or last_affected is left out (the interval stays open), and an
// unreadable limit is read as "*". GIT ranges, ranges of any unknown type, and the
// ranges of an ecosystem the index has no ordering for (PyPI) name no versions here.

// eventKind is the kind of one range event.
type eventKind uint8

const (
	evIntroduced eventKind = iota
	evFixed
	evLastAffected
	evLimit
)

// boundKind says how a span's end bounds it.
type boundKind uint8

const (
	unbounded boundKind = iota
	inclusive
	exclusive
)

// bound is one end of a span.
type bound struct {
	v    Version
	kind boundKind
}

// span is an interval of versions; lo.kind or hi.kind may be unbounded.
type span struct {
	lo, hi bound
}

// affectedData is what an Affected holds.
type affectedData struct {
	// spans are disjoint, non-adjacent and ascending.
	spans []span
	// points are listed versions outside every span, ascending and distinct.
	points []Version
	// raw are listed versions the ecosystem's ordering does not read as a package
	// manager writes them, sorted; a queried version matches one by exact string only.
	raw []string
	eco uint8
}

// rangeEvent is one event of a range as compiled: its kind and version. zero marks an
// introduced event that is below everything; inf a limit that is "infinity".
type rangeEvent struct {
	v    Version
	kind eventKind
	zero bool
	inf  bool
}

// compileEvents reads a range's events into rangeEvents, resolving unreadable bounds as
// the file comment says. The result is sorted as the evaluation walks it.
func compileEvents(eco uint8, evs []wireEvent) []rangeEvent {
	out := make([]rangeEvent, 0, len(evs))
	for _, e := range evs {
		kind, value := e.kindValue()
		re := rangeEvent{kind: kind}
		v, ok := parseBound(eco, value)
		switch kind {
		case evIntroduced:
			if value == "0" || !ok {
				re.zero = true
			}
		case evFixed, evLastAffected:
			if !ok {
				continue
			}
		case evLimit:
			if strings.Contains(value, "*") || !ok {
				re.inf = true
			}
		}
		re.v = v
		out = append(out, re)
	}
	slices.SortStableFunc(out, compareEvents)
	return out
}

// compareEvents orders events by version, zero introduced events first; the sort is
// stable, so equal versions keep the record's order.
func compareEvents(a, b rangeEvent) int {
	switch {
	case a.zero && b.zero:
		return 0
	case a.zero:
		return -1
	case b.zero:
		return 1
	}
	return a.v.Compare(b.v)
}

// rangeSpans turns one range's sorted events into the spans of versions it holds.
func rangeSpans(evs []rangeEvent) []span {
	var limit *Version
	hasLimit, infLimit := false, false
	for i := range evs {
		if evs[i].kind != evLimit {
			continue
		}
		hasLimit = true
		if evs[i].inf {
			infLimit = true
		} else if limit == nil || evs[i].v.Compare(*limit) > 0 {
			limit = &evs[i].v
		}
	}

	var spans []span
	var open bool // a span is open (its hi not yet known)
	var cur span
	startAt := func(b bound) {
		if !open {
			cur = span{lo: b}
			open = true
		}
	}
	closeAt := func(b bound) {
		if open {
			cur.hi = b
			spans = append(spans, cur)
			open = false
		}
	}

	// above is whether the versions just past the events walked so far are affected.
	above := false
	i := 0
	for ; i < len(evs) && evs[i].zero; i++ {
		above = true
	}
	if above {
		startAt(bound{kind: unbounded})
	}
	for i < len(evs) {
		j := i
		x := evs[i].v
		for j < len(evs) && evs[j].v.Compare(x) == 0 {
			j++
		}
		at, next := above, above
		for _, e := range evs[i:j] {
			switch e.kind {
			case evIntroduced:
				at, next = true, true
			case evFixed:
				at, next = false, false
			case evLastAffected:
				next = false
			}
		}
		// The gap below x had state above; x itself has state at; the gap past it next.
		switch {
		case above && !at:
			closeAt(bound{v: x, kind: exclusive})
		case !above && at:
			startAt(bound{v: x, kind: inclusive})
		}
		switch {
		case at && !next:
			closeAt(bound{v: x, kind: inclusive})
		case !at && next:
			// Not reached by the events OSV defines (an introduced event sets both),
			// written out so the walk covers every case.
			startAt(bound{v: x, kind: exclusive})
		}
		above = next
		i = j
	}
	if open {
		closeAt(bound{kind: unbounded})
	}

	if hasLimit && !infLimit && limit != nil {
		spans = clipBelow(spans, *limit)
	}
	return spans
}

// clipBelow keeps of spans only the versions below l.
func clipBelow(spans []span, l Version) []span {
	out := spans[:0]
	for _, s := range spans {
		if s.lo.kind != unbounded && s.lo.v.Compare(l) >= 0 {
			continue
		}
		if s.hi.kind == unbounded || s.hi.v.Compare(l) >= 0 {
			s.hi = bound{v: l, kind: exclusive}
		}
		out = append(out, s)
	}
	return out
}

// compareLo orders spans' low ends: unbounded first, then by version, an inclusive end
// before an exclusive one at the same version.
func compareLo(a, b bound) int {
	switch {
	case a.kind == unbounded && b.kind == unbounded:
		return 0
	case a.kind == unbounded:
		return -1
	case b.kind == unbounded:
		return 1
	}
	if c := a.v.Compare(b.v); c != 0 {
		return c
	}
	return int(a.kind) - int(b.kind)
}

// compareHi orders spans' high ends: by version, an exclusive end before an inclusive
// one at the same version, unbounded last.
func compareHi(a, b bound) int {
	switch {
	case a.kind == unbounded && b.kind == unbounded:
		return 0
	case a.kind == unbounded:
		return 1
	case b.kind == unbounded:
		return -1
	}
	if c := a.v.Compare(b.v); c != 0 {
		return c
	}
	return int(b.kind) - int(a.kind)
}

// touches reports whether a span ending at hi and one starting at lo (lo not below the
// first's low end) overlap or leave no version between them.
func touches(hi, lo bound) bool {
	if hi.kind == unbounded || lo.kind == unbounded {
		return true
	}
	c := lo.v.Compare(hi.v)
	switch {
	case c < 0:
		return true
	case c > 0:
		return false
	}
	// Same version: only [.., x) and (x, ..) leave x out.
	return hi.kind == inclusive || lo.kind == inclusive
}

// unionSpans sorts spans and merges those that overlap or touch.
func unionSpans(spans []span) []span {
	if len(spans) < 2 {
		return spans
	}
	slices.SortFunc(spans, func(a, b span) int { return compareLo(a.lo, b.lo) })
	out := spans[:1]
	for _, s := range spans[1:] {
		last := &out[len(out)-1]
		if touches(last.hi, s.lo) {
			if compareHi(s.hi, last.hi) > 0 {
				last.hi = s.hi
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// compileAffected builds the Affected of one package from the ranges and versions of
// every affected[] entry naming it.
func compileAffected(eco uint8, entries []*wireAffected) *Affected {
	var spans []span
	var listed []string
	for _, a := range entries {
		for i := range a.Ranges {
			r := &a.Ranges[i]
			if (r.Type != "SEMVER" && r.Type != "ECOSYSTEM") || !ordered(eco) {
				continue
			}
			spans = append(spans, rangeSpans(compileEvents(eco, r.Events))...)
		}
		listed = append(listed, a.Versions...)
	}
	spans = unionSpans(spans)
	if len(spans) == 1 && spans[0].lo.kind == unbounded && spans[0].hi.kind == unbounded && !anyRaw(eco, listed) {
		return everything[eco]
	}
	aff := &Affected{affectedData{spans: slices.Clip(spans), eco: eco}}
	for _, s := range listed {
		if _, ok := parseStrict(eco, s); !ok && sensibleRaw(s) {
			aff.raw = append(aff.raw, s)
		}
		v, ok := parseBound(eco, s)
		if !ok || aff.inSpans(&v) {
			continue
		}
		aff.points = append(aff.points, v)
	}
	slices.SortFunc(aff.points, Version.Compare)
	aff.points = slices.Clip(slices.CompactFunc(aff.points, func(a, b Version) bool { return a.Compare(b) == 0 }))
	slices.Sort(aff.raw)
	aff.raw = slices.Clip(slices.Compact(aff.raw))
	return aff
}

// ordered reports whether the index orders an ecosystem's versions. It orders npm's
// and Go's; a PyPI advisory matches through its explicit versions list only (OSV
// fills that list in for PyPI's ranges), as reading its ranges with bounds resolved
// toward matching more would affect every version.
func ordered(eco uint8) bool { return eco == ecoNPM || eco == ecoGo }

// anyRaw reports whether some listed version would be kept for exact matching.
func anyRaw(eco uint8, listed []string) bool {
	for _, s := range listed {
		if _, ok := parseStrict(eco, s); !ok && sensibleRaw(s) {
			return true
		}
	}
	return false
}

// sensibleRaw reports whether an unparsed listed version is worth keeping for exact
// matching: short, and free of control characters (no package manager publishes
// such a version).
func sensibleRaw(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// everything is the shared Affected of "every version", per ecosystem: most malicious
// package reports say just that, and share this one value.
var everything = func() [ecoCount]*Affected {
	var all [ecoCount]*Affected
	for i := range all {
		all[i] = &Affected{affectedData{
			spans: []span{{lo: bound{kind: unbounded}, hi: bound{kind: unbounded}}},
			eco:   uint8(i),
		}}
	}
	return all
}()

// contains is Contains.
func (a *Affected) contains(version string) bool {
	if a == nil {
		return false
	}
	var v Version
	if parseStrictTo(&v, a.eco, version) {
		return a.inSpans(&v) || len(a.points) > 0 && a.inPoints(&v)
	}
	_, found := slices.BinarySearch(a.raw, version)
	return found
}

// ContainsVersion reports whether a version already parsed (with ParseVersion, in the
// advisory's ecosystem) lies in the affected ranges or versions. It does not allocate.
func (a *Affected) ContainsVersion(v Version) bool {
	if a == nil {
		return false
	}
	return a.inSpans(&v) || a.inPoints(&v)
}

// inSpans reports whether v lies in one of the spans.
func (a *affectedData) inSpans(v *Version) bool {
	spans := a.spans
	if len(spans) > 8 {
		// The spans are ascending and disjoint: only the last one starting at or
		// below v can hold it.
		lo, hi := 0, len(spans)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if admitsFrom(spans[m].lo, *v) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo == 0 {
			return false
		}
		spans = spans[lo-1 : lo]
	}
	for i := range spans {
		s := &spans[i]
		if s.lo.kind != unbounded {
			c := v.cmp(&s.lo.v)
			if c < 0 || c == 0 && s.lo.kind == exclusive {
				return false // below this span, so below every later one
			}
		}
		if s.hi.kind == unbounded {
			return true
		}
		c := v.cmp(&s.hi.v)
		if c < 0 || c == 0 && s.hi.kind == inclusive {
			return true
		}
	}
	return false
}

// admitsFrom reports whether a low end lets v in.
func admitsFrom(b bound, v Version) bool {
	switch b.kind {
	case inclusive:
		return v.Compare(b.v) >= 0
	case exclusive:
		return v.Compare(b.v) > 0
	}
	return true
}

// inPoints reports whether v is one of the listed points.
func (a *affectedData) inPoints(v *Version) bool {
	lo, hi := 0, len(a.points)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := a.points[m].cmp(v); {
		case c == 0:
			return true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

// semverRange is Range. Each span and point becomes one node-semver comparator set,
// in ascending order: "<X" or "<=X" for a span from the bottom, ">=X" or ">X" for a
// span to the top, both for one between, "X" for a single version, "*" for every
// version. The comparators are meant to be read as npm's audit reads them, with
// prereleases included: a span is exactly the versions SemVer precedence puts between
// its ends, so "<1.0.1" covers 1.0.1-beta and 0.5.0-rc.1 (both below the fix, both
// affected in OSV's reading), and ">=2.0.0" does not cover 2.0.0-rc.1. Listed
// versions the ordering cannot read cannot be written in a range and are left out.
func (a *Affected) semverRange() string {
	if a == nil || len(a.spans)+len(a.points) == 0 {
		return "<0.0.0-0"
	}
	b := make([]byte, 0, 24*(len(a.spans)+len(a.points)))
	si, pi := 0, 0
	for si < len(a.spans) || pi < len(a.points) {
		if len(b) > 0 {
			b = append(b, " || "...)
		}
		// A point lies outside every span, so it is below a span when below its low end.
		if pi < len(a.points) && (si == len(a.spans) || !admitsFrom(a.spans[si].lo, a.points[pi])) {
			b = a.points[pi].appendTo(b)
			pi++
			continue
		}
		b = a.spans[si].appendTo(b)
		si++
	}
	return string(b)
}

// appendTo appends the span's comparator set to b.
func (s span) appendTo(b []byte) []byte {
	lo, hi := s.lo, s.hi
	if lo.kind == inclusive && hi.kind == inclusive && lo.v.Compare(hi.v) == 0 {
		return lo.v.appendTo(b)
	}
	if lo.kind == unbounded && hi.kind == unbounded {
		return append(b, '*')
	}
	switch lo.kind {
	case inclusive:
		b = append(b, ">="...)
		b = lo.v.appendTo(b)
	case exclusive:
		b = append(b, '>')
		b = lo.v.appendTo(b)
	}
	if lo.kind != unbounded && hi.kind != unbounded {
		b = append(b, ' ')
	}
	switch hi.kind {
	case inclusive:
		b = append(b, "<="...)
		b = hi.v.appendTo(b)
	case exclusive:
		b = append(b, '<')
		b = hi.v.appendTo(b)
	}
	return b
}

// key is a canonical spelling of the affected set, equal for two Affected values that
// hold the same versions: Affected values are shared by key within a source.
func (a *Affected) key() string {
	var b strings.Builder
	b.WriteByte('0' + a.eco)
	b.WriteString(a.semverRange())
	for _, r := range a.raw {
		b.WriteByte(0)
		b.WriteString(r)
	}
	return b.String()
}
