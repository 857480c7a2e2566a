package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/modgate"
	"github.com/ecluse/ecluse/internal/redact"
)

// GoModules is what a Go modules mount needs from its use case. Errors are modgate's
// typed errors.
type GoModules interface {
	// List answers /{module}/@v/list.
	List(ctx context.Context, module string, cred redact.Secret) (*modgate.Document, error)
	// Latest answers /{module}/@latest.
	Latest(ctx context.Context, module string, cred redact.Secret) (*modgate.Document, error)
	// Info answers /{module}/@v/{version}.info.
	Info(ctx context.Context, module, version string, cred redact.Secret) (*modgate.Document, error)
	// Mod answers /{module}/@v/{version}.mod, verified.
	Mod(ctx context.Context, module, version string, cred redact.Secret) (*modgate.Document, error)
	// Zip answers /{module}/@v/{version}.zip, verified; the caller closes its Body.
	Zip(ctx context.Context, module, version string, cred redact.Secret) (*modgate.Zip, error)
	// SumDB answers /sumdb/{name}{path}.
	SumDB(ctx context.Context, name, path string) (*modgate.Document, error)
	// Explain returns every version's decision (or one version's).
	Explain(ctx context.Context, module, version string, cred redact.Secret) (*modgate.Explanation, error)
}

var _ GoModules = (*modgate.Gate)(nil)

// GoModulesOptions configures a Go modules mount's handler. Zero values are noted per
// field.
type GoModulesOptions struct {
	// AuthToken is the edge token: a caller credential carrying it is Écluse's own and
	// is never passed to the private proxy. Unset means an open edge.
	AuthToken redact.Secret
	// HelpMessage is appended to every 403. Empty means nothing is added.
	HelpMessage string
}

// Content types of a Go modules mount's answers.
const (
	contentTypeText = "text/plain; charset=utf-8"
	contentTypeJSON = "application/json"
	contentTypeZip  = "application/zip"
	contentTypeTile = "application/octet-stream"
)

// Headers a Go modules mount adds.
const (
	headerRule    = "X-Ecluse-Rule"
	headerRefusal = "X-Ecluse-Refusal"
)

// explainPrefix is where a Go mount serves explanations: GOPROXY paths never start
// with "/-/", as a module path's first element holds a dot.
const explainPrefix = "/-/ecluse/explain/"

// NewGoModules returns the handler of a Go modules mount: the GOPROXY protocol (lists,
// @latest, .info, .mod, .zip, and the checksum database under /sumdb/), plus
// explanations under /-/ecluse/explain/{module}[/@v/{version}]. It receives requests
// with the mount's prefix already removed from the path and the edge already
// authenticated. Only GET and HEAD are served. Errors are one line of plain text, which
// the go command prints as the "server response"; 404 and 410 keep their GOPROXY
// meaning (the go command falls back on them).
func NewGoModules(g GoModules, opts GoModulesOptions) http.Handler {
	return &goHandler{gate: g, opts: opts, creds: &npmHandler{edge: opts.AuthToken}}
}

type goHandler struct {
	gate GoModules
	opts GoModulesOptions
	// creds extracts the caller's credential as the npm routes do.
	creds *npmHandler
}

func (h *goHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *goHandler) serve(w http.ResponseWriter, r *http.Request) error {
	if err := readsOnly(r); err != nil {
		return err
	}
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, explainPrefix); ok {
		setRoute(r, "go-explain")
		return h.explain(w, r, rest)
	}
	req, err := gomod.ParseRequest(p)
	if err != nil {
		status := http.StatusNotFound
		if !strings.HasPrefix(p, "/") || strings.Contains(p, "%") || len(p) > gomod.MaxPathLength {
			status = http.StatusBadRequest
		}
		return &Error{Status: status, Message: err.Error()}
	}
	setRoute(r, "go-"+req.Kind.String())
	ctx, cred := r.Context(), h.creds.credential(r)
	var doc *modgate.Document
	contentType := contentTypeText
	switch req.Kind {
	case gomod.KindList:
		doc, err = h.gate.List(ctx, req.Module, cred)
	case gomod.KindLatest:
		doc, err = h.gate.Latest(ctx, req.Module, cred)
		contentType = contentTypeJSON
	case gomod.KindInfo:
		doc, err = h.gate.Info(ctx, req.Module, req.Version, cred)
		contentType = contentTypeJSON
	case gomod.KindMod:
		doc, err = h.gate.Mod(ctx, req.Module, req.Version, cred)
	case gomod.KindZip:
		return h.zip(w, r, req, cred)
	case gomod.KindSumDB:
		doc, err = h.gate.SumDB(ctx, req.SumDB, req.SumDBPath)
		if strings.HasPrefix(req.SumDBPath, "/tile/") {
			contentType = contentTypeTile
		}
	}
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.Itoa(len(doc.Body)))
	hd["Cache-Control"] = cacheControl
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set(headerSource, doc.Source)
	if req.Kind == gomod.KindList && doc.Source == modgate.SourcePublic {
		hd[headerBlocked] = countValue(doc.Blocked)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		// Served as plain text, JSON or octet-stream with nosniff: never rendered as HTML.
		_, _ = w.Write(doc.Body) //nolint:gosec // G705: see above
	}
	return nil
}

