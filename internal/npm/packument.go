package npm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

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
	// MaxDistTags is the most entries accepted in "dist-tags", counting those whose
	// value is not a string. Zero means unlimited.
	MaxDistTags int
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
	// corgi holds, as start and end offsets into Raw, the runs of consecutive members
	// that the abbreviated form keeps, so that form is copied run by run without
	// walking the manifest again. It is a slice of an arena shared by many versions.
	corgi []uint32
	// flagStart and flagEnd delimit hasInstallScript's value inside Raw; flagEnd is 0
	// when the manifest has none.
	flagStart, flagEnd int
	// rawAt is where Raw starts in the document it was parsed from (Packument.doc).
	rawAt int
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

	// doc is the whole document Versions were parsed from, when they all come from one
	// (not for a Union), so that rendering can refer to runs of consecutive manifests.
	doc string
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
	// semver caches SemverOrder; nil for a value not built by a parser, which then
	// works the order out on each call.
	semver *semverOrder
}

type memberKind uint8

const (
	memberOther memberKind = iota
	memberName
	memberDistTags
	memberVersions
	memberTime
)

// shadowsKnownMember reports whether key differs only by case from a top-level member
// Écluse rewrites (name, versions, time, dist-tags).
func shadowsKnownMember(key string) bool {
	for _, k := range [...]string{"name", "versions", "time", "dist-tags"} {
		if key != k && strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}

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
// deeper or has more versions or dist-tags than lim allows, is not valid JSON or valid
// UTF-8, is not an object, has no "name" or a name other than wantName, or whose
// "versions" is not an object of objects, "time" or "dist-tags" not objects, or a
// manifest whose "version" differs from its key.
//
// It also refuses a document that repeats a member name anywhere Écluse reads a value
// or rebuilds an object: the top level, "versions", "time", "dist-tags", and in each
// manifest its own top-level members that the policy reads or the abbreviated form
// carries, "dist" (integrity, shasum, signatures, tarball) and "scripts" (the install-time ones).
// There, a repeat would let Écluse decide on one value while a client (for which the
// last one wins) used another. Repeats deeper inside values copied as served (inside
// "dependencies", say) change no decision and are passed on as they came, which
// spares validation the cost of tracking every name in a 20 MB document.
//
// ParsePackument takes ownership of raw: the Packument refers to raw's bytes instead of
// copying them, so the caller must not modify raw afterwards. (When raw's backing array
// is much larger than the document, as a read buffer grown by doubling can be, the
// document is copied into one of its own size instead, so the slack is not kept alive.)
func ParsePackument(raw []byte, wantName string, lim Limits) (*Packument, error) {
	if lim.MaxBytes > 0 && int64(len(raw)) > lim.MaxBytes {
		return nil, docError(ErrTooLarge, fmt.Sprintf("it is larger than %d bytes", lim.MaxBytes))
	}
	ps := parser{
		b:   adopt(raw),
		lim: lim,
		p:   &Packument{semver: &semverOrder{}},
		// A *bytes.Buffer is read in place, so each value the decoder hands back is
		// still in the CPU's cache when the scanner walks it.
		dec: jsontext.NewDecoder(bytes.NewBuffer(raw), jsontext.AllowDuplicateNames(true)),
	}
	ps.arenaHome = runScratch.Get().(*[]uint32)
	ps.arena = (*ps.arenaHome)[:0]
	defer func() { putScratchPlain(&runScratch, ps.arenaHome, ps.arena) }()
	if err := ps.document(wantName); err != nil {
		if errors.Is(err, errSyntax) {
			return nil, syntaxError(raw)
		}
		return nil, err
	}
	ps.p.doc = ps.b
	return ps.p, nil
}

// errSyntax marks a decoder failure; ParsePackument describes it with syntaxError.
var errSyntax = errors.New("syntax")

// adopt returns raw's bytes as a string without copying them when raw has little unused
// capacity, else a copy. Every string the parser hands out is a substring of the result,
// so this one copy (a large, page-faulting memmove that also stalls the garbage
// collector's stack scans) was the biggest single cost of parsing a large document.
func adopt(raw []byte) string {
	if cap(raw)-len(raw) > len(raw)/8 {
		return string(raw)
	}
	// The caller gave up raw (see ParsePackument), so nothing will write to these bytes.
	return unsafe.String(unsafe.SliceData(raw), len(raw)) //nolint:gosec // G103: ownership of raw is transferred, documented on ParsePackument
}

// syntaxError describes why jsontext refused the document, with the byte offset of
// the first problem when known.
func syntaxError(raw []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true))
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

