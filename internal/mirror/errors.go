package mirror

import (
	"context"
	"errors"
	"fmt"
)

// Kind says what retrying a failed job can achieve. The worker branches on it: a
// transient failure is given back to the queue with a backoff, a permanent one with the
// long delay that lets the queue's dead-letter policy end it.
type Kind uint8

const (
	// KindTransient is a failure worth retrying soon: a 5xx or 429 answer, a timeout, a
	// network error.
	KindTransient Kind = iota + 1
	// KindPermanent is a failure that retrying will not fix by itself: a 4xx answer
	// other than 409 and 429, an integrity mismatch, a conflicting artifact on the
	// target, a job naming an upstream this process does not know.
	KindPermanent
)

// String names the kind for logs and metrics.
func (k Kind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindPermanent:
		return "permanent"
	}
	return "unknown"
}

// Reason is a closed set of causes, for logs and metrics to branch on; the prose of an
// error is for people only.
type Reason string

// The reasons a job fails.
const (
	// ReasonNetwork: no answer (a refused connection, a timeout, a reset).
	ReasonNetwork Reason = "network"
	// ReasonStatus: an HTTP status that is neither success nor one of the cases below.
	ReasonStatus Reason = "status"
	// ReasonDenied: a 401 or 403.
	ReasonDenied Reason = "denied"
	// ReasonNotFound: the public upstream has no such package, version or tarball.
	ReasonNotFound Reason = "not_found"
	// ReasonRefused: the egress guard refused the fetch.
	ReasonRefused Reason = "refused"
	// ReasonTooLarge: a document or tarball is over its bound.
	ReasonTooLarge Reason = "too_large"
	// ReasonIntegrity: the tarball does not match the job's integrity, or the version
	// manifest disagrees with it.
	ReasonIntegrity Reason = "integrity_mismatch"
	// ReasonConflict: the target holds the version with a different artifact.
	ReasonConflict Reason = "conflict"
	// ReasonBadDocument: a registry served a document Écluse cannot read.
	ReasonBadDocument Reason = "bad_document"
	// ReasonUnknownUpstream: the job names a public upstream this process does not
	// read.
	ReasonUnknownUpstream Reason = "unknown_upstream"
	// ReasonLocal: a local failure (the spool file could not be written).
	ReasonLocal Reason = "local"
)

// Error is a failed step of a job, classified.
type Error struct {
	Kind   Kind
	Reason Reason
	// Op names the step: "lookup", "manifest", "fetch", "publish".
	Op string
	// Status is the HTTP status when one was received; 0 otherwise.
	Status int
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("mirror %s: %s (%s)", e.Op, e.Reason, e.Kind)
	}
	return fmt.Sprintf("mirror %s: %s (%s): %v", e.Op, e.Reason, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func transient(op string, reason Reason, err error) *Error {
	return &Error{Kind: KindTransient, Reason: reason, Op: op, Err: err}
}

func permanent(op string, reason Reason, err error) *Error {
	return &Error{Kind: KindPermanent, Reason: reason, Op: op, Err: err}
}

// KindOf classifies err: the Kind of the *Error it wraps, KindTransient for a context
// error and for anything unclassified (a failure nobody recognised is retried, and the
// queue's dead-letter policy bounds how often).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) && e.Kind != 0 {
		return e.Kind
	}
	return KindTransient
}

// ReasonOf returns the Reason of the *Error err wraps, or ReasonNetwork for a context
// error, or "" for anything unclassified.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ReasonNetwork
	}
	return ""
}

// ErrAlreadyPresent is returned by Publisher.Publish when the target refused the
// version because it already holds it with the same artifact (a 409, or the registry's
// equivalent, confirmed by reading the target back). The job is done.
var ErrAlreadyPresent = errors.New("version already present on the mirror target")

// ErrInvalidJob is matched by every error DecodeJob and Job.Encode return.
var ErrInvalidJob = errors.New("invalid mirror job")
