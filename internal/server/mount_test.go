package server

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ecluse/ecluse/internal/redact"
)

// echo answers with the mount's name and the path (raw and decoded) it was given.
func echo(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "%s %s %s", name, r.URL.EscapedPath(), r.URL.Path)
	})
}

func echoNPM(w http.ResponseWriter, r *http.Request) error {
	_, _ = fmt.Fprintf(w, "npm %s %s", r.URL.EscapedPath(), r.URL.Path)
	return nil
}

func TestMountDispatchLongestPrefix(t *testing.T) {
	s, _ := newTestServer(t, Options{Mounts: []Mount{
		{Name: "npm", Path: "/", NPM: echoNPM},
		{Name: "go", Path: "/go/", Handler: echo("go")},
		{Name: "inner", Path: "/go2/inner/", Handler: echo("inner")},
	}})
	tests := []struct {
		name, target string
		status       int
		body         string
	}{
		{"root npm", "/left-pad", 200, "npm /left-pad /left-pad"},
		{"scoped npm", "/@scope%2fpkg", 200, "npm /@scope%2fpkg /@scope/pkg"},
		{"npm package named like the mount", "/go", 200, "npm /go /go"},
		{"go mount strips prefix", "/go/example.com/!foo/@v/list", 200, "go /example.com/!foo/@v/list /example.com/!foo/@v/list"},
		{"go mount keeps escapes", "/go/a%2Fb/@v/list", 200, "go /a%2Fb/@v/list /a/b/@v/list"},
		{"go mount root", "/go/", 200, "go / /"},
		{"longest prefix wins", "/go2/inner/x", 200, "inner /x /x"},
		{"sibling not nested", "/go2/other", 200, "npm /go2/other /go2/other"},
		{"npm explain stays on root", "/-/v1/search", http.StatusNotImplemented, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(s, http.MethodGet, tt.target, nil)
			if w.Code != tt.status {
				t.Fatalf("GET %s = %d %s, want %d", tt.target, w.Code, w.Body, tt.status)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("GET %s body = %q, want %q", tt.target, w.Body, tt.body)
			}
		})
	}
}

func TestMountWithoutRoot(t *testing.T) {
	s, _ := newTestServer(t, Options{Mounts: []Mount{{Name: "go", Path: "/go/", Handler: echo("go")}}})
	if w := do(s, http.MethodGet, "/left-pad", nil); w.Code != http.StatusNotFound || errorField(t, w) == "" {
		t.Errorf("GET /left-pad without a root mount = %d %s, want a 404 JSON error", w.Code, w.Body)
	}
	if w := do(s, http.MethodGet, "/readyz", nil); w.Code != http.StatusOK {
		t.Errorf("probes are the front door's: /readyz = %d", w.Code)
	}
}

func TestMountNPMUnderPrefix(t *testing.T) {
	explain := func(w http.ResponseWriter, r *http.Request) error {
		_, _ = fmt.Fprintf(w, "explain %s", r.URL.Path)
		return nil
	}
	s, _ := newTestServer(t, Options{Mounts: []Mount{{Name: "corp", Path: "/corp/npm/", NPM: echoNPM, Explain: explain}}})
	if w := do(s, http.MethodGet, "/corp/npm/-/ecluse/explain/left-pad", nil); w.Body.String() != "explain /-/ecluse/explain/left-pad" {
		t.Errorf("explain under a prefix = %d %q", w.Code, w.Body)
	}
	if w := do(s, http.MethodGet, "/corp/npm/left-pad/-/left-pad-1.0.0.tgz", nil); w.Body.String() != "npm /left-pad/-/left-pad-1.0.0.tgz /left-pad/-/left-pad-1.0.0.tgz" {
		t.Errorf("tarball under a prefix = %d %q", w.Code, w.Body)
	}
}

func TestMountsShareEdgeAuth(t *testing.T) {
	s, _ := newTestServer(t, Options{
		AuthToken: redact.New("edge"),
		Mounts:    []Mount{{Name: "npm", Path: "/", NPM: echoNPM}, {Name: "go", Path: "/go/", Handler: echo("go")}},
	})
	if w := do(s, http.MethodGet, "/go/example.com/m/@v/list", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("go mount without the edge token = %d, want 401", w.Code)
	}
	h := http.Header{"Authorization": {"Bearer edge"}}
	if w := do(s, http.MethodGet, "/go/example.com/m/@v/list", h); w.Code != http.StatusOK {
		t.Errorf("go mount with the edge token = %d %s, want 200", w.Code, w.Body)
	}
}
