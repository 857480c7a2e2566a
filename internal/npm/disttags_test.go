package npm

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
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

// referenceDistTags is the repair as first written: for each tag that must move, a
// scan of every served version. It is quadratic, and kept here as the reference the
// indexed repair must agree with.
func referenceDistTags(p *Packument, keep func(int) bool) []DistTag {
	keep = orAll(keep)
	type cand struct {
		i int
		v *semver.Version
	}
	var cands []cand
	for i := range p.Versions {
		if v := parseSemver(p.Versions[i].Key); keep(i) && v != nil {
			cands = append(cands, cand{i, v})
		}
	}
	highestAtMost := func(target *semver.Version, stableOnly bool) int {
		best := -1
		var bestV *semver.Version
		for _, c := range cands {
			if stableOnly && c.v.Prerelease() != "" {
				continue
			}
			if target != nil && c.v.Compare(target) > 0 {
				continue
			}
			if bestV == nil || c.v.Compare(bestV) > 0 {
				best, bestV = c.i, c.v
			}
		}
		return best
	}
	var out []DistTag
	for _, t := range p.DistTags {
		i, known := p.lookup(t.Version)
		if known && keep(i) {
			out = append(out, t)
			continue
		}
		if !known && !p.removed[t.Version] {
			continue
		}
		var target *semver.Version
		if t.Name != latestTag {
			if target = parseSemver(t.Version); target == nil {
				continue
			}
		}
		if best := highestAtMost(target, t.Name == latestTag); best >= 0 {
			out = append(out, DistTag{Name: t.Name, Version: p.Versions[best].Key})
		}
	}
	return out
}

// randomVersion draws from a small space, so that equal precedences (build metadata),
// prereleases, loose spellings and keys that are not semver all turn up.
func randomVersion(r *rand.Rand) string {
	v := fmt.Sprintf("%d.%d.%d", r.IntN(3), r.IntN(3), r.IntN(3))
	switch r.IntN(8) {
	case 0:
		v += fmt.Sprintf("-rc.%d", r.IntN(3))
	case 1:
		v += []string{"-alpha", "-beta", "-alpha.1", "-beta.2", "-1", "-x.1.y"}[r.IntN(6)]
	case 2:
		v += fmt.Sprintf("+b%d", r.IntN(3))
	case 3:
		v = "v" + v
	case 4:
		v += "beta" // not semver
	}
	return v
}

func TestServedDistTagsMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 400 {
		seen := map[string]bool{}
		var versions []string
		for range 1 + r.IntN(30) {
			if v := randomVersion(r); !seen[v] {
				seen[v] = true
				versions = append(versions, v)
			}
		}
		var tags []string
		for k := range r.IntN(20) {
			name := fmt.Sprintf("t%d", k)
			if k == 0 {
				name = latestTag
			}
			target := versions[r.IntN(len(versions))]
			if r.IntN(6) == 0 {
				target = randomVersion(r) // perhaps never published
			}
			tags = append(tags, name+"="+target)
		}
		p := tagDoc(t, versions, tags...)
		kept := make([]bool, len(p.Versions))
		for i := range kept {
			kept[i] = r.IntN(3) > 0
		}
		keep := func(i int) bool { return kept[i] }

		if got, want := p.ServedDistTags(keep), referenceDistTags(p, keep); !slices.Equal(got, want) {
			t.Fatalf("case %d: versions %v, tags %v, kept %v:\nServedDistTags = %v\nreference      = %v", n, versions, tags, kept, got, want)
		}
		// The same document through Union, where public versions left out are
		// withheld rather than unknown.
		u := Union(nil, p, keep)
		if got, want := u.ServedDistTags(nil), referenceDistTags(u, nil); !slices.Equal(got, want) {
			t.Fatalf("case %d (union): versions %v, tags %v, kept %v:\nServedDistTags = %v\nreference      = %v", n, versions, tags, kept, got, want)
		}
	}
}

