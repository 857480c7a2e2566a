package npm

import (
	"bytes"
	stdjson "encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// This file restates, the slow and obvious way, what the codec computes: documents
// decoded whole into generic values. The tests compare the two on small documents, on
// the real fixtures and under fuzzing.

// decodeGeneric decodes JSON into generic values, numbers kept as written.
func decodeGeneric(tb testing.TB, b []byte) any {
	tb.Helper()
	dec := stdjson.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return v
}

// jsTruthy is JavaScript truthiness of a generic value.
func jsTruthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case stdjson.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		return err != nil || f != 0
	}
	return true
}

// referenceInfo computes a version's VersionInfo (and dist.tarball) from the decoded
// manifest and time map.
func referenceInfo(name, key string, manifest map[string]any, times map[string]any) (VersionInfo, string) {
	info := VersionInfo{Name: name, Version: key}
	var tarball string
	if dist, ok := manifest["dist"].(map[string]any); ok {
		info.Integrity, _ = dist["integrity"].(string)
		info.Shasum, _ = dist["shasum"].(string)
		tarball, _ = dist["tarball"].(string)
	}
	if scripts, ok := manifest["scripts"].(map[string]any); ok {
		for _, s := range []string{"preinstall", "install", "postinstall"} {
			if jsTruthy(scripts[s]) {
				info.InstallScripts = append(info.InstallScripts, s)
			}
		}
	}
	info.HasInstallScript = jsTruthy(manifest["hasInstallScript"])
	info.Gypfile = jsTruthy(manifest["gypfile"])
	switch d := manifest["deprecated"].(type) {
	case string:
		info.Deprecated = d
	default:
		if jsTruthy(d) {
			info.Deprecated = "(truthy)"
		}
	}
	if s, ok := times[key].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			info.Published = t.UTC()
		}
	}
	return info, tarball
}

// refDoc is a document decoded the slow way, once, for the checks below.
type refDoc struct {
	name      string
	versions  map[string]any    // manifests, decoded
	times     map[string]any    // "time", decoded
	manifests map[string]string // manifests as served, by key
	members   map[string]string // top-level members as served, by key
}

func reference(tb testing.TB, raw []byte) *refDoc {
	tb.Helper()
	doc := decodeGeneric(tb, raw).(map[string]any)
	ref := &refDoc{manifests: map[string]string{}, members: map[string]string{}}
	ref.name, _ = doc["name"].(string)
	ref.versions, _ = doc["versions"].(map[string]any)
	ref.times, _ = doc["time"].(map[string]any)
	// One pass over the served bytes: top-level members, and inside "versions" each
	// manifest.
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true))
	if _, err := dec.ReadToken(); err != nil {
		tb.Fatal(err)
	}
	for dec.PeekKind() != '}' {
		k, err := dec.ReadToken()
		if err != nil {
			tb.Fatal(err)
		}
		name := k.String()
		if name == "versions" && dec.PeekKind() == '{' {
			start := dec.InputOffset()
			if _, err := dec.ReadToken(); err != nil {
				tb.Fatal(err)
			}
			for dec.PeekKind() != '}' {
				vk, err := dec.ReadToken()
				if err != nil {
					tb.Fatal(err)
				}
				key := vk.String()
				v, err := dec.ReadValue()
				if err != nil {
					tb.Fatal(err)
				}
				ref.manifests[key] = string(v)
			}
			if _, err := dec.ReadToken(); err != nil {
				tb.Fatal(err)
			}
			ref.members[name] = string(bytes.TrimLeft(raw[start:dec.InputOffset()], " \t\r\n:"))
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			tb.Fatal(err)
		}
		ref.members[name] = string(v)
	}
	return ref
}

// checkInfos compares every parsed version of p with the reference.
func checkInfos(t *testing.T, p *Packument, ref *refDoc) {
	t.Helper()
	if len(p.Versions) != len(ref.versions) {
		t.Fatalf("parsed %d versions, reference %d", len(p.Versions), len(ref.versions))
	}
	for i := range p.Versions {
		v := &p.Versions[i]
		m, ok := ref.versions[v.Key].(map[string]any)
		if !ok {
			t.Fatalf("version %q is not in the reference", v.Key)
		}
		want, tarball := referenceInfo(p.Name, v.Key, m, ref.times)
		got := v.Info
		// dist.signatures is kept as text: compare what it decodes to.
		if dist, ok := m["dist"].(map[string]any); ok {
			if sigs, present := dist["signatures"]; present {
				var decoded any
				dec := stdjson.NewDecoder(strings.NewReader(got.Signatures))
				dec.UseNumber()
				if err := dec.Decode(&decoded); err != nil || !reflect.DeepEqual(decoded, sigs) {
					t.Fatalf("version %q Signatures = %s, reference %v", v.Key, got.Signatures, sigs)
				}
				got.Signatures = ""
			}
		}
		if want.Deprecated == "(truthy)" && got.Deprecated != "" {
			got.Deprecated = want.Deprecated
		}
		if !reflect.DeepEqual(got, want) || !got.Published.Equal(want.Published) {
			t.Fatalf("version %q Info = %+v\nreference     %+v", v.Key, v.Info, want)
		}
		if v.Tarball != tarball {
			t.Fatalf("version %q Tarball = %q, reference %q", v.Key, v.Tarball, tarball)
		}
		if v.Raw != ref.manifests[v.Key] {
			t.Fatalf("version %q Raw = %s\nserved %s", v.Key, v.Raw, ref.manifests[v.Key])
		}
		if p.Find(v.Key) != v {
			t.Fatalf("Find(%q) does not return version %d", v.Key, i)
		}
	}
}

// corgiFields is the reference list of the abbreviated form's per-version fields.
var corgiFields = []string{
	"name", "version", "deprecated", "dependencies", "optionalDependencies", "devDependencies",
	"peerDependencies", "peerDependenciesMeta", "bundleDependencies", "bundledDependencies",
	"acceptDependencies", "bin", "directories", "dist", "engines", "cpu", "os",
	"_hasShrinkwrap", "hasInstallScript",
}

// referenceCorgi reduces a decoded manifest to its abbreviated form.
func referenceCorgi(m map[string]any, tarballURL string) map[string]any {
	out := map[string]any{}
	for _, f := range corgiFields {
		if v, ok := m[f]; ok {
			out[f] = v
		}
	}
	if dist, ok := out["dist"].(map[string]any); ok && tarballURL != "" {
		if _, has := dist["tarball"]; has {
			copied := map[string]any{}
			for k, v := range dist {
				copied[k] = v
			}
			copied["tarball"] = tarballURL
			out["dist"] = copied
		}
	}
	needsFlag := jsTruthy(m["gypfile"])
	if scripts, ok := m["scripts"].(map[string]any); ok {
		for _, s := range []string{"preinstall", "install", "postinstall"} {
			needsFlag = needsFlag || jsTruthy(scripts[s])
		}
	}
	if needsFlag {
		out["hasInstallScript"] = true
	}
	return out
}

// checkRendered checks a full rendering of p against the reference: valid JSON, the
// kept versions only (each its manifest with dist.tarball replaced), time without
// withheld versions, every other top-level member byte for byte.
func checkRendered(t *testing.T, p *Packument, ref *refDoc, out []byte, keep func(int) bool, tarballURL func(*Version) string) {
	t.Helper()
	if !jsontext.Value(out).IsValid(jsontext.AllowDuplicateNames(true)) {
		t.Fatalf("Render output is not valid JSON:\n%s", out)
	}
	keep = orAll(keep)
	gotKeys, gotVals := rawMembers(t, out)
	served := map[string]bool{}
	for i := range p.Versions {
		if keep(i) {
			served[p.Versions[i].Key] = true
		}
	}
	for i, k := range gotKeys {
		switch k {
		case "versions":
			vk, vv := rawMembers(t, gotVals[i])
			if len(vk) != len(served) {
				t.Fatalf("rendered %d versions, want %d", len(vk), len(served))
			}
			for j, key := range vk {
				v := p.Find(key)
				if v == nil || !served[key] {
					t.Fatalf("rendered version %q is not served", key)
				}
				checkManifest(t, v, vv[j], tarballURL, ref)
			}
		case "time":
			tk, _ := rawMembers(t, gotVals[i])
			for _, key := range tk {
				if p.Find(key) != nil && !served[key] {
					t.Fatalf("time still dates withheld version %q", key)
				}
			}
		case "dist-tags":
			tags := map[string]string{}
			if err := stdjson.Unmarshal(gotVals[i], &tags); err != nil {
				t.Fatal(err)
			}
			for tag, v := range tags {
				if !served[v] {
					t.Fatalf("dist-tag %s points at %q, which is not served", tag, v)
				}
			}
		default:
			if string(gotVals[i]) != ref.members[k] {
				t.Fatalf("member %q changed:\n%s\nwant\n%s", k, gotVals[i], ref.members[k])
			}
		}
	}
}

