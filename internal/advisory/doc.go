// Package advisory is Écluse's local index of known vulnerabilities and malicious
// packages, built from OSV records (https://ossf.github.io/osv-schema/).
//
// It reads OSV exports (a zip of OSV JSON records, or a directory of them), keeps of
// each record only what matching and messages need, and answers one question fast:
// which advisories affect this version of this package in this ecosystem. Version
// ranges are matched as OSV's own tooling matches them: SEMVER and ECOSYSTEM ranges
// with introduced, fixed, last_affected and limit events, explicit version lists,
// prereleases ordered as SemVer 2.0 (and so node-semver) orders them.
//
// A Snapshot is an immutable index with a generation number; the Syncer refreshes it
// from its sources in the background and swaps a new one in atomically, keeping the
// last good one when a sync fails. The package does not decide anything: the policy
// reads what a Snapshot reports, and the gate passes it in.
//
// Every byte of a source is hostile: downloads go through the egress-guarded client
// the caller gives, are bounded in size, spooled to disk rather than memory, and a
// record that does not parse makes the whole sync fail (the last good index stays).
package advisory
