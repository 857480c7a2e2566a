package policy

import "time"

// Version is the ecosystem-neutral view of one version an untrusted (public) upstream
// offers: what every rule and the integrity floor read. Each ecosystem's gate fills it
// from its own wire format (an npm packument's version, a Go module's .info and
// checksum-database record, a PyPI file, ...); the policy never sees the wire format.
type Version struct {
	// Name is the package's name in the ecosystem's own spelling ("left-pad",
	// "@scope/name", "example.com/mod"). Name patterns match it.
	Name string
	// Version is the exact version string in the ecosystem's own syntax; the mount's
	// Ordering interprets it for ranges.
	Version string
	// Published is when the version was published, as far as the ecosystem can tell.
	// The zero value means unknown: no MinAge window ever admits it.
	Published time.Time
	// TimeSource says where Published came from and so how far it can be trusted, for
	// explanations ("registry" for a time the registry recorded when it accepted the
	// upload; "author" for one the author chose, such as a Go commit time). Empty means
	// "registry".
	TimeSource string
	// Digests are the integrity digests the version's artifact is published with, in
	// the order the registry wrote them. The integrity floor reads their algorithms and
	// checks that each value is well formed; it never recomputes one. Nil means none.
	Digests []Digest
	// InstallScripts names what would run on the client when the version is installed
	// (npm's preinstall/install/postinstall, a native build, a setup.py). Nil means
	// nothing runs at install time, so DenyInstallTimeExecution abstains; an ecosystem
	// where nothing ever runs at install (Go) leaves it nil. The policy does not modify
	// it, so it may share memory with the caller's own lists.
	InstallScripts []string
	// InstallSummary, when set, says how the version runs code at install, as the rest
	// of a sentence that starts with its name and version ("builds a native addon at
	// install time (binding.gyp)"), for denial reasons. Empty means the reason is built
	// from InstallScripts ("declares a postinstall script").
	InstallSummary string
	// Deprecated is the registry's deprecation message. Empty means not deprecated.
	Deprecated string
	// Yanked reports that the registry withdrew the version (a yanked PyPI file or
	// crate, a retracted Go version).
	Yanked bool
	// Refusal, when set, is a refusal Écluse itself recorded for this version (after
	// reading its artifact): Decide refuses with it before any rule. Nil means none.
	Refusal *Refusal
	// Advice is what the advisory index says of this version, read by DenyIfCVE,
	// DenyMalicious and AllowIfRemediatesCve. The zero value means no index has loaded,
	// which those rules treat as their onMissingIndex setting says (deny by default).
	Advice Advice
}

// Digest is one integrity digest of a version's artifact.
type Digest struct {
	// Algorithm is the lower-case algorithm name: "sha1", "sha256", "sha384", "sha512",
	// "blake2b", or whatever the registry wrote (unknown names never satisfy the floor).
	Algorithm string
	// Value is the digest as the registry wrote it. For the algorithms the floor knows
	// (sha256, sha384, sha512, blake2b) it is well formed only as standard padded
	// base64 of exactly the algorithm's digest size, the spelling of SRI, of Go's "h1:"
	// and of the checksum database; a registry that writes hex is converted by its gate.
	// Empty or malformed values never satisfy the floor. Other algorithms' values are
	// not read.
	Value string
	// Legacy, when set, names the registry's legacy field the digest came from (npm's
	// "shasum"), for explanations: a version with nothing else is described as having
	// "only a legacy sha1 shasum". Empty means the registry's usual integrity field.
	Legacy string
}

// Refusal is a refusal of one version that no rule of the policy made by itself.
type Refusal struct {
	// Rule names what refused the version: a rule of the policy, or a name reserved for
	// Écluse's own checks (RuleTarballManifest, ...).
	Rule string
	// Reason says why, for the person who asked for the version.
	Reason string
}

// Ordering is what an ecosystem tells the policy about its versions: how a version
// range written in a package pattern ("name@<range>") is read. npm's semver is one
// implementation, Go's module versions another. Implementations live in the ecosystem's
// package, which need not import policy.
type Ordering interface {
	// CompileRange parses a range as written after "@" in a pattern and returns a
	// predicate reporting whether a version string lies in it. A version the ecosystem
	// cannot parse is outside every range. The predicate must be safe for concurrent use
	// and should not allocate. An error says why the range is not valid, in words for
	// the operator.
	CompileRange(expr string) (func(version string) bool, error)
}
