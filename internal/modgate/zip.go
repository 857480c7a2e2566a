package modgate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/redact"
)

// Zip is a module zip being served.
type Zip struct {
	// Source is where it came from: SourcePrivate or SourcePublic.
	Source string
	// Body is the zip. A public one is a local copy already verified against the
	// checksum database; a private one streams from the private proxy and fails once
	// it runs past MaxZipBytes. The caller closes it.
	Body io.ReadCloser
	// Size is its length in bytes, or -1 when unknown (a private zip whose proxy did not
	// say).
	Size int64
}

// Zip answers /{module}/@v/{version}.zip: the private proxy's when it has the version,
// streamed; else, once the policy admits the version, the public proxy's zip, read to
// a temporary file (at most MaxZipBytes), hashed, and served only if its hash is the
// one the checksum database records. A zip that does not match is never served: the
// caller gets a *RefusedError of kind RefusedChecksum.
func (g *Gate) Zip(ctx context.Context, mod, version string, cred redact.Secret) (*Zip, error) {
	if err := checkVersion(mod, version); err != nil {
		return nil, err
	}
	path := gomod.Request{Kind: gomod.KindZip, Module: mod, Version: version}.EscapedPath()
	id := mod + "@" + version
	var private *Zip
	done, err := g.privateFirst(mod, version, func() error {
		body, size, err := g.opts.Private.OpenPath(ctx, path, cred)
		if err != nil {
			return g.upstreamError(SourcePrivate, id, "its zip", err)
		}
		if size > g.opts.MaxZipBytes {
			body.Close()
			return g.zipTooLarge(SourcePrivate, id)
		}
		private = &Zip{Source: SourcePrivate, Body: &boundedBody{rc: body, left: g.opts.MaxZipBytes, id: id}, Size: size}
		return nil
	})
	if done {
		if err != nil {
			return nil, err
		}
		return private, nil
	}
	if _, err := g.admit(ctx, mod, version); err != nil {
		return nil, err
	}
	f, size, err := g.download(ctx, path, id)
	if err != nil {
		return nil, err
	}
	h1, err := gomod.HashZip(f, size)
	if err != nil {
		f.discard()
		g.log.WarnContext(ctx, "public zip is not a valid module zip", "module", mod, "version", version, "error", err.Error())
		return nil, checksumRefusal(mod, version, fileZip, "is not a valid module zip")
	}
	if err := g.verify(ctx, mod, version, fileZip, h1); err != nil {
		f.discard()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.discard()
		return nil, fmt.Errorf("rewind the zip of %s: %w", id, err)
	}
	return &Zip{Source: SourcePublic, Body: f, Size: size}, nil
}

// download copies the public zip at path to a temporary file, at most MaxZipBytes.
func (g *Gate) download(ctx context.Context, path, id string) (*tempFile, int64, error) {
	body, size, err := g.opts.Public.OpenPath(ctx, path, redact.Secret{})
	if err != nil {
		return nil, 0, g.upstreamError(SourcePublic, id, "its zip", err)
	}
	defer body.Close()
	if size > g.opts.MaxZipBytes {
		return nil, 0, g.zipTooLarge(SourcePublic, id)
	}
	// The disk the zip takes is charged as it is written (all of it up front when
	// its size is announced), and given back when the served copy is closed.
	lease := g.opts.Spool.Lease(100)
	if size > 0 {
		if err := lease.Charge(ctx, size); err != nil {
			lease.Release()
			return nil, 0, g.spoolBusy(id, err)
		}
	}
	osf, err := os.CreateTemp(g.opts.TempDir, "ecluse-zip-*")
	if err != nil {
		lease.Release()
		return nil, 0, fmt.Errorf("create a temporary file for the zip of %s: %w", id, err)
	}
	f := &tempFile{File: osf, lease: lease}
	var w io.Writer = f
	if size <= 0 {
		w = &chargingWriter{ctx: ctx, w: f, lease: lease}
	}
	n, err := io.Copy(w, io.LimitReader(body, g.opts.MaxZipBytes+1))
	switch {
	case errors.Is(err, budget.ErrExhausted):
		f.discard()
		return nil, 0, g.spoolBusy(id, err)
	case err != nil:
		f.discard()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, 0, ctxErr
		}
		return nil, 0, &UpstreamError{Message: fmt.Sprintf("the public proxy failed while sending the zip of %s", id), Cause: err}
	case n > g.opts.MaxZipBytes:
		f.discard()
		return nil, 0, g.zipTooLarge(SourcePublic, id)
	case size >= 0 && n != size:
		f.discard()
		return nil, 0, &UpstreamError{Message: fmt.Sprintf("the public proxy sent %d bytes of the zip of %s, not the %d it announced", n, id, size)}
	}
	return f, n, nil
}

func (g *Gate) zipTooLarge(origin, id string) error {
	return &UpstreamError{Message: fmt.Sprintf("the zip of %s on the %s proxy is larger than the %d bytes Écluse accepts", id, origin, g.opts.MaxZipBytes), permanent: true}
}

// spoolBusy is the error of a zip that found no room in the spool budget in time.
func (g *Gate) spoolBusy(id string, err error) error {
	return &BusyError{
		Message:    fmt.Sprintf("Écluse is verifying as many module zips as its disk allowance (PROXY_MAX_SPOOL_BYTES) holds and could not take the zip of %s in time; retry shortly", id),
		RetryAfter: busyRetryAfter,
		Cause:      err,
	}
}

// chargingWriter charges every write to a lease before making it.
type chargingWriter struct {
	ctx   context.Context //nolint:containedctx // one copy's context, for the charges it makes
	w     io.Writer
	lease *budget.Lease
}

func (c *chargingWriter) Write(p []byte) (int, error) {
	if err := c.lease.Charge(c.ctx, int64(len(p))); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// tempFile is a temporary file removed when closed; the disk it held is given back to
// the spool budget then.
type tempFile struct {
	*os.File
	lease *budget.Lease
}

// Close closes the file and removes it.
func (f *tempFile) Close() error {
	defer f.lease.Release()
	err := f.File.Close()
	if rmErr := os.Remove(f.Name()); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) && err == nil {
		err = rmErr
	}
	return err
}

// discard closes and removes the file when it is not to be served, ignoring
// failures: there is nothing left to do about them.
func (f *tempFile) discard() { _ = f.Close() }

// errZipTooLarge is what a private zip's body fails with past MaxZipBytes.
var errZipTooLarge = errors.New("the zip is larger than Écluse accepts")

// boundedBody fails once more than left bytes were read.
type boundedBody struct {
	rc   io.ReadCloser
	left int64
	id   string
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("%s: %w", b.id, errZipTooLarge)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), fmt.Errorf("%s: %w", b.id, errZipTooLarge)
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }
