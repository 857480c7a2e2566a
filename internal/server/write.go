package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ecluse/ecluse/internal/publish"
	"github.com/ecluse/ecluse/internal/signing"
)

// Writes is what an npm mount's write path needs (publish.Writer).
type Writes interface {
	// Publish answers PUT /{name}.
	Publish(ctx context.Context, name string, req publish.Request) (*publish.Reply, error)
	// WriteExisting answers a write on a package the private registry has.
	WriteExisting(ctx context.Context, name string, req publish.Request) (*publish.Reply, error)
	// Account answers whoami, login, logout, tokens and profile.
	Account(ctx context.Context, req publish.Request) (*publish.Reply, error)
	// Keys answers /-/npm/v1/keys.
	Keys(ctx context.Context) signing.KeysDocument
	// Attestations answers /-/npm/v1/attestations/{name}@{version}.
	Attestations(ctx context.Context, name, version string, req publish.Request) (*publish.Reply, error)
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes() int64
}

var _ Writes = (*publish.Writer)(nil)

// routeWrite serves the npm registry API beyond reads, when r is part of it, and
// reports whether it was:
//
//	GET  /-/npm/v1/keys                                Écluse's keys and the registries'
//	GET  /-/npm/v1/attestations/{name}@{version}       the admitted version's side
//	GET  /-/whoami, * /-/user/..., /-/npm/v1/tokens..., /-/npm/v1/user   the private registry
//	*    /-/package/{name}/dist-tags[/{tag}]           the private registry, its packages only
//	PUT  /{name}                                       publish (or a document write)
//	PUT, DELETE /{name}/-rev/{rev}, /{name}/-/{file}/-rev/{rev}   the private registry, its packages only
//	GET  /{name}?write=true                            the private registry's own document
func (s *Server) routeWrite(w http.ResponseWriter, r *http.Request, wr Writes) bool {
	path, esc := r.URL.Path, r.URL.EscapedPath()
	switch {
	case path == publish.KeysPath:
		setRoute(r, "keys")
		if s.allow(w, r, http.MethodGet, http.MethodHead) {
			writeJSON(w, http.StatusOK, wr.Keys(r.Context()))
		}
	case strings.HasPrefix(esc, publish.AttestationsPrefix):
		setRoute(r, "attestations")
		if !s.allow(w, r, http.MethodGet, http.MethodHead) {
			return true
		}
		spec, err := url.PathUnescape(strings.TrimPrefix(esc, publish.AttestationsPrefix))
		at := strings.LastIndexByte(spec, '@')
		if err != nil || at <= 0 {
			s.writeError(w, r, errorf(http.StatusBadRequest, "expected "+publish.AttestationsPrefix+"{name}@{version}"))
			return true
		}
		name, version := spec[:at], spec[at+1:]
		s.forwardWrite(w, r, wr, func(req publish.Request) (*publish.Reply, error) {
			return wr.Attestations(r.Context(), name, version, req)
		})
	case path == "/-/whoami" || strings.HasPrefix(path, "/-/user/") || path == "/-/npm/v1/user" ||
		path == "/-/npm/v1/tokens" || strings.HasPrefix(path, "/-/npm/v1/tokens/"):
		setRoute(r, "account")
		s.forwardWrite(w, r, wr, func(req publish.Request) (*publish.Reply, error) { return wr.Account(r.Context(), req) })
	case strings.HasPrefix(esc, "/-/package/"):
		setRoute(r, "dist-tags")
		name, rest, ok := nameOf(strings.TrimPrefix(esc, "/-/package"))
		if !ok || (rest != "/dist-tags" && !strings.HasPrefix(rest, "/dist-tags/")) {
			s.writeError(w, r, errorf(http.StatusNotFound, "not found: expected /-/package/{name}/dist-tags[/{tag}]"))
			return true
		}
		s.forwardWrite(w, r, wr, func(req publish.Request) (*publish.Reply, error) { return wr.WriteExisting(r.Context(), name, req) })
	case strings.HasPrefix(path, "/-/"):
		return false
	case r.Method == http.MethodPut || r.Method == http.MethodDelete ||
		(r.Method == http.MethodGet && r.URL.Query().Get("write") == "true"):
		name, rest, ok := nameOf(esc)
		if !ok {
			s.writeError(w, r, errorf(http.StatusBadRequest, "not a package path: "+truncate(esc, 200)))
			return true
		}
		if r.Method == http.MethodPut && rest == "" {
			setRoute(r, "publish")
			s.forwardWrite(w, r, wr, func(req publish.Request) (*publish.Reply, error) { return wr.Publish(r.Context(), name, req) })
			return true
		}
		if rest != "" && !strings.HasPrefix(rest, "/-rev/") && !strings.HasPrefix(rest, "/-/") {
			return false
		}
		setRoute(r, "package-write")
		s.forwardWrite(w, r, wr, func(req publish.Request) (*publish.Reply, error) { return wr.WriteExisting(r.Context(), name, req) })
	default:
		return false
	}
	return true
}

