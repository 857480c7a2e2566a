package gate

import (
	"slices"
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
}

// generation is the snapshot's generation, 0 before one has loaded or without an index.
func (k known) generation() uint64 {
	if k.snap == nil {
		return 0
	}
	return k.snap.Generation()
}

// known takes the current snapshot.
func (g *Gate) known() known {
	if g.opts.Advisories == nil {
		return known{loaded: true}
	}
	s := g.opts.Advisories.Snapshot()
	return known{snap: s, loaded: s != nil}
}

// advice is what the index says about one npm package: the advisories naming it, and
// which of its versions the fast-track admits.
type advice struct {
	loaded  bool
	matches []advisory.Match
	// remedies maps a version to its fast-track finding; nil when none.
	remedies map[string]*policy.Remedy
}

// adviceFor looks doc's package up in the snapshot and, when the policy fast-tracks
// and some vulnerability names the package, works out the remedies: every version is
// viewed at once, sorted in npm's order, and handed to the policy. Only packages an
// advisory names pay for more than the lookup.
func (g *Gate) adviceFor(k known, doc *npm.Packument, now time.Time) *advice {
	a := &advice{loaded: k.loaded, matches: k.snap.Package(advisory.EcosystemNPM, doc.Name)}
	if !a.loaded || len(a.matches) == 0 || !g.opts.Policy.FastTracks() || !anyVulnerability(a.matches) {
		return a
	}
	type entry struct {
		v  advisory.Version
		ok bool
		i  int
	}
	order := make([]entry, len(doc.Versions))
	for i := range doc.Versions {
		v, ok := advisory.ParseVersion(advisory.EcosystemNPM, doc.Versions[i].Info.Version)
		order[i] = entry{v, ok, i}
	}
	// Versions npm cannot order take no part: they lie in no range, and cannot be
	// placed between an affected version and its fix.
	order = slices.DeleteFunc(order, func(e entry) bool { return !e.ok })
	slices.SortStableFunc(order, func(x, y entry) int { return x.v.Compare(y.v) })
	views := make([]policy.Version, len(order))
	for j, e := range order {
		g.view(&doc.Versions[e.i].Info, &views[j], a, now)
	}
	g.opts.Policy.MarkRemedies(views, now)
	for j := range views {
		if r := views[j].Advice.Remedy; r != nil {
			if a.remedies == nil {
				a.remedies = map[string]*policy.Remedy{}
			}
			a.remedies[views[j].Version] = r
		}
	}
	return a
}

func anyVulnerability(ms []advisory.Match) bool {
	for _, m := range ms {
		if !m.Advisory.Malicious {
			return true
		}
	}
	return false
}

// fill writes the advice about version v into out, reusing out's Affecting array.
func (a *advice) fill(version string, out *policy.Advice) {
	out.Loaded = a.loaded
	out.Affecting = out.Affecting[:0]
	out.Remedy = nil
	for _, m := range a.matches {
		if !m.Affected.Contains(version) {
			continue
		}
		ad := m.Advisory
		out.Affecting = append(out.Affecting, policy.Advisory{
			ID: ad.ID, Aliases: ad.Aliases, Severity: policy.Severity(ad.Severity), Malicious: ad.Malicious,
		})
	}
	if len(out.Affecting) == 0 {
		// Keep the array for the next version, but say "none" as nil does.
		out.Affecting = out.Affecting[:0]
	}
	if a.remedies != nil {
		out.Remedy = a.remedies[version]
	}
}

// Severity levels are the same scale on both sides.
var _ = [1]struct{}{}[policy.SeverityCritical-policy.Severity(advisory.SeverityCritical)]
