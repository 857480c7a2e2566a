package npm

import (
	"slices"
	"testing"
)

func TestSemverOrder(t *testing.T) {
	raw := []byte(`{"name":"p","versions":{
		"1.0.0":{"name":"p","version":"1.0.0"},
		"1.0.0-rc.10":{"name":"p","version":"1.0.0-rc.10"},
		"1.0.0-rc.2":{"name":"p","version":"1.0.0-rc.2"},
		"0.9.0":{"name":"p","version":"0.9.0"},
		"v3":{"name":"p","version":"v3"},
		"2.0.0+build.1":{"name":"p","version":"2.0.0+build.1"},
		"1.0.0-alpha":{"name":"p","version":"1.0.0-alpha"}}}`)
	p, err := ParsePackument(raw, "p", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range p.SemverOrder() {
		got = append(got, p.Versions[i].Info.Version)
	}
	want := []string{"0.9.0", "1.0.0-alpha", "1.0.0-rc.2", "1.0.0-rc.10", "1.0.0", "2.0.0+build.1"}
	if !slices.Equal(got, want) {
		t.Errorf("SemverOrder = %v, want %v", got, want)
	}
	if a, b := p.SemverOrder(), p.SemverOrder(); &a[0] != &b[0] {
		t.Error("SemverOrder worked the order out twice for one parsed document")
	}
}
