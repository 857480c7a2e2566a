package npm

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Limits bound what ParsePackument accepts from an upstream. Each zero field means
// "no limit" for that dimension.
type Limits struct {
	// MaxBytes is the largest document accepted, in bytes. Zero means unlimited.
	MaxBytes int64
	// MaxVersions is the most entries accepted in "versions". Zero means unlimited.
	MaxVersions int
	// MaxDepth is the deepest nesting of objects and arrays accepted; the document's
	// own object is depth 1, a version manifest is depth 3. Zero means unlimited
	// (jsontext still refuses anything past 10000).
	MaxDepth int
}

// DistTag is one entry of a packument's "dist-tags": a tag name and the version it
// points at.
type DistTag struct {
	Name    string
	Version string
}

// Version is one entry of a packument's "versions".
type Version struct {
	// Key is the version string as written in "versions". When the manifest has a
	// "version" field, ParsePackument has checked it is equal.
	Key string
	// Raw is the manifest exactly as served: a JSON object, a substring of the
	// document.
	Raw string
	// Info is what the policy engine decides on, extracted from Raw and from the
	// document's "time" map.
	Info VersionInfo
	// Tarball is dist.tarball as served, escapes resolved. Empty means absent or not a
	// string.
	Tarball string

	// tarStart and tarEnd delimit dist.tarball's value inside Raw; tarEnd is 0 when
	// the manifest has no dist.tarball.
	tarStart, tarEnd int
}

// Packument is a parsed package document. It holds one copy of the document as a
// string, and everything it hands out (Raw manifests, the strings in Info, Tarball) is
// a substring of it, so a cached Packument costs little more than the document itself.
// A Packument is never changed by its methods, so one value may be rendered by many
// goroutines at once; callers must not change its exported fields either.
type Packument struct {
	// Name is the package name, equal to the name it was parsed for.
	Name string
	// DistTags are the document's dist-tags in document order, as served. Entries
	// whose value was not a string are left out. Rendering repairs them per request
	// (see the dist-tags rules in disttags.go); this field is never rewritten.
	DistTags []DistTag
	// Versions are the document's versions in document order.
	Versions []Version

	// members are the top-level members in document order.
	members []member
	// times are the entries of "time" in document order.
	times []timeEntry
	// order holds the indexes of Versions sorted by Key, for lookups by key. (A map
	// would cost ten times the memory per version.)
	order []int32
	// removed holds versions that existed upstream but were left out when this value
	// was built (see Union); dist-tags pointing at them are moved, not dropped.
	removed map[string]bool
}

type memberKind uint8

const (
	memberOther memberKind = iota
	memberName
	memberDistTags
	memberVersions
	memberTime
)

// member is one top-level member of the document.
type member struct {
	key    string // escapes resolved
	keyRaw string // as written, with quotes
	val    string // as written; unused for the kinds that are re-rendered
	kind   memberKind
}

// timeEntry is one member of "time".
type timeEntry struct {
	keyRaw string // as written, with quotes; key(keyRaw) is the text
	val    string
	// ver is the index in Versions of the version this entry dates, or -1 when the
	// key is not one of the document's versions ("created", "modified", or a version
	// that was unpublished).
	ver int
}

// Find returns the version whose key is exactly version, or nil.
func (p *Packument) Find(version string) *Version {
	if i, ok := p.lookup(version); ok {
		return &p.Versions[i]
	}
	return nil
}

// lookup returns the index in Versions of the version keyed k.
func (p *Packument) lookup(k string) (int, bool) {
	j, ok := slices.BinarySearchFunc(p.order, k, func(i int32, k string) int {
		return strings.Compare(p.Versions[i].Key, k)
	})
	if !ok {
		return 0, false
	}
	return int(p.order[j]), true
}

// sortOrder builds order from Versions, whose keys must be distinct.
func (p *Packument) sortOrder() {
	p.order = make([]int32, len(p.Versions))
	for i := range p.order {
		p.order[i] = int32(i)
	}
	slices.SortFunc(p.order, func(a, b int32) int {
		return strings.Compare(p.Versions[a].Key, p.Versions[b].Key)
	})
}

// ParsePackument checks an upstream package document and indexes it without decoding
// the version manifests. It refuses (with a *DocumentError) a document that is larger,
// deeper or has more versions than lim allows, is not valid JSON or valid UTF-8, has
// duplicate keys anywhere, is not an object, has no "name" or a name other than
// wantName, or whose "versions" is not an object of objects, "time" or "dist-tags" not
// objects, or a manifest whose "version" differs from its key.
//
// The Packument keeps its own copy of the document; raw is not retained.
func ParsePackument(raw []byte, wantName string, lim Limits) (*Packument, error) {
	if lim.MaxBytes > 0 && int64(len(raw)) > lim.MaxBytes {
		return nil, docError(ErrTooLarge, fmt.Sprintf("it is larger than %d bytes", lim.MaxBytes))
	}
	if !jsontext.Value(raw).IsValid() {
		return nil, syntaxError(raw)
	}
	doc := string(raw)
	open := skipSpace(doc, 0)
	if open >= len(doc) || doc[open] != '{' {
		return nil, docError(ErrMalformed, "it is not a JSON object")
	}
	ps := parser{b: doc, lim: lim, p: &Packument{}}
	if err := ps.document(open, wantName); err != nil {
		return nil, err
	}
	return ps.p, nil
}

