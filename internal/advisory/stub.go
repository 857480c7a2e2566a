package advisory

// Placeholder implementations of the contract, replaced by the real ones.

import (
	"errors"
	"io"
	"time"
)

type affectedData struct{}

func (a *Affected) contains(string) bool { return false }
func (a *Affected) semverRange() string  { return "<0.0.0-0" }

type snapshotData struct {
	gen     uint64
	built   time.Time
	records int
}

func (s *Snapshot) lookup(string, string) []Match { return nil }

type setData struct{}

func (s *Set) len() int { return 0 }

var errUnimplemented = errors.New("unimplemented")

// ReadZip: see contract.go.
func ReadZip(r io.ReaderAt, size int64, ecosystems []string, lim Limits) (*Set, error) {
	return nil, errUnimplemented
}

// ReadDir: see contract.go.
func ReadDir(dir string, ecosystems []string, lim Limits) (*Set, error) {
	return nil, errUnimplemented
}

// Merge: see contract.go.
func Merge(gen uint64, at time.Time, sets ...*Set) *Snapshot {
	return &Snapshot{snapshotData{gen: gen, built: at}}
}
