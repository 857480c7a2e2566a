package sqsqueue

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestSendable(t *testing.T) {
	for _, p := range payloads {
		if got := len(p.body) > 0 && sendable(p.body); got == p.encoded {
			t.Errorf("%s: sendable(%q) = %v, want %v", p.name, p.body, got, !p.encoded)
		}
	}
}

// FuzzBodyRoundTrip checks that every payload survives encodeBody and decodeBody and
// that what goes on the wire is a non-empty text SQS accepts.
func FuzzBodyRoundTrip(f *testing.F) {
	for _, p := range payloads {
		f.Add(p.body)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		text, attrs := encodeBody(payload)
		if text == "" || !utf8.ValidString(text) || !sendable([]byte(text)) {
			t.Fatalf("encodeBody(%q) = %q, want non-empty text SQS accepts", payload, text)
		}
		got, err := decodeBody(text, attrs)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("decodeBody(encodeBody(%q)) = %q, %v; want the payload", payload, got, err)
		}
	})
}
