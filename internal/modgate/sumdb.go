package modgate

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// SumDB answers /sumdb/{name}{path}: the checksum database, proxied for the go command
// (which, given this mount as its GOPROXY, first asks /sumdb/{name}/supported and then
// reads the database through the mount). Only the database named Options.SumDBName is
// served, read from the public proxy's /sumdb/{name}/ paths with no credential and
// bounded by MaxSumDBBytes; any other name is a *NotFoundError, so the go command
// reaches its database directly. "/supported" is answered here. A lookup of an
// internal module is a *NotFoundError: its name never leaves for the public side (the
// client should list it in GONOSUMDB or GOPRIVATE). The documents are relayed as the
// database signed them; the go command verifies them itself.
func (g *Gate) SumDB(ctx context.Context, name, path string) (*Document, error) {
	req, err := gomod.ParseRequest("/sumdb/" + name + path)
	if err != nil || req.Kind != gomod.KindSumDB {
		return nil, &BadRequestError{Message: "invalid checksum database path: " + clip(fmt.Sprint(err))}
	}
	if g.opts.SumDBName == "" || req.SumDB != g.opts.SumDBName || g.opts.Public == nil {
		return nil, &NotFoundError{Message: fmt.Sprintf("not found: this proxy does not serve the checksum database %s", quote(req.SumDB))}
	}
	if req.SumDBPath == "/supported" {
		return &Document{Source: SourcePublic, Body: []byte{}}, nil
	}
	if req.Module != "" && g.isInternal(req.Module) {
		return nil, &NotFoundError{Message: fmt.Sprintf(
			"not found: %s is an internal module: Écluse does not ask the checksum database about it; list it in GONOSUMDB or GOPRIVATE", req.Module)}
	}
	lease := g.opts.Budget.Lease(100)
	defer lease.Release()
	body, err := g.opts.Public.Get(ctx, req.EscapedPath(), redact.Secret{}, MaxSumDBBytes, lease)
	if err != nil {
		return nil, g.upstreamError(SourcePublic, "the checksum database "+req.SumDB, req.SumDBPath, err)
	}
	return &Document{Source: SourcePublic, Body: body}, nil
}

// NewSumDBFetcher returns the gomod.Fetcher through which a *gomod.Checker reads a
// checksum database from src: each path the Checker asks for ("/lookup/...",
// "/tile/...") under prefix, with no credential, bounded by MaxSumDBBytes. prefix is
// "/sumdb/{name}" to read the database through a module proxy that serves it (the
// public one), or "" when src's base is the database itself. A 404 or 410 wraps
// gomod.ErrNotFound.
func NewSumDBFetcher(src Source, prefix string) gomod.Fetcher {
	return &sumDBFetcher{src: src, prefix: prefix}
}

type sumDBFetcher struct {
	src    Source
	prefix string
}

func (f *sumDBFetcher) Fetch(ctx context.Context, path string) ([]byte, error) {
	body, err := f.src.Get(ctx, f.prefix+path, redact.Secret{}, MaxSumDBBytes, nil)
	if errors.Is(err, upstream.ErrNotFound) {
		return nil, fmt.Errorf("checksum database %s: %w", f.prefix+path, gomod.ErrNotFound)
	}
	return body, err
}
