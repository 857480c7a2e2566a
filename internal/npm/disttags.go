package npm

import (
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

func (p *Packument) repairTags(keep func(int) bool) []DistTag {
	out := make([]DistTag, 0, len(p.DistTags))
	var cands []semverCandidate
	parsed := false
	for _, t := range p.DistTags {
		i, known := p.lookup(t.Version)
		if known && keep(i) {
			out = append(out, t)
			continue
		}
		if !known && !p.removed[t.Version] {
			continue // never existed
		}
		var target *semver.Version
		if t.Name != latestTag {
			if target = parseSemver(t.Version); target == nil {
				continue // nothing to compare candidates with
			}
		}
		if !parsed {
			cands, parsed = p.servedSemvers(keep), true
		}
		if best := highestAtMost(cands, target, t.Name == latestTag); best >= 0 {
			out = append(out, DistTag{Name: t.Name, Version: p.Versions[best].Key})
		}
	}
	return out
}

// servedSemvers parses the keys of the served versions, skipping those that are not
// semver.
func (p *Packument) servedSemvers(keep func(int) bool) []semverCandidate {
	var out []semverCandidate
	for i := range p.Versions {
		if !keep(i) {
			continue
		}
		if v := parseSemver(p.Versions[i].Key); v != nil {
			out = append(out, semverCandidate{i: i, v: v})
		}
	}
	return out
}

// highestAtMost returns the index of the highest candidate not above target (no bound
// when target is nil), only among stable versions when stableOnly is set, or -1. Equal
// versions (differing only in build metadata) keep the first one found.
func highestAtMost(cands []semverCandidate, target *semver.Version, stableOnly bool) int {
	best := -1
	var bestV *semver.Version
	for _, c := range cands {
		if stableOnly && c.v.Prerelease() != "" {
			continue
		}
		if target != nil && c.v.Compare(target) > 0 {
			continue
		}
		if bestV == nil || c.v.Compare(bestV) > 0 {
			best, bestV = c.i, c.v
		}
	}
	return best
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
