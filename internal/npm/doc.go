// Package npm is the npm registry protocol as data: package names and their URL
// spellings, packuments (full and abbreviated), versions, dist-tags, tarball paths and
// SRI integrity strings.
//
// It is pure: no I/O, no clock, no logging. Upstream bytes are hostile, so every parser
// here bounds what it accepts and returns an error rather than panicking.
package npm
