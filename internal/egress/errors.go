package egress

import (
	"errors"
	"fmt"
)

// RefusedError reports that the guard refused an outbound request or connection. The
// caller turns it into a 502 for the client, naming Host and Reason; both are safe to
// show (no userinfo, no query string).
type RefusedError struct {
	// Host is the refused host as written in the URL, with its port when the URL had
	// one. For a refusal at connect time it is the address being dialled.
	Host string
	// Reason says in a few words why, e.g. "host not in egress allowlist" or
	// "resolves to 10.0.0.1: private network address".
	Reason string
	// URL is the refused URL with userinfo, query and fragment removed. It is empty
	// when the refusal happened below the HTTP layer (while dialling).
	URL string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("egress refused host %q: %s", e.Host, e.Reason)
}

// ErrTooLarge is matched (errors.Is) by every *TooLargeError.
var ErrTooLarge = errors.New("response body over limit")

// TooLargeError is returned by a LimitReader once the body goes past its limit.
type TooLargeError struct {
	// Limit is the number of bytes that were allowed.
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("response body over limit of %d bytes", e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }
