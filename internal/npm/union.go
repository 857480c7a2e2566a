package npm

// Union builds the document served for a package that the private registry mirrors:
// every private version, plus each public version that keepPublic admits and the
// private side does not have. A version present on both sides is always the private
// one, whatever keepPublic says. keepPublic is indexed like public.Versions; nil
// admits all of them.
//
// The result renders through the same Render, RenderAbbreviated and RenderVersion as a
// parsed document (with keep nil, since the filtering is already done):
//
//   - Versions holds the private versions in their order, then the admitted public
//     ones in theirs. Find and Info work as usual.
//   - Top-level members are the private document's, in its order, followed by the
//     public document's members that the private one lacks.
//   - "time" holds the private entries, then the public entries for admitted public
//     versions and the public non-version keys the private side lacks.
//   - dist-tags come from the public document, plus private tags whose names the
//     public document does not use. The public tags win because the mirror copies the
//     public release stream, and usually lags it: with the private tags, "latest"
//     would stay on whatever was mirrored first. Tags are repaired at render time, so
//     a public tag whose target was not admitted moves down to an admitted or
//     mirrored version (public versions left out here count as withheld, not as
//     never published).
//
// Neither argument is modified, and the result shares their buffers. When one side is
// nil the result is built from the other alone; both nil gives nil.
func Union(private, public *Packument, keepPublic func(i int) bool) *Packument {
	if private == nil && public == nil {
		return nil
	}
	if private == nil {
		private = &Packument{Name: public.Name}
	}
	if public == nil {
		public = &Packument{Name: private.Name}
	}
	keepPublic = orAll(keepPublic)

	u := &Packument{
		Name:     private.Name,
		Versions: make([]Version, 0, len(private.Versions)+len(public.Versions)),
		removed:  map[string]bool{},
	}
	// index maps a key to its position in u.Versions while building; u.order replaces
	// it at the end.
	index := make(map[string]int, len(private.Versions)+len(public.Versions))
	u.Versions = append(u.Versions, private.Versions...)
	for i := range private.Versions {
		index[private.Versions[i].Key] = i
	}
	for k := range private.removed {
		u.removed[k] = true
	}
	for k := range public.removed {
		u.removed[k] = true
	}
	// fromPublic maps a public version index to its index in u, or -1 when it is not
	// served from the public side (withheld, or shadowed by the private copy).
	fromPublic := make([]int, len(public.Versions))
	for i := range public.Versions {
		v := &public.Versions[i]
		fromPublic[i] = -1
		if _, shadowed := index[v.Key]; shadowed {
			continue
		}
		if !keepPublic(i) {
			u.removed[v.Key] = true
			continue
		}
		fromPublic[i] = len(u.Versions)
		index[v.Key] = len(u.Versions)
		u.Versions = append(u.Versions, *v)
	}

	// Members: private first, then what only the public side has.
	seen := make(map[string]bool, len(private.members)+len(public.members))
	for _, m := range private.members {
		seen[m.key] = true
		u.members = append(u.members, m)
	}
	for _, m := range public.members {
		if !seen[m.key] {
			seen[m.key] = true
			u.members = append(u.members, m)
		}
	}

	// Time: private entries (re-pointed where a key is now a version from the public
	// side), then the public entries the private side did not cover.
	clear(seen)
	for _, e := range private.times {
		k := key(e.keyRaw)
		if e.ver < 0 {
			if _, isVersion := index[k]; isVersion {
				continue // the public entry for that version will be used
			}
		}
		seen[k] = true
		u.times = append(u.times, e)
	}
	for _, e := range public.times {
		k := key(e.keyRaw)
		if seen[k] {
			continue
		}
		if e.ver >= 0 {
			if fromPublic[e.ver] < 0 {
				continue
			}
			e.ver = fromPublic[e.ver]
		} else if _, isVersion := index[k]; isVersion {
			continue // a private version with no private time entry: leave it undated
		}
		seen[k] = true
		u.times = append(u.times, e)
	}

	// Dist-tags: public first, then private-only names.
	clear(seen)
	for _, t := range public.DistTags {
		seen[t.Name] = true
		u.DistTags = append(u.DistTags, t)
	}
	for _, t := range private.DistTags {
		if !seen[t.Name] {
			u.DistTags = append(u.DistTags, t)
		}
	}
	u.sortOrder()
	return u
}
