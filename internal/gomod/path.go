package gomod

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/tlog"
)

// Kind is the GOPROXY route a request path names.
type Kind uint8

const (
	// KindList is the version list: /{module}/@v/list. It is the zero Kind.
	KindList Kind = iota
	// KindInfo is a version's metadata: /{module}/@v/{version}.info.
	KindInfo
	// KindMod is a version's go.mod file: /{module}/@v/{version}.mod.
	KindMod
	// KindZip is a version's module zip: /{module}/@v/{version}.zip.
	KindZip
	// KindLatest is the proxy's idea of the latest version: /{module}/@latest.
	KindLatest
	// KindSumDB is a checksum database request proxied through the mount:
	// /sumdb/{name}/supported, /sumdb/{name}/latest, /sumdb/{name}/lookup/{m}@{v} and
	// /sumdb/{name}/tile/....
	KindSumDB
)

func (k Kind) String() string {
	switch k {
	case KindList:
		return "list"
	case KindInfo:
		return "info"
	case KindMod:
		return "mod"
	case KindZip:
		return "zip"
	case KindLatest:
		return "latest"
	case KindSumDB:
		return "sumdb"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Request is a classified GOPROXY request path.
type Request struct {
	// Kind is the route. The zero value is KindList.
	Kind Kind
	// Module is the module path, unescaped ("github.com/BurntSushi/toml"). For
	// KindSumDB it is the looked-up module of a /lookup request and empty otherwise.
	Module string
	// Version is the canonical version, unescaped, for KindInfo, KindMod and KindZip
	// (and a KindSumDB lookup). Empty otherwise.
	Version string
	// SumDB is, for KindSumDB, the checksum database's name as the go command spells
	// it in the path. Empty otherwise.
	SumDB string
	// SumDBPath is, for KindSumDB, the path under the database, with its leading
	// slash: "/supported", "/latest", "/lookup/{m}@{v}" or "/tile/...". Empty
	// otherwise.
	SumDBPath string
}

// MaxPathLength bounds a request path. Module paths are short in practice; the go
// command itself refuses none, so the bound is generous.
const MaxPathLength = 4096

// ErrInvalidPath is matched (with errors.Is) by every *PathError.
var ErrInvalidPath = errors.New("invalid module proxy path")

// PathError says why a request path is not a GOPROXY route. Its text is meant for the
// person running the go command.
type PathError struct {
	// Path is the path as received, still escaped.
	Path string
	// Reason says what is wrong.
	Reason string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("unsupported module proxy path %s: %s", quoteShort(e.Path), clipReason(e.Reason))
}

// maxReason bounds a reason in an error's text: a reason may quote the hostile input
// again (golang.org/x/mod's checks quote the whole path).
const maxReason = 300

// clipReason cuts a reason to maxReason bytes, never inside a UTF-8 character.
func clipReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}

// Is makes errors.Is(err, ErrInvalidPath) hold.
func (e *PathError) Is(target error) bool { return target == ErrInvalidPath }

// ParseRequest classifies an escaped request path under a module mount (the mount's
// own prefix removed, the leading slash kept):
//
//	/{module}/@v/list
//	/{module}/@v/{version}.info, .mod, .zip
//	/{module}/@latest
//	/sumdb/{name}/supported, /latest, /lookup/{module}@{version}, /tile/{H}/{L}/{N}[.p/{W}]
//
// where module and version are in the "!" case-encoding (module.EscapePath,
// module.EscapeVersion). A module path must pass module.CheckPath; a version must be
// canonical semver (with "+incompatible" where it applies) and agree with the path's
// major version suffix (module.Check). A revision query such as a branch name or a
// commit hash is refused: a gate decides versions, not queries. Percent-escapes are
// refused, as nothing the go command sends needs one. Every failure is a *PathError.
func ParseRequest(escapedPath string) (Request, error) {
	fail := func(reason string) (Request, error) {
		return Request{}, &PathError{Path: escapedPath, Reason: reason}
	}
	switch {
	case len(escapedPath) > MaxPathLength:
		return fail(fmt.Sprintf("it is longer than %d bytes", MaxPathLength))
	case !strings.HasPrefix(escapedPath, "/"):
		return fail("it does not start with a slash")
	case strings.Contains(escapedPath, "%"):
		return fail("it contains a percent-escape")
	}
	p := escapedPath[1:]
	if rest, ok := strings.CutPrefix(p, "sumdb/"); ok {
		return parseSumDB(escapedPath, rest)
	}
	if esc, ok := strings.CutSuffix(p, "/@latest"); ok {
		mod, reason := unescapeModule(esc)
		if reason != "" {
			return fail(reason)
		}
		return Request{Kind: KindLatest, Module: mod}, nil
	}
	esc, file, ok := strings.Cut(p, "/@v/")
	if !ok {
		return fail("expected /{module}/@v/... or /{module}/@latest")
	}
	mod, reason := unescapeModule(esc)
	if reason != "" {
		return fail(reason)
	}
	if file == "list" {
		return Request{Kind: KindList, Module: mod}, nil
	}
	dot := strings.LastIndexByte(file, '.')
	if dot < 0 {
		return fail("expected list, {version}.info, {version}.mod or {version}.zip after /@v/")
	}
	var kind Kind
	switch file[dot:] {
	case ".info":
		kind = KindInfo
	case ".mod":
		kind = KindMod
	case ".zip":
		kind = KindZip
	default:
		return fail("expected list, {version}.info, {version}.mod or {version}.zip after /@v/")
	}
	v, reason := unescapeVersion(mod, file[:dot])
	if reason != "" {
		return fail(reason)
	}
	return Request{Kind: kind, Module: mod, Version: v}, nil
}

// parseSumDB classifies rest, the part of a path after "/sumdb/".
func parseSumDB(escapedPath, rest string) (Request, error) {
	fail := func(reason string) (Request, error) {
		return Request{}, &PathError{Path: escapedPath, Reason: reason}
	}
	name, sub, ok := strings.Cut(rest, "/")
	if !ok {
		return fail("expected /sumdb/{name}/...")
	}
	if reason := sumDBNameProblem(name); reason != "" {
		return fail("the checksum database name " + reason)
	}
	r := Request{Kind: KindSumDB, SumDB: name, SumDBPath: "/" + sub}
	switch {
	case sub == "supported" || sub == "latest":
		return r, nil
	case strings.HasPrefix(sub, "lookup/"):
		escMod, escVer, ok := strings.Cut(strings.TrimPrefix(sub, "lookup/"), "@")
		if !ok {
			return fail("a lookup names {module}@{version}")
		}
		mod, reason := unescapeModule(escMod)
		if reason != "" {
			return fail(reason)
		}
		v, reason := unescapeVersion(mod, escVer)
		if reason != "" {
			return fail(reason)
		}
		r.Module, r.Version = mod, v
		return r, nil
	case strings.HasPrefix(sub, "tile/"):
		if _, err := tlog.ParseTilePath(sub); err != nil {
			return fail("it is not a tile path")
		}
		return r, nil
	}
	return fail("expected supported, latest, lookup/ or tile/ under /sumdb/{name}/")
}

// sumDBNameProblem describes what makes s unusable as a checksum database name (a
// lower-case DNS-like name, as the go command's GOSUMDB takes), or returns "".
func sumDBNameProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > 253:
		return "is longer than 253 bytes"
	case s[0] == '.' || s[0] == '-' || s[len(s)-1] == '.':
		return "does not look like a host name"
	case strings.Contains(s, ".."):
		return `contains ".."`
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return fmt.Sprintf("contains %q", c)
		}
	}
	return ""
}

