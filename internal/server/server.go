package server

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ecluse/ecluse/internal/redact"
)

// HandlerFunc is a handler that returns its error for writeError to render.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Options configures the front door. Zero values are noted per field.
type Options struct {
	// Logger receives the access log and errors. Nil means slog.Default().
	Logger *slog.Logger
	// AuthToken is the edge token. Unset means an open edge.
	AuthToken redact.Secret
	// IdentityHeader names a header whose value a fronting gateway sets to the verified
	// caller identity; it is logged as "caller". Empty means no header is trusted.
	IdentityHeader string
	// HelpMessage is appended to every 403 denial message. Empty means nothing is added.
	HelpMessage string
	// Health holds the probes' state. Nil means a fresh Health (live, not ready).
	Health *Health
	// Mounts are the ecosystems served, each under its path prefix; a request goes to
	// the mount with the longest prefix of its path. Nil means a single npm mount at "/"
	// made of NPM and Explain.
	Mounts []Mount
	// NPM serves the npm read routes (GET and HEAD of everything not under /-/) when
	// Mounts is nil. Nil means those routes answer 404.
	NPM HandlerFunc
	// Explain serves GET /-/ecluse/explain/... when Mounts is nil. Nil means 404.
	Explain HandlerFunc
	// Classify maps domain errors to statuses. Nil means the gate's typed errors are
	// mapped (400, 403, 404, 502, relayed 401/403) and anything else is a 500.
	Classify Classifier
}

// Mount is one ecosystem served under a path prefix. Its handlers see the request's
// path with the prefix removed (it still starts with "/"); edge authentication, the
// access log and the probes are the front door's, shared by every mount.
type Mount struct {
	// Name labels the mount in logs ("npm", "go").
	Name string
	// Path is the prefix, starting and ending with "/" ("/", "/go/").
	Path string
	// NPM and Explain serve an npm mount: its package routes, its explain endpoint
	// under /-/ecluse/explain/, and its /-/ routes. Errors they return are written as
	// npm's JSON errors.
	NPM     HandlerFunc
	Explain HandlerFunc
	// Audit serves an npm mount's POST /-/npm/v1/security/advisories/bulk and
	// POST /-/npm/v1/security/audits/quick (AuditHandler). Its errors are written as
	// npm's JSON errors. Nil means those paths answer 404, like any /-/ route Écluse
	// does not serve.
	Audit HandlerFunc
	// Writes is an npm mount's write path: publish, login, whoami, dist-tags,
	// deprecate, unpublish and the keys endpoint (see routeWrite). Nil means every
	// write answers 405, as before Écluse forwarded any.
	Writes Writes
	// Handler serves a mount of another ecosystem, which writes its own responses,
	// errors included, in that ecosystem's form. When set, NPM and Explain are unused.
	Handler http.Handler
}

// Server is the front door's http.Handler.
type Server struct {
	opts     Options
	log      *slog.Logger
	health   *Health
	classify Classifier
	handler  http.Handler
	// mounts are sorted longest path first, so the first match is the longest prefix.
	mounts []Mount
}

// New builds the front door.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, health: opts.Health, classify: opts.Classify}
	if s.classify == nil {
		s.classify = classify
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.health == nil {
		s.health = &Health{}
	}
	s.mounts = slices.Clone(opts.Mounts)
	if s.mounts == nil {
		s.mounts = []Mount{{Name: "npm", Path: "/", NPM: opts.NPM, Explain: opts.Explain}}
	}
	slices.SortStableFunc(s.mounts, func(a, b Mount) int { return len(b.Path) - len(a.Path) })
	s.handler = s.observeRequests(http.HandlerFunc(s.route))
	return s
}

