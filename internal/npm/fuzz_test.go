package npm

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// The fuzz targets in this file hold the parser of upstream package documents, and what
// is built from a parsed document, to properties stated without the parser's own code:
// what plain JSON validation says, what the Limits promise, which member names may not
// repeat, and that every rendering is JSON that parses again. The targets next to the
// table tests (FuzzParsePackument, FuzzScan, FuzzParseSRI, FuzzParseRequestPath,
// FuzzValidateName) compare the same code with slow reference implementations.

// docSentinels are the kinds a *DocumentError may carry.
var docSentinels = []error{ErrTooLarge, ErrTooDeep, ErrTooManyVersions, ErrNameMismatch, ErrMalformed}

// maxReasonLen bounds a DocumentError's text: a sentence with at most two quoted pieces
// of 64 bytes of upstream text, each escaped at worst to four characters a byte.
const maxReasonLen = 640

// fzDepth returns the deepest nesting of objects and arrays in a valid JSON value (the
// outermost object is depth 1), as jsontext counts it.
func fzDepth(t *testing.T, raw []byte) int {
	t.Helper()
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true))
	depth := 0
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return depth
		}
		if err != nil {
			t.Fatalf("depth of a valid document: %v", err)
		}
		if k := tok.Kind(); k == '{' || k == '[' {
			depth = max(depth, dec.StackDepth())
		}
	}
}

// fzIsObject reports whether a raw JSON value is an object.
func fzIsObject(v []byte) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && v[0] == '{'
}

// fzRepeat returns a name that occurs more than once among keys, counting only the
// names for which only(name) holds (nil: all).
func fzRepeat(keys []string, only func(string) bool) (string, bool) {
	seen := map[string]bool{}
	for _, k := range keys {
		if only != nil && !only(k) {
			continue
		}
		if seen[k] {
			return k, true
		}
		seen[k] = true
	}
	return "", false
}

// readFields are the manifest members Écluse reads or the abbreviated form carries:
// a repeat of one of them would let Écluse decide on one value and a client use another.
var readFields = func() map[string]bool {
	m := map[string]bool{"scripts": true, "gypfile": true}
	for _, f := range corgiFields {
		m[f] = true
	}
	return m
}()

func isOneOf(names ...string) func(string) bool {
	return func(k string) bool {
		for _, n := range names {
			if k == n {
				return true
			}
		}
		return false
	}
}

// checkAdmitted checks a document ParsePackument accepted against plain JSON decoding:
// it is valid JSON and valid UTF-8, it is an object whose name is wantName, and no
// member name repeats anywhere a value is read or an object is rebuilt.
func checkAdmitted(t *testing.T, raw []byte, wantName string, p *Packument) {
	t.Helper()
	if !jsontext.Value(raw).IsValid(jsontext.AllowDuplicateNames(true)) || !stdjson.Valid(raw) || !utf8.Valid(raw) {
		t.Fatalf("ParsePackument admitted a document that JSON validation refuses: %q", raw)
	}
	if !fzIsObject(raw) {
		t.Fatalf("ParsePackument admitted a document that is not an object: %q", raw)
	}
	keys, vals := rawMembers(t, raw)
	if k, dup := fzRepeat(keys, nil); dup {
		t.Fatalf("ParsePackument admitted a document whose top level repeats %q", k)
	}
	names := 0
	versions := 0
	for i, k := range keys {
		switch k {
		case "name":
			names++
			var s string
			if err := stdjson.Unmarshal(vals[i], &s); err != nil || s != wantName {
				t.Fatalf("ParsePackument(%q) admitted a document named %s", wantName, vals[i])
			}
		case "time", "dist-tags":
			if !fzIsObject(vals[i]) {
				t.Fatalf("ParsePackument admitted a %s member that is not an object: %s", k, vals[i])
			}
			tk, _ := rawMembers(t, vals[i])
			if r, dup := fzRepeat(tk, nil); dup {
				t.Fatalf("ParsePackument admitted a %s object that repeats %q", k, r)
			}
		case "versions":
			if !fzIsObject(vals[i]) {
				t.Fatalf("ParsePackument admitted a versions member that is not an object: %s", vals[i])
			}
			vk, vv := rawMembers(t, vals[i])
			if r, dup := fzRepeat(vk, nil); dup {
				t.Fatalf("ParsePackument admitted a versions object that repeats %q", r)
			}
			versions = len(vk)
			for j, key := range vk {
				checkAdmittedManifest(t, key, vv[j])
			}
		}
	}
	if names != 1 {
		t.Fatalf("ParsePackument admitted a document with %d name members", names)
	}
	if versions != len(p.Versions) || p.Name != wantName {
		t.Fatalf("parsed %d versions named %q, the document has %d named %q", len(p.Versions), p.Name, versions, wantName)
	}
}