// forwardWrite reads r's body (bounded), hands the request to do and writes its reply.
func (s *Server) forwardWrite(w http.ResponseWriter, r *http.Request, wr Writes, do func(publish.Request) (*publish.Reply, error)) {
	var body []byte
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wr.MaxBodyBytes()))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.writeError(w, r, errorf(http.StatusRequestEntityTooLarge, "request body is larger than Écluse accepts ("+strconv.FormatInt(wr.MaxBodyBytes(), 10)+" bytes)"))
			return
		case err != nil:
			s.writeError(w, r, &Error{Status: http.StatusBadRequest, Message: "request body could not be read", Cause: err})
			return
		}
		body = b
	}
	reply, err := do(publish.Request{
		Method: r.Method, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		Header: r.Header, Body: body, Credential: (&npmHandler{edge: s.opts.AuthToken}).credential(r),
	})
	if err != nil {
		s.writeError(w, r, writeError(err))
		return
	}
	h := w.Header()
	for k, vs := range reply.Header {
		h[k] = vs
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(headerSource, "private")
	h.Set("Content-Length", strconv.Itoa(len(reply.Body)))
	w.WriteHeader(reply.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(reply.Body) //nolint:gosec // the private registry's own answer, relayed with its content type and nosniff
	}
}

// writeError maps the write path's errors to the front door's.
func writeError(err error) error {
	var (
		bad     *publish.BadRequestError
		refused *publish.RefusedError
		unavail *publish.UnavailableError
		nf      *publish.NotFoundError
	)
	switch {
	case errors.As(err, &bad):
		return &Error{Status: http.StatusBadRequest, Message: bad.Message, Cause: err}
	case errors.As(err, &refused):
		return &Error{Status: http.StatusForbidden, Message: refused.Message, Cause: err}
	case errors.As(err, &nf):
		return &Error{Status: http.StatusNotFound, Message: nf.Message, Cause: err}
	case errors.As(err, &unavail):
		return &Error{Status: http.StatusBadGateway, Message: unavail.Message, Cause: err}
	}
	return err
}

// nameOf splits an escaped path under a mount into a package name (unescaped:
// "@scope/name" from "/@scope%2fname" or "/@scope/name") and the escaped rest.
func nameOf(esc string) (name, rest string, ok bool) {
	p := strings.TrimPrefix(esc, "/")
	if p == "" || p == esc {
		return "", "", false
	}
	first, after, _ := strings.Cut(p, "/")
	seg, err := url.PathUnescape(first)
	if err != nil || seg == "" {
		return "", "", false
	}
	if strings.HasPrefix(seg, "@") && !strings.Contains(seg, "/") {
		second, tail, _ := strings.Cut(after, "/")
		pkg, err := url.PathUnescape(second)
		if err != nil || pkg == "" || strings.Contains(pkg, "/") {
			return "", "", false
		}
		seg, after = seg+"/"+pkg, tail
	}
	if strings.Count(seg, "/") > 1 {
		return "", "", false
	}
	if after != "" {
		rest = "/" + after
	}
	return seg, rest, true
}
