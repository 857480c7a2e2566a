package pypi

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

const sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

// sampleJSON is a PEP 691 page using every field ParseJSON reads.
var sampleJSON = `{
  "meta": {"api-version": "1.1", "_last-serial": 42},
  "name": "example-pkg",
  "files": [
    {
      "filename": "example_pkg-1.0-py3-none-any.whl",
      "url": "https://files.example.test/packages/ab/example_pkg-1.0-py3-none-any.whl#sha256=` + sha + `",
      "hashes": {"SHA256": "` + strings.ToUpper(sha) + `", "md5": "00112233445566778899aabbccddeeff", "blake2b_256": "not hex"},
      "requires-python": ">=3.8",
      "core-metadata": {"sha256": "` + sha + `"},
      "dist-info-metadata": true,
      "gpg-sig": false,
      "yanked": false,
      "upload-time": "2024-01-02T03:04:05.123456Z",
      "size": 12345,
      "provenance": null
    },
    {
      "filename": "example-pkg-1.0.tar.gz",
      "url": "../../packages/cd/example-pkg-1.0.tar.gz",
      "hashes": {},
      "yanked": "broken build",
      "dist-info-metadata": {"sha256": "` + sha + `"},
      "upload-time": "2024-01-02T03:04:05Z"
    },
    {
      "filename": "example-pkg-0.9.tar.gz",
      "url": "/packages/ef/example-pkg-0.9.tar.gz",
      "hashes": {"sha256": "` + sha + `"},
      "yanked": true,
      "core-metadata": false,
      "dist-info-metadata": true,
      "upload-time": "not a time",
      "size": -3
    }
  ],
  "versions": ["0.9", "1.0"],
  "unknown": {"nested": [1, 2, 3]}
}`

func sampleProject() *Project {
	return &Project{
		Name:       "example-pkg",
		APIVersion: "1.1",
		Versions:   []string{"0.9", "1.0"},
		Files: []File{
			{
				Filename:       "example_pkg-1.0-py3-none-any.whl",
				URL:            "https://files.example.test/packages/ab/example_pkg-1.0-py3-none-any.whl",
				Hashes:         map[string]string{"sha256": sha, "md5": "00112233445566778899aabbccddeeff"},
				RequiresPython: ">=3.8",
				UploadTime:     time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
				Size:           12345,
				CoreMetadata:   Metadata{Present: true, Hashes: map[string]string{"sha256": sha}},
			},
			{
				Filename:     "example-pkg-1.0.tar.gz",
				URL:          "../../packages/cd/example-pkg-1.0.tar.gz",
				Yanked:       true,
				YankedReason: "broken build",
				UploadTime:   time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
				Size:         -1,
				CoreMetadata: Metadata{Present: true, Hashes: map[string]string{"sha256": sha}},
			},
			{
				Filename: "example-pkg-0.9.tar.gz",
				URL:      "/packages/ef/example-pkg-0.9.tar.gz",
				Hashes:   map[string]string{"sha256": sha},
				Yanked:   true,
				Size:     -1,
			},
		},
	}
}

