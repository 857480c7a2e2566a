package npm

import "errors"

// Sentinels for the ways a package document can be refused. A *DocumentError wraps
// exactly one of them, so callers can tell them apart with errors.Is.
var (
	// ErrTooLarge: the document is bigger than Limits.MaxBytes.
	ErrTooLarge = errors.New("package document too large")
	// ErrTooDeep: objects and arrays nest deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("package document nested too deeply")
	// ErrTooManyVersions: versions has more entries than Limits.MaxVersions.
	ErrTooManyVersions = errors.New("package document has too many versions")
	// ErrTooManyDistTags: dist-tags has more entries than Limits.MaxDistTags.
	ErrTooManyDistTags = errors.New("package document has too many dist-tags")
	// ErrNameMismatch: the document's name is missing or is not the name asked for.
	ErrNameMismatch = errors.New("package document is for another package")
	// ErrMalformed: not JSON, invalid UTF-8, duplicate keys, or a field of the wrong
	// shape.
	ErrMalformed = errors.New("malformed package document")
)

// ErrVersionNotFound: RenderVersion was asked for a version or dist-tag that the
// served document does not have.
var ErrVersionNotFound = errors.New("no such version or dist-tag")

// DocumentError is why ParsePackument refused a document. Its Error text is written
// for the npm user who will read it in a 502 response: it names the problem, never
// echoes more than a short, quoted piece of the upstream bytes, and holds no URL.
type DocumentError struct {
	// Reason is the public description, e.g. `it has more than 5000 versions`.
	Reason string
	// Err is one of the sentinels above, possibly wrapping a lower-level cause
	// (a jsontext syntax error) that belongs in logs.
	Err error
}

func (e *DocumentError) Error() string { return e.Reason }

func (e *DocumentError) Unwrap() error { return e.Err }

func docError(kind error, reason string) *DocumentError {
	return &DocumentError{Reason: reason, Err: kind}
}
