package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ecluse/ecluse/internal/redact"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestServer(t *testing.T, opts Options) (*Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := New(opts)
	s.Health().SetReady(true)
	return s, logs
}

func do(s http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func errorField(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == nil {
		t.Fatalf("body = %q, want JSON with an error field (%v)", w.Body.String(), err)
	}
	return *body.Error
}

func TestRoutes(t *testing.T) {
	s, _ := newTestServer(t, Options{NPM: func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"path": r.URL.EscapedPath()})
		return nil
	}})
	tests := []struct {
		method, path string
		status       int
		body         string // substring of the body
	}{
		{"GET", "/-/ping", 200, "{}"},
		{"HEAD", "/-/ping", 200, ""},
		{"GET", "/livez", 200, `"status":"ok"`},
		{"GET", "/readyz", 200, `"status":"ok"`},
		{"GET", "/-/v1/search?text=x", 501, "search is not offered"},
		{"GET", "/-/whoami", 404, "is not an endpoint"},
		{"GET", "/-/ecluse/explain/x", 404, "not found"},
		{"POST", "/-/ping", 405, "method POST is not allowed"},
		{"PUT", "/left-pad", 405, "Écluse serves reads only"},
		{"DELETE", "/left-pad/-/left-pad-1.0.0.tgz", 405, "not allowed"},
		{"GET", "/left-pad", 200, `"path":"/left-pad"`},
		{"GET", "/@scope%2fname", 200, `"path":"/@scope%2fname"`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := do(s, tt.method, tt.path, nil)
			if w.Code != tt.status {
				t.Fatalf("%s %s = %d, want %d (body %s)", tt.method, tt.path, w.Code, tt.status, w.Body)
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("%s %s body = %q, want it to contain %q", tt.method, tt.path, w.Body, tt.body)
			}
			if w.Code >= 400 && tt.method != "HEAD" {
				errorField(t, w)
			}
			if w.Code == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}

func TestProbes(t *testing.T) {
	h := &Health{}
	s, _ := newTestServer(t, Options{Health: h})
	h.SetReady(false)
	if w := do(s, "GET", "/readyz", nil); w.Code != 503 {
		t.Errorf("/readyz before ready = %d, want 503", w.Code)
	}
	h.SetReady(true)
	if w := do(s, "GET", "/readyz", nil); w.Code != 200 {
		t.Errorf("/readyz when ready = %d, want 200", w.Code)
	}
	// A detail is reported, never waited for.
	h.AddDetail("advisories", func() any { return map[string]any{"loaded": false} })
	if w := do(s, "GET", "/readyz", nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"detail":{"advisories":{"loaded":false}}`) {
		t.Errorf("/readyz with a detail = %d %s, want 200 carrying it", w.Code, w.Body.String())
	}
	var stalled bool
	h.AddLiveness("mirror-worker", func(context.Context) error {
		if stalled {
			return errors.New("no heartbeat for 5m")
		}
		return nil
	})
	if w := do(s, "GET", "/livez", nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"mirror-worker":"ok"`) {
		t.Errorf("/livez healthy = %d %s", w.Code, w.Body)
	}
	stalled = true
	if w := do(s, "GET", "/livez", nil); w.Code != 503 || !strings.Contains(w.Body.String(), "no heartbeat") {
		t.Errorf("/livez stalled = %d %s, want 503 naming the check", w.Code, w.Body)
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestEdgeAuth(t *testing.T) {
	const token = "edge-token-Zq9"
	s, logs := newTestServer(t, Options{
		AuthToken: redact.New(token),
		NPM: func(w http.ResponseWriter, _ *http.Request) error {
			writeJSON(w, http.StatusOK, struct{}{})
			return nil
		},
	})
	tests := []struct {
		name, path, auth string
		status           int
	}{
		{"no token", "/left-pad", "", 401},
		{"bearer", "/left-pad", "Bearer " + token, 200},
		{"bearer lower-case scheme", "/left-pad", "bearer " + token, 200},
		{"bearer wrong", "/left-pad", "Bearer nope", 401},
		{"bearer prefix of token", "/left-pad", "Bearer " + token[:5], 401},
		{"basic password is token", "/left-pad", basic("anyone", token), 200},
		{"basic wrong password", "/left-pad", basic(token, "x"), 401},
		{"basic not base64", "/left-pad", "Basic %%%", 401},
		{"other scheme", "/left-pad", "Token " + token, 401},
		{"search needs auth", "/-/v1/search", "", 401},
		{"ping exempt", "/-/ping", "", 200},
		{"livez exempt", "/livez", "", 200},
		{"readyz exempt", "/readyz", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			w := do(s, "GET", tt.path, h)
			if w.Code != tt.status {
				t.Fatalf("GET %s with %q = %d, want %d", tt.path, tt.name, w.Code, tt.status)
			}
			if w.Code == 401 {
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if msg := errorField(t, w); !strings.Contains(msg, "authentication") {
					t.Errorf("401 message = %q", msg)
				}
			}
		})
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), base64.StdEncoding.EncodeToString([]byte("anyone:"+token))) {
		t.Errorf("the edge token reached the log:\n%s", logs)
	}
}

func TestAccessLog(t *testing.T) {
	s, logs := newTestServer(t, Options{IdentityHeader: "X-Verified-User"})
	w := do(s, "GET", "/-/ping", http.Header{"X-Request-Id": {"req-abc.123"}, "X-Verified-User": {"alice@example.test"}})
	if got := w.Header().Get("X-Request-Id"); got != "req-abc.123" {
		t.Errorf("X-Request-Id = %q, want the client's", got)
	}
	w = do(s, "GET", "/-/ping", http.Header{"X-Request-Id": {"bad id with spaces"}})
	if got := w.Header().Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("generated X-Request-Id = %q", got)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log lines = %d, want one per request:\n%s", len(lines), logs)
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"msg": "request", "method": "GET", "route": "ping", "status": float64(200), "request_id": "req-abc.123", "caller": "alice@example.test"}
	for k, v := range want {
		if entry[k] != v {
			t.Errorf("log field %s = %v, want %v", k, entry[k], v)
		}
	}
	for _, k := range []string{"bytes", "duration_ms", "path"} {
		if _, ok := entry[k]; !ok {
			t.Errorf("log line lacks %s: %s", k, lines[0])
		}
	}
}

