package upstream

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ecluse/ecluse/internal/redact"
)

// countingReader counts what is read from r and hands it out at most chunk bytes at a
// time, optionally with io.EOF on the read that returns the last bytes.
type countingReader struct {
	r           io.Reader
	n           int64
	chunk       int
	eofWithData bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.chunk > 0 && len(p) > c.chunk {
		p = p[:c.chunk]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == nil && c.eofWithData {
		if br, ok := c.r.(*bytes.Reader); ok && br.Len() == 0 {
			err = io.EOF
		}
	}
	return n, err
}

// fzTokenSecret reports whether a fuzzed secret is one the scrubbing property can be
// stated for: at least 8 token characters, and not text the scrubber writes itself.
func fzTokenSecret(s string) bool {
	if len(s) < 8 || strings.Contains(redacted, s) || strings.Contains("…", s) {
		return false
	}
	for _, r := range s {
		if !tokenRune(r) {
			return false
		}
	}
	return true
}

// FuzzShortError feeds an upstream's 401/403 body, and the credentials that were sent,
// to the error-message reader. It reads at most 4096 bytes; a body that is not JSON
// gives ""; a message is relayed (non-empty exactly when the JSON "error", else
// "reason", is) as at most maxRelayed bytes plus an ellipsis of valid UTF-8 without
// control characters; and a credential sent, whole or as the token of "Bearer x", never
// comes back.
func FuzzShortError(f *testing.F) {
	for _, s := range []string{
		`{"error":"you may not read secret"}`, `{"reason":"token expired"}`, `{"error":"","reason":"r"}`,
		`{"error":1}`, `not json`, ``, `{"error":"a"} trailing`, `{"error":"\u00e9\ud800"}`,
		`{"error":"` + strings.Repeat("x", 400) + `"}`, `{"error":"` + strings.Repeat("y", 5000) + `"}`,
		"{\"error\":\"\xff\xfe\"}", `{"Error":"case"}`, `{"error":"` + strings.Repeat("a", 199) + `é"}`,
		`{"error":"bad credential: Bearer s3cr3t-caller-t0ken"}`, `{"error":"s3cr3t-caller-t0kens3cr3t-caller-t0ken"}`,
		`{"error":"line\u001b[31m red\nnext\u0085"}`,
	} {
		f.Add([]byte(s), "s3cr3t-caller-t0ken", true)
	}
	f.Fuzz(func(t *testing.T, body []byte, secret string, asBearer bool) {
		sent := redact.New(secret)
		if asBearer {
			sent = redact.New("Bearer " + secret)
		}
		r := &countingReader{r: bytes.NewReader(body)}
		msg := shortError(r, sent)
		if r.n > 4096 {
			t.Fatalf("shortError read %d bytes, more than 4096", r.n)
		}
		var ref struct {
			Error  string `json:"error"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(body[:min(len(body), 4096)], &ref) != nil {
			if msg != "" {
				t.Fatalf("shortError(%q) = %q from a body that is not JSON", body, msg)
			}
			return
		}
		full := ref.Error
		if full == "" {
			full = ref.Reason
		}
		if (msg == "") != (full == "") {
			t.Fatalf("shortError(%q) = %q, for the message %q", body, msg, full)
		}
		if len(strings.TrimSuffix(msg, "…")) > maxRelayed || !utf8.ValidString(msg) {
			t.Fatalf("shortError(%q) = %q: %d bytes, valid UTF-8 %v", body, msg, len(msg), utf8.ValidString(msg))
		}
		for _, c := range msg {
			if c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 || c == utf8.RuneError {
				t.Fatalf("shortError(%q) = %q holds %U", body, msg, c)
			}
		}
		if fzTokenSecret(secret) && strings.Contains(msg, secret) {
			t.Fatalf("shortError(%q) = %q relays the credential %q", body, msg, secret)
		}
	})
}

// FuzzReadBounded reads a body in fuzzed chunks under a fuzzed limit and length hint. It
// returns the body when it fits, exactly limit+1 bytes of it when it does not (so the
// caller can tell), never reads more than that from the upstream, and, when the hint
// announces the body's length within the limit, holds it in one buffer of that size.
func FuzzReadBounded(f *testing.F) {
	body := strings.Repeat("x", 1000)
	for _, tt := range []struct{ limit, hint int64 }{{5000, 1000}, {5000, -1}, {5000, 10}, {5000, 2000}, {500, 1000}, {500, -1}, {500, 100}} {
		f.Add([]byte(body), uint16(tt.limit), tt.hint, uint8(1), false)
		f.Add([]byte(body), uint16(tt.limit), tt.hint, uint8(0), true)
	}
	f.Add([]byte{}, uint16(0), int64(0), uint8(7), true)
	f.Fuzz(func(t *testing.T, body []byte, limit16 uint16, hint int64, chunk uint8, eofWithData bool) {
		limit := int64(limit16)
		r := &countingReader{r: bytes.NewReader(body), chunk: int(chunk), eofWithData: eofWithData}
		got, err := readBounded(r, limit, hint)
		if err != nil {
			t.Fatalf("readBounded = %v from a reader that never fails", err)
		}
		want := body[:min(int64(len(body)), limit+1)]
		if !bytes.Equal(got, want) {
			t.Fatalf("readBounded(limit %d, hint %d) read %d bytes, want %d", limit, hint, len(got), len(want))
		}
		if r.n > limit+1 {
			t.Fatalf("readBounded(limit %d) read %d bytes from the upstream", limit, r.n)
		}
		if hint >= int64(len(body)) && hint <= limit && int64(cap(got)) != hint+1 {
			t.Fatalf("readBounded(hint %d) of %d bytes used a buffer of %d, want %d", hint, len(body), cap(got), hint+1)
		}
	})
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReadDocument hands a metadata response (identity or gzip, honest or not about its
// sizes) to the document reader. Whatever the upstream sends, the result is bounded (the
// limit plus one byte, or the compressed bound for a gzip body, which the caller refuses
// by its length); and a result within the limit is exactly the document the upstream
// sent, decoded as the standard library decodes it; an unknown encoding is an error.
func FuzzReadDocument(f *testing.F) {
	doc := []byte(`{"name":"gz","pad":"` + strings.Repeat("z", 600) + `"}`)
	f.Add(doc, true, "gzip", uint16(1024), true)
	f.Add(doc, true, "gzip", uint16(100), false)
	f.Add(doc, true, " X-GZIP ", uint16(1024), true)
	f.Add(doc, false, "", uint16(1024), true)
	f.Add(doc, false, "identity", uint16(10), false)
	f.Add(doc, false, "gzip", uint16(1024), true)
	f.Add(doc, false, "br", uint16(1024), true)
	f.Add(bytes.Repeat([]byte(" "), 1<<16), true, "gzip", uint16(4096), true)
	liar := gzipped(f, doc)
	copy(liar[len(liar)-4:], []byte{10, 0, 0, 0})
	f.Add(liar, false, "gzip", uint16(1024), true)
	f.Add(append(gzipped(f, doc), gzipped(f, doc)...), false, "gzip", uint16(2000), false)
	f.Fuzz(func(t *testing.T, payload []byte, compress bool, encoding string, limit16 uint16, announce bool) {
		limit := int64(limit16) + 1
		c := New(Options{Origin: "public", MaxBytes: limit})
		wire := payload
		if compress {
			wire = gzipped(t, payload)
		}
		resp := &http.Response{
			StatusCode:    http.StatusOK,
			Header:        http.Header{},
			Body:          io.NopCloser(bytes.NewReader(wire)),
			ContentLength: -1,
		}
		if encoding != "" {
			resp.Header.Set("Content-Encoding", encoding)
		}
		if announce {
			resp.ContentLength = int64(len(wire))
		}
		got, err := c.readDocument(context.Background(), resp, nil)
		if bound := max(limit+1, limit+limit/256+1024+1); int64(len(got)) > bound {
			t.Fatalf("readDocument returned %d bytes under limit %d", len(got), limit)
		}
		if err != nil || int64(len(got)) > limit {
			return // refused, or over the limit: the caller refuses it
		}
		var want []byte
		switch strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))) {
		case "", "identity":
			want = wire
		case "gzip", "x-gzip":
			zr, zerr := gzip.NewReader(bytes.NewReader(wire))
			if zerr == nil {
				want, zerr = io.ReadAll(zr)
			}
			if zerr != nil {
				t.Fatalf("readDocument accepted a gzip body the standard library refuses (%v): %q", zerr, got)
			}
		default:
			t.Fatalf("readDocument accepted content encoding %q", encoding)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("readDocument = %q, want %q", got, want)
		}
	})
}
