package server

// Reading an audit request body: bounded, gzip-aware, decoded token by token.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// ---- reading the body ----

// auditBody returns a reader of r's JSON body, gzip undone, with every bound applied:
// a passed bound, a bad gzip stream or an unsupported encoding is an *Error (a 400)
// from its reads or from here.
func auditBody(r *http.Request) (*auditJSON, func(), error) {
	gz, err := requestGzipped(r.Header.Values("Content-Encoding"))
	if err != nil {
		return nil, nil, err
	}
	if r.ContentLength > maxAuditBodyBytes {
		return nil, nil, badRequest(fmt.Sprintf("the request body is larger than %d MiB", maxAuditBodyBytes>>20))
	}
	var body io.Reader = &capReader{r: r.Body, max: maxAuditBodyBytes,
		tooBig: badRequest(fmt.Sprintf("the request body is larger than %d MiB", maxAuditBodyBytes>>20))}
	done := func() {}
	if gz {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, nil, gzipProblem(err)
		}
		done = func() { _ = zr.Close() }
		body = &capReader{r: gzipErrors{zr}, max: maxAuditDecodedBytes,
			tooBig: badRequest(fmt.Sprintf("the request body is larger than %d MiB once decompressed", maxAuditDecodedBytes>>20))}
	}
	dec := json.NewDecoder(&spaceSquasher{r: body})
	dec.UseNumber() // a number is never read, so never fails to convert
	return &auditJSON{dec: dec, left: maxAuditTokens}, done, nil
}

// auditJSON reads a request body token by token, within the token budget.
type auditJSON struct {
	dec  *json.Decoder
	left int
}

func (rd *auditJSON) token() (json.Token, error) {
	if rd.left--; rd.left < 0 {
		return nil, badRequest(fmt.Sprintf("the request body holds more than %d JSON tokens", maxAuditTokens))
	}
	return rd.dec.Token()
}

// spaceSquasher passes JSON through with every run of white space outside strings cut
// to its first byte, which leaves the document's meaning as it was. json.Decoder
// rescans a run of white space from its start each time it reads more input, so a body
// of megabytes of blanks would otherwise take it minutes.
type spaceSquasher struct {
	r        io.Reader
	inString bool // inside a string
	escaped  bool // just after a backslash inside a string
	space    bool // the last byte passed was white space outside a string
}

func (s *spaceSquasher) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			blank := false
			switch {
			case s.inString:
				switch {
				case s.escaped:
					s.escaped = false
				case c == '\\':
					s.escaped = true
				case c == '"':
					s.inString = false
				}
			case c == '"':
				s.inString = true
			case c == ' ', c == '\t', c == '\n', c == '\r':
				blank = true
			}
			if blank && s.space {
				continue
			}
			s.space = blank
			p[k] = c
			k++
		}
		if k > 0 || n == 0 || err != nil {
			return k, err
		}
	}
}

// requestGzipped reads Content-Encoding: none or identity is plain, gzip (or x-gzip)
// is gzip, and anything else is refused.
func requestGzipped(values []string) (bool, error) {
	gz := false
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			switch c = strings.ToLower(strings.TrimSpace(c)); c {
			case "", "identity":
			case "gzip", "x-gzip":
				if gz {
					return false, badRequest("the request body is gzip-compressed twice; compress it once")
				}
				gz = true
			default:
				return false, badRequest("unsupported Content-Encoding " + strconv.Quote(truncate(c, 40)) + ": send the body as plain JSON or gzip-compressed")
			}
		}
	}
	return gz, nil
}

// capReader reads r until more than max bytes have come, then fails with tooBig.
type capReader struct {
	r      io.Reader
	n, max int64
	tooBig error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, c.tooBig
	}
	if room := c.max + 1 - c.n; int64(len(p)) > room {
		p = p[:room]
	}
	k, err := c.r.Read(p)
	c.n += int64(k)
	if c.n > c.max {
		return k - 1, c.tooBig
	}
	return k, err
}

// gzipErrors turns a gzip stream's failures into 400s; a read error that is already
// an *Error (a bound passed beneath) stays as it is.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = gzipProblem(err)
	}
	return n, err
}

func gzipProblem(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusBadRequest, Message: "the request body is not a valid gzip stream", Cause: err}
}

// jsonProblem turns a decoding failure into a 400 naming it.
func jsonProblem(err error) error {
	var (
		e   *Error
		syn *json.SyntaxError
	)
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &syn):
		return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("the request body is not valid JSON: %s (at byte %d)", syn.Error(), syn.Offset), Cause: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Message: "the request body ends before its JSON does", Cause: err}
	}
	return &Error{Status: http.StatusBadRequest, Message: "the request body could not be read", Cause: err}
}

func badRequest(msg string) *Error { return errorf(http.StatusBadRequest, msg) }

// end checks that nothing but white space follows the document.
func (rd *auditJSON) end() error {
	tok, err := rd.token()
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return jsonProblem(err)
	}
	return badRequest("the request body goes on after its JSON object: " + describeToken(tok))
}

// str reads a value that must be a string.
func (rd *auditJSON) str(label string) (string, error) {
	tok, err := rd.token()
	if err != nil {
		return "", jsonProblem(err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", badRequest(fmt.Sprintf("%s must be a string; it is %s", label, describeToken(tok)))
	}
	return s, nil
}

// boolean reads a value that must be true or false.
func (rd *auditJSON) boolean(label string) (bool, error) {
	tok, err := rd.token()
	if err != nil {
		return false, jsonProblem(err)
	}
	b, ok := tok.(bool)
	if !ok {
		return false, badRequest(fmt.Sprintf("%s must be true or false; it is %s", label, describeToken(tok)))
	}
	return b, nil
}

// skip reads one value and drops it. The decoder scans it whole, without recursion
// and far faster than token by token; it counts as one token.
func (rd *auditJSON) skip() error {
	if rd.left--; rd.left < 0 {
		return badRequest(fmt.Sprintf("the request body holds more than %d JSON tokens", maxAuditTokens))
	}
	if err := rd.dec.Decode(&discard{}); err != nil {
		return jsonProblem(err)
	}
	return nil
}

// discard is a JSON value decoded by being checked and dropped, without a copy.
type discard struct{}

func (*discard) UnmarshalJSON([]byte) error { return nil }

// describeToken says what a JSON token is, for an error message.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		case '}':
			return "the end of an object"
		}
		return "the end of an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a JSON value"
}

// writeAuditJSON writes an audit answer, gzip-compressed when the client accepts it
// and the body is big enough to gain from it.
func writeAuditJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error"})
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	if len(b) > 1024 && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // never fails for a valid level
		_, _ = zw.Write(b)
		if zw.Close() == nil {
			b = buf.Bytes()
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
