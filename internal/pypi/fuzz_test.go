package pypi

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// maxErrorText bounds an error's text however hostile the input: messages quote
// clipped input only.
const maxErrorText = 1024

func FuzzParseVersion(f *testing.F) {
	for _, s := range append(append([]string{}, pepOrdering...), longOrdering...) {
		f.Add(s, "1.0")
	}
	f.Add("v2!1.0-RC.3_POST-4.DEV_5+Build-7", "2!1.0rc3.post4.dev5+build.7")
	f.Add("1.0+abc.5", "1.0+ABC-05")
	f.Add(" 1.0a..post ", "1.0.dev")
	f.Add("1.0-1", "1.0.post1")
	f.Add("999999999999999999", "1234567890123456789")
	f.Fuzz(func(t *testing.T, a, b string) {
		va, errA := ParseVersion(a)
		vb, errB := ParseVersion(b)
		for _, e := range []struct {
			in  string
			err error
		}{{a, errA}, {b, errB}} {
			if e.err != nil && (!errors.Is(e.err, ErrInvalidVersion) || len(e.err.Error()) > maxErrorText) {
				t.Fatalf("ParseVersion(%q) = %v", e.in, e.err)
			}
		}
		if errA != nil {
			return
		}
		s := va.String()
		again, err := ParseVersion(s)
		if err != nil {
			t.Fatalf("ParseVersion(%q) ok, but its String %q does not parse: %v", a, s, err)
		}
		if again.String() != s || Compare(va, again) != 0 || again.IsPrerelease() != va.IsPrerelease() {
			t.Fatalf("ParseVersion(%q) = %q, which parses to %q (Compare %d)", a, s, again, Compare(va, again))
		}
		if c, ok := Canonical(a); !ok || c != s {
			t.Fatalf("Canonical(%q) = %q, %v, want %q", a, c, ok, s)
		}
		if p := va.Public(); !strings.HasPrefix(s, p) || strings.Contains(p, "+") {
			t.Fatalf("ParseVersion(%q).Public() = %q, not the public part of %q", a, p, s)
		}
		if Compare(va, va) != 0 {
			t.Fatalf("Compare(%q, itself) != 0", a)
		}
		if errB != nil {
			return
		}
		ab, ba := Compare(va, vb), Compare(vb, va)
		if ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		nb, _ := ParseVersion(vb.String())
		if got := Compare(again, nb); got != ab {
			t.Fatalf("Compare(%q, %q) = %d, but %d on their normal forms", a, b, ab, got)
		}
		// Equal normal forms mean equal versions (not the converse: 1.0 == 1.0.0).
		if s == vb.String() && ab != 0 {
			t.Fatalf("Compare(%q, %q) = %d, though both normalise to %q", a, b, ab, s)
		}
	})
}

func FuzzCompileRange(f *testing.F) {
	for _, table := range [][]rangeTest{specifierTests, packagingTests} {
		for _, tt := range table {
			f.Add(tt.spec, tt.version)
		}
	}
	f.Add("===foo, >=1", "FOO")
	f.Add("~=1.0.*", "1.0")
	f.Fuzz(func(t *testing.T, expr, version string) {
		in, err := Ordering{}.CompileRange(expr)
		if err != nil {
			if !errors.Is(err, ErrInvalidSpecifier) || len(err.Error()) > maxErrorText {
				t.Fatalf("CompileRange(%q) = %v", expr, err)
			}
			return
		}
		got := in(version)
		c, ok := Canonical(version)
		if !ok {
			if got {
				t.Fatalf("CompileRange(%q)(%q) = true for a version that does not parse", expr, version)
			}
			return
		}
		// Without ===, which reads the version as written, only the version's value
		// matters, so its normal form gets the same answer.
		if !strings.Contains(expr, "===") && in(c) != got {
			t.Fatalf("CompileRange(%q) answers %v for %q but %v for its normal form %q", expr, got, version, !got, c)
		}
	})
}

func FuzzParseFilename(f *testing.F) {
	f.Add("foo", "foo-1.0-1-py3-none-any.whl")
	f.Add("zope-interface", "zope_interface-6.1-cp312-cp312-manylinux_2_17_x86_64.whl")
	f.Add("foo-bar", "foo-bar-1.0.tar.gz")
	f.Add("foo", "foo-1.0.win32.exe")
	f.Add("foo", "foo-1.0-py2.7.egg")
	f.Add("foo", "../foo-1.0.tar.gz")
	f.Add("foo-1", "foo-1-2.0.zip")
	f.Fuzz(func(t *testing.T, project, filename string) {
		info, err := ParseFilename(project, filename)
		if err != nil {
			if !errors.Is(err, ErrInvalidFilename) || len(err.Error()) > maxErrorText {
				t.Fatalf("ParseFilename(%q, %q) = %v", project, filename, err)
			}
			return
		}
		if strings.ContainsAny(filename, "/\\") || strings.Contains(filename, "..") || len(filename) > maxFilenameLen {
			t.Fatalf("ParseFilename(%q, %q) accepted an unusable name", project, filename)
		}
		if info.Version != "" && !strings.Contains(filename, info.Version) {
			t.Fatalf("ParseFilename(%q, %q) = %+v, a version not in the name", project, filename, info)
		}
		switch info.Kind {
		case KindWheel, KindSdist:
			if _, err := ParseVersion(info.Version); err != nil {
				t.Fatalf("ParseFilename(%q, %q) = %+v: %v", project, filename, info, err)
			}
		case KindOther:
			if info.Version != "" {
				if _, err := ParseVersion(info.Version); err != nil {
					t.Fatalf("ParseFilename(%q, %q) = %+v: %v", project, filename, info, err)
				}
			}
		default:
			t.Fatalf("ParseFilename(%q, %q) = unknown kind %d", project, filename, info.Kind)
		}
	})
}

