package upstream

import (
	"errors"
	"fmt"
)

// ErrNotFound reports that the upstream does not have the requested document or file.
var ErrNotFound = errors.New("not found upstream")

// ErrNotModified reports a 304 Not Modified answer to a conditional request: the
// document has not changed since the validators it was made with were sent.
var ErrNotModified = errors.New("not modified upstream")

// ErrTooLarge reports a metadata body over the configured limit.
var ErrTooLarge = errors.New("upstream response exceeds the size limit")

// DeniedError is an upstream's 401 or 403: the caller is not allowed to read this.
type DeniedError struct {
	Origin string // "private" or "public"
	Status int
	// Message is the upstream's own error text, when it sent a short JSON one.
	Message string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("%s upstream answered %d", e.Origin, e.Status)
}

// UnavailableError is any other failure to get an answer: a 5xx, an unexpected status, a
// timeout, a refused connection or a malformed response. It is never a reason to fall
// back to another upstream.
type UnavailableError struct {
	Origin string
	// Status is the HTTP status when one was received; 0 for transport failures.
	Status int
	// Refusal is set when the egress guard refused the fetch: the refused host and the
	// reason, safe to show a client. Empty otherwise.
	Refusal string
	Err     error
}

func (e *UnavailableError) Error() string {
	if e.Refusal != "" {
		return fmt.Sprintf("%s upstream fetch refused: %s", e.Origin, e.Refusal)
	}
	if e.Status != 0 {
		return fmt.Sprintf("%s upstream answered %d", e.Origin, e.Status)
	}
	return fmt.Sprintf("%s upstream unreachable: %v", e.Origin, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }
