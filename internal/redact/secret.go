// Package redact holds secret values (tokens, passwords) so that no rendering of them
// can reach a log line, an error message or a JSON document.
//
// It must not do anything else: no I/O, no configuration.
package redact

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Placeholder is what every rendering of a non-empty Secret prints.
const Placeholder = "[REDACTED]"

// Secret is a sensitive string. Its zero value is the empty secret (not set).
// Every way Go has of rendering a value (String, GoString, fmt verbs, slog, JSON,
// text marshalling) prints Placeholder instead of the value; only Reveal returns it.
type Secret struct {
	v string
}

// New wraps s as a Secret.
func New(s string) Secret { return Secret{v: s} }

// Reveal returns the secret's value. Call it only where the value leaves the process
// on purpose (an outbound Authorization header).
func (s Secret) Reveal() string { return s.v }

// IsSet reports whether the secret holds a non-empty value.
func (s Secret) IsSet() bool { return s.v != "" }

// Equal compares the secret with candidate in constant time (for equal lengths).
func (s Secret) Equal(candidate string) bool {
	return subtle.ConstantTimeCompare([]byte(s.v), []byte(candidate)) == 1
}

func (s Secret) render() string {
	if s.v == "" {
		return ""
	}
	return Placeholder
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.render() }

// GoString implements fmt.GoStringer (the %#v verb).
func (s Secret) GoString() string { return fmt.Sprintf("redact.Secret(%q)", s.render()) }

// Format implements fmt.Formatter so that every verb (%s, %v, %q, %x, %d...) prints the placeholder.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.render())
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(s.GoString()))
			return
		}
		_, _ = f.Write([]byte(s.render()))
	default:
		_, _ = f.Write([]byte(s.render()))
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.render()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", s.render())), nil }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.render()), nil }
