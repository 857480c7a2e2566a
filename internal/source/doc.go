// Package source holds the decorators that wrap a document source: a Fetcher that
// returns the value under a string key, and the layers that make it cheap to ask
// often — Cached (reuse a value or a permanent failure for a while) and Singleflight
// (collapse concurrent fetches of one key into one). A gate composes them as
// Cached(Singleflight(fetcher)): a miss in the cache joins the fetch already in
// flight for its key, if there is one.
//
// It knows nothing of registries, HTTP or ecosystems: keys are strings, values are
// whatever the caller fetches, and the only thing it reads in an error is its
// Temporary() classification (see IsTemporary). Values are shared between callers
// once fetched, so callers must treat them as immutable.
package source
