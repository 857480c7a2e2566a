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
	byEco   [ecoCount]packageIndex
}

// packageIndex is one ecosystem's table: the normalised names of the packages
// advisories name, sorted, and the matches of each. A sorted table costs a fraction of
// a map's memory, and a lookup (one per packument or module request) a few hundred
// nanoseconds more.
type packageIndex struct {
	names []string
	// starts[i] is where the matches of names[i] start in all; they end where the
	// next package's start (starts has one more element than names).
	starts []uint32
	// all are every package's matches, by package then advisory id.
	all []Match
}

// lookup is Package for a non-nil snapshot.
func (s *Snapshot) lookup(ecosystem, name string) []Match {
	eco := ecoIndex(ecosystem)
	if eco == ecoNone {
		return nil
	}
	idx := &s.byEco[eco]
	i, found := slices.BinarySearch(idx.names, normalizeName(eco, name))
	if !found {
		return nil
	}
	lo, hi := idx.starts[i], idx.starts[i+1]
	return idx.all[lo:hi:hi]
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
	for lo := 0; lo < len(entries); {
		eco := entries[lo].eco
		hi := lo
		packages := 0
		for ; hi < len(entries) && entries[hi].eco == eco; hi++ {
			if hi == lo || entries[hi].name != entries[hi-1].name {
				packages++
			}
		}
		idx := &snap.byEco[eco]
		idx.names = make([]string, 0, packages)
		idx.starts = make([]uint32, 0, packages+1)
		idx.all = make([]Match, hi-lo)
		for i := lo; i < hi; i++ {
			if i == lo || entries[i].name != entries[i-1].name {
				idx.names = append(idx.names, entries[i].name)
				idx.starts = append(idx.starts, uint32(i-lo))
			}
			idx.all[i-lo] = entries[i].m
		}
		idx.starts = append(idx.starts, uint32(hi-lo))
		lo = hi
	}
	return snap
}
