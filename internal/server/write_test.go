package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecluse/ecluse/internal/publish"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/signing"
)

// fakeWrites records which method of the write path a request reached.
type fakeWrites struct {
	calls []string
	creds []redact.Secret
}

func (f *fakeWrites) record(call string, req publish.Request) (*publish.Reply, error) {
	f.calls = append(f.calls, call)
	f.creds = append(f.creds, req.Credential)
	return &publish.Reply{Status: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"ok":true}`)}, nil
}

func (f *fakeWrites) Publish(_ context.Context, name string, req publish.Request) (*publish.Reply, error) {
	return f.record("publish "+name, req)
}

func (f *fakeWrites) WriteExisting(_ context.Context, name string, req publish.Request) (*publish.Reply, error) {
	return f.record("existing "+req.Method+" "+name, req)
}

func (f *fakeWrites) Account(_ context.Context, req publish.Request) (*publish.Reply, error) {
	return f.record("account "+req.Method+" "+req.EscapedPath, req)
}

func (f *fakeWrites) Keys(context.Context) signing.KeysDocument {
	f.calls = append(f.calls, "keys")
	return signing.KeysDocument{Keys: []signing.PublicKey{}}
}

func (f *fakeWrites) Attestations(_ context.Context, name, version string, req publish.Request) (*publish.Reply, error) {
	return f.record("attestations "+name+"@"+version, req)
}

func (f *fakeWrites) MaxBodyBytes() int64 { return 1 << 10 }

func TestWriteRoutes(t *testing.T) {
	cases := []struct {
		method, target, body string
		want                 string // the call the write path gets; "" means none
		status               int
	}{
		{"PUT", "/@corp%2fwidget", "{}", "publish @corp/widget", 201},
		{"PUT", "/left-pad", "{}", "publish left-pad", 201},
		{"PUT", "/@corp/widget", "{}", "publish @corp/widget", 201},
		{"PUT", "/left-pad/-rev/3-abc", "{}", "existing PUT left-pad", 201},
		{"DELETE", "/left-pad/-rev/3-abc", "", "existing DELETE left-pad", 201},
		{"DELETE", "/left-pad/-/left-pad-1.0.0.tgz/-rev/3-abc", "", "existing DELETE left-pad", 201},
		{"GET", "/left-pad?write=true", "", "existing GET left-pad", 201},
		{"PUT", "/-/package/@corp%2fwidget/dist-tags/beta", `"1.0.0"`, "existing PUT @corp/widget", 201},
		{"GET", "/-/package/left-pad/dist-tags", "", "existing GET left-pad", 201},
		{"GET", "/-/whoami", "", "account GET /-/whoami", 201},
		{"PUT", "/-/user/org.couchdb.user:alice", "{}", "account PUT /-/user/org.couchdb.user:alice", 201},
		{"DELETE", "/-/user/token/abc", "", "account DELETE /-/user/token/abc", 201},
		{"GET", "/-/npm/v1/tokens", "", "account GET /-/npm/v1/tokens", 201},
		{"GET", "/-/npm/v1/keys", "", "keys", 200},
		{"GET", "/-/npm/v1/attestations/@corp%2fwidget@1.0.0", "", "attestations @corp/widget@1.0.0", 201},
		{"GET", "/-/npm/v1/attestations/left-pad@1.3.0", "", "attestations left-pad@1.3.0", 201},
		{"GET", "/-/npm/v1/attestations/left-pad", "", "", 400},
		{"POST", "/-/npm/v1/keys", "", "", 405},
		{"PUT", "/-/package/left-pad/owners", "{}", "", 404},
		{"PUT", "/-/other", "{}", "", 404},
		{"PUT", "/left-pad", strings.Repeat("x", 2<<10), "", 413},
		{"PUT", "/left-pad/1.0.0", "{}", "", 405},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			f := &fakeWrites{}
			s := New(Options{Logger: slog.New(slog.DiscardHandler), Mounts: []Mount{{Name: "npm", Path: "/", Writes: f}}})
			s.Health().SetReady(true)
			r := httptest.NewRequest(tc.method, tc.target, bytes.NewReader([]byte(tc.body)))
			r.Header.Set("Authorization", "Bearer user-token")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			switch {
			case tc.want == "" && len(f.calls) != 0:
				t.Errorf("calls %v, want none", f.calls)
			case tc.want != "" && (len(f.calls) != 1 || f.calls[0] != tc.want):
				t.Errorf("calls %v, want %q", f.calls, tc.want)
			}
			if len(f.creds) == 1 && !f.creds[0].Equal("Bearer user-token") {
				t.Errorf("credential %v not passed through", f.creds[0])
			}
		})
	}
}

// TestWriteEdgeTokenNeverForwarded: behind an edge token, the token authenticates the
// write but is not what the private registry is sent.
func TestWriteEdgeTokenNeverForwarded(t *testing.T) {
	f := &fakeWrites{}
	s := New(Options{Logger: slog.New(slog.DiscardHandler), AuthToken: redact.New("edge-secret"), Mounts: []Mount{{Name: "npm", Path: "/", Writes: f}}})
	s.Health().SetReady(true)
	r := httptest.NewRequest("PUT", "/left-pad", strings.NewReader("{}"))
	r.Header.Set("Authorization", "Bearer edge-secret")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if len(f.creds) != 1 || f.creds[0].IsSet() {
		t.Fatalf("creds %v, want the edge token dropped", f.creds)
	}
	r = httptest.NewRequest("PUT", "/left-pad", strings.NewReader("{}"))
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || len(f.calls) != 1 {
		t.Errorf("an unauthenticated write: %d, calls %v", w.Code, f.calls)
	}
}