func checkAdmittedManifest(t *testing.T, key string, m []byte) {
	t.Helper()
	if !fzIsObject(m) {
		t.Fatalf("ParsePackument admitted version %q that is not an object: %s", key, m)
	}
	mk, mv := rawMembers(t, m)
	if r, dup := fzRepeat(mk, func(k string) bool { return readFields[k] }); dup {
		t.Fatalf("ParsePackument admitted version %q repeating %q", key, r)
	}
	for i, k := range mk {
		switch k {
		case "version":
			var s string
			if err := stdjson.Unmarshal(mv[i], &s); err != nil || s != key {
				t.Fatalf("ParsePackument admitted version %q that says it is %s", key, mv[i])
			}
		case "dist", "scripts":
			if !fzIsObject(mv[i]) {
				continue
			}
			dk, _ := rawMembers(t, mv[i])
			only := isOneOf("integrity", "shasum", "tarball")
			if k == "scripts" {
				only = isOneOf("preinstall", "install", "postinstall")
			}
			if r, dup := fzRepeat(dk, only); dup {
				t.Fatalf("ParsePackument admitted version %q whose %s repeats %q", key, k, r)
			}
		}
	}
}

// versionEntries counts the members of every top-level "versions" object of a valid
// document (a repeated "versions" member counts twice).
func versionEntries(t *testing.T, raw []byte) int {
	t.Helper()
	keys, vals := rawMembers(t, raw)
	n := 0
	for i, k := range keys {
		if k == "versions" && fzIsObject(vals[i]) {
			vk, _ := rawMembers(t, vals[i])
			n += len(vk)
		}
	}
	return n
}

// namedAs reports whether a valid document has a name member and every name member is
// the string want.
func namedAs(t *testing.T, raw []byte, want string) bool {
	t.Helper()
	keys, vals := rawMembers(t, raw)
	found := false
	for i, k := range keys {
		if k != "name" {
			continue
		}
		var s string
		if err := stdjson.Unmarshal(vals[i], &s); err != nil || s != want {
			return false
		}
		found = true
	}
	return found
}

func versionKeys(p *Packument) []string {
	keys := make([]string, len(p.Versions))
	for i := range p.Versions {
		keys[i] = p.Versions[i].Key
	}
	return keys
}

