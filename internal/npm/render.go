package npm

import (
	"fmt"

	"github.com/go-json-experiment/json/jsontext"
)

// Rendering never decodes a manifest. A served document is stitched together from the
// bytes ParsePackument kept: every top-level member and every served manifest is
// copied as written, and only three things are produced anew: the versions and time
// objects (to leave out withheld versions), the dist-tags (repaired), and each served
// manifest's dist.tarball string (replaced in place).
//
// In the functions below, keep(i) says whether Versions[i] is served (nil: all of
// them) and tarballURL(v) gives the URL to write into v's dist.tarball (nil, or an
// empty result: leave it as served). A manifest without dist.tarball is copied
// unchanged. Both functions are called at most a few times per version.

// Render returns the full document with only the kept versions, their time entries,
// repaired dist-tags and rewritten tarball URLs. Every other member, including the
// non-version entries of "time" ("created", "modified"), is copied byte for byte in
// its original order. When the source had no "dist-tags" or "versions", they are
// added at the end. The output is compact where it was rebuilt and as served
// elsewhere; it is always valid JSON.
func (p *Packument) Render(keep func(i int) bool, tarballURL func(v *Version) string) ([]byte, error) {
	keep = orAll(keep)
	tags := p.repairTags(keep)
	out := make([]byte, 0, p.fullSize(keep, tarballURL))
	out = append(out, '{')
	var sawTags, sawVersions bool
	var err error
	for i := range p.members {
		m := &p.members[i]
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, m.keyRaw...)
		out = append(out, ':')
		switch m.kind {
		case memberDistTags:
			sawTags = true
			out, err = appendTags(out, tags)
		case memberVersions:
			sawVersions = true
			out, err = p.appendVersions(out, keep, tarballURL)
		case memberTime:
			out = p.appendTime(out, keep)
		default:
			out = append(out, m.val...)
		}
		if err != nil {
			return nil, err
		}
	}
	if !sawTags {
		out = appendMemberKey(out, `"dist-tags":`)
		if out, err = appendTags(out, tags); err != nil {
			return nil, err
		}
	}
	if !sawVersions {
		out = appendMemberKey(out, `"versions":`)
		if out, err = p.appendVersions(out, keep, tarballURL); err != nil {
			return nil, err
		}
	}
	out = append(out, '}')
	return trim(out), nil
}

// RenderVersion returns one served manifest, with its tarball URL rewritten: the
// version whose key is ref, or else the version the repaired dist-tag ref points at.
// It returns an error wrapping ErrVersionNotFound when ref is neither.
func (p *Packument) RenderVersion(ref string, keep func(i int) bool, tarballURL func(v *Version) string) ([]byte, error) {
	keep = orAll(keep)
	idx := -1
	if i, ok := p.lookup(ref); ok && keep(i) {
		idx = i
	} else {
		for _, t := range p.repairTags(keep) {
			if t.Name == ref {
				idx, _ = p.lookup(t.Version)
				break
			}
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("%w: %s", ErrVersionNotFound, quoteShort(ref))
	}
	v := &p.Versions[idx]
	return appendManifest(make([]byte, 0, len(v.Raw)+128), v, tarballURL)
}

func (p *Packument) appendVersions(out []byte, keep func(int) bool, tarballURL func(*Version) string) ([]byte, error) {
	out = append(out, '{')
	n := 0
	var err error
	for i := range p.Versions {
		if !keep(i) {
			continue
		}
		v := &p.Versions[i]
		if n > 0 {
			out = append(out, ',')
		}
		n++
		if out, err = appendVersionKey(out, v); err != nil {
			return nil, err
		}
		out = append(out, ':')
		if out, err = appendManifest(out, v, tarballURL); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

// appendManifest appends v's manifest with dist.tarball replaced.
func appendManifest(out []byte, v *Version, tarballURL func(*Version) string) ([]byte, error) {
	if tarballURL == nil || v.tarEnd == 0 {
		return append(out, v.Raw...), nil
	}
	u := tarballURL(v)
	if u == "" {
		return append(out, v.Raw...), nil
	}
	out = append(out, v.Raw[:v.tarStart]...)
	out, err := jsontext.AppendQuote(out, u)
	if err != nil {
		return nil, fmt.Errorf("npm: tarball URL for %s: %w", v.Key, err)
	}
	return append(out, v.Raw[v.tarEnd:]...), nil
}

func appendVersionKey(out []byte, v *Version) ([]byte, error) {
	return jsontext.AppendQuote(out, v.Key)
}

func (p *Packument) appendTime(out []byte, keep func(int) bool) []byte {
	out = append(out, '{')
	n := 0
	for i := range p.times {
		e := &p.times[i]
		if e.ver >= 0 && !keep(e.ver) {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, e.keyRaw...)
		out = append(out, ':')
		out = append(out, e.val...)
	}
	return append(out, '}')
}

func appendTags(out []byte, tags []DistTag) ([]byte, error) {
	out = append(out, '{')
	var err error
	for i, t := range tags {
		if i > 0 {
			out = append(out, ',')
		}
		if out, err = jsontext.AppendQuote(out, t.Name); err != nil {
			return nil, err
		}
		out = append(out, ':')
		if out, err = jsontext.AppendQuote(out, t.Version); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

// appendMemberKey appends a member name (quoted, with its colon) after a comma when
// the object already has members.
func appendMemberKey(out []byte, key string) []byte {
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	return append(out, key...)
}

// fullSize estimates Render's output length closely, so the buffer is allocated once
// and a cached document does not pin a much larger array than its bytes.
func (p *Packument) fullSize(keep func(int) bool, tarballURL func(*Version) string) int {
	n := 64
	for i := range p.members {
		m := &p.members[i]
		n += len(m.keyRaw) + 2
		if m.kind == memberOther || m.kind == memberName {
			n += len(m.val)
		}
	}
	for _, t := range p.DistTags {
		n += len(t.Name) + len(t.Version) + 6
	}
	for i := range p.times {
		n += len(p.times[i].keyRaw) + len(p.times[i].val) + 2
	}
	est := urlEstimator{tarballURL: tarballURL}
	for i := range p.Versions {
		if keep(i) {
			v := &p.Versions[i]
			n += len(v.Key) + len(v.Raw) + 4 + est.delta(v)
		}
	}
	return n
}

// urlEstimator estimates how much rewriting a manifest's dist.tarball changes its
// length, without building every URL: a rewritten URL is assumed as long as the first
// one, adjusted for the version's length. (Output slices still grow if it is wrong.)
type urlEstimator struct {
	tarballURL func(*Version) string
	base       int
	sampled    bool
}

func (e *urlEstimator) delta(v *Version) int {
	if e.tarballURL == nil || v.tarEnd == 0 {
		return 0
	}
	if !e.sampled {
		e.sampled = true
		e.base = len(e.tarballURL(v)) - len(v.Key)
	}
	return e.base + len(v.Key) + 2 - (v.tarEnd - v.tarStart)
}

// trim returns out without spare capacity worth keeping: rendered documents are cached,
// and a slice pins its whole backing array.
func trim(out []byte) []byte {
	if cap(out)-len(out) <= len(out)/8+1024 {
		return out
	}
	return append([]byte(nil), out...)
}
