package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
)

// Gate is what the npm routes need from the use case.
type Gate interface {
	// Packument returns a filtered document; errors are the gate's typed errors.
	Packument(ctx context.Context, q gate.Query) (*gate.Document, error)
	// Tarball returns an artifact whose body verifies integrity as it streams.
	Tarball(ctx context.Context, q gate.TarballQuery) (*gate.Artifact, error)
	// Explain returns every version's decision.
	Explain(ctx context.Context, name, version string, cred redact.Secret) (*gate.Explanation, error)
}

var _ Gate = (*gate.Gate)(nil)

// Response headers that say what Écluse did, in canonical form.
const (
	headerSource  = "X-Ecluse-Source"
	headerBlocked = "X-Ecluse-Blocked"
	headerWarned  = "X-Ecluse-Warned"
	headerCache   = "X-Ecluse-Cache"
	headerWarning = "X-Ecluse-Warning"
	headerSigning = "X-Ecluse-Signing"
)

// Shared header values. net/http only reads a response's header values, so one slice
// may serve every response.
var (
	varyDocument = []string{"Accept, Accept-Encoding, Authorization"}
	cacheControl = []string{"private, max-age=0, must-revalidate"}
	gzipValue    = []string{"gzip"}
	constValues  = map[string][]string{}
	smallCounts  [100][]string
)

func init() {
	for _, v := range []string{
		gate.ContentTypeJSON, gate.ContentTypeAbbreviated,
		gate.SourcePrivate, gate.SourcePublic, gate.SourceMirrorPublic, "hit", "miss",
		gate.SignatureVerified, gate.SignatureWarn, gate.SignatureOff,
	} {
		constValues[v] = []string{v}
	}
	for i := range smallCounts {
		smallCounts[i] = []string{strconv.Itoa(i)}
	}
}

// headerValue returns a shared slice for a known constant value, else a new one.
func headerValue(v string) []string {
	if s, ok := constValues[v]; ok {
		return s
	}
	return []string{v}
}

// countValue returns a header value for a count, shared for small ones.
func countValue(n int) []string {
	if n >= 0 && n < len(smallCounts) {
		return smallCounts[n]
	}
	return []string{strconv.Itoa(n)}
}

// NPMHandlers returns the handlers for the npm read routes and the explain endpoint.
// authToken is the edge token: a caller credential equal to it is Écluse's own and is
// never passed through to the private upstream.
func NPMHandlers(g Gate, authToken redact.Secret) (serve, explain HandlerFunc) {
	h := &npmHandler{gate: g, edge: authToken}
	return h.serve, h.explain
}

type npmHandler struct {
	gate Gate
	edge redact.Secret
}

// credential returns the caller's Authorization value to pass through, if any.
func (h *npmHandler) credential(r *http.Request) redact.Secret {
	v := r.Header.Get("Authorization")
	if v == "" {
		return redact.Secret{}
	}
	if h.edge.IsSet() {
		if _, tok, ok := strings.Cut(v, " "); ok && h.edge.Equal(strings.TrimSpace(tok)) {
			return redact.Secret{}
		}
		if _, err := authenticate(h.edge, r); err == nil {
			return redact.Secret{} // Basic auth carrying the edge token
		}
	}
	return redact.New(v)
}

func (h *npmHandler) serve(w http.ResponseWriter, r *http.Request) error {
	req, err := npm.ParseRequestPath(r.URL.EscapedPath())
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Message: err.Error(), Cause: err}
	}
	switch req.Kind {
	case npm.KindTarball:
		setRoute(r, "tarball")
		return h.tarball(w, r, req)
	case npm.KindVersion:
		setRoute(r, "version")
	default:
		setRoute(r, "packument")
	}
	doc, err := h.gate.Packument(r.Context(), gate.Query{
		Name:        req.Name,
		Version:     req.Version,
		Abbreviated: req.Kind == npm.KindPackument && prefersAbbreviated(r.Header.Get("Accept")),
		Credential:  h.credential(r),
	})
	if err != nil {
		return err
	}
	// The compressed representation has its own ETag; a validator of either one
	// names the same rendering, so both answer a conditional request.
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	tag := doc.ETag
	if gz {
		tag = gate.GzipETag(doc.ETag)
	}
	// Headers are set by their canonical keys, constant values from shared slices:
	// this runs for every warm serve, where hd.Set's allocations were a third of the
	// handler's.
	hd := w.Header()
	hd["Content-Type"] = headerValue(doc.ContentType)
	hd["Etag"] = []string{tag}
	hd["Vary"] = varyDocument
	hd["Cache-Control"] = cacheControl
	hd[headerSource] = headerValue(doc.Source)
	hd[headerBlocked] = countValue(doc.Blocked)
	hd[headerWarned] = countValue(doc.Warned)
	hd[headerCache] = headerValue(doc.Cache)
	if doc.Signing != "" {
		hd[headerSigning] = headerValue(doc.Signing)
	}
	if doc.Warning != "" {
		hd.Set(headerWarning, doc.Warning)
	}
	if inm := r.Header.Get("If-None-Match"); etagMatches(inm, doc.ETag) || etagMatches(inm, gate.GzipETag(doc.ETag)) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if gz {
		body, _, err := doc.Gzip()
		if err != nil {
			return fmt.Errorf("compress %s: %w", req.Name, err)
		}
		hd["Content-Encoding"] = gzipValue
		hd["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
		return nil
	}
	hd["Content-Length"] = []string{strconv.Itoa(doc.Body.Len())}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = doc.Body.WriteTo(w)
	}
	return nil
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip: named (or as
// x-gzip, or through "*") with a non-zero quality.
func acceptsGzip(header string) bool {
	if header == "" {
		return false
	}
	gzip, star := -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := quality(params)
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			gzip = max(gzip, q)
		case "*":
			star = max(star, q)
		}
	}
	if gzip >= 0 {
		return gzip > 0
	}
	return star > 0
}

