package npm

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// tagDoc builds a packument with the given versions and dist-tags ("tag=version").
func tagDoc(t *testing.T, versions []string, tags ...string) *Packument {
	t.Helper()
	var vs, ts []string
	for _, v := range versions {
		vs = append(vs, fmt.Sprintf("%q:{}", v))
	}
	for _, tag := range tags {
		name, version, _ := strings.Cut(tag, "=")
		ts = append(ts, fmt.Sprintf("%q:%q", name, version))
	}
	raw := fmt.Sprintf(`{"name":"t","dist-tags":{%s},"versions":{%s}}`, strings.Join(ts, ","), strings.Join(vs, ","))
	return mustParse(t, []byte(raw), "t")
}

func TestServedDistTags(t *testing.T) {
	all := []string{"0.9.0", "1.0.0", "1.1.0", "1.2.0-beta.1", "2.0.0-rc.1", "2.0.0-rc.2", "2.0.0", "3.0.0", "1.0.0beta"}
	tests := []struct {
		name string
		tags []string
		kept []string // nil: all
		want []string
	}{
		{name: "kept targets stay", tags: []string{"latest=2.0.0", "next=2.0.0-rc.2"}, want: []string{"latest=2.0.0", "next=2.0.0-rc.2"}},
		{name: "latest moves to the highest stable version",
			tags: []string{"latest=2.0.0"}, kept: []string{"0.9.0", "1.1.0", "1.2.0-beta.1", "2.0.0-rc.1"},
			want: []string{"latest=1.1.0"}},
		{name: "latest may move up",
			tags: []string{"latest=1.0.0"}, kept: []string{"1.1.0", "2.0.0", "2.0.0-rc.2"}, want: []string{"latest=2.0.0"}},
		{name: "latest is dropped when only prereleases are served",
			tags: []string{"latest=2.0.0"}, kept: []string{"1.2.0-beta.1", "2.0.0-rc.1"}, want: nil},
		{name: "latest pointing at a prerelease moves to a stable one",
			tags: []string{"latest=2.0.0-rc.2"}, kept: []string{"1.1.0", "2.0.0-rc.1"}, want: []string{"latest=1.1.0"}},
		{name: "other tags may move onto a prerelease",
			tags: []string{"next=2.0.0-rc.2"}, kept: []string{"1.1.0", "2.0.0-rc.1"}, want: []string{"next=2.0.0-rc.1"}},
		{name: "other tags move onto a stable version too",
			tags: []string{"beta=1.2.0-beta.1"}, kept: []string{"1.1.0", "2.0.0"}, want: []string{"beta=1.1.0"}},
		{name: "other tags are dropped with nothing below",
			tags: []string{"old=0.9.0"}, kept: []string{"1.0.0"}, want: nil},
		{name: "a tag at a version that never existed is dropped",
			tags: []string{"latest=9.9.9", "next=2.0.0"}, want: []string{"next=2.0.0"}},
		{name: "a withheld target that is not semver cannot move",
			tags: []string{"legacy=1.0.0beta"}, kept: []string{"0.9.0"}, want: nil},
		{name: "a kept target that is not semver stays",
			tags: []string{"legacy=1.0.0beta"}, want: []string{"legacy=1.0.0beta"}},
		{name: "other tags never move up",
			tags: []string{"next=2.0.0-rc.1"}, kept: []string{"2.0.0", "3.0.0"}, want: nil},
		{name: "a withheld latest that is not semver still moves",
			tags: []string{"latest=1.0.0beta"}, kept: []string{"0.9.0"}, want: []string{"latest=0.9.0"}},
		{name: "order is kept",
			tags: []string{"z=3.0.0", "latest=2.0.0", "a=0.9.0"}, kept: []string{"0.9.0", "1.1.0", "3.0.0"},
			want: []string{"z=3.0.0", "latest=3.0.0", "a=0.9.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tagDoc(t, all, tt.tags...)
			var keep func(int) bool
			if tt.kept != nil {
				keep = keepKeys(p, tt.kept...)
			}
			var got []string
			for _, tag := range p.ServedDistTags(keep) {
				got = append(got, tag.Name+"="+tag.Version)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ServedDistTags(kept %v) with %v = %v, want %v", tt.kept, tt.tags, got, tt.want)
			}
		})
	}
}

func TestServedDistTagsEqualPrecedence(t *testing.T) {
	// 1.0.0+a and 1.0.0+b rank equal in semver; the first in the document wins.
	p := tagDoc(t, []string{"1.0.0+b", "1.0.0+a", "2.0.0"}, "latest=2.0.0")
	got := p.ServedDistTags(keepKeys(p, "1.0.0+b", "1.0.0+a"))
	if len(got) != 1 || got[0].Version != "1.0.0+b" {
		t.Errorf("ServedDistTags = %v, want latest=1.0.0+b", got)
	}
}

func TestServedDistTagsDoesNotModify(t *testing.T) {
	p := tagDoc(t, []string{"1.0.0", "2.0.0"}, "latest=2.0.0")
	_ = p.ServedDistTags(keepKeys(p, "1.0.0"))
	if p.DistTags[0] != (DistTag{"latest", "2.0.0"}) {
		t.Errorf("DistTags changed to %v", p.DistTags)
	}
}
