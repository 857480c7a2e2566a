package npm

import "time"

// VersionInfo is the small typed view of one version of a package that the policy
// engine decides on. The npm layer fills it from a packument; nothing else reads the
// raw manifest for a decision.
type VersionInfo struct {
	// Name is the package name ("left-pad", "@scope/name").
	Name string
	// Version is the exact semver string of this version.
	Version string
	// Published is the version's publish time from the packument's "time" map. The zero
	// value means the time was absent or unparseable.
	Published time.Time
	// Integrity is dist.integrity as served: an SRI string, possibly several
	// space-separated "alg-base64" digests. Empty means absent.
	Integrity string
	// Shasum is dist.shasum (legacy SHA-1, hex). It never satisfies the integrity floor.
	Shasum string
	// Signatures is dist.signatures exactly as served: the JSON text of the value (an
	// array of {"keyid", "sig"} objects from a registry that signs), unparsed and
	// unchecked; signing.ParseSignatures reads it. Empty means absent.
	Signatures string
	// InstallScripts lists which of "preinstall", "install", "postinstall" the
	// manifest's scripts declare with a value JavaScript would treat as true (a non-empty
	// string, a number, an object), in that order. Nil means none.
	InstallScripts []string
	// HasInstallScript is the manifest's hasInstallScript flag.
	HasInstallScript bool
	// Gypfile is the manifest's gypfile flag (a binding.gyp the client would build).
	Gypfile bool
	// Deprecated is the manifest's deprecation message. Empty means not deprecated.
	Deprecated string
	// Refusal, when set, is a refusal Écluse itself recorded for this version after
	// reading its tarball (its package.json disagreed with the registry's metadata, or
	// it ran code a rule denies): the policy refuses the version with it, before any
	// rule. A parsed packument never sets it; the gate sets it on a copy. Nil means none.
	Refusal *Refusal
}

// Refusal is a refusal of one version that no rule of the policy made by itself.
type Refusal struct {
	// Rule names what refused the version: a rule of the policy, or a name reserved
	// for Écluse's own checks.
	Rule string
	// Reason says why, for the person who asked for the version.
	Reason string
}
