package npm

import "testing"

func TestScratchSizes(t *testing.T) {
	for _, fx := range fixtures {
		raw := loadFixture(t, fx.file)
		p := mustParse(t, raw, fx.name)
		full, _ := p.Render(nil, gateURL)
		abbr, _ := p.RenderAbbreviated(nil, gateURL)
		t.Logf("%s raw %d full %d abbr %d ratio %.3f cap %d", fx.name, len(raw), len(full), len(abbr), float64(len(abbr))/float64(len(raw)), cap(full))
	}
}
