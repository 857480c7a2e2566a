package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ecluse/ecluse/internal/redact"
)

// conditionalRegistry serves /doc with an ETag and a Last-Modified, answering 304 to a
// request that names either; /bad-etag sends validators no header may carry back.
func conditionalRegistry(t *testing.T) (*httptest.Server, *[]http.Header) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []http.Header
	)
	const etag, modified = `"v1"`, "Mon, 23 Nov 2026 12:00:00 GMT"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		switch r.URL.Path {
		case "/doc":
			if r.Header.Get("If-None-Match") == etag || r.Header.Get("If-Modified-Since") == modified {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
			w.Header().Set("Last-Modified", modified)
			_, _ = w.Write([]byte(`{"name":"doc"}`))
		case "/bad-etag":
			w.Header().Set("ETag", `"`+strings.Repeat("x", 300)+`"`)
			_, _ = w.Write([]byte(`{"name":"bad-etag"}`))
		case "/always-304":
			w.WriteHeader(http.StatusNotModified)
		case "/hidden":
			if r.Header.Get("Authorization") != "Bearer svc" {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write([]byte(`{"name":"hidden"}`))
		case "/refused":
			w.WriteHeader(http.StatusUnauthorized)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestPackumentIfChanged(t *testing.T) {
	srv, seen := conditionalRegistry(t)
	c := New(Options{Origin: "private", Base: mustURL(t, srv.URL+"/"), HTTP: srv.Client()})
	ctx := context.Background()

	body, val, err := c.PackumentIfChanged(ctx, "doc", redact.Secret{}, nil, Validators{})
	if err != nil || string(body) != `{"name":"doc"}` {
		t.Fatalf("plain fetch = %q, %v", body, err)
	}
	if val.ETag != `"v1"` || val.LastModified == "" {
		t.Errorf("validators = %+v, want the ETag and Last-Modified sent", val)
	}
	for _, since := range []Validators{val, {ETag: val.ETag}, {LastModified: val.LastModified}} {
		if _, got, err := c.PackumentIfChanged(ctx, "doc", redact.Secret{}, nil, since); !errors.Is(err, ErrNotModified) || got != since {
			t.Errorf("PackumentIfChanged(since %+v) = %+v, %v; want ErrNotModified and the same validators", since, got, err)
		}
	}
	last := (*seen)[len(*seen)-1]
	if last.Get("If-Modified-Since") == "" || last.Get("If-None-Match") != "" {
		t.Errorf("a Last-Modified-only request sent %v", last)
	}

	if _, val, err := c.PackumentIfChanged(ctx, "bad-etag", redact.Secret{}, nil, Validators{}); err != nil || val.ETag != "" {
		t.Errorf("an oversized ETag was kept: %+v, %v", val, err)
	}
	// A 304 to a request that was not conditional is an upstream fault, not "unchanged".
	var ue *UnavailableError
	if _, err := c.Packument(ctx, "always-304", redact.Secret{}, nil); !errors.As(err, &ue) || ue.Status != http.StatusNotModified {
		t.Errorf("unconditional 304: err = %v, want an UnavailableError", err)
	}
}

func TestHas(t *testing.T) {
	srv, seen := conditionalRegistry(t)
	svc := New(Options{Origin: "private", Base: mustURL(t, srv.URL+"/"), HTTP: srv.Client(), ServiceToken: redact.New("svc")})
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		want bool
	}{{"hidden", true}, {"absent", false}} {
		if got, err := svc.Has(ctx, tt.name); err != nil || got != tt.want {
			t.Errorf("Has(%s) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	var denied *DeniedError
	if _, err := svc.Has(ctx, "refused"); !errors.As(err, &denied) || denied.Status != http.StatusUnauthorized {
		t.Errorf("Has(refused) err = %v, want a DeniedError", err)
	}
	for _, h := range *seen {
		if got := h.Get("Authorization"); got != "Bearer svc" {
			t.Errorf("Has sent Authorization %q, want the service token", got)
		}
	}
	anon := New(Options{Origin: "public", Base: mustURL(t, srv.URL+"/"), HTTP: srv.Client(), Anonymous: true})
	if got, err := anon.Has(ctx, "hidden"); err != nil || got {
		t.Errorf("anonymous Has(hidden) = %v, %v; want false (the registry hides it)", got, err)
	}
}
