package modgate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/redact"
)

// Document is a served list, .info, @latest answer, go.mod or checksum database file.
type Document struct {
	// Source is where it came from: SourcePrivate or SourcePublic.
	Source string
	// Body is what to serve. An .info or @latest answer is rendered afresh from the
	// parsed document (gomod.RenderInfo), never relayed as the upstream sent it.
	Body []byte
	// Version is, for an .info or @latest answer, the version it describes; empty
	// otherwise.
	Version string
	// Blocked counts, for a public list, the versions the policy refused; zero
	// otherwise.
	Blocked int
	// Unverified counts, for a public list, the versions left out because their .info
	// or checksum database record could not be read; zero otherwise.
	Unverified int
}

// List answers /{module}/@v/list. The private proxy is asked first: a non-empty list
// there is served as it is. Otherwise the public list is served with only the versions
// the policy admits (each decided on its .info Time and checksum database record), in
// the go command's order. An internal module's list comes from the private proxy only.
func (g *Gate) List(ctx context.Context, mod string, cred redact.Secret) (*Document, error) {
	if err := checkModule(mod); err != nil {
		return nil, err
	}
	ctx = redact.WithSecret(ctx, cred)
	if g.isInternal(mod) {
		if g.opts.Private == nil {
			return nil, g.internalNotFound(mod, "")
		}
		list, err := g.privLists.Fetch(ctx, g.privateKey(cred, mod))
		if err != nil {
			return nil, g.internalErr(mod, "", err)
		}
		return &Document{Source: SourcePrivate, Body: gomod.RenderList(list)}, nil
	}
	privateEmpty := false
	if g.opts.Private != nil {
		list, err := g.privLists.Fetch(ctx, g.privateKey(cred, mod))
		switch {
		case err == nil && len(list) > 0:
			return &Document{Source: SourcePrivate, Body: gomod.RenderList(list)}, nil
		case err == nil:
			privateEmpty = true // perhaps only pseudo-versions there: ask the public side
		case !isNotFound(err):
			return nil, err
		}
	}
	if g.opts.Public == nil {
		if privateEmpty {
			return &Document{Source: SourcePrivate, Body: []byte{}}, nil
		}
		return nil, g.noPublic(mod)
	}
	adm, err := g.admitted(ctx, mod)
	if err != nil {
		if privateEmpty && isNotFound(err) {
			return &Document{Source: SourcePrivate, Body: []byte{}}, nil
		}
		return nil, err
	}
	return &Document{Source: SourcePublic, Body: gomod.RenderList(adm.versions), Blocked: adm.blocked, Unverified: adm.unverified}, nil
}

// admittedList is a module's public list, decided.
type admittedList struct {
	// versions are the admitted versions, in the go command's order.
	versions   []string
	blocked    int
	unverified int
}

// admitted decides every version of mod's public list (the highest MaxVersions) and
// keeps those the policy admits. A version whose .info or record cannot be read is
// left out and logged; if every version is left out for a failure that may pass, the
// list fails rather than look empty.
func (g *Gate) admitted(ctx context.Context, mod string) (*admittedList, error) {
	list, err := g.pubLists.Fetch(ctx, mod)
	if err != nil {
		return nil, err
	}
	results, errs, err := g.decideAll(ctx, mod, list, g.opts.Now())
	if err != nil {
		return nil, err
	}
	adm := &admittedList{versions: make([]string, 0, len(list))}
	var firstErr error
	failing := 0
	for i, v := range list {
		switch {
		case errs[i] != nil:
			adm.unverified++
			if !isNotFound(errs[i]) {
				failing++
				if firstErr == nil {
					firstErr = errs[i]
				}
			}
		case results[i].d.Allowed:
			adm.versions = append(adm.versions, v)
		default:
			adm.blocked++
		}
	}
	if adm.unverified > 0 {
		attrs := []any{"module", mod, "left_out", adm.unverified, "failing", failing}
		if firstErr != nil {
			attrs = append(attrs, "error", firstErr.Error())
		}
		g.log.WarnContext(ctx, "list versions left out", attrs...)
	}
	if failing > 0 && failing == len(list) {
		return nil, firstErr
	}
	gomod.Sort(adm.versions)
	return adm, nil
}