// checkManifest checks a rendered manifest: the served one with only dist.tarball
// replaced (compared as decoded JSON), and byte-identical to it outside that string.
func checkManifest(t *testing.T, v *Version, got []byte, tarballURL func(*Version) string, ref *refDoc) {
	t.Helper()
	served := ref.manifests[v.Key]
	if tarballURL == nil || v.tarEnd == 0 {
		if string(got) != served {
			t.Fatalf("manifest of %q changed:\n%s\nwant\n%s", v.Key, got, served)
		}
		return
	}
	want := map[string]any{}
	for k, val := range ref.versions[v.Key].(map[string]any) {
		want[k] = val
	}
	dist := map[string]any{}
	for k, val := range want["dist"].(map[string]any) {
		dist[k] = val
	}
	dist["tarball"] = tarballURL(v)
	want["dist"] = dist
	// Decoding is what makes the realism tests slow under -race; in documents with
	// thousands of versions every sixteenth manifest is decoded, the rest are checked
	// byte by byte below (and re-parsed by the caller).
	if len(ref.versions) < 1000 || hashKey(v.Key)%16 == 0 {
		if g := decodeGeneric(t, got); !reflect.DeepEqual(g, any(want)) {
			t.Fatalf("manifest of %q = %v\nwant %v", v.Key, g, want)
		}
	}
	prefix, suffix := served[:v.tarStart], served[v.tarEnd:]
	if !strings.HasPrefix(string(got), prefix) || !strings.HasSuffix(string(got), suffix) || len(got) <= len(prefix)+len(suffix) {
		t.Fatalf("manifest of %q changed outside dist.tarball:\n%s\nserved\n%s", v.Key, got, served)
	}
	quoted, _ := jsontext.AppendQuote(nil, tarballURL(v))
	if mid := got[len(prefix) : len(got)-len(suffix)]; !bytes.Equal(mid, quoted) {
		t.Fatalf("manifest of %q has %s where the tarball URL %s belongs", v.Key, mid, quoted)
	}
}

// hashKey spreads version keys for sampling.
func hashKey(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// checkAbbreviated checks an abbreviated rendering of p against the reference.
func checkAbbreviated(t *testing.T, p *Packument, ref *refDoc, out []byte, keep func(int) bool, tarballURL func(*Version) string) {
	t.Helper()
	if !jsontext.Value(out).IsValid(jsontext.AllowDuplicateNames(true)) {
		t.Fatalf("RenderAbbreviated output is not valid JSON:\n%s", out)
	}
	keep = orAll(keep)
	got := decodeGeneric(t, out).(map[string]any)
	for k := range got {
		switch k {
		case "name", "modified", "dist-tags", "versions":
		default:
			t.Fatalf("abbreviated form has top-level member %q", k)
		}
	}
	if got["name"] != p.Name {
		t.Fatalf("abbreviated name = %v, want %s", got["name"], p.Name)
	}
	versions := got["versions"].(map[string]any)
	n := 0
	for i := range p.Versions {
		if !keep(i) {
			continue
		}
		n++
		v := &p.Versions[i]
		u := ""
		if tarballURL != nil {
			u = tarballURL(v)
		}
		want := referenceCorgi(ref.versions[v.Key].(map[string]any), u)
		if !reflect.DeepEqual(versions[v.Key], any(want)) {
			t.Fatalf("abbreviated %q = %v\nwant %v", v.Key, versions[v.Key], want)
		}
	}
	if len(versions) != n {
		t.Fatalf("abbreviated form has %d versions, want %d", len(versions), n)
	}
}
