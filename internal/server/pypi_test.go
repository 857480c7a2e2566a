package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecluse/ecluse/internal/pypi"
	"github.com/ecluse/ecluse/internal/pypigate"
	"github.com/ecluse/ecluse/internal/redact"
)

// fakePyPI answers from its fields and records the calls.
type fakePyPI struct {
	calls []string
	err   error
	body  string // a file's body
	bad   bool   // the file's stream ends with an integrity mismatch
}

func (f *fakePyPI) Page(_ context.Context, name, ctype string, _ redact.Secret) (*pypigate.Page, error) {
	f.calls = append(f.calls, "page "+name+" "+ctype)
	if f.err != nil {
		return nil, f.err
	}
	return &pypigate.Page{Body: []byte("page of " + name), ContentType: ctype, Source: pypigate.SourcePublic, Blocked: 2}, nil
}

// failingBody is a file stream whose hash does not match: as the gate's verifier, it
// hands out every byte but the last, then fails.
type failingBody struct{ r io.Reader }

func (b failingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, pypigate.ErrIntegrityMismatch
	}
	return n, err
}

func mismatching(body string) io.Reader {
	return failingBody{strings.NewReader(body[:len(body)-1])}
}

func (f *fakePyPI) File(_ context.Context, name, filename string, _ redact.Secret) (*pypigate.File, error) {
	f.calls = append(f.calls, "file "+name+" "+filename)
	if f.err != nil {
		return nil, f.err
	}
	var r io.Reader = strings.NewReader(f.body)
	if f.bad {
		r = mismatching(f.body)
	}
	return &pypigate.File{Body: io.NopCloser(r), Size: int64(len(f.body)), Source: pypigate.SourcePublic, Project: name, Version: "1.0", Filename: filename}, nil
}

func (f *fakePyPI) Metadata(_ context.Context, name, filename string, _ redact.Secret) ([]byte, string, error) {
	f.calls = append(f.calls, "metadata "+name+" "+filename)
	return []byte("Metadata-Version: 2.1\n"), pypigate.SourcePublic, f.err
}

func (f *fakePyPI) Explain(_ context.Context, name string, _ redact.Secret) (*pypigate.Explanation, error) {
	f.calls = append(f.calls, "explain "+name)
	return &pypigate.Explanation{Project: name, Source: pypigate.SourcePublic, Files: []pypigate.FileVerdict{}}, f.err
}

func TestPyPIRoutes(t *testing.T) {
	pipAccept := "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
	cases := []struct {
		name, method, path, accept string
		err                        error
		wantStatus                 int
		wantCall                   string
		wantHeader                 map[string]string
		wantBody                   string
	}{
		{name: "pip's accept gets JSON", method: "GET", path: "/simple/demo/", accept: pipAccept, wantStatus: 200,
			wantCall: "page demo " + pypi.ContentTypeJSON, wantHeader: map[string]string{"Content-Type": pypi.ContentTypeJSON, "X-Ecluse-Blocked": "2", "X-Ecluse-Source": "public"}},
		{name: "no accept gets HTML", method: "GET", path: "/simple/demo/", wantStatus: 200, wantCall: "page demo " + pypi.ContentTypeHTML},
		{name: "unacceptable", method: "GET", path: "/simple/demo/", accept: "application/xml", wantStatus: 406, wantBody: `"error"`},
		{name: "not normalised", method: "GET", path: "/simple/Demo_Pkg/", wantStatus: 301, wantHeader: map[string]string{"Location": "/pypi/simple/demo-pkg/"}},
		{name: "no trailing slash", method: "GET", path: "/simple/demo", wantStatus: 301, wantHeader: map[string]string{"Location": "/pypi/simple/demo/"}},
		{name: "project list", method: "GET", path: "/simple/", wantStatus: 501, wantBody: `"error"`},
		{name: "invalid name", method: "GET", path: "/simple/-bad-/", wantStatus: 404},
		{name: "file", method: "GET", path: "/files/demo/demo-1.0-py3-none-any.whl", wantStatus: 200, wantCall: "file demo demo-1.0-py3-none-any.whl", wantBody: "wheel bytes"},
		{name: "metadata", method: "GET", path: "/files/demo/demo-1.0-py3-none-any.whl.metadata", wantStatus: 200, wantCall: "metadata demo demo-1.0-py3-none-any.whl", wantBody: "Metadata-Version"},
		{name: "refused file", method: "GET", path: "/files/demo/demo-2.0.tar.gz",
			err:        &pypigate.RefusedError{Project: "demo", Version: "2.0", Filename: "demo-2.0.tar.gz", Rule: "min-age", Message: "Écluse refused demo 2.0 (demo-2.0.tar.gz): too young"},
			wantStatus: 403, wantHeader: map[string]string{"X-Ecluse-Rule": "min-age"}, wantBody: `{"error":"Écluse refused demo 2.0 (demo-2.0.tar.gz): too young"}`},
		{name: "not found", method: "GET", path: "/simple/nope/", err: &pypigate.NotFoundError{Message: "project nope is not found"}, wantStatus: 404, wantBody: "project nope is not found"},
		{name: "upstream failure", method: "GET", path: "/simple/demo/", err: &pypigate.UpstreamError{Message: "the public index could not be read for demo", Cause: errors.New("secret detail")}, wantStatus: 502},
		{name: "post refused", method: "POST", path: "/simple/demo/", wantStatus: 405},
		{name: "explain", method: "GET", path: "/-/ecluse/explain/Demo", wantStatus: 200, wantCall: "explain demo"},
		{name: "unknown", method: "GET", path: "/other", wantStatus: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &fakePyPI{err: tc.err, body: "wheel bytes"}
			h := NewPyPI(g, PyPIOptions{MountPath: "/pypi/"})
			r := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.accept != "" {
				r.Header.Set("Accept", tc.accept)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			if tc.wantCall != "" && (len(g.calls) != 1 || g.calls[0] != tc.wantCall) {
				t.Errorf("calls %q, want %q", g.calls, tc.wantCall)
			}
			for k, v := range tc.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("body %q, want it to contain %q", w.Body, tc.wantBody)
			}
			if w.Code >= 400 {
				var body struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" {
					t.Errorf("error body %q is not {\"error\": ...}", w.Body)
				}
				if strings.Contains(w.Body.String(), "secret detail") {
					t.Error("the cause leaked into the response")
				}
			}
		})
	}
}

// TestPyPIFileMismatchCutsConnection: a file whose stream fails its hash after the
// status was sent is cut, never completed.
func TestPyPIFileMismatchCutsConnection(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	srv := httptest.NewServer(NewPyPI(&fakePyPI{body: big, bad: true}, PyPIOptions{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/files/demo/demo-1.0-py3-none-any.whl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && len(b) == len(big) {
		t.Fatal("the whole file was delivered despite the mismatch")
	}
}

// TestPyPIFileMismatchBeforeHeaders: a small file whose mismatch shows before anything
// is sent is a 403 naming the integrity rule.
func TestPyPIFileMismatchBeforeHeaders(t *testing.T) {
	h := NewPyPI(&fakePyPI{body: "small", bad: true}, PyPIOptions{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/files/demo/demo-1.0-py3-none-any.whl", nil))
	if w.Code != http.StatusForbidden || w.Header().Get("X-Ecluse-Rule") != pypigate.RuleIntegrity {
		t.Fatalf("status %d rule %q: %s", w.Code, w.Header().Get("X-Ecluse-Rule"), w.Body)
	}
}