// decideAll decides each of versions of mod at now, Parallelism at a time. A
// version's failure is its own, in errs; err is only the context's.
func (g *Gate) decideAll(ctx context.Context, mod string, versions []string, now time.Time) (results []decided, errs []error, err error) {
	results = make([]decided, len(versions))
	errs = make([]error, len(versions))
	var eg errgroup.Group
	eg.SetLimit(g.opts.Parallelism)
	for i, v := range versions {
		eg.Go(func() error {
			results[i], errs[i] = g.decide(ctx, mod, v, now)
			return nil
		})
	}
	_ = eg.Wait() // every goroutine returns nil
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return results, errs, nil
}

// Latest answers /{module}/@latest: the private proxy's answer when it has one; else
// the highest admitted release of the public list, else its highest admitted
// prerelease, else the public proxy's own @latest (a pseudo-version, typically)
// decided by the policy. An internal module's comes from the private proxy only.
func (g *Gate) Latest(ctx context.Context, mod string, cred redact.Secret) (*Document, error) {
	if err := checkModule(mod); err != nil {
		return nil, err
	}
	ctx = redact.WithSecret(ctx, cred)
	if doc, done, err := g.privateInfo(ctx, mod, "latest", cred); done {
		return doc, err
	}
	adm, err := g.admitted(ctx, mod)
	switch {
	case err == nil:
		if v, ok := gomod.Latest(adm.versions, nil); ok {
			dv, err := g.decide(ctx, mod, v, g.opts.Now())
			if err != nil {
				return nil, err
			}
			return infoDocument(SourcePublic, dv.c.info)
		}
	case !isNotFound(err):
		return nil, err
	}
	info, err := g.pubLatest.Fetch(ctx, mod)
	if err != nil {
		if isNotFound(err) {
			return nil, &NotFoundError{Message: fmt.Sprintf("not found: %s has no version Écluse may serve", mod)}
		}
		return nil, err
	}
	c, err := g.admit(ctx, mod, info.Version)
	if err != nil {
		return nil, err
	}
	return infoDocument(SourcePublic, c.info)
}

// Info answers /{module}/@v/{version}.info: the private proxy's when it has the
// version, else the public proxy's once the policy admits the version.
func (g *Gate) Info(ctx context.Context, mod, version string, cred redact.Secret) (*Document, error) {
	if err := checkVersion(mod, version); err != nil {
		return nil, err
	}
	ctx = redact.WithSecret(ctx, cred)
	if doc, done, err := g.privateInfo(ctx, mod, version, cred); done {
		return doc, err
	}
	c, err := g.admit(ctx, mod, version)
	if err != nil {
		return nil, err
	}
	return infoDocument(SourcePublic, c.info)
}

// privateInfo asks the private proxy for mod's .info at version (or its @latest when
// version is "latest"); see privateFirst for done.
func (g *Gate) privateInfo(ctx context.Context, mod, version string, cred redact.Secret) (doc *Document, done bool, err error) {
	done, err = g.privateFirst(mod, version, func() error {
		info, err := g.privInfos.Fetch(ctx, g.privateKey(cred, mod+"@"+version))
		if err != nil {
			return err
		}
		doc, err = infoDocument(SourcePrivate, info)
		return err
	})
	return doc, done, err
}

// privateFirst runs ask, which reads mod@version from the private proxy and returns
// the gate's errors, when the private proxy is to be asked. done reports that the
// answer is final: ask succeeded, or failed in a way that must not fall back to the
// public side (anything but a not-found, or any failure for an internal module), or
// there is no public side. done is false, with no error, when the public side is to
// be asked.
func (g *Gate) privateFirst(mod, version string, ask func() error) (done bool, err error) {
	internal := g.isInternal(mod)
	if g.opts.Private == nil {
		switch {
		case internal:
			return true, g.internalNotFound(mod, version)
		case g.opts.Public == nil:
			return true, g.noPublic(mod)
		}
		return false, nil
	}
	err = ask()
	switch {
	case err == nil:
		return true, nil
	case internal:
		return true, g.internalErr(mod, version, err)
	case !isNotFound(err):
		return true, err
	case g.opts.Public == nil:
		return true, g.noPublic(mod)
	}
	return false, nil
}

// infoDocument renders an .info document.
func infoDocument(origin string, info gomod.Info) (*Document, error) {
	body, err := gomod.RenderInfo(info)
	if err != nil {
		return nil, fmt.Errorf("render .info of %s: %w", info.Version, err)
	}
	return &Document{Source: origin, Body: body, Version: info.Version}, nil
}

