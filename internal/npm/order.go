package npm

import (
	"slices"
	"sync/atomic"
)

// semverOrder is a document's versions in ascending version order, worked out once.
type semverOrder struct {
	p atomic.Pointer[[]int32]
}

// SemverOrder returns the indexes of p.Versions whose version is strict semver, in
// ascending version order (SemVer precedence, which is node-semver's: prereleases below
// their release, build metadata ignored). Versions that are not strict semver are left
// out. It is worked out on first use and shared by every caller of the same document,
// which must not modify it.
func (p *Packument) SemverOrder() []int32 {
	if p.semver == nil {
		return p.sortSemver()
	}
	if o := p.semver.p.Load(); o != nil {
		return *o
	}
	o := p.sortSemver()
	p.semver.p.Store(&o)
	return o
}

func (p *Packument) sortSemver() []int32 {
	type entry struct {
		v semVersion
		i int32
	}
	es := make([]entry, 0, len(p.Versions))
	for i := range p.Versions {
		if v, ok := parseStrict(p.Versions[i].Info.Version); ok {
			es = append(es, entry{v, int32(i)})
		}
	}
	slices.SortFunc(es, func(a, b entry) int { return compareVersions(&a.v, &b.v) })
	out := make([]int32, len(es))
	for k, e := range es {
		out[k] = e.i
	}
	return out
}
