package npm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Manifest is what Écluse reads of a package.json, or of a registry's manifest of one
// version, to hold the two against each other: the package's identity, its install-time
// scripts and its dependencies.
type Manifest struct {
	// Name and Version are the "name" and "version" members when they are strings.
	// Empty means absent or not a string.
	Name, Version string
	// Scripts are the install-time lifecycle scripts (preinstall, install, postinstall,
	// in that order) whose value JavaScript treats as true, as VersionInfo.InstallScripts
	// counts them. Nil means none.
	Scripts []Script
	// Dependencies and OptionalDependencies map a dependency's name to its specifier.
	// Members whose value is not a string are left out (npm drops them when it
	// publishes); the legacy array and string spellings are read as npm reads them.
	// Nil means none.
	Dependencies, OptionalDependencies map[string]string
	// Bundled lists the names in bundleDependencies (or bundledDependencies); BundleAll
	// is bundleDependencies: true (every dependency is bundled).
	Bundled   []string
	BundleAll bool
	// Gypfile is a truthy "gypfile" member; NoGypfile is "gypfile": false, which tells
	// npm not to build the *.gyp file it finds.
	Gypfile, NoGypfile bool
}

// Script is one install-time lifecycle script of a Manifest.
type Script struct {
	// Name is "preinstall", "install" or "postinstall".
	Name string
	// Value is the command when it is a JSON string, else the value's JSON text.
	Value string
	// IsString reports whether the value is a JSON string.
	IsString bool
}

// InstallScripts returns the names of m's install-time scripts, in the order and form
// of VersionInfo.InstallScripts. Nil means none.
func (m *Manifest) InstallScripts() []string {
	if m == nil || len(m.Scripts) == 0 {
		return nil
	}
	out := make([]string, len(m.Scripts))
	for i, s := range m.Scripts {
		out[i] = s.Name
	}
	return out
}

// installScriptNames are the lifecycle scripts a client runs when it installs a package.
var installScriptNames = [...]string{"preinstall", "install", "postinstall"}

