package modgate

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The gate's errors. Each carries Message, the text for the person running the go
// command (which prints a failed response's body as the "server response"); what is
// logged is the whole Error(), cause included. Temporary reports, for the caches,
// whether asking again soon may give another answer.

// ErrNotFound is matched (with errors.Is) by every *NotFoundError.
var ErrNotFound = errors.New("not found")

// NotFoundError: no upstream that may be asked has the module, version or file. It
// becomes a 404, on which the go command falls back to the next proxy in its list.
type NotFoundError struct{ Message string }

func (e *NotFoundError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Temporary is false: a not-found is kept for a while.
func (e *NotFoundError) Temporary() bool { return false }

// BadRequestError is a request refused before anyone is asked: an invalid module path
// or a version that is not canonical.
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }

// RefusalKind says why a public version was refused. A caller branches on it and a
// metric counts it; the Message is for people.
type RefusalKind uint8

const (
	// RefusedByPolicy: the policy's decision (a rule, the default denial, or the
	// integrity floor when the checksum database has no record). The zero kind.
	RefusedByPolicy RefusalKind = iota
	// RefusedChecksum: the go.mod or zip the public proxy served does not match the
	// checksum database's authenticated record, or is not a valid module zip.
	RefusedChecksum
)

func (k RefusalKind) String() string {
	switch k {
	case RefusedByPolicy:
		return "policy"
	case RefusedChecksum:
		return "checksum"
	}
	return fmt.Sprintf("RefusalKind(%d)", uint8(k))
}

// RefusedError is the refusal of one public version. It becomes a 403 whose body is
// Message.
type RefusedError struct {
	Module, Version string
	Kind            RefusalKind
	// Rule names what decided: the policy's rule for RefusedByPolicy, "checksum-database"
	// for RefusedChecksum.
	Rule string
	// AdmitAt is when the version will be admitted if the policy stays the same (a
	// MinAge window still running); zero otherwise.
	AdmitAt time.Time
	// Message is one line: "Écluse refused {module}@{version}: {reason}".
	Message string
}

func (e *RefusedError) Error() string { return e.Message }

// RuleChecksumDatabase is the Rule of a RefusedChecksum refusal.
const RuleChecksumDatabase = "checksum-database"

// UpstreamDeniedError relays the private proxy's 401 or 403 to the client, as a 403.
type UpstreamDeniedError struct{ Message string }

func (e *UpstreamDeniedError) Error() string { return e.Message }

// UpstreamError is an upstream that could not be used: unreachable, failing, refused
// by the egress guard, serving a document that fails validation or one too large, or a
// checksum database that could not be reached or failed verification. It becomes a
// 502 with Message; Cause is for the log.
type UpstreamError struct {
	Message string
	Cause   error
	// permanent marks a failure that asking again soon will not change (a malformed
	// document), so the caches keep it.
	permanent bool
}

func (e *UpstreamError) Error() string {
	if e.Cause != nil && !strings.HasSuffix(e.Message, e.Cause.Error()) {
		return fmt.Sprintf("%s: %v", e.Message, e.Cause)
	}
	return e.Message
}

func (e *UpstreamError) Unwrap() error { return e.Cause }

// Temporary reports whether asking again soon may succeed.
func (e *UpstreamError) Temporary() bool { return !e.permanent }

// BusyError is a request that found no room in the memory budget in time. It becomes a
// 503 with a Retry-After of RetryAfter.
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

// RetryAfterDelay says how long the client should wait before trying again.
func (e *BusyError) RetryAfterDelay() time.Duration { return e.RetryAfter }

// busyRetryAfter is the Retry-After sent with a BusyError.
const busyRetryAfter = 5 * time.Second
