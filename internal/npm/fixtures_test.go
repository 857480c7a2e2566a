package npm

import (
	"bytes"
	"testing"
)

// realistic are limits of the order a deployment would set.
var realistic = Limits{MaxBytes: 64 << 20, MaxVersions: 20000, MaxDepth: 32}

// TestFixtures runs the codec over the real packuments and compares everything with
// the slow reference decoding.
func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			raw := loadFixture(t, fx.file)
			p, err := ParsePackument(raw, fx.name, realistic)
			if err != nil {
				t.Fatalf("ParsePackument = %v", err)
			}
			if len(p.Versions) != fx.versions {
				t.Errorf("%d versions, want %d", len(p.Versions), fx.versions)
			}
			if len(p.DistTags) != 1 || p.DistTags[0].Name != "latest" || p.Find(p.DistTags[0].Version) == nil {
				t.Errorf("dist-tags = %v, want latest at a known version", p.DistTags)
			}
			ref := reference(t, raw)
			checkInfos(t, p, ref)

			// The fixtures are compact JSON, so with nothing withheld or rewritten the
			// output is the input, byte for byte.
			same, err := p.Render(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(same, raw) {
				t.Errorf("Render(all, no rewrite) differs from the served document")
			}

			half := func(i int) bool { return i%2 == 0 }
			out, err := p.Render(half, gateURL)
			if err != nil {
				t.Fatal(err)
			}
			checkRendered(t, p, ref, out, half, gateURL)
			again, err := ParsePackument(out, fx.name, realistic)
			if err != nil {
				t.Fatalf("rendered document does not parse: %v", err)
			}
			if want := (fx.versions + 1) / 2; len(again.Versions) != want {
				t.Errorf("rendered document has %d versions, want %d", len(again.Versions), want)
			}
			for i := range again.Versions {
				if v := &again.Versions[i]; v.Tarball != gateURL(v) {
					t.Fatalf("version %s tarball %s was not rewritten", v.Key, v.Tarball)
				}
			}

			abbr, err := p.RenderAbbreviated(half, gateURL)
			if err != nil {
				t.Fatal(err)
			}
			checkAbbreviated(t, p, ref, abbr, half, gateURL)
		})
	}
}

// TestRetainedMemory checks that a cached Packument costs at most 1.5 times the
// document's size, the buffer it refers to included.
func TestRetainedMemory(t *testing.T) {
	for _, fx := range fixtures {
		raw := loadFixture(t, fx.file)
		ratio := retainedRatio(t, raw, fx.name)
		t.Logf("%s: %d bytes, retained %.3fx", fx.name, len(raw), ratio)
		if ratio > 1.5 {
			t.Errorf("%s: a parsed Packument retains %.2fx the document size, want at most 1.5x", fx.name, ratio)
		}
	}
}
