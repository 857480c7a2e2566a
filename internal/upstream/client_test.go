package upstream

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/redact"
)

type seen struct {
	mu   sync.Mutex
	auth []string
	uris []string
}

func fakeRegistry(t *testing.T, s *seen) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.uris = append(s.uris, r.RequestURI)
		s.mu.Unlock()
		switch r.URL.EscapedPath() {
		case "/left-pad", "/@scope%2Fname":
			_, _ = w.Write([]byte(`{"name":"x"}`))
		case "/secret":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":"you may not read secret"}`))
		case "/broken":
			w.WriteHeader(http.StatusBadGateway)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/huge":
			_, _ = w.Write(bytes.Repeat([]byte("a"), 2048))
		case "/bomb":
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(bytes.Repeat([]byte(" "), 1<<20))
			_ = zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(buf.Bytes())
		case "/gz", "/liar":
			doc := `{"name":"gz","pad":"` + strings.Repeat("z", 600) + `"}`
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write([]byte(doc))
			_ = zw.Close()
			b := buf.Bytes()
			if r.URL.Path == "/liar" {
				copy(b[len(b)-4:], []byte{10, 0, 0, 0}) // the trailer claims 10 bytes
			}
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(b)
		case "/brotli":
			w.Header().Set("Content-Encoding", "br")
			_, _ = w.Write([]byte("not json"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPackument(t *testing.T) {
	var s seen
	srv := fakeRegistry(t, &s)
	c := New(Options{Origin: "private", Base: mustURL(t, srv.URL+"/"), HTTP: srv.Client(), MaxBytes: 1024})
	ctx := context.Background()
	tests := []struct {
		name    string
		check   func(error) bool
		wantErr string
	}{
		{"left-pad", func(err error) bool { return err == nil }, ""},
		{"@scope/name", func(err error) bool { return err == nil }, ""},
		{"missing", func(err error) bool { return errors.Is(err, ErrNotFound) }, "not found"},
		{"secret", func(err error) bool {
			var d *DeniedError
			return errors.As(err, &d) && d.Status == 403 && d.Message == "you may not read secret"
		}, "answered 403"},
		{"broken", func(err error) bool {
			var u *UnavailableError
			return errors.As(err, &u) && u.Status == 502
		}, "answered 502"},
		{"teapot", func(err error) bool {
			var u *UnavailableError
			return errors.As(err, &u) && u.Status == 418
		}, "answered 418"},
		{"huge", func(err error) bool { return errors.Is(err, ErrTooLarge) }, "size limit"},
		{"bomb", func(err error) bool { return errors.Is(err, ErrTooLarge) }, "size limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Packument(ctx, tt.name, redact.Secret{}, nil)
			if !tt.check(err) {
				t.Errorf("Packument(%q) error = %v, unexpected kind", tt.name, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Packument(%q) error = %v, want it to mention %q", tt.name, err, tt.wantErr)
			}
		})
	}
	if got := s.uris[1]; got != "/@scope%2Fname" {
		t.Errorf("scoped request URI = %q, want the scope's slash escaped", got)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := mustURL(t, srv.URL+"/")
	srv.Close()
	c := New(Options{Origin: "private", Base: base, HTTP: http.DefaultClient})
	_, err := c.Packument(context.Background(), "x", redact.Secret{}, nil)
	var u *UnavailableError
	if !errors.As(err, &u) || u.Status != 0 {
		t.Errorf("closed server: error = %v, want UnavailableError without status", err)
	}
}

func TestCredentials(t *testing.T) {
	const client = "Bearer client-token"
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"passthrough forwards the caller's", Options{Origin: "private"}, client},
		{"service uses its own", Options{Origin: "private", ServiceToken: redact.New("svc")}, "Bearer svc"},
		{"anonymous sends none", Options{Origin: "public", Anonymous: true}, ""},
		{"anonymous wins over a service token", Options{Origin: "public", Anonymous: true, ServiceToken: redact.New("svc")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			srv := fakeRegistry(t, &s)
			tt.opts.Base, tt.opts.HTTP = mustURL(t, srv.URL+"/"), srv.Client()
			c := New(tt.opts)
			if _, err := c.Packument(context.Background(), "left-pad", redact.New(client), nil); err != nil {
				t.Fatal(err)
			}
			body, _, err := c.Open(context.Background(), mustURL(t, srv.URL+"/left-pad"), redact.New(client))
			if err != nil {
				t.Fatal(err)
			}
			body.Close()
			for i, got := range s.auth {
				if got != tt.want {
					t.Errorf("request %d Authorization = %q, want %q", i, got, tt.want)
				}
			}
		})
	}
}

func TestPackumentURL(t *testing.T) {
	c := New(Options{Origin: "public", Base: mustURL(t, "https://registry.example.test/npm/")})
	for name, want := range map[string]string{
		"left-pad":    "https://registry.example.test/npm/left-pad",
		"@scope/name": "https://registry.example.test/npm/@scope%2Fname",
		"JSONStream":  "https://registry.example.test/npm/JSONStream",
		"foo!bar":     "https://registry.example.test/npm/foo%21bar",
		"it's(x)*":    "https://registry.example.test/npm/it%27s%28x%29%2A",
	} {
		if got := c.PackumentURL(name).String(); got != want {
			t.Errorf("PackumentURL(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestReadBounded(t *testing.T) {
	body := strings.Repeat("x", 1000)
	tests := []struct {
		name    string
		limit   int64
		hint    int64
		wantLen int
		wantCap int // 0: not checked
	}{
		{"announced length: one allocation of that size", 5000, 1000, 1000, 1001},
		{"unknown length", 5000, -1, 1000, 0},
		{"announced shorter than sent", 5000, 10, 1000, 0},
		{"announced longer than sent", 5000, 2000, 1000, 2001},
		{"over the limit, announced", 500, 1000, 501, 0},
		{"over the limit, unknown", 500, -1, 501, 0},
		{"over the limit, announced within it", 500, 100, 501, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readBounded(iotest.OneByteReader(strings.NewReader(body)), tt.limit, tt.hint)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantLen || string(got) != body[:tt.wantLen] {
				t.Errorf("read %d bytes, want %d", len(got), tt.wantLen)
			}
			if tt.wantCap != 0 && cap(got) != tt.wantCap {
				t.Errorf("buffer capacity %d, want %d", cap(got), tt.wantCap)
			}
		})
	}
}

func TestPackumentDecodesGzipItself(t *testing.T) {
	var s seen
	srv := fakeRegistry(t, &s)
	var enc []string
	srv.Config.Handler = wrapHandler(srv.Config.Handler, func(r *http.Request) { enc = append(enc, r.Header.Get("Accept-Encoding")) })
	c := New(Options{Origin: "public", Base: mustURL(t, srv.URL+"/"), HTTP: srv.Client(), MaxBytes: 1024, Anonymous: true})
	// A trailer that does not match what the stream inflates to is a corrupt stream.
	if _, err := c.Packument(context.Background(), "liar", redact.Secret{}, nil); err == nil {
		t.Error("Packument(liar) = nil error, want a corrupt gzip stream refused")
	}
	for _, name := range []string{"gz"} {
		t.Run(name, func(t *testing.T) {
			b := budget.New(1<<20, 0)
			lease := b.Lease(100)
			defer lease.Release()
			got, err := c.Packument(context.Background(), name, redact.Secret{}, lease)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(got), `{"name":"gz","pad":"zzz`) || len(got) != 622 {
				t.Fatalf("Packument(%q) = %d bytes %.30q..., want the 622-byte decoded document", name, len(got), got)
			}
			// The decoded buffer and the compressed one are both charged.
			if held := lease.Held(); held < int64(len(got)) || held > 4*int64(len(got))+2*firstRead {
				t.Errorf("lease holds %d bytes for a %d-byte document, want at least its size and not wildly more", held, len(got))
			}
		})
	}
	for i, e := range enc {
		if e != "gzip" {
			t.Errorf("request %d Accept-Encoding = %q, want gzip", i, e)
		}
	}
	if _, err := c.Packument(context.Background(), "brotli", redact.Secret{}, nil); err == nil || !strings.Contains(err.Error(), "content encoding") {
		t.Errorf("Packument(brotli) error = %v, want an unsupported content encoding", err)
	}
}

func TestPackumentBudgetExhausted(t *testing.T) {
	var s seen
	srv := fakeRegistry(t, &s)
	c := New(Options{Origin: "public", Base: mustURL(t, srv.URL+"/"), HTTP: srv.Client(), MaxBytes: 1 << 20, Anonymous: true})
	b := budget.New(4096, time.Millisecond)
	hog := b.Lease(100)
	if err := hog.Charge(context.Background(), 4096); err != nil {
		t.Fatal(err)
	}
	defer hog.Release()
	lease := b.Lease(100)
	defer lease.Release()
	_, err := c.Packument(context.Background(), "huge", redact.Secret{}, lease)
	if !errors.Is(err, budget.ErrExhausted) {
		t.Fatalf("Packument with a full budget = %v, want budget.ErrExhausted", err)
	}
}

func wrapHandler(h http.Handler, see func(*http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		see(r)
		h.ServeHTTP(w, r)
	})
}
