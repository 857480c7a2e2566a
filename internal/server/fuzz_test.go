package server

import (
	"strings"
	"testing"
)

// FuzzHeaderParsers feeds client-controlled header values to every parser the front
// door runs on them: none may panic, and a reason phrase must stay a single safe line.
func FuzzHeaderParsers(f *testing.F) {
	for _, s := range []string{
		"application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
		`W/"abc", "def"`, "*", "", "q=;;,,", "Bearer tok", "Basic %%%", "Écluse\r\nX-Injected: 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		_ = prefersAbbreviated(v)
		_ = etagMatches(v, `"abc"`)
		_ = saneID(v)
		p := reasonPhrase(v)
		if strings.ContainsAny(p, "\r\n") {
			t.Fatalf("reasonPhrase(%q) = %q contains a line break", v, p)
		}
		for _, c := range p {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("reasonPhrase(%q) = %q contains %q", v, p, c)
			}
		}
	})
}
