package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

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

// requestID returns the client's X-Request-Id when it is a sane token, else a new one:
// a random prefix drawn once per process and a counter, unique without a system call.
func requestID(r *http.Request) string {
	if id := r.Header.Get(requestIDHeader); id != "" && len(id) <= 128 && saneID(id) {
		return id
	}
	var b [24]byte
	copy(b[:], idPrefix[:])
	n := idCounter.Add(1)
	const digits = "0123456789abcdef"
	for i := 23; i >= 12; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// idPrefix is the random half of every generated request id; idCounter the other half.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() (p [12]byte) {
	var raw [6]byte
	_, _ = rand.Read(raw[:])
	hex.Encode(p[:], raw[:])
	return p
}

func saneID(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// stateKey carries the request's state (its id, route name and logger) in its context.
type stateKey struct{}

// requestState is what the front door knows about one request while serving it. It is
// used by the request's own goroutine only.
type requestState struct {
	id     string
	caller string
	route  string
	base   *slog.Logger
	log    *slog.Logger // made on first use
}

// logger returns the request's logger, carrying its id (and caller), made on first use:
// most requests log only their access line, which does not need it.
func (st *requestState) logger() *slog.Logger {
	if st.log == nil {
		st.log = st.base.With("request_id", st.id)
		if st.caller != "" {
			st.log = st.log.With("caller", st.caller)
		}
	}
	return st.log
}

// stateOf returns r's request state, or nil outside observeRequests.
func stateOf(r *http.Request) *requestState {
	st, _ := r.Context().Value(stateKey{}).(*requestState)
	return st
}

// setRoute records the route name for the access log.
func setRoute(r *http.Request, name string) {
	if st := stateOf(r); st != nil {
		st.route = name
	}
}

// logFrom returns the request's logger.
func logFrom(r *http.Request) *slog.Logger {
	if st := stateOf(r); st != nil {
		return st.logger()
	}
	return observe.Logger(r.Context())
}

// observeRequests assigns a request id, starts the request's span (a child of the
// trace context the caller sent, if any), puts the span and the request's state (and
// through it a logger) in the context, recovers panics into a 500 JSON error, and logs
// and measures every request once when it ends. The access line is logged with the
// request's context, so it carries the span's trace.
func (s *Server) observeRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{id: requestID(r), route: "unmatched", base: s.log}
		w.Header()[requestIDHeader] = []string{st.id}
		if s.opts.IdentityHeader != "" {
			if who := r.Header.Get(s.opts.IdentityHeader); who != "" {
				st.caller = truncate(who, 256)
			}
		}
		t := tel()
		ctx, span := r.Context(), noSpan
		if !t.untraced {
			ctx = otel.GetTextMapPropagator().Extract(ctx, headerCarrier(r.Header))
			ctx, span = t.tracer.Start(ctx, spanName(spanMethod(r.Method)), serverSpan...)
		}
		r = r.WithContext(context.WithValue(ctx, stateKey{}, st))
		rec := &recorder{ResponseWriter: w}
		defer func() {
			v := recover()
			aborted := v == http.ErrAbortHandler //nolint:errorlint // sentinel compared by identity, as net/http does
			if v != nil && !aborted {
				st.logger().ErrorContext(r.Context(), "panic serving request", "panic", v)
				if rec.status == 0 {
					s.writeError(rec, r, errors.New("internal error"))
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			attrs := [10]slog.Attr{
				slog.String("request_id", st.id),
				slog.String("method", r.Method),
				slog.String("route", st.route),
				slog.String("path", truncate(r.URL.EscapedPath(), 512)),
				slog.Int("status", rec.status),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", msSince(start)),
				slog.Bool("aborted", aborted),
			}
			n := 8
			if st.caller != "" {
				attrs[n] = slog.String("caller", st.caller)
				n++
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs[:n]...)
			endRequest(r, t, span, st, rec, start, aborted)
			if aborted {
				panic(v) // let net/http cut the connection
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// endRequest ends the request's span, naming it by its route, and records its duration.
// aborted says the handler cut the response (a tarball stream that failed after its
// status was sent). The span's attributes are all set here, in one call.
func endRequest(r *http.Request, t *telemetry, span trace.Span, st *requestState, rec *recorder, start time.Time, aborted bool) {
	ctx := r.Context()
	recording, measured := span.IsRecording(), t.duration.Enabled(ctx)
	if !recording && !measured {
		span.End()
		return
	}
	method := spanMethod(r.Method)
	rt := routeOf(routeKey{method: method, route: st.route, status: rec.status})
	if recording {
		span.SetName(rt.name)
		span.SetAttributes(
			keyMethod.String(method),
			keyRoute.String(st.route),
			keyStatus.Int(rec.status),
			keyURLPath.String(truncate(r.URL.EscapedPath(), 512)),
			keyUserAgent.String(truncate(r.UserAgent(), 256)),
			keyRequestID.String(st.id),
			keyBodySize.Int64(rec.bytes),
		)
		switch {
		case aborted:
			span.SetAttributes(keyAborted.Bool(true))
			span.SetStatus(codes.Error, "the response was aborted")
		case rec.status >= 500:
			span.SetStatus(codes.Error, "")
		}
	}
	span.End()
	if measured {
		t.duration.Record(ctx, time.Since(start).Seconds(), rt.record...)
	}
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}

// truncate shortens s to at most n bytes, without cutting a UTF-8 character, and marks
// the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
