package modgate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/module"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// The fetchers behind the gate's caches. Each returns the gate's typed errors: a
// *NotFoundError (kept for NotFoundTTL), a permanent *UpstreamError for a malformed
// document (kept too), and temporary errors that are never kept.

// candidate is what the policy reads about one public version: its .info and the
// checksum database's authenticated record of it.
type candidate struct {
	info gomod.Info
	// record holds the database's go.sum lines for the version (zip, then go.mod);
	// nil when it has none.
	record []string
	// zipHash is the record's "h1:" hash of the zip; empty when there is no record.
	zipHash string
}

// size weighs a candidate for the cache.
func (c *candidate) size() int64 {
	n := int64(256)
	for _, l := range c.record {
		n += int64(len(l)) + 16
	}
	return n
}

// version returns the policy's view of the candidate.
func (c *candidate) version(mod string) *policy.Version {
	v := &policy.Version{
		Name:       mod,
		Version:    c.info.Version,
		Published:  c.info.Time,
		TimeSource: TimeSourceAuthor,
	}
	// A pseudo-version spells its commit time in its name too. Both are the author's;
	// when they disagree the metadata is inconsistent, and the later one (the younger
	// the version looks, the stricter a min-age rule is) is used.
	if module.IsPseudoVersion(c.info.Version) {
		if t, err := module.PseudoVersionTime(c.info.Version); err == nil && t.After(v.Published) {
			v.Published = t
		}
	}
	// h1 is a SHA-256 based directory hash (dirhash.Hash1) in base64: the only
	// digest a Go version has, and only when the database vouches for it.
	if h, ok := strings.CutPrefix(c.zipHash, "h1:"); ok && h != "" {
		v.Digests = []policy.Digest{{Algorithm: "sha256", Value: h}}
	}
	return v
}

// fetchPrivateList reads and parses the private proxy's version list. key is
// privateKey(cred, mod).
func (g *Gate) fetchPrivateList(ctx context.Context, key string) ([]string, error) {
	mod := key[strings.IndexByte(key, '|')+1:]
	return g.fetchList(ctx, g.opts.Private, SourcePrivate, mod, redact.SecretFrom(ctx))
}

// fetchPublicList reads and parses the public proxy's version list, keeping the
// highest MaxVersions. key is the module path.
func (g *Gate) fetchPublicList(ctx context.Context, mod string) ([]string, error) {
	list, err := g.fetchList(ctx, g.opts.Public, SourcePublic, mod, redact.Secret{})
	if err != nil {
		return nil, err
	}
	if len(list) > g.opts.MaxVersions {
		g.log.InfoContext(ctx, "public list truncated", "module", mod, "versions", len(list), "kept", g.opts.MaxVersions)
		list = list[len(list)-g.opts.MaxVersions:]
	}
	return list, nil
}

func (g *Gate) fetchList(ctx context.Context, src Source, origin, mod string, cred redact.Secret) ([]string, error) {
	lease := g.opts.Budget.Lease(100)
	defer lease.Release()
	path := gomod.Request{Kind: gomod.KindList, Module: mod}.EscapedPath()
	body, err := src.Get(ctx, path, cred, gomod.MaxListBytes, lease)
	if err != nil {
		return nil, g.upstreamError(origin, mod, "its version list", err)
	}
	list, err := gomod.ParseList(mod, body)
	if err != nil {
		return nil, &UpstreamError{Message: fmt.Sprintf("the %s proxy served an invalid version list for %s", origin, mod), Cause: err, permanent: true}
	}
	return list, nil
}

// fetchPrivateInfo reads the private proxy's .info of a version, or its @latest answer.
// key is privateKey(cred, "{module}@{version}") or privateKey(cred, "{module}@latest").
func (g *Gate) fetchPrivateInfo(ctx context.Context, key string) (gomod.Info, error) {
	mod, version, _ := strings.Cut(key[strings.IndexByte(key, '|')+1:], "@")
	if version == "latest" {
		return g.fetchInfo(ctx, g.opts.Private, SourcePrivate, gomod.Request{Kind: gomod.KindLatest, Module: mod}, redact.SecretFrom(ctx))
	}
	return g.fetchInfo(ctx, g.opts.Private, SourcePrivate, gomod.Request{Kind: gomod.KindInfo, Module: mod, Version: version}, redact.SecretFrom(ctx))
}

// fetchPublicLatest reads the public proxy's @latest answer. key is the module path.
func (g *Gate) fetchPublicLatest(ctx context.Context, mod string) (gomod.Info, error) {
	return g.fetchInfo(ctx, g.opts.Public, SourcePublic, gomod.Request{Kind: gomod.KindLatest, Module: mod}, redact.Secret{})
}

