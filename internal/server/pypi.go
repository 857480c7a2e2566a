package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ecluse/ecluse/internal/pypi"
	"github.com/ecluse/ecluse/internal/pypigate"
	"github.com/ecluse/ecluse/internal/redact"
)

// PyPI is what a PyPI mount needs from its use case. Errors are pypigate's typed
// errors.
type PyPI interface {
	// Page answers simple/{name}/ in the form contentType names.
	Page(ctx context.Context, name, contentType string, cred redact.Secret) (*pypigate.Page, error)
	// File answers files/{name}/{filename}; the caller closes its Body.
	File(ctx context.Context, name, filename string, cred redact.Secret) (*pypigate.File, error)
	// Metadata answers files/{name}/{filename}.metadata.
	Metadata(ctx context.Context, name, filename string, cred redact.Secret) (body []byte, source string, err error)
	// Explain returns every file's decision.
	Explain(ctx context.Context, name string, cred redact.Secret) (*pypigate.Explanation, error)
}

var _ PyPI = (*pypigate.Gate)(nil)

// PyPIOptions configures a PyPI mount's handler. Zero values are noted per field.
type PyPIOptions struct {
	// MountPath is the mount's prefix ("/pypi/"), for redirects. Empty means "/".
	MountPath string
	// AuthToken is the edge token (never passed to the private index). Unset means an
	// open edge.
	AuthToken redact.Secret
	// HelpMessage is appended to every 403. Empty means nothing is added.
	HelpMessage string
}

// NewPyPI returns the handler of a PyPI mount: the Simple API's project pages under
// simple/{project}/ (PEP 691 JSON or PEP 503 HTML, negotiated on Accept), the files
// under files/{project}/{filename} with their PEP 658 metadata at
// {filename}.metadata, and explanations under /-/ecluse/explain/{project}. It receives
// requests with the mount's prefix removed. Only GET and HEAD are served. Errors are
// JSON ({"error": "..."}), with the message also in the status line, which pip prints.
func NewPyPI(g PyPI, opts PyPIOptions) http.Handler {
	if opts.MountPath == "" {
		opts.MountPath = "/"
	}
	return &pypiHandler{gate: g, opts: opts, creds: &npmHandler{edge: opts.AuthToken}}
}

type pypiHandler struct {
	gate  PyPI
	opts  PyPIOptions
	creds *npmHandler
}

func (h *pypiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *pypiHandler) serve(w http.ResponseWriter, r *http.Request) error {
	if err := readsOnly(r); err != nil {
		return err
	}
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, explainPrefix):
		setRoute(r, "pypi-explain")
		name, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(p, explainPrefix), "/"))
		if err != nil || name == "" || strings.Contains(name, "/") {
			return &Error{Status: http.StatusBadRequest, Message: "expected " + explainPrefix + "{project}"}
		}
		ex, err := h.gate.Explain(r.Context(), pypi.Normalize(name), h.creds.credential(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ex)
		return nil
	case p == "/simple/" || p == "/simple":
		setRoute(r, "pypi-index")
		return &Error{Status: http.StatusNotImplemented,
			Message: "Écluse does not serve the list of every project: ask for one project at simple/{project}/"}
	case strings.HasPrefix(p, "/simple/"):
		setRoute(r, "pypi-page")
		return h.page(w, r, strings.TrimPrefix(p, "/simple/"))
	case strings.HasPrefix(p, "/files/"):
		setRoute(r, "pypi-file")
		return h.file(w, r, strings.TrimPrefix(p, "/files/"))
	}
	setRoute(r, "pypi-unknown")
	return &Error{Status: http.StatusNotFound, Message: "not found: a PyPI mount serves simple/{project}/ and the files its pages list"}
}