// parser indexes a document in one pass: the jsontext decoder validates it value by
// value (syntax, UTF-8, nesting), and right after each value has been validated, the
// scanner in scan.go walks that value's bytes in b (the same bytes, as a string) for
// the few fields Écluse reads. The scanner is only ever given validated values.
type parser struct {
	b   string
	lim Limits
	p   *Packument
	dec *jsontext.Decoder
	// arena backs the versions' corgi runs while parsing (scratch from runScratch);
	// versions copies them into an arena of the exact size.
	arena     []uint32
	arenaHome *[]uint32
}

// next validates the next value (or object member name) and returns it as a substring
// of b, with its offset.
func (ps *parser) next() (string, int, error) {
	v, err := ps.dec.ReadValue()
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", errSyntax, err)
	}
	end := int(ps.dec.InputOffset())
	start := end - len(v)
	return ps.b[start:end], start, nil
}

// peek returns the kind of the next token, or an error when the input cannot go on.
func (ps *parser) peek() (jsontext.Kind, error) {
	if k := ps.dec.PeekKind(); k != 0 {
		return k, nil
	}
	_, err := ps.dec.ReadToken()
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return 0, fmt.Errorf("%w: %w", errSyntax, err)
}

// token reads a delimiter the caller has peeked.
func (ps *parser) token() error {
	if _, err := ps.dec.ReadToken(); err != nil {
		return fmt.Errorf("%w: %w", errSyntax, err)
	}
	return nil
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

func (ps *parser) document(wantName string) error {
	p := ps.p
	k, err := ps.peek()
	if err != nil {
		return err
	}
	if k != '{' {
		if _, _, err := ps.next(); err != nil {
			return err
		}
		return docError(ErrMalformed, "it is not a JSON object")
	}
	if err := ps.token(); err != nil {
		return err
	}
	if err := ps.checkDepth(1); err != nil {
		return err
	}
	// Manifests may come before "name"; they are labelled with the name asked for,
	// which the document must match anyway.
	p.Name = wantName
	var haveName bool
	for {
		if k, err := ps.peek(); err != nil {
			return err
		} else if k == '}' {
			break
		}
		kq, _, err := ps.next()
		if err != nil {
			return err
		}
		m := member{keyRaw: kq, key: key(kq)}
		if m.key == "versions" {
			m.kind = memberVersions
			if m.val, err = ps.versions(); err != nil {
				return err
			}
			p.members = append(p.members, m)
			continue
		}
		val, vs, err := ps.next()
		if err != nil {
			return err
		}
		m.val = val
		switch m.key {
		case "time":
			m.kind = memberTime
			_, err = ps.time(vs)
		case "dist-tags":
			m.kind = memberDistTags
			_, err = ps.distTags(vs)
		case "name":
			m.kind = memberName
			err = ps.checkValueDepth(1, val)
			name, isString := unquote(val)
			switch {
			case err != nil:
			case !isString:
				err = docError(ErrNameMismatch, "its name is not a string")
			case name != wantName:
				err = docError(ErrNameMismatch, fmt.Sprintf("it is for %s, not %s", quoteShort(name), quoteShort(wantName)))
			}
			haveName = true
		default:
			err = ps.checkValueDepth(1, val)
			if shadowsKnownMember(m.key) {
				// "Versions" or "TIME" is not what Écluse filters, but a client or tool
				// that folds case would read it: it is left out of every rendering.
				if err != nil {
					return err
				}
				continue
			}
		}
		if err != nil {
			return err
		}
		p.members = append(p.members, m)
	}
	if err := ps.token(); err != nil { // the closing brace
		return err
	}
	if _, err := ps.dec.ReadToken(); !errors.Is(err, io.EOF) { // nothing may follow
		return fmt.Errorf("%w: data after the document", errSyntax)
	}
	if !haveName {
		return docError(ErrNameMismatch, "it has no name")
	}
	keys := make([]string, len(p.members))
	for i := range p.members {
		keys[i] = p.members[i].key
	}
	if k, dup := firstRepeat(keys); dup {
		return repeatError("its top level", k)
	}
	return ps.linkTimes()
}

// firstRepeat returns a string that occurs more than once in keys (which it sorts).
func firstRepeat(keys []string) (string, bool) {
	slices.Sort(keys)
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			return keys[i], true
		}
	}
	return "", false
}

