package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/redact"
)

// This file is the client's side of a Go module mount: GETs of GOPROXY paths
// ("/{module}/@v/list", "/{module}/@v/{version}.info", ".mod", ".zip",
// "/{module}/@latest", "/sumdb/{name}/...") under the upstream's base URL. Both 404
// and 410 mean "not here" (the go command treats them alike and falls back on them);
// the rest of the classification is the npm client's.

// Get reads the document at path under the client's base URL: a version list, an
// .info, a go.mod, an @latest answer or a checksum database file. path is rooted and
// already escaped, as gomod.Request.EscapedPath writes it; a path with a query, a
// fragment, a percent-escape, a backslash, a control character or a "." or ".."
// segment is refused before anything is sent. credential is the caller's own
// Authorization value, sent by the client's credential rules (never by an anonymous
// client, replaced by a service token).
//
// The body is read to its end, bounded by limit after decompression (limit <= 0 means
// the client's MaxBytes), and its buffers are charged to lease before they are
// allocated (nil charges nothing). Errors: ErrNotFound for a 404 or a 410;
// *DeniedError for a 401 or 403, its Message scrubbed of credentials; an error
// wrapping ErrTooLarge past limit; one matched by errors.Is(err, budget.ErrExhausted)
// when the lease found no room in time; *UnavailableError for anything else.
func (c *Client) Get(ctx context.Context, path string, credential redact.Secret, limit int64, lease *budget.Lease) (body []byte, err error) {
	ctx, f := c.begin(ctx, "")
	if f.span.IsRecording() {
		f.span.SetAttributes(keyPackage.String(modulePath(path)), keyURLPath.String(clipURLPath(path)))
	}
	status := 0
	defer func() { f.end(ctx, status, int64(len(body)), err) }()
	u, err := c.pathURL(path)
	if err != nil {
		return nil, err
	}
	body, _, status, err = c.document(ctx, u, "", credential, limit, lease)
	return body, err
}

// document GETs the document at u (with accept as the Accept header, when set) as Get
// describes, and returns its body, Content-Type and status (0 when no response came).
func (c *Client) document(ctx context.Context, u *url.URL, accept string, credential redact.Secret, limit int64, lease *budget.Lease) (body []byte, contentType string, status int, err error) {
	if limit <= 0 {
		limit = c.opts.MaxBytes
	}
	req, err := http.NewRequestWithContext(egress.WithCallerDecoding(ctx), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", 0, fmt.Errorf("build %s request: %w", c.opts.Origin, err)
	}
	// Compressed on the wire, decoded here with its size known first (readDocument).
	req.Header.Set("Accept-Encoding", "gzip")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	c.authorize(req, credential)
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return nil, "", 0, c.transportError(err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	if err := c.checkProxyStatus(resp, credential); err != nil {
		return nil, "", status, err
	}
	bounded := Client{opts: c.opts, tel: c.tel}
	bounded.opts.MaxBytes = limit
	body, err = bounded.readDocument(ctx, resp, lease)
	if err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, budget.ErrExhausted) {
			return nil, "", status, err
		}
		return nil, "", status, &UnavailableError{Origin: c.opts.Origin, Err: fmt.Errorf("read body: %w", err)}
	}
	if int64(len(body)) > limit {
		return nil, "", status, fmt.Errorf("%s %s: %w (%d bytes)", c.opts.Origin, clipPath(u.EscapedPath()), ErrTooLarge, limit)
	}
	return body, resp.Header.Get("Content-Type"), status, nil
}

// OpenPath starts reading the file (a module zip) at path under the client's base
// URL; the caller closes the body and bounds what it reads. size is -1 when the
// upstream did not say. path and credential are as for Get, and so are the errors
// (nothing is read, so never ErrTooLarge). The request's context carries the base as
// the origin, so the egress guard applies its file host policy to every redirect (a
// proxy may send zips from a storage host).
//
// The file is asked for as it is (Accept-Encoding: identity): a zip is compressed
// already, and a transport-level encoding would only let a small response inflate
// into a large one.
func (c *Client) OpenPath(ctx context.Context, path string, credential redact.Secret) (io.ReadCloser, int64, error) {
	u, err := c.pathURL(path)
	if err != nil {
		return nil, 0, err
	}
	return c.openFile(ctx, u, credential, c.checkProxyStatus)
}

// checkProxyStatus is checkStatus for a module proxy: 410 Gone is not found too, and
// a 401/403's message is read from a plain-text body as well as a JSON one.
func (c *Client) checkProxyStatus(resp *http.Response, credential redact.Secret) error {
	switch resp.StatusCode {
	case http.StatusGone:
		return ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return &DeniedError{Origin: c.opts.Origin, Status: resp.StatusCode,
			Message: shortText(resp.Body, credential, c.opts.ServiceToken)}
	}
	return c.checkStatus(resp, credential)
}

// shortText reads an upstream's error message, to relay to the client and log: the
// JSON "error" (or "reason") member when the body is a JSON object, else its first
// non-blank line, as a module proxy writes it. It is scrubbed as shortError's is.
func shortText(r io.Reader, secrets ...redact.Secret) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '{' {
		var body struct {
			Error  string `json:"error"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(trimmed, &body) == nil {
			msg := body.Error
			if msg == "" {
				msg = body.Reason
			}
			return scrub(msg, secrets...)
		}
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return strings.TrimSpace(scrub(line, secrets...))
		}
	}
	return ""
}

// pathURL joins a rooted, escaped path to the base URL, refusing anything that could
// leave the base's path or carry more than a path.
func (c *Client) pathURL(path string) (*url.URL, error) {
	if reason := pathProblem(path); reason != "" {
		return nil, fmt.Errorf("%s upstream: refusing path %s: %s", c.opts.Origin, clipPath(path), reason)
	}
	u := *c.opts.Base
	u.Path = strings.TrimSuffix(c.opts.Base.Path, "/") + path
	u.RawPath = strings.TrimSuffix(c.opts.Base.EscapedPath(), "/") + path
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	return &u, nil
}

// pathProblem says what makes p unusable as a path under the base, or returns "".
func pathProblem(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return "it does not start with a slash"
	case len(p) > 8192:
		return "it is too long"
	case strings.ContainsAny(p, "?#%\\"):
		return "it holds a query, a fragment, a percent-escape or a backslash"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f {
			return "it holds a space or a control character"
		}
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." || seg == "" {
			return "it has an empty, \".\" or \"..\" segment"
		}
	}
	return ""
}

// clipPath shortens a path for an error message.
func clipPath(p string) string {
	const limit = 200
	if len(p) <= limit {
		return fmt.Sprintf("%q", p)
	}
	cut := limit
	for cut > 0 && p[cut]&0xC0 == 0x80 {
		cut--
	}
	return fmt.Sprintf("%q...", p[:cut])
}
