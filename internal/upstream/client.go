package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/redact"
)

// Options configures a Client. Zero values are noted per field.
type Options struct {
	// Origin names the upstream in errors and logs: "private" or "public". Required.
	Origin string
	// Base is the registry's base URL, ending in "/". Required.
	Base *url.URL
	// HTTP is the client every request goes through. Required: the egress guard's
	// client for an untrusted origin, the trusted client for the private one.
	HTTP *http.Client
	// MaxBytes bounds a metadata body after decompression. Zero means 16 MiB.
	MaxBytes int64
	// ServiceToken, when set, is sent as a Bearer token on every request instead of any
	// caller credential (the service strategy). Unset means the caller's credential, if
	// any, is forwarded.
	ServiceToken redact.Secret
	// Anonymous drops every credential: nothing is ever sent (the public upstream).
	Anonymous bool
}

// Client reads one registry.
type Client struct {
	opts Options
	tel  *clientTelemetry
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 16 << 20
	}
	return &Client{opts: opts, tel: newClientTelemetry(opts.Origin)}
}

// Origin returns "private" or "public".
func (c *Client) Origin() string { return c.opts.Origin }

// Base returns the registry's base URL.
func (c *Client) Base() *url.URL { return c.opts.Base }

// PackumentURL returns the URL of a package's document: the name with the scope's slash
// escaped, as npm itself requests it.
func (c *Client) PackumentURL(name string) *url.URL {
	escaped := url.PathEscape(name) // escapes "/" as %2F and keeps "@"
	u := *c.opts.Base
	u.Path = strings.TrimSuffix(c.opts.Base.Path, "/") + "/" + name
	u.RawPath = strings.TrimSuffix(c.opts.Base.EscapedPath(), "/") + "/" + escaped
	return &u
}

// authorize sets the Authorization header by the client's credential rules.
func (c *Client) authorize(req *http.Request, credential redact.Secret) {
	req.Header.Del("Authorization")
	switch {
	case c.opts.Anonymous:
	case c.opts.ServiceToken.IsSet():
		req.Header.Set("Authorization", "Bearer "+c.opts.ServiceToken.Reveal())
	case credential.IsSet():
		req.Header.Set("Authorization", credential.Reveal())
	}
}

// Packument fetches a package's full document. credential is the caller's own
// Authorization header value (forwarded only under the passthrough strategy; dropped for
// anonymous and service clients). The body is bounded by MaxBytes after decompression.
//
// The buffers that hold the body are charged to lease before they are allocated (nil
// charges nothing); a charge that finds no room in time fails with an error matched by
// errors.Is(err, budget.ErrExhausted).
func (c *Client) Packument(ctx context.Context, name string, credential redact.Secret, lease *budget.Lease) ([]byte, error) {
	body, _, err := c.PackumentIfChanged(ctx, name, credential, lease, Validators{})
	return body, err
}

// Validators are what a registry sent with a document so that a later request can ask
// whether it changed: its ETag and Last-Modified values, as sent. The zero value means
// none was sent (or none was usable).
type Validators struct {
	ETag         string
	LastModified string
}

// IsZero reports whether there is nothing to make a request conditional on.
func (v Validators) IsZero() bool { return v.ETag == "" && v.LastModified == "" }

// maxValidator bounds a validator kept from an upstream's response.
const maxValidator = 256

// validatorsOf reads a response's validators. Upstream bytes are hostile: a value that
// is long or carries a character a header may not hold is dropped, not sent back.
func validatorsOf(h http.Header) Validators {
	usable := func(v string) string {
		if len(v) > maxValidator {
			return ""
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 || c == 0x7f {
				return ""
			}
		}
		return v
	}
	return Validators{ETag: usable(h.Get("ETag")), LastModified: usable(h.Get("Last-Modified"))}
}

