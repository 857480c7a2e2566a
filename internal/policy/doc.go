// Package policy is Écluse's rules engine: it turns the rules section of the
// configuration document into a compiled Policy, and decides for each version offered
// by a public upstream whether it may be served.
//
// It knows no ecosystem. A version reaches it as a Version (name, version string,
// publish time, digests, what runs at install, ...), which each ecosystem's gate fills
// from its own wire format; version ranges in package patterns are read by the mount's
// Ordering (npm's semver, Go's module versions), which lives in the ecosystem's own
// package. The rules map is the policy's own schema: Build decodes it from raw JSON and
// reports every problem under its document path. Package-name patterns, here and
// wherever the program matches names, use one glob dialect (CompileGlob, CompileNames).
//
// A Policy is the built-in default (a single MinAge rule, "min-age", with a 7-day
// window) with the document merged over it, plus the integrity floor. Decisions are
// deny-by-default: a version is served only when some rule admits it at the highest
// precedence where any enforcing rule has an opinion, and no rule denies it there.
// The integrity floor is checked before any rule and no rule can lift it.
//
// The package is pure and imports only the standard library. It must not do I/O, read
// the clock (callers pass now), log, or keep state between decisions; everything it
// knows comes from Build's arguments and the version being decided. It must only ever
// be asked about untrusted versions: the trusted private upstream is exempt from both
// the rules and the floor, and the gate never calls Decide for it.
//
// Decide sits on the hot path of every document served, so the allow path does not
// allocate: patterns are compiled at Build, reasons are built only when asked for.
package policy