func repeatError(where, key string) error {
	return docError(ErrMalformed, fmt.Sprintf("%s repeats the member name %s", where, quoteShort(key)))
}

// versions indexes the "versions" object that comes next, manifest by manifest, and
// returns its text.
func (ps *parser) versions() (string, error) {
	b, p := ps.b, ps.p
	if k, err := ps.peek(); err != nil {
		return "", err
	} else if k != '{' {
		if _, _, err := ps.next(); err != nil {
			return "", err
		}
		return "", docError(ErrMalformed, "its versions field is not an object")
	}
	if err := ps.token(); err != nil {
		return "", err
	}
	open := int(ps.dec.InputOffset()) - 1
	if err := ps.checkDepth(2); err != nil {
		return "", err
	}
	home := versionScratch.Get().(*[]Version)
	list := (*home)[:0]
	defer func() { putScratch(&versionScratch, home, list) }()
	for {
		if k, err := ps.peek(); err != nil {
			return "", err
		} else if k == '}' {
			break
		}
		kq, _, err := ps.next()
		if err != nil {
			return "", err
		}
		k, err := ps.peek()
		if err != nil {
			return "", err
		}
		if k != '{' {
			if _, _, err := ps.next(); err != nil {
				return "", err
			}
			return "", docError(ErrMalformed, fmt.Sprintf("its version %s is not an object", quoteShort(key(kq))))
		}
		if ps.lim.MaxVersions > 0 && len(p.Versions)+len(list) >= ps.lim.MaxVersions {
			return "", docError(ErrTooManyVersions, fmt.Sprintf("it has more than %d versions", ps.lim.MaxVersions))
		}
		list = append(list, Version{Key: key(kq)})
		if err := ps.manifest(&list[len(list)-1]); err != nil {
			return "", err
		}
	}
	if err := ps.token(); err != nil {
		return "", err
	}
	p.Versions = append(slices.Clip(p.Versions), list...)
	// Likewise the corgi runs: move them out of the scratch arena into one of the
	// exact size.
	total := 0
	for i := range p.Versions {
		total += len(p.Versions[i].corgi)
	}
	arena := make([]uint32, 0, total)
	for i := range p.Versions {
		v := &p.Versions[i]
		from := len(arena)
		arena = append(arena, v.corgi...)
		v.corgi = arena[from:len(arena):len(arena)]
	}
	ps.arena = ps.arena[:0]
	p.sortOrder()
	for j := 1; j < len(p.order); j++ {
		if k := p.Versions[p.order[j]].Key; k == p.Versions[p.order[j-1]].Key {
			return "", repeatError("its versions object", k)
		}
	}
	return b[open:ps.dec.InputOffset()], nil
}

