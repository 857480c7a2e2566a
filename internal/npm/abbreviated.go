package npm

import (
	"github.com/go-json-experiment/json/jsontext"
)

// The abbreviated ("corgi") form is what npm, pnpm and yarn ask for with
// Accept: application/vnd.npm.install-v1+json. It has four top-level members (name,
// modified, dist-tags, versions), and each version keeps only what an installer
// needs. The field list (corgiBits, in packument.go) follows what the public registry
// serves today: notably it carries neither "funding" nor "libc", so neither does
// Écluse, and clients behave the same behind the gate as without it.

// RenderAbbreviated returns the abbreviated form of the served document: the name,
// "modified" (the document's time.modified, or else the latest publish time among the
// kept versions, or absent when neither is known), the repaired dist-tags, and each
// kept version reduced to the abbreviated fields with dist.tarball rewritten.
//
// hasInstallScript is set to true on a version that declares a preinstall, install
// or postinstall script, even when the manifest lacked the flag or said false: the
// public registry derives the flag from the scripts in the same way, and clients read
// it to learn that a version runs code at install time. A gypfile counts too, since
// npm builds it with node-gyp when the package is installed.
//
// keep and tarballURL mean what they mean for Render.
func (p *Packument) RenderAbbreviated(keep func(i int) bool, tarballURL func(v *Version) string) ([]byte, error) {
	t, err := p.RenderAbbreviatedText(keep, tarballURL)
	if err != nil {
		return nil, err
	}
	return t.Bytes(), nil
}

// RenderAbbreviatedText is RenderAbbreviated without joining the result: the Text
// refers to the parsed document's bytes instead of copying them.
func (p *Packument) RenderAbbreviatedText(keep func(i int) bool, tarballURL func(v *Version) string) (Text, error) {
	keep = orAll(keep)
	tags := p.repairTags(keep)
	b := newTextBuilder()
	defer b.release()
	b.side = append(b.side, `{"name":`...)
	var err error
	if b.side, err = jsontext.AppendQuote(b.side, p.Name); err != nil {
		return Text{}, err
	}
	if mod := p.modified(keep); mod != "" {
		b.side = append(b.side, `,"modified":`...)
		b.side = append(b.side, mod...)
	}
	b.side = append(b.side, `,"dist-tags":`...)
	if b.side, err = appendTags(b.side, tags); err != nil {
		return Text{}, err
	}
	b.side = append(b.side, `,"versions":{`...)
	n := 0
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
			return Text{}, err
		}
		b.side = append(b.side, ':')
		if err = corgiTo(b, v, tarballURL); err != nil {
			return Text{}, err
		}
	}
	b.side = append(b.side, "}}"...)
	return b.text(), nil
}

// corgiTo adds v's abbreviated manifest: the kept members in manifest order, copied
// run by run (see Version.corgi), with dist.tarball rewritten and hasInstallScript
// forced to true where the version runs code at install time.
func corgiTo(b *textBuilder, v *Version, tarballURL func(*Version) string) error {
	raw := v.Raw
	needsFlag := len(v.Info.InstallScripts) > 0 || v.Info.Gypfile
	// At most two splices: the tarball URL and the flag's value, applied in order.
	var sp [2]splice
	n := 0
	if tarballURL != nil && v.tarEnd > 0 {
		if u := tarballURL(v); u != "" {
			sp[n] = splice{start: v.tarStart, end: v.tarEnd, quote: u}
			n++
		}
	}
	if needsFlag && v.flagEnd > 0 && raw[v.flagStart:v.flagEnd] != "true" {
		sp[n] = splice{start: v.flagStart, end: v.flagEnd, with: "true"}
		n++
	}
	if n == 2 && sp[1].start < sp[0].start {
		sp[0], sp[1] = sp[1], sp[0]
	}
	b.side = append(b.side, '{')
	for j := 0; j+1 < len(v.corgi); j += 2 {
		if j > 0 {
			b.side = append(b.side, ',')
		}
		start, end := int(v.corgi[j]), int(v.corgi[j+1])
		for _, s := range sp[:n] {
			if s.start >= start && s.end <= end {
				b.ref(raw[start:s.start])
				if s.quote != "" {
					var err error
					if b.side, err = jsontext.AppendQuote(b.side, s.quote); err != nil {
						return err
					}
				} else {
					b.side = append(b.side, s.with...)
				}
				start = s.end
			}
		}
		b.ref(raw[start:end])
	}
	if needsFlag && v.flagEnd == 0 {
		if len(v.corgi) > 0 {
			b.side = append(b.side, ',')
		}
		b.side = append(b.side, `"hasInstallScript":true`...)
	}
	b.side = append(b.side, '}')
	return nil
}

// splice replaces raw[start:end] with with, or with quote as a JSON string.
type splice struct {
	start, end  int
	with, quote string
}

// modified returns the JSON string for the abbreviated form's "modified": time.modified
// when the document has it, else the time entry of the most recently published kept
// version, else "" (the member is then left out).
func (p *Packument) modified(keep func(int) bool) string {
	var latest *timeEntry
	for i := range p.times {
		e := &p.times[i]
		if e.ver < 0 {
			if len(e.val) > 0 && e.val[0] == '"' && key(e.keyRaw) == "modified" {
				return e.val
			}
			continue
		}
		if !keep(e.ver) {
			continue
		}
		pub := p.Versions[e.ver].Info.Published
		if pub.IsZero() {
			continue
		}
		if latest == nil || pub.After(p.Versions[latest.ver].Info.Published) {
			latest = e
		}
	}
	if latest == nil {
		return ""
	}
	return latest.val
}