// ParsePackageJSON reads a package.json as the clients do: a UTF-8 byte order mark is
// skipped and invalid UTF-8 is tolerated (Node's decoder replaces it). It refuses, with
// a *TarballError wrapping ErrBadTarball, text that is not one JSON object, and text that
// repeats a member Écluse reads: at the top "name", "version", "scripts", the
// dependency maps, "bundleDependencies"/"bundledDependencies" and "gypfile"; inside
// "scripts" the install-time ones; inside a dependency map any name. JSON.parse keeps the
// last of two equal names, another parser the first: a repeat would let Écluse judge
// one value while a client used another. Repeats elsewhere change nothing Écluse decides
// and are accepted.
func ParsePackageJSON(b []byte) (*Manifest, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	raw, err := dec.ReadValue()
	val := string(raw) // raw is valid only until the next read
	if err == nil {
		if _, err = dec.ReadToken(); errors.Is(err, io.EOF) {
			err = nil
		} else if err == nil {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		return nil, tarballError("its package.json is not valid JSON", err)
	}
	m, err := readManifest(val, true)
	if err != nil {
		return nil, tarballError("its package.json "+err.Error(), nil)
	}
	return m, nil
}

// Manifest reads the version's manifest (Raw, validated by ParsePackument) as JSON.parse
// would: of two equal names inside a dependency map the last wins, since ParsePackument
// passes such repeats on to clients as they came.
func (v *Version) Manifest() (*Manifest, error) {
	if v == nil || v.Raw == "" {
		return &Manifest{}, nil
	}
	return readManifest(v.Raw, false)
}

// errRepeat is a repeated member in a strict read; its text completes "its package.json ".
type errRepeat struct{ where, name string }

func (e *errRepeat) Error() string {
	return fmt.Sprintf("repeats %s %s", e.where, quoteShort(e.name))
}

// readManifest walks a validated JSON value. strict refuses repeats (see
// ParsePackageJSON); otherwise the last of two equal names wins.
func readManifest(s string, strict bool) (*Manifest, error) {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, errors.New("is not a JSON object")
	}
	m := &Manifest{}
	var seen uint16
	var bundle, bundled string // raw values of the two spellings
	var hasBundle, hasBundled bool
	it := newObjectIter(s, i)
	for {
		kq, vs, ok := it.next()
		if !ok {
			break
		}
		ve, _ := skipValue(s, vs)
		it.done(ve)
		val := s[vs:ve]
		k := key(kq)
		var bit uint16
		switch k {
		case "name":
			bit = 1 << 0
			m.Name, _ = unquote(val)
		case "version":
			bit = 1 << 1
			m.Version, _ = unquote(val)
		case "scripts":
			bit = 1 << 2
			scripts, err := readScripts(val, strict)
			if err != nil {
				return nil, err
			}
			m.Scripts = scripts
		case "dependencies":
			bit = 1 << 3
			deps, err := readDeps(val, strict, k)
			if err != nil {
				return nil, err
			}
			m.Dependencies = deps
		case "optionalDependencies":
			bit = 1 << 4
			deps, err := readDeps(val, strict, k)
			if err != nil {
				return nil, err
			}
			m.OptionalDependencies = deps
		case "bundleDependencies":
			bit = 1 << 5
			bundle, hasBundle = val, true
		case "bundledDependencies":
			bit = 1 << 6
			bundled, hasBundled = val, true
		case "gypfile":
			bit = 1 << 7
			m.Gypfile, m.NoGypfile = truthy(val), val == "false"
		}
		if bit != 0 && strict && seen&bit != 0 {
			return nil, &errRepeat{"the member", k}
		}
		seen |= bit
	}
	// npm reads bundleDependencies, and bundledDependencies only when the former is
	// absent.
	switch {
	case hasBundle:
		m.Bundled, m.BundleAll = readBundle(bundle)
	case hasBundled:
		m.Bundled, m.BundleAll = readBundle(bundled)
	}
	return m, nil
}

// readScripts reads the install-time scripts of a "scripts" value. Anything but an
// object declares none (JavaScript finds no "install" property on a string or array).
func readScripts(val string, strict bool) ([]Script, error) {
	if val == "" || val[0] != '{' {
		return nil, nil
	}
	var found [len(installScriptNames)]*Script
	it := newObjectIter(val, 0)
	for {
		kq, vs, ok := it.next()
		if !ok {
			break
		}
		ve, _ := skipValue(val, vs)
		it.done(ve)
		k := key(kq)
		idx := slices.Index(installScriptNames[:], k)
		if idx < 0 {
			continue
		}
		if strict && found[idx] != nil {
			return nil, &errRepeat{"the script", k}
		}
		v := val[vs:ve]
		sc := &Script{Name: k, Value: v}
		if str, isString := unquote(v); isString {
			sc.Value, sc.IsString = str, true
		}
		if !truthy(v) {
			sc.Name = "" // present but off: remembered only to catch a repeat
		}
		found[idx] = sc
	}
	var out []Script
	for _, sc := range found {
		if sc != nil && sc.Name != "" {
			out = append(out, *sc)
		}
	}
	return out, nil
}

