package advisory

import (
	"archive/zip"
	"bytes"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// archiveFile is one entry of a zip a test builds. With lieSize set, the entry is
// stored uncompressed and declares that uncompressed size instead of its own.
type archiveFile struct {
	name    string
	data    []byte
	lieSize uint64
}

// makeArchive builds a zip of files.
func makeArchive(t testing.TB, files ...archiveFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		if strings.HasSuffix(f.name, "/") {
			if _, err := zw.Create(f.name); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if f.lieSize != 0 {
			h := &zip.FileHeader{
				Name: f.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(f.data),
				CompressedSize64: uint64(len(f.data)), UncompressedSize64: f.lieSize,
			}
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(f.data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testdataFiles are the records of testdata/osv as zip entries, below dir.
func testdataFiles(t testing.TB, dir string) []archiveFile {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "osv", "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no records in testdata/osv: %v", err)
	}
	var files []archiveFile
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, archiveFile{name: dir + filepath.Base(n), data: data})
	}
	return files
}

// recordIDs lists the ids of a set's records, sorted.
func recordIDs(s *Set) []string {
	var ids []string
	for _, r := range s.recs {
		ids = append(ids, r.adv.ID)
	}
	slices.Sort(ids)
	return ids
}

// keptIDs are the testdata records every ecosystem keeps (the withdrawn one is not).
var keptIDs = []string{
	"CRAFTED-0001", "CRAFTED-0002", "GHSA-c2qf-rxjj-qqgw", "GHSA-p8p7-x288-28g6", "GHSA-vh95-rmgr-6w4m",
	"GO-2020-0001", "MAL-2022-9", "MAL-2024-11848", "MAL-2024-1811",
}

func TestReadZip(t *testing.T) {
	good := testdataFiles(t, "")
	small := []byte(`{"id":"TEST-1","affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["1.0.0"]}]}`)
	tests := []struct {
		name       string
		zip        []byte
		ecosystems []string
		lim        Limits
		want       []string // ids kept
		err        error    // errors.Is target; nil for success
		entry      string   // the entry the error names
	}{
		{
			name: "the testdata records, other entries skipped",
			zip:  makeArchive(t, append(slices.Clone(good), archiveFile{name: "README.md", data: []byte("# not a record")}, archiveFile{name: "dir/"})...),
			want: keptIDs,
		},
		{
			name:       "npm only",
			zip:        makeArchive(t, good...),
			ecosystems: []string{EcosystemNPM},
			want:       slices.DeleteFunc(slices.Clone(keptIDs), func(id string) bool { return id == "GO-2020-0001" }),
		},
		{
			name:       "go only, OSV's spelling",
			zip:        makeArchive(t, good...),
			ecosystems: []string{"Go"},
			want:       []string{"CRAFTED-0002", "GO-2020-0001"},
		},
		{
			name: "an upper-case extension is a record",
			zip:  makeArchive(t, archiveFile{name: "TEST-1.JSON", data: small}),
			want: []string{"TEST-1"},
		},
		{
			name: "an empty archive",
			zip:  makeArchive(t),
		},
		{
			name:  "a partial record",
			zip:   makeArchive(t, archiveFile{name: "a.json", data: small}, archiveFile{name: "b/partial.json", data: small[:40]}),
			err:   ErrInvalidRecord,
			entry: "b/partial.json",
		},
		{
			name:  "an entry that is not OSV",
			zip:   makeArchive(t, archiveFile{name: "x.json", data: []byte(`{"name":"a package.json"}`)}),
			err:   ErrInvalidRecord,
			entry: "x.json",
		},
		{
			name:  "an entry declared larger than a record may be",
			zip:   makeArchive(t, archiveFile{name: "big.json", data: small}),
			lim:   Limits{MaxRecordBytes: 50},
			err:   ErrTooLarge,
			entry: "big.json",
		},
		{
			// archive/zip itself refuses to read past the declared size; the reader
			// is also cut at the bound (TestBuilderCutsReader).
			name:  "an entry larger than it declares",
			zip:   makeArchive(t, archiveFile{name: "liar.json", data: small, lieSize: 10}),
			lim:   Limits{MaxRecordBytes: 50},
			err:   errAny,
			entry: "liar.json",
		},
		{
			name: "more entries than records allowed",
			zip:  makeArchive(t, archiveFile{name: "a.json", data: small}, archiveFile{name: "b.txt"}, archiveFile{name: "c.txt"}),
			lim:  Limits{MaxRecords: 2},
			err:  ErrTooLarge,
		},
		{
			name:  "too many bytes in all",
			zip:   makeArchive(t, archiveFile{name: "a.json", data: small}, archiveFile{name: "b.json", data: small}),
			lim:   Limits{MaxTotalBytes: int64(len(small)) + 10},
			err:   ErrTooLarge,
			entry: "b.json",
		},
		{
			name:  "a long entry name is clipped",
			zip:   makeArchive(t, archiveFile{name: strings.Repeat("d/", 200) + "x.json", data: []byte("{")}),
			err:   ErrInvalidRecord,
			entry: clip(strings.Repeat("d/", 200)+"x.json", 160),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ReadZip(bytes.NewReader(tt.zip), int64(len(tt.zip)), tt.ecosystems, tt.lim)
			if tt.err != nil {
				if err == nil || (!errors.Is(tt.err, errAny) && !errors.Is(err, tt.err)) {
					t.Fatalf("ReadZip = %v, want %v", err, tt.err)
				}
				var ee *EntryError
				if tt.entry != "" && (!errors.As(err, &ee) || ee.Entry != tt.entry) {
					t.Errorf("ReadZip = %v, want an *EntryError naming %q", err, tt.entry)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadZip: %v", err)
			}
			if got := recordIDs(set); !slices.Equal(got, tt.want) {
				t.Errorf("ReadZip kept %q, want %q", got, tt.want)
			}
			if set.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", set.Len(), len(tt.want))
			}
		})
	}
}

