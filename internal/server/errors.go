package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/ecluse/ecluse/internal/gate"
)

// Error is an error with an HTTP status and a message safe to show the client. Cause,
// when set, is logged but never sent.
type Error struct {
	Status int
	// Message is what the client sees (npm prints it).
	Message string
	// Cause is the underlying error, for the log only.
	Cause error
	// Header holds extra response headers (WWW-Authenticate, Allow).
	Header http.Header
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// errorf builds an *Error with no cause.
func errorf(status int, msg string) *Error { return &Error{Status: status, Message: msg} }

// Classifier maps a domain error to a status and public message. It returns ok=false
// for errors it does not know.
type Classifier func(err error) (status int, public string, ok bool)

// writeJSON writes v as a JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// errorBody is the JSON shape every error response has.
type errorBody struct {
	Error string `json:"error"`
}

// writeError is the one place an error becomes an HTTP response.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, public := http.StatusInternalServerError, "internal error"
	var e *Error
	switch {
	case errors.As(err, &e):
		status, public = e.Status, e.Message
		for k, vs := range e.Header {
			w.Header()[k] = vs
		}
	case s.classify != nil:
		if st, msg, ok := s.classify(err); ok {
			status, public = st, msg
		}
	}
	var denied *gate.DeniedError
	if errors.As(err, &denied) && denied.Rule != "" {
		w.Header().Set(headerRule, oneLine(denied.Rule, 128))
	}
	var busy retryAfterer
	if errors.As(err, &busy) {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(busy.RetryAfterDelay().Round(time.Second)/time.Second, 1))))
	}
	if status == http.StatusForbidden && s.opts.HelpMessage != "" && !strings.HasSuffix(public, s.opts.HelpMessage) {
		public = strings.TrimRight(public, ". ") + ". " + s.opts.HelpMessage
	}
	log := logFrom(r)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	} else if status == http.StatusForbidden || status == http.StatusBadGateway {
		level = slog.LevelWarn
	}
	log.Log(r.Context(), level, "request failed", "status", status, "error", err.Error())
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		return
	}
	if status == http.StatusForbidden && writeWithReasonPhrase(w, r, status, public) {
		return
	}
	body, gzipped := encodeError(r, public)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	if gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// retryAfterer is an error that tells the client when to try again (a 503 for lack of
// memory budget).
type retryAfterer interface {
	error
	RetryAfterDelay() time.Duration
}

// encodeError renders an error body, gzip-compressed when the client accepts it (as
// npm, pnpm and yarn all do).
func encodeError(r *http.Request, msg string) (body []byte, gzipped bool) {
	b, err := json.Marshal(errorBody{Error: msg})
	if err != nil {
		b = []byte(`{"error":"internal error"}`)
	}
	b = append(b, '\n')
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		return b, false
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // never fails for a valid level
	_, _ = zw.Write(b)
	if zw.Close() != nil {
		return b, false
	}
	return buf.Bytes(), true
}

// writeWithReasonPhrase writes an error response whose HTTP reason phrase carries the
// message, on HTTP/1.x only. pnpm and yarn print the reason phrase of a failed tarball
// fetch but not its body, so a denial would otherwise reach their users as a bare
// "403 Forbidden". npm still reads the JSON body. It reports false, having written
// nothing, when the connection cannot be taken over (HTTP/2, or a test recorder).
func writeWithReasonPhrase(w http.ResponseWriter, r *http.Request, status int, msg string) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	body, gzipped := encodeError(r, msg)
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	defer conn.Close()
	var head strings.Builder
	fmt.Fprintf(&head, "HTTP/1.1 %d %s\r\n", status, reasonPhrase(msg))
	for _, k := range []string{"X-Request-Id", "X-Ecluse-Source", "X-Ecluse-Rule", "X-Ecluse-Refusal"} {
		if v := w.Header().Get(k); v != "" {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	if gzipped {
		head.WriteString("Content-Encoding: gzip\r\n")
	}
	fmt.Fprintf(&head, "Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nVary: Accept-Encoding\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
	_, _ = buf.WriteString(head.String())
	_, _ = buf.Write(body)
	_ = buf.Flush()
	if rec, ok := w.(*recorder); ok {
		rec.status, rec.bytes = status, int64(len(body))
	}
	return true
}

// reasonPhrase makes msg safe for a status line: printable ASCII only (common accented
// letters lose their accent), no line breaks, bounded length.
func reasonPhrase(msg string) string {
	const maxLen = 512
	var b strings.Builder
	for _, c := range msg {
		if b.Len() >= maxLen {
			b.WriteString("...")
			break
		}
		switch {
		case c >= 0x20 && c < 0x7f:
			b.WriteRune(c)
		case strings.ContainsRune("ÉÈÊË", c):
			b.WriteByte('E')
		case strings.ContainsRune("éèêë", c):
			b.WriteByte('e')
		case strings.ContainsRune("àâä", c):
			b.WriteByte('a')
		case c == '\n' || c == '\r' || c == '\t':
			b.WriteByte(' ')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// readsOnly refuses a method other than GET and HEAD on a mount that serves reads only.
func readsOnly(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	return &Error{
		Status:  http.StatusMethodNotAllowed,
		Message: "method " + r.Method + " is not allowed here: Écluse serves reads only (GET, HEAD)",
		Header:  http.Header{"Allow": {"GET, HEAD"}},
	}
}

// prepareError does what a mount's own error writer does before its body: the
// error's own headers, Retry-After for a busy error, the help message on a 403, and
// the log line with the cause. It returns the message to send.
func prepareError(w http.ResponseWriter, r *http.Request, err error, status int, msg, help string) string {
	hd := w.Header()
	var e *Error
	if errors.As(err, &e) {
		for k, vs := range e.Header {
			hd[k] = vs
		}
	}
	var busy retryAfterer
	if errors.As(err, &busy) {
		hd.Set("Retry-After", strconv.Itoa(int(max(busy.RetryAfterDelay().Round(time.Second)/time.Second, 1))))
	}
	if status == http.StatusForbidden && help != "" && !strings.HasSuffix(msg, help) {
		msg = strings.TrimRight(msg, ". ") + ". " + help
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status == http.StatusForbidden:
		level = slog.LevelWarn
	}
	logFrom(r).Log(r.Context(), level, "request failed", "status", status, "error", err.Error())
	return msg
}
