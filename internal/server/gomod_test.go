package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/modgate"
	"github.com/ecluse/ecluse/internal/redact"
)

// fakeGo records what it was asked and answers from its fields.
type fakeGo struct {
	mu    sync.Mutex
	calls []string
	creds []redact.Secret

	err     error
	doc     *modgate.Document
	zipBody string
	zipErr  error // returned by the zip body after zipBody
}

func (f *fakeGo) record(call string, cred redact.Secret) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.creds = append(f.creds, cred)
	return f.err
}

func (f *fakeGo) answer(call string, cred redact.Secret) (*modgate.Document, error) {
	if err := f.record(call, cred); err != nil {
		return nil, err
	}
	if f.doc != nil {
		return f.doc, nil
	}
	return &modgate.Document{Source: modgate.SourcePublic, Body: []byte(call + "\n")}, nil
}

func (f *fakeGo) List(_ context.Context, m string, c redact.Secret) (*modgate.Document, error) {
	return f.answer("list "+m, c)
}

func (f *fakeGo) Latest(_ context.Context, m string, c redact.Secret) (*modgate.Document, error) {
	return f.answer("latest "+m, c)
}

func (f *fakeGo) Info(_ context.Context, m, v string, c redact.Secret) (*modgate.Document, error) {
	return f.answer("info "+m+"@"+v, c)
}

func (f *fakeGo) Mod(_ context.Context, m, v string, c redact.Secret) (*modgate.Document, error) {
	return f.answer("mod "+m+"@"+v, c)
}

func (f *fakeGo) SumDB(_ context.Context, name, p string) (*modgate.Document, error) {
	return f.answer("sumdb "+name+" "+p, redact.Secret{})
}

func (f *fakeGo) Zip(_ context.Context, m, v string, c redact.Secret) (*modgate.Zip, error) {
	if err := f.record("zip "+m+"@"+v, c); err != nil {
		return nil, err
	}
	body := io.NopCloser(&erroringReader{r: strings.NewReader(f.zipBody), err: f.zipErr})
	size := int64(len(f.zipBody))
	if f.zipErr != nil {
		size = -1 // a stream that fails: its length was not known
	}
	return &modgate.Zip{Source: modgate.SourcePrivate, Body: body, Size: size}, nil
}

func (f *fakeGo) Explain(_ context.Context, m, v string, c redact.Secret) (*modgate.Explanation, error) {
	if err := f.record("explain "+m+"@"+v, c); err != nil {
		return nil, err
	}
	return &modgate.Explanation{Module: m, Source: modgate.SourcePublic, Versions: []modgate.VersionExplanation{{Version: v}}}, nil
}

func (f *fakeGo) last() (string, redact.Secret) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return "", redact.Secret{}
	}
	return f.calls[len(f.calls)-1], f.creds[len(f.creds)-1]
}

