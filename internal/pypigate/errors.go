package pypigate

import (
	"errors"
	"time"
)

// The gate's errors. Message is the text for the person running pip (the server puts
// it in the JSON body and the status line); Error() adds the cause for the log.

// ErrNotFound is matched (with errors.Is) by every *NotFoundError.
var ErrNotFound = errors.New("not found")

// NotFoundError: no index that may be asked has the project or file.
type NotFoundError struct{ Message string }

func (e *NotFoundError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Temporary is false: a not-found is kept for a while.
func (e *NotFoundError) Temporary() bool { return false }

// BadRequestError is a request refused before anyone is asked (an invalid project
// name or filename).
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }

// RefusedError is the refusal of one public file. It becomes a 403.
type RefusedError struct {
	Project, Version, Filename string
	// Rule names what decided: a policy rule, or RuleUnreadable / RuleFileHost /
	// RuleIntegrity for what the gate refuses itself.
	Rule string
	// AdmitAt is when the file will be admitted if the policy stays the same; zero
	// otherwise.
	AdmitAt time.Time
	// Message is one line: "Écluse refused {project} {version} ({filename}): {reason}".
	Message string
}

func (e *RefusedError) Error() string { return e.Message }

// Rules of the refusals the gate makes itself, before or after the policy.
const (
	// RuleUnreadable: the file's name does not say which version of the project it is,
	// or it is neither a wheel nor a source distribution.
	RuleUnreadable = "unreadable-file"
	// RuleFileHost: the page points to the file on a host the mount may not fetch from.
	RuleFileHost = "file-host"
	// RuleIntegrity: the bytes served do not match the page's hash.
	RuleIntegrity = "integrity-mismatch"
)

// UpstreamDeniedError relays the private index's 401 or 403, as a 403.
type UpstreamDeniedError struct{ Message string }

func (e *UpstreamDeniedError) Error() string { return e.Message }

// UpstreamError: an index could not be read or sent something unusable. It becomes a
// 502.
type UpstreamError struct {
	Message   string
	Cause     error
	permanent bool
}

func (e *UpstreamError) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *UpstreamError) Unwrap() error { return e.Cause }

// Temporary reports whether asking again soon may give another answer.
func (e *UpstreamError) Temporary() bool { return !e.permanent }

// BusyError: Écluse itself had no room (its in-flight memory budget) to read the page
// in time. It becomes a 503 with Retry-After.
type BusyError struct {
	Message string
	Cause   error
}

func (e *BusyError) Error() string { return e.Message + ": " + e.Cause.Error() }

func (e *BusyError) Unwrap() error { return e.Cause }

// Temporary is true: the budget frees up as other reads end.
func (e *BusyError) Temporary() bool { return true }

// RetryAfterDelay is the hint for the Retry-After header.
func (e *BusyError) RetryAfterDelay() time.Duration { return 2 * time.Second }

// ErrIntegrityMismatch ends a file stream whose bytes do not match the page's hash:
// the last byte is held back, so the client never receives the whole wrong file.
var ErrIntegrityMismatch = errors.New("file integrity mismatch")