// FuzzPackumentLimits parses under fuzzed Limits. A document is admitted only when plain
// JSON validation accepts it, its name is the one asked for, no member name that Écluse
// reads repeats, and it is within every limit; it is refused only with a *DocumentError
// of one kind, whose text is short, on one line and valid UTF-8, and whose kind is true
// of the document; limits never change what an admitted document parses to, and a
// document within them is never refused for them.
func FuzzPackumentLimits(f *testing.F) {
	basic := readTestdata(f, "basic.json")
	f.Add(basic, "demo", uint16(0), uint8(0), uint8(0))
	f.Add(basic, "demo", uint16(len(basic)), uint8(5), uint8(4))
	f.Add(basic, "demo", uint16(len(basic)-1), uint8(4), uint8(3))
	f.Add([]byte(unionPrivate), "m", uint16(0), uint8(1), uint8(0))
	f.Add([]byte(unionPublic), "m", uint16(0), uint8(0), uint8(3))
	for _, doc := range []string{
		`{"name":"x","versions":{"1.0.0":{"version":"1.0.0","dist":{"tarball":"t"}}},"time":{},"dist-tags":{}}`,
		`{"name":"x","readme":"` + strings.Repeat("a", 1<<10) + `"}`,
		`{"name":"x","versions":{"1.0.0":{},"1.0.1":{},"1.0.2":{}}}`,
		`{"name":"x","a":` + deep(6) + `}`,
		`{"name":"x","versions":{"1.0.0":{"a":` + deep(4) + `}}}`,
		`{"name":"x","versions":{"1.0.0":{"dist":{"a":` + deep(3) + `}}}}`,
		`{"name":"x","time":{"a":` + deep(5) + `}}`,
		`{"name":"x","dist-tags":{"a":` + deep(5) + `}}`,
		`{"name":` + deep(6) + `}`,
		`{"versions":{}}`, `{"name":"y"}`, `{"name":["x"]}`, `{"name":"x",}`, ``,
		"{\"name\":\"x\",\"readme\":\"\xff\"}", `{"name":"x","readme":"\ud800"}`,
		`{"name":"x","name":"x"}`, `{"name":"x","versions":{},"versions":{}}`,
		`{"name":"x","versions":{"1.0.0":{"dist":{"tarball":"a","t\u0061rball":"b"}}}}`,
		`{"name":"x","versions":{"1.0.0":{},"1.0.0":{}}}`,
		`{"name":"x","versions":{"1.0.0":{"dependencies":{},"dependencies":{"a":"1"}}}}`,
		`{"name":"x","versions":{"1.0.0":{"scripts":{"postinstall":"x","postinstall":""}}}}`,
		`{"name":"x","versions":{"1.0.0":{}},"time":{"1.0.0":"2020-01-01T00:00:00Z","1.0.0":"2026-01-01T00:00:00Z"}}`,
		`{"name":"x","dist-tags":{"latest":"1.0.0","latest":"2.0.0"}}`,
		`["name"]`, `"x"`, `{"name":"x","versions":[]}`, `{"name":"x","versions":{"1.0.0":"1.0.0"}}`,
		`{"name":"x","versions":{"1.0.0":{"version":"1.0.1"}}}`, `{"name":"x","time":"2020"}`,
		`{"name":"x","readme":["{{{{[[[["],"versions":{"1.0.0":{"bin":{"a":"[[[[{{{{"}}}}`,
		`{"name":"x","versions":{"1.0.0":{"dependencies":{"a":"1","a":"2"},"readme":"r","readme":"s"}},"other":{"k":1,"k":2}}`,
	} {
		f.Add([]byte(doc), "x", uint16(1<<10), uint8(2), uint8(6))
	}
	f.Fuzz(func(t *testing.T, raw []byte, name string, maxBytes uint16, maxVersions, maxDepth uint8) {
		lim := Limits{MaxBytes: int64(maxBytes), MaxVersions: int(maxVersions), MaxDepth: int(maxDepth)}
		p, err := ParsePackument(raw, name, lim)
		valid := jsontext.Value(raw).IsValid(jsontext.AllowDuplicateNames(true))
		if err == nil {
			if p == nil {
				t.Fatal("ParsePackument returned neither a document nor an error")
			}
			checkAdmitted(t, raw, name, p)
			if lim.MaxBytes > 0 && int64(len(raw)) > lim.MaxBytes {
				t.Fatalf("admitted %d bytes under MaxBytes %d", len(raw), lim.MaxBytes)
			}
			if lim.MaxVersions > 0 && len(p.Versions) > lim.MaxVersions {
				t.Fatalf("admitted %d versions under MaxVersions %d", len(p.Versions), lim.MaxVersions)
			}
			if d := fzDepth(t, raw); lim.MaxDepth > 0 && d > lim.MaxDepth {
				t.Fatalf("admitted depth %d under MaxDepth %d", d, lim.MaxDepth)
			}
			free, err := ParsePackument(raw, name, Limits{})
			if err != nil || !slices.Equal(versionKeys(free), versionKeys(p)) || !reflect.DeepEqual(free.DistTags, p.DistTags) {
				t.Fatalf("without limits the document parses differently: %v", err)
			}
			return
		}
		if p != nil {
			t.Fatalf("ParsePackument returned a document and the error %v", err)
		}
		var de *DocumentError
		if !errors.As(err, &de) {
			t.Fatalf("ParsePackument error %#v is not a *DocumentError", err)
		}
		kinds := 0
		var kind error
		for _, s := range docSentinels {
			if errors.Is(err, s) {
				kinds++
				kind = s
			}
		}
		if kinds != 1 {
			t.Fatalf("ParsePackument error %v matches %d kinds, want exactly one", err, kinds)
		}
		if r := de.Reason; r == "" || len(r) > maxReasonLen || !utf8.ValidString(r) || strings.ContainsAny(r, "\r\n") {
			t.Fatalf("DocumentError reason %q is empty, longer than %d bytes, not UTF-8 or not one line", r, maxReasonLen)
		}
		if kind == ErrTooLarge && (lim.MaxBytes == 0 || int64(len(raw)) <= lim.MaxBytes) { //nolint:errorlint // kind is one of docSentinels, compared by identity
			t.Fatalf("%d bytes refused as too large under MaxBytes %d", len(raw), lim.MaxBytes)
		}
		if !valid {
			return // where parsing stopped decides which error comes first
		}
		free, ferr := ParsePackument(raw, name, Limits{})
		switch kind {
		case ErrTooDeep: //nolint:errorlint // kind is one of docSentinels, compared by identity
			if d := fzDepth(t, raw); lim.MaxDepth == 0 || d <= lim.MaxDepth {
				t.Fatalf("depth %d refused as too deep under MaxDepth %d", d, lim.MaxDepth)
			}
		case ErrTooManyVersions:
			if n := versionEntries(t, raw); lim.MaxVersions == 0 || n <= lim.MaxVersions {
				t.Fatalf("%d versions refused as too many under MaxVersions %d", n, lim.MaxVersions)
			}
		case ErrNameMismatch:
			if namedAs(t, raw, name) {
				t.Fatalf("a document named %q refused as misnamed: %v", name, err)
			}
			fallthrough
		case ErrMalformed:
			if !errors.Is(ferr, kind) {
				t.Fatalf("refused with limits (%v) but without them: %v", err, ferr)
			}
		}
		if ferr == nil && (lim.MaxBytes == 0 || int64(len(raw)) <= lim.MaxBytes) &&
			(lim.MaxVersions == 0 || len(free.Versions) <= lim.MaxVersions) &&
			(lim.MaxDepth == 0 || fzDepth(t, raw) <= lim.MaxDepth) {
			t.Fatalf("a document within every limit %+v was refused: %v", lim, err)
		}
	})
}

