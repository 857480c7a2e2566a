package upstream

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ecluse/ecluse/internal/redact"
)

// TestShortErrorScrubs: a registry's refusal is relayed to the client and logged, so
// whatever it echoes of the credential it was sent, or of any token, is removed first.
func TestShortErrorScrubs(t *testing.T) {
	const caller = "Bearer s3cr3t-caller-t0ken"
	tests := []struct {
		name, body string
		want       string
		absent     []string
	}{
		{"plain message kept", `{"error":"you may not read secret"}`, "you may not read secret", nil},
		{"reason field", `{"reason":"unauthorized for @corp/x@1.2.3"}`, "unauthorized for @corp/x@1.2.3", nil},
		{"echoed header", `{"error":"bad credential: Bearer s3cr3t-caller-t0ken"}`, "bad credential: " + redacted, []string{"s3cr3t"}},
		{"echoed token alone", `{"error":"token s3cr3t-caller-t0ken is revoked"}`, "token " + redacted + " is revoked", []string{"s3cr3t"}},
		{"npm token shape", `{"error":"npm_abcdefABCDEF0123456789abcdef0123 expired"}`, redacted + " expired", []string{"npm_abc"}},
		{"jwt shape", `{"error":"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIz rejected"}`, "jwt " + redacted + " rejected", []string{"eyJ"}},
		{"control characters", `{"error":"line\u001b[31m red\nnext"}`, "line [31m red next", []string{"\x1b", "\n"}},
		{"not json", `<html>Bearer s3cr3t-caller-t0ken</html>`, "", []string{"s3cr3t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shortError(strings.NewReader(tt.body), redact.New(caller))
			if got != tt.want {
				t.Errorf("shortError(%s) = %q, want %q", tt.body, got, tt.want)
			}
			for _, a := range tt.absent {
				if strings.Contains(got, a) {
					t.Errorf("shortError(%s) = %q still carries %q", tt.body, got, a)
				}
			}
		})
	}
	long := shortError(strings.NewReader(`{"error":"`+strings.Repeat("é", 500)+`"}`), redact.Secret{})
	if !utf8.ValidString(long) || len(long) > maxRelayed+len("…") {
		t.Errorf("a long message is relayed as %d bytes (valid UTF-8 %v), want at most %d", len(long), utf8.ValidString(long), maxRelayed)
	}
}
