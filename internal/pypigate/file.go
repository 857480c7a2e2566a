package pypigate

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strings"

	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
)

// File is a file being served. Body verifies the page's hash as it is read and holds
// the last byte back until it matches: a mismatch ends the stream with
// ErrIntegrityMismatch before the client has the whole file. The caller closes Body.
type File struct {
	Body io.ReadCloser
	// Size is the file's length, -1 when unknown.
	Size int64
	// Source is SourcePrivate or SourcePublic.
	Source string
	// Project, Version and Filename name the file.
	Project, Version, Filename string
}

// File answers files/{name}/{filename}: the file as the project's page lists it, a
// public one decided again now (the policy may have changed since the page was read)
// and verified against the page's strongest hash as it streams.
func (g *Gate) File(ctx context.Context, name, filename string, cred redact.Secret) (*File, error) {
	p, f, err := g.find(ctx, name, filename, cred)
	if err != nil {
		return nil, err
	}
	body, size, err := g.open(ctx, p, f, f.url, cred)
	if err != nil {
		return nil, err
	}
	if size > g.opts.MaxFileBytes || (f.Size > g.opts.MaxFileBytes) {
		body.Close()
		return nil, &UpstreamError{Message: fmt.Sprintf("%s is larger than Écluse relays (PROXY_MAX_TARBALL_BYTES)", filename), permanent: true}
	}
	check, err := newCheck(f.Hashes)
	if err != nil && p.source == SourcePublic {
		body.Close() // the policy's integrity floor refuses such a file first; kept as a second lock
		return nil, &RefusedError{Project: p.name, Version: f.version, Filename: filename, Rule: policy.RuleIntegrityFloor,
			Message: fmt.Sprintf("Écluse refused %s %s (%s): the index gives no sha256 or stronger hash to verify it with", p.name, f.version, filename)}
	}
	out := &File{Size: size, Source: p.source, Project: p.name, Version: f.version, Filename: filename}
	limited := &capped{r: body, left: g.opts.MaxFileBytes}
	if check == nil {
		out.Body = struct {
			io.Reader
			io.Closer
		}{limited, body}
		return out, nil
	}
	out.Body = &verifying{r: limited, c: body, check: check, onMismatch: func() {
		g.log.ErrorContext(ctx, "file integrity mismatch; response cut before its last byte",
			"project", p.name, "filename", filename, "source", p.source, "algorithm", check.alg)
	}}
	return out, nil
}

// Metadata answers files/{name}/{filename}.metadata: the file's PEP 658 metadata, when
// its page says it has some, verified against the page's hash for it. A public file's
// metadata is served only while the file itself is admitted.
func (g *Gate) Metadata(ctx context.Context, name, filename string, cred redact.Secret) ([]byte, string, error) {
	p, f, err := g.find(ctx, name, filename, cred)
	if err != nil {
		return nil, "", err
	}
	if !f.CoreMetadata.Present {
		return nil, "", &NotFoundError{Message: fmt.Sprintf("the index publishes no metadata file for %s", filename)}
	}
	u := *f.url
	u.Path += ".metadata"
	u.RawPath = ""
	if f.url.RawPath != "" {
		u.RawPath = f.url.RawPath + ".metadata"
	}
	body, _, err := g.open(ctx, p, f, &u, cred)
	if err != nil {
		return nil, "", err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, MaxMetadataBytes+1))
	if err != nil {
		return nil, "", &UpstreamError{Message: fmt.Sprintf("the metadata of %s could not be read", filename), Cause: err}
	}
	if len(b) > MaxMetadataBytes {
		return nil, "", &UpstreamError{Message: fmt.Sprintf("the metadata of %s is larger than Écluse accepts", filename), permanent: true}
	}
	check, err := newCheck(f.CoreMetadata.Hashes)
	switch {
	case err != nil && p.source == SourcePublic:
		return nil, "", &RefusedError{Project: p.name, Version: f.version, Filename: filename + ".metadata", Rule: policy.RuleIntegrityFloor,
			Message: fmt.Sprintf("Écluse refused the metadata of %s: the index gives no sha256 or stronger hash to verify it with", filename)}
	case check != nil:
		check.h.Write(b)
		if !check.matches() {
			g.log.ErrorContext(ctx, "metadata integrity mismatch", "project", p.name, "filename", filename, "source", p.source)
			return nil, "", &RefusedError{Project: p.name, Version: f.version, Filename: filename + ".metadata", Rule: RuleIntegrity,
				Message: fmt.Sprintf("Écluse refused the metadata of %s: its bytes do not match the index's %s", filename, check.alg)}
		}
	}
	return b, p.source, nil
}