// PackumentIfChanged is Packument made conditional on since (If-None-Match with its
// ETag, If-Modified-Since with its Last-Modified): it returns an error matched by
// errors.Is(err, ErrNotModified) when the registry answers 304 Not Modified. With zero
// validators it is a plain fetch. On success it also returns the validators the
// registry sent with the document (zero when it sent none).
func (c *Client) PackumentIfChanged(ctx context.Context, name string, credential redact.Secret, lease *budget.Lease, since Validators) (body []byte, _ Validators, err error) {
	ctx, f := c.begin(ctx, name)
	status := 0
	defer func() { f.end(ctx, status, int64(len(body)), err) }()
	u := c.PackumentURL(name)
	req, err := http.NewRequestWithContext(egress.WithCallerDecoding(ctx), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, Validators{}, fmt.Errorf("build %s request: %w", c.opts.Origin, err)
	}
	// The full document: the abbreviated form lacks the publish times the policy needs.
	req.Header.Set("Accept", "application/json")
	// Compressed on the wire, decoded here with its size known first (readDocument).
	req.Header.Set("Accept-Encoding", "gzip")
	if since.ETag != "" {
		req.Header.Set("If-None-Match", since.ETag)
	}
	if since.LastModified != "" {
		req.Header.Set("If-Modified-Since", since.LastModified)
	}
	c.authorize(req, credential)
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return nil, Validators{}, c.transportError(err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	if resp.StatusCode == http.StatusNotModified && !since.IsZero() {
		return nil, since, ErrNotModified
	}
	if err := c.checkStatus(resp, credential); err != nil {
		return nil, Validators{}, err
	}
	body, err = c.readDocument(ctx, resp, lease)
	if err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, budget.ErrExhausted) {
			return nil, Validators{}, err
		}
		return nil, Validators{}, &UnavailableError{Origin: c.opts.Origin, Err: fmt.Errorf("read body: %w", err)}
	}
	if int64(len(body)) > c.opts.MaxBytes {
		return nil, Validators{}, fmt.Errorf("%s packument of %s: %w (%d bytes)", c.opts.Origin, name, ErrTooLarge, c.opts.MaxBytes)
	}
	return body, validatorsOf(resp.Header), nil
}

// Has reports whether the registry serves name's document, asking with the client's
// own credential (the service token, or none): true on 200, false on 404, an error
// otherwise (*DeniedError for a 401/403, *UnavailableError for anything else). The
// document is not read: the connection is closed once the status is known.
func (c *Client) Has(ctx context.Context, name string) (bool, error) {
	ctx, f := c.begin(ctx, name)
	status, has, err := c.has(ctx, name)
	f.end(ctx, status, -1, err)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return has, err
}

// has is Has, returning the status received and ErrNotFound for a 404.
func (c *Client) has(ctx context.Context, name string) (int, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.PackumentURL(name).String(), nil)
	if err != nil {
		return 0, false, fmt.Errorf("build %s request: %w", c.opts.Origin, err)
	}
	req.Header.Set("Accept", "application/json")
	c.authorize(req, redact.Secret{})
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return 0, false, c.transportError(err)
	}
	defer resp.Body.Close()
	if err := c.checkStatus(resp, redact.Secret{}); err != nil {
		return resp.StatusCode, false, err
	}
	return resp.StatusCode, true, nil
}

// Open starts reading a file (a tarball) at u. The caller closes the body; size is -1
// when the upstream did not say. The request's context carries this registry's base as
// the packument origin, so the egress guard applies the tarball host policy to u and to
// every redirect.
//
// The file is asked for as it is (Accept-Encoding: identity): a tarball is compressed
// already, and a transport-level encoding would only let a small response inflate into
// a large one. Its bytes are relayed as received.
func (c *Client) Open(ctx context.Context, u *url.URL, credential redact.Secret) (io.ReadCloser, int64, error) {
	return c.openFile(ctx, u, credential, c.checkStatus)
}

