// Package pypigate is Écluse's PyPI use case: for one Simple API read (a project page,
// a file, a file's PEP 658 metadata) it asks the private index first, falls back to the
// public one only on a clean "not found", decides every public file with the policy,
// rewrites what it serves so that files are fetched back through the mount, and
// verifies every file's bytes against the hash its page published before the last of
// them is served.
//
// A public file is decided on its own: its publish time is the page's PEP 700
// upload-time (a file without one has no known age), its integrity is the page's
// sha256 or stronger hash (an md5 alone does not count), a source distribution runs
// its build backend when installed, and a yanked file keeps its yank. A version is
// listed while at least one of its files is admitted.
//
// It knows nothing of HTTP requests or responses: the server package turns its
// results and typed errors into HTTP. The Simple API's formats are package pypi's.
package pypigate