func TestParseJSON(t *testing.T) {
	got, err := ParseJSON([]byte(sampleJSON), Limits{})
	if err != nil {
		t.Fatalf("ParseJSON(sample) = %v", err)
	}
	if want := sampleProject(); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseJSON(sample) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseJSONFields(t *testing.T) {
	file := func(extra string) string {
		return `{"files":[{"filename":"a-1.0.tar.gz","url":"https://files.example.test/a-1.0.tar.gz"` + extra + `}]}`
	}
	tests := []struct {
		name, body string
		check      func(f File) bool
	}{
		{"yanked empty string is not yanked", file(`,"yanked":""`), func(f File) bool { return !f.Yanked && f.YankedReason == "" }},
		{"yanked null", file(`,"yanked":null`), func(f File) bool { return !f.Yanked }},
		{"yanked true", file(`,"yanked":true`), func(f File) bool { return f.Yanked && f.YankedReason == "" }},
		{"core-metadata false wins", file(`,"core-metadata":false,"dist-info-metadata":true`), func(f File) bool { return !f.CoreMetadata.Present }},
		{"core-metadata null falls back", file(`,"core-metadata":null,"dist-info-metadata":true`), func(f File) bool { return f.CoreMetadata.Present }},
		{"metadata object of bad hashes", file(`,"core-metadata":{"sha256":"xyz"}`), func(f File) bool { return f.CoreMetadata.Present && f.CoreMetadata.Hashes == nil }},
		{"odd hex dropped", file(`,"hashes":{"sha256":"abc"}`), func(f File) bool { return f.Hashes == nil }},
		{"non-string hash dropped", file(`,"hashes":{"sha256":1,"md5":"00ff"}`), func(f File) bool { return len(f.Hashes) == 1 && f.Hashes["md5"] == "00ff" }},
		{"odd hash name dropped", file(`,"hashes":{"sha 256":"00ff"}`), func(f File) bool { return f.Hashes == nil }},
		{"two spellings of one hash", file(`,"hashes":{"sha256":"00ff","SHA256":"11ee"}`), func(f File) bool { return f.Hashes["sha256"] == "11ee" }},
		{"hashes null", file(`,"hashes":null`), func(f File) bool { return f.Hashes == nil }},
		{"upload time with offset", file(`,"upload-time":"2024-01-02T05:04:05+02:00"`), func(f File) bool {
			return f.UploadTime.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) && f.UploadTime.Location() == time.UTC
		}},
		{"upload time not a string", file(`,"upload-time":12`), func(f File) bool { return f.UploadTime.IsZero() }},
		{"size fraction", file(`,"size":1.5`), func(f File) bool { return f.Size == -1 }},
		{"size string", file(`,"size":"12"`), func(f File) bool { return f.Size == -1 }},
		{"size zero", file(`,"size":0`), func(f File) bool { return f.Size == 0 }},
		{"url fragment dropped", `{"files":[{"filename":"a","url":"https://files.example.test/a#egg=a"}]}`, func(f File) bool {
			return f.URL == "https://files.example.test/a"
		}},
		{"escaped strings", `{"files":[{"filename":"a\u002db\n","url":"u\"v"}]}`, func(f File) bool { return f.Filename == "a-b\n" && f.URL == `u"v` }},
		{"requires-python null", file(`,"requires-python":null`), func(f File) bool { return f.RequiresPython == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseJSON([]byte(tt.body), Limits{})
			if err != nil {
				t.Fatalf("ParseJSON(%s) = %v", tt.body, err)
			}
			if len(p.Files) != 1 || !tt.check(p.Files[0]) {
				t.Errorf("ParseJSON(%s) = %+v", tt.body, p.Files)
			}
		})
	}
}