// fuzzLimits are small, so that the fuzzer reaches them.
var fuzzLimits = Limits{MaxFiles: 50, MaxFieldBytes: 256}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(sampleJSON))
	f.Add(RenderJSON(sampleProject()))
	f.Add([]byte(`{"files":[{"filename":"a","url":"b","yanked":"","core-metadata":null,"dist-info-metadata":{"SHA256":"00"}}]}`))
	f.Add([]byte(`{"files":[{"filename":"a\ud800","url":"\u2028#x","upload-time":"2024-01-02T03:04:05.999999999+01:00","size":1e3}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseJSON(body, fuzzLimits)
		if err != nil {
			if !errors.Is(err, ErrInvalidPage) && !errors.Is(err, ErrPageTooLarge) || len(err.Error()) > maxErrorText {
				t.Fatalf("ParseJSON(%q) = %v", body, err)
			}
			return
		}
		checkPage(t, p, fuzzLimits)
		// What was read renders to a page that reads back the same (upload times to
		// the microsecond, which is all the page form keeps).
		out := RenderJSON(p)
		back, err := ParseJSON(out, fuzzLimits)
		if err != nil {
			t.Fatalf("ParseJSON(RenderJSON(ParseJSON(%q))) = %v", body, err)
		}
		want := *p
		want.APIVersion = APIVersion
		if want.Versions == nil {
			want.Versions = []string{}
		}
		want.Files = append([]File(nil), p.Files...)
		for i := range want.Files {
			want.Files[i].UploadTime = want.Files[i].UploadTime.Truncate(time.Microsecond)
		}
		if !reflect.DeepEqual(back, &want) {
			t.Fatalf("ParseJSON(RenderJSON(ParseJSON(%q))) =\n%+v\nwant\n%+v", body, back, &want)
		}
	})
}

func FuzzParseHTML(f *testing.F) {
	f.Add([]byte(sampleHTML))
	f.Add(RenderHTML(sampleProject(), "example-pkg"))
	f.Add([]byte(`<a href="/x#sha256=00&md5=11" data-yanked data-core-metadata=true>x</a><!--><script></script x>`))
	f.Add([]byte(`<a href='&#x110000;&#0;&amp'>&lt;&#39</a><meta content="1.1" name=pypi:repository-version>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseHTML(body, fuzzLimits)
		if err != nil {
			if !errors.Is(err, ErrPageTooLarge) || len(err.Error()) > maxErrorText {
				t.Fatalf("ParseHTML(%q) = %v", body, err)
			}
			return
		}
		checkPage(t, p, fuzzLimits)
		for _, f := range p.Files {
			if f.URL == "" || f.Filename == "" || f.Filename != trimSpace(f.Filename) || strings.Contains(f.URL, "#") {
				t.Fatalf("ParseHTML(%q) kept the file %+v", body, f)
			}
		}
		// What was read renders to a page that reads back the same, but for what an
		// HTML page cannot carry: more than one hash per file.
		back, err := ParseHTML(RenderHTML(p, "x"), fuzzLimits)
		if err != nil {
			t.Fatalf("ParseHTML(RenderHTML(ParseHTML(%q))) = %v", body, err)
		}
		want := &Project{APIVersion: APIVersion}
		for _, f := range p.Files {
			if n, v, ok := pickHash(f.Hashes); ok {
				f.Hashes = map[string]string{n: v}
			}
			want.Files = append(want.Files, f)
		}
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("ParseHTML(RenderHTML(ParseHTML(%q))) =\n%+v\nwant\n%+v", body, back, want)
		}
	})
}

// checkPage checks what every parsed page promises: limits kept, hashes in the
// documented form.
func checkPage(t *testing.T, p *Project, lim Limits) {
	t.Helper()
	if len(p.Files) > lim.MaxFiles || len(p.Versions) > lim.MaxFiles {
		t.Fatalf("a page of %d files and %d versions passed a limit of %d", len(p.Files), len(p.Versions), lim.MaxFiles)
	}
	for _, f := range p.Files {
		for _, s := range []string{f.Filename, f.URL, f.RequiresPython, f.YankedReason} {
			if len(s) > lim.MaxFieldBytes {
				t.Fatalf("a field of %d bytes passed a limit of %d", len(s), lim.MaxFieldBytes)
			}
		}
		if f.YankedReason != "" && !f.Yanked {
			t.Fatalf("file %+v has a yank reason but is not yanked", f)
		}
		if f.CoreMetadata.Hashes != nil && !f.CoreMetadata.Present {
			t.Fatalf("file %+v has metadata hashes but no metadata", f)
		}
		for _, h := range []map[string]string{f.Hashes, f.CoreMetadata.Hashes} {
			if h != nil && len(h) == 0 || len(h) > maxHashes {
				t.Fatalf("file %+v has %d hashes in a non-nil map", f, len(h))
			}
			for k, v := range h {
				if k != strings.ToLower(k) || !isHashName(k) || v != strings.ToLower(v) || !isHex(v) {
					t.Fatalf("file %+v has the hash %q=%q", f, k, v)
				}
			}
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, tt := range negotiateTests {
		f.Add(tt.accept)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got, ok := Negotiate(accept)
		switch {
		case !ok && got != "":
			t.Fatalf("Negotiate(%q) = %q, false", accept, got)
		case ok && got != ContentTypeJSON && got != ContentTypeHTMLv1 && got != ContentTypeHTML:
			t.Fatalf("Negotiate(%q) = %q, not an offer", accept, got)
		case trimSpace(accept) == "" && got != ContentTypeHTML:
			t.Fatalf("Negotiate(%q) = %q, want text/html for an empty header", accept, got)
		}
	})
}
