// Package publish is Écluse's npm write path: what `npm publish`, `npm login`,
// `npm whoami`, `npm dist-tag`, `npm deprecate` and `npm unpublish` send through an npm
// mount. Écluse hosts nothing, so every write goes to the private registry and never to
// the public one; what it adds is what only a gate can add: a publish body checked
// before it reaches anyone (one version, its tarball matching its digests), a
// dependency-confusion guard (a name the public registry has is claimed only through
// the mount's internal patterns), and Écluse's registry signature on each version it
// forwards. Writes on a package the private registry does not have are refused, so a
// public-only name cannot be tagged, deprecated or unpublished through Écluse.
//
// It knows nothing of HTTP handlers: the server package routes requests here and
// writes the replies and typed errors.
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/signing"
	"github.com/ecluse/ecluse/internal/upstream"
)

// Registry is a registry the write path talks to.
type Registry interface {
	// Forward sends a request under the registry's base URL and returns its reply,
	// whatever its status (see upstream.Client.Forward).
	Forward(ctx context.Context, method, escapedPath, rawQuery string, header http.Header, body []byte, credential redact.Secret, limit int64) (*Reply, error)
}

// PublicRegistry is the public registry, asked only whether a name exists and for its
// signing keys.
type PublicRegistry interface {
	Registry
	// Has reports whether the registry serves name's document.
	Has(ctx context.Context, name string) (bool, error)
}

var (
	_ Registry       = (*upstream.Client)(nil)
	_ PublicRegistry = (*upstream.Client)(nil)
)

// Defaults.
const (
	// DefaultMaxBodyBytes bounds a publish body (the tarball base64-encoded within).
	DefaultMaxBodyBytes = 64 << 20
	// maxReplyBytes bounds a reply to a write.
	maxReplyBytes = 4 << 20
	// KeysPath is the npm keys endpoint.
	KeysPath = "/-/npm/v1/keys"
	// AttestationsPrefix starts the npm attestations route,
	// /-/npm/v1/attestations/{name}@{version}.
	AttestationsPrefix = "/-/npm/v1/attestations/"
)

// Options configures a Writer. Zero values are noted per field.
type Options struct {
	// Private is where every write goes. Required.
	Private Registry
	// Public is asked whether a published name exists there, and for its keys. Nil
	// means no public registry: the dependency-confusion guard has nothing to ask and
	// refuses every publish of a name outside the internal patterns.
	Public PublicRegistry
	// Internal reports whether a name matches the mount's internal patterns: such a
	// name is claimed for the private registry even when the public one has it. Nil
	// means none does.
	Internal func(name string) bool
	// PublicKeys caches the public registry's keys for the keys endpoint; the read
	// path's signature checks share it. Nil means a cache of Public's own.
	PublicKeys *RegistryKeys
	// Keys signs each published version; nil means versions are forwarded unsigned.
	Keys *signing.Keyring
	// Limits bound a publish body.
	Limits npm.PublishLimits
	// MaxReadBytes bounds a document read for a write (GET ?write=true). Zero means
	// 64 MiB.
	MaxReadBytes int64
	// Admitted says where name@version is served from ("private" or "public") and
	// whether the read path admits it now, for the attestations route: a version's
	// attestations are read only from the side it came from, and only while it is
	// admitted. credential is the caller's. Nil means no attestations are served.
	Admitted func(ctx context.Context, name, version string, credential redact.Secret) (origin string, ok bool, err error)
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives the write path's events. Nil means slog.Default().
	Logger *slog.Logger
}

// Writer is the write path of one npm mount. It is safe for concurrent use.
type Writer struct {
	opts       Options
	log        *slog.Logger
	publicKeys *RegistryKeys
}

// New builds a Writer.
func New(opts Options) *Writer {
	if opts.Limits.MaxBytes <= 0 {
		opts.Limits.MaxBytes = DefaultMaxBodyBytes
	}
	if opts.MaxReadBytes <= 0 {
		opts.MaxReadBytes = 64 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PublicKeys == nil {
		var reg Registry
		if opts.Public != nil {
			reg = opts.Public
		}
		opts.PublicKeys = NewRegistryKeys(reg, opts.Now, opts.Logger)
	}
	return &Writer{opts: opts, log: opts.Logger, publicKeys: opts.PublicKeys}
}

// MaxBodyBytes is the largest request body the Writer accepts; the server bounds its
// read with it.
func (w *Writer) MaxBodyBytes() int64 { return w.opts.Limits.MaxBytes }

// BadRequestError is a write refused before anyone was asked. It becomes a 400.
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }

// RefusedError is a write Écluse refuses. It becomes a 403.
type RefusedError struct{ Message string }