func TestPanicBecomesJSON500(t *testing.T) {
	s, logs := newTestServer(t, Options{NPM: func(http.ResponseWriter, *http.Request) error { panic("boom") }})
	w := do(s, "GET", "/x", nil)
	if w.Code != 500 || errorField(t, w) != "internal error" {
		t.Errorf("panic = %d %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "panic serving request") {
		t.Error("panic not logged")
	}
}

func TestErrorMapping(t *testing.T) {
	denied := errors.New("denied")
	s, logs := newTestServer(t, Options{
		HelpMessage: "Ask #supply-chain on chat.",
		Classify: func(err error) (int, string, bool) {
			if errors.Is(err, denied) {
				return http.StatusForbidden, "x@1.0.0 is too young", true
			}
			return 0, "", false
		},
		NPM: func(_ http.ResponseWriter, r *http.Request) error {
			switch r.URL.Path {
			case "/denied":
				return denied
			case "/bad":
				return &Error{Status: 400, Message: "bad name", Cause: errors.New("detail for the log")}
			}
			return errors.New("secret internal detail")
		},
	})
	if w := do(s, "GET", "/denied", nil); w.Code != 403 || errorField(t, w) != "x@1.0.0 is too young. Ask #supply-chain on chat." {
		t.Errorf("denied = %d %s", w.Code, w.Body)
	}
	if w := do(s, "GET", "/bad", nil); w.Code != 400 || errorField(t, w) != "bad name" {
		t.Errorf("bad = %d %s", w.Code, w.Body)
	}
	w := do(s, "GET", "/other", nil)
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret internal detail") {
		t.Errorf("unknown error = %d %s, want 500 without the cause", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "detail for the log") {
		t.Error("cause not logged")
	}
	if w := do(s, "HEAD", "/bad", nil); w.Code != 400 || w.Body.Len() != 0 {
		t.Errorf("HEAD error = %d with %d body bytes", w.Code, w.Body.Len())
	}
}

func TestTruncateKeepsCharacters(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc…"},
		{"éé", 3, "é…"},
		{"éé", 1, "…"},
	} {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
