package npm

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"go.uber.org/goleak"
)

// tarEntry is one entry of a test archive.
type tarEntry struct {
	name string
	body string
	// typ is the entry type; zero means a regular file.
	typ byte
	// pax are PAX records written with the entry (a "path" record renames it).
	pax map[string]string
	// format forces a header format (GNU for long names); zero lets archive/tar choose.
	format tar.Format
	link   string
}

// tarOf writes entries as a tar archive, with its end marker.
func tarOf(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Linkname: e.link, PAXRecords: e.pax, Format: e.format}
		if typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: typ, PAXRecords: e.pax}
		}
		if typ == tar.TypeReg || typ == tar.TypeCont {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("writing %q: %v", e.name, err)
		}
		if hdr.Size > 0 {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipOf compresses b as one gzip member.
func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tgzOf is gzipOf(tarOf(entries)).
func tgzOf(t testing.TB, entries ...tarEntry) []byte { return gzipOf(t, tarOf(t, entries...)) }

// pj is a package/package.json entry holding the JSON members given (after name and
// version).
func pj(name, version, members string) tarEntry {
	body := fmt.Sprintf(`{"name":%q,"version":%q`, name, version)
	if members != "" {
		body += "," + members
	}
	return tarEntry{name: "package/package.json", body: body + "}\n"}
}

var indexJS = tarEntry{name: "package/index.js", body: "module.exports = 1\n"}

// rawHeader is a ustar header block written by hand, for entries archive/tar will not
// write (an empty name) or spellings it would not choose (a prefix field).
func rawHeader(name, prefix string, typ byte, size int) []byte {
	h := make([]byte, 512)
	copy(h[0:100], name)
	copy(h[100:108], "0000644\x00")
	copy(h[108:116], "0000000\x00")
	copy(h[116:124], "0000000\x00")
	copy(h[124:136], fmt.Sprintf("%011o\x00", size))
	copy(h[136:148], "00000000000\x00")
	h[156] = typ
	copy(h[257:263], "ustar\x00")
	copy(h[263:265], "00")
	copy(h[345:500], prefix)
	copy(h[148:156], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

// rawEntry is a hand-written header and its padded body.
func rawEntry(name, prefix, body string) []byte {
	b := append(rawHeader(name, prefix, '0', len(body)), body...)
	if pad := len(body) % 512; pad != 0 {
		b = append(b, make([]byte, 512-pad)...)
	}
	return b
}

// paxPath is a hand-written PAX header that renames the entry after it to path.
func paxPath(path string) []byte {
	rec := " path=" + path + "\n"
	n := len(rec)
	for len(fmt.Sprint(n+len(fmt.Sprint(n)))) != len(fmt.Sprint(n)) {
		n++
	}
	rec = fmt.Sprint(n+len(fmt.Sprint(n))) + rec
	b := append(rawHeader("PaxHeaders/x", "", 'x', len(rec)), rec...)
	return append(b, make([]byte, 512-len(rec)%512)...)
}

// endMarker is tar's two zero blocks.
var endMarker = make([]byte, 1024)

type inspectCase struct {
	name string
	tgz  func(t testing.TB) []byte
	lim  InspectLimits
	// wantErr is a substring of the refusal; empty means the tarball is read.
	wantErr string
	check   func(t *testing.T, r *TarballReport)
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var inspectCases = []inspectCase{
	{name: "plain", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("left-pad", "1.3.0", `"main":"index.js"`), indexJS)
	}, check: func(t *testing.T, r *TarballReport) {
		if r.Manifest.Name != "left-pad" || r.Manifest.Version != "1.3.0" || r.GypFile || r.RunsCode() || r.Entries != 2 {
			t.Errorf("report = %+v, manifest %+v", r, r.Manifest)
		}
	}},
	{name: "root directory of another name", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "firebase_npm/package.json", body: `{"name":"firebase","version":"1.0.0"}`})
	}, check: func(t *testing.T, r *TarballReport) {
		if r.Manifest.Name != "firebase" {
			t.Errorf("name = %q", r.Manifest.Name)
		}
	}},
	{name: "postinstall", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", `"scripts":{"test":"jest","postinstall":"node evil.js","preinstall":""}`))
	}, check: func(t *testing.T, r *TarballReport) {
		want := []Script{{Name: "postinstall", Value: "node evil.js", IsString: true}}
		if !reflect.DeepEqual(r.Manifest.Scripts, want) || !r.RunsCode() {
			t.Errorf("scripts = %+v, want %+v", r.Manifest.Scripts, want)
		}
	}},
	{name: "truthy script that is not a string", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", `"scripts":{"install":1,"preinstall":0,"postinstall":false}`))
	}, check: func(t *testing.T, r *TarballReport) {
		if got := r.Manifest.InstallScripts(); !reflect.DeepEqual(got, []string{"install"}) {
			t.Errorf("install scripts = %v, want [install]", got)
		}
	}},
	{name: "binding.gyp at the root", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "package/binding.gyp", body: "{}"})
	}, check: func(t *testing.T, r *TarballReport) {
		if !r.GypFile || !r.BindingGyp || !r.RunsCode() {
			t.Errorf("report = %+v, want binding.gyp found", r)
		}
	}},
	{name: "binding.gyp in upper case", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "package/BINDING.GYP", body: "{}"})
	}, check: func(t *testing.T, r *TarballReport) {
		if !r.BindingGyp {
			t.Errorf("report = %+v, want binding.gyp found", r)
		}
	}},
	{name: "another gyp file at the root", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "package/addon.gyp", body: "{}"})
	}, check: func(t *testing.T, r *TarballReport) {
		if !r.GypFile || r.BindingGyp {
			t.Errorf("report = %+v, want a gyp file that is not binding.gyp", r)
		}
	}},
	{name: "nested binding.gyp and package.json", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""),
			tarEntry{name: "package/deps/binding.gyp", body: "{}"},
			tarEntry{name: "package/node_modules/dep/package.json", body: `{"name":"dep","version":"9.9.9"}`},
			tarEntry{name: "package/test/fixtures/package.json", body: `not json`})
	}, check: func(t *testing.T, r *TarballReport) {
		if r.GypFile || r.Manifest.Name != "x" {
			t.Errorf("report = %+v, manifest %+v", r, r.Manifest)
		}
	}},
	{name: "directories are skipped", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "package/", typ: tar.TypeDir}, tarEntry{name: "package/binding.gyp/", typ: tar.TypeDir}, pj("x", "1.0.0", ""))
	}, check: func(t *testing.T, r *TarballReport) {
		if r.GypFile {
			t.Error("a directory named binding.gyp counted as a gyp file")
		}
	}},
	{name: "a package.json alone at the top", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "package.json", body: `{"name":"x","version":"1.0.0"}`})
	}, check: func(t *testing.T, r *TarballReport) {
		if r.Manifest.Name != "x" {
			t.Errorf("manifest = %+v; pnpm reads a one-component package.json", r.Manifest)
		}
	}},
	{name: "prefix field", tgz: func(t testing.TB) []byte {
		return gzipOf(t, concat(rawEntry("package.json", "package", `{"name":"x","version":"1.0.0"}`), endMarker))
	}, check: func(t *testing.T, r *TarballReport) {
		if r.Manifest.Name != "x" {
			t.Errorf("manifest = %+v", r.Manifest)
		}
	}},
	{name: "PAX path names the package.json", tgz: func(t testing.TB) []byte {
		return gzipOf(t, concat(paxPath("package/package.json"), rawEntry("package/README", "", `{"name":"x","version":"1.0.0"}`), endMarker))
	}, check: func(t *testing.T, r *TarballReport) {
		if r.Manifest.Name != "x" {
			t.Errorf("manifest = %+v", r.Manifest)
		}
	}},
	{name: "GNU long name", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: strings.Repeat("p", 150) + "/package.json", body: `{"name":"x","version":"1.0.0"}`, format: tar.FormatGNU},
			tarEntry{name: "package/" + strings.Repeat("d/", 80) + "package.json", body: "{}", format: tar.FormatGNU})
	}, check: func(t *testing.T, r *TarballReport) {
		if r.Manifest.Name != "x" {
			t.Errorf("manifest = %+v", r.Manifest)
		}
	}},
	{name: "uncompressed tar", tgz: func(t testing.TB) []byte {
		return tarOf(t, pj("x", "1.0.0", ""))
	}, check: func(t *testing.T, r *TarballReport) {
		if r.Manifest.Name != "x" {
			t.Errorf("manifest = %+v", r.Manifest)
		}
	}},
	{name: "zero padding after the archive and the gzip stream", tgz: func(t testing.TB) []byte {
		return concat(gzipOf(t, concat(tarOf(t, pj("x", "1.0.0", "")), make([]byte, 9000))), make([]byte, 300))
	}},
	{name: "byte order mark and invalid UTF-8", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "package/package.json", body: "\xef\xbb\xbf{\"name\":\"x\",\"version\":\"1.0.0\",\"description\":\"Jos\xe9\"}"})
	}},
	{name: "repeats of members Écluse does not read", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", `"keywords":[],"keywords":["a"],"devDependencies":{"a":"1","a":"2"},"scripts":{"test":"a","test":"b"}`))
	}},

	{name: "empty", tgz: func(testing.TB) []byte { return nil }, wantErr: "is empty"},
	{name: "no package.json", tgz: func(t testing.TB) []byte { return tgzOf(t, indexJS) }, wantErr: "has no package.json at its root"},
	{name: "two package.json", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), pj("x", "1.0.0", `"scripts":{"postinstall":"evil"}`))
	}, wantErr: "holds two package.json files at its root"},
	{name: "two package.json under different roots", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "other/package.json", body: `{"name":"x","version":"1.0.0"}`})
	}, wantErr: "holds two package.json"},
	{name: "a top-level package.json beside the root's", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "package.json", body: `{"name":"x","version":"1.0.0"}`})
	}, wantErr: "holds two package.json"},
	{name: "package.json in another case", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "package/Package.JSON", body: `{}`})
	}, wantErr: "holds two package.json"},
	{name: "package.json with a trailing dot", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "package/package.json.", body: `{}`})
	}, wantErr: "holds two package.json"},
	{name: "PAX path onto the package.json", tgz: func(t testing.TB) []byte {
		return gzipOf(t, concat(tarOf(t, pj("x", "1.0.0", ""))[:1024], paxPath("package/package.json"), rawEntry("package/x", "", `{}`), endMarker))
	}, wantErr: "holds two package.json"},
	{name: "dot segment", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "package/./package.json", body: `{"name":"x","version":"1.0.0"}`},
			tarEntry{name: "./binding.gyp", body: `{}`})
	}, check: func(t *testing.T, r *TarballReport) {
		if r.Manifest.Name != "x" || !r.BindingGyp {
			t.Errorf("report = %+v; npm and pnpm both resolve a dot component", r)
		}
	}},
	{name: "dot as the first component", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "./package/package.json", body: `{"name":"x","version":"1.0.0"}`})
	}, wantErr: "has no package.json at its root"},
	{name: "dot segment beside the package.json", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "package/./package.json", body: `{}`})
	}, wantErr: "holds two package.json"},
	{name: "dot-dot segment", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "package/lib/../binding.gyp", body: `{}`})
	}, wantErr: "a path clients place differently"},
	{name: "backslash", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: `package\x/package.json`, body: `{}`})
	}, wantErr: "a path clients place differently"},
	{name: "drive letter", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: `package/c:binding.gyp`, body: `{}`})
	}, wantErr: "a path clients place differently"},
	{name: "absolute path", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: `/package/package.json`, body: `{"name":"x","version":"1.0.0"}`})
	}, wantErr: "a path clients place differently"},
	{name: "doubled slash", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: `package//package.json`, body: `{"name":"x","version":"1.0.0"}`})
	}, wantErr: "a path clients place differently"},
	{name: "symbolic link", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "package/package.json", typ: tar.TypeSymlink, link: "../../evil.json"})
	}, wantErr: "not a regular file"},
	{name: "hard link", tgz: func(t testing.TB) []byte {
		return tgzOf(t, indexJS, tarEntry{name: "package/package.json", typ: tar.TypeLink, link: "package/index.js"})
	}, wantErr: "not a regular file"},
	{name: "global header renaming entries", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "pax_global_header", typ: tar.TypeXGlobalHeader, pax: map[string]string{"path": "package/package.json"}}, pj("x", "1.0.0", ""))
	}, wantErr: "global header"},
	{name: "package.json over the bound", lim: InspectLimits{MaxManifestBytes: 64}, tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", `"description":"`+strings.Repeat("a", 100)+`"`))
	}, wantErr: "has a package.json larger than 64 bytes"},
	{name: "package.json not JSON", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "package/package.json", body: `{"name":"x",`})
	}, wantErr: "its package.json is not valid JSON"},
	{name: "package.json with trailing data", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "package/package.json", body: `{"name":"x","version":"1.0.0"} {}`})
	}, wantErr: "its package.json is not valid JSON"},
	{name: "package.json an array", tgz: func(t testing.TB) []byte {
		return tgzOf(t, tarEntry{name: "package/package.json", body: `[{"name":"x"}]`})
	}, wantErr: "its package.json is not a JSON object"},
	{name: "repeated scripts", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", `"scripts":{},"scripts":{"postinstall":"evil"}`))
	}, wantErr: `repeats the member "scripts"`},
	{name: "repeated name", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", `"name":"y"`))
	}, wantErr: `repeats the member "name"`},
	{name: "repeated postinstall", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", `"scripts":{"postinstall":"","postinstall":"evil"}`))
	}, wantErr: `repeats the script "postinstall"`},
	{name: "repeated dependency", tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", `"dependencies":{"a":"1","a":{"x":1}}`))
	}, wantErr: `repeats inside dependencies the name "a"`},
	{name: "not gzip nor tar", tgz: func(testing.TB) []byte { return []byte("this is not a tarball at all, not even close") }, wantErr: "is truncated"},
	{name: "gzip header then junk", tgz: func(testing.TB) []byte { return []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03junkjunkjunk") }, wantErr: "is truncated"},
	{name: "deflate data that is corrupt", tgz: func(testing.TB) []byte {
		return []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
	}, wantErr: "is not a valid tar.gz archive"},
	{name: "bad gzip magic flags", tgz: func(testing.TB) []byte { return []byte("\x1f\x8b\x09\x00\x00\x00\x00\x00\x00\x03") }, wantErr: "is not a valid gzip stream"},
	{name: "truncated gzip", tgz: func(t testing.TB) []byte {
		b := tgzOf(t, pj("x", "1.0.0", ""))
		return b[:len(b)-6]
	}, wantErr: "truncated"},
	{name: "gzip checksum", tgz: func(t testing.TB) []byte {
		b := bytes.Clone(tgzOf(t, pj("x", "1.0.0", "")))
		b[len(b)-8] ^= 0xff
		return b
	}, wantErr: "is not a valid gzip stream"},
	{name: "a second gzip member", tgz: func(t testing.TB) []byte {
		return concat(tgzOf(t, pj("x", "1.0.0", "")), tgzOf(t, pj("x", "1.0.0", `"scripts":{"install":"evil"}`)))
	}, wantErr: "holds data after the end of its gzip stream"},
	{name: "a zero byte then a gzip member", tgz: func(t testing.TB) []byte {
		return concat(tgzOf(t, pj("x", "1.0.0", "")), []byte{0}, tgzOf(t, pj("x", "1.0.0", "")))
	}, wantErr: "holds data after the end of its gzip stream"},
	{name: "entries after the end marker", tgz: func(t testing.TB) []byte {
		return gzipOf(t, concat(tarOf(t, pj("x", "1.0.0", "")), rawEntry("package/binding.gyp", "", "{}"), endMarker))
	}, wantErr: "holds data after the end of its tar archive"},
	{name: "entry after one zero block", tgz: func(t testing.TB) []byte {
		return gzipOf(t, concat(rawEntry("package/package.json", "", `{"name":"x","version":"1.0.0"}`), make([]byte, 512),
			rawEntry("package/binding.gyp", "", "{}"), endMarker))
	}, wantErr: "is not a valid tar archive"},
	{name: "entries after garbage", tgz: func(t testing.TB) []byte {
		return gzipOf(t, concat(rawEntry("package/package.json", "", `{"name":"x","version":"1.0.0"}`), bytes.Repeat([]byte("garbage!"), 64),
			rawEntry("package/binding.gyp", "", "{}"), endMarker))
	}, wantErr: "is not a valid tar archive"},
	{name: "entry with no name", tgz: func(t testing.TB) []byte {
		return gzipOf(t, concat(rawEntry("package/package.json", "", `{"name":"x","version":"1.0.0"}`), rawEntry("", "", "{}"), endMarker))
	}, wantErr: "entry with no name"},
	{name: "truncated entry", tgz: func(t testing.TB) []byte {
		raw := tarOf(t, pj("x", "1.0.0", `"description":"`+strings.Repeat("a", 2000)+`"`))
		return gzipOf(t, raw[:1000])
	}, wantErr: "is truncated"},
	{name: "gzip bomb", lim: InspectLimits{MaxUnpackedBytes: 64 << 10}, tgz: func(t testing.TB) []byte {
		return tgzOf(t, pj("x", "1.0.0", ""), tarEntry{name: "package/zeros", body: string(make([]byte, 1<<20))})
	}, wantErr: "unpacks to more than"},
}

// inspect feeds b to an inspector in writes of at most chunk bytes (all at once when
// chunk is 0) and finishes it.
func inspect(b []byte, chunk int, lim InspectLimits) (*TarballReport, error) {
	in := NewTarballInspector(lim)
	defer in.Close()
	if chunk <= 0 {
		chunk = len(b) + 1
	}
	for len(b) > 0 {
		n := min(chunk, len(b))
		if w, err := in.Write(b[:n]); w != n || err != nil {
			return nil, fmt.Errorf("Write = %d, %w", w, err)
		}
		b = b[n:]
	}
	return in.Finish()
}

func TestTarballInspector(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, tc := range inspectCases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.tgz(t)
			for _, chunk := range []int{0, 1, 7, 512, 4096} {
				r, err := inspect(b, chunk, tc.lim)
				if tc.wantErr != "" {
					var te *TarballError
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &te) || !errors.Is(err, ErrBadTarball) {
						t.Fatalf("chunks of %d: inspect = %+v, %v; want a *TarballError containing %q", chunk, r, err, tc.wantErr)
					}
					continue
				}
				if err != nil || r == nil || r.Manifest == nil {
					t.Fatalf("chunks of %d: inspect = %+v, %v; want a report", chunk, r, err)
				}
				if tc.check != nil {
					tc.check(t, r)
				}
			}
		})
	}
}

