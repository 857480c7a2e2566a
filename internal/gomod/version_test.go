package gomod

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

var listTests = []struct {
	name string
	mod  string
	body string
	want []string
	bad  bool
}{
	{name: "empty", mod: "example.com/m", body: "", want: nil},
	{name: "sorted", mod: "example.com/m", body: "v1.10.0\nv1.2.0\nv1.9.0\n", want: []string{"v1.2.0", "v1.9.0", "v1.10.0"}},
	{name: "no final newline", mod: "example.com/m", body: "v1.0.0\nv1.1.0", want: []string{"v1.0.0", "v1.1.0"}},
	{name: "CRLF and blanks", mod: "example.com/m", body: "v1.0.0\r\n\r\n  v1.1.0  \n", want: []string{"v1.0.0", "v1.1.0"}},
	{name: "timestamps ignored", mod: "example.com/m", body: "v1.0.0 2019-01-01T00:00:00Z\n", want: []string{"v1.0.0"}},
	{name: "duplicates", mod: "example.com/m", body: "v1.0.0\nv1.0.0\n", want: []string{"v1.0.0"}},
	{name: "invalid dropped", mod: "example.com/m", body: "master\nv1.2\n1.0.0\nv1.0.0+meta\nv1.0.0\n", want: []string{"v1.0.0"}},
	{name: "wrong major dropped", mod: "example.com/m", body: "v1.0.0\nv2.0.0\nv2.0.0+incompatible\n", want: []string{"v1.0.0", "v2.0.0+incompatible"}},
	{name: "v2 path", mod: "example.com/m/v2", body: "v1.0.0\nv2.0.0\nv2.1.0-rc.1\n", want: []string{"v2.0.0", "v2.1.0-rc.1"}},
	{name: "pre-releases and pseudo", mod: "example.com/m", body: "v1.0.0\nv1.0.0-rc.1\nv0.0.0-20191109021931-daa7c04131f5\n",
		want: []string{"v0.0.0-20191109021931-daa7c04131f5", "v1.0.0-rc.1", "v1.0.0"}},
	{name: "overlong line dropped", mod: "example.com/m", body: "v1.0.0-" + strings.Repeat("a", MaxVersionLength) + "\nv1.0.0\n", want: []string{"v1.0.0"}},
	{name: "binary junk dropped", mod: "example.com/m", body: "\x00\xff\xfe\nv1.0.0\n", want: []string{"v1.0.0"}},
	{name: "too large", mod: "example.com/m", body: strings.Repeat("\n", MaxListBytes+1), bad: true},
}

func TestParseList(t *testing.T) {
	for _, tt := range listTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseList(tt.mod, []byte(tt.body))
			if tt.bad {
				if !errors.Is(err, ErrInvalidList) {
					t.Fatalf("ParseList(%s) = %q, %v, want ErrInvalidList", tt.name, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseList(%q) = %q, %v, want %q", tt.body, got, err, tt.want)
			}
			back, err := ParseList(tt.mod, RenderList(got))
			if err != nil || !slices.Equal(back, got) {
				t.Errorf("ParseList(RenderList(%q)) = %q, %v, want the same", got, back, err)
			}
		})
	}
}

func TestParseListTooManyVersions(t *testing.T) {
	var b strings.Builder
	for i := range MaxListVersions + 1 {
		b.WriteString("v1.0." + itoa(i) + "\n")
	}
	if _, err := ParseList("example.com/m", []byte(b.String())); !errors.Is(err, ErrInvalidList) {
		t.Fatalf("ParseList(%d versions) = %v, want ErrInvalidList", MaxListVersions+1, err)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestSort(t *testing.T) {
	got := []string{"v1.10.0", "v2.0.0+incompatible", "v1.2.0", "v1.0.0-rc.1", "v1.0.0",
		"v0.0.0-20200101000000-aaaaaaaaaaaa", "v0.0.0-20190101000000-bbbbbbbbbbbb", "v1.0.1-0.20200101000000-cccccccccccc"}
	want := []string{"v0.0.0-20190101000000-bbbbbbbbbbbb", "v0.0.0-20200101000000-aaaaaaaaaaaa", "v1.0.0-rc.1",
		"v1.0.0", "v1.0.1-0.20200101000000-cccccccccccc", "v1.2.0", "v1.10.0", "v2.0.0+incompatible"}
	Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("Sort = %q, want %q", got, want)
	}
}

func TestLatest(t *testing.T) {
	const (
		pseudoOld  = "v0.0.0-20190101000000-bbbbbbbbbbbb"
		pseudoNew  = "v0.0.0-20200101000000-aaaaaaaaaaaa"
		pseudoBase = "v1.0.1-0.20190601000000-cccccccccccc" // higher version, older commit
	)
	deny := func(vs ...string) func(string) bool {
		return func(v string) bool { return !slices.Contains(vs, v) }
	}
	tests := []struct {
		name     string
		versions []string
		admitted func(string) bool
		want     string
	}{
		{name: "highest release", versions: []string{"v1.2.0", "v1.10.0", "v1.9.0"}, want: "v1.10.0"},
		{name: "release over newer prerelease", versions: []string{"v1.0.0", "v1.1.0-rc.1"}, want: "v1.0.0"},
		{name: "release over pseudo", versions: []string{"v0.1.0", pseudoNew}, want: "v0.1.0"},
		{name: "prerelease when no release", versions: []string{"v1.0.0-alpha", "v1.0.0-beta", pseudoNew}, want: "v1.0.0-beta"},
		{name: "pseudo by commit time, not version", versions: []string{pseudoBase, pseudoNew, pseudoOld}, want: pseudoNew},
		{name: "admitted filters releases", versions: []string{"v1.0.0", "v1.1.0"}, admitted: deny("v1.1.0"), want: "v1.0.0"},
		{name: "nothing admitted falls to prerelease", versions: []string{"v1.0.0", "v1.1.0-rc.1"}, admitted: deny("v1.0.0"), want: "v1.1.0-rc.1"},
		{name: "compatible over incompatible", versions: []string{"v1.5.0", "v2.0.0+incompatible"}, want: "v1.5.0"},
		{name: "incompatible when alone", versions: []string{"v2.0.0+incompatible", "v3.1.0+incompatible"}, want: "v3.1.0+incompatible"},
		{name: "invalid ignored", versions: []string{"master", "v1.2", "v9.9.9+meta", "v1.0.0"}, want: "v1.0.0"},
		{name: "empty", versions: nil, want: ""},
		{name: "none admitted", versions: []string{"v1.0.0"}, admitted: deny("v1.0.0"), want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Latest(tt.versions, tt.admitted)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("Latest(%q) = %q, %v, want %q", tt.versions, got, ok, tt.want)
			}
			// The choice does not depend on the order of the list.
			rev := slices.Clone(tt.versions)
			slices.Reverse(rev)
			if got2, _ := Latest(rev, tt.admitted); got2 != got {
				t.Errorf("Latest(%q) = %q, but %q for the reverse order", tt.versions, got2, got)
			}
		})
	}
}
