package gate

import (
	"context"
	"strings"
	"time"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
)

// known is the advisory index as one request decides with it: taken once, so every
// version of a document is decided against the same snapshot, and the snapshot's
// generation keys what is cached from those decisions.
type known struct {
	snap *advisory.Snapshot
	// loaded is false while no snapshot has loaded (and Options.Advisories is set).
	loaded bool
	// sig is the signing check as the request sees it (its public keys read once);
	// nil when signing is off.
	sig *sigCheck
}

// generation is the snapshot's generation, 0 before one has loaded or without an index.
func (k known) generation() uint64 {
	if k.snap == nil {
		return 0
	}
	return k.snap.Generation()
}

// known takes the current snapshot, and the signing check's view.
func (g *Gate) known(ctx context.Context) known {
	sig := g.signingFor(ctx)
	if g.opts.Advisories == nil {
		return known{loaded: true, sig: sig}
	}
	s := g.opts.Advisories.Snapshot()
	return known{snap: s, loaded: s != nil, sig: sig}
}

// advice is what the index says about the versions of one npm document: which
// advisories affect each version, and which versions the fast-track admits. It is
// worked out once per document decided, so each version is matched against each
// advisory once.
type advice struct {
	loaded bool
	doc    *npm.Packument
	// sig checks the versions' signatures as part of each decision; nil when off.
	sig *sigCheck
	// ads are the advisories naming the package, in the policy's terms.
	ads []policy.Advisory
	// stride is the number of words per version in hits.
	stride int
	// hits has, for the document's version i, bit j of hits[i*stride:] set when ads[j]
	// affects it. Nil when no advisory names the package.
	hits []uint64
	// remedies is indexed like the document's versions; nil when none is a remedy.
	remedies []*policy.Remedy
	// next is where index looks first: versions are usually asked for in order. An
	// advice is used by one request at a time.
	next int
}

// adviceFor matches every version of doc against the advisories naming its package
// and, when the policy fast-tracks and some vulnerability names the package, works out
// the remedies. A package no advisory names costs one lookup.
func (g *Gate) adviceFor(k known, doc *npm.Packument, now time.Time) *advice {
	a := &advice{loaded: k.loaded, doc: doc, sig: k.sig}
	matches := k.snap.Package(advisory.EcosystemNPM, doc.Name)
	if !a.loaded || len(matches) == 0 {
		return a
	}
	a.ads = make([]policy.Advisory, len(matches))
	vulnerable := false
	for j, m := range matches {
		ad := m.Advisory
		a.ads[j] = policy.Advisory{ID: ad.ID, Aliases: ad.Aliases, Severity: policy.Severity(ad.Severity), Malicious: ad.Malicious}
		vulnerable = vulnerable || !ad.Malicious
	}
	a.stride = (len(matches) + 63) / 64
	a.hits = make([]uint64, len(doc.Versions)*a.stride)
	fastTrack := vulnerable && g.opts.Policy.FastTracks()
	for i := range doc.Versions {
		s := doc.Versions[i].Info.Version
		v, ok := advisory.ParseVersion(advisory.EcosystemNPM, s)
		for j, m := range matches {
			// A version npm cannot parse lies in no range, but an explicit list may
			// still name it.
			if ok && m.Affected.ContainsVersion(v) || !ok && m.Affected.Contains(s) {
				a.hits[i*a.stride+j/64] |= 1 << (j % 64)
			}
		}
	}
	if !fastTrack {
		return a
	}
	// The document's releases in npm's order (worked out once per parsed document). A
	// version npm cannot order takes no part: it cannot be placed between an affected
	// version and its fix. Nor does a prerelease: a fix ships as a release, and
	// otherwise a package's owner could publish "1.0.1-0" after an advisory that ends
	// at "last_affected: 1.0.0", point latest at it, and have it skip the quarantine.
	all := doc.SemverOrder()
	order := make([]int32, 0, len(all))
	for _, i := range all {
		if !prerelease(doc.Versions[i].Info.Version) {
			order = append(order, i)
		}
	}
	var vulns []policy.Advisory
	var columns []int // vulns[k] is ads[columns[k]]
	for j, ad := range a.ads {
		if !ad.Malicious {
			vulns = append(vulns, ad)
			columns = append(columns, j)
		}
	}
	var view policy.Version
	rem := g.opts.Policy.Remedies(policy.Ladder{
		Len:             len(order),
		Vulnerabilities: vulns,
		Affected:        func(r, k int) bool { return a.hit(int(order[r]), columns[k]) },
		Admits: func(r int) bool {
			g.view(&doc.Versions[order[r]].Info, &view, nil, now)
			return g.opts.Policy.AdmitsApartFromAdvisories(&view, now)
		},
		Version: func(r int) string { return doc.Versions[order[r]].Info.Version },
	})
	for r, x := range rem {
		if x != nil {
			if a.remedies == nil {
				a.remedies = make([]*policy.Remedy, len(doc.Versions))
			}
			a.remedies[order[r]] = x
		}
	}
	return a
}

// prerelease reports whether a strict semver version has a prerelease part: a "-"
// before any "+" of build metadata.
func prerelease(v string) bool {
	if plus := strings.IndexByte(v, '+'); plus >= 0 {
		v = v[:plus]
	}
	return strings.IndexByte(v, '-') >= 0
}

// hit reports whether ads[j] affects the document's version i.
func (a *advice) hit(i, j int) bool { return a.hits[i*a.stride+j/64]&(1<<(j%64)) != 0 }

// index finds version v in the document: the version after the last one found (the
// usual case, deciding a document in order), else by pointer, else by version string (a
// modified copy of a version's info). -1 when absent.
func (a *advice) index(v *npm.VersionInfo) int {
	vs := a.doc.Versions
	if i := a.next; i < len(vs) && &vs[i].Info == v {
		a.next = i + 1
		return i
	}
	for i := range vs {
		if &vs[i].Info == v {
			return i
		}
	}
	for i := range vs {
		if vs[i].Info.Version == v.Version {
			return i
		}
	}
	return -1
}

// fill writes the advice about the document's version v into out, reusing out's
// Affecting array.
func (a *advice) fill(v *npm.VersionInfo, out *policy.Advice) {
	out.Loaded = a.loaded
	out.Affecting = out.Affecting[:0]
	out.Remedy = nil
	if a.hits == nil && a.remedies == nil {
		return
	}
	i := a.index(v)
	if i < 0 {
		return
	}
	if a.hits != nil {
		for j := range a.ads {
			if a.hit(i, j) {
				out.Affecting = append(out.Affecting, a.ads[j])
			}
		}
	}
	if a.remedies != nil {
		out.Remedy = a.remedies[i]
	}
}

// Severity levels are the same scale on both sides.
var _ = [1]struct{}{}[policy.SeverityCritical-policy.Severity(advisory.SeverityCritical)]