// Mod answers /{module}/@v/{version}.mod: the private proxy's when it has the version;
// else, once the policy admits the version, the public proxy's go.mod, served only if
// its hash is the one the checksum database records.
func (g *Gate) Mod(ctx context.Context, mod, version string, cred redact.Secret) (*Document, error) {
	if err := checkVersion(mod, version); err != nil {
		return nil, err
	}
	path := gomod.Request{Kind: gomod.KindMod, Module: mod, Version: version}.EscapedPath()
	id := mod + "@" + version
	var private []byte
	done, err := g.privateFirst(mod, version, func() error {
		lease := g.opts.Budget.Lease(100)
		defer lease.Release()
		body, err := g.opts.Private.Get(ctx, path, cred, MaxGoModBytes, lease)
		if err != nil {
			return g.upstreamError(SourcePrivate, id, "its go.mod", err)
		}
		private = body
		return nil
	})
	if done {
		if err != nil {
			return nil, err
		}
		return &Document{Source: SourcePrivate, Body: private}, nil
	}
	if _, err := g.admit(ctx, mod, version); err != nil {
		return nil, err
	}
	lease := g.opts.Budget.Lease(100)
	defer lease.Release()
	body, err := g.opts.Public.Get(ctx, path, redact.Secret{}, MaxGoModBytes, lease)
	if err != nil {
		return nil, g.upstreamError(SourcePublic, id, "its go.mod", err)
	}
	h1 := gomod.HashGoMod(body)
	if err := g.verify(ctx, mod, version, fileGoMod, h1); err != nil {
		return nil, err
	}
	return &Document{Source: SourcePublic, Body: body}, nil
}

// The files verify checks.
const (
	fileGoMod = "go.mod"
	fileZip   = "zip"
)

// verify checks the hash of a public file (fileGoMod or fileZip) against the checksum
// database and turns a failure into the gate's errors: a mismatch, or a record that
// vanished, is a refusal; an unreachable or misbehaving database an *UpstreamError.
func (g *Gate) verify(ctx context.Context, mod, version, what, h1 string) error {
	if g.opts.SumDB == nil {
		return checksumRefusal(mod, version, what, "cannot be verified: this mount has no checksum database")
	}
	var err error
	if what == fileZip {
		err = g.opts.SumDB.CheckZip(ctx, mod, version, h1)
	} else {
		err = g.opts.SumDB.CheckGoMod(ctx, mod, version, h1)
	}
	if err == nil {
		return nil
	}
	var ce *gomod.CheckError
	isKind := func(k gomod.CheckKind) bool { return errors.As(err, &ce) && ce.Kind == k }
	switch {
	case isKind(gomod.CheckMismatch):
		g.log.ErrorContext(ctx, "public file does not match the checksum database", "module", mod, "version", version,
			"file", what, "hash", h1, "error", err.Error())
		return checksumRefusal(mod, version, what, "does not match the checksum database")
	case isKind(gomod.CheckNotFound):
		return checksumRefusal(mod, version, what, "has no record in the checksum database")
	case isKind(gomod.CheckUnavailable):
		return &UpstreamError{Message: fmt.Sprintf("the checksum database could not be reached to verify the %s of %s@%s", what, mod, version), Cause: err}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	}
	g.log.ErrorContext(ctx, "checksum database answer failed verification", "module", mod, "version", version, "file", what, "error", err.Error())
	return &UpstreamError{Message: fmt.Sprintf("the checksum database's answer about the %s of %s@%s failed verification", what, mod, version), Cause: err}
}

// internalNotFound is the not-found of an internal module (version empty for the
// module as a whole).
func (g *Gate) internalNotFound(mod, version string) error {
	id := mod
	if version != "" && version != "latest" {
		id += "@" + version
	}
	if g.opts.Private == nil {
		return &NotFoundError{Message: fmt.Sprintf("not found: %s is an internal module and this mount has no private proxy", id)}
	}
	return &NotFoundError{Message: fmt.Sprintf("not found: %s is an internal module and the private proxy does not have it", id)}
}

// internalErr turns the private proxy's error about an internal module into the
// answer: its not-found says the module is internal.
func (g *Gate) internalErr(mod, version string, err error) error {
	if isNotFound(err) {
		return g.internalNotFound(mod, version)
	}
	return err
}

// noPublic is the not-found of a module the private proxy lacks, on a mount without a
// public proxy.
func (g *Gate) noPublic(mod string) error {
	if g.opts.Private == nil {
		return &NotFoundError{Message: fmt.Sprintf("not found: %s: this mount has no upstream", mod)}
	}
	return &NotFoundError{Message: fmt.Sprintf("not found: %s: the private proxy does not have it and this mount has no public proxy", mod)}
}
