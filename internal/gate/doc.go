// Package gate is Écluse's use case: for one npm read it asks the private upstream first,
// classifies what it got (internal package, mirror of public packages, or nothing),
// reads the public upstream when allowed, decides every public version with the policy,
// rewrites what it serves, caches, and schedules mirror jobs.
//
// An upstream document is fetched through layers, each wrapping the next behind one
// small interface (docFetcher, see fetch.go) and tested on its own: the cache, the
// singleflight that collapses concurrent fetches of one document, the writing of the
// answer to the cache, and the download and parse. Caching, collapsing and anything
// added later (tracing, metrics) wrap the fetch; they do not live inside it. Its
// errors are the gate's own typed errors, each saying through Temporary whether asking
// again soon may succeed.
//
// It declares the small interfaces it consumes (registry sources, the policy decider,
// the mirror enqueuer) and knows nothing of HTTP requests or responses: the server
// package turns its results and typed errors into HTTP.
package gate