func (e *RefusedError) Error() string { return e.Message }

// UnavailableError: a registry the write needed could not be asked. It becomes a 502.
type UnavailableError struct {
	Message string
	Cause   error
}

func (e *UnavailableError) Error() string { return e.Message + ": " + e.Cause.Error() }

func (e *UnavailableError) Unwrap() error { return e.Cause }

// Request is one forwarded request as the client sent it.
type Request struct {
	Method string
	// EscapedPath is the path under the mount, as sent ("/@scope%2fname").
	EscapedPath string
	RawQuery    string
	Header      http.Header
	Body        []byte
	Credential  redact.Secret
}

// Publish handles PUT /{name}: a publish when the body carries an attachment, else a
// document write on an existing package (npm deprecate, npm unpublish of one version,
// dist-tags written through the document) which goes through WriteExisting.
func (w *Writer) Publish(ctx context.Context, name string, req Request) (*Reply, error) {
	if !hasAttachments(req.Body) {
		return w.WriteExisting(ctx, name, req)
	}
	p, err := npm.ParsePublish(req.Body, name, w.opts.Limits)
	if err != nil {
		var pe *npm.PublishError
		if errors.As(err, &pe) {
			return nil, &BadRequestError{Message: pe.Msg}
		}
		return nil, &BadRequestError{Message: "publish refused: " + err.Error()}
	}
	if err := w.claim(ctx, p.Name); err != nil {
		return nil, err
	}
	if w.opts.Keys != nil {
		sig, err := w.opts.Keys.Sign(p.Name, p.Version, p.Integrity)
		if err != nil {
			return nil, fmt.Errorf("sign %s@%s: %w", p.Name, p.Version, err)
		}
		p.AddSignature(sig.KeyID, sig.Sig)
	}
	body, err := p.Encode()
	if err != nil {
		return nil, fmt.Errorf("encode the publish of %s@%s: %w", p.Name, p.Version, err)
	}
	reply, err := w.forward(ctx, Request{Method: http.MethodPut, EscapedPath: req.EscapedPath, Header: req.Header, Body: body, Credential: req.Credential})
	if err != nil {
		return nil, err
	}
	w.log.InfoContext(ctx, "publish forwarded to the private registry", "package", p.Name, "version", p.Version,
		"status", reply.Status, "signed", w.opts.Keys != nil)
	return reply, nil
}

// claim is the dependency-confusion guard: a name the public registry has may be
// published only when the internal patterns claim it.
func (w *Writer) claim(ctx context.Context, name string) error {
	if w.opts.Internal != nil && w.opts.Internal(name) {
		return nil
	}
	if w.opts.Public == nil {
		return &RefusedError{Message: fmt.Sprintf("Écluse refused the publish of %s: it does not match the mount's internal patterns, and without a public registry to ask Écluse cannot tell that the name is not taken there", name)}
	}
	has, err := w.opts.Public.Has(ctx, name)
	if err != nil {
		return &UnavailableError{Message: fmt.Sprintf("Écluse could not ask the public registry whether %s exists there, so the publish is refused; retry shortly", name), Cause: err}
	}
	if has {
		return &RefusedError{Message: fmt.Sprintf("Écluse refused the publish of %s: the public registry has a package of that name, so publishing it privately would let builds get either one; to claim the name for the private registry, add it to the mount's internal patterns", name)}
	}
	return nil
}

// WriteExisting forwards a write on a package the private registry must already have
// (a document write, a DELETE, a dist-tag change): refused when the private registry
// does not have the package (asked with the caller's credential), so a public-only
// package is never written through Écluse. A read made for a write (GET ?write=true,
// the dist-tags list) goes to the private registry as it is.
func (w *Writer) WriteExisting(ctx context.Context, name string, req Request) (*Reply, error) {
	if err := npm.ValidateName(name); err != nil {
		return nil, &BadRequestError{Message: err.Error()}
	}
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return w.forward(ctx, req) // a read for a write (GET ?write=true): the private side's own answer
	}
	probe, err := w.forward(ctx, Request{Method: http.MethodGet, EscapedPath: "/" + escapeName(name), Header: http.Header{"Accept": {"application/json"}}, Credential: req.Credential})
	if err != nil {
		return nil, err
	}
	switch {
	case probe.Status == http.StatusOK:
	case probe.Status == http.StatusNotFound:
		return nil, &RefusedError{Message: fmt.Sprintf("Écluse refused to change %s: the private registry has no package of that name, and Écluse never writes to the public registry", name)}
	default:
		return probe, nil // the private registry's own answer (401, 403, ...) for the client
	}
	return w.forward(ctx, req)
}

