package advisory

// This file is the package's contract: the types and entry points the rest of Écluse
// uses. The implementations live in the files named per capability.

import "time"

// The ecosystems the index knows, in Écluse's own spelling (a mount's ecosystem). OSV
// spells them "npm", "Go" and "PyPI".
const (
	EcosystemNPM  = "npm"
	EcosystemGo   = "go"
	EcosystemPyPI = "pypi"
)

// Severity is an advisory's severity level, ordered: a higher value is more severe.
type Severity uint8

// The severity levels. SeverityUnknown is an advisory that states none the index can
// read (no CVSS v3 vector, no database_specific.severity).
const (
	SeverityUnknown Severity = iota
	SeverityLow
	SeverityModerate
	SeverityHigh
	SeverityCritical
)

// Advisory is one OSV record as the index keeps it. It is immutable once in a
// Snapshot and shared by every match.
type Advisory struct {
	// ID is the record's id ("GHSA-xxxx-xxxx-xxxx", "MAL-2024-1234", ...).
	ID string
	// Aliases are the record's other ids (CVE-..., GHSA-...), as written. Nil when none.
	Aliases []string
	// Summary is the record's summary (or the start of its details when it has none),
	// clipped to a few hundred bytes. Empty when neither is given.
	Summary string
	// Severity is read from database_specific.severity when present, else from a CVSS
	// v3 vector's base score. SeverityUnknown otherwise.
	Severity Severity
	// Score is the CVSS v3 base score computed from Vector; 0 when there is no v3 vector.
	Score float64
	// Vector is the record's CVSS vector string as given (v3 preferred); empty when none.
	Vector string
	// CWEs are the weakness ids of database_specific.cwe_ids ("CWE-79"); nil when none.
	CWEs []string
	// Published and Modified are the record's times; zero when absent or malformed.
	Published, Modified time.Time
	// Malicious marks a malicious-package report (an id starting "MAL-").
	Malicious bool
	// URL is where a person reads the advisory: the GitHub advisory page for a GHSA id
	// (the record's own or an alias), else the OSV page of the id.
	URL string
}

// Match is one advisory's statement about one package: the advisory, and the
// affected[] entry (or entries, merged) that names the package.
type Match struct {
	Advisory *Advisory
	Affected *Affected
}

// Affected is the compiled affected[] entries of one advisory for one package: its
// ranges and explicit versions. It is immutable and safe for concurrent use.
type Affected struct {
	affectedData
}

// Snapshot is one immutable generation of the index.
type Snapshot struct {
	snapshotData
}

// Generation numbers the snapshot: each swap by the Syncer increases it by one. The
// first loaded index is generation 1.
func (s *Snapshot) Generation() uint64 { return s.gen }

// Built is when the snapshot was assembled.
func (s *Snapshot) Built() time.Time { return s.built }

// Records counts the advisories kept (withdrawn and other-ecosystem records are not).
func (s *Snapshot) Records() int { return s.records }

// Package returns what the snapshot knows about one package of an ecosystem
// (EcosystemNPM, ...): one Match per advisory naming it, in a stable order (by
// advisory id). The name is normalised as the ecosystem does before lookup (npm:
// lower case). Nil when no advisory names the package or s is nil. The result is
// shared: callers must not modify it.
func (s *Snapshot) Package(ecosystem, name string) []Match {
	if s == nil {
		return nil
	}
	return s.lookup(ecosystem, name)
}

// Contains reports whether version lies in the affected ranges or versions. A version
// the ecosystem's ordering cannot parse is outside every range, but still matched by
// an explicit versions list (exact string).
func (a *Affected) Contains(version string) bool { return a.contains(version) }

// Range spells the affected ranges and versions as one node-semver range ("<1.0.1",
// ">=2.0.0 <2.3.1 || 3.0.0"), for npm audit's vulnerable_versions. A record that
// affects nothing readable gives "<0.0.0-0".
func (a *Affected) Range() string { return a.semverRange() }

// Set is the records one source yielded, parsed and compiled, ready to be merged
// into a Snapshot with the other sources' sets.
type Set struct {
	setData
}

// Len is the number of records kept in the set.
func (s *Set) Len() int { return s.len() }

// Limits bound what one source may make the index hold.
type Limits struct {
	// MaxRecordBytes bounds one record's JSON. Zero means 4 MiB.
	MaxRecordBytes int64
	// MaxRecords bounds the records of one source. Zero means 2,000,000.
	MaxRecords int
	// MaxTotalBytes bounds the uncompressed bytes of one source. Zero means 8 GiB.
	MaxTotalBytes int64
}