// unescapeModule decodes and checks an escaped module path; reason is empty on success.
func unescapeModule(esc string) (mod, reason string) {
	if esc == "" {
		return "", "the module path is empty"
	}
	mod, err := module.UnescapePath(esc)
	if err != nil {
		return "", "the module path is invalid: " + err.Error()
	}
	return mod, ""
}

// unescapeVersion decodes an escaped version and checks that it is a canonical
// version of mod; reason is empty on success.
func unescapeVersion(mod, esc string) (v, reason string) {
	if esc == "" {
		return "", "the version is empty"
	}
	v, err := module.UnescapeVersion(esc)
	if err != nil {
		return "", "the version is invalid: " + err.Error()
	}
	if !IsCanonical(v) {
		return "", fmt.Sprintf("the version %s is not a canonical semantic version", quoteShort(v))
	}
	if err := module.Check(mod, v); err != nil {
		return "", "the version does not fit the module: " + err.Error()
	}
	return v, ""
}

// IsCanonical reports whether v is a version in the form the go command writes in
// go.mod and asks a proxy for: "v1.2.3", "v1.2.3-pre", a pseudo-version, or any of
// these followed by "+incompatible". Build metadata other than "+incompatible", and
// shortened forms such as "v1.2", are not canonical.
func IsCanonical(v string) bool {
	if !semver.IsValid(v) {
		return false
	}
	base, incompatible := strings.CutSuffix(v, "+incompatible")
	if incompatible {
		if m := semver.Major(base); m == "v0" || m == "v1" {
			return false // only v2 and later can be +incompatible
		}
	}
	return semver.Canonical(base) == base
}

// EscapedPath returns the path ParseRequest reads back as r: module and version
// "!"-encoded, rooted at "/". It returns "" for a Request that ParseRequest could not
// have returned (an invalid module path or version).
func (r Request) EscapedPath() string {
	if r.Kind == KindSumDB {
		if r.SumDB == "" || r.SumDBPath == "" {
			return ""
		}
		return "/sumdb/" + r.SumDB + r.SumDBPath
	}
	esc, err := module.EscapePath(r.Module)
	if err != nil {
		return ""
	}
	switch r.Kind {
	case KindList:
		return "/" + esc + "/@v/list"
	case KindLatest:
		return "/" + esc + "/@latest"
	case KindInfo, KindMod, KindZip:
		ev, err := module.EscapeVersion(r.Version)
		if err != nil {
			return ""
		}
		return "/" + esc + "/@v/" + ev + "." + r.Kind.String()
	}
	return ""
}

// quoteShort quotes s for an error message, clipping it so hostile input cannot
// flood a log line.
func quoteShort(s string) string {
	const limit = 120
	if len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 { // never cut inside a UTF-8 character
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
