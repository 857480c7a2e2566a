package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/npm"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("body is not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("body does not decompress: %v", err)
	}
	return out
}

// TestPackumentGzip: a client that accepts gzip gets a gzip body that decompresses to
// exactly the identity body, with its own ETag, and either ETag answers 304.
func TestPackumentGzip(t *testing.T) {
	identity := `{"name":"x","versions":{` + strings.Repeat(`"1.0.0":{"name":"x"},`, 200) + `"2.0.0":{}}}`
	g := &fakeGate{doc: &gate.Document{Body: npm.TextOf([]byte(identity)), ContentType: "application/json", ETag: `"abc-1"`, Source: "public"}}
	s := npmServer(t, g, "")
	tests := []struct {
		name, acceptEncoding string
		wantGzip             bool
	}{
		{"no header", "", false},
		{"gzip", "gzip", true},
		{"npm's header", "gzip, deflate, br", true},
		{"gzip refused", "gzip;q=0, identity", false},
		{"star", "*", true},
		{"star refused, gzip named", "gzip;q=0.5, *;q=0", true},
		{"only br", "br", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tt.acceptEncoding != "" {
				req.Header.Set("Accept-Encoding", tt.acceptEncoding)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary = %q, want it to name Accept-Encoding", rec.Header().Get("Vary"))
			}
			body := rec.Body.Bytes()
			gotGzip := rec.Header().Get("Content-Encoding") == "gzip"
			if gotGzip != tt.wantGzip {
				t.Fatalf("Content-Encoding = %q, want gzip %v", rec.Header().Get("Content-Encoding"), tt.wantGzip)
			}
			wantTag := `"abc-1"`
			if gotGzip {
				body = gunzip(t, body)
				wantTag = `"abc-1-gz"`
				if rec.Body.Len()*4 > len(identity) {
					t.Errorf("gzip body is %d bytes for %d identity bytes, want at most a quarter", rec.Body.Len(), len(identity))
				}
			}
			if string(body) != identity {
				t.Errorf("body decodes to %d bytes, want exactly the %d identity bytes", len(body), len(identity))
			}
			if got := rec.Header().Get("ETag"); got != wantTag {
				t.Errorf("ETag = %s, want %s", got, wantTag)
			}
			if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("Content-Length = %s, want %d", got, rec.Body.Len())
			}
		})
	}
	for _, inm := range []string{`"abc-1"`, `"abc-1-gz"`, `W/"abc-1-gz"`} {
		for _, enc := range []string{"", "gzip"} {
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			req.Header.Set("If-None-Match", inm)
			req.Header.Set("Accept-Encoding", enc)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Errorf("If-None-Match %s, Accept-Encoding %q: status %d with %d bytes, want an empty 304", inm, enc, rec.Code, rec.Body.Len())
			}
		}
	}
	req := httptest.NewRequest(http.MethodHead, "/x", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD with gzip: status %d, %d body bytes, headers %v; want 200, no body, gzip with its length", rec.Code, rec.Body.Len(), rec.Header())
	}
}

// TestErrorsGzip: JSON errors are compressed for clients that accept gzip too, and a
// busy refusal carries Retry-After.
func TestErrorsGzip(t *testing.T) {
	g := &fakeGate{err: &gate.BusyError{Message: "at the memory budget", RetryAfter: 5 * time.Second}}
	s := npmServer(t, g, "")
	for _, enc := range []string{"", "gzip"} {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header.Set("Accept-Encoding", enc)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", rec.Code)
		}
		if got := rec.Header().Get("Retry-After"); got != "5" {
			t.Errorf("Retry-After = %q, want 5", got)
		}
		body := rec.Body.Bytes()
		if enc == "gzip" {
			if rec.Header().Get("Content-Encoding") != "gzip" {
				t.Fatalf("error with Accept-Encoding gzip: Content-Encoding %q, want gzip", rec.Header().Get("Content-Encoding"))
			}
			body = gunzip(t, body)
		}
		var e struct{ Error string }
		if err := json.Unmarshal(body, &e); err != nil || e.Error != "at the memory budget" {
			t.Errorf("error body %q (%v), want the JSON message", body, err)
		}
	}
}