func TestParseJSONPageShape(t *testing.T) {
	tests := []struct {
		name, body string
		want       *Project
	}{
		{"empty object", `{}`, &Project{}},
		{"null files and versions", `{"files":null,"versions":null,"name":null}`, &Project{}},
		{"empty versions", `{"files":[],"versions":[]}`, &Project{Versions: []string{}}},
		{"later files key wins", `{"files":[{"filename":"a","url":"b"}],"files":[]}`, &Project{}},
		{"white space around", " \n{\"name\":\"x\"}\n ", &Project{Name: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJSON([]byte(tt.body), Limits{})
			if err != nil {
				t.Fatalf("ParseJSON(%s) = %v", tt.body, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseJSON(%s) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestParseJSONRejects(t *testing.T) {
	many := func(n int, item string) string {
		return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
	}
	longURL := `{"files":[{"filename":"a","url":"https://files.example.test/` + strings.Repeat("x", 100) + `"}]}`
	manyHashes := `{"files":[{"filename":"a","url":"b","hashes":{` + func() string {
		var b strings.Builder
		for i := 0; i < 17; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"h` + string(rune('a'+i)) + `":"00"`)
		}
		return b.String()
	}() + `}}]}`
	tests := []struct {
		name, body string
		lim        Limits
		kind       error
		text       string
	}{
		{"empty body", ``, Limits{}, ErrInvalidPage, "not a JSON object"},
		{"array", `[]`, Limits{}, ErrInvalidPage, "not a JSON object"},
		{"null", `null`, Limits{}, ErrInvalidPage, "not a JSON object"},
		{"string", `"x"`, Limits{}, ErrInvalidPage, "not a JSON object"},
		{"truncated", `{"files":[{"filename":"a"`, Limits{}, ErrInvalidPage, "not valid JSON"},
		{"trailing data", `{} {}`, Limits{}, ErrInvalidPage, "data after the JSON object"},
		{"trailing garbage", `{} x`, Limits{}, ErrInvalidPage, "data after the JSON object"},
		{"files not an array", `{"files":{}}`, Limits{}, ErrInvalidPage, "files is not an array"},
		{"file not an object", `{"files":[1]}`, Limits{}, ErrInvalidPage, "files[0] is not an object"},
		{"file null", `{"files":[null]}`, Limits{}, ErrInvalidPage, "files[0] is not an object"},
		{"no filename", `{"files":[{"url":"b"}]}`, Limits{}, ErrInvalidPage, "files[0] has no filename"},
		{"no url", `{"files":[{"filename":"a"},{"filename":"b"}]}`, Limits{}, ErrInvalidPage, "files[0] has no url"},
		{"null url", `{"files":[{"filename":"a","url":null}]}`, Limits{}, ErrInvalidPage, "files[0] has no url"},
		{"empty url", `{"files":[{"filename":"a","url":"#sha256=00"}]}`, Limits{}, ErrInvalidPage, "files[0].url is empty"},
		{"filename not a string", `{"files":[{"filename":1,"url":"b"}]}`, Limits{}, ErrInvalidPage, "files[0].filename is not a string"},
		{"hashes not an object", `{"files":[{"filename":"a","url":"b","hashes":[]}]}`, Limits{}, ErrInvalidPage, "files[0].hashes is not an object"},
		{"yanked a number", `{"files":[{"filename":"a","url":"b","yanked":1}]}`, Limits{}, ErrInvalidPage, "files[0].yanked is neither"},
		{"requires-python a number", `{"files":[{"filename":"a","url":"b","requires-python":3}]}`, Limits{}, ErrInvalidPage, "requires-python is not a string"},
		{"metadata a string", `{"files":[{"filename":"a","url":"b","core-metadata":"yes"}]}`, Limits{}, ErrInvalidPage, "core-metadata is neither"},
		{"meta not an object", `{"meta":1}`, Limits{}, ErrInvalidPage, "meta is not an object"},
		{"api-version a number", `{"meta":{"api-version":1.1}}`, Limits{}, ErrInvalidPage, "meta.api-version is not a string"},
		{"versions not an array", `{"versions":"1.0"}`, Limits{}, ErrInvalidPage, "versions is not an array"},
		{"version not a string", `{"versions":["1.0",1]}`, Limits{}, ErrInvalidPage, "versions[1] is not a string"},
		{"too deep", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), Limits{}, ErrInvalidPage, "not a JSON object"},
		{"too deep inside", `{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, Limits{}, ErrInvalidPage, "not valid JSON"},
		{"too many files", `{"files":[` + many(4, `{"filename":"a","url":"b"}`) + `]}`, Limits{MaxFiles: 3}, ErrPageTooLarge, "more than 3 files"},
		{"too many files, refused early", `{"files":[` + many(100000, `{"filename":"a","url":"b"}`) + `,{]}`, Limits{MaxFiles: 10}, ErrPageTooLarge, "more than 10 files"},
		{"too many versions", `{"versions":["1","2","3","4"]}`, Limits{MaxFiles: 3}, ErrPageTooLarge, "more than 3 versions"},
		{"url too long", longURL, Limits{MaxFieldBytes: 64}, ErrPageTooLarge, "files[0].url is longer than 64 bytes"},
		{"name too long", `{"name":"` + strings.Repeat("n", 65) + `"}`, Limits{MaxFieldBytes: 64}, ErrPageTooLarge, "name is longer"},
		{"hash too long", `{"files":[{"filename":"a","url":"b","hashes":{"sha256":"` + strings.Repeat("00", 40) + `"}}]}`, Limits{MaxFieldBytes: 64}, ErrPageTooLarge, "is longer than 64 bytes"},
		{"too many hashes", manyHashes, Limits{}, ErrPageTooLarge, "more than 16 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseJSON([]byte(tt.body), tt.lim)
			if err == nil {
				t.Fatalf("ParseJSON(%s) = %+v, want an error", clip(tt.body), p)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("ParseJSON(%s) = %v, want it to wrap %v", clip(tt.body), err, tt.kind)
			}
			if !strings.HasPrefix(err.Error(), "pypi: project page: ") || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("ParseJSON(%s) = %q, want it to say %q", clip(tt.body), err, tt.text)
			}
			if len(err.Error()) > 1024 {
				t.Errorf("ParseJSON(%s) error is %d bytes long", clip(tt.body), len(err.Error()))
			}
		})
	}
}

// sampleHTML is a PEP 503 page written the many ways HTML allows.
var sampleHTML = `<!DOCTYPE html>
<HTML><Head>
<META NAME="pypi:repository-version" CONTENT="1.0">
<meta name="pypi:repository-version" content="9.9">
<title>Links for example-pkg</title>
<!-- <a href="/commented-out-1.0.tar.gz">commented-out-1.0.tar.gz</a> -->
<script>document.write('<a href="/scripted-1.0.tar.gz">scripted-1.0.tar.gz</a>')</SCRIPT>
<style>a::after { content: "</a>" }</style>
</head><body>
<h1>Links for example-pkg</h1>
<A HREF="https://files.example.test/packages/ab/example_pkg-1.0-py3-none-any.whl?a=1&amp;b=2#SHA256=` + strings.ToUpper(sha) + `"
   data-requires-python="&gt;=3.8" DATA-CORE-METADATA="sha256=` + sha + `" data-dist-info-metadata="true"
   >example_pkg-1.0-py3-none-any.whl</A><br/>
<a data-yanked='broken &quot;build&quot; &#39;x&#x27;' href='../../packages/cd/example-pkg-1.0.tar.gz' data-dist-info-metadata=sha256=` + sha + `>
   example-pkg-1.0.tar.gz
</a><br>
<a href=/packages/ef/example-pkg-0.9.tar.gz#egg=example-pkg data-yanked data-core-metadata="false" data-dist-info-metadata="true">example-pkg-&#48;.9.tar.gz</a>
<a name="no-href">ignored</a>
<a href="/packages/empty-text.tar.gz"></a>
<a href="   ">blank-href.tar.gz</a>
<p>1 < 2 and a stray <</p>
<a href="/packages/gh/example-pkg-0.8.zip#md5=00112233445566778899AABBCCDDEEFF&amp;sha256=zz"><span>example-pkg-0.8</span>.zip</a>
<a href="/packages/ij/example-pkg-0.7.zip#sha256=` + sha + `">example-pkg-0.7.zip
<a href="/packages/kl/example-pkg-0.6.zip">example-pkg-0.6.zip`

func TestParseHTML(t *testing.T) {
	got, err := ParseHTML([]byte(sampleHTML), Limits{})
	if err != nil {
		t.Fatalf("ParseHTML(sample) = %v", err)
	}
	want := &Project{
		APIVersion: "1.0",
		Files: []File{
			{
				Filename:       "example_pkg-1.0-py3-none-any.whl",
				URL:            "https://files.example.test/packages/ab/example_pkg-1.0-py3-none-any.whl?a=1&b=2",
				Hashes:         map[string]string{"sha256": sha},
				RequiresPython: ">=3.8",
				Size:           -1,
				CoreMetadata:   Metadata{Present: true, Hashes: map[string]string{"sha256": sha}},
			},
			{
				Filename:     "example-pkg-1.0.tar.gz",
				URL:          "../../packages/cd/example-pkg-1.0.tar.gz",
				Yanked:       true,
				YankedReason: `broken "build" 'x'`,
				Size:         -1,
				CoreMetadata: Metadata{Present: true, Hashes: map[string]string{"sha256": sha}},
			},
			{
				Filename: "example-pkg-0.9.tar.gz",
				URL:      "/packages/ef/example-pkg-0.9.tar.gz",
				Yanked:   true,
				Size:     -1,
			},
			{
				Filename: "example-pkg-0.8.zip",
				URL:      "/packages/gh/example-pkg-0.8.zip",
				Hashes:   map[string]string{"md5": "00112233445566778899aabbccddeeff"},
				Size:     -1,
			},
			{
				Filename: "example-pkg-0.7.zip",
				URL:      "/packages/ij/example-pkg-0.7.zip",
				Hashes:   map[string]string{"sha256": sha},
				Size:     -1,
			},
			{
				Filename: "example-pkg-0.6.zip",
				URL:      "/packages/kl/example-pkg-0.6.zip",
				Size:     -1,
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseHTML(sample) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseHTMLOddities(t *testing.T) {
	tests := []struct {
		name, body string
		files      []string // filename and URL, in pairs
	}{
		{"empty", ``, nil},
		{"text only", `no tags at all`, nil},
		{"unclosed tag at the end", `<a href="/x.tar.gz"`, nil},
		{"unclosed quote", `<a href="/x.tar.gz>x.tar.gz</a>`, nil},
		{"unclosed comment", `<!-- <a href="/x">x</a>`, nil},
		{"empty comments", `<!--><a href="/x">x</a><!---><a href="/y">y</a>`, []string{"x", "/x", "y", "/y"}},
		{"unclosed script", `<script><a href="/x">x</a>`, nil},
		{"script end tag needs its name", `<script></scriptx><a href="/x">x</a></script><a href="/y">y</a>`, []string{"y", "/y"}},
		{"processing instruction", `<?xml version="1.0"?><a href="/x">x</a>`, []string{"x", "/x"}},
		{"nested anchors", `<a href="/x">x<a href="/y">y</a>`, []string{"x", "/x", "y", "/y"}},
		{"anchor without href inside", `<a href="/x">x<a>y</a>`, []string{"x", "/x"}},
		{"end tag with space", `<a href="/x">x</a >`, []string{"x", "/x"}},
		{"self-closing anchor", `<a href="/x"/>x</a>`, []string{"x", "/x"}},
		{"duplicate href, first wins", `<a href="/x" href="/y">x</a>`, []string{"x", "/x"}},
		{"space around equals", `<a href = "/x" >x</a>`, []string{"x", "/x"}},
		{"slash in unquoted value", `<a href=/x/y.tar.gz>y</a>`, []string{"y", "/x/y.tar.gz"}},
		{"attribute without value then href", `<a download href="/x">x</a>`, []string{"x", "/x"}},
		{"newline in tag", "<a\nhref=\"/x\"\n>\nx\n</a\n>", []string{"x", "/x"}},
		{"entities in text", `<a href="/x">a&amp;b&lt;c&gt;d&quot;e&#39;f&#x41;&#65;&nbsp;&bogus;&#;&#xZ;&#0;&#x110000;</a>`,
			[]string{"a&b<c>d\"e'fAA\u00a0&bogus;&#;&#xZ;\ufffd\ufffd", "/x"}},
		{"entity without semicolon", `<a href="/x?a=1&#38b=2">x</a>`, []string{"x", "/x?a=1&b=2"}},
		{"invalid UTF-8 kept", "<a href=\"/x\">\xff\xfe</a>", []string{"\xff\xfe", "/x"}},
		{"lone less-than in anchor text", `<a href="/x">a < b</a>`, []string{"a < b", "/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseHTML([]byte(tt.body), Limits{})
			if err != nil {
				t.Fatalf("ParseHTML(%q) = %v", tt.body, err)
			}
			var got []string
			for _, f := range p.Files {
				got = append(got, f.Filename, f.URL)
			}
			if !reflect.DeepEqual(got, tt.files) {
				t.Errorf("ParseHTML(%q) files = %q, want %q", tt.body, got, tt.files)
			}
		})
	}
}

func TestParseHTMLLimits(t *testing.T) {
	anchors := strings.Repeat(`<a href="/x.tar.gz">x.tar.gz</a>`, 4)
	tests := []struct {
		name, body string
		lim        Limits
		text       string
	}{
		{"too many files", anchors, Limits{MaxFiles: 3}, "more than 3 files"},
		{"href too long", `<a href="/` + strings.Repeat("x", 70) + `">x</a>`, Limits{MaxFieldBytes: 64}, "the href of anchor 1 is longer than 64 bytes"},
		{"text too long", `<a href="/x">` + strings.Repeat("x", 70) + `</a>`, Limits{MaxFieldBytes: 64}, "the text of anchor 1 is longer than 64 bytes"},
		{"unclosed text too long", `<a href="/x">` + strings.Repeat("x", 70), Limits{MaxFieldBytes: 64}, "the text of anchor 1"},
		{"yank reason too long", `<a href="/x" data-yanked="` + strings.Repeat("x", 70) + `">x</a>`, Limits{MaxFieldBytes: 64}, "the data-yanked of anchor 1"},
		{"repository version too long", `<meta name="pypi:repository-version" content="` + strings.Repeat("1", 70) + `">`, Limits{MaxFieldBytes: 64}, "repository version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHTML([]byte(tt.body), tt.lim)
			if err == nil || !errors.Is(err, ErrPageTooLarge) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("ParseHTML(%q) = %v, want an ErrPageTooLarge saying %q", clip(tt.body), err, tt.text)
			}
		})
	}
	// The limit counts files, not anchors: skipped anchors are free.
	skipped := strings.Repeat(`<a>no href</a>`, 10) + `<a href="/x">x</a>`
	if p, err := ParseHTML([]byte(skipped), Limits{MaxFiles: 1}); err != nil || len(p.Files) != 1 {
		t.Errorf("ParseHTML(skipped anchors) = %+v, %v", p, err)
	}
}

// TestParseHostileInputIsLinear parses large pages built to make a careless scanner
// go back over its input; each must finish quickly and without panicking.
func TestParseHostileInputIsLinear(t *testing.T) {
	const n = 4 << 20
	rep := func(s string) []byte { return bytes.Repeat([]byte(s), n/len(s)) }
	html := map[string][]byte{
		"open anchors":        rep(`<a href="/x">`),
		"unclosed tags":       rep(`<a `),
		"stray less-thans":    rep(`<`),
		"comment starts":      rep(`<!--`),
		"end tag starts":      rep(`</`),
		"script starts":       rep(`<script>`),
		"script near-ends":    append([]byte("<script>"), rep(`</scrip`)...),
		"quotes":              append([]byte(`<a href="`), rep(`'`)...),
		"entities":            append([]byte(`<a href="/x">`), rep(`&#1&amp`)...),
		"long numeric entity": append([]byte(`<a href="/x">&#`), rep(`9`)...),
		"attributes":          append([]byte(`<a `), rep(`x=y `)...),
		"anchor text":         append([]byte(`<a href="/x">`), rep(`text `)...),
	}
	for name, body := range html {
		start := time.Now()
		_, err := ParseHTML(body, Limits{MaxFiles: 1 << 30, MaxFieldBytes: 1 << 30})
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("ParseHTML(%s, %d bytes) took %v", name, len(body), d)
		}
		_ = err
	}
	json := map[string][]byte{
		"many empty files":     append(append([]byte(`{"files":[`), rep(`{},`)...), "{}]}"...),
		"deep nesting":         append([]byte(`{"x":`), rep(`[`)...),
		"many keys":            append(append([]byte(`{`), rep(`"k":1,`)...), `"k":1}`...),
		"long string":          append(append([]byte(`{"name":"`), rep(`\u0041`)...), `"}`...),
		"many hash candidates": append(append([]byte(`{"files":[{"filename":"a","url":"b","hashes":{`), rep(`"a":1,`)...), `"a":1}}]}`...),
	}
	for name, body := range json {
		start := time.Now()
		_, _ = ParseJSON(body, Limits{MaxFiles: 100})
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("ParseJSON(%s, %d bytes) took %v", name, len(body), d)
		}
	}
}

func TestRenderJSONRoundTrip(t *testing.T) {
	p := sampleProject()
	got, err := ParseJSON(RenderJSON(p), Limits{})
	if err != nil {
		t.Fatalf("ParseJSON(RenderJSON(sample)) = %v", err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("ParseJSON(RenderJSON(sample)) =\n%+v\nwant\n%+v", got, p)
	}
	if !bytes.Equal(RenderJSON(p), RenderJSON(got)) {
		t.Error("RenderJSON is not deterministic")
	}
}

func TestRenderJSONShape(t *testing.T) {
	tests := []struct {
		name string
		p    *Project
		want string
	}{
		{"nil", nil, `{"meta":{"api-version":"1.1"},"name":"","files":[],"versions":[]}`},
		{"bare file", &Project{Name: "a", Files: []File{{Filename: "a-1.tar.gz", URL: "u", Size: -1}}},
			`{"meta":{"api-version":"1.1"},"name":"a","files":[{"filename":"a-1.tar.gz","url":"u","hashes":{},"yanked":false,"core-metadata":false,"dist-info-metadata":false}],"versions":[]}`},
		{"escapes", &Project{Name: "\"\\\n\t\x01<\u2028\xff", Versions: []string{"1.0"}},
			`{"meta":{"api-version":"1.1"},"name":"\"\\\n\t\u0001<\u2028\ufffd","files":[],"versions":["1.0"]}`},
		{"local time is written in UTC", &Project{Files: []File{{Filename: "f", URL: "u", Size: 0, Yanked: true,
			UploadTime: time.Date(2024, 1, 2, 5, 4, 5, 999, time.FixedZone("x", 7200)), CoreMetadata: Metadata{Present: true}}}},
			`{"meta":{"api-version":"1.1"},"name":"","files":[{"filename":"f","url":"u","hashes":{},"yanked":true,"upload-time":"2024-01-02T03:04:05.000000Z","size":0,"core-metadata":true,"dist-info-metadata":true}],"versions":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(RenderJSON(tt.p)); got != tt.want {
				t.Errorf("RenderJSON() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRenderHTMLRoundTrip(t *testing.T) {
	p := sampleProject()
	// An HTML page carries one hash per file, and no upload time, size or versions.
	p.Files[0].Hashes = map[string]string{"sha256": sha}
	p.Files = append(p.Files, File{
		Filename:       `we<ird> & "name" 'x'.tar.gz`,
		URL:            `/p?a=1&b="2"#frag`,
		Hashes:         map[string]string{"md5": "00112233445566778899aabbccddeeff"},
		RequiresPython: `>=3.8, !=3.9.*, <"4"`,
		Yanked:         true,
		CoreMetadata:   Metadata{Present: true},
	})
	want := &Project{APIVersion: APIVersion}
	for _, f := range p.Files {
		f.UploadTime, f.Size = time.Time{}, -1
		f.URL, _, _ = strings.Cut(f.URL, "#")
		want.Files = append(want.Files, f)
	}
	got, err := ParseHTML(RenderHTML(p, "example-pkg"), Limits{})
	if err != nil {
		t.Fatalf("ParseHTML(RenderHTML(sample)) = %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseHTML(RenderHTML(sample)) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestRenderHTMLPicksOneHash(t *testing.T) {
	tests := []struct {
		hashes map[string]string
		want   string
	}{
		{map[string]string{"md5": "00", "sha256": "11", "sha512": "22"}, `href="u#sha256=11"`},
		{map[string]string{"md5": "00", "sha1": "33", "sha512": "22"}, `href="u#sha512=22"`},
		{map[string]string{"md5": "00", "sha1": "33"}, `href="u#sha1=33"`},
		{map[string]string{"zz": "00", "whirlpool": "44"}, `href="u#whirlpool=44"`},
		{nil, `href="u"`},
	}
	for _, tt := range tests {
		p := &Project{Files: []File{{Filename: "f", URL: "u", Hashes: tt.hashes, CoreMetadata: Metadata{Present: true, Hashes: tt.hashes}}}}
		got := string(RenderHTML(p, "n"))
		if !strings.Contains(got, tt.want) {
			t.Errorf("RenderHTML(hashes %v) = %s, want it to hold %s", tt.hashes, got, tt.want)
		}
		meta := "true"
		if tt.hashes != nil {
			meta = strings.TrimSuffix(strings.TrimPrefix(tt.want, `href="u#`), `"`)
		}
		if !strings.Contains(got, `data-core-metadata="`+meta+`" data-dist-info-metadata="`+meta+`"`) {
			t.Errorf("RenderHTML(hashes %v) = %s, want metadata %s", tt.hashes, got, meta)
		}
	}
}

// TestRenderGolden pins the exact bytes of both forms of the sample page.
func TestRenderGolden(t *testing.T) {
	for _, g := range []struct {
		file string
		got  []byte
	}{
		{"sample.render.golden.json", RenderJSON(sampleProject())},
		{"sample.render.golden.html", RenderHTML(sampleProject(), "example-pkg")},
	} {
		path := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(path, g.got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(g.got, want) {
			t.Errorf("render of the sample = \n%s\nwant (%s)\n%s", g.got, path, want)
		}
	}
}