func TestReadZipDamaged(t *testing.T) {
	good := makeArchive(t, testdataFiles(t, "osv/")...)
	// Flip a byte inside the first entry's compressed data: its checksum fails.
	corrupt := slices.Clone(good)
	corrupt[100] ^= 0xff
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated", good[:len(good)/2]},
		{"not a zip", []byte("this is not a zip archive at all, not even close")},
		{"empty", nil},
		{"corrupt entry", corrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ReadZip(bytes.NewReader(tt.data), int64(len(tt.data)), nil, Limits{})
			if err == nil {
				t.Fatalf("ReadZip kept %d records of a damaged archive, want an error", set.Len())
			}
		})
	}
}

func TestReadZipUnknownEcosystem(t *testing.T) {
	data := makeArchive(t)
	if _, err := ReadZip(bytes.NewReader(data), int64(len(data)), []string{"npm", "cargo"}, Limits{}); err == nil || !strings.Contains(err.Error(), "cargo") {
		t.Errorf("ReadZip with an unknown ecosystem = %v, want an error naming it", err)
	}
	if _, err := ReadDir(t.TempDir(), []string{"maven"}, Limits{}); err == nil {
		t.Errorf("ReadDir with an unknown ecosystem succeeded, want an error")
	}
}

// writeTree writes files below dir.
func writeTree(t testing.TB, dir string, files ...archiveFile) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadDir(t *testing.T) {
	small := []byte(`{"id":"TEST-1","affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["1.0.0"]}]}`)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		lim   Limits
		want  []string
		err   error // errors.Is target, or errAny for any error
		entry string
	}{
		{
			name: "a tree of records, other files skipped",
			setup: func(t *testing.T, dir string) {
				files := testdataFiles(t, "")
				for i := range files {
					files[i].name = string(rune('a'+i%3)) + "/nested/" + files[i].name
				}
				writeTree(t, dir, append(files, archiveFile{name: "README.md", data: []byte("# not a record")})...)
			},
			want: keptIDs,
		},
		{
			name: "a link inside the tree is followed",
			setup: func(t *testing.T, dir string) {
				writeTree(t, dir, archiveFile{name: "store/one.txt", data: small})
				if err := os.Symlink(filepath.Join("..", "store", "one.txt"), filepath.Join(dir, "store", "link.json")); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"TEST-1"},
		},
		{
			name: "a link out of the tree fails",
			setup: func(t *testing.T, dir string) {
				outside := filepath.Join(t.TempDir(), "outside.json")
				if err := os.WriteFile(outside, small, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(outside, filepath.Join(dir, "escape.json")); err != nil {
					t.Fatal(err)
				}
			},
			err:   errAny,
			entry: "escape.json",
		},
		{
			name: "a linked directory is not walked",
			setup: func(t *testing.T, dir string) {
				other := t.TempDir()
				writeTree(t, other, archiveFile{name: "x.json", data: small})
				if err := os.Symlink(other, filepath.Join(dir, "linked")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "a directory named like a record is walked",
			setup: func(t *testing.T, dir string) {
				writeTree(t, dir, archiveFile{name: "d.json/x.json", data: small})
			},
			want: []string{"TEST-1"},
		},
		{
			name: "a partial record",
			setup: func(t *testing.T, dir string) {
				writeTree(t, dir, archiveFile{name: "a/partial.json", data: small[:30]})
			},
			err:   ErrInvalidRecord,
			entry: "a/partial.json",
		},
		{
			name: "a file larger than a record may be",
			setup: func(t *testing.T, dir string) {
				writeTree(t, dir, archiveFile{name: "big.json", data: small})
			},
			lim:   Limits{MaxRecordBytes: 20},
			err:   ErrTooLarge,
			entry: "big.json",
		},
		{
			name: "too many records",
			setup: func(t *testing.T, dir string) {
				writeTree(t, dir, archiveFile{name: "a.json", data: small}, archiveFile{name: "b.json", data: small})
			},
			lim:   Limits{MaxRecords: 1},
			err:   ErrTooLarge,
			entry: "b.json",
		},
		{
			name: "too many bytes in all",
			setup: func(t *testing.T, dir string) {
				writeTree(t, dir, archiveFile{name: "a.json", data: small}, archiveFile{name: "b.json", data: small})
			},
			lim:   Limits{MaxTotalBytes: int64(len(small)) + 1},
			err:   ErrTooLarge,
			entry: "b.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			set, err := ReadDir(dir, nil, tt.lim)
			if tt.err != nil {
				if err == nil || (!errors.Is(tt.err, errAny) && !errors.Is(err, tt.err)) {
					t.Fatalf("ReadDir = %v, want %v", err, tt.err)
				}
				var ee *EntryError
				if tt.entry != "" && (!errors.As(err, &ee) || ee.Entry != tt.entry) {
					t.Errorf("ReadDir = %v, want an *EntryError naming %q", err, tt.entry)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadDir: %v", err)
			}
			if got := recordIDs(set); !slices.Equal(got, tt.want) {
				t.Errorf("ReadDir kept %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ReadDir(filepath.Join(t.TempDir(), "missing"), nil, Limits{}); err == nil {
		t.Errorf("ReadDir of a missing directory succeeded, want an error")
	}
}

// errAny stands for "some error" in a test table.
var errAny = errors.New("any error")

func TestLimitsDefaults(t *testing.T) {
	got := Limits{}.withDefaults()
	want := Limits{MaxRecordBytes: 4 << 20, MaxRecords: 2_000_000, MaxTotalBytes: 8 << 30}
	if got != want {
		t.Errorf("Limits{}.withDefaults() = %+v, want %+v", got, want)
	}
	set := Limits{MaxRecordBytes: 1, MaxRecords: 2, MaxTotalBytes: 3}
	if got := set.withDefaults(); got != set {
		t.Errorf("withDefaults changed set limits: %+v, want %+v", got, set)
	}
}

// TestBuilderCutsReader checks that an entry is read no further than the bound,
// whatever size its source declared.
func TestBuilderCutsReader(t *testing.T) {
	b, err := newBuilder(nil, Limits{MaxRecordBytes: 50})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.NewReader(`{"id":"TEST-1","summary":"` + strings.Repeat("x", 1000) + `"}`)
	err = b.read("liar.json", 10, body)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("read = %v, want ErrTooLarge", err)
	}
	if read := int64(body.Size()) - int64(body.Len()); read > 51 {
		t.Errorf("read %d bytes of the entry, want at most 51", read)
	}
}

// TestWindowReader checks the windowed reader against the bytes it reads, read
// straight: every read returns the same bytes, count and end of file.
func TestWindowReader(t *testing.T) {
	data := make([]byte, 3*windowSize+1234)
	for i := range data {
		data[i] = byte(i * 7)
	}
	direct := bytes.NewReader(data)
	w := &windowReader{r: direct, size: int64(len(data)), buf: make([]byte, windowSize)}
	type read struct {
		off int64
		n   int
	}
	reads := []read{
		{0, 30}, {30, 100}, {10, 5}, // within the first window, and back
		{windowSize - 10, 30},                         // across a window's end
		{int64(len(data)) - 10, 10},                   // the last bytes
		{int64(len(data)) - 10, 30},                   // past the end
		{int64(len(data)), 1},                         // at the end
		{int64(len(data)) + 5, 1},                     // beyond it
		{100, windowSize},                             // larger than half a window
		{5, 0},                                        // nothing
		{2 * windowSize, windowSize/2 - 1},            // a new window
		{2*windowSize + windowSize/2, windowSize / 2}, // its end and past
	}
	for i := range 200 { // and a walk of small reads in order, as archive/zip reads
		reads = append(reads, read{int64(i * 4000), 30 + i%50})
	}
	for _, r := range reads {
		got, want := make([]byte, r.n), make([]byte, r.n)
		gn, gerr := w.ReadAt(got, r.off)
		wn, werr := direct.ReadAt(want, r.off)
		if gn != wn || !bytes.Equal(got[:gn], want[:wn]) || (gerr == nil) != (werr == nil) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; read straight: %d, %v", r.n, r.off, gn, gerr, wn, werr)
		}
	}
}
