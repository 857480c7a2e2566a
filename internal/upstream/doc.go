// Package upstream holds the registry clients Écluse reads from: the trusted private
// upstream and the untrusted public one. Each read is bounded, each failure is a typed
// error the gate branches on, and URLs are redacted before they reach an error or a log.
//
// It does not decide anything about packages and does not build HTTP clients: the
// caller hands in the *http.Client (the egress guard's for untrusted origins).
package upstream