// zip streams a module zip. The first bytes are read before the status is sent, so a
// private proxy that fails at once still gets the client a 502.
func (h *goHandler) zip(w http.ResponseWriter, r *http.Request, req gomod.Request, cred redact.Secret) error {
	z, err := h.gate.Zip(r.Context(), req.Module, req.Version, cred)
	if err != nil {
		return err
	}
	defer z.Body.Close()
	id := req.Module + "@" + req.Version
	var first []byte
	if r.Method != http.MethodHead {
		buf := make([]byte, 32<<10)
		n, err := readSome(z.Body, buf)
		first = buf[:n]
		if err != nil && !errors.Is(err, io.EOF) {
			return &Error{Status: http.StatusBadGateway, Message: fmt.Sprintf("the %s proxy failed while sending the zip of %s", z.Source, id), Cause: err}
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", contentTypeZip)
	hd["Cache-Control"] = cacheControl
	hd.Set(headerSource, z.Source)
	if z.Size >= 0 {
		hd.Set("Content-Length", strconv.FormatInt(z.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(first)
	if err == nil {
		_, err = io.Copy(w, z.Body)
	}
	if err != nil {
		// The status is sent; cutting the connection is the only way left to keep the
		// client from taking a partial zip as complete.
		logFrom(r).Warn("zip stream aborted", "module", req.Module, "version", req.Version, "source", z.Source, "error", err.Error())
		panic(http.ErrAbortHandler)
	}
	return nil
}

// explain serves /-/ecluse/explain/{module} and /-/ecluse/explain/{module}/@v/{version}
// (module and version "!"-escaped as on GOPROXY paths) as JSON.
func (h *goHandler) explain(w http.ResponseWriter, r *http.Request, rest string) error {
	if r.Method != http.MethodGet {
		return &Error{Status: http.StatusMethodNotAllowed, Message: "method " + r.Method + " is not allowed here (GET)",
			Header: http.Header{"Allow": {"GET"}}}
	}
	route := "/" + rest + "/@v/list"
	if mod, ver, ok := strings.Cut(rest, "/@v/"); ok {
		route = "/" + mod + "/@v/" + ver + ".info"
	}
	req, err := gomod.ParseRequest(route)
	if err != nil || (req.Kind != gomod.KindList && req.Kind != gomod.KindInfo) {
		msg := "expected " + explainPrefix + "{module} or " + explainPrefix + "{module}/@v/{version}"
		if err != nil {
			msg += ": " + err.Error()
		}
		return &Error{Status: http.StatusBadRequest, Message: msg}
	}
	ex, err := h.gate.Explain(r.Context(), req.Module, req.Version, h.creds.credential(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ex)
	return nil
}

// classifyGo maps an error to a status and the one line the client is shown.
func classifyGo(err error) (int, string) {
	var (
		e      *Error
		bad    *modgate.BadRequestError
		nf     *modgate.NotFoundError
		ref    *modgate.RefusedError
		upDen  *modgate.UpstreamDeniedError
		up     *modgate.UpstreamError
		busy   *modgate.BusyError
		status int
		msg    string
	)
	switch {
	case errors.As(err, &e):
		status, msg = e.Status, e.Message
	case errors.As(err, &bad):
		status, msg = http.StatusBadRequest, bad.Message
	case errors.As(err, &nf):
		status, msg = http.StatusNotFound, nf.Message
	case errors.As(err, &ref):
		status, msg = http.StatusForbidden, ref.Message
	case errors.As(err, &upDen):
		status, msg = http.StatusForbidden, upDen.Message
	case errors.As(err, &up):
		status, msg = http.StatusBadGateway, up.Message
	case errors.As(err, &busy):
		status, msg = http.StatusServiceUnavailable, busy.Message
	case errors.Is(err, context.Canceled):
		status, msg = 499, "request cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		status, msg = http.StatusGatewayTimeout, "Écluse timed out waiting for an upstream"
	default:
		status, msg = http.StatusInternalServerError, "internal error"
	}
	return status, msg
}

// writeError is the Go mount's one place where an error becomes a response: its
// status, and one line of plain text (the go command prints it). The cause is logged,
// never sent.
func (h *goHandler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := classifyGo(err)
	hd := w.Header()
	var ref *modgate.RefusedError
	if errors.As(err, &ref) {
		hd.Set(headerRule, oneLine(ref.Rule, 128))
		hd.Set(headerRefusal, ref.Kind.String())
	}
	msg = prepareError(w, r, err, status, msg, h.opts.HelpMessage)
	body := oneLine(msg, 2048) + "\n"
	hd.Set("Content-Type", contentTypeText)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

// oneLine makes msg a single line of printable text, at most limit bytes (without
// cutting a character).
func oneLine(msg string, limit int) string {
	var b strings.Builder
	for _, c := range msg {
		switch {
		case c == utf8.RuneError:
			b.WriteRune('?')
		case c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0):
			b.WriteByte(' ')
		default:
			b.WriteRune(c)
		}
	}
	return truncate(strings.TrimSpace(b.String()), limit)
}
