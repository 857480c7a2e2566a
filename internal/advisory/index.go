package advisory

import (
	"slices"
	"strings"
	"time"
)

// This file assembles Snapshots from Sets and answers lookups in them.

// setData is what a Set holds: its records, in the order the source gave them.
type setData struct {
	recs []*record
}

// len is Len.
func (s *Set) len() int {
	if s == nil {
		return 0
	}
	return len(s.recs)
}

// snapshotData is what a Snapshot holds.
type snapshotData struct {
	gen     uint64
	built   time.Time
	records int
	// byEco maps, per ecosystem index, a normalised package name to the matches
	// naming it, sorted by advisory id. Every slice is a window on one shared array.
	byEco [ecoCount]map[string][]Match
}

// lookup is Package for a non-nil snapshot.
func (s *Snapshot) lookup(ecosystem, name string) []Match {
	eco := ecoIndex(ecosystem)
	if eco == ecoNone || s.byEco[eco] == nil {
		return nil
	}
	return s.byEco[eco][normalizeName(eco, name)]
}

// Merge assembles a Snapshot of generation gen, built at at, from sets (nil sets are
// skipped). A record id present more than once, in one set or several, is kept once:
// the copy most recently modified, the first one given on a tie. Records() counts the
// distinct advisories kept.
func Merge(gen uint64, at time.Time, sets ...*Set) *Snapshot {
	chosen := map[string]*record{}
	for _, set := range sets {
		if set == nil {
			continue
		}
		for _, r := range set.recs {
			if prev, ok := chosen[r.adv.ID]; !ok || r.adv.Modified.After(prev.adv.Modified) {
				chosen[r.adv.ID] = r
			}
		}
	}

	type entry struct {
		name string
		m    Match
		eco  uint8
	}
	n := 0
	for _, r := range chosen {
		n += len(r.pkgs)
	}
	entries := make([]entry, 0, n)
	for _, r := range chosen {
		for _, p := range r.pkgs {
			entries = append(entries, entry{name: p.name, eco: p.eco, m: Match{Advisory: r.adv, Affected: p.aff}})
		}
	}
	// A record names each package once, so (ecosystem, name, id) orders the entries
	// totally: the result does not depend on the map's order.
	slices.SortFunc(entries, func(a, b entry) int {
		if a.eco != b.eco {
			return int(a.eco) - int(b.eco)
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.m.Advisory.ID, b.m.Advisory.ID)
	})

	snap := &Snapshot{snapshotData{gen: gen, built: at, records: len(chosen)}}
	var packages [ecoCount]int
	for i := range entries {
		if i == 0 || entries[i].eco != entries[i-1].eco || entries[i].name != entries[i-1].name {
			packages[entries[i].eco]++
		}
	}
	for eco, count := range packages {
		if count > 0 {
			snap.byEco[eco] = make(map[string][]Match, count)
		}
	}
	all := make([]Match, len(entries))
	for i := 0; i < len(entries); {
		j := i
		for j < len(entries) && entries[j].eco == entries[i].eco && entries[j].name == entries[i].name {
			all[j] = entries[j].m
			j++
		}
		snap.byEco[entries[i].eco][entries[i].name] = all[i:j:j]
		i = j
	}
	return snap
}
