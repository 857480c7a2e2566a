package upstream

import (
	"context"
	"io"
	"net/url"
	"strings"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/redact"
)

// This file is the client's side of a PyPI mount: GETs of Simple API project pages
// ("/{project}/" under an index base that ends in "simple/"), asked for in the form
// the caller accepts, and of the files those pages point to, which may live on
// another host than the index.

// Page reads the project page at path (rooted and already escaped, "/{project}/")
// under the client's base URL, sending accept as the Accept header, and returns its
// body and Content-Type. Path, credential, limit and lease are as for Get, and so are
// the errors: ErrNotFound for a 404 or 410, *DeniedError for a 401 or 403, ErrTooLarge
// past limit, budget.ErrExhausted, *UnavailableError for anything else.
func (c *Client) Page(ctx context.Context, path, accept string, credential redact.Secret, limit int64, lease *budget.Lease) (body []byte, contentType string, err error) {
	ctx, f := c.begin(ctx, "")
	if f.span.IsRecording() {
		f.span.SetAttributes(keyURLPath.String(clipURLPath(path)))
	}
	status := 0
	defer func() { f.end(ctx, status, int64(len(body)), err) }()
	// A project page's URL ends in "/", which pathURL would read as an empty segment.
	trimmed, slash := strings.CutSuffix(path, "/")
	u, err := c.pathURL(trimmed)
	if err != nil {
		return nil, "", err
	}
	if slash {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	body, contentType, status, err = c.document(ctx, u, accept, credential, limit, lease)
	return body, contentType, err
}

// OpenFrom starts reading the file at u, as Open does, with the egress guard's file
// host policy measured against origin instead of the client's base: a PyPI index may
// serve its files from a separate host the operator named. The caller has checked that
// u belongs to origin; every redirect is held to it by the guard. Errors are Get's,
// never ErrTooLarge.
func (c *Client) OpenFrom(ctx context.Context, u, origin *url.URL, credential redact.Secret) (io.ReadCloser, int64, error) {
	if origin == nil {
		origin = c.opts.Base
	}
	o := Client{opts: c.opts, tel: c.tel}
	o.opts.Base = origin
	return o.openFile(ctx, u, credential, c.checkProxyStatus)
}
