package npm

import (
	"bytes"
	stdjson "encoding/json"
	"reflect"
	"strconv"
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

// checkInfos compares every parsed version of p with the reference computed from raw.
func checkInfos(t *testing.T, p *Packument, raw []byte) {
	t.Helper()
	doc := decodeGeneric(t, raw).(map[string]any)
	versions, _ := doc["versions"].(map[string]any)
	times, _ := doc["time"].(map[string]any)
	if len(p.Versions) != len(versions) {
		t.Fatalf("parsed %d versions, reference %d", len(p.Versions), len(versions))
	}
	for i := range p.Versions {
		v := &p.Versions[i]
		m, ok := versions[v.Key].(map[string]any)
		if !ok {
			t.Fatalf("version %q is not in the reference", v.Key)
		}
		want, tarball := referenceInfo(p.Name, v.Key, m, times)
		got := v.Info
		if want.Deprecated == "(truthy)" && got.Deprecated != "" {
			got.Deprecated = want.Deprecated
		}
		if !reflect.DeepEqual(got, want) || !got.Published.Equal(want.Published) {
			t.Fatalf("version %q Info = %+v\nreference     %+v", v.Key, v.Info, want)
		}
		if v.Tarball != tarball {
			t.Fatalf("version %q Tarball = %q, reference %q", v.Key, v.Tarball, tarball)
		}
		if !jsontext.Value(v.Raw).IsValid() || !reflect.DeepEqual(decodeGeneric(t, v.Raw), any(m)) {
			t.Fatalf("version %q Raw does not hold its manifest: %s", v.Key, v.Raw)
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
func checkRendered(t *testing.T, p *Packument, raw, out []byte, keep func(int) bool, tarballURL func(*Version) string) {
	t.Helper()
	if !jsontext.Value(out).IsValid() {
		t.Fatalf("Render output is not valid JSON:\n%s", out)
	}
	keep = orAll(keep)
	gotKeys, gotVals := rawMembers(t, out)
	srcKeys, srcVals := rawMembers(t, raw)
	src := map[string]jsontext.Value{}
	for i, k := range srcKeys {
		src[k] = srcVals[i]
	}
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
				checkManifest(t, v, vv[j], tarballURL)
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
			if !bytes.Equal(gotVals[i], src[k]) {
				t.Fatalf("member %q changed:\n%s\nwant\n%s", k, gotVals[i], src[k])
			}
		}
	}
}

// checkManifest checks a rendered manifest: the same JSON as the served one with only
// dist.tarball replaced, and byte-identical to it outside that string.
func checkManifest(t *testing.T, v *Version, got []byte, tarballURL func(*Version) string) {
	t.Helper()
	if tarballURL == nil || v.tarEnd == 0 {
		if !bytes.Equal(got, v.Raw) {
			t.Fatalf("manifest of %q changed:\n%s\nwant\n%s", v.Key, got, v.Raw)
		}
		return
	}
	u := tarballURL(v)
	want := decodeGeneric(t, v.Raw).(map[string]any)
	want["dist"].(map[string]any)["tarball"] = u
	if g := decodeGeneric(t, got); !reflect.DeepEqual(g, any(want)) {
		t.Fatalf("manifest of %q = %v\nwant %v", v.Key, g, want)
	}
	prefix, suffix := v.Raw[:v.tarStart], v.Raw[v.tarEnd:]
	if !bytes.HasPrefix(got, prefix) || !bytes.HasSuffix(got, suffix) || len(got) <= len(prefix)+len(suffix) {
		t.Fatalf("manifest of %q changed outside dist.tarball:\n%s\nserved\n%s", v.Key, got, v.Raw)
	}
}

// checkAbbreviated checks an abbreviated rendering of p against the reference.
func checkAbbreviated(t *testing.T, p *Packument, raw, out []byte, keep func(int) bool, tarballURL func(*Version) string) {
	t.Helper()
	if !jsontext.Value(out).IsValid() {
		t.Fatalf("RenderAbbreviated output is not valid JSON:\n%s", out)
	}
	keep = orAll(keep)
	doc := decodeGeneric(t, raw).(map[string]any)
	srcVersions, _ := doc["versions"].(map[string]any)
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
		want := referenceCorgi(srcVersions[v.Key].(map[string]any), u)
		if !reflect.DeepEqual(versions[v.Key], any(want)) {
			t.Fatalf("abbreviated %q = %v\nwant %v", v.Key, versions[v.Key], want)
		}
	}
	if len(versions) != n {
		t.Fatalf("abbreviated form has %d versions, want %d", len(versions), n)
	}
}
