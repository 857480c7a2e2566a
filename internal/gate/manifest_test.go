package gate

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
)

// tgzFile is one file of a test tarball.
type tgzFile struct{ name, body string }

// makeTgz builds a gzipped tar of files.
func makeTgz(t testing.TB, files ...tgzFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pkgJSON is a package/package.json holding name, version and members.
func pkgJSON(name, version, members string) tgzFile {
	body := fmt.Sprintf(`{"name":%q,"version":%q`, name, version)
	if members != "" {
		body += "," + members
	}
	return tgzFile{"package/package.json", body + "}"}
}

// pubVersion is one public version whose registry manifest and tarball are set apart.
type pubVersion struct {
	v string
	// meta is extra JSON members of the registry's manifest (scripts, dependencies...).
	meta string
	// tgz is the tarball served; nil means one whose package.json agrees with meta.
	tgz []byte
}

// publish serves name on the public fixture registry with versions, all 30 days old,
// the last one latest. It returns the tarballs served, by version.
func (f *fixture) publish(t *testing.T, name string, versions ...pubVersion) map[string][]byte {
	t.Helper()
	r := f.pub
	docs := map[string]any{}
	times := map[string]string{"created": now.Add(-1000 * time.Hour).Format(time.RFC3339), "modified": now.Format(time.RFC3339)}
	served := map[string][]byte{}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range versions {
		tgz := v.tgz
		if tgz == nil {
			tgz = makeTgz(t, pkgJSON(name, v.v, v.meta), tgzFile{"package/index.js", "module.exports = 1\n"})
		}
		sum, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
		path := "/" + name + "/-/" + name + "-" + v.v + ".tgz"
		m := map[string]any{}
		if v.meta != "" {
			if err := json.Unmarshal([]byte("{"+v.meta+"}"), &m); err != nil {
				t.Fatal(err)
			}
		}
		m["name"], m["version"] = name, v.v
		m["dist"] = map[string]any{"tarball": r.srv.URL + path, "shasum": hex.EncodeToString(s1[:]),
			"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sum[:])}
		docs[v.v] = m
		times[v.v] = now.Add(-30 * day).Format(time.RFC3339)
		r.tarballs[path] = tgz
		served[v.v] = tgz
	}
	doc, err := json.Marshal(map[string]any{"_id": name, "name": name, "versions": docs, "time": times,
		"dist-tags": map[string]string{"latest": versions[len(versions)-1].v}})
	if err != nil {
		t.Fatal(err)
	}
	r.docs["/"+name] = doc
	return served
}

// logBuffer collects a gate's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// manifestFixture is a fixture whose gate checks tarball manifests with checks.
func manifestFixture(t *testing.T, rules string, checks ManifestChecks) (*fixture, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	f := newFixture(t, rules, func(o *Options) {
		o.TarballManifest = &checks
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		o.CacheTTL = 30 * day // renderings must be dropped by the refusal, not by time
	})
	return f, logs
}

// stream reads a tarball through the gate in small reads, as a client would, and
// returns what was delivered and how the stream ended.
func stream(t *testing.T, f *fixture, name, version string) ([]byte, error) {
	t.Helper()
	art, err := f.gate.Tarball(context.Background(), TarballQuery{Name: name, Version: version})
	if err != nil {
		return nil, err
	}
	defer art.Body.Close()
	var got []byte
	buf := make([]byte, 100)
	for {
		n, err := art.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			// A read after the end gives the same answer, and no byte.
			if n, again := art.Body.Read(buf); n != 0 || !errors.Is(again, err) {
				t.Errorf("a read after the end = %d, %v; want 0, %v", n, again, err)
			}
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			return got, err
		}
	}
}

const denyScripts = `{"rules":{"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200}}}`

// TestTarballManifestRefusals streams tarballs whose own package.json disagrees with
// the registry's metadata. Each is refused before its last byte, with the reason and
// the deciding rule; nothing is mirrored; and from then on the version is gone from the
// package document (even one cached before), its tarball gets 403 without being
// fetched again, and explain gives the reason.
func TestTarballManifestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rules  string
		checks ManifestChecks
		meta   string
		tgz    func(t *testing.T) []byte
		rule   string
		kind   RefusalKind
		reason string
	}{
		{name: "postinstall only in the tarball, scripts rule", rules: denyScripts,
			tgz: func(t *testing.T) []byte {
				return makeTgz(t, pkgJSON("victim", "1.0.0", `"scripts":{"postinstall":"node evil.js"}`))
			},
			rule: "deny-scripts", kind: RefusalInstallCode,
			reason: "victim@1.0.0 declares a postinstall script; rule deny-scripts denies install-time execution (found in its tarball"},
		{name: "postinstall only in the tarball, no scripts rule",
			tgz: func(t *testing.T) []byte {
				return makeTgz(t, pkgJSON("victim", "1.0.0", `"scripts":{"postinstall":"node evil.js"}`))
			},
			rule: policy.RuleTarballManifest, kind: RefusalScripts,
			reason: `the tarball of victim@1.0.0 declares other install scripts than the registry's metadata ("postinstall": "node evil.js" in the tarball, none in the metadata)`},
		{name: "binding.gyp only in the tarball, scripts rule", rules: denyScripts,
			tgz: func(t *testing.T) []byte {
				return makeTgz(t, pkgJSON("victim", "1.0.0", ""), tgzFile{"package/binding.gyp", "{'targets':[]}"})
			},
			rule: "deny-scripts", kind: RefusalInstallCode,
			reason: "victim@1.0.0 builds a native addon at install time (binding.gyp); rule deny-scripts denies install-time execution"},
		{name: "binding.gyp only in the tarball, no scripts rule",
			tgz: func(t *testing.T) []byte {
				return makeTgz(t, pkgJSON("victim", "1.0.0", ""), tgzFile{"package/binding.gyp", "{'targets':[]}"})
			},
			rule: policy.RuleTarballManifest, kind: RefusalScripts,
			reason: `"install": "node-gyp rebuild" in the tarball, none in the metadata`},
		{name: "another name", rules: denyScripts,
			tgz:  func(t *testing.T) []byte { return makeTgz(t, pkgJSON("evil", "1.0.0", "")) },
			rule: policy.RuleTarballManifest, kind: RefusalIdentity,
			reason: `the tarball of victim@1.0.0 holds the package.json of "evil"@"1.0.0"`},
		{name: "another version",
			tgz:  func(t *testing.T) []byte { return makeTgz(t, pkgJSON("victim", "6.6.6", "")) },
			rule: policy.RuleTarballManifest, kind: RefusalIdentity,
			reason: `holds the package.json of "victim"@"6.6.6"`},
		{name: "dependency added, refused when configured", checks: ManifestChecks{Dependencies: MismatchRefuse},
			meta: `"dependencies":{"a":"^1.0.0"}`,
			tgz: func(t *testing.T) []byte {
				return makeTgz(t, pkgJSON("victim", "1.0.0", `"dependencies":{"a":"^1.0.0","plain-crypto-js":"^4.2.1"}`))
			},
			rule: policy.RuleTarballManifest, kind: RefusalDependencies,
			reason: `other dependencies than the registry's metadata ("plain-crypto-js": "^4.2.1" in the tarball, none in the metadata)`},
		{name: "two package.json",
			tgz: func(t *testing.T) []byte {
				return makeTgz(t, pkgJSON("victim", "1.0.0", ""), tgzFile{"other/package.json", `{"name":"victim","version":"1.0.0"}`})
			},
			rule: policy.RuleTarballManifest, kind: RefusalUnreadable,
			reason: "the tarball of victim@1.0.0 holds two package.json files at its root"},
		{name: "not a tarball",
			tgz:  func(*testing.T) []byte { return []byte("victim@1.0.0") },
			rule: policy.RuleTarballManifest, kind: RefusalUnreadable, reason: "the tarball of victim@1.0.0 is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, logs := manifestFixture(t, tc.rules, tc.checks)
			ctx := context.Background()
			tgz := tc.tgz(t)
			f.publish(t, "victim", pubVersion{v: "0.9.0"}, pubVersion{v: "1.0.0", meta: tc.meta, tgz: tgz})

			// Rendered and cached before anyone reads the tarball.
			for _, abbreviated := range []bool{false, true} {
				doc, err := f.gate.Packument(ctx, Query{Name: "victim", Abbreviated: abbreviated})
				if err != nil || keys(decode(t, doc.Body.Bytes()).Versions) != "0.9.0,1.0.0" {
					t.Fatalf("before: %v %s", err, doc.Body)
				}
			}
			if doc, _ := f.gate.Packument(ctx, Query{Name: "victim"}); doc.Cache != "hit" {
				t.Fatalf("before: the rendering is not cached (%s)", doc.Cache)
			}

			got, err := stream(t, f, "victim", "1.0.0")
			var refused *RefusedTarballError
			var denied *DeniedError
			if !errors.Is(err, ErrTarballRefused) || !errors.As(err, &refused) || !errors.As(err, &denied) {
				t.Fatalf("stream ended with %v, want a refusal", err)
			}
			if len(got) >= len(tgz) || !bytes.HasPrefix(tgz, got) {
				t.Errorf("delivered %d of %d bytes; the last byte must be held back", len(got), len(tgz))
			}
			if refused.Kind != tc.kind || denied.Rule != tc.rule || !strings.Contains(denied.Message, tc.reason) {
				t.Errorf("refusal = kind %s, rule %q, %q; want kind %s, rule %q, containing %q", refused.Kind, denied.Rule, denied.Message, tc.kind, tc.rule, tc.reason)
			}
			if n := f.mirror.count(); n != 0 {
				t.Errorf("%d mirror jobs for a refused tarball", n)
			}
			if !strings.Contains(logs.String(), `"refusal":"`+tc.kind.String()+`"`) {
				t.Errorf("no log line for the refusal:\n%s", logs)
			}

			// From now on: gone from every rendering, 403 for the tarball, explained.
			for _, q := range []Query{{Name: "victim"}, {Name: "victim", Abbreviated: true}} {
				doc, err := f.gate.Packument(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				s := decode(t, doc.Body.Bytes())
				if keys(s.Versions) != "0.9.0" || s.DistTags["latest"] != "0.9.0" || doc.Blocked != 1 {
					t.Errorf("after (abbreviated %v): versions %s, latest %q, blocked %d", q.Abbreviated, keys(s.Versions), s.DistTags["latest"], doc.Blocked)
				}
			}
			if _, err := f.gate.Packument(ctx, Query{Name: "victim", Version: "1.0.0"}); !errors.Is(err, ErrNotFound) {
				t.Errorf("the refused version's manifest: err %v, want not found", err)
			}
			fetched := f.pub.hitCount("/victim/-/victim-1.0.0.tgz")
			_, err = f.gate.Tarball(ctx, TarballQuery{Name: "victim", Version: "1.0.0"})
			if !errors.As(err, &denied) || denied.Rule != tc.rule || !strings.Contains(denied.Message, tc.reason) {
				t.Errorf("tarball again: %v, want a 403 with the reason", err)
			}
			if n := f.pub.hitCount("/victim/-/victim-1.0.0.tgz"); n != fetched {
				t.Errorf("the refused tarball was fetched again")
			}
			ex, err := f.gate.Explain(ctx, "victim", "1.0.0", redact.Secret{})
			if err != nil || len(ex.Versions) != 1 {
				t.Fatalf("explain: %v %+v", err, ex)
			}
			if v := ex.Versions[0]; v.Admitted || v.Rule != tc.rule || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("explain = %+v, want refused by %s: %s", v, tc.rule, tc.reason)
			}
			if got, err := stream(t, f, "victim", "0.9.0"); err != nil || len(got) == 0 {
				t.Errorf("the other version: %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestTarballManifestServed: tarballs that agree with their metadata (after npm's own
// normalisation), and differences configured to warn, are served whole and mirrored.
func TestTarballManifestServed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rules  string
		checks ManifestChecks
		meta   string
		tgz    func(t *testing.T) []byte
		warn   string // a log message expected
	}{
		{name: "scripts in both", meta: `"scripts":{"install":"node-gyp rebuild"},"gypfile":true`,
			tgz: func(t *testing.T) []byte {
				return makeTgz(t, pkgJSON("pkg", "1.0.0", ""), tgzFile{"package/binding.gyp", "{}"})
			}},
		{name: "normalised identity and dependencies",
			meta: `"dependencies":{"a":"^1","o":"^2","gh":"git+ssh://git@github.com/u/gh.git#v1"},"optionalDependencies":{"o":"^2"}`,
			tgz: func(t *testing.T) []byte {
				return makeTgz(t, tgzFile{"pkg-root/package.json",
					`{"name":" pkg ","version":"v1.0.0","dependencies":{"a":"^1","gh":"u/gh#v1"},"optionalDependencies":{"o":"^2"}}`})
			}},
		{name: "dependency difference warns by default", meta: `"dependencies":{"a":"^1"}`,
			tgz:  func(t *testing.T) []byte { return makeTgz(t, pkgJSON("pkg", "1.0.0", `"dependencies":{"a":"^2"}`)) },
			warn: "tarball dependencies differ from the registry's metadata"},
		{name: "script difference configured to warn", checks: ManifestChecks{Scripts: MismatchWarn},
			tgz:  func(t *testing.T) []byte { return makeTgz(t, pkgJSON("pkg", "1.0.0", `"scripts":{"postinstall":"x"}`)) },
			warn: "tarball install scripts differ from the registry's metadata"},
		{name: "hidden script under a warn-mode scripts rule", checks: ManifestChecks{Scripts: MismatchWarn},
			rules: `{"rules":{"deny-scripts":{"type":"DenyInstallTimeExecution","mode":"warn"}}}`,
			tgz:   func(t *testing.T) []byte { return makeTgz(t, pkgJSON("pkg", "1.0.0", `"scripts":{"postinstall":"x"}`)) },
			warn:  "warn-mode rule would deny a tarball"},
		{name: "hidden script the exception admits", checks: ManifestChecks{Scripts: MismatchWarn},
			rules: `{"rules":{"deny-scripts":{"type":"DenyInstallTimeExecution"},"ok":{"type":"AllowPackages","packages":["pkg"]}}}`,
			tgz:   func(t *testing.T) []byte { return makeTgz(t, pkgJSON("pkg", "1.0.0", `"scripts":{"postinstall":"x"}`)) },
			warn:  "tarball install scripts differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, logs := manifestFixture(t, tc.rules, tc.checks)
			tgz := tc.tgz(t)
			f.publish(t, "pkg", pubVersion{v: "1.0.0", meta: tc.meta, tgz: tgz})
			got, err := stream(t, f, "pkg", "1.0.0")
			if err != nil || !bytes.Equal(got, tgz) {
				t.Fatalf("stream = %d of %d bytes, %v; want it whole\n%s", len(got), len(tgz), err, logs)
			}
			if f.mirror.count() != 1 || f.gate.refusals.count() != 0 {
				t.Errorf("mirror jobs %d, refusals %d; want 1 and 0", f.mirror.count(), f.gate.refusals.count())
			}
			if tc.warn != "" && !strings.Contains(logs.String(), tc.warn) {
				t.Errorf("log lacks %q:\n%s", tc.warn, logs)
			}
			if tc.warn == "" && strings.Contains(logs.String(), `"level":"WARN"`) {
				t.Errorf("unexpected warning:\n%s", logs)
			}
		})
	}
}

// TestTarballManifestOff: without ManifestChecks, tarballs are checked against their
// digest only (the gate's zero value), and nothing is recorded.
func TestTarballManifestOff(t *testing.T) {
	f := newFixture(t, denyScripts, nil)
	tgz := makeTgz(t, pkgJSON("other", "9.9.9", `"scripts":{"postinstall":"x"}`))
	f.publish(t, "pkg", pubVersion{v: "1.0.0", tgz: tgz})
	if got, err := stream(t, f, "pkg", "1.0.0"); err != nil || !bytes.Equal(got, tgz) {
		t.Fatalf("stream = %d bytes, %v", len(got), err)
	}
	if f.gate.refusals != nil {
		t.Error("a refusal record exists without ManifestChecks")
	}
}

// TestTarballManifestRecord: a refusal is keyed by the tarball's digest and expires;
// the record holds a bounded number of versions.
func TestTarballManifestRecord(t *testing.T) {
	f, _ := manifestFixture(t, "", ManifestChecks{RefusalTTL: 2 * time.Hour})
	ctx := context.Background()
	bad := makeTgz(t, pkgJSON("pkg", "6.6.6", ""))
	f.publish(t, "pkg", pubVersion{v: "1.0.0", tgz: bad})
	if _, err := stream(t, f, "pkg", "1.0.0"); !errors.Is(err, ErrTarballRefused) {
		t.Fatalf("stream: %v", err)
	}
	var denied *DeniedError
	if _, err := f.gate.Tarball(ctx, TarballQuery{Name: "pkg", Version: "1.0.0"}); !errors.As(err, &denied) {
		t.Fatalf("the refusal is not remembered: %v", err)
	}
	// The registry now serves another artifact for the version: it is read afresh.
	f.gate.cache.removeIf(docKey(SourcePublic, "pkg", ""), mustCached(t, f, "pkg"))
	f.publish(t, "pkg", pubVersion{v: "1.0.0"})
	if got, err := stream(t, f, "pkg", "1.0.0"); err != nil || len(got) == 0 {
		t.Fatalf("another digest: %d bytes, %v", len(got), err)
	}
	// The old artifact again: still refused until the refusal expires.
	f.publish(t, "pkg", pubVersion{v: "1.0.0", tgz: bad})
	f.advance(31 * day) // the cached document expires too
	if _, err := stream(t, f, "pkg", "1.0.0"); !errors.Is(err, ErrTarballRefused) {
		t.Errorf("after the refusal expired: %v, want the tarball read again, and refused again", err)
	}

	r := newRefusals(2, time.Hour)
	for i, v := range []string{"1", "2", "3"} {
		r.add("p", v, "sri", policy.Refusal{Rule: "r", Reason: v}, now.Add(time.Duration(i)*time.Minute))
	}
	if r.count() != 2 || r.lookup(&npm.VersionInfo{Name: "p", Version: "1", Integrity: "sri"}, now) != nil ||
		r.lookup(&npm.VersionInfo{Name: "p", Version: "3", Integrity: "sri"}, now) == nil {
		t.Errorf("bounded record: %d entries; the oldest must go first", r.count())
	}
	if r.lookup(&npm.VersionInfo{Name: "p", Version: "3", Integrity: "other"}, now) != nil {
		t.Error("a refusal matched another digest")
	}
	if r.lookup(&npm.VersionInfo{Name: "p", Version: "3", Integrity: "sri"}, now.Add(3*time.Hour)) != nil {
		t.Error("an expired refusal still applies")
	}
}

func mustCached(t *testing.T, f *fixture, name string) any {
	t.Helper()
	v, ok := f.gate.cache.get(docKey(SourcePublic, name, ""), *f.clock.Load())
	if !ok {
		t.Fatalf("%s is not cached", name)
	}
	return v
}

// TestTarballManifestConcurrent renders the package document while refusals are
// recorded: once a refusal is in, no rendering lists the version.
func TestTarballManifestConcurrent(t *testing.T) {
	f, _ := manifestFixture(t, "", ManifestChecks{})
	ctx := context.Background()
	var vers []pubVersion
	for i := range 8 {
		vers = append(vers, pubVersion{v: fmt.Sprintf("1.0.%d", i), tgz: makeTgz(t, pkgJSON("pkg", "6.6.6", ""))})
	}
	f.publish(t, "pkg", vers...)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = f.gate.Packument(ctx, Query{Name: "pkg", Abbreviated: true})
			}
		})
	}
	for _, v := range vers {
		if _, err := stream(t, f, "pkg", v.v); !errors.Is(err, ErrTarballRefused) {
			t.Errorf("%s: %v", v.v, err)
		}
		doc, err := f.gate.Packument(ctx, Query{Name: "pkg", Abbreviated: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := decode(t, doc.Body.Bytes()).Versions[v.v]; ok {
			t.Errorf("%s still listed after its refusal (cache %s)", v.v, doc.Cache)
		}
	}
	close(stop)
	wg.Wait()
}