// readDeps reads a dependency map. A string or an array of "name@range" strings is the
// legacy spelling npm converts to an object; anything else declares none.
func readDeps(val string, strict bool, member string) (map[string]string, error) {
	if val == "" {
		return nil, nil
	}
	switch val[0] {
	case '{':
		var (
			out  map[string]string
			seen map[string]bool // every name, string-valued or not, for repeats
		)
		it := newObjectIter(val, 0)
		for {
			kq, vs, ok := it.next()
			if !ok {
				return out, nil
			}
			ve, _ := skipValue(val, vs)
			it.done(ve)
			k := key(kq)
			if strict {
				if seen[k] {
					return nil, &errRepeat{"inside " + member + " the name", k}
				}
				if seen == nil {
					seen = map[string]bool{}
				}
				seen[k] = true
			}
			spec, ok := unquote(val[vs:ve])
			switch {
			case ok:
				if out == nil {
					out = map[string]string{}
				}
				out[k] = spec
			case out != nil:
				delete(out, k) // JSON.parse: the last value wins, and it is not a string
			}
		}
	case '"':
		s, _ := unquote(val)
		return legacyDeps(strings.FieldsFunc(s, func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
		})), nil
	case '[':
		var items []string
		it := arrayIter(val)
		for {
			v, ok := it()
			if !ok {
				break
			}
			if s, ok := unquote(v); ok {
				items = append(items, s)
			}
		}
		return legacyDeps(items), nil
	}
	return nil, nil
}

