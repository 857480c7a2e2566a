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
	t, err := p.RenderText(keep, tarballURL)
	if err != nil {
		return nil, err
	}
	return t.Bytes(), nil
}

// RenderText is Render without joining the result: the Text refers to the parsed
// document's bytes instead of copying them.
func (p *Packument) RenderText(keep func(i int) bool, tarballURL func(v *Version) string) (Text, error) {
	keep = orAll(keep)
	tags := p.repairTags(keep)
	b := newTextBuilder()
	defer b.release()
	b.side = append(b.side, '{')
	var sawTags, sawVersions bool
	var err error
	for i := range p.members {
		m := &p.members[i]
		if i > 0 {
			b.side = append(b.side, ',')
		}
		b.side = append(b.side, m.keyRaw...)
		b.side = append(b.side, ':')
		switch m.kind {
		case memberDistTags:
			sawTags = true
			b.side, err = appendTags(b.side, tags)
		case memberVersions:
			sawVersions = true
			err = p.versionsTo(b, keep, tarballURL)
		case memberTime:
			b.side = p.appendTime(b.side, keep)
		default:
			b.ref(m.val)
		}
		if err != nil {
			return Text{}, err
		}
	}
	comma := len(p.members) > 0
	if !sawTags {
		if comma {
			b.side = append(b.side, ',')
		}
		comma = true
		b.side = append(b.side, `"dist-tags":`...)
		if b.side, err = appendTags(b.side, tags); err != nil {
			return Text{}, err
		}
	}
	if !sawVersions {
		if comma {
			b.side = append(b.side, ',')
		}
		b.side = append(b.side, `"versions":`...)
		if err = p.versionsTo(b, keep, tarballURL); err != nil {
			return Text{}, err
		}
	}
	b.side = append(b.side, '}')
	return b.text(), nil
}

// RenderVersion returns one served manifest, with its tarball URL rewritten: the
// version whose key is ref, or else the version the repaired dist-tag ref points at.
// It returns an error wrapping ErrVersionNotFound when ref is neither.
func (p *Packument) RenderVersion(ref string, keep func(i int) bool, tarballURL func(v *Version) string) ([]byte, error) {
	t, err := p.RenderVersionText(ref, keep, tarballURL)
	if err != nil {
		return nil, err
	}
	return t.Bytes(), nil
}

// RenderVersionText is RenderVersion without joining the result.
func (p *Packument) RenderVersionText(ref string, keep func(i int) bool, tarballURL func(v *Version) string) (Text, error) {
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
		return Text{}, fmt.Errorf("%w: %s", ErrVersionNotFound, quoteShort(ref))
	}
	v := &p.Versions[idx]
	b := newTextBuilder()
	defer b.release()
	if err := manifestTo(b, v, tarballURL); err != nil {
		return Text{}, err
	}
	return b.text(), nil
}

func (p *Packument) versionsTo(b *textBuilder, keep func(int) bool, tarballURL func(*Version) string) error {
	if p.doc != "" {
		return p.versionRunsTo(b, keep, tarballURL)
	}
	b.side = append(b.side, '{')
	n := 0
	var err error
	for i := range p.Versions {
		if !keep(i) {
			continue
		}
		v := &p.Versions[i]
		if n > 0 {
			b.side = append(b.side, ',')
		}
		n++
		if b.side, err = appendVersionKey(b.side, v); err != nil {
			return err
		}
		b.side = append(b.side, ':')
		if err = manifestTo(b, v, tarballURL); err != nil {
			return err
		}
	}
	b.side = append(b.side, '}')
	return nil
}

// versionRunsTo is versionsTo for a document parsed whole: consecutive served versions
// sit next to each other in the document, so the text between one rewritten tarball URL
// and the next (the end of a manifest, the next key, the start of the next manifest) is
// one substring, and a run of served versions costs one piece and one URL per version.
func (p *Packument) versionRunsTo(b *textBuilder, keep func(int) bool, tarballURL func(*Version) string) error {
	b.side = append(b.side, '{')
	cut, end := -1, 0 // the document is emitted up to cut while a run goes on; end: last manifest's end
	n := 0
	var err error
	for i := range p.Versions {
		v := &p.Versions[i]
		if !keep(i) {
			if cut >= 0 {
				b.ref(p.doc[cut:end])
				cut = -1
			}
			continue
		}
		if cut < 0 { // a run starts: write the key, then refer to the manifest
			if n > 0 {
				b.side = append(b.side, ',')
			}
			if b.side, err = appendVersionKey(b.side, v); err != nil {
				return err
			}
			b.side = append(b.side, ':')
			cut = v.rawAt
		}
		n++
		end = v.rawAt + len(v.Raw)
		if tarballURL == nil || v.tarEnd == 0 {
			continue
		}
		u := tarballURL(v)
		if u == "" {
			continue
		}
		b.ref(p.doc[cut : v.rawAt+v.tarStart])
		if b.side, err = jsontext.AppendQuote(b.side, u); err != nil {
			return fmt.Errorf("npm: tarball URL for %s: %w", v.Key, err)
		}
		cut = v.rawAt + v.tarEnd
	}
	if cut >= 0 {
		b.ref(p.doc[cut:end])
	}
	b.side = append(b.side, '}')
	return nil
}

// manifestTo adds v's manifest with dist.tarball replaced.
func manifestTo(b *textBuilder, v *Version, tarballURL func(*Version) string) error {
	if tarballURL == nil || v.tarEnd == 0 {
		b.ref(v.Raw)
		return nil
	}
	u := tarballURL(v)
	if u == "" {
		b.ref(v.Raw)
		return nil
	}
	b.ref(v.Raw[:v.tarStart])
	var err error
	if b.side, err = jsontext.AppendQuote(b.side, u); err != nil {
		return fmt.Errorf("npm: tarball URL for %s: %w", v.Key, err)
	}
	b.ref(v.Raw[v.tarEnd:])
	return nil
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
