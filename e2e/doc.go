// Package e2e holds Écluse's black-box tests: they build the ecluse binary, run it as a
// subprocess, and drive it with the real npm, pnpm and yarn CLIs against a fixture public
// registry (an in-process HTTP server serving packuments and tarballs built by each test) and
// a real Verdaccio as the private upstream. The Go modules mount is driven the same way
// with the real go command, against fixture module proxies and an in-process checksum
// database built by the tests, and the PyPI mount with the real pip, against fixture
// Simple API indexes (a separate files host included) serving wheels and sdists the tests
// build.
//
// Everything lives in _test.go files; this file exists only to name the package. The tests
// need Node.js (20 or later) with npm on PATH, and Python 3 with pip, and fail, rather than
// skip, without them. The
// other tools (Verdaccio, pnpm, yarn) are installed on first use by scripts/install-tools.sh
// into a cache directory. The tests must never fetch package data from a public registry:
// every package they install comes from the fixture registry or from Verdaccio. One test per
// ecosystem may use the public upstream the client is configured with (npm config get
// registry, go env GOPROXY, pip's index-url) when it is reachable, and says so when it skips.
package e2e
