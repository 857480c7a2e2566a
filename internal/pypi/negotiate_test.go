package pypi

import "testing"

// pipAccept is the Accept header pip sends for a project page.
const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

var negotiateTests = []struct {
	name, accept string
	want         string
	ok           bool
}{
	{"pip", pipAccept, ContentTypeJSON, true},
	{"pip, reordered", "text/html; q=0.01, application/vnd.pypi.simple.v1+html; q=0.1, application/vnd.pypi.simple.v1+json", ContentTypeJSON, true},
	{"html only", "text/html", ContentTypeHTML, true},
	{"html v1 only", "application/vnd.pypi.simple.v1+html", ContentTypeHTMLv1, true},
	{"empty", "", ContentTypeHTML, true},
	{"blank", "  \t ", ContentTypeHTML, true},
	{"nothing acceptable", "application/xml", "", false},
	{"refused by q=0", "application/vnd.pypi.simple.v1+json;q=0", "", false},
	{"q=0 beats a wildcard", "text/html;q=0, */*;q=0.5", ContentTypeHTMLv1, true},
	// */* alone: every form ties, and the HTML forms win as the public index answers.
	{"any", "*/*", ContentTypeHTML, true},
	{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", ContentTypeHTML, true},
	{"named beats */* on a tie", "application/vnd.pypi.simple.v1+json;q=0.5, */*;q=0.5", ContentTypeJSON, true},
	{"json with low wildcard", "application/vnd.pypi.simple.v1+json, */*;q=0.1", ContentTypeJSON, true},
	{"higher wildcard wins", "application/vnd.pypi.simple.v1+json;q=0.2, */*;q=0.9", ContentTypeHTML, true},
	{"application wildcard", "application/*", ContentTypeJSON, true},
	{"text wildcard", "text/*", ContentTypeHTML, true},
	{"explicit tie goes to JSON", "text/html, application/vnd.pypi.simple.v1+json", ContentTypeJSON, true},
	{"explicit tie, html forms", "text/html, application/vnd.pypi.simple.v1+html", ContentTypeHTMLv1, true},
	{"specific range sets q", "application/*;q=0.9, application/vnd.pypi.simple.v1+json;q=0.1", ContentTypeHTMLv1, true},
	{"case", "APPLICATION/VND.PYPI.SIMPLE.V1+JSON;Q=0.5, TEXT/HTML;Q=0.4", ContentTypeJSON, true},
	{"parameters ignored", "text/html;charset=utf-8;level=1", ContentTypeHTML, true},
	{"quoted comma", `text/html;x="a,b;c";q=0.5, application/vnd.pypi.simple.v1+json;q=0.4`, ContentTypeHTML, true},
	{"q precision", "text/html;q=0.001, application/vnd.pypi.simple.v1+json;q=0.000", ContentTypeHTML, true},
	{"extension after q", "text/html;q=0.5;ext=1", ContentTypeHTML, true},
	{"bad q drops the range", "application/vnd.pypi.simple.v1+json;q=2, text/html;q=0.5", ContentTypeHTML, true},
	{"bad q values", "text/html;q=1.5, text/html;q=0.1234, text/html;q=abc, text/html;q=", ContentTypeHTML, true},
	{"unreadable header", "garbage", ContentTypeHTML, true},
	{"bad type wildcard", "*/json", ContentTypeHTML, true},
	{"unreadable beside readable", "garbage, application/xml", "", false},
	{"empty ranges", ",,, ,text/html,", ContentTypeHTML, true},
}

func TestNegotiate(t *testing.T) {
	for _, tt := range negotiateTests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Negotiate(tt.accept)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Negotiate(%q) = %q, %v, want %q, %v", tt.accept, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseQValue(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"1", 1000, true}, {"0.", 0, true}, {"1.", 1000, true},
		{"0.5", 500, true}, {"0.25", 250, true}, {"0.125", 125, true}, {"1.000", 1000, true},
		{"1.001", 0, false}, {"0.1234", 0, false}, {"2", 0, false}, {".5", 0, false},
		{"", 0, false}, {"0,5", 0, false}, {"0.a", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseQValue(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseQValue(%q) = %d, %v, want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
