package server

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
)

// discardWriter is an http.ResponseWriter that keeps nothing, so the benchmark measures
// the handler rather than a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkWarmServe measures what the front door adds to a warm packument serve, side by
// side with a floor handler that writes the same bytes with two headers. Écluse writes
// its access line to a discarding JSON logger. (The compressed serve writes a cached
// copy the same way; bench-compare measures both over HTTP.)
//
//	go test -run '^$' -bench WarmServe -benchmem ./internal/server/
func BenchmarkWarmServe(b *testing.B) {
	body := strings.Repeat(`{"name":"left-pad","version":"1.3.0"},`, 40)
	doc := &gate.Document{Body: npm.TextOf([]byte(body)), ContentType: gate.ContentTypeAbbreviated, ETag: `"0123456789abcdef-400"`, Source: "public", Cache: "hit"}
	g := &fakeGate{doc: doc}
	serve, explain := NPMHandlers(g, redact.Secret{})
	// A real JSON handler, not slog.DiscardHandler: formatting the access line is part of the cost.
	s := New(Options{NPM: serve, Explain: explain, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}) //nolint:sloglint // see above
	floor := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1480")
		_, _ = io.WriteString(w, body)
	})
	b.Run("identity", func(b *testing.B) {
		req, _ := http.NewRequest(http.MethodGet, "http://ecluse.test/left-pad", nil)
		req.Header.Set("Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for range b.N {
			clear(w.h)
			s.ServeHTTP(w, req)
		}
	})
	b.Run("floor", func(b *testing.B) {
		req, _ := http.NewRequest(http.MethodGet, "http://ecluse.test/left-pad", nil)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for range b.N {
			clear(w.h)
			floor.ServeHTTP(w, req)
		}
	})
}
