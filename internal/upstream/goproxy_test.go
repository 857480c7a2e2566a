package upstream

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/redact"
)

const goCaller = "Bearer s3cr3t-g0-caller-t0ken"

// fakeGoProxy is a module proxy under /go/ that records what it was asked.
func fakeGoProxy(t *testing.T, s *seen) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.uris = append(s.uris, r.RequestURI)
		s.mu.Unlock()
		switch r.URL.EscapedPath() {
		case "/go/example.com/!burnt!sushi/toml/@v/list":
			_, _ = w.Write([]byte("v1.0.0\nv1.1.0\n"))
		case "/go/example.com/m/@v/v1.0.0.zip":
			w.Header().Set("Content-Length", "9")
			_, _ = w.Write([]byte("zip bytes"))
		case "/go/example.com/gone/@v/list":
			w.WriteHeader(http.StatusGone)
			_, _ = w.Write([]byte("not found: gone for good\n"))
		case "/go/example.com/secret/@v/list":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("\n  access denied for " + r.Header.Get("Authorization") + "\nsecond line\n"))
		case "/go/example.com/json/@v/list":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"token expired"}`))
		case "/go/example.com/broken/@v/list":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("upstream exploded with " + r.Header.Get("Authorization")))
		case "/go/example.com/huge/@v/list":
			_, _ = w.Write(bytes.Repeat([]byte("v1.0.0\n"), 300))
		case "/go/example.com/gz/@v/list":
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write([]byte("v1.2.3\n"))
			_ = zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(buf.Bytes())
		case "/go/example.com/bomb/@v/list":
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(bytes.Repeat([]byte("\n"), 1<<20))
			_ = zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(buf.Bytes())
		case "/go/sumdb/sum.example.test/lookup/example.com/m@v1.0.0":
			_, _ = w.Write([]byte("record\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGet(t *testing.T) {
	var s seen
	srv := fakeGoProxy(t, &s)
	c := New(Options{Origin: "private", Base: mustURL(t, srv.URL+"/go/"), HTTP: srv.Client(), MaxBytes: 1024})
	tests := []struct {
		name, path string
		limit      int64
		want       string
		check      func(error) bool
	}{
		{"escaped module path", "/example.com/!burnt!sushi/toml/@v/list", 0, "v1.0.0\nv1.1.0\n", nil},
		{"sumdb lookup", "/sumdb/sum.example.test/lookup/example.com/m@v1.0.0", 0, "record\n", nil},
		{"gzip decoded", "/example.com/gz/@v/list", 0, "v1.2.3\n", nil},
		{"404", "/example.com/missing/@v/list", 0, "", func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"410 is not found too", "/example.com/gone/@v/list", 0, "", func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"403 plain text", "/example.com/secret/@v/list", 0, "", func(err error) bool {
			var d *DeniedError
			return errors.As(err, &d) && d.Status == 403 && d.Message == "access denied for "+redacted
		}},
		{"401 json", "/example.com/json/@v/list", 0, "", func(err error) bool {
			var d *DeniedError
			return errors.As(err, &d) && d.Status == 401 && d.Message == "token expired"
		}},
		{"502", "/example.com/broken/@v/list", 0, "", func(err error) bool {
			var u *UnavailableError
			return errors.As(err, &u) && u.Status == 502
		}},
		{"over the client's bound", "/example.com/huge/@v/list", 0, "", func(err error) bool { return errors.Is(err, ErrTooLarge) }},
		{"over the call's bound", "/example.com/!burnt!sushi/toml/@v/list", 10, "", func(err error) bool { return errors.Is(err, ErrTooLarge) }},
		{"call's bound above the client's", "/example.com/huge/@v/list", 4096, strings.Repeat("v1.0.0\n", 300), nil},
		{"gzip bomb", "/example.com/bomb/@v/list", 0, "", func(err error) bool { return errors.Is(err, ErrTooLarge) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := c.Get(context.Background(), tt.path, redact.New(goCaller), tt.limit, nil)
			if tt.check == nil {
				if err != nil || string(body) != tt.want {
					t.Fatalf("Get(%q) = %q, %v, want %q", tt.path, body, err, tt.want)
				}
				return
			}
			if !tt.check(err) {
				t.Fatalf("Get(%q) error = %v, unexpected kind", tt.path, err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("Get(%q) error = %q, leaks the credential", tt.path, err)
			}
		})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if got, want := s.uris[0], "/go/example.com/!burnt!sushi/toml/@v/list"; got != want {
		t.Errorf("request URI = %q, want %q (the case-encoding kept as is)", got, want)
	}
	for i, got := range s.auth {
		if got != goCaller {
			t.Errorf("request %d Authorization = %q, want the caller's", i, got)
		}
	}
}

func TestGetRefusesPaths(t *testing.T) {
	var s seen
	srv := fakeGoProxy(t, &s)
	c := New(Options{Origin: "public", Base: mustURL(t, srv.URL+"/go/"), HTTP: srv.Client(), Anonymous: true})
	for _, p := range []string{
		"", "example.com/m/@v/list", "/example.com/../secret", "/./x", "/x//y", "/x?y=1", "/x#f",
		"/x%2Fy", `/x\y`, "/x y", "/x\n", "/x\x7f", "/" + strings.Repeat("a", 9000),
	} {
		if _, err := c.Get(context.Background(), p, redact.Secret{}, 0, nil); err == nil {
			t.Errorf("Get(%q) succeeded, want a refusal", p)
		}
		if _, _, err := c.OpenPath(context.Background(), p, redact.Secret{}); err == nil {
			t.Errorf("OpenPath(%q) succeeded, want a refusal", p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.uris) != 0 {
		t.Errorf("refused paths reached the proxy: %q", s.uris)
	}
}

func TestGetCredentials(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"passthrough forwards the caller's", Options{Origin: "private"}, goCaller},
		{"service uses its own", Options{Origin: "private", ServiceToken: redact.New("svc")}, "Bearer svc"},
		{"anonymous sends none", Options{Origin: "public", Anonymous: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			srv := fakeGoProxy(t, &s)
			tt.opts.Base, tt.opts.HTTP = mustURL(t, srv.URL+"/go/"), srv.Client()
			c := New(tt.opts)
			if _, err := c.Get(context.Background(), "/example.com/!burnt!sushi/toml/@v/list", redact.New(goCaller), 0, nil); err != nil {
				t.Fatal(err)
			}
			body, _, err := c.OpenPath(context.Background(), "/example.com/m/@v/v1.0.0.zip", redact.New(goCaller))
			if err != nil {
				t.Fatal(err)
			}
			body.Close()
			s.mu.Lock()
			defer s.mu.Unlock()
			for i, got := range s.auth {
				if got != tt.want {
					t.Errorf("request %d Authorization = %q, want %q", i, got, tt.want)
				}
			}
		})
	}
}

func TestOpenPath(t *testing.T) {
	var s seen
	srv := fakeGoProxy(t, &s)
	c := New(Options{Origin: "public", Base: mustURL(t, srv.URL+"/go"), HTTP: srv.Client(), Anonymous: true})
	body, size, err := c.OpenPath(context.Background(), "/example.com/m/@v/v1.0.0.zip", redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(body)
	body.Close()
	if err != nil || string(got) != "zip bytes" || size != 9 {
		t.Errorf("OpenPath = %q (size %d), %v, want %q (size 9)", got, size, err, "zip bytes")
	}
	for path, check := range map[string]func(error) bool{
		"/example.com/m/@v/v9.9.9.zip": func(err error) bool { return errors.Is(err, ErrNotFound) },
		"/example.com/gone/@v/list":    func(err error) bool { return errors.Is(err, ErrNotFound) },
		"/example.com/broken/@v/list": func(err error) bool {
			var u *UnavailableError
			return errors.As(err, &u) && u.Status == http.StatusBadGateway
		},
	} {
		if _, _, err := c.OpenPath(context.Background(), path, redact.Secret{}); !check(err) {
			t.Errorf("OpenPath(%q) error = %v, unexpected kind", path, err)
		}
	}
}

func TestGetChargesLease(t *testing.T) {
	var s seen
	srv := fakeGoProxy(t, &s)
	c := New(Options{Origin: "public", Base: mustURL(t, srv.URL+"/go/"), HTTP: srv.Client(), Anonymous: true})
	b := budget.New(1<<20, 0)
	lease := b.Lease(100)
	defer lease.Release()
	if _, err := c.Get(context.Background(), "/example.com/!burnt!sushi/toml/@v/list", redact.Secret{}, 0, lease); err != nil {
		t.Fatal(err)
	}
	if lease.Held() == 0 {
		t.Error("Get charged nothing to the lease")
	}
}

func TestShortText(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"first line", "\n\n  denied: you may not read this  \nmore", "denied: you may not read this"},
		{"json error", `{"error":"token expired"}`, "token expired"},
		{"json reason", ` {"reason":"forbidden"}`, "forbidden"},
		{"echoed credential", "bad token " + goCaller, "bad token " + redacted},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shortText(strings.NewReader(tt.body), redact.New(goCaller)); got != tt.want {
				t.Errorf("shortText(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

// FuzzPathProblem: a path pathProblem accepts joins under the base without leaving it
// and without a query or fragment.
func FuzzPathProblem(f *testing.F) {
	for _, s := range []string{"/example.com/!m/@v/list", "/sumdb/sum.example.test/tile/8/0/001", "/../x", "/x?y", "/%2e%2e/x", "//x"} {
		f.Add(s)
	}
	base, err := url.Parse("https://proxy.example.test/go/")
	if err != nil {
		f.Fatal(err)
	}
	c := New(Options{Origin: "public", Base: base})
	f.Fuzz(func(t *testing.T, p string) {
		u, err := c.pathURL(p)
		if err != nil {
			return
		}
		if u.Host != "proxy.example.test" || u.RawQuery != "" || u.Fragment != "" ||
			!strings.HasPrefix(u.EscapedPath(), "/go/") || !strings.HasPrefix(u.String(), "https://proxy.example.test/go/") {
			t.Fatalf("pathURL(%q) = %s, left the base", p, u)
		}
		for seg := range strings.SplitSeq(u.Path, "/") {
			if seg == ".." {
				t.Fatalf("pathURL(%q) = %s, has a \"..\" segment", p, u)
			}
		}
	})
}

// FuzzShortText feeds a module proxy's 401/403 body, and the credential that was
// sent, to the plain-text error reader. It reads at most 4096 bytes; what it relays is
// one line of at most maxRelayed bytes plus an ellipsis, valid UTF-8 without control
// characters, and never the credential, whole or as the token of "Bearer x".
func FuzzShortText(f *testing.F) {
	for _, s := range []string{
		"access denied\n", "\n\n  denied for Bearer s3cr3t-caller-t0ken  \nmore", `{"error":"token expired"}`,
		`{"error":` /* not JSON */, "", "\xff\xfe\n", strings.Repeat("x", 5000), "line\x1b[31m red\rnext\u0085",
		"s3cr3t-caller-t0kens3cr3t-caller-t0ken",
	} {
		f.Add([]byte(s), "s3cr3t-caller-t0ken", true)
	}
	f.Fuzz(func(t *testing.T, body []byte, secret string, asBearer bool) {
		sent := redact.New(secret)
		if asBearer {
			sent = redact.New("Bearer " + secret)
		}
		r := &countingReader{r: bytes.NewReader(body)}
		msg := shortText(r, sent)
		if r.n > 4096 {
			t.Fatalf("shortText read %d bytes, more than 4096", r.n)
		}
		if len(strings.TrimSuffix(msg, "…")) > maxRelayed || !utf8.ValidString(msg) {
			t.Fatalf("shortText(%q) = %q: %d bytes, valid UTF-8 %v", body, msg, len(msg), utf8.ValidString(msg))
		}
		for _, c := range msg {
			if c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 || c == utf8.RuneError {
				t.Fatalf("shortText(%q) = %q holds %U", body, msg, c)
			}
		}
		if fzTokenSecret(secret) && strings.Contains(msg, secret) {
			t.Fatalf("shortText(%q) = %q relays the credential %q", body, msg, secret)
		}
	})
}
