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
	keep = orAll(keep)
	tags := p.repairTags(keep)
	// The kept manifests bound the output from above; trim gives back what the
	// dropped fields leave unused.
	out := make([]byte, 0, p.abbreviatedBound(keep, tarballURL))
	out = append(out, `{"name":`...)
	out, err := jsontext.AppendQuote(out, p.Name)
	if err != nil {
		return nil, err
	}
	if mod := p.modified(keep); mod != "" {
		out = append(out, `,"modified":`...)
		out = append(out, mod...)
	}
	out = append(out, `,"dist-tags":`...)
	if out, err = appendTags(out, tags); err != nil {
		return nil, err
	}
	out = append(out, `,"versions":{`...)
	n := 0
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
		if out, err = appendCorgi(out, v, tarballURL); err != nil {
			return nil, err
		}
	}
	out = append(out, "}}"...)
	return trim(out), nil
}

// abbreviatedBound is an upper bound of RenderAbbreviated's output length, from the
// sizes of the kept members measured while parsing, so the output needs neither a
// second walk to size it nor a copy to trim it.
func (p *Packument) abbreviatedBound(keep func(int) bool, tarballURL func(*Version) string) int {
	n := len(p.Name) + 128
	for _, t := range p.DistTags {
		n += len(t.Name) + len(t.Version) + 6
	}
	est := urlEstimator{tarballURL: tarballURL}
	for i := range p.Versions {
		if !keep(i) {
			continue
		}
		v := &p.Versions[i]
		n += len(v.Key) + 6 + est.delta(v)
		for j := 0; j+1 < len(v.corgi); j += 2 {
			n += int(v.corgi[j+1]-v.corgi[j]) + 1
		}
		if len(v.Info.InstallScripts) > 0 || v.Info.Gypfile {
			n += len(`,"hasInstallScript":true`)
		}
	}
	return n
}

// appendCorgi appends v's abbreviated manifest: the kept members in manifest order,
// copied run by run (see Version.corgi), with dist.tarball rewritten and
// hasInstallScript forced to true where the version runs code at install time.
func appendCorgi(out []byte, v *Version, tarballURL func(*Version) string) ([]byte, error) {
	raw := v.Raw
	needsFlag := len(v.Info.InstallScripts) > 0 || v.Info.Gypfile
	// At most two splices: the tarball URL and the flag's value, applied in order.
	var sp [2]splice
	n := 0
	if tarballURL != nil && v.tarEnd > 0 {
		if u := tarballURL(v); u != "" {
			quoted, err := jsontext.AppendQuote(nil, u)
			if err != nil {
				return nil, err
			}
			sp[n] = splice{v.tarStart, v.tarEnd, quoted}
			n++
		}
	}
	if needsFlag && v.flagEnd > 0 && raw[v.flagStart:v.flagEnd] != "true" {
		sp[n] = splice{v.flagStart, v.flagEnd, []byte("true")}
		n++
	}
	if n == 2 && sp[1].start < sp[0].start {
		sp[0], sp[1] = sp[1], sp[0]
	}
	out = append(out, '{')
	for j := 0; j+1 < len(v.corgi); j += 2 {
		if j > 0 {
			out = append(out, ',')
		}
		start, end := int(v.corgi[j]), int(v.corgi[j+1])
		for _, s := range sp[:n] {
			if s.start >= start && s.end <= end {
				out = append(out, raw[start:s.start]...)
				out = append(out, s.with...)
				start = s.end
			}
		}
		out = append(out, raw[start:end]...)
	}
	if needsFlag && v.flagEnd == 0 {
		if len(v.corgi) > 0 {
			out = append(out, ',')
		}
		out = append(out, `"hasInstallScript":true`...)
	}
	return append(out, '}'), nil
}

// splice replaces raw[start:end] with with.
type splice struct {
	start, end int
	with       []byte
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
