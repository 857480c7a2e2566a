package advisory

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// This file reads a source's records, from an OSV export zip or a directory of OSV
// JSON files, into a Set. Both readers treat every byte as hostile: each record and the
// source as a whole are bounded (Limits), and any record that is not valid OSV, or
// any bound passed, fails the whole read, so that a half-read source never replaces
// a good index.

// Errors a read fails with, inside an *EntryError when one entry is to blame.
var (
	// ErrInvalidRecord is an entry that is not a valid OSV record.
	ErrInvalidRecord = errors.New("not a valid osv record")
	// ErrTooLarge is a bound of Limits passed: a record too large, too many records,
	// or too many bytes in all.
	ErrTooLarge = errors.New("osv source exceeds a limit")
)

// EntryError is a read that failed on one entry of the source (a zip entry's name or
// a path below the directory read).
type EntryError struct {
	// Entry names the entry as the source does, clipped to a loggable length.
	Entry string
	// Err is the cause: ErrInvalidRecord, ErrTooLarge or an I/O error, wrapped.
	Err error
}

func (e *EntryError) Error() string { return fmt.Sprintf("osv entry %q: %v", e.Entry, e.Err) }

func (e *EntryError) Unwrap() error { return e.Err }

// entryError names entry (clipped) as the cause of err.
func entryError(entry string, err error) error {
	return &EntryError{Entry: clip(entry, 160), Err: err}
}

// Default bounds of Limits, used for a zero field.
const (
	defaultMaxRecordBytes = 4 << 20
	defaultMaxRecords     = 2_000_000
	defaultMaxTotalBytes  = 8 << 30
)

// withDefaults fills the zero (or negative) fields of l with the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = defaultMaxRecordBytes
	}
	if l.MaxRecords <= 0 {
		l.MaxRecords = defaultMaxRecords
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = defaultMaxTotalBytes
	}
	return l
}

// wanted reads the ecosystems a read keeps (Écluse's spelling, or OSV's); none given
// means all the index knows.
func wanted(ecosystems []string) ([ecoCount]bool, error) {
	var want [ecoCount]bool
	if len(ecosystems) == 0 {
		for i := range want {
			want[i] = true
		}
		return want, nil
	}
	for _, e := range ecosystems {
		i := ecoIndex(e)
		if i == ecoNone {
			return want, fmt.Errorf("unknown ecosystem %q (the index knows %s)", clip(e, 40), strings.Join(ecoNames[:], ", "))
		}
		want[i] = true
	}
	return want, nil
}

// builder accumulates one source's records.
type builder struct {
	lim     Limits
	want    [ecoCount]bool
	in      interner
	recs    []*record
	entries int   // records read, kept or not
	total   int64 // uncompressed bytes read
	buf     bytes.Buffer
}

func newBuilder(ecosystems []string, lim Limits) (*builder, error) {
	want, err := wanted(ecosystems)
	if err != nil {
		return nil, err
	}
	return &builder{lim: lim.withDefaults(), want: want}, nil
}

// read reads one entry's bytes from r, within the bounds, and parses the record.
// declared is the size the source declares for the entry.
func (b *builder) read(name string, declared int64, r io.Reader) error {
	max := b.lim.MaxRecordBytes
	if declared > max {
		return entryError(name, fmt.Errorf("%w: %d bytes, more than the %d a record may have", ErrTooLarge, declared, max))
	}
	b.entries++
	if b.entries > b.lim.MaxRecords {
		return entryError(name, fmt.Errorf("%w: more than %d records", ErrTooLarge, b.lim.MaxRecords))
	}
	b.buf.Reset()
	n, err := b.buf.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return entryError(name, fmt.Errorf("read: %w", err))
	}
	if n > max {
		return entryError(name, fmt.Errorf("%w: more than the %d bytes a record may have", ErrTooLarge, max))
	}
	b.total += n
	if b.total > b.lim.MaxTotalBytes {
		return entryError(name, fmt.Errorf("%w: more than %d bytes in all", ErrTooLarge, b.lim.MaxTotalBytes))
	}
	rec, err := parseRecord(b.buf.Bytes(), b.want, &b.in)
	if err != nil {
		return entryError(name, err)
	}
	if rec != nil {
		b.recs = append(b.recs, rec)
	}
	return nil
}

// set returns the records read as a Set.
func (b *builder) set() *Set {
	return &Set{setData{recs: b.recs}}
}