// manifest reads one version manifest (the object that comes next), member by member,
// and fills v.Raw, v.Info and the dist.tarball span. The decoder validates each member
// and hands back its extent, so only the few objects Écluse reads inside ("dist",
// "scripts") are walked by the scanner.
func (ps *parser) manifest(v *Version) error {
	b := ps.b
	if err := ps.token(); err != nil { // the opening brace, peeked by the caller
		return err
	}
	open := int(ps.dec.InputOffset()) - 1
	if err := ps.checkDepth(3); err != nil {
		return err
	}
	v.Info.Name = ps.p.Name
	v.Info.Version = v.Key
	var (
		scripts  scriptSet
		seen     uint32 // manifestFieldBit of each member met so far
		prevKept bool   // the previous member is in the abbreviated form
	)
	// This manifest's runs are appended to the arena from here; should the arena grow,
	// earlier versions' runs stay readable in the array they were written to.
	runs := len(ps.arena)
	for {
		if k, err := ps.peek(); err != nil {
			return err
		} else if k == '}' {
			break
		}
		kq, ks, err := ps.next()
		if err != nil {
			return err
		}
		val, vs, err := ps.next()
		if err != nil {
			return err
		}
		if err := ps.checkValueDepth(3, val); err != nil {
			return err
		}
		k := key(kq)
		bit := manifestFieldBit(k)
		if bit != 0 {
			if seen&bit != 0 {
				return repeatError("its version "+quoteShort(v.Key), k)
			}
			seen |= bit
		}
		// Record the member in the abbreviated form's runs, extending the last run
		// when the previous member was kept too.
		kept := bit&corgiBits != 0
		if kept && prevKept {
			ps.arena[len(ps.arena)-1] = uint32(vs + len(val) - open)
		} else if kept {
			ps.arena = append(ps.arena, uint32(ks-open), uint32(vs+len(val)-open))
		}
		prevKept = kept
		switch k {
		case "version":
			if got, isString := unquote(val); got != v.Key || !isString {
				if !isString {
					got = val
				}
				return docError(ErrMalformed, fmt.Sprintf("its version %s says it is version %s", quoteShort(v.Key), quoteShort(got)))
			}
		case "dist":
			if val[0] == '{' {
				if err := ps.dist(v, open, vs); err != nil {
					return err
				}
			}
		case "scripts":
			if val[0] == '{' {
				if scripts, err = ps.scripts(v, vs); err != nil {
					return err
				}
			}
		case "hasInstallScript":
			v.Info.HasInstallScript = truthy(val)
			v.flagStart, v.flagEnd = vs-open, vs+len(val)-open
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
	if err := ps.token(); err != nil { // the closing brace
		return err
	}
	v.Raw = b[open:ps.dec.InputOffset()]
	v.rawAt = open
	v.corgi = ps.arena[runs:len(ps.arena):len(ps.arena)]
	v.Info.InstallScripts = scripts.list()
	return nil
}

// checkValueDepth checks the nesting of val, a validated value found at depth base.
// A value's depth is at most the number of brackets it opens, which the CPU counts
// much faster than any walk, so the exact walk runs only for a value with many.
func (ps *parser) checkValueDepth(base int, val string) error {
	if ps.lim.MaxDepth <= 0 || val == "" || (val[0] != '{' && val[0] != '[') {
		return nil
	}
	if base+strings.Count(val, "{")+strings.Count(val, "[") <= ps.lim.MaxDepth {
		return nil
	}
	_, d := skipNested(val, 0)
	return ps.checkDepth(base + d)
}

// dist reads the dist object at b[open] of the manifest starting at b[manifest].
func (ps *parser) dist(v *Version, manifest, open int) error {
	b := ps.b
	var seen uint8
	it := newObjectIter(b, open)
	for {
		kq, vs, ok := it.next()
		if !ok {
			return nil
		}
		ve, _ := skipValue(b, vs)
		it.done(ve)
		val := b[vs:ve]
		k := key(kq)
		var bit uint8
		switch k {
		case "integrity":
			bit = 1
			v.Info.Integrity, _ = unquote(val)
		case "shasum":
			bit = 2
			v.Info.Shasum, _ = unquote(val)
		case "signatures":
			bit = 8
			v.Info.Signatures = val
		case "tarball":
			bit = 4
			v.Tarball, _ = unquote(val)
			v.tarStart, v.tarEnd = vs-manifest, ve-manifest
		}
		if seen&bit != 0 {
			return repeatError("the dist of version "+quoteShort(v.Key), k)
		}
		seen |= bit
	}
}

// manifestFieldBit gives each manifest member that Écluse reads or the abbreviated
// form carries its own bit, so repeats can be found without a set; other names get 0.
func manifestFieldBit(name string) uint32 {
	switch name {
	case "name":
		return 1 << 0
	case "version":
		return 1 << 1
	case "deprecated":
		return 1 << 2
	case "dependencies":
		return 1 << 3
	case "optionalDependencies":
		return 1 << 4
	case "devDependencies":
		return 1 << 5
	case "peerDependencies":
		return 1 << 6
	case "peerDependenciesMeta":
		return 1 << 7
	case "bundleDependencies":
		return 1 << 8
	case "bundledDependencies":
		return 1 << 9
	case "acceptDependencies":
		return 1 << 10
	case "bin":
		return 1 << 11
	case "directories":
		return 1 << 12
	case "dist":
		return 1 << 13
	case "engines":
		return 1 << 14
	case "cpu":
		return 1 << 15
	case "os":
		return 1 << 16
	case "_hasShrinkwrap":
		return 1 << 17
	case "hasInstallScript":
		return 1 << 18
	case "scripts":
		return 1 << 19
	case "gypfile":
		return 1 << 20
	}
	return 0
}

// corgiBits holds the manifestFieldBit of every member the abbreviated form keeps: all
// of them but scripts and gypfile, that is name, version, deprecated, the dependency
// maps (dependencies, optional, dev, peer and its meta, bundle/bundled, accept), bin,
// directories, dist, engines, cpu, os, _hasShrinkwrap and hasInstallScript.
const corgiBits uint32 = 1<<19 - 1

// scriptSet records which install-time lifecycle scripts a manifest declares.
type scriptSet uint8

const (
	scriptPreinstall scriptSet = 1 << iota
	scriptInstall
	scriptPostinstall
)

// scripts reads the scripts object at b[open] of version v. A script counts when its
// value is truthy in JavaScript terms, because that is when npm would try to run it.
func (ps *parser) scripts(v *Version, open int) (scriptSet, error) {
	b := ps.b
	var s, seen scriptSet
	it := newObjectIter(b, open)
	for {
		kq, vs, ok := it.next()
		if !ok {
			return s, nil
		}
		ve, _ := skipValue(b, vs)
		it.done(ve)
		k := key(kq)
		var bit scriptSet
		switch k {
		case "preinstall":
			bit = scriptPreinstall
		case "install":
			bit = scriptInstall
		case "postinstall":
			bit = scriptPostinstall
		}
		if seen&bit != 0 {
			return 0, repeatError("the scripts of version "+quoteShort(v.Key), k)
		}
		seen |= bit
		if truthy(b[vs:ve]) {
			s |= bit
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
	home := timeScratch.Get().(*[]timeEntry)
	list := (*home)[:0]
	defer func() { putScratch(&timeScratch, home, list) }()
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
		list = append(list, timeEntry{keyRaw: kq, val: b[vs:ve], ver: -1})
	}
	p.times = append(slices.Clip(p.times), list...)
	return it.end(), nil
}

// linkTimes points each time entry at its version and fills Info.Published. It refuses
// a time object that names the same key twice.
func (ps *parser) linkTimes() error {
	p := ps.p
	dated := make([]bool, len(p.Versions))
	var others []string
	guess := 0 // registries list time entries in version order: try the next version first
	for i := range p.times {
		e := &p.times[i]
		k := key(e.keyRaw)
		vi, ok := guess, guess < len(p.Versions) && p.Versions[guess].Key == k
		if !ok {
			vi, ok = p.lookup(k)
		}
		if ok {
			guess = vi + 1
		}
		if !ok {
			others = append(others, k)
			continue
		}
		if dated[vi] {
			return repeatError("its time object", k)
		}
		dated[vi] = true
		e.ver = vi
		p.Versions[vi].Info.Published = parseTime(e.val)
	}
	if k, dup := firstRepeat(others); dup {
		return repeatError("its time object", k)
	}
	return nil
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
	var tags []string
	it := newObjectIter(b, open)
	for {
		kq, vs, ok := it.next()
		if !ok {
			break
		}
		if ps.lim.MaxDistTags > 0 && len(tags) >= ps.lim.MaxDistTags {
			return 0, docError(ErrTooManyDistTags, fmt.Sprintf("it has more than %d dist-tags", ps.lim.MaxDistTags))
		}
		ve, d := skipValue(b, vs)
		if err := ps.checkDepth(2 + d); err != nil {
			return 0, err
		}
		it.done(ve)
		k := key(kq)
		tags = append(tags, k)
		if v, ok := unquote(b[vs:ve]); ok {
			p.DistTags = append(p.DistTags, DistTag{Name: k, Version: v})
		}
	}
	if k, dup := firstRepeat(tags); dup {
		return 0, repeatError("its dist-tags", k)
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
