// Package pypi is the Python Simple Repository API as data: project names and their
// PEP 503 normalisation, PEP 440 versions and version specifiers, distribution
// filenames (wheels, source distributions and the older kinds), the project page in
// its two forms (PEP 691 JSON and PEP 503 HTML) read and written, and the choice
// between those forms from an Accept header.
//
// It is pure: no I/O, no network, no clock, no logging, and nothing beyond the
// standard library (the HTML form is read by a small scanner written here, not by an
// HTML library). Upstream pages are hostile, so every parser bounds what it accepts
// (see Limits), runs in time linear in its input, and returns an error rather than
// panicking.
//
// It must not import the policy package (Ordering satisfies policy.Ordering without
// it; the consumer asserts that) and must not name any real package registry: URLs
// on a page are kept as written and never resolved here.
package pypi
