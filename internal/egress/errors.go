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

// OptionError is one bad option New refused. Option names the Options field ("AllowedHosts",
// "AllowInternal", "DialTimeout", ...), Index the entry of a list field (-1 for a single
// value), so a caller can report it under its own name for the setting.
type OptionError struct {
	Option string
	Index  int
	// Msg says what is wrong with the value, without naming the option.
	Msg string
}

func (e *OptionError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("egress: %s[%d]: %s", e.Option, e.Index, e.Msg)
	}
	return fmt.Sprintf("egress: %s: %s", e.Option, e.Msg)
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
