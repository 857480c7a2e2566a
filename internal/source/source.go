package source

import (
	"context"
	"errors"
)

// Fetcher returns the value stored under a key in some source (an upstream document,
// parsed). Implementations are called from several goroutines at once.
type Fetcher[V any] interface {
	// Fetch returns the value under key, or why it could not. It honours ctx. An error
	// says through a Temporary method whether trying again soon may succeed (see
	// IsTemporary); the decorators cache only errors that say it would not.
	Fetch(ctx context.Context, key string) (V, error)
}

// Func adapts a function to Fetcher.
type Func[V any] func(ctx context.Context, key string) (V, error)

// Fetch calls f.
func (f Func[V]) Fetch(ctx context.Context, key string) (V, error) { return f(ctx, key) }

// temporary is the classification an error may carry.
type temporary interface {
	Temporary() bool
}

// IsTemporary reports whether the failure err describes may go away if the fetch is
// tried again: a timeout, an unreachable upstream, a 5xx. The outermost error in err's
// chain that has a Temporary() bool method decides; an error without one anywhere, and
// any cancellation or deadline (context.Canceled, context.DeadlineExceeded), count as
// temporary, so that only a failure explicitly marked permanent (a not-found, a
// malformed document: see Permanent) is ever reused. nil is not temporary.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t temporary
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return true
}

// Permanent marks err as a failure that trying again soon would not change (IsTemporary
// reports false for it), keeping its text and its chain. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Temporary() bool { return false }
