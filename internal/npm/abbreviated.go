package npm

import (
	"github.com/go-json-experiment/json/jsontext"
)

// The abbreviated ("corgi") form is what npm, pnpm and yarn ask for with
// Accept: application/vnd.npm.install-v1+json. It has four top-level members (name,
// modified, dist-tags, versions), and each version keeps only what an installer
// needs. The field list below follows what the public registry serves today: notably
// it carries neither "funding" nor "libc", so neither does Écluse, and clients behave
// the same behind the gate as without it.

// corgiField reports whether a manifest member is kept in the abbreviated form.
func corgiField(name string) bool {
	switch name {
	case "name", "version", "deprecated",
		"dependencies", "optionalDependencies", "devDependencies", "peerDependencies",
		"peerDependenciesMeta", "bundleDependencies", "bundledDependencies", "acceptDependencies",
		"bin", "directories", "dist", "engines", "cpu", "os",
		"_hasShrinkwrap", "hasInstallScript":
		return true
	}
	return false
}

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

// abbreviatedBound is an upper bound of RenderAbbreviated's output length, close to
// Render's: the abbreviated form only drops members, apart from the hasInstallScript
// flag it may add.
func (p *Packument) abbreviatedBound(keep func(int) bool, tarballURL func(*Version) string) int {
	n := p.fullSize(keep, tarballURL) + len(p.Name) + 64
	for i := range p.Versions {
		if info := &p.Versions[i].Info; keep(i) && (len(info.InstallScripts) > 0 || info.Gypfile) {
			n += len(`,"hasInstallScript":true`)
		}
	}
	return n
}

// appendCorgi appends v's abbreviated manifest: the kept members in manifest order.
func appendCorgi(out []byte, v *Version, tarballURL func(*Version) string) ([]byte, error) {
	raw := v.Raw
	needsFlag := len(v.Info.InstallScripts) > 0 || v.Info.Gypfile
	sawFlag := false
	out = append(out, '{')
	n := 0
	it := newObjectIter(raw, 0)
	for {
		kq, vs, ok := it.next()
		if !ok {
			break
		}
		ve, _ := skipValue(raw, vs)
		it.done(ve)
		name := key(kq)
		if !corgiField(name) {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, kq...)
		out = append(out, ':')
		switch {
		case name == "hasInstallScript":
			sawFlag = true
			if needsFlag {
				out = append(out, "true"...)
			} else {
				out = append(out, raw[vs:ve]...)
			}
		case name == "dist" && v.tarEnd > vs && v.tarEnd <= ve && tarballURL != nil:
			u := tarballURL(v)
			if u == "" {
				out = append(out, raw[vs:ve]...)
				break
			}
			out = append(out, raw[vs:v.tarStart]...)
			var err error
			if out, err = jsontext.AppendQuote(out, u); err != nil {
				return nil, err
			}
			out = append(out, raw[v.tarEnd:ve]...)
		default:
			out = append(out, raw[vs:ve]...)
		}
	}
	if needsFlag && !sawFlag {
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, `"hasInstallScript":true`...)
	}
	return append(out, '}'), nil
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