// fzKeep turns a fuzzed bit mask into a keep function.
func fzKeep(mask uint64) func(int) bool {
	return func(i int) bool { return mask&(1<<(uint(i)%64)) != 0 }
}

// fzManifest is v's manifest as a rendering must serve it: as served, with only the
// dist.tarball value replaced.
func fzManifest(t *testing.T, v *Version, tarballURL func(*Version) string) string {
	t.Helper()
	if tarballURL == nil || v.tarEnd == 0 {
		return v.Raw
	}
	u := tarballURL(v)
	if u == "" {
		return v.Raw
	}
	q, err := jsontext.AppendQuote(nil, u)
	if err != nil {
		t.Fatal(err)
	}
	return v.Raw[:v.tarStart] + string(q) + v.Raw[v.tarEnd:]
}

// checkServedTags checks repaired dist-tags: each points at a served version, the names
// are the document's own in its order, and a tag whose target is served is unchanged.
func checkServedTags(t *testing.T, p *Packument, keep func(int) bool, tags []DistTag) {
	t.Helper()
	index := map[string]int{}
	for i := range p.Versions {
		index[p.Versions[i].Key] = i
	}
	orig := map[string]int{}
	for i, tg := range p.DistTags {
		orig[tg.Name] = i
	}
	last := -1
	for _, tg := range tags {
		i, ok := index[tg.Version]
		if !ok || !keep(i) {
			t.Fatalf("dist-tag %s points at %q, which is not served", tg.Name, tg.Version)
		}
		at, ok := orig[tg.Name]
		if !ok || at <= last {
			t.Fatalf("dist-tags %v are not a subsequence of the document's %v", tags, p.DistTags)
		}
		last = at
		if was := p.DistTags[at].Version; was != tg.Version {
			if j, ok := index[was]; ok && keep(j) {
				t.Fatalf("dist-tag %s moved from served %q to %q", tg.Name, was, tg.Version)
			}
		}
	}
}