func goDo(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestGoModulesRoutes(t *testing.T) {
	f := &fakeGo{zipBody: "PK zip bytes"}
	h := NewGoModules(f, GoModulesOptions{})
	tests := []struct {
		name, target string
		call         string
		status       int
		contentType  string
		body         string
	}{
		{"list, escaped", "/example.com/!foo/@v/list", "list example.com/Foo", 200, contentTypeText, "list example.com/Foo\n"},
		{"latest", "/example.com/m/@latest", "latest example.com/m", 200, contentTypeJSON, "latest example.com/m\n"},
		{"info", "/example.com/m/@v/v1.0.0.info", "info example.com/m@v1.0.0", 200, contentTypeJSON, "info example.com/m@v1.0.0\n"},
		{"info, escaped prerelease", "/example.com/m/@v/v1.0.0-!r!c.1.info", "info example.com/m@v1.0.0-RC.1", 200, contentTypeJSON, ""},
		{"mod", "/example.com/m/v2/@v/v2.1.0.mod", "mod example.com/m/v2@v2.1.0", 200, contentTypeText, ""},
		{"incompatible", "/example.com/m/@v/v2.0.0+incompatible.mod", "mod example.com/m@v2.0.0+incompatible", 200, contentTypeText, ""},
		{"zip", "/example.com/m/@v/v1.0.0.zip", "zip example.com/m@v1.0.0", 200, contentTypeZip, "PK zip bytes"},
		{"sumdb supported", "/sumdb/sum.example.test/supported", "sumdb sum.example.test /supported", 200, contentTypeText, ""},
		{"sumdb lookup", "/sumdb/sum.example.test/lookup/example.com/m@v1.0.0", "sumdb sum.example.test /lookup/example.com/m@v1.0.0", 200, contentTypeText, ""},
		{"sumdb tile", "/sumdb/sum.example.test/tile/8/0/000", "sumdb sum.example.test /tile/8/0/000", 200, contentTypeTile, ""},
		{"revision query", "/example.com/m/@v/master.info", "", 404, contentTypeText, ""},
		{"unknown file", "/example.com/m/@v/v1.0.0.txt", "", 404, contentTypeText, ""},
		{"no route", "/example.com/m", "", 404, contentTypeText, ""},
		{"invalid module", "/Example.com/m/@v/list", "", 404, contentTypeText, ""},
		{"percent-escape", "/example.com/m%2Fx/@v/list", "", 400, contentTypeText, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := f.last()
			w := goDo(h, http.MethodGet, tt.target, nil)
			if w.Code != tt.status || w.Header().Get("Content-Type") != tt.contentType {
				t.Fatalf("GET %s = %d %s (%s), want %d %s", tt.target, w.Code, w.Header().Get("Content-Type"), w.Body, tt.status, tt.contentType)
			}
			got, _ := f.last()
			if tt.call != "" && got != tt.call {
				t.Errorf("GET %s asked the gate %q, want %q", tt.target, got, tt.call)
			}
			if tt.call == "" && got != before {
				t.Errorf("GET %s asked the gate %q, want nothing", tt.target, got)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("GET %s body = %q, want %q", tt.target, w.Body, tt.body)
			}
			if tt.status != 200 && strings.Count(w.Body.String(), "\n") != 1 {
				t.Errorf("GET %s error body = %q, want one line", tt.target, w.Body)
			}
			if tt.status == 200 && w.Header().Get(headerSource) == "" {
				t.Errorf("GET %s has no %s header", tt.target, headerSource)
			}
		})
	}
}

func TestGoModulesErrors(t *testing.T) {
	cause := errors.New("secret-cause token=abc123")
	tests := []struct {
		name   string
		err    error
		status int
		body   string
		header map[string]string
	}{
		{"not found", &modgate.NotFoundError{Message: "not found: example.com/m@v1.0.0"}, 404, "not found: example.com/m@v1.0.0\n", nil},
		{"refused", &modgate.RefusedError{Module: "example.com/m", Version: "v1.0.0", Rule: "min-age",
			Message: "Écluse refused example.com/m@v1.0.0: too young"}, 403, "Écluse refused example.com/m@v1.0.0: too young\n",
			map[string]string{headerRule: "min-age", headerRefusal: "policy"}},
		{"checksum", &modgate.RefusedError{Kind: modgate.RefusedChecksum, Rule: modgate.RuleChecksumDatabase,
			Message: "Écluse refused example.com/m@v1.0.0: the zip the public proxy served does not match the checksum database"}, 403,
			"Écluse refused example.com/m@v1.0.0: the zip the public proxy served does not match the checksum database\n",
			map[string]string{headerRefusal: "checksum"}},
		{"private denial", &modgate.UpstreamDeniedError{Message: "the private proxy refused access"}, 403, "the private proxy refused access\n", nil},
		{"upstream", &modgate.UpstreamError{Message: "the public proxy could not be reached", Cause: cause}, 502, "the public proxy could not be reached\n", nil},
		{"busy", &modgate.BusyError{Message: "busy", RetryAfter: 5 * time.Second, Cause: cause}, 503, "busy\n", map[string]string{"Retry-After": "5"}},
		{"bad request", &modgate.BadRequestError{Message: "invalid module path"}, 400, "invalid module path\n", nil},
		{"multi-line message", &modgate.NotFoundError{Message: "line one\nline two\r\x1b[31m"}, 404, "line one line two  [31m\n", nil},
		{"unknown", cause, 500, "internal error\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewGoModules(&fakeGo{err: tt.err}, GoModulesOptions{})
			for _, target := range []string{"/example.com/m/@v/v1.0.0.info", "/example.com/m/@v/v1.0.0.zip"} {
				w := goDo(h, http.MethodGet, target, nil)
				if w.Code != tt.status || w.Body.String() != tt.body || w.Header().Get("Content-Type") != contentTypeText {
					t.Errorf("GET %s = %d %q (%s), want %d %q as text", target, w.Code, w.Body, w.Header().Get("Content-Type"), tt.status, tt.body)
				}
				for k, v := range tt.header {
					if got := w.Header().Get(k); got != v {
						t.Errorf("GET %s header %s = %q, want %q", target, k, got, v)
					}
				}
				if strings.Contains(w.Body.String(), "secret-cause") || strings.Contains(w.Body.String(), "abc123") {
					t.Errorf("GET %s leaks the cause: %q", target, w.Body)
				}
			}
			if w := goDo(h, http.MethodHead, "/example.com/m/@v/v1.0.0.info", nil); w.Code != tt.status || w.Body.Len() != 0 {
				t.Errorf("HEAD = %d with %d body bytes, want %d and none", w.Code, w.Body.Len(), tt.status)
			}
		})
	}
}