// isRecordName reports whether an entry's name is a record's: it ends in ".json".
func isRecordName(name string) bool {
	return len(name) >= 5 && strings.EqualFold(name[len(name)-5:], ".json")
}

// ReadZip reads an OSV export zip (every *.json entry is one record; other entries
// are skipped) of size bytes from r into a Set, keeping only records with an affected
// package of one of ecosystems (EcosystemNPM, ...; none means every ecosystem the index
// knows). A zero field of lim takes its default. Each entry is bounded twice: by the
// size the archive declares for it, and by cutting its reader past the bound. Every
// entry of the archive counts against MaxRecords. Any entry that is not a valid OSV
// record, or any bound passed, fails the whole read with an *EntryError naming the
// entry (wrapping ErrInvalidRecord or ErrTooLarge); a damaged archive fails it too.
func ReadZip(r io.ReaderAt, size int64, ecosystems []string, lim Limits) (*Set, error) {
	b, err := newBuilder(ecosystems, lim)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(&windowReader{r: r, size: size, buf: make([]byte, windowSize)}, size)
	if err != nil {
		return nil, fmt.Errorf("read osv zip: %w", err)
	}
	if len(zr.File) > b.lim.MaxRecords {
		return nil, fmt.Errorf("read osv zip: %w: %d entries, more than %d records", ErrTooLarge, len(zr.File), b.lim.MaxRecords)
	}
	for _, f := range zr.File {
		if f.Mode().IsDir() || !isRecordName(f.Name) {
			continue
		}
		declared := b.lim.MaxRecordBytes + 1 // past the bound, however large
		if f.UncompressedSize64 <= uint64(b.lim.MaxRecordBytes) {
			declared = int64(f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, entryError(f.Name, fmt.Errorf("open: %w", err))
		}
		err = b.read(f.Name, declared, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	return b.set(), nil
}

// windowSize is how much of a zip a windowReader reads at once.
const windowSize = 256 << 10

// windowReader reads a zip through a window of its bytes: archive/zip reads each entry
// with several small reads (its header, its data, its data descriptor), one system
// call each, while entries are small and laid out in order. Reading ahead a window at
// a time turns a few hundred thousand system calls into a few thousand. Reads larger
// than half a window go to r directly. Not safe for concurrent use.
type windowReader struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64 // where buf[:n] starts in r
	n    int
}

func (w *windowReader) ReadAt(p []byte, off int64) (int, error) {
	if len(p) > len(w.buf)/2 || off < 0 {
		return w.r.ReadAt(p, off)
	}
	if off < w.off || off+int64(len(p)) > w.off+int64(w.n) {
		if off >= w.size {
			return 0, io.EOF
		}
		want := min(int64(len(w.buf)), w.size-off)
		n, err := w.r.ReadAt(w.buf[:want], off)
		if int64(n) < want {
			w.n = 0
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		w.off, w.n = off, n
	}
	start := int(off - w.off)
	n := copy(p, w.buf[start:w.n])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// ReadDir reads a directory tree of OSV JSON files (every *.json file below dir is
// one record; other files are skipped) into a Set, as ReadZip does. Symbolic links
// are followed only while they stay inside dir: one leading out of it fails the read,
// as does any file that is not a regular one once its links are followed.
func ReadDir(dir string, ecosystems []string, lim Limits) (*Set, error) {
	b, err := newBuilder(ecosystems, lim)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("read osv directory: %w", err)
	}
	defer func() { _ = root.Close() }()
	fsys := root.FS()
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return entryError(p, err)
		}
		if d.IsDir() || !isRecordName(p) {
			return nil
		}
		// Look before opening: opening a FIFO would wait for a writer.
		var info fs.FileInfo
		if d.Type()&fs.ModeSymlink != 0 {
			info, err = fs.Stat(fsys, p)
		} else {
			info, err = d.Info()
		}
		if err != nil {
			return entryError(p, err)
		}
		if !info.Mode().IsRegular() {
			return entryError(p, fmt.Errorf("%w: not a regular file", ErrInvalidRecord))
		}
		f, err := fsys.Open(p)
		if err != nil {
			return entryError(p, err)
		}
		err = b.read(p, info.Size(), f)
		_ = f.Close()
		return err
	})
	if err != nil {
		return nil, err
	}
	return b.set(), nil
}
