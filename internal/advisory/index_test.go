package advisory

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"
)

// setOf reads records (JSON texts) into a Set through ReadZip.
func setOf(t testing.TB, records ...string) *Set {
	t.Helper()
	files := make([]archiveFile, len(records))
	for i, r := range records {
		files[i] = archiveFile{name: fmt.Sprintf("r%d.json", i), data: []byte(r)}
	}
	data := makeArchive(t, files...)
	set, err := ReadZip(bytes.NewReader(data), int64(len(data)), nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// testRecord is an npm record of id on name, modified at modified, with summary.
func testRecord(id, name, modified, summary string) string {
	return fmt.Sprintf(`{"id":%q,"modified":%q,"summary":%q,"affected":[{"package":{"ecosystem":"npm","name":%q},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}`,
		id, modified, summary, name)
}

// summaries lists the summaries of the matches of one npm package.
func summaries(s *Snapshot, name string) []string {
	var out []string
	for _, m := range s.Package(EcosystemNPM, name) {
		out = append(out, m.Advisory.ID+":"+m.Advisory.Summary)
	}
	return out
}

func TestMergeDedupe(t *testing.T) {
	const early, late = "2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z"
	tests := []struct {
		name    string
		sets    [][]string
		want    []string
		records int
	}{
		{
			name:    "one set",
			sets:    [][]string{{testRecord("GHSA-aaaa-aaaa-aaaa", "p", early, "a"), testRecord("GHSA-bbbb-bbbb-bbbb", "p", early, "b")}},
			want:    []string{"GHSA-aaaa-aaaa-aaaa:a", "GHSA-bbbb-bbbb-bbbb:b"},
			records: 2,
		},
		{
			name:    "the later copy wins, in the later set",
			sets:    [][]string{{testRecord("GHSA-aaaa-aaaa-aaaa", "p", early, "old")}, {testRecord("GHSA-aaaa-aaaa-aaaa", "p", late, "new")}},
			want:    []string{"GHSA-aaaa-aaaa-aaaa:new"},
			records: 1,
		},
		{
			name:    "the later copy wins, in the earlier set",
			sets:    [][]string{{testRecord("GHSA-aaaa-aaaa-aaaa", "p", late, "new")}, {testRecord("GHSA-aaaa-aaaa-aaaa", "p", early, "old")}},
			want:    []string{"GHSA-aaaa-aaaa-aaaa:new"},
			records: 1,
		},
		{
			name:    "a tie keeps the first given",
			sets:    [][]string{{testRecord("GHSA-aaaa-aaaa-aaaa", "p", early, "first")}, {testRecord("GHSA-aaaa-aaaa-aaaa", "p", early, "second")}},
			want:    []string{"GHSA-aaaa-aaaa-aaaa:first"},
			records: 1,
		},
		{
			name:    "duplicates within one set",
			sets:    [][]string{{testRecord("GHSA-aaaa-aaaa-aaaa", "p", early, "old"), testRecord("GHSA-aaaa-aaaa-aaaa", "p", late, "new")}},
			want:    []string{"GHSA-aaaa-aaaa-aaaa:new"},
			records: 1,
		},
		{
			name:    "a newer copy may name other packages",
			sets:    [][]string{{testRecord("GHSA-aaaa-aaaa-aaaa", "p", early, "old")}, {testRecord("GHSA-aaaa-aaaa-aaaa", "q", late, "new")}},
			want:    nil,
			records: 1,
		},
		{
			name:    "sorted by id across sets",
			sets:    [][]string{{testRecord("MAL-2024-2", "p", early, "m")}, {testRecord("GHSA-zzzz-zzzz-zzzz", "p", early, "z"), testRecord("GHSA-aaaa-aaaa-aaaa", "p", early, "a")}},
			want:    []string{"GHSA-aaaa-aaaa-aaaa:a", "GHSA-zzzz-zzzz-zzzz:z", "MAL-2024-2:m"},
			records: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sets []*Set
			for _, recs := range tt.sets {
				sets = append(sets, setOf(t, recs...))
			}
			sets = append(sets, nil) // a nil set is skipped
			snap := Merge(7, time.Unix(1700000000, 0), sets...)
			if got := summaries(snap, "p"); !slices.Equal(got, tt.want) {
				t.Errorf("Package(npm, p) = %q, want %q", got, tt.want)
			}
			if snap.Records() != tt.records {
				t.Errorf("Records() = %d, want %d", snap.Records(), tt.records)
			}
			if snap.Generation() != 7 || !snap.Built().Equal(time.Unix(1700000000, 0)) {
				t.Errorf("Generation, Built = %d, %v, want 7, %v", snap.Generation(), snap.Built(), time.Unix(1700000000, 0))
			}
		})
	}
}

func TestSnapshotPackage(t *testing.T) {
	set := setOf(t,
		string(readTestRecord(t, "GHSA-vh95-rmgr-6w4m.json")),
		string(readTestRecord(t, "GHSA-p8p7-x288-28g6.json")),
		string(readTestRecord(t, "GO-2020-0001.json")),
		string(readTestRecord(t, "crafted-ecosystems.json")),
		string(readTestRecord(t, "MAL-2026-4377.json")),
	)
	snap := Merge(1, time.Time{}, set)
	tests := []struct {
		eco, name string
		want      []string // advisory ids
	}{
		{EcosystemNPM, "minimist", []string{"GHSA-vh95-rmgr-6w4m"}},
		{EcosystemNPM, "MiniMist", []string{"GHSA-vh95-rmgr-6w4m"}},
		{EcosystemNPM, " minimist\t", []string{"GHSA-vh95-rmgr-6w4m"}},
		{EcosystemNPM, "@cypress/request", []string{"GHSA-p8p7-x288-28g6"}},
		{EcosystemNPM, "@Cypress/Request", []string{"GHSA-p8p7-x288-28g6"}},
		{EcosystemNPM, "left-pad", []string{"CRAFTED-0002"}},
		{EcosystemNPM, "LEFT-PAD", []string{"CRAFTED-0002"}},
		{EcosystemNPM, "@ctrl/plex", nil}, // withdrawn
		{EcosystemNPM, "min", nil},
		{EcosystemGo, "github.com/gin-gonic/gin", []string{"GO-2020-0001"}},
		{EcosystemGo, "github.com/Gin-Gonic/gin", nil},
		{EcosystemGo, "github.com/Example/Mod", []string{"CRAFTED-0002"}},
		{EcosystemGo, "github.com/example/mod", nil},
		{"Go", "github.com/gin-gonic/gin", []string{"GO-2020-0001"}},
		{EcosystemPyPI, "django-rest-framework", []string{"CRAFTED-0002"}},
		{EcosystemPyPI, "Django_Rest.Framework", []string{"CRAFTED-0002"}},
		{EcosystemPyPI, "django-rest--framework", []string{"CRAFTED-0002"}},
		{EcosystemNPM, "github.com/gin-gonic/gin", nil},
		{"maven", "minimist", nil},
		{"", "minimist", nil},
	}
	for _, tt := range tests {
		t.Run(tt.eco+"/"+tt.name, func(t *testing.T) {
			var got []string
			for _, m := range snap.Package(tt.eco, tt.name) {
				got = append(got, m.Advisory.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Package(%q, %q) = %q, want %q", tt.eco, tt.name, got, tt.want)
			}
		})
	}
	if got := snap.Records(); got != 4 {
		t.Errorf("Records() = %d, want 4", got)
	}
	var none *Snapshot
	if none.Package(EcosystemNPM, "minimist") != nil {
		t.Errorf("(*Snapshot)(nil).Package = non-nil, want nil")
	}
	if empty := Merge(1, time.Time{}); empty.Package(EcosystemNPM, "minimist") != nil || empty.Records() != 0 {
		t.Errorf("an empty snapshot knows something")
	}
	// The record naming three ecosystems is one advisory, shared by its matches.
	npmMatch := snap.Package(EcosystemNPM, "left-pad")[0]
	goMatch := snap.Package(EcosystemGo, "github.com/Example/Mod")[0]
	if npmMatch.Advisory != goMatch.Advisory {
		t.Errorf("one record's matches do not share its Advisory")
	}
}

func TestLookupAllocs(t *testing.T) {
	snap := Merge(1, time.Time{}, setOf(t, string(readTestRecord(t, "GHSA-vh95-rmgr-6w4m.json"))))
	var sink []Match
	allocs := testing.AllocsPerRun(100, func() {
		sink = snap.Package(EcosystemNPM, "minimist")
		sink = snap.Package(EcosystemNPM, "absent")
	})
	if allocs != 0 {
		t.Errorf("Package allocates %v times per run, want 0", allocs)
	}
	_ = sink
}
