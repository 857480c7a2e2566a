// Package modgate is Écluse's Go modules use case: for one GOPROXY read (a version
// list, an @latest, a version's .info, go.mod or zip, or a checksum database file) it
// asks the private module proxy first, falls back to the public one only on a clean
// "not found", decides every public version with the policy, verifies every public
// go.mod and zip against the checksum database before a byte of it is served, and
// caches what it read.
//
// Its inputs about a public version are the .info document's Time (the commit time
// the module's author chose, not a time any registry recorded) and the checksum
// database's authenticated record (the integrity floor: a version the database has no
// record of carries no digest, and the policy refuses it). Internal modules are
// served from the private proxy only, and never looked up in the checksum database.
//
// It declares the small interfaces it consumes (module proxy sources, the policy
// decider, the checksum database checker) and knows nothing of HTTP requests or
// responses: the server package turns its results and typed errors into HTTP. It must
// not parse the GOPROXY protocol itself (that is package gomod), build HTTP clients
// (package upstream and egress do), or name any real proxy or checksum database.
package modgate
