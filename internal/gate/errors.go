package gate

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The errors a document fetch returns (*NotFoundError, *UpstreamDeniedError,
// *UpstreamError, *BusyError) say through a Temporary method whether asking again soon
// may give another answer, so that a layer around the fetch (a cache, a retry) can
// branch on it without reading their text.

// ErrNotFound: no upstream that may be asked has the package, version or file.
var ErrNotFound = errors.New("not found")

// NotFoundError is ErrNotFound with a message for the client.
type NotFoundError struct{ Message string }

func (e *NotFoundError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Temporary is false: the upstream answered that it does not have it.
func (e *NotFoundError) Temporary() bool { return false }

// BadRequestError is a request Écluse refuses before asking anyone (a malformed name).
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }

// DeniedError is a policy denial of one version: its Message is the policy's reason.
type DeniedError struct {
	Name, Version string
	Rule          string
	Message       string
}

func (e *DeniedError) Error() string { return e.Message }

// UpstreamDeniedError relays a private upstream's 401 or 403 to the client.
type UpstreamDeniedError struct {
	Status  int
	Message string
}

func (e *UpstreamDeniedError) Error() string { return e.Message }

// Temporary is false: the upstream refused the caller's credential.
func (e *UpstreamDeniedError) Temporary() bool { return false }

// UpstreamError is an upstream that could not be used: unreachable, failing, refused by
// the egress guard, or serving a document that fails validation. The client gets a 502
// with Message; Cause is for the log.
type UpstreamError struct {
	Message string
	Cause   error
	// permanent marks an answer that asking again soon will not change (see
	// Temporary).
	permanent bool
}

func (e *UpstreamError) Error() string {
	if e.Cause != nil && !strings.HasSuffix(e.Message, e.Cause.Error()) {
		return fmt.Sprintf("%s: %v", e.Message, e.Cause)
	}
	return e.Message
}

func (e *UpstreamError) Unwrap() error { return e.Cause }

// Temporary reports whether asking again soon may succeed: true for an upstream that
// could not be reached or failed (a timeout, a 5xx, a broken connection), false for
// one that answered in a way asking again will not change (a document that fails
// validation or is too large, a refusal by the egress guard or by the public
// registry, a tarball URL or digest Écluse cannot use).
func (e *UpstreamError) Temporary() bool { return !e.permanent }

// BusyError is a request Écluse could not serve for lack of room in its memory budget.
// The client gets a 503 with Message and a Retry-After of RetryAfter; Cause is for the
// log.
type BusyError struct {
	Message    string
	RetryAfter time.Duration
	Cause      error
}

func (e *BusyError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Cause)
	}
	return e.Message
}

func (e *BusyError) Unwrap() error { return e.Cause }

// Temporary is true: room in the budget is made as other fetches end.
func (e *BusyError) Temporary() bool { return true }

// RetryAfterDelay says how long the client should wait before trying again.
func (e *BusyError) RetryAfterDelay() time.Duration { return e.RetryAfter }

// busyRetryAfter is the Retry-After sent with a BusyError.
const busyRetryAfter = 5 * time.Second
