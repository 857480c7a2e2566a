package server

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/ecluse/ecluse/internal/redact"
)

// Caller describes who made a request, for the log. It never holds a credential.
type Caller struct {
	// Identity is the gateway-asserted identity, when a trusted identity header is set.
	Identity string
	// Method is how the edge token was presented: "bearer", "basic", or "" (open edge).
	Method string
}

// authenticate checks the edge token. It returns the presentation method on success.
// An unset token means an open edge: every request passes.
func authenticate(token redact.Secret, r *http.Request) (method string, err error) {
	if !token.IsSet() {
		return "", nil
	}
	h := r.Header.Get("Authorization")
	scheme, value, _ := strings.Cut(h, " ")
	value = strings.TrimSpace(value)
	switch {
	case h == "":
		return "", unauthorized("authentication required: set the Écluse token as _authToken for this registry in .npmrc")
	case strings.EqualFold(scheme, "Bearer"):
		if token.Equal(value) {
			return "bearer", nil
		}
	case strings.EqualFold(scheme, "Basic"):
		raw, decErr := base64.StdEncoding.DecodeString(value)
		if decErr == nil {
			_, password, ok := strings.Cut(string(raw), ":")
			if ok && token.Equal(password) {
				return "basic", nil
			}
		}
	}
	return "", unauthorized("authentication failed: the token presented is not valid for this registry")
}

func unauthorized(msg string) *Error {
	return &Error{
		Status:  http.StatusUnauthorized,
		Message: msg,
		Header:  http.Header{"Www-Authenticate": {`Bearer realm="ecluse", Basic realm="ecluse"`}},
	}
}
