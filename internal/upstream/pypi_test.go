package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ecluse/ecluse/internal/redact"
)

// TestPage: a project page is asked for at its URL with its final slash and the
// caller's Accept, and comes back with its Content-Type; 404 and 410 are not found.
func TestPage(t *testing.T) {
	var gotPath, gotAccept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAccept = r.URL.EscapedPath(), r.Header.Get("Accept")
		switch r.URL.Path {
		case "/simple/demo/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			_, _ = io.WriteString(w, `{"files":[]}`)
		case "/simple/gone/":
			w.WriteHeader(http.StatusGone)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := New(Options{Origin: "public", Base: mustURL(t, srv.URL+"/simple/"), HTTP: srv.Client(), Anonymous: true})
	ctx := context.Background()
	body, ctype, err := c.Page(ctx, "/demo/", "application/vnd.pypi.simple.v1+json", redact.Secret{}, 0, nil)
	if err != nil || string(body) != `{"files":[]}` || ctype != "application/vnd.pypi.simple.v1+json" {
		t.Fatalf("Page = %q, %q, %v", body, ctype, err)
	}
	if gotPath != "/simple/demo/" || gotAccept != "application/vnd.pypi.simple.v1+json" {
		t.Errorf("asked %s with Accept %q", gotPath, gotAccept)
	}
	for _, p := range []string{"/gone/", "/missing/"} {
		if _, _, err := c.Page(ctx, p, "", redact.Secret{}, 0, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("Page(%s) = %v, want not found", p, err)
		}
	}
	for _, p := range []string{"/../admin/", "/a/../b/", "//x/"} {
		if _, _, err := c.Page(ctx, p, "", redact.Secret{}, 0, nil); err == nil {
			t.Errorf("Page(%s) was sent", p)
		}
	}
}