// quality returns the q parameter of a header element's parameters, 1 when absent.
func quality(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
				return f
			}
			return 0
		}
	}
	return 1
}

func (h *npmHandler) tarball(w http.ResponseWriter, r *http.Request, req npm.Request) error {
	art, err := h.gate.Tarball(r.Context(), gate.TarballQuery{Name: req.Name, Version: req.Version, Credential: h.credential(r)})
	if err != nil {
		return err
	}
	defer art.Body.Close()
	// Read the first bytes before committing to a status: an upstream that fails before
	// sending anything still gets the client a JSON 502 instead of a cut connection.
	var first []byte
	if r.Method != http.MethodHead {
		buf := make([]byte, 32<<10)
		n, err := readSome(art.Body, buf)
		first = buf[:n]
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, gate.ErrTarballRefused) {
				return err // a 403 with the reason, as a policy denial
			}
			msg := fmt.Sprintf("the upstream failed while sending the tarball of %s@%s", req.Name, req.Version)
			if errors.Is(err, gate.ErrIntegrityMismatch) {
				msg = fmt.Sprintf("the tarball of %s@%s does not match its integrity digest", req.Name, req.Version)
			}
			return &Error{Status: http.StatusBadGateway, Message: msg, Cause: err}
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set(headerSource, art.Source)
	if art.Signing != "" {
		hd[headerSigning] = headerValue(art.Signing)
	}
	if art.Size >= 0 {
		hd.Set("Content-Length", strconv.FormatInt(art.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(first)
	if err == nil {
		_, err = io.Copy(w, art.Body)
	}
	if err != nil {
		// The status is sent; the only honest signal left is to cut the connection so
		// the client cannot take a partial or mismatching artifact as complete.
		logFrom(r).Warn("tarball stream aborted", "package", req.Name, "version", req.Version,
			"integrity_mismatch", errors.Is(err, gate.ErrIntegrityMismatch), "refused", errors.Is(err, gate.ErrTarballRefused), "error", err.Error())
		panic(http.ErrAbortHandler)
	}
	return nil
}

// readSome reads into buf until it holds at least one byte or r fails or ends.
func readSome(r io.Reader, buf []byte) (int, error) {
	for {
		n, err := r.Read(buf)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (h *npmHandler) explain(w http.ResponseWriter, r *http.Request) error {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/-/ecluse/explain")
	req, err := npm.ParseRequestPath(rest)
	if err != nil || req.Kind == npm.KindTarball {
		msg := "expected /-/ecluse/explain/{name} or /-/ecluse/explain/{name}/{version}"
		if err != nil {
			msg = err.Error()
		}
		return &Error{Status: http.StatusBadRequest, Message: msg, Cause: err}
	}
	ex, err := h.gate.Explain(r.Context(), req.Name, req.Version, h.credential(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ex)
	return nil
}

// prefersAbbreviated reports whether an Accept header ranks npm's abbreviated form at
// least as high as plain JSON (npm sends it with q=1.0 and application/json with q=0.8).
func prefersAbbreviated(accept string) bool {
	// Every request from one client sends the same header: remember the last answer.
	if m := lastAccept.Load(); m != nil && m.header == accept {
		return m.abbreviated
	}
	abbr := rankAbbreviated(accept)
	lastAccept.Store(&acceptMemo{header: accept, abbreviated: abbr})
	return abbr
}

// acceptMemo is the last Accept header seen and its answer.
type acceptMemo struct {
	header      string
	abbreviated bool
}

var lastAccept atomic.Pointer[acceptMemo]

// rankAbbreviated is prefersAbbreviated without the memo.
func rankAbbreviated(accept string) bool {
	abbr, plain := -1.0, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		media, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		media = strings.TrimSpace(media)
		switch {
		case strings.EqualFold(media, gate.ContentTypeAbbreviated):
			abbr = max(abbr, quality(params))
		case strings.EqualFold(media, "application/json"), media == "*/*", strings.EqualFold(media, "application/*"):
			plain = max(plain, quality(params))
		}
	}
	return abbr > 0 && abbr >= plain
}

// etagMatches implements If-None-Match's weak comparison over a list of tags.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// classify maps the gate's typed errors to statuses and public messages.
func classify(err error) (int, string, bool) {
	var (
		bad    *gate.BadRequestError
		nf     *gate.NotFoundError
		denied *gate.DeniedError
		upDen  *gate.UpstreamDeniedError
		up     *gate.UpstreamError
		busy   *gate.BusyError
	)
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest, bad.Message, true
	case errors.As(err, &nf):
		return http.StatusNotFound, nf.Message, true
	case errors.As(err, &denied):
		return http.StatusForbidden, denied.Message, true
	case errors.As(err, &upDen):
		return upDen.Status, upDen.Message, true
	case errors.As(err, &up):
		return http.StatusBadGateway, up.Message, true
	case errors.As(err, &busy):
		return http.StatusServiceUnavailable, busy.Message, true
	case errors.Is(err, context.Canceled):
		return 499, "request cancelled", true
	}
	return 0, "", false
}