func TestTarballInspectorLifecycle(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	b := tgzOf(t, pj("x", "1.0.0", ""), indexJS)

	t.Run("closed mid-stream", func(t *testing.T) {
		in := NewTarballInspector(InspectLimits{})
		_, _ = in.Write(b[:len(b)/2])
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
		if r, err := in.Finish(); err == nil {
			t.Errorf("Finish after Close = %+v, want an error", r)
		}
		if n, err := in.Write(b[len(b)/2:]); n != len(b)-len(b)/2 || err != nil {
			t.Errorf("Write after Close = %d, %v", n, err)
		}
	})
	t.Run("closed before any byte", func(t *testing.T) {
		in := NewTarballInspector(InspectLimits{})
		_ = in.Close()
		_ = in.Close()
	})
	t.Run("finish twice, then close", func(t *testing.T) {
		in := NewTarballInspector(InspectLimits{})
		_, _ = in.Write(b)
		r1, err1 := in.Finish()
		r2, err2 := in.Finish()
		_ = in.Close()
		if err1 != nil || err2 != nil || r1.Manifest != r2.Manifest {
			t.Errorf("Finish twice = %v, %v", err1, err2)
		}
	})
	t.Run("writes after an early refusal are taken", func(t *testing.T) {
		bad := []byte("\x1f\x8b\x09 not gzip")
		in := NewTarballInspector(InspectLimits{})
		for range 3 {
			if n, err := in.Write(bad); n != len(bad) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if _, err := in.Finish(); !errors.Is(err, ErrBadTarball) {
			t.Errorf("Finish = %v, want ErrBadTarball", err)
		}
	})
}

// TestTarballInspectorMemory checks that memory does not grow with the tarball: the
// allocations of a whole inspection do not depend on the stream's size, and what an
// inspection in flight holds is bounded (the figures are logged; see
// BenchmarkTarballInspector for the bytes allocated per stream).
func TestTarballInspectorMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 24 MiB tarball")
	}
	small, large := bigTarball(t, 2<<20), bigTarball(t, 24<<20)
	measure := func(b []byte) float64 {
		return testing.AllocsPerRun(1, func() {
			if _, err := inspect(b, 32<<10, InspectLimits{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	a, b := measure(small), measure(large)
	if b > a*1.2+20 {
		t.Errorf("allocations grew with the tarball: %v for 2 MiB, %v for 24 MiB", a, b)
	}

	// Many inspections in flight, each halfway through the large tarball.
	const streams = 40
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ins := make([]*TarballInspector, streams)
	for i := range ins {
		ins[i] = NewTarballInspector(InspectLimits{})
		for off := 0; off < len(large)/2; off += 32 << 10 {
			_, _ = ins[i].Write(large[off:min(off+32<<10, len(large)/2)])
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perStream := (int64(after.HeapAlloc+after.StackInuse) - int64(before.HeapAlloc+before.StackInuse)) / streams
	for _, in := range ins {
		_ = in.Close()
	}
	runtime.KeepAlive(small)
	runtime.KeepAlive(large)
	t.Logf("held per inspection in flight: %d bytes (heap and stack)", perStream)
	if perStream > 512<<10 {
		t.Errorf("an inspection in flight holds %d bytes, want at most 512 KiB", perStream)
	}
}

// bigTarball builds a tarball of about size bytes: a package.json, 200 small files and
// incompressible files of 1 MiB.
func bigTarball(t testing.TB, size int) []byte { return buildBigTarball(t, size, false) }

// bigTarballOf is bigTarball, memoised, with files of JavaScript-like text (which gzip
// shrinks about threefold) when compressible is set; size is then the unpacked size.
func bigTarballOf(t testing.TB, size int, compressible bool) []byte {
	t.Helper()
	key := fmt.Sprint(size, compressible)
	if b, ok := bigTarballs.Load(key); ok {
		return b.([]byte)
	}
	b := buildBigTarball(t, size, compressible)
	bigTarballs.Store(key, b)
	return b
}

// bigTarballs memoises bigTarballOf across benchmark runs (-count).
var bigTarballs sync.Map

func buildBigTarball(t testing.TB, size int, compressible bool) []byte {
	entries := []tarEntry{pj("big", "1.0.0", `"scripts":{"build":"tsc"}`)}
	for i := range 200 {
		entries = append(entries, tarEntry{name: fmt.Sprintf("package/lib/f%03d.js", i), body: strings.Repeat("x = 1;\n", 40)})
	}
	state := uint64(0x9e3779b97f4a7c15)
	next := func() uint64 {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return state
	}
	words := strings.Fields("const let function return if else for while value index result module exports require this new true false null undefined length push map filter reduce")
	blob := make([]byte, 1<<20)
	for i := 0; len(entries) < 201+size/len(blob); i++ {
		if compressible {
			var b strings.Builder
			for b.Len() < len(blob) {
				fmt.Fprintf(&b, "%s %s%d = %s(%d);\n", words[next()%uint64(len(words))], words[next()%uint64(len(words))], next()%1000,
					words[next()%uint64(len(words))], next()%100000)
			}
			blob = []byte(b.String()[:len(blob)])
		} else {
			for j := 0; j+8 <= len(blob); j += 8 {
				v := next()
				for k := range 8 {
					blob[j+k] = byte(v >> (8 * k))
				}
			}
		}
		entries = append(entries, tarEntry{name: fmt.Sprintf("package/blob%02d.bin", i), body: string(blob)})
	}
	return tgzOf(t, entries...)
}

// BenchmarkTarballInspector reports the bytes allocated per stream and the throughput
// of inspecting a tarball as it streams in 32 KiB writes (what the server's copy hands
// over): 64 MiB of incompressible files, and 64 MiB (unpacked) of source-like text.
func BenchmarkTarballInspector(b *testing.B) {
	for _, bc := range []struct {
		name         string
		compressible bool
	}{{"incompressible-64MiB", false}, {"text-64MiB-unpacked", true}} {
		b.Run(bc.name, func(b *testing.B) {
			tgz := bigTarballOf(b, 64<<20, bc.compressible)
			b.SetBytes(int64(len(tgz)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := inspect(tgz, 32<<10, InspectLimits{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(tgz)), "tgz-bytes")
		})
	}
}

// FuzzTarballInspector feeds hostile bytes in fuzzed write sizes. The inspector never
// panics, returns a report with a manifest or a *TarballError, and gives the same answer
// however the bytes are split.
func FuzzTarballInspector(f *testing.F) {
	for _, tc := range inspectCases {
		f.Add(tc.tgz(f), uint16(0))
		f.Add(tc.tgz(f), uint16(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk uint16) {
		lim := InspectLimits{MaxManifestBytes: 4 << 10, MaxUnpackedBytes: 1 << 20}
		whole, errWhole := inspect(b, 0, lim)
		split, errSplit := inspect(b, int(chunk)+1, lim)
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("whole: %v; in chunks of %d: %v", errWhole, int(chunk)+1, errSplit)
		}
		if errWhole != nil {
			var te *TarballError
			if !errors.As(errWhole, &te) || !errors.Is(errWhole, ErrBadTarball) || errWhole.Error() != errSplit.Error() {
				t.Fatalf("errors: whole %v, split %v", errWhole, errSplit)
			}
			return
		}
		if whole.Manifest == nil || !reflect.DeepEqual(whole, split) {
			t.Fatalf("reports differ: whole %+v, split %+v", whole, split)
		}
	})
}