// Health returns the probes' state, for the composition root to flip readiness.
func (s *Server) Health() *Health { return s.health }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// HTTPServer wraps the handler in an *http.Server with the timeouts a public-facing
// registry needs. There is no write timeout: a large tarball may stream for minutes.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// route dispatches one request. Probes are exempt from edge authentication.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch path {
	case "/-/ping":
		setRoute(r, "ping")
		if s.allow(w, r, http.MethodGet, http.MethodHead) {
			writeJSON(w, http.StatusOK, struct{}{})
		}
		return
	case "/livez":
		setRoute(r, "livez")
		if s.allow(w, r, http.MethodGet, http.MethodHead) {
			s.health.serveLive(w, r)
		}
		return
	case "/readyz":
		setRoute(r, "readyz")
		if s.allow(w, r, http.MethodGet, http.MethodHead) {
			s.health.serveReady(w, r)
		}
		return
	}

	if _, err := authenticate(s.opts.AuthToken, r); err != nil {
		setRoute(r, "auth")
		s.writeError(w, r, err)
		return
	}

	m, r, err := s.mountFor(r)
	if err != nil {
		setRoute(r, "unknown")
		s.writeError(w, r, err)
		return
	}
	if m.Handler != nil {
		setRoute(r, m.Name)
		m.Handler.ServeHTTP(w, r)
		return
	}
	s.routeNPM(w, r, m)
}

// mountFor finds the mount whose prefix is the longest of r's path and returns r with
// that prefix removed from its path.
func (s *Server) mountFor(r *http.Request) (*Mount, *http.Request, error) {
	escaped := r.URL.EscapedPath()
	for i := range s.mounts {
		m := &s.mounts[i]
		if !strings.HasPrefix(escaped, m.Path) {
			continue
		}
		if m.Path == "/" {
			return m, r, nil
		}
		rest := escaped[len(m.Path)-1:]
		path, err := url.PathUnescape(rest)
		if err != nil {
			return m, r, errorf(http.StatusBadRequest, "the request path is not validly escaped")
		}
		r2 := r.WithContext(r.Context())
		u := *r.URL
		u.Path, u.RawPath = path, ""
		if u.EscapedPath() != rest {
			u.RawPath = rest
		}
		r2.URL = &u
		return m, r2, nil
	}
	return nil, r, errorf(http.StatusNotFound, "not found: "+truncate(r.URL.Path, 200)+" is under no mount Écluse serves")
}

// routeNPM dispatches a request within an npm mount.
func (s *Server) routeNPM(w http.ResponseWriter, r *http.Request, m *Mount) {
	path := r.URL.Path
	switch {
	case path == "/-/v1/search":
		setRoute(r, "search")
		if s.allow(w, r, http.MethodGet, http.MethodHead) {
			s.writeError(w, r, errorf(http.StatusNotImplemented,
				"search is not offered by this registry: Écluse is an install gate, not a discovery service; search on your public registry's website instead"))
		}
	case m.Audit != nil && (path == auditBulkPath || path == auditQuickPath):
		setRoute(r, "audit")
		if s.allow(w, r, http.MethodPost) {
			s.serve(w, r, m.Audit)
		}
	case strings.HasPrefix(path, "/-/ecluse/explain/"):
		setRoute(r, "explain")
		if s.allow(w, r, http.MethodGet) {
			s.serve(w, r, m.Explain)
		}
	case m.Writes != nil && s.routeWrite(w, r, m.Writes):
	case strings.HasPrefix(path, "/-/"):
		setRoute(r, "unknown")
		s.writeError(w, r, errorf(http.StatusNotFound, "not found: "+truncate(path, 200)+" is not an endpoint Écluse serves"))
	default:
		setRoute(r, "npm")
		if s.allow(w, r, http.MethodGet, http.MethodHead) {
			s.serve(w, r, m.NPM)
		}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, h HandlerFunc) {
	if h == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "not found"))
		return
	}
	if err := h(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

// allow answers 405 with an Allow header when r's method is not one of methods.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	msg := "method " + r.Method + " is not allowed here: Écluse serves reads only (" + strings.Join(methods, ", ") + ")"
	if slices.Contains(methods, http.MethodPost) {
		msg = "method " + r.Method + " is not allowed here: this endpoint takes " + strings.Join(methods, ", ") + " only"
	}
	s.writeError(w, r, &Error{
		Status:  http.StatusMethodNotAllowed,
		Message: msg,
		Header:  http.Header{"Allow": {strings.Join(methods, ", ")}},
	})
	return false
}
