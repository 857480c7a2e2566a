package gate

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// TestTarballSizeBound: a public tarball announced larger than MaxTarballBytes is
// refused before it is read, and one whose stream runs past the bound (no length, or a
// false one) is cut with an error, never relayed whole.
func TestTarballSizeBound(t *testing.T) {
	for _, tt := range []struct {
		name     string
		announce bool
	}{
		{"announced", true},
		{"unannounced", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "", func(o *Options) { o.MaxTarballBytes = 8 })
			f.pub.add("left-pad", "1.0.0", ver{v: "1.0.0", age: 30 * day, body: strings.Repeat("z", 64)})
			if !tt.announce {
				// Wrap the registry so tarballs are sent chunked, without a length.
				pub := f.pub.srv.Config.Handler
				f.pub.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					pub.ServeHTTP(chunked{w}, r)
				})
			}
			art, err := f.gate.Tarball(context.Background(), TarballQuery{Name: "left-pad", Version: "1.0.0"})
			if tt.announce {
				var ue *UpstreamError
				if !errors.As(err, &ue) || !strings.Contains(ue.Message, "PROXY_MAX_TARBALL_BYTES") {
					t.Fatalf("Tarball of an announced 64 bytes over a bound of 8 = %v, want an UpstreamError naming the setting", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer art.Body.Close()
			b, err := io.ReadAll(art.Body)
			if !errors.Is(err, egress.ErrTooLarge) {
				t.Errorf("reading past the bound: err = %v, want ErrTooLarge", err)
			}
			if len(b) > 8 {
				t.Errorf("%d bytes relayed past a bound of 8", len(b))
			}
			if f.mirror.count() != 0 {
				t.Error("a cut tarball was enqueued for mirroring")
			}
		})
	}
}

// TestTarballAskedAsIs: tarballs are requested without transport compression, so a
// small response cannot inflate into a large one.
func TestTarballAskedAsIs(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Accept-Encoding"))
		_, _ = w.Write([]byte("tgz"))
	}))
	defer srv.Close()
	c := upstream.New(upstream.Options{Origin: "public", Base: mustURL(t, srv.URL+"/"), HTTP: srv.Client(), Anonymous: true})
	body, _, err := c.Open(context.Background(), mustURL(t, srv.URL+"/x.tgz"), redact.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	_ = body.Close()
	if len(got) != 1 || got[0] != "identity" {
		t.Errorf("tarball request Accept-Encoding = %q, want identity", got)
	}
}

// chunked hides the Content-Length a handler sets, so the body is sent chunked.
type chunked struct{ http.ResponseWriter }

func (c chunked) WriteHeader(code int) {
	c.ResponseWriter.Header().Del("Content-Length")
	c.ResponseWriter.WriteHeader(code)
}

func (c chunked) Write(p []byte) (int, error) {
	c.ResponseWriter.Header().Del("Content-Length")
	n, err := c.ResponseWriter.Write(p)
	http.NewResponseController(c.ResponseWriter).Flush() //nolint:errcheck // a test server's flush
	return n, err
}
