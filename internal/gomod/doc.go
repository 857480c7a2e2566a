// Package gomod is the Go module proxy protocol (GOPROXY) as data: the request paths a
// go command sends to a module mount, module paths and versions in their "!"
// case-encoding, version lists and how the go command orders and picks from them,
// .info documents, the h1: hashes of module zips and go.mod files, and verification of
// those hashes against a checksum database's signed, append-only log.
//
// It is pure: no network I/O, no clock, no logging. Reaching a checksum database is
// left to a Fetcher the caller supplies; this package only decides whether the bytes
// it returns are authentic. Upstream bytes are hostile, so every parser here bounds
// what it accepts and returns a typed error rather than panicking.
//
// It must not name any real registry, proxy or checksum database: the caller passes
// the database's verifier key and its fetcher.
package gomod
