package gate

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strings"

	"golang.org/x/crypto/blake2b"

	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// ErrIntegrityMismatch: the bytes streamed do not match the version's integrity digest.
// The response must be aborted; nothing is mirrored.
var ErrIntegrityMismatch = errors.New("tarball integrity mismatch")

// TarballQuery asks for one version's tarball.
type TarballQuery struct {
	Name, Version string
	Credential    redact.Secret
}

// Artifact is a tarball being streamed. Body verifies integrity as it is read: the read
// that reaches the end returns ErrIntegrityMismatch instead of io.EOF when the bytes do
// not match. The caller closes Body.
type Artifact struct {
	Body io.ReadCloser
	// Size is the byte length, or -1 when unknown.
	Size   int64
	Source string
}

// Tarball decides the version again (a lockfile fetches tarballs without a packument)
// and, when admitted, opens the tarball from the upstream that owns it.
func (g *Gate) Tarball(ctx context.Context, q TarballQuery) (*Artifact, error) {
	if err := npm.ValidateName(q.Name); err != nil {
		return nil, &BadRequestError{Message: err.Error()}
	}
	res, err := g.resolve(ctx, q.Name, q.Credential)
	if err != nil {
		return nil, err
	}
	if res.private != nil {
		if v := res.private.Find(q.Version); v != nil {
			return g.openPrivate(ctx, q, v)
		}
		if res.source == SourcePrivate {
			return nil, &NotFoundError{Message: fmt.Sprintf("%s@%s does not exist in the private registry", q.Name, q.Version)}
		}
	}
	v := res.public.Find(q.Version)
	if v == nil {
		return nil, &NotFoundError{Message: fmt.Sprintf("%s@%s does not exist", q.Name, q.Version)}
	}
	dec := g.opts.Policy.Decide(&v.Info, g.opts.Now())
	for _, rule := range dec.Warned {
		g.log.InfoContext(ctx, "warn-mode rule would deny a tarball", "package", q.Name, "version", q.Version, "rule", rule)
	}
	if !dec.Allowed {
		return nil, &DeniedError{Name: q.Name, Version: q.Version, Rule: dec.Rule, Message: dec.Reason()}
	}
	return g.openPublic(ctx, v)
}

func (g *Gate) openPrivate(ctx context.Context, q TarballQuery, v *npm.Version) (*Artifact, error) {
	base := g.opts.Private.Base()
	u := sameOrigin(v.Tarball, base)
	if u == nil {
		u = base.JoinPath(strings.TrimPrefix(npm.TarballPath(q.Name, q.Version), "/"))
	}
	body, size, err := g.opts.Private.Open(ctx, u, q.Credential)
	if err != nil {
		if errors.Is(err, upstream.ErrNotFound) {
			return nil, &NotFoundError{Message: fmt.Sprintf("the private registry has no tarball for %s@%s", q.Name, q.Version)}
		}
		return nil, upstreamFailure(SourcePrivate, q.Name, err)
	}
	return &Artifact{Body: body, Size: size, Source: SourcePrivate}, nil
}

// sameOrigin parses raw and returns it only when it has base's scheme, host and port.
func sameOrigin(raw string, base *url.URL) *url.URL {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return nil
	}
	return u
}