// legacyDeps converts "name@range" strings as npm's normaliser does: the name ends at
// the first '@', space, '<', '>' or '='; a leading '@' of the rest is dropped.
func legacyDeps(items []string) map[string]string {
	var out map[string]string
	for _, d := range items {
		d = strings.TrimSpace(d)
		name, spec := d, ""
		if i := strings.IndexAny(d, "@ \t\n\r\f\v<>="); i >= 0 {
			name, spec = d[:i], strings.TrimSpace(strings.TrimPrefix(d[i:], "@"))
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = spec
	}
	return out
}

// readBundle reads bundleDependencies: true bundles every dependency, an array lists
// names, an object's keys are the names; anything else bundles nothing.
func readBundle(val string) (names []string, all bool) {
	switch {
	case val == "true":
		return nil, true
	case strings.HasPrefix(val, "["):
		it := arrayIter(val)
		for {
			v, ok := it()
			if !ok {
				return names, false
			}
			if s, ok := unquote(v); ok && s != "" {
				names = append(names, s)
			}
		}
	case strings.HasPrefix(val, "{"):
		it := newObjectIter(val, 0)
		for {
			kq, vs, ok := it.next()
			if !ok {
				return names, false
			}
			ve, _ := skipValue(val, vs)
			it.done(ve)
			names = append(names, key(kq))
		}
	}
	return nil, false
}

// arrayIter returns the elements of a validated JSON array one by one.
func arrayIter(val string) func() (string, bool) {
	i := 1
	return func() (string, bool) {
		i = skipSpace(val, i)
		if i < len(val) && val[i] == ',' {
			i = skipSpace(val, i+1)
		}
		if i >= len(val) || val[i] == ']' {
			return "", false
		}
		end, _ := skipValue(val, i)
		v := val[i:end]
		i = end
		return v, true
	}
}

// QuoteShort quotes a value read from a package for a message, cut to a readable
// length without splitting a character.
func QuoteShort(s string) string { return quoteShort(s) }

// SameName reports whether a package.json's name (got) names the package want, after
// npm's own normalisation (surrounding white space trimmed).
func SameName(got, want string) bool { return got != "" && strings.TrimSpace(got) == want }

// SameVersion reports whether a package.json's version (got) is the registry version
// want, after npm's own normalisation: semver.clean in loose mode, which trims white
// space and a leading "v" or "=", reads the numbers without leading zeros, accepts a
// prerelease without its dash, and drops build metadata.
func SameVersion(got, want string) bool {
	if got == "" {
		return false
	}
	if got == want {
		return true
	}
	cg, ok := CleanVersion(got)
	if !ok {
		return false
	}
	if cg == want {
		return true
	}
	cw, ok := CleanVersion(want)
	return ok && cg == cw
}

// looseVersion is node-semver's LOOSE pattern (after its leading "v", "=" and spaces).
var looseVersion = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(?:-?([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)

// CleanVersion is node-semver's clean(v, {loose: true}): the canonical spelling of a
// loosely written version, or false when it is not one.
func CleanVersion(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) > 256 {
		return "", false
	}
	v = strings.TrimLeft(v, "v= \t\n\r\f")
	m := looseVersion.FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	var b strings.Builder
	for i := 1; i <= 3; i++ {
		n, ok := safeInteger(m[i])
		if !ok {
			return "", false
		}
		if i > 1 {
			b.WriteByte('.')
		}
		b.WriteString(n)
	}
	if m[4] != "" {
		b.WriteByte('-')
		for i, id := range strings.Split(m[4], ".") {
			if i > 0 {
				b.WriteByte('.')
			}
			if n, ok := safeInteger(id); ok {
				id = n // a numeric identifier is read as a number
			}
			b.WriteString(id)
		}
	}
	return b.String(), true
}

// safeInteger returns the decimal digits s as JavaScript's Number reads them (no
// leading zeros), or false when s is not all digits or is past 2^53-1.
func safeInteger(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > 1<<53-1 {
		return "", false
	}
	return strconv.FormatUint(n, 10), true
}

// ManifestDiff is how a tarball's package.json differs from the registry's manifest of
// the same version once npm's own normalisation is applied to both. The zero value means
// they agree.
type ManifestDiff struct {
	// Scripts are the install-time scripts that differ, by name.
	Scripts []Difference
	// Dependencies are the dependencies that differ, by name.
	Dependencies []Difference
}

// Difference is one name whose value differs between the tarball and the metadata.
type Difference struct {
	Name string
	// Tarball and Metadata are the values; InTarball and InMetadata say whether each
	// side has the name at all.
	Tarball, Metadata     string
	InTarball, InMetadata bool
}

// String describes the difference for a person, e.g.
// `"postinstall": "node x.js" in the tarball, none in the metadata`.
func (d Difference) String() string {
	side := func(in bool, v string) string {
		if !in {
			return "none"
		}
		return quoteShort(v)
	}
	return fmt.Sprintf("%s: %s in the tarball, %s in the metadata", quoteShort(d.Name), side(d.InTarball, d.Tarball), side(d.InMetadata, d.Metadata))
}

// CompareManifests holds a tarball's package.json against the registry's manifest of the
// same version, after the normalisation npm applies when it publishes, so that only
// real disagreements remain:
//   - the install-time scripts: a script entry that starts with node_modules/.bin/ is
//     read without it; when a package has a *.gyp file at its root (gyp; or, for the
//     metadata, a truthy "gypfile") and neither "install" nor "preinstall", npm adds
//     "install": "node-gyp rebuild", unless the package.json says "gypfile": false;
//   - the dependencies: optionalDependencies are folded into dependencies (older npm
//     copied them there, newer npm removes them from it, the metadata may hold either),
//     a bundled dependency missing from dependencies gets "*", and a specifier naming a
//     hosted git repository (GitHub, GitLab, Bitbucket, gists) compares by repository
//     and reference, however it is spelled.
func CompareManifests(meta, tarball *Manifest, gyp bool) ManifestDiff {
	if meta == nil {
		meta = &Manifest{}
	}
	if tarball == nil {
		tarball = &Manifest{}
	}
	var d ManifestDiff
	ms, ts := effectiveScripts(meta, meta.Gypfile), effectiveScripts(tarball, gyp)
	for _, name := range installScriptNames {
		mv, inM := ms[name]
		tv, inT := ts[name]
		if inM != inT || mv != tv {
			d.Scripts = append(d.Scripts, Difference{Name: name, Tarball: tv, Metadata: mv, InTarball: inT, InMetadata: inM})
		}
	}
	md, td := effectiveDeps(meta), effectiveDeps(tarball)
	names := make([]string, 0, len(md)+len(td))
	for n := range md {
		names = append(names, n)
	}
	for n := range td {
		if _, ok := md[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		mv, inM := md[n]
		tv, inT := td[n]
		if inM && inT && sameSpec(mv, tv) {
			continue
		}
		d.Dependencies = append(d.Dependencies, Difference{Name: n, Tarball: tv, Metadata: mv, InTarball: inT, InMetadata: inM})
	}
	return d
}

// scriptBin is npm's pattern for a script entry that names node_modules/.bin/ (its dot
// unescaped, as npm writes it).
var scriptBin = regexp.MustCompile(`^(\.[/\\])?node_modules[/\\].bin[\\/]`)

// effectiveScripts is the install-time scripts npm would publish for m.
func effectiveScripts(m *Manifest, gyp bool) map[string]string {
	out := make(map[string]string, len(m.Scripts)+1)
	for _, s := range m.Scripts {
		v := s.Value
		if s.IsString {
			v = scriptBin.ReplaceAllLiteralString(v, "")
		} else {
			v = "\x00" + v // not a string: never equal to a command
		}
		out[s.Name] = v
	}
	_, install := out["install"]
	_, preinstall := out["preinstall"]
	if gyp && !install && !preinstall && !m.NoGypfile {
		out["install"] = "node-gyp rebuild"
	}
	return out
}

// effectiveDeps is m's dependencies and optional dependencies in one map (an optional
// one wins), with bundled names missing from both added as "*".
func effectiveDeps(m *Manifest) map[string]string {
	out := make(map[string]string, len(m.Dependencies)+len(m.OptionalDependencies))
	for n, v := range m.Dependencies {
		out[n] = strings.TrimSpace(v)
	}
	for n, v := range m.OptionalDependencies {
		out[n] = strings.TrimSpace(v)
	}
	if !m.BundleAll {
		for _, n := range m.Bundled {
			if _, ok := out[n]; !ok {
				out[n] = "*"
			}
		}
	}
	return out
}

// sameSpec compares two dependency specifiers: equal as written, or naming the same
// hosted git repository and reference.
func sameSpec(a, b string) bool {
	if a == b {
		return true
	}
	ka, okA := hostedKey(a)
	kb, okB := hostedKey(b)
	return okA && okB && ka == kb
}

// hostedShortcut is "github:user/repo", "gitlab:...", "bitbucket:...", "gist:...", or a
// bare "user/repo" (GitHub), each with an optional "#reference".
var hostedShortcut = regexp.MustCompile(`^(?:(github|gitlab|bitbucket|gist):)?([A-Za-z0-9][A-Za-z0-9._-]*)/([A-Za-z0-9._-]+?)(?:\.git)?(?:#(.*))?$`)

// hostedURL is a git URL on one of the hosts hosted-git-info knows, in its https, git,
// ssh, git+* and scp-like spellings.
var hostedURL = regexp.MustCompile(`^(?:git\+)?(?:(?:https?|git|ssh)://)?(?:[^@/]+@)?((?i:github\.com|gitlab\.com|bitbucket\.org|gist\.github\.com))[:/]([A-Za-z0-9][A-Za-z0-9._-]*)/([A-Za-z0-9._-]+?)(?:\.git)?/?(?:#(.*))?$`)

// hostedKey names the repository and reference a specifier points at when it is a
// hosted git specifier: "host:user/repo#ref".
func hostedKey(spec string) (string, bool) {
	spec = strings.TrimSpace(spec)
	if m := hostedShortcut.FindStringSubmatch(spec); m != nil && !strings.HasPrefix(spec, ".") {
		host := m[1]
		if host == "" {
			host = "github"
		}
		return host + ":" + m[2] + "/" + m[3] + "#" + m[4], true
	}
	if m := hostedURL.FindStringSubmatch(spec); m != nil {
		host := map[string]string{"github.com": "github", "gitlab.com": "gitlab", "bitbucket.org": "bitbucket", "gist.github.com": "gist"}[strings.ToLower(m[1])]
		return host + ":" + m[2] + "/" + m[3] + "#" + m[4], true
	}
	return "", false
}
