package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/ecluse/ecluse/internal/observe"
)

// recorder captures the status and byte count of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

const requestIDHeader = "X-Request-Id"

// requestID returns the client's X-Request-Id when it is a sane token, else a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get(requestIDHeader); id != "" && len(id) <= 128 && saneID(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func saneID(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// routeKey carries the matched route name so the access log can name it.
type routeKey struct{}

type routeLabel struct{ name string }

// setRoute records the route name for the access log.
func setRoute(r *http.Request, name string) {
	if l, ok := r.Context().Value(routeKey{}).(*routeLabel); ok {
		l.name = name
	}
}

// observeRequests assigns a request id, puts a request logger in the context, recovers
// panics into a 500 JSON error, and logs every request once when it ends.
func (s *Server) observeRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		w.Header().Set(requestIDHeader, id)
		label := &routeLabel{name: "unmatched"}
		log := s.log.With("request_id", id)
		if s.opts.IdentityHeader != "" {
			if who := r.Header.Get(s.opts.IdentityHeader); who != "" {
				log = log.With("caller", truncate(who, 256))
			}
		}
		ctx := observe.WithLogger(r.Context(), log)
		ctx = contextWithRoute(ctx, label)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			v := recover()
			aborted := v == http.ErrAbortHandler //nolint:errorlint // sentinel compared by identity, as net/http does
			if v != nil && !aborted {
				log.Error("panic serving request", "panic", v)
				if rec.status == 0 {
					s.writeError(rec, r, errors.New("internal error"))
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			log.Info("request",
				"method", r.Method,
				"route", label.name,
				"path", truncate(r.URL.EscapedPath(), 512),
				"status", rec.status,
				"bytes", rec.bytes,
				"duration_ms", msSince(start),
				"aborted", aborted,
			)
			if aborted {
				panic(v) // let net/http cut the connection
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func contextWithRoute(ctx context.Context, l *routeLabel) context.Context {
	return context.WithValue(ctx, routeKey{}, l)
}