func (g *Gate) fetchInfo(ctx context.Context, src Source, origin string, req gomod.Request, cred redact.Secret) (gomod.Info, error) {
	lease := g.opts.Budget.Lease(100)
	defer lease.Release()
	what, id := "its @latest", req.Module
	if req.Kind == gomod.KindInfo {
		what, id = "its .info", req.Module+"@"+req.Version
	}
	body, err := src.Get(ctx, req.EscapedPath(), cred, gomod.MaxInfoBytes, lease)
	if err != nil {
		return gomod.Info{}, g.upstreamError(origin, id, what, err)
	}
	info, err := gomod.ParseInfo(body, req.Version)
	if err == nil && req.Kind == gomod.KindLatest {
		if module.Check(req.Module, info.Version) != nil {
			err = fmt.Errorf("its version %s is not a version of %s", quote(info.Version), req.Module)
		}
	}
	if err != nil {
		return gomod.Info{}, &UpstreamError{Message: fmt.Sprintf("the %s proxy served an invalid .info document for %s", origin, id), Cause: err, permanent: true}
	}
	return info, nil
}

// fetchCandidate reads what the policy needs about a public version: its .info and the
// checksum database's record. key is "{module}@{version}".
func (g *Gate) fetchCandidate(ctx context.Context, key string) (*candidate, error) {
	mod, version, _ := strings.Cut(key, "@")
	info, err := g.fetchInfo(ctx, g.opts.Public, SourcePublic, gomod.Request{Kind: gomod.KindInfo, Module: mod, Version: version}, redact.Secret{})
	if err != nil {
		return nil, err
	}
	c := &candidate{info: info}
	if g.opts.SumDB == nil {
		return c, nil
	}
	lines, err := g.opts.SumDB.Lookup(ctx, mod, version)
	if err != nil {
		var ce *gomod.CheckError
		switch {
		case errors.As(err, &ce) && ce.Kind == gomod.CheckNotFound:
			return c, nil
		case errors.As(err, &ce) && ce.Kind == gomod.CheckUnavailable:
			return nil, &UpstreamError{Message: fmt.Sprintf("the checksum database could not be reached to verify %s@%s", mod, version), Cause: err}
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return nil, err
		}
		g.log.ErrorContext(ctx, "checksum database answer failed verification", "module", mod, "version", version, "error", err.Error())
		return nil, &UpstreamError{Message: fmt.Sprintf("the checksum database's answer about %s@%s failed verification", mod, version), Cause: err}
	}
	if c.zipHash = zipHashOf(mod, version, lines); c.zipHash == "" {
		return c, nil // a record without the zip's line vouches for nothing served
	}
	c.record = lines
	return c, nil
}

// zipHashOf returns the "h1:" hash of mod@version's zip among a checksum database
// record's go.sum lines ("{mod} {version} h1:{base64}"), or "" when no line gives one.
// The go.mod line ("{mod} {version}/go.mod h1:...") is not the zip's.
func zipHashOf(mod, version string, lines []string) string {
	prefix := mod + " " + version + " "
	for _, l := range lines {
		if h, ok := strings.CutPrefix(l, prefix); ok && strings.HasPrefix(h, "h1:") && len(h) > len("h1:") && !strings.ContainsAny(h, " \t") {
			return h
		}
	}
	return ""
}

// upstreamError turns a Source's error about what of id into the gate's typed errors.
func (g *Gate) upstreamError(origin, id, what string, err error) error {
	var (
		denied  *upstream.DeniedError
		unavail *upstream.UnavailableError
	)
	switch {
	case errors.Is(err, upstream.ErrNotFound):
		return &NotFoundError{Message: fmt.Sprintf("not found: %s: the %s proxy does not have %s", id, origin, what)}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, budget.ErrExhausted):
		return &BusyError{Message: "Écluse is busy: try again in a few seconds", RetryAfter: busyRetryAfter, Cause: err}
	case errors.As(err, &denied) && origin == SourcePrivate:
		msg := fmt.Sprintf("the private proxy refused access to %s (%d)", id, denied.Status)
		if denied.Message != "" {
			msg += ": " + clip(denied.Message)
		}
		return &UpstreamDeniedError{Message: msg}
	case errors.As(err, &denied):
		return &UpstreamError{Message: fmt.Sprintf("the public proxy refused to serve %s for %s (%d)", what, id, denied.Status), Cause: err}
	case errors.Is(err, upstream.ErrTooLarge):
		return &UpstreamError{Message: fmt.Sprintf("the %s proxy served %s for %s larger than Écluse accepts", origin, what, id), Cause: err, permanent: true}
	case errors.As(err, &unavail) && unavail.Refusal != "":
		return &UpstreamError{Message: fmt.Sprintf("Écluse refused to reach the %s proxy for %s: %s", origin, id, unavail.Refusal), Cause: err}
	}
	return &UpstreamError{Message: fmt.Sprintf("the %s proxy could not be reached for %s of %s", origin, what, id), Cause: err}
}

// quote quotes s for a message, clipped.
func quote(s string) string { return fmt.Sprintf("%q", clip(s)) }

// clip shortens hostile or long text to one line of bounded length, without cutting
// a UTF-8 character.
func clip(s string) string {
	const limit = 200
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