// manyTagsDoc returns a document of nVersions stable versions and nTags dist-tags,
// latest on the highest version and every other tag on one of the odd versions
// (cycling through them), so that withholding the odd versions makes every tag move.
func manyTagsDoc(nVersions, nTags int) []byte {
	var b strings.Builder
	b.WriteString(`{"name":"t","dist-tags":{`)
	fmt.Fprintf(&b, `"latest":"1.%d.0"`, nVersions-1)
	for k := 1; k < nTags; k++ {
		odd := 2*(k%(nVersions/2)) + 1
		fmt.Fprintf(&b, `,"tag-%d":"1.%d.0"`, k, odd)
	}
	b.WriteString(`},"versions":{`)
	for i := range nVersions {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"1.%d.0":{}`, i)
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

// evenOnly withholds the odd versions of a manyTagsDoc.
func evenOnly(p *Packument) func(int) bool {
	kept := make([]bool, len(p.Versions))
	for i := range p.Versions {
		var minor int
		if _, err := fmt.Sscanf(p.Versions[i].Key, "1.%d.0", &minor); err == nil {
			kept[i] = minor%2 == 0
		}
	}
	return func(i int) bool { return kept[i] }
}

// TestDistTagRepairWorkIsNLogN counts the semver comparisons and parses a repair
// makes. Scanning every version for every tag would cost tags x versions / 2
// comparisons (75 million here); the indexed repair stays within (versions + tags) x
// log2(versions).
func TestDistTagRepairWorkIsNLogN(t *testing.T) {
	const nVersions, nTags = 3000, 50000
	p := mustParse(t, manyTagsDoc(nVersions, nTags), "t")
	keep := evenOnly(p)
	r := tagRepair{p: p, keep: keep}
	got := r.run()
	if len(got) != nTags {
		t.Fatalf("repair kept %d tags, want %d (every withheld tag has an even version below it)", len(got), nTags)
	}
	for _, tag := range got[:5] {
		t.Logf("%s=%s", tag.Name, tag.Version)
	}
	if got[0] != (DistTag{latestTag, fmt.Sprintf("1.%d.0", nVersions-2)}) || got[1] != (DistTag{"tag-1", "1.2.0"}) {
		t.Errorf("repair = %v..., want latest=1.%d.0 and tag-1 (1.3.0) moved down to 1.2.0", got[:2], nVersions-2)
	}
	logV := bits.Len(uint(nVersions))
	if limit := (nVersions + nTags) * logV; r.compares > limit {
		t.Errorf("repair of %d tags over %d versions made %d comparisons, want at most (versions + tags) x log2(versions) = %d", nTags, nVersions, r.compares, limit)
	}
	// Each served version is parsed once, and each distinct withheld target once.
	if limit := nVersions + nVersions/2; r.parses > limit {
		t.Errorf("repair made %d semver parses, want at most %d", r.parses, limit)
	}
	t.Logf("%d tags over %d versions: %d comparisons, %d parses", nTags, nVersions, r.compares, r.parses)
}

// TestManyDistTagsAreRefused builds the review's document: about 10 MB carrying
// 400,000 dist-tags. Over the limit it is refused while parsing; at the limit it
// parses, and its repair costs (versions + tags) x log2(versions) at most.
func TestManyDistTagsAreRefused(t *testing.T) {
	const nVersions, nTags = 3000, 400000
	raw := manyTagsDoc(nVersions, nTags)
	t.Logf("document of %d bytes", len(raw))
	for _, limit := range []int{1000, nTags - 1} {
		_, err := ParsePackument(raw, "t", Limits{MaxDistTags: limit})
		var de *DocumentError
		if !errors.As(err, &de) || !errors.Is(err, ErrTooManyDistTags) {
			t.Fatalf("ParsePackument(%d dist-tags, MaxDistTags %d) = %v, want a *DocumentError wrapping ErrTooManyDistTags", nTags, limit, err)
		}
		if want := fmt.Sprintf("it has more than %d dist-tags", limit); de.Error() != want {
			t.Errorf("ParsePackument error = %q, want %q", de.Error(), want)
		}
	}
	p, err := ParsePackument(raw, "t", Limits{MaxDistTags: nTags})
	if err != nil {
		t.Fatalf("ParsePackument(%d dist-tags, MaxDistTags %d) = %v, want success at the limit", nTags, nTags, err)
	}
	if len(p.DistTags) != nTags {
		t.Fatalf("DistTags has %d entries, want %d", len(p.DistTags), nTags)
	}
	r := tagRepair{p: p, keep: evenOnly(p)}
	if got := r.run(); len(got) != nTags {
		t.Fatalf("repair kept %d tags, want %d", len(got), nTags)
	}
	if bound := (nVersions + nTags) * bits.Len(uint(nVersions)); r.compares > bound {
		t.Errorf("repair made %d comparisons, want at most %d", r.compares, bound)
	}
	t.Logf("%d tags over %d versions: %d comparisons, %d parses", nTags, nVersions, r.compares, r.parses)
}

func TestMaxDistTagsCountsEveryEntry(t *testing.T) {
	tests := []struct {
		doc   string
		limit int
		ok    bool
	}{
		{`{"name":"x","dist-tags":{}}`, 1, true},
		{`{"name":"x","dist-tags":{"latest":"1.0.0","next":"2.0.0"}}`, 2, true},
		{`{"name":"x","dist-tags":{"latest":"1.0.0","next":"2.0.0"}}`, 1, false},
		{`{"name":"x","dist-tags":{"latest":"1.0.0","bad":1,"worse":null}}`, 2, false}, // values that are not strings count
		{`{"name":"x","dist-tags":{"latest":"1.0.0","bad":1,"worse":null}}`, 3, true},
		{`{"name":"x","dist-tags":{"latest":"1.0.0","bad":1,"worse":null}}`, 0, true},
	}
	for _, tc := range tests {
		_, err := ParsePackument([]byte(tc.doc), "x", Limits{MaxDistTags: tc.limit})
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrTooManyDistTags)) {
			t.Errorf("ParsePackument(%s, MaxDistTags %d) = %v, want ok %v", tc.doc, tc.limit, err, tc.ok)
		}
	}
}

// BenchmarkDistTagRepair repairs documents of 3,000 versions whose dist-tags all
// point at withheld versions. The time per tag stays flat from 1,000 to 100,000 tags:
// the repair is linear in the tags once the versions are sorted.
//
//	go test -run '^$' -bench DistTagRepair ./internal/npm/
func BenchmarkDistTagRepair(b *testing.B) {
	const nVersions = 3000
	for _, nTags := range []int{1000, 10000, 100000} {
		p := mustParse(b, manyTagsDoc(nVersions, nTags), "t")
		keep := evenOnly(p)
		b.Run(fmt.Sprintf("versions=%d/tags=%d", nVersions, nTags), func(b *testing.B) {
			for b.Loop() {
				if got := p.ServedDistTags(keep); len(got) != nTags {
					b.Fatalf("repair kept %d tags, want %d", len(got), nTags)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(nTags), "ns/tag")
		})
	}
}