// Account forwards what concerns the caller rather than a package (whoami, login,
// logout, tokens, profile) to the private registry.
func (w *Writer) Account(ctx context.Context, req Request) (*Reply, error) {
	return w.forward(ctx, req)
}

func (w *Writer) forward(ctx context.Context, req Request) (*Reply, error) {
	limit := int64(maxReplyBytes)
	if req.Method == http.MethodGet {
		limit = w.opts.MaxReadBytes
	}
	reply, err := w.opts.Private.Forward(ctx, req.Method, req.EscapedPath, req.RawQuery, req.Header, req.Body, req.Credential, limit)
	if err != nil {
		return nil, &UnavailableError{Message: "Écluse could not reach the private registry", Cause: err}
	}
	return reply, nil
}

// hasAttachments reports whether a PUT body is a publish (it carries a tarball).
func hasAttachments(body []byte) bool {
	var probe struct {
		Attachments map[string]json.RawMessage `json:"_attachments"`
	}
	return json.Unmarshal(body, &probe) == nil && len(probe.Attachments) > 0
}

// escapeName writes name as npm puts it in a path: a scope's slash as %2f.
func escapeName(name string) string {
	if len(name) > 0 && name[0] == '@' {
		for i := 1; i < len(name); i++ {
			if name[i] == '/' {
				return name[:i] + "%2f" + name[i+1:]
			}
		}
	}
	return name
}

// Keys answers /-/npm/v1/keys: Écluse's own public keys, then the public registry's
// (read through the egress guard and kept an hour; the last good copy is served while
// it cannot be read) and the private registry's, each keyid once.
func (w *Writer) Keys(ctx context.Context) signing.KeysDocument {
	doc := signing.KeysDocument{Keys: []signing.PublicKey{}}
	seen := map[string]bool{}
	add := func(keys []signing.PublicKey) {
		for _, k := range keys {
			if !seen[k.KeyID] {
				seen[k.KeyID] = true
				doc.Keys = append(doc.Keys, k)
			}
		}
	}
	if w.opts.Keys != nil {
		add(w.opts.Keys.PublicKeys())
	}
	add(w.publicKeys.Keys(ctx))
	if reply, err := w.opts.Private.Forward(ctx, http.MethodGet, KeysPath, "", http.Header{"Accept": {"application/json"}}, nil, redact.Secret{}, 1<<20); err == nil && reply.Status == http.StatusOK {
		if keys, err := signing.ParseKeys(reply.Body); err == nil {
			add(keys.Keys)
		}
	}
	return doc
}

// Reply is a registry's answer to a forwarded request.
type Reply = upstream.Reply

// NotFoundError: there is nothing to serve (attestations of a version Écluse does not
// serve). It becomes a 404.
type NotFoundError struct{ Message string }

func (e *NotFoundError) Error() string { return e.Message }

// Attestations answers /-/npm/v1/attestations/{name}@{version}: the attestations of a
// version the read path admits, read from the side the version is served from (the
// public registry anonymously, the private one with the caller's credential).
func (w *Writer) Attestations(ctx context.Context, name, version string, req Request) (*Reply, error) {
	if err := npm.ValidateName(name); err != nil {
		return nil, &BadRequestError{Message: err.Error()}
	}
	if w.opts.Admitted == nil {
		return nil, &NotFoundError{Message: "attestations are not served by this mount"}
	}
	origin, ok, err := w.opts.Admitted(ctx, name, version, req.Credential)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &NotFoundError{Message: fmt.Sprintf("Écluse does not serve %s@%s, so it serves no attestations of it", name, version)}
	}
	path := AttestationsPrefix + escapeName(name) + "@" + url.PathEscape(version)
	hdr := http.Header{"Accept": {"application/json"}}
	var reply *Reply
	if origin == "private" {
		reply, err = w.forward(ctx, Request{Method: http.MethodGet, EscapedPath: path, Header: hdr, Credential: req.Credential})
	} else if w.opts.Public != nil {
		reply, err = w.opts.Public.Forward(ctx, http.MethodGet, path, "", hdr, nil, redact.Secret{}, 4<<20)
		if err != nil {
			err = &UnavailableError{Message: "Écluse could not reach the public registry", Cause: err}
		}
	} else {
		return nil, &NotFoundError{Message: "no public registry to read attestations from"}
	}
	if err != nil {
		return nil, err
	}
	if origin != "private" && reply.Status != http.StatusOK {
		// The public side's own failure; its words are not relayed.
		return nil, &NotFoundError{Message: fmt.Sprintf("the public registry has no attestations of %s@%s (%d)", name, version, reply.Status)}
	}
	return reply, nil
}
