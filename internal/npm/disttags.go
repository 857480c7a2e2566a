package npm

import (
	"cmp"
	"math/bits"
	"slices"

	"github.com/Masterminds/semver/v3"
)

// Dist-tags after filtering
//
// When versions are withheld, the tags that pointed at them must not send clients to a
// version they cannot have. The rules, applied to each tag in document order:
//
//   - A tag pointing at a served version is kept as it is.
//   - "latest" pointing at a withheld version moves to the highest served stable
//     version (no prerelease part), so a withheld release never promotes a beta to
//     latest. With no stable version served it is dropped; npm then falls back to
//     the highest version that matches "*".
//   - Any other tag pointing at a withheld version moves to the highest served version
//     that is not above its original target, prerelease or not, and is dropped when
//     there is none. Moving only downwards keeps a "next" or "beta" tag from jumping
//     to a newer line than the one it named.
//   - A tag pointing at a version the document never had is dropped, and so is a
//     tag other than latest whose withheld target is not a version semver can order.
//
// Ordering is semver's. Versions whose keys do not parse as semver (the historic
// "1.0.0beta") are never candidates.

// latestTag is the tag npm installs when no version is given.
const latestTag = "latest"

// ServedDistTags returns the dist-tags a rendering with keep would carry, repaired as
// described above. keep nil means every version is served.
func (p *Packument) ServedDistTags(keep func(i int) bool) []DistTag {
	return p.repairTags(orAll(keep))
}

// semverCandidate is a served version with its parsed form.
type semverCandidate struct {
	i int
	v *semver.Version
}

// Repair runs in O((V + T) log V) for V versions and T tags, whatever the tags point
// at. The served versions are parsed once, the first time a tag needs moving, and
// latest's destination is found in the same pass. A tag pointing at a withheld version
// is resolved once per distinct target: the first few targets (up to log2 V) by
// scanning the served versions, as a document with a handful of withheld tags is best
// served; past that, the served versions are sorted once and each further target
// costs a binary search. (Scanning for every tag cost V x T: minutes of CPU for a
// document of a few hundred thousand tags.)

func (p *Packument) repairTags(keep func(int) bool) []DistTag {
	r := tagRepair{p: p, keep: keep}
	return r.run()
}

// tagRepair is one repair of a document's dist-tags for one keep.
type tagRepair struct {
	p    *Packument
	keep func(int) bool

	indexed bool
	// served holds the served versions that parse as semver: in document order until
	// sorted is set, then in ascending order, where among versions of equal
	// precedence (differing only in build metadata) the one later in the document
	// comes first, so the last of such a run is the first in the document.
	served []semverCandidate
	sorted bool
	// scans counts the targets resolved by scanning served.
	scans int
	// latest is the index in Versions of the highest served stable version (the first
	// in the document among equals), or -1.
	latest int
	// moved memoises where a tag other than latest pointing at a withheld version
	// goes: the index in Versions, or -1 for dropped.
	moved map[string]int

	// compares and parses count the semver work done, for tests.
	compares, parses int
}

func (r *tagRepair) run() []DistTag {
	p := r.p
	out := make([]DistTag, 0, len(p.DistTags))
	for _, t := range p.DistTags {
		i, known := p.lookup(t.Version)
		if known && r.keep(i) {
			out = append(out, t)
			continue
		}
		if !known && !p.removed[t.Version] {
			continue // never existed
		}
		r.index()
		best := r.latest
		if t.Name != latestTag {
			best = r.moveDown(t.Version)
		}
		if best >= 0 {
			out = append(out, DistTag{Name: t.Name, Version: p.Versions[best].Key})
		}
	}
	return out
}

// index parses the served versions and finds latest's destination, once.
func (r *tagRepair) index() {
	if r.indexed {
		return
	}
	r.indexed = true
	p := r.p
	r.latest = -1
	var latestV *semver.Version
	for i := range p.Versions {
		if !r.keep(i) {
			continue
		}
		v := r.parse(p.Versions[i].Key)
		if v == nil {
			continue
		}
		r.served = append(r.served, semverCandidate{i: i, v: v})
		if v.Prerelease() == "" && (latestV == nil || r.compare(v, latestV) > 0) {
			r.latest, latestV = i, v
		}
	}
}

// moveDown returns where a tag other than latest whose target is withheld goes: the
// highest served version not above target (the first in the document among equals),
// or -1 when there is none or target is not semver.
func (r *tagRepair) moveDown(target string) int {
	if best, ok := r.moved[target]; ok {
		return best
	}
	best := -1
	if tv := r.parse(target); tv != nil {
		if !r.sorted && r.scans < bits.Len(uint(len(r.served))) {
			r.scans++
			best = r.scan(tv)
		} else {
			r.sort()
			best = r.search(tv)
		}
	}
	if r.moved == nil {
		r.moved = map[string]int{}
	}
	r.moved[target] = best
	return best
}

// scan finds the highest served version not above tv, the first in the document
// among equals, by looking at each; served must still be in document order.
func (r *tagRepair) scan(tv *semver.Version) int {
	best := -1
	var bestV *semver.Version
	for _, c := range r.served {
		if r.compare(c.v, tv) > 0 {
			continue
		}
		if bestV == nil || r.compare(c.v, bestV) > 0 {
			best, bestV = c.i, c.v
		}
	}
	return best
}

// sort orders served for search, once.
func (r *tagRepair) sort() {
	if r.sorted {
		return
	}
	r.sorted = true
	slices.SortFunc(r.served, func(a, b semverCandidate) int {
		if c := r.compare(a.v, b.v); c != 0 {
			return c
		}
		return cmp.Compare(b.i, a.i)
	})
}

// search finds what scan finds, by binary search in the sorted served versions: the
// first candidate above tv is found, and the one before it is the answer.
func (r *tagRepair) search(tv *semver.Version) int {
	j, _ := slices.BinarySearchFunc(r.served, tv, func(c semverCandidate, tv *semver.Version) int {
		if r.compare(c.v, tv) > 0 {
			return 1
		}
		return -1
	})
	if j == 0 {
		return -1
	}
	return r.served[j-1].i
}

func (r *tagRepair) parse(s string) *semver.Version {
	r.parses++
	return parseSemver(s)
}

func (r *tagRepair) compare(a, b *semver.Version) int {
	r.compares++
	return a.Compare(b)
}

// parseSemver parses a version as npm writes them, falling back to the lenient parser
// for loose spellings such as "v1.2". It returns nil when neither accepts it (the
// historic "1.0.0beta", for instance).
func parseSemver(s string) *semver.Version {
	if v, err := semver.StrictNewVersion(s); err == nil {
		return v
	}
	if v, err := semver.NewVersion(s); err == nil {
		return v
	}
	return nil
}

// orAll turns a nil keep into "keep everything".
func orAll(keep func(int) bool) func(int) bool {
	if keep == nil {
		return func(int) bool { return true }
	}
	return keep
}
