package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
)

// fakeGate records what it was asked and answers from its fields.
type fakeGate struct {
	lastQuery   gate.Query
	lastTarball gate.TarballQuery
	doc         *gate.Document
	err         error
	body        string
	bodyErr     error
}

func (f *fakeGate) Packument(_ context.Context, q gate.Query) (*gate.Document, error) {
	f.lastQuery = q
	if f.err != nil {
		return nil, f.err
	}
	return f.doc, nil
}

func (f *fakeGate) Tarball(_ context.Context, q gate.TarballQuery) (*gate.Artifact, error) {
	f.lastTarball = q
	if f.err != nil {
		return nil, f.err
	}
	return &gate.Artifact{Body: io.NopCloser(&erroringReader{r: strings.NewReader(f.body), err: f.bodyErr}), Size: int64(len(f.body)), Source: "public"}, nil
}

func (f *fakeGate) Explain(_ context.Context, name, version string, _ redact.Secret) (*gate.Explanation, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &gate.Explanation{Name: name, Source: "public", Versions: []gate.VersionExplanation{{Version: version}}}, nil
}

type erroringReader struct {
	r   io.Reader
	err error
}

func (e *erroringReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) && e.err != nil {
		return n, e.err
	}
	return n, err
}

func npmServer(t *testing.T, g *fakeGate, token string) *Server {
	serve, explain := NPMHandlers(g, redact.New(token))
	s, _ := newTestServer(t, Options{NPM: serve, Explain: explain, AuthToken: redact.New(token), HelpMessage: "Ask #deps."})
	return s
}