// syntaxError describes why jsontext refused the document, with the byte offset of
// the first problem when known.
func syntaxError(raw []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	_, err := dec.ReadValue()
	if err == nil {
		_, err = dec.ReadToken() // something after the value
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return &DocumentError{
			Reason: fmt.Sprintf("it is not valid JSON (problem at byte %d)", se.ByteOffset),
			Err:    fmt.Errorf("%w: %w", ErrMalformed, err),
		}
	}
	if err == nil {
		return docError(ErrMalformed, "it is not valid JSON")
	}
	return &DocumentError{Reason: "it is not valid JSON", Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
}

type parser struct {
	b   string
	lim Limits
	p   *Packument
}

func (ps *parser) checkDepth(d int) error {
	if ps.lim.MaxDepth > 0 && d > ps.lim.MaxDepth {
		return docError(ErrTooDeep, fmt.Sprintf("it nests objects and arrays deeper than %d levels", ps.lim.MaxDepth))
	}
	return nil
}

// key returns a member key's text, escapes resolved.
func key(quoted string) string {
	k, _ := unquote(quoted)
	return k
}

func (ps *parser) document(open int, wantName string) error {
	b, p := ps.b, ps.p
	if err := ps.checkDepth(1); err != nil {
		return err
	}
	// Manifests may come before "name"; they are labelled with the name asked for,
	// which the document must match anyway.
	p.Name = wantName
	it := newObjectIter(b, open)
	var haveName bool
	for {
		kq, vs, ok := it.next()
		if !ok {
			break
		}
		m := member{keyRaw: kq}
		var ve int
		var err error
		m.key = key(kq)
		switch m.key {
		case "versions":
			m.kind = memberVersions
			ve, err = ps.versions(vs)
		case "time":
			m.kind = memberTime
			ve, err = ps.time(vs)
		case "dist-tags":
			m.kind = memberDistTags
			ve, err = ps.distTags(vs)
		case "name":
			m.kind = memberName
			var d int
			ve, d = skipValue(b, vs)
			err = ps.checkDepth(1 + d)
			name, isString := unquote(b[vs:ve])
			switch {
			case err != nil:
			case !isString:
				err = docError(ErrNameMismatch, "its name is not a string")
			case name != wantName:
				err = docError(ErrNameMismatch, fmt.Sprintf("it is for %s, not %s", quoteShort(name), quoteShort(wantName)))
			}
			haveName = true
		default:
			var d int
			ve, d = skipValue(b, vs)
			err = ps.checkDepth(1 + d)
		}
		if err != nil {
			return err
		}
		m.val = b[vs:ve]
		it.done(ve)
		p.members = append(p.members, m)
	}
	if !haveName {
		return docError(ErrNameMismatch, "it has no name")
	}
	ps.linkTimes()
	return nil
}

// versions indexes the "versions" object that starts at b[open].
func (ps *parser) versions(open int) (int, error) {
	b, p := ps.b, ps.p
	if b[open] != '{' {
		return 0, docError(ErrMalformed, "its versions field is not an object")
	}
	if err := ps.checkDepth(2); err != nil {
		return 0, err
	}
	it := newObjectIter(b, open)
	for {
		kq, vs, ok := it.next()
		if !ok {
			break
		}
		if b[vs] != '{' {
			return 0, docError(ErrMalformed, fmt.Sprintf("its version %s is not an object", quoteShort(key(kq))))
		}
		if ps.lim.MaxVersions > 0 && len(p.Versions) >= ps.lim.MaxVersions {
			return 0, docError(ErrTooManyVersions, fmt.Sprintf("it has more than %d versions", ps.lim.MaxVersions))
		}
		p.Versions = append(p.Versions, Version{Key: key(kq)})
		v := &p.Versions[len(p.Versions)-1]
		end, err := ps.manifest(v, vs)
		if err != nil {
			return 0, err
		}
		v.Raw = b[vs:end]
		it.done(end)
	}
	// Appending left up to half the array unused; a cached document should not pin it.
	p.Versions = slices.Clone(p.Versions)
	p.sortOrder()
	return it.end(), nil
}

// manifest walks one version manifest (an object at b[open]) and fills v.Info and the
// dist.tarball span. It returns the index just past the manifest.
func (ps *parser) manifest(v *Version, open int) (int, error) {
	b := ps.b
	if err := ps.checkDepth(3); err != nil {
		return 0, err
	}
	v.Info.Name = ps.p.Name
	v.Info.Version = v.Key
	var scripts scriptSet
	it := newObjectIter(b, open)
	for {
		kq, vs, ok := it.next()
		if !ok {
			break
		}
		ve, d := skipValue(b, vs)
		if err := ps.checkDepth(3 + d); err != nil {
			return 0, err
		}
		it.done(ve)
		val := b[vs:ve]
		switch key(kq) {
		case "version":
			if got, isString := unquote(val); got != v.Key || !isString {
				if !isString {
					got = val
				}
				return 0, docError(ErrMalformed, fmt.Sprintf("its version %s says it is version %s", quoteShort(v.Key), quoteShort(got)))
			}
		case "dist":
			if val[0] == '{' {
				ps.dist(v, open, vs)
			}
		case "scripts":
			if val[0] == '{' {
				scripts = ps.scripts(vs)
			}
		case "hasInstallScript":
			v.Info.HasInstallScript = truthy(val)
		case "gypfile":
			v.Info.Gypfile = truthy(val)
		case "deprecated":
			if s, ok := unquote(val); ok {
				v.Info.Deprecated = s
			} else if truthy(val) {
				v.Info.Deprecated = val
			}
		}
	}
	v.Info.InstallScripts = scripts.list()
	return it.end(), nil
}

// dist reads the dist object at b[open] of the manifest starting at b[manifest].
func (ps *parser) dist(v *Version, manifest, open int) {
	b := ps.b
	it := newObjectIter(b, open)
	for {
		kq, vs, ok := it.next()
		if !ok {
			return
		}
		ve, _ := skipValue(b, vs)
		it.done(ve)
		val := b[vs:ve]
		switch key(kq) {
		case "integrity":
			v.Info.Integrity, _ = unquote(val)
		case "shasum":
			v.Info.Shasum, _ = unquote(val)
		case "tarball":
			v.Tarball, _ = unquote(val)
			v.tarStart, v.tarEnd = vs-manifest, ve-manifest
		}
	}
}

// scriptSet records which install-time lifecycle scripts a manifest declares.
type scriptSet uint8

const (
	scriptPreinstall scriptSet = 1 << iota
	scriptInstall
	scriptPostinstall
)

// scripts reads the scripts object at b[open]. A script counts when its value is
// truthy in JavaScript terms, because that is when npm would try to run it.
func (ps *parser) scripts(open int) scriptSet {
	b := ps.b
	var s scriptSet
	it := newObjectIter(b, open)
	for {
		kq, vs, ok := it.next()
		if !ok {
			return s
		}
		ve, _ := skipValue(b, vs)
		it.done(ve)
		if !truthy(b[vs:ve]) {
			continue
		}
		switch key(kq) {
		case "preinstall":
			s |= scriptPreinstall
		case "install":
			s |= scriptInstall
		case "postinstall":
			s |= scriptPostinstall
		}
	}
}

func (s scriptSet) list() []string {
	if s == 0 {
		return nil
	}
	out := make([]string, 0, 3)
	if s&scriptPreinstall != 0 {
		out = append(out, "preinstall")
	}
	if s&scriptInstall != 0 {
		out = append(out, "install")
	}
	if s&scriptPostinstall != 0 {
		out = append(out, "postinstall")
	}
	return out
}

// time records the entries of the "time" object at b[open]; linkTimes matches them to
// versions once both are known.
func (ps *parser) time(open int) (int, error) {
	b, p := ps.b, ps.p
	if b[open] != '{' {
		return 0, docError(ErrMalformed, "its time field is not an object")
	}
	if err := ps.checkDepth(2); err != nil {
		return 0, err
	}
	it := newObjectIter(b, open)
	for {
		kq, vs, ok := it.next()
		if !ok {
			break
		}
		ve, d := skipValue(b, vs)
		if err := ps.checkDepth(2 + d); err != nil {
			return 0, err
		}
		it.done(ve)
		p.times = append(p.times, timeEntry{keyRaw: kq, val: b[vs:ve], ver: -1})
	}
	p.times = slices.Clone(p.times)
	return it.end(), nil
}

// linkTimes points each time entry at its version and fills Info.Published.
func (ps *parser) linkTimes() {
	p := ps.p
	for i := range p.times {
		e := &p.times[i]
		vi, ok := p.lookup(key(e.keyRaw))
		if !ok {
			continue
		}
		e.ver = vi
		p.Versions[vi].Info.Published = parseTime(e.val)
	}
}

// parseTime reads an RFC 3339 timestamp (fractional seconds allowed) from a JSON
// string value. Anything else gives the zero time.
func parseTime(val string) time.Time {
	s, ok := unquote(val)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// distTags reads the "dist-tags" object at b[open]. Values that are not strings are
// dropped: no client could use them.
func (ps *parser) distTags(open int) (int, error) {
	b, p := ps.b, ps.p
	if b[open] != '{' {
		return 0, docError(ErrMalformed, "its dist-tags field is not an object")
	}
	if err := ps.checkDepth(2); err != nil {
		return 0, err
	}
	it := newObjectIter(b, open)
	for {
		kq, vs, ok := it.next()
		if !ok {
			break
		}
		ve, d := skipValue(b, vs)
		if err := ps.checkDepth(2 + d); err != nil {
			return 0, err
		}
		it.done(ve)
		if v, ok := unquote(b[vs:ve]); ok {
			p.DistTags = append(p.DistTags, DistTag{Name: key(kq), Version: v})
		}
	}
	return it.end(), nil
}

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}