// page serves simple/{rest}, where rest should be "{normalised name}/".
func (h *pypiHandler) page(w http.ResponseWriter, r *http.Request, rest string) error {
	raw := strings.TrimSuffix(rest, "/")
	name, err := url.PathUnescape(raw)
	if err != nil || name == "" || strings.Contains(name, "/") || !pypi.ValidName(name) {
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("%q is not a project name", oneLine(raw, 200))}
	}
	if norm := pypi.Normalize(name); norm != name || !strings.HasSuffix(rest, "/") {
		// As PyPI does: one canonical URL per project.
		loc := h.opts.MountPath + "simple/" + norm + "/"
		if q := r.URL.RawQuery; q != "" {
			loc += "?" + q
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusMovedPermanently)
		return nil
	}
	ctype, ok := pypi.Negotiate(r.Header.Get("Accept"))
	if !ok {
		return &Error{Status: http.StatusNotAcceptable,
			Message: "Écluse serves project pages as " + pypi.ContentTypeJSON + ", " + pypi.ContentTypeHTMLv1 + " or " + pypi.ContentTypeHTML}
	}
	pg, err := h.gate.Page(r.Context(), name, ctype, h.creds.credential(r))
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", pg.ContentType)
	hd.Set("Vary", "Accept")
	hd["Cache-Control"] = cacheControl
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set(headerSource, pg.Source)
	hd[headerBlocked] = countValue(pg.Blocked)
	hd.Set("Content-Length", strconv.Itoa(len(pg.Body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(pg.Body) //nolint:gosec // rendered by pypi.RenderJSON/RenderHTML, every value escaped
	}
	return nil
}

// file serves files/{project}/{filename} and its .metadata.
func (h *pypiHandler) file(w http.ResponseWriter, r *http.Request, rest string) error {
	rawName, rawFile, ok := strings.Cut(rest, "/")
	name, err1 := url.PathUnescape(rawName)
	filename, err2 := url.PathUnescape(rawFile)
	if !ok || err1 != nil || err2 != nil || name == "" || filename == "" || strings.ContainsAny(filename, "/\\") {
		return &Error{Status: http.StatusNotFound, Message: "expected files/{project}/{filename}"}
	}
	ctx, cred := r.Context(), h.creds.credential(r)
	if base, isMeta := strings.CutSuffix(filename, ".metadata"); isMeta {
		body, src, err := h.gate.Metadata(ctx, name, base, cred)
		if err != nil {
			return err
		}
		hd := w.Header()
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set(headerSource, src)
		hd.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body) //nolint:gosec // served as text/plain with nosniff, verified against the page hash
		}
		return nil
	}
	f, err := h.gate.File(ctx, name, filename, cred)
	if err != nil {
		return err
	}
	defer f.Body.Close()
	// The first 32 KiB are read before the status is sent, so a small file (most
	// metadata-only wheels, many sdists) is verified whole and a mismatch is a clean 403.
	var first []byte
	if r.Method != http.MethodHead {
		buf := make([]byte, 32<<10)
		n, err := io.ReadFull(f.Body, buf)
		first = buf[:n]
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fileStreamError(f, err)
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd["Cache-Control"] = cacheControl
	hd.Set(headerSource, f.Source)
	if f.Size >= 0 {
		hd.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(first)
	if err == nil {
		_, err = io.Copy(w, f.Body)
	}
	if err != nil {
		// The status is sent: cutting the connection is what keeps pip from taking a
		// partial or wrong file as whole (it checks the hash too).
		logFrom(r).Warn("file stream aborted", "project", f.Project, "filename", f.Filename, "source", f.Source, "error", err.Error())
		panic(http.ErrAbortHandler)
	}
	return nil
}

// fileStreamError is the answer to a file whose stream failed before anything was
// sent: a refusal when its bytes did not match the page's hash.
func fileStreamError(f *pypigate.File, err error) error {
	if errors.Is(err, pypigate.ErrIntegrityMismatch) {
		return &pypigate.RefusedError{Project: f.Project, Version: f.Version, Filename: f.Filename, Rule: pypigate.RuleIntegrity,
			Message: fmt.Sprintf("Écluse refused %s %s (%s): the bytes the %s index served do not match the hash its page lists", f.Project, f.Version, f.Filename, f.Source)}
	}
	return &Error{Status: http.StatusBadGateway, Message: fmt.Sprintf("the %s index failed while sending %s", f.Source, f.Filename), Cause: err}
}

// classifyPyPI maps an error to a status and the message the client is shown.
func classifyPyPI(err error) (int, string) {
	var (
		e     *Error
		bad   *pypigate.BadRequestError
		nf    *pypigate.NotFoundError
		ref   *pypigate.RefusedError
		upDen *pypigate.UpstreamDeniedError
		up    *pypigate.UpstreamError
		busy  *pypigate.BusyError
	)
	switch {
	case errors.As(err, &e):
		return e.Status, e.Message
	case errors.As(err, &bad):
		return http.StatusBadRequest, bad.Message
	case errors.As(err, &nf):
		return http.StatusNotFound, nf.Message
	case errors.As(err, &ref):
		return http.StatusForbidden, ref.Message
	case errors.As(err, &upDen):
		return http.StatusForbidden, upDen.Message
	case errors.As(err, &up):
		return http.StatusBadGateway, up.Message
	case errors.As(err, &busy):
		return http.StatusServiceUnavailable, busy.Message
	case errors.Is(err, context.Canceled):
		return 499, "request cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "Écluse timed out waiting for an upstream"
	}
	return http.StatusInternalServerError, "internal error"
}

// writeError is the PyPI mount's one place where an error becomes a response: a JSON
// body {"error": "..."}, and for a 403 the message in the status line as well (pip
// prints the status line, not the body). The cause is logged, never sent.
func (h *pypiHandler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := classifyPyPI(err)
	hd := w.Header()
	var ref *pypigate.RefusedError
	if errors.As(err, &ref) {
		hd.Set(headerRule, oneLine(ref.Rule, 128))
	}
	msg = prepareError(w, r, err, status, msg, h.opts.HelpMessage)
	msg = oneLine(msg, 2048)
	if r.Method == http.MethodHead {
		hd.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		return
	}
	if status == http.StatusForbidden && writeWithReasonPhrase(w, r, status, msg) {
		return
	}
	body, gzipped := encodeError(r, msg)
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Add("Vary", "Accept-Encoding")
	if gzipped {
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
