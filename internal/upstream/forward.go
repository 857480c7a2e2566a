package upstream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ecluse/ecluse/internal/redact"
)

// This file is the client's side of the registry API Écluse forwards to the private
// registry unchanged in meaning: publishes (after the write path's checks), logins,
// whoami, dist-tags, deprecations, unpublishes, tokens and profile.

// Reply is a forwarded request's answer.
type Reply struct {
	Status int
	// Header holds only the headers a client of the registry API needs (see
	// forwardedReplyHeaders).
	Header http.Header
	Body   []byte
}

// forwardedHeaders are the request headers a forwarded call keeps: what the npm CLI
// sends that a registry reads. Everything else (cookies, the client's proxy and
// tracing headers, hop-by-hop headers) is dropped; Authorization is set by the
// client's credential rules.
var forwardedHeaders = []string{"Content-Type", "Accept", "Npm-Otp", "Npm-Command", "Npm-Auth-Type", "Npm-Scope", "Npm-Session", "User-Agent"}

// forwardedReplyHeaders are the response headers relayed to the client.
var forwardedReplyHeaders = []string{"Content-Type", "Www-Authenticate", "Npm-Notice", "Etag", "Last-Modified"}

// Forward sends method on escapedPath (as the client wrote it, "%2f" in a scoped name
// kept) with rawQuery under the client's base URL, with the headers of header that
// npm's API uses, body (nil for none) and the credential by the client's rules. The
// reply's body is read to its end, bounded by limit (<= 0: the client's MaxBytes).
// Any status is a Reply, not an error; errors are for a path that cannot be sent (a
// "." or ".." segment, plain or escaped, a backslash, a control character), a
// transport failure (*UnavailableError) and a reply past limit (ErrTooLarge).
func (c *Client) Forward(ctx context.Context, method, escapedPath, rawQuery string, header http.Header, body []byte, credential redact.Secret, limit int64) (*Reply, error) {
	ctx, f := c.begin(ctx, "")
	if f.span.IsRecording() {
		f.span.SetAttributes(keyURLPath.String(clipURLPath(escapedPath)))
	}
	var (
		status int
		n      int64
		err    error
	)
	defer func() { f.end(ctx, status, n, err) }()
	if reason := forwardPathProblem(escapedPath); reason != "" {
		err = fmt.Errorf("%s upstream: refusing path %s: %s", c.opts.Origin, clipPath(escapedPath), reason)
		return nil, err
	}
	u := *c.opts.Base
	u.RawPath = strings.TrimSuffix(c.opts.Base.EscapedPath(), "/") + escapedPath
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return nil, fmt.Errorf("%s upstream: refusing path %s: %w", c.opts.Origin, clipPath(escapedPath), err)
	}
	u.RawQuery, u.Fragment, u.RawFragment = rawQuery, "", ""
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", c.opts.Origin, err)
	}
	for _, k := range forwardedHeaders {
		if v := header.Values(k); len(v) > 0 {
			req.Header[k] = append([]string(nil), v...)
		}
	}
	c.authorize(req, credential)
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		err = c.transportError(err)
		return nil, err
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	if limit <= 0 {
		limit = c.opts.MaxBytes
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		err = &UnavailableError{Origin: c.opts.Origin, Status: status, Err: fmt.Errorf("read body: %w", err)}
		return nil, err
	}
	if int64(len(b)) > limit {
		err = fmt.Errorf("%s %s: %w (%d bytes)", c.opts.Origin, clipPath(escapedPath), ErrTooLarge, limit)
		return nil, err
	}
	n = int64(len(b))
	reply := &Reply{Status: status, Header: http.Header{}, Body: b}
	for _, k := range forwardedReplyHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			reply.Header[k] = append([]string(nil), v...)
		}
	}
	return reply, nil
}

// forwardPathProblem says what makes an escaped path unusable for Forward, or "".
func forwardPathProblem(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "it does not start with a slash"
	}
	if len(p) > 8192 {
		return "it is too long"
	}
	for _, seg := range strings.Split(p[1:], "/") {
		s, err := url.PathUnescape(seg)
		switch {
		case err != nil:
			return "it has a malformed escape"
		case s == "." || s == "..":
			return `it has a "." or ".." segment`
		case strings.ContainsAny(s, "\\"):
			return "it has a backslash"
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f {
				return "it has a control character"
			}
		}
		if strings.Contains(s, "/") && !strings.HasPrefix(s, "@") {
			return "it has an escaped slash outside a scoped name"
		}
	}
	return ""
}