// FuzzRenderVersion asks a parsed document for versions and dist-tags by name, with a
// fuzzed set of versions withheld. A manifest is only ever a served version's, byte for
// byte with its tarball URL rewritten; a miss is ErrVersionNotFound; the repaired
// dist-tags point at served versions only and are what the full rendering carries.
func FuzzRenderVersion(f *testing.F) {
	basic := readTestdata(f, "basic.json")
	for _, ref := range []string{"latest", "next", "legacy", "ghost", "1.0.0", "2.0.0-rc.1", "9.9.9", ""} {
		f.Add(basic, uint64(0b10111), ref)
		f.Add(basic, uint64(0b00011), ref)
	}
	f.Add([]byte(unionPublic), uint64(0b00111), "beta")
	f.Add([]byte(unionPublic), ^uint64(0), "latest")
	f.Add([]byte(`{"name":"x","dist-tags":{"latest":"1.0.0beta","1.0.0":"2.0.0"},"versions":{"1.0.0beta":{},"1.0.0":{},"2.0.0":{"dist":{"tarball":"a"}}}}`), uint64(0b100), "1.0.0")
	f.Fuzz(func(t *testing.T, raw []byte, mask uint64, ref string) {
		p, err := ParsePackument(raw, "x", Limits{MaxDepth: 32, MaxVersions: 64})
		if err != nil {
			if p, err = ParsePackument(raw, "demo", Limits{MaxDepth: 32, MaxVersions: 64}); err != nil {
				if p, err = ParsePackument(raw, "m", Limits{MaxDepth: 32, MaxVersions: 64}); err != nil {
					return
				}
			}
		}
		keep := fzKeep(mask)
		tags := p.ServedDistTags(keep)
		checkServedTags(t, p, keep, tags)
		if again := p.ServedDistTags(keep); !reflect.DeepEqual(again, tags) {
			t.Fatalf("ServedDistTags is not deterministic: %v then %v", tags, again)
		}

		// The full rendering carries exactly these tags.
		out, err := p.Render(keep, gateURL)
		if err != nil {
			t.Fatal(err)
		}
		tk, tv := rawMembers(t, memberValue(t, out, "dist-tags"))
		if len(tk) != len(tags) {
			t.Fatalf("Render carries %d dist-tags, ServedDistTags %d", len(tk), len(tags))
		}
		for i := range tk {
			var v string
			if err := stdjson.Unmarshal(tv[i], &v); err != nil || tk[i] != tags[i].Name || v != tags[i].Version {
				t.Fatalf("Render dist-tag %d = %s:%s, ServedDistTags %v", i, tk[i], tv[i], tags[i])
			}
		}

		refs := []string{ref}
		for _, tg := range p.DistTags {
			refs = append(refs, tg.Name)
		}
		for i := range p.Versions {
			refs = append(refs, p.Versions[i].Key)
		}
		for _, r := range refs {
			want := -1
			if v := p.Find(r); v != nil {
				for i := range p.Versions {
					if &p.Versions[i] == v && keep(i) {
						want = i
					}
				}
			}
			if want < 0 {
				for _, tg := range tags {
					if tg.Name == r {
						for i := range p.Versions {
							if p.Versions[i].Key == tg.Version {
								want = i
							}
						}
						break
					}
				}
			}
			got, err := p.RenderVersion(r, keep, gateURL)
			if want < 0 {
				if !errors.Is(err, ErrVersionNotFound) || got != nil {
					t.Fatalf("RenderVersion(%q) = %q, %v; want ErrVersionNotFound", r, got, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("RenderVersion(%q) = %v, want version %q", r, err, p.Versions[want].Key)
			}
			if w := fzManifest(t, &p.Versions[want], gateURL); string(got) != w {
				t.Fatalf("RenderVersion(%q) = %s\nwant the manifest of %q: %s", r, got, p.Versions[want].Key, w)
			}
			if !jsontext.Value(got).IsValid(jsontext.AllowDuplicateNames(true)) {
				t.Fatalf("RenderVersion(%q) is not valid JSON: %s", r, got)
			}
			txt, err := p.RenderVersionText(r, keep, gateURL)
			if err != nil || txt.String() != string(got) || txt.Len() != len(got) {
				t.Fatalf("RenderVersionText(%q) = %q (%d bytes), %v; RenderVersion %q", r, txt.String(), txt.Len(), err, got)
			}
		}
	})
}

// renderAll renders p every way (nil keep, gate URLs) and returns the full rendering.
func renderAll(t *testing.T, p *Packument) []byte {
	t.Helper()
	out, err := p.Render(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := p.RenderText(nil, gateURL)
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if n, err := txt.WriteTo(&w); err != nil || n != int64(len(out)) || !bytes.Equal(w.Bytes(), out) || txt.Len() != len(out) {
		t.Fatalf("RenderText writes %d bytes (%v), Render gives %d", n, err, len(out))
	}
	return out
}

// FuzzUnion merges a private and a public document (either may fail to parse and is then
// absent) with a fuzzed set of public versions admitted. The union serves every private
// version as the private side wrote it, then each admitted public version the private
// side lacks; its renderings are JSON that parses again as a package document with the
// same versions, carrying the same policy view of each; its dist-tags point at served
// versions; and the inputs are left as they were.
func FuzzUnion(f *testing.F) {
	f.Add([]byte(unionPrivate), []byte(unionPublic), uint64(0b00111))
	f.Add([]byte(unionPrivate), []byte(unionPublic), uint64(0))
	f.Add([]byte(unionPrivate), []byte(unionPublic), ^uint64(0))
	f.Add([]byte(unionPrivate), []byte(`not json`), uint64(1))
	f.Add([]byte(``), []byte(unionPublic), uint64(0b01001))
	f.Add([]byte(`{"name":"m","versions":{"1.0.0":{}}}`), []byte(`{"name":"m","time":{"1.0.0":"2020-01-01T00:00:00Z","created":"x"},"dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{}}}`), uint64(1))
	f.Add([]byte(`{"versions":{"2.0.0":{"dist":{"tarball":"p"}}},"name":"m","time":{"1.0.0":"2020-01-01T00:00:00Z"}}`), []byte(`{"name":"m","dist-tags":{"latest":"1.0.0","x":"2.0.0"},"versions":{"1.0.0":{},"2.0.0":{}},"readme":"r"}`), uint64(0))
	f.Fuzz(func(t *testing.T, privRaw, pubRaw []byte, mask uint64) {
		lim := Limits{MaxDepth: 32, MaxVersions: 64}
		priv, err := ParsePackument(privRaw, "m", lim)
		if err != nil {
			priv = nil
		}
		pub, err := ParsePackument(pubRaw, "m", lim)
		if err != nil {
			pub = nil
		}
		var privBefore, pubBefore []byte
		if priv != nil {
			privBefore = renderAll(t, priv)
		}
		if pub != nil {
			pubBefore = renderAll(t, pub)
		}
		keep := fzKeep(mask)
		u := Union(priv, pub, keep)
		if u == nil {
			if priv != nil || pub != nil {
				t.Fatal("Union of a document returned nil")
			}
			return
		}
		if priv != nil && !bytes.Equal(renderAll(t, priv), privBefore) || pub != nil && !bytes.Equal(renderAll(t, pub), pubBefore) {
			t.Fatal("Union changed one of its arguments")
		}

		// The versions served, in the promised order.
		var want []*Version
		privKeys := map[string]bool{}
		if priv != nil {
			for i := range priv.Versions {
				want = append(want, &priv.Versions[i])
				privKeys[priv.Versions[i].Key] = true
			}
		}
		if pub != nil {
			for i := range pub.Versions {
				if !privKeys[pub.Versions[i].Key] && keep(i) {
					want = append(want, &pub.Versions[i])
				}
			}
		}
		if len(u.Versions) != len(want) {
			t.Fatalf("Union has %d versions, want %d", len(u.Versions), len(want))
		}
		for i, w := range want {
			v := &u.Versions[i]
			if v.Key != w.Key || v.Raw != w.Raw || v.Tarball != w.Tarball {
				t.Fatalf("Union version %d = %q, want %q as its own side wrote it", i, v.Key, w.Key)
			}
			if u.Find(v.Key) != v {
				t.Fatalf("Union Find(%q) does not return version %d", v.Key, i)
			}
		}
		checkServedTags(t, u, orAll(nil), u.ServedDistTags(nil))

		// Its renderings parse again, to the same versions and the same policy view.
		out := renderAll(t, u)
		again, err := ParsePackument(bytes.Clone(out), "m", Limits{})
		if err != nil {
			t.Fatalf("the union's rendering does not parse: %v\n%s", err, out)
		}
		if !slices.Equal(versionKeys(again), versionKeys(u)) {
			t.Fatalf("the union's rendering has versions %v, want %v", versionKeys(again), versionKeys(u))
		}
		for i := range u.Versions {
			a, b := again.Versions[i].Info, u.Versions[i].Info
			if !a.Published.Equal(b.Published) {
				t.Fatalf("version %q is dated %v in the rendering, %v in the union", b.Version, a.Published, b.Published)
			}
			a.Published, b.Published = time.Time{}, time.Time{}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("version %q reads as %+v in the rendering, %+v in the union", b.Version, a, b)
			}
		}
		abbr, err := u.RenderAbbreviated(nil, gateURL)
		if err != nil {
			t.Fatal(err)
		}
		if !jsontext.Value(abbr).IsValid(jsontext.AllowDuplicateNames(true)) {
			t.Fatalf("the union's abbreviated rendering is not valid JSON:\n%s", abbr)
		}
		ak, _ := rawMembers(t, memberValue(t, abbr, "versions"))
		if !slices.Equal(ak, versionKeys(u)) {
			t.Fatalf("the union's abbreviated rendering has versions %v, want %v", ak, versionKeys(u))
		}
	})
}

// FuzzTarballPath builds the tarball path of a valid package name and any version string
// an upstream could list, and reads it back. The path is plain ASCII that needs no
// further escaping, and it reads back as exactly that name and version whenever the
// version can name a tarball (a ref starting with a digit), and is refused otherwise:
// never read as another package, version or route.
func FuzzTarballPath(f *testing.F) {
	for _, tt := range pathTests {
		if tt.want.Kind == KindTarball {
			f.Add(tt.want.Name, tt.want.Version, "")
		}
	}
	for _, s := range []string{"1.0.0", "1.0.0+build.5", "v1.0.0", "1.0.0/../../x", "1.0.0%2F", "1.tgz", "1 0", "1.0.0\x00", "é", ".", "..", "1?x#y", strings.Repeat("9", MaxRefLength+1)} {
		f.Add("@types/node", s, "https://ecluse.example.test/npm")
	}
	f.Fuzz(func(t *testing.T, name, version, prefix string) {
		if ValidateName(name) != nil {
			return // tarball paths are built for validated names only
		}
		if name == "-" {
			// ValidateName accepts "-", but every path under /-/ is a registry endpoint,
			// so the versions and tarballs of a package named "-" cannot be routed.
			// Known and reported; drop this when one of the two changes.
			return
		}
		path := TarballPath(name, version)
		for i := 0; i < len(path); i++ {
			if c := path[i]; !isNameChar(c) && !strings.ContainsRune("+%/@", rune(c)) {
				t.Fatalf("TarballPath(%q, %q) = %q holds %q", name, version, path, c)
			}
		}
		if got := TarballURLs(prefix, name)(version); got != prefix+path {
			t.Fatalf("TarballURLs(%q, %q)(%q) = %q, want %q", prefix, name, version, got, prefix+path)
		}
		req, err := ParseRequestPath(path)
		wantOK := refProblem(version) == "" && version[0] >= '0' && version[0] <= '9'
		if !wantOK {
			if err == nil {
				t.Fatalf("ParseRequestPath(TarballPath(%q, %q)) = %+v, want an error", name, version, req)
			}
			return
		}
		_, base := splitName(name)
		want := Request{Kind: KindTarball, Name: name, Version: version, File: base + "-" + version + ".tgz"}
		if err != nil || req != want {
			t.Fatalf("ParseRequestPath(TarballPath(%q, %q)) = %+v, %v; want %+v", name, version, req, err, want)
		}
	})
}