func (g *Gate) openPublic(ctx context.Context, v *npm.Version) (*Artifact, error) {
	name, version := v.Info.Name, v.Info.Version
	u, err := url.Parse(v.Tarball)
	if err != nil || v.Tarball == "" || !u.IsAbs() {
		return nil, &UpstreamError{Message: fmt.Sprintf("the public registry gives no usable tarball URL for %s@%s", name, version)}
	}
	if g.opts.CheckTarball != nil {
		if err := g.opts.CheckTarball(u, g.opts.Public.Base()); err != nil {
			return nil, &UpstreamError{Message: fmt.Sprintf("refused to fetch the tarball of %s@%s: %v", name, version, err), Cause: err}
		}
	}
	verifier, err := newVerifier(v.Info.Integrity)
	if err != nil {
		// The floor already required a usable digest; this is a defence in depth.
		return nil, &UpstreamError{Message: fmt.Sprintf("%s@%s has no integrity digest Écluse can verify", name, version), Cause: err}
	}
	body, size, err := g.opts.Public.Open(ctx, u, redact.Secret{})
	if err != nil {
		if errors.Is(err, upstream.ErrNotFound) {
			return nil, &NotFoundError{Message: fmt.Sprintf("the public registry has no tarball for %s@%s", name, version)}
		}
		return nil, upstreamFailure(SourcePublic, name, err)
	}
	if size > g.opts.MaxTarballBytes {
		_ = body.Close()
		return nil, &UpstreamError{Message: fmt.Sprintf("the tarball of %s@%s is %d bytes, more than PROXY_MAX_TARBALL_BYTES allows (%d)", name, version, size, g.opts.MaxTarballBytes)}
	}
	// An upstream that announced no length, or a wrong one, is cut at the bound.
	body = egress.LimitReader(body, g.opts.MaxTarballBytes)
	job := MirrorJob{Name: name, Version: version, Integrity: v.Info.Integrity, Tarball: v.Tarball}
	vb := &verifyingBody{body: body, verifier: verifier, onDone: func(ok bool) {
		if !ok {
			g.log.ErrorContext(ctx, "tarball integrity mismatch; response aborted, nothing mirrored",
				"package", name, "version", version, "algorithm", verifier.alg)
			return
		}
		if g.opts.Mirror != nil {
			if err := g.opts.Mirror.Enqueue(context.WithoutCancel(ctx), job); err != nil {
				g.log.WarnContext(ctx, "mirror enqueue failed", "package", name, "version", version, "error", err.Error())
			}
		}
	}}
	return &Artifact{Body: vb, Size: size, Source: SourcePublic}, nil
}

// verifier checks streamed bytes against the strongest digest of an SRI string.
type verifier struct {
	alg  string
	h    hash.Hash
	want []byte
}

func newVerifier(integrity string) (*verifier, error) {
	var best *verifier
	for _, d := range npm.ParseSRI(integrity) {
		var h hash.Hash
		switch d.Algorithm.String() {
		case "sha512":
			h = sha512.New()
		case "sha384":
			h = sha512.New384()
		case "sha256":
			h = sha256.New()
		case "blake2b":
			h, _ = blake2b.New512(nil) // never fails without a key
		default:
			continue // no verifier for this algorithm here; another digest may do
		}
		want, err := base64.StdEncoding.DecodeString(d.Value)
		if err != nil {
			continue
		}
		if best == nil || h.Size() > best.h.Size() {
			best = &verifier{alg: d.Algorithm.String(), h: h, want: want}
		}
	}
	if best == nil {
		return nil, errors.New("no well-formed sha256, sha384, sha512 or blake2b digest")
	}
	return best, nil
}

// verifyingBody hashes what is read and checks it at the end of the stream. It always
// holds back the last byte read until the digest is confirmed, so a mismatching artifact
// is never delivered whole: the consumer sees ErrIntegrityMismatch before its final byte.
type verifyingBody struct {
	body     io.ReadCloser
	verifier *verifier
	onDone   func(ok bool)
	held     byte
	hasHeld  bool
	verified bool  // the end of the stream was reached and checked
	result   error // io.EOF or ErrIntegrityMismatch once verified
}

func (b *verifyingBody) Read(p []byte) (int, error) {
	if b.verified {
		if b.hasHeld && errors.Is(b.result, io.EOF) && len(p) > 0 {
			p[0], b.hasHeld = b.held, false
			return 1, io.EOF
		}
		return 0, b.result
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.body.Read(p)
	if n > 0 {
		b.verifier.h.Write(p[:n])
		last := p[n-1]
		if b.hasHeld {
			copy(p[1:n], p[:n-1])
			p[0] = b.held
		} else {
			n--
		}
		b.held, b.hasHeld = last, true
	}
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, io.EOF) {
		return n, err
	}
	// End of stream: verify, then release the held byte only if the digest matches.
	b.verified = true
	ok := subtle.ConstantTimeCompare(b.verifier.h.Sum(nil), b.verifier.want) == 1
	b.onDone(ok)
	if !ok {
		b.result, b.hasHeld = ErrIntegrityMismatch, false
		return n, ErrIntegrityMismatch
	}
	b.result = io.EOF
	if b.hasHeld {
		if n < len(p) {
			p[n] = b.held
			b.hasHeld = false
			return n + 1, io.EOF
		}
		return n, nil // no room for the held byte: the next call hands it out
	}
	return n, io.EOF
}

func (b *verifyingBody) Close() error { return b.body.Close() }

var _ io.ReadCloser = (*verifyingBody)(nil)