func TestGoModulesHelpMessage(t *testing.T) {
	h := NewGoModules(&fakeGo{err: &modgate.RefusedError{Message: "Écluse refused example.com/m@v1.0.0: too young."}},
		GoModulesOptions{HelpMessage: "Ask #platform for an exception."})
	w := goDo(h, http.MethodGet, "/example.com/m/@v/v1.0.0.info", nil)
	if want := "Écluse refused example.com/m@v1.0.0: too young. Ask #platform for an exception.\n"; w.Body.String() != want {
		t.Errorf("403 body = %q, want %q", w.Body, want)
	}
	h = NewGoModules(&fakeGo{err: &modgate.NotFoundError{Message: "not found"}}, GoModulesOptions{HelpMessage: "Ask."})
	if w := goDo(h, http.MethodGet, "/example.com/m/@v/v1.0.0.info", nil); w.Body.String() != "not found\n" {
		t.Errorf("404 body = %q, want the help message only on refusals", w.Body)
	}
}

func TestGoModulesMethods(t *testing.T) {
	f := &fakeGo{}
	h := NewGoModules(f, GoModulesOptions{})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		w := goDo(h, m, "/example.com/m/@v/list", nil)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s = %d (Allow %q), want 405 with Allow", m, w.Code, w.Header().Get("Allow"))
		}
	}
	w := goDo(h, http.MethodHead, "/example.com/m/@v/list", nil)
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "19" {
		t.Errorf("HEAD list = %d, %d body bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	if len(f.calls) != 1 {
		t.Errorf("the gate was asked %d times, want once (for HEAD)", len(f.calls))
	}
}

func TestGoModulesCredential(t *testing.T) {
	const edge = "edge-token-0123456789"
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		name, auth, want string
	}{
		{"caller's bearer passed", "Bearer alice-token", "Bearer alice-token"},
		{"caller's basic passed", basic("alice", "pw"), basic("alice", "pw")},
		{"edge bearer kept back", "Bearer " + edge, ""},
		{"edge basic kept back", basic("anyone", edge), ""},
		{"none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGo{zipBody: "z"}
			h := NewGoModules(f, GoModulesOptions{AuthToken: redact.New(edge)})
			hdr := http.Header{}
			if tt.auth != "" {
				hdr.Set("Authorization", tt.auth)
			}
			for _, target := range []string{"/example.com/m/@v/list", "/example.com/m/@v/v1.0.0.zip", "/-/ecluse/explain/example.com/m"} {
				goDo(h, http.MethodGet, target, hdr)
				if _, c := f.last(); c.Reveal() != tt.want {
					t.Errorf("GET %s passed %q, want %q", target, c.Reveal(), tt.want)
				}
			}
		})
	}
}