// find looks up the project and the file, and decides a public file now.
func (g *Gate) find(ctx context.Context, name, filename string, cred redact.Secret) (*project, *file, error) {
	if filename == "" || strings.ContainsAny(filename, "/\\") || len(filename) > 255 {
		return nil, nil, &BadRequestError{Message: fmt.Sprintf("%q is not a file name", clip(filename))}
	}
	p, err := g.lookup(ctx, name, cred, false)
	if err != nil {
		return nil, nil, err
	}
	i, ok := p.byName[filename]
	if !ok {
		return nil, nil, &NotFoundError{Message: fmt.Sprintf("%s has no file %s", name, clip(filename))}
	}
	f := &p.files[i]
	if p.source == SourcePublic {
		if d := g.decide(p, f, g.opts.Now()); !d.Allowed {
			e := g.refusal(p, f, d)
			g.log.InfoContext(ctx, "public file refused", "project", p.name, "filename", filename, "rule", e.Rule)
			return nil, nil, e
		}
	} else if f.url == nil {
		return nil, nil, &UpstreamError{Message: fmt.Sprintf("the private index lists %s with a URL Écluse cannot fetch", filename), permanent: true}
	}
	return p, f, nil
}

// open starts reading u, a file of p: a public one anonymously and held to its origin,
// a private one with the caller's credential only when it is on the index's own origin.
func (g *Gate) open(ctx context.Context, p *project, f *file, u *url.URL, cred redact.Secret) (io.ReadCloser, int64, error) {
	src := g.opts.Public
	if p.source == SourcePrivate {
		src = g.opts.Private
		if !sameOrigin(u, src.Base()) {
			cred = redact.Secret{}
		}
	} else {
		cred = redact.Secret{}
	}
	body, size, err := src.OpenFrom(ctx, u, f.origin, cred)
	if err != nil {
		e := g.upstreamError(p.source, p.name, err)
		var nf *NotFoundError
		if errors.As(e, &nf) {
			return nil, 0, &UpstreamError{Message: fmt.Sprintf("the %s index lists %s but its file is not there", p.source, f.Filename), Cause: err}
		}
		return nil, 0, e
	}
	return body, size, nil
}

// digests are a file's hashes as the policy reads them: sha256, sha384 and sha512 as
// padded base64 (the policy's spelling), other algorithms by name only.
func digests(hashes map[string]string) []policy.Digest {
	var out []policy.Digest
	for _, alg := range []string{"sha512", "sha384", "sha256"} {
		if v, ok := hashes[alg]; ok {
			d := policy.Digest{Algorithm: alg}
			if raw, err := hex.DecodeString(v); err == nil {
				d.Value = base64.StdEncoding.EncodeToString(raw)
			}
			out = append(out, d)
		}
	}
	for alg := range hashes {
		switch alg {
		case "sha512", "sha384", "sha256":
		default:
			out = append(out, policy.Digest{Algorithm: alg})
		}
	}
	return out
}

// check is the hash a stream is verified against.
type check struct {
	alg  string
	h    hash.Hash
	want []byte
}

func (c *check) matches() bool { return subtle.ConstantTimeCompare(c.h.Sum(nil), c.want) == 1 }

// newCheck picks the strongest of sha512, sha384 and sha256 among hashes. An error
// when there is none well formed.
func newCheck(hashes map[string]string) (*check, error) {
	for _, c := range []struct {
		alg  string
		size int
		h    func() hash.Hash
	}{{"sha512", sha512.Size, sha512.New}, {"sha384", sha512.Size384, sha512.New384}, {"sha256", sha256.Size, sha256.New}} {
		if want, err := hex.DecodeString(hashes[c.alg]); err == nil && len(want) == c.size {
			return &check{alg: c.alg, h: c.h(), want: want}, nil
		}
	}
	return nil, errors.New("no sha256, sha384 or sha512 hash")
}

// capped cuts a body past left bytes.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errors.New("file is larger than Écluse relays")
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, errors.New("file is larger than Écluse relays")
	}
	return n, err
}

// verifying hashes what is read and holds the last byte back until the stream's end
// shows that the hash matches.
type verifying struct {
	r          io.Reader
	c          io.Closer
	check      *check
	onMismatch func()
	held       []byte // at most one byte
	done       bool
	result     error
}

func (v *verifying) Read(p []byte) (int, error) {
	if v.done {
		if len(v.held) > 0 && len(p) > 0 && v.result == io.EOF { //nolint:errorlint // our own sentinel value
			p[0], v.held = v.held[0], nil
			return 1, io.EOF
		}
		return 0, v.result
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.check.h.Write(p[:n])
		last := p[n-1]
		if len(v.held) > 0 {
			copy(p[1:n], p[:n-1])
			p[0] = v.held[0]
		} else {
			n--
		}
		v.held = append(v.held[:0], last)
	}
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, io.EOF) {
		return n, err
	}
	v.done = true
	if !v.check.matches() {
		v.result, v.held = ErrIntegrityMismatch, nil
		v.onMismatch()
		return n, ErrIntegrityMismatch
	}
	v.result = io.EOF
	if len(v.held) > 0 && n < len(p) {
		p[n], v.held = v.held[0], nil
		return n + 1, io.EOF
	}
	if len(v.held) > 0 {
		return n, nil
	}
	return n, io.EOF
}

func (v *verifying) Close() error { return v.c.Close() }
