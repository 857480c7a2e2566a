package modgate

import (
	"strings"
	"testing"
)

// FuzzZipHashOf reads a checksum database record's lines: what it returns is empty or
// an "h1:" hash, with no blank, taken from the zip's own line of the version asked
// about, never from its go.mod line or another version's.
func FuzzZipHashOf(f *testing.F) {
	for _, rec := range []string{
		"example.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n",
		"example.com/m v1.0.0/go.mod h1:def=\n",
		"example.com/m v1.0.00 h1:x=\nexample.com/m v1.0.0 h2:y=\n",
		"example.com/m v1.0.0 h1:\nexample.com/m v1.0.0 h1:a b\n",
		"",
	} {
		f.Add("example.com/m", "v1.0.0", rec)
	}
	f.Fuzz(func(t *testing.T, mod, version, record string) {
		lines := strings.Split(record, "\n")
		h := zipHashOf(mod, version, lines)
		if h == "" {
			return
		}
		if !strings.HasPrefix(h, "h1:") || len(h) == 3 || strings.ContainsAny(h, " \t") {
			t.Fatalf("zipHashOf = %q, not an h1: hash", h)
		}
		want := mod + " " + version + " " + h
		found := false
		for _, l := range lines {
			if l == want {
				found = true
			}
		}
		if !found {
			t.Fatalf("zipHashOf(%q, %q, %q) = %q, from no line %q", mod, version, record, h, want)
		}
	})
}