func TestGoModulesZipStream(t *testing.T) {
	t.Run("failure before the first byte is a 502", func(t *testing.T) {
		h := NewGoModules(&fakeGo{zipErr: errors.New("connection reset")}, GoModulesOptions{})
		w := goDo(h, http.MethodGet, "/example.com/m/@v/v1.0.0.zip", nil)
		if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "failed while sending the zip of example.com/m@v1.0.0") {
			t.Errorf("GET zip = %d %q, want a 502", w.Code, w.Body)
		}
	})
	t.Run("failure mid-stream cuts the connection", func(t *testing.T) {
		big := strings.Repeat("z", 64<<10)
		srv := httptest.NewServer(NewGoModules(&fakeGo{zipBody: big, zipErr: errors.New("connection reset")}, GoModulesOptions{}))
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL + "/example.com/m/@v/v1.0.0.zip")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Errorf("read %d bytes of a zip whose upstream failed, and no error: the client took it as complete", len(got))
		}
	})
}

func TestGoModulesExplain(t *testing.T) {
	f := &fakeGo{}
	h := NewGoModules(f, GoModulesOptions{})
	tests := []struct {
		target, call string
		status       int
	}{
		{"/-/ecluse/explain/example.com/!foo", "explain example.com/Foo@", 200},
		{"/-/ecluse/explain/example.com/m/@v/v1.0.0", "explain example.com/m@v1.0.0", 200},
		{"/-/ecluse/explain/example.com/m/@v/master", "", 400},
		{"/-/ecluse/explain/", "", 400},
	}
	for _, tt := range tests {
		before, _ := f.last()
		w := goDo(h, http.MethodGet, tt.target, nil)
		got, _ := f.last()
		if w.Code != tt.status {
			t.Errorf("GET %s = %d %q, want %d", tt.target, w.Code, w.Body, tt.status)
		}
		if tt.call != "" && got != tt.call || tt.call == "" && got != before {
			t.Errorf("GET %s asked %q, want %q", tt.target, got, tt.call)
		}
		if tt.status == 200 {
			var ex modgate.Explanation
			if err := json.Unmarshal(w.Body.Bytes(), &ex); err != nil || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("GET %s = %q, want an explanation in JSON (%v)", tt.target, w.Body, err)
			}
		}
	}
	if w := goDo(h, http.MethodHead, "/-/ecluse/explain/example.com/m", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("HEAD explain = %d, want 405", w.Code)
	}
}

// TestGoModulesUnderMount serves the handler as a mount of the front door: the prefix
// is removed before it sees the path, and the edge still authenticates.
func TestGoModulesUnderMount(t *testing.T) {
	f := &fakeGo{}
	s, _ := newTestServer(t, Options{AuthToken: redact.New("edge-token"), Mounts: []Mount{
		{Name: "go", Path: "/go/", Handler: NewGoModules(f, GoModulesOptions{AuthToken: redact.New("edge-token")})},
	}})
	w := do(s, http.MethodGet, "/go/example.com/!foo/@v/list", http.Header{"Authorization": {"Bearer edge-token"}})
	if got, c := f.last(); w.Code != 200 || got != "list example.com/Foo" || c.IsSet() {
		t.Errorf("GET /go/...list = %d %q; gate asked %q with credential set %v", w.Code, w.Body, got, c.IsSet())
	}
	if w := do(s, http.MethodGet, "/go/example.com/m/@v/list", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("GET without the edge token = %d, want 401", w.Code)
	}
}

// FuzzGoModulesPath: whatever the path, the handler answers one of its statuses, and
// an error is one line of text.
func FuzzGoModulesPath(f *testing.F) {
	for _, s := range []string{
		"/example.com/!foo/@v/list", "/example.com/m/@latest", "/example.com/m/@v/v1.0.0.zip",
		"/sumdb/sum.example.test/lookup/example.com/m@v1.0.0", "/sumdb/x/tile/8/0/x001/234.p/5",
		"/-/ecluse/explain/example.com/m/@v/v1.0.0", "/x%2Fy", "/../..", "//", "/@v/list",
	} {
		f.Add(s)
	}
	h := NewGoModules(&fakeGo{err: &modgate.NotFoundError{Message: "nope"}}, GoModulesOptions{})
	f.Fuzz(func(t *testing.T, p string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path, r.URL.RawPath = p, ""
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 404:
		default:
			t.Fatalf("path %q: status %d", p, w.Code)
		}
		if w.Code != 200 {
			if b := w.Body.String(); strings.Count(b, "\n") != 1 || !strings.HasSuffix(b, "\n") {
				t.Fatalf("path %q: error body %q is not one line", p, b)
			}
		}
	})
}