func TestNPMRoutes(t *testing.T) {
	g := &fakeGate{doc: &gate.Document{Body: npm.TextOf([]byte(`{"name":"x"}`)), ContentType: "application/json", ETag: `"abc"`, Source: "public", Blocked: 2, Warned: 1, Cache: "miss"}}
	s := npmServer(t, g, "")
	tests := []struct {
		path, accept        string
		wantName, wantVer   string
		wantAbbr, isTarball bool
	}{
		{"/left-pad", "", "left-pad", "", false, false},
		{"/@scope%2fname", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*", "@scope/name", "", true, false},
		{"/@scope/name", "application/json", "@scope/name", "", false, false},
		{"/left-pad/latest", "application/vnd.npm.install-v1+json", "left-pad", "latest", false, false},
		{"/left-pad/-/left-pad-1.3.0.tgz", "", "left-pad", "1.3.0", false, true},
		{"/@scope/name/-/name-2.0.0-rc.1.tgz", "", "@scope/name", "2.0.0-rc.1", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			g.body = "tarball-bytes"
			w := do(s, "GET", tt.path, http.Header{"Accept": {tt.accept}})
			if w.Code != 200 {
				t.Fatalf("GET %s = %d %s", tt.path, w.Code, w.Body)
			}
			if tt.isTarball {
				if g.lastTarball.Name != tt.wantName || g.lastTarball.Version != tt.wantVer || w.Body.String() != "tarball-bytes" {
					t.Errorf("tarball query = %+v body %q", g.lastTarball, w.Body)
				}
				return
			}
			q := g.lastQuery
			if q.Name != tt.wantName || q.Version != tt.wantVer || q.Abbreviated != tt.wantAbbr {
				t.Errorf("query = %+v, want name %s version %q abbreviated %v", q, tt.wantName, tt.wantVer, tt.wantAbbr)
			}
			for h, want := range map[string]string{"X-Ecluse-Blocked": "2", "X-Ecluse-Warned": "1", "X-Ecluse-Source": "public", "X-Ecluse-Cache": "miss", "ETag": `"abc"`} {
				if got := w.Header().Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
}

func TestNPMBadPaths(t *testing.T) {
	g := &fakeGate{}
	s := npmServer(t, g, "")
	for _, p := range []string{"/..%2fetc", "/.hidden", "/@a/b/c/d/e", "/left-pad/-/other-1.0.0.tgz", "/a%20b"} {
		w := do(s, "GET", p, nil)
		if w.Code != 400 {
			t.Errorf("GET %s = %d, want 400", p, w.Code)
			continue
		}
		errorField(t, w)
	}
	if g.lastQuery.Name != "" || g.lastTarball.Name != "" {
		t.Error("a bad path reached the gate")
	}
}

func TestConditionalAndHead(t *testing.T) {
	g := &fakeGate{doc: &gate.Document{Body: npm.TextOf([]byte(`{"name":"x"}`)), ContentType: "application/json", ETag: `"abc"`}}
	s := npmServer(t, g, "")
	if w := do(s, "GET", "/x", http.Header{"If-None-Match": {`W/"zzz", "abc"`}}); w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("matching If-None-Match = %d with %d bytes", w.Code, w.Body.Len())
	}
	if w := do(s, "GET", "/x", http.Header{"If-None-Match": {`"old"`}}); w.Code != 200 {
		t.Errorf("stale If-None-Match = %d", w.Code)
	}
	w := do(s, "HEAD", "/x", nil)
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "12" {
		t.Errorf("HEAD = %d, %d bytes, length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
}

func TestGateErrorsBecomeJSON(t *testing.T) {
	tests := []struct {
		err    error
		status int
		msg    string
	}{
		{&gate.DeniedError{Message: "x@1.0.0 was published 2 days ago"}, 403, "x@1.0.0 was published 2 days ago. Ask #deps."},
		{&gate.NotFoundError{Message: "x is not in the private or the public registry"}, 404, "x is not in the private or the public registry"},
		{&gate.BadRequestError{Message: "bad name"}, 400, "bad name"},
		{&gate.UpstreamDeniedError{Status: 401, Message: "log in"}, 401, "log in"},
		{&gate.UpstreamError{Message: "the public registry could not be read for x", Cause: errors.New("dial tcp: secret detail")}, 502, "the public registry could not be read for x"},
	}
	for _, tt := range tests {
		g := &fakeGate{err: tt.err}
		s := npmServer(t, g, "")
		for _, path := range []string{"/x", "/x/-/x-1.0.0.tgz"} {
			w := do(s, "GET", path, nil)
			if w.Code != tt.status || errorField(t, w) != tt.msg {
				t.Errorf("GET %s with %T = %d %s, want %d %q", path, tt.err, w.Code, w.Body, tt.status, tt.msg)
			}
		}
	}
}

func TestTarballMismatchAbortsConnection(t *testing.T) {
	g := &fakeGate{body: "partial", bodyErr: gate.ErrIntegrityMismatch}
	s := npmServer(t, g, "")
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/x/-/x-1.0.0.tgz")
	if err != nil {
		return // cut before the response was complete: the client saw a failure
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("client read a mismatching tarball to a clean end; want the connection cut")
	}
}

func TestEdgeTokenIsNotPassedThrough(t *testing.T) {
	g := &fakeGate{doc: &gate.Document{Body: npm.TextOf([]byte(`{}`)), ContentType: "application/json", ETag: `"e"`}}
	s := npmServer(t, g, "edge-tok")
	do(s, "GET", "/x", http.Header{"Authorization": {"Bearer edge-tok"}})
	if g.lastQuery.Credential.IsSet() {
		t.Error("the edge token was handed to the gate as a pass-through credential")
	}
	s = npmServer(t, g, "")
	do(s, "GET", "/x", http.Header{"Authorization": {"Bearer user-tok"}})
	if g.lastQuery.Credential.Reveal() != "Bearer user-tok" {
		t.Errorf("open edge: credential = %v, want the client's header passed through", g.lastQuery.Credential)
	}
}

func TestExplainRoute(t *testing.T) {
	g := &fakeGate{}
	s := npmServer(t, g, "")
	w := do(s, "GET", "/-/ecluse/explain/@scope%2fname/1.0.0", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"name":"@scope/name"`) || !strings.Contains(w.Body.String(), `"version":"1.0.0"`) {
		t.Errorf("explain = %d %s", w.Code, w.Body)
	}
	if w := do(s, "GET", "/-/ecluse/explain/", nil); w.Code != 400 {
		t.Errorf("explain without a name = %d", w.Code)
	}
}

func TestPrefersAbbreviated(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                    false,
		"application/json":                    false,
		"application/vnd.npm.install-v1+json": true,
		"application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*": true,
		"application/json, application/vnd.npm.install-v1+json; q=0.5":             false,
		"application/vnd.npm.install-v1+json; q=0":                                 false,
	} {
		if got := prefersAbbreviated(accept); got != want {
			t.Errorf("prefersAbbreviated(%q) = %v, want %v", accept, got, want)
		}
	}
}

// TestDenialInReasonPhrase checks that a 403 denial carries its message in the status
// line (what pnpm and yarn print) as well as in the JSON body (what npm prints).
func TestDenialInReasonPhrase(t *testing.T) {
	g := &fakeGate{err: &gate.DeniedError{Message: "x@1.0.0 was published 2 days ago;\r\nrule min-age"}}
	s := npmServer(t, g, "")
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/x/-/x-1.0.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := "403 x@1.0.0 was published 2 days ago;  rule min-age. Ask #deps."
	if resp.Status != want {
		t.Errorf("status line = %q, want %q", resp.Status, want)
	}
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"error":"x@1.0.0 was published 2 days ago;\r\nrule min-age. Ask #deps."`) {
		t.Errorf("body = %s", b)
	}
	if resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", resp.Header)
	}
	if got := reasonPhrase("Écluse refusé\x00"); got != "Ecluse refuse?" {
		t.Errorf("reasonPhrase = %q", got)
	}
}

func TestAbortedStreamIsLogged(t *testing.T) {
	g := &fakeGate{body: "partial", bodyErr: gate.ErrIntegrityMismatch}
	serve, explain := NPMHandlers(g, redact.Secret{})
	s, logs := newTestServer(t, Options{NPM: serve, Explain: explain})
	srv := httptest.NewServer(s)
	defer srv.Close()
	if resp, err := srv.Client().Get(srv.URL + "/x/-/x-1.0.0.tgz"); err == nil {
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), `"aborted":true`) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"msg":"request"`) || !strings.Contains(logs.String(), `"aborted":true`) {
		t.Errorf("no access line for the aborted stream:\n%s", logs)
	}
}

// TestTarballFailingBeforeFirstByte: an upstream that fails before sending any byte of
// a tarball gets the client a JSON 502, not a connection cut after a 200.
func TestTarballFailingBeforeFirstByte(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"reset", errors.New("connection reset by peer"), "failed while sending"},
		{"mismatch", gate.ErrIntegrityMismatch, "does not match its integrity digest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &fakeGate{body: "", bodyErr: tt.err}
			w := do(npmServer(t, g, ""), http.MethodGet, "/left-pad/-/left-pad-1.0.0.tgz", nil)
			if w.Code != http.StatusBadGateway {
				t.Fatalf("status %d, want 502", w.Code)
			}
			if msg := errorField(t, w); !strings.Contains(msg, tt.want) || !strings.Contains(msg, "left-pad@1.0.0") {
				t.Errorf("error %q, want it to name the tarball and say %q", msg, tt.want)
			}
		})
	}
}
