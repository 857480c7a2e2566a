package advisory

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

var sourceEntryTests = []struct {
	entry string
	// wantName is the name shown for the source; "" means the entry is refused.
	wantName string
	wantURL  bool
}{
	{"https://osv.example/npm/all.zip", "https://osv.example/npm/all.zip", true},
	{"HTTPS://osv.example:8443/all.zip", "https://osv.example:8443/all.zip", true},
	{"https://osv.example/all.zip?X-Amz-Signature=abc#frag", "https://osv.example/all.zip", true},
	{"https://[2001:db8::1]/all.zip", "https://[2001:db8::1]/all.zip", true},
	{"  /var/lib/ecluse/osv  ", "/var/lib/ecluse/osv", false},
	{"osv/all.zip", "osv/all.zip", false},
	{"./a:b.zip", "./a:b.zip", false},
	{"all.zip", "all.zip", false},
	{"", "", false},
	{"http://osv.example/all.zip", "", false},
	{"ftp://osv.example/all.zip", "", false},
	{"file:///srv/all.zip", "", false},
	{"osv:all.zip", "", false},
	{"https://u:p@osv.example/all.zip", "", false},
	{"https://osv.example:notaport/x", "", false},
	{"https:///all.zip", "", false},
	{"https:all.zip", "", false},
	{"://all.zip", "", false},
	{"/srv/osv\x00.zip", "", false},
}

func TestParseSourceEntry(t *testing.T) {
	for _, tt := range sourceEntryTests {
		src, err := parseSourceEntry(tt.entry)
		if tt.wantName == "" {
			if err == nil {
				t.Errorf("parseSourceEntry(%q) = %+v, want an error", tt.entry, src)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseSourceEntry(%q) = %v, want %q", tt.entry, err, tt.wantName)
			continue
		}
		if src.name != tt.wantName || src.local() == tt.wantURL {
			t.Errorf("parseSourceEntry(%q) = name %q, URL %v; want %q, %v", tt.entry, src.name, !src.local(), tt.wantName, tt.wantURL)
		}
		if tt.wantURL && (src.url.Scheme != "https" || src.url.Fragment != "") {
			t.Errorf("parseSourceEntry(%q).url = %v, want https without fragment", tt.entry, src.url)
		}
	}
}

func TestRedactEntry(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://u:secret@osv.example/a?t=tok", "https://osv.example/a"},
		{"https://u:secret@osv example/%zz?t=tok", "https://osv example/%zz"},
		{"https://osv example/p@th", "https://osv example/p@th"},
		{"ftp://u:secret@h", "ftp://h"},
		{"/srv/osv?x", "/srv/osv"},
	}
	for _, tt := range tests {
		if got := redactEntry(tt.in); got != tt.want {
			t.Errorf("redactEntry(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var quoteBodyTests = []struct{ in, want string }{
	{"internal error", "internal error"},
	{"", ""},
	{"  \x1b[31mred\x1b[0m\r\n\tline\x00two  ", "[31mred[0m linetwo"},
	{"bad \xff\xfe utf8", "bad utf8"},
	{"zero\u200bwidth", "zerowidth"},
	{strings.Repeat("é", 1000), strings.Repeat("é", (maxQuotedBody-len("…"))/2) + "…"},
	{strings.Repeat("a", 100) + "\n" + strings.Repeat("b", 5000), strings.Repeat("a", 100) + " " + strings.Repeat("b", maxQuotedBody-101-len("…")) + "…"},
}

func TestQuoteBody(t *testing.T) {
	for _, tt := range quoteBodyTests {
		if got := quoteBody(strings.NewReader(tt.in)); got != tt.want {
			t.Errorf("quoteBody(%.40q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzQuoteBody checks that an error body is quoted as valid, printable UTF-8 within
// maxQuotedBody bytes.
func FuzzQuoteBody(f *testing.F) {
	for _, tt := range quoteBodyTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := quoteBody(strings.NewReader(in))
		if !utf8.ValidString(got) || len(got) > maxQuotedBody {
			t.Errorf("quoteBody(%q) = %q (%d bytes), want valid UTF-8 within %d bytes", in, got, len(got), maxQuotedBody)
		}
		if strings.ContainsFunc(got, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
			t.Errorf("quoteBody(%q) = %q, holds unprintable characters", in, got)
		}
	})
}

func TestValidator(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"abc123"`, `"abc123"`},
		{`W/"abc"`, `W/"abc"`},
		{"Sat, 01 Feb 2025 00:00:00 GMT", "Sat, 01 Feb 2025 00:00:00 GMT"},
		{"", ""},
		{"tab\there", ""},
		{"é", ""},
		{strings.Repeat("a", maxValidator+1), ""},
	}
	for _, tt := range tests {
		if got := validator(tt.in); got != tt.want {
			t.Errorf("validator(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseSourceEntry checks that an accepted entry is an https URL with a host and
// no userinfo, or a path, and that the name of a URL carries no userinfo or query.
func FuzzParseSourceEntry(f *testing.F) {
	for _, tt := range sourceEntryTests {
		f.Add(tt.entry)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		src, err := parseSourceEntry(entry)
		if err != nil {
			return
		}
		if strings.TrimSpace(entry) == "" {
			t.Fatalf("parseSourceEntry(%q) accepted an empty entry", entry)
		}
		if src.local() {
			if src.path == "" || src.path != src.name {
				t.Errorf("parseSourceEntry(%q) = path %q, name %q", entry, src.path, src.name)
			}
			return
		}
		u := src.url
		if u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
			t.Errorf("parseSourceEntry(%q).url = %#v, want https with a host and no userinfo", entry, u)
		}
		if strings.ContainsAny(src.name, "?#@") && !strings.Contains(u.Path, "@") && !strings.Contains(u.Host, "@") {
			t.Errorf("parseSourceEntry(%q).name = %q, holds a query, fragment or userinfo", entry, src.name)
		}
	})
}