// openFile GETs u as it is (Accept-Encoding: identity), with the egress guard's origin
// policy for u and its redirects, and returns the body once check accepts the status.
func (c *Client) openFile(ctx context.Context, u *url.URL, credential redact.Secret, check func(*http.Response, redact.Secret) error) (body io.ReadCloser, size int64, err error) {
	ctx, f := c.begin(ctx, "")
	if f.span.IsRecording() {
		f.span.SetAttributes(keyURLPath.String(clipURLPath(u.EscapedPath())))
	}
	status := 0
	defer func() { f.end(ctx, status, size, err) }()
	ctx = egress.WithCallerDecoding(egress.WithOrigin(ctx, c.opts.Base))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("build %s request: %w", c.opts.Origin, err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	c.authorize(req, credential)
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return nil, 0, c.transportError(err)
	}
	status = resp.StatusCode
	if err := check(resp, credential); err != nil {
		resp.Body.Close()
		return nil, 0, err
	}
	return resp.Body, resp.ContentLength, nil
}

// transportError classifies a failed round trip, surfacing an egress refusal.
func (c *Client) transportError(err error) error {
	ue := &UnavailableError{Origin: c.opts.Origin, Err: err}
	var refused *egress.RefusedError
	if errors.As(err, &refused) {
		ue.Refusal = fmt.Sprintf("host %q: %s", refused.Host, refused.Reason)
	}
	return ue
}

// checkStatus classifies a response's status. credential is what was sent (or could
// have been), so a refusal that echoes it is scrubbed.
func (c *Client) checkStatus(resp *http.Response, credential redact.Secret) error {
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &DeniedError{Origin: c.opts.Origin, Status: resp.StatusCode, Message: shortError(resp.Body, credential, c.opts.ServiceToken)}
	default:
		return &UnavailableError{Origin: c.opts.Origin, Status: resp.StatusCode}
	}
}

// maxRelayed bounds an upstream's error message relayed to a client.
const maxRelayed = 200

// shortError reads an upstream's JSON error message, to relay to the client and log.
// Upstream bytes are hostile and a registry may echo what it was sent, so the message
// is scrubbed: the credentials sent are removed (whole, and the token part of a
// "Bearer x" or "Basic x" value), as is anything shaped like a token (a long run of
// letters and digits, base64 or hex, or a JWT); control characters become spaces; the
// length is bounded without cutting a character.
func shortError(r io.Reader, secrets ...redact.Secret) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	var body struct {
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}
	if json.Unmarshal(b, &body) != nil {
		return ""
	}
	msg := body.Error
	if msg == "" {
		msg = body.Reason
	}
	return scrub(msg, secrets...)
}

// scrub removes credentials and token-shaped runs from msg, replaces control
// characters, and bounds its length.
func scrub(msg string, secrets ...redact.Secret) string {
	for _, s := range secrets {
		if !s.IsSet() {
			continue
		}
		v := s.Reveal()
		msg = strings.ReplaceAll(msg, v, redacted)
		if _, tok, ok := strings.Cut(v, " "); ok && len(strings.TrimSpace(tok)) >= 4 {
			msg = strings.ReplaceAll(msg, strings.TrimSpace(tok), redacted)
		}
	}
	var b strings.Builder
	flush := func(word string) {
		if tokenShaped(word) {
			b.WriteString(redacted)
		} else {
			b.WriteString(word)
		}
	}
	start := -1
	for i, r := range msg {
		if tokenRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			flush(msg[start:i])
			start = -1
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			b.WriteByte(' ')
		} else {
			b.WriteRune(r)
		}
	}
	if start >= 0 {
		flush(msg[start:])
	}
	out := b.String()
	if len(out) > maxRelayed {
		cut := maxRelayed
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "…"
	}
	return out
}

const redacted = "[REDACTED]"

// tokenRune reports whether r may be part of a token: base64 (standard or URL), hex,
// and the dots of a JWT.
func tokenRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '-' || r == '_' || r == '+' || r == '/' || r == '=' || r == '.'
}

// tokenShaped reports whether a run of token characters looks like a secret: at least
// 20 characters mixing letters and digits (words, version numbers and package names
// rarely do), or an "npm_" token of any length past the prefix.
func tokenShaped(w string) bool {
	if strings.HasPrefix(w, "npm_") && len(w) > 8 {
		return true
	}
	if len(w) < 20 {
		return false
	}
	var letters, digits bool
	for _, r := range w {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters = true
		}
	}
	return letters && digits
}
