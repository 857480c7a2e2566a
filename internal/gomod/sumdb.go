package gomod

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
)

// Fetcher reads from one checksum database on behalf of a Checker. The package stays
// pure: the caller owns the network.
type Fetcher interface {
	// Fetch returns the body the database serves at path. path is rooted, already
	// escaped and begins with "/lookup/" or "/tile/"; the implementation joins it to
	// the database's base URL (or to a proxy's /sumdb/{name} prefix). It returns an
	// error wrapping ErrNotFound for a 404 or 410 and another error for any other
	// non-200 answer or failure, reads at most a few hundred KiB (a lookup is under 1
	// KiB plus the signed head, a tile at most 8 KiB for the usual height of 8), and
	// honours ctx. It is called from several goroutines at once.
	Fetch(ctx context.Context, path string) ([]byte, error)
}

// ErrNotFound is what a Fetcher wraps when the database has no such record or tile.
var ErrNotFound = errors.New("not found in the checksum database")

// CheckKind says how a checksum database check failed. A caller branches on it, a
// metric counts it; the error's text is for people.
type CheckKind uint8

const (
	// CheckInvalid: the module path or version asked about is not valid. The zero
	// CheckKind.
	CheckInvalid CheckKind = iota
	// CheckUnavailable: the Fetcher failed; the check may succeed later.
	CheckUnavailable
	// CheckNotFound: the database has no record of the module version.
	CheckNotFound
	// CheckInauthentic: the database's answer failed verification: a signed tree head
	// not signed by the verifier key, a record the signed tree does not contain, a
	// tile that does not hash to the tree, or malformed data.
	CheckInauthentic
	// CheckForked: the database signed two trees that cannot both be true (one is not
	// a prefix of the other), and the proof is in hand. This is misbehaviour by the
	// database or whoever holds its key. (A database that cannot even serve tiles
	// matching the head a Checker already holds gives CheckInauthentic.)
	CheckForked
	// CheckMismatch: the authenticated record holds a different hash than the one
	// checked.
	CheckMismatch
)

func (k CheckKind) String() string {
	switch k {
	case CheckInvalid:
		return "invalid"
	case CheckUnavailable:
		return "unavailable"
	case CheckNotFound:
		return "not-found"
	case CheckInauthentic:
		return "inauthentic"
	case CheckForked:
		return "forked"
	case CheckMismatch:
		return "mismatch"
	}
	return fmt.Sprintf("CheckKind(%d)", uint8(k))
}

// CheckError is every error a Checker's lookups return.
type CheckError struct {
	// Kind is what went wrong.
	Kind CheckKind
	// Module and Version are what was checked; Version has "/go.mod" appended when
	// the go.mod hash was.
	Module, Version string
	// Detail says what went wrong, for people.
	Detail string
	// Err is the cause, when there is one (for CheckUnavailable, the Fetcher's error).
	Err error
}

func (e *CheckError) Error() string {
	s := fmt.Sprintf("checksum database check of %s@%s: %s: %s", e.Module, e.Version, e.Kind, e.Detail)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *CheckError) Unwrap() error { return e.Err }

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	// VerifierKey is the database's note verifier key, "{name}+{hash}+{key}" as in
	// GOSUMDB. Required.
	VerifierKey string
	// Fetcher reaches the database. Required.
	Fetcher Fetcher
	// Latest is a signed tree head kept from an earlier run (Checker.Latest), which
	// every later tree must extend. Nil or empty starts from the empty tree, trusting
	// the first correctly signed head the database shows.
	Latest []byte
}

// MaxCachedTiles bounds the authenticated tiles a Checker keeps in memory (a tile of
// the usual height 8 is 8 KiB, so 8 MiB in all).
const MaxCachedTiles = 1024

// Checker verifies module hashes against a checksum database as the go command does
// (sumdb.Client): it checks each signed tree head against the verifier key, proves
// each record is in the tree with the tree's tiles, and proves each newer tree head
// extends the one it saw before. It keeps the latest verified tree head and up to
// MaxCachedTiles authenticated tiles in memory; records are fetched afresh for each
// check (a caller caches verdicts, not records). It is safe for concurrent use.
type Checker struct {
	key     []byte
	name    string
	fetcher Fetcher

	mu        sync.Mutex
	latest    []byte            // the latest signed tree head seen and verified
	tiles     map[string][]byte // authenticated tiles by cache file name
	tileOrder []string          // tiles' keys, oldest first, for eviction
}

// NewChecker returns a Checker for the database opts.VerifierKey names. It fails if
// the key does not parse or no Fetcher is given.
func NewChecker(opts CheckerOptions) (*Checker, error) {
	key := strings.TrimSpace(opts.VerifierKey)
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("checksum database verifier key: %w", err)
	}
	if opts.Fetcher == nil {
		return nil, errors.New("checksum database checker: no fetcher")
	}
	return &Checker{
		key:     []byte(key),
		name:    v.Name(),
		fetcher: opts.Fetcher,
		latest:  bytes.Clone(opts.Latest),
		tiles:   make(map[string][]byte),
	}, nil
}

// Name is the database's name, from its verifier key.
func (c *Checker) Name() string { return c.name }

// Latest returns the latest signed tree head the Checker has verified (or the one it
// was given), for the caller to keep and pass back as CheckerOptions.Latest after a
// restart. It is empty before the first successful lookup when none was given.
func (c *Checker) Latest() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.latest)
}

// CheckZip verifies that h1 is the hash the database records for the module zip of
// mod at version (the "{mod} {version} h1:..." line; see HashZip). The error is a
// *CheckError.
func (c *Checker) CheckZip(ctx context.Context, mod, version, h1 string) error {
	return c.check(ctx, mod, version, h1)
}

// CheckGoMod verifies that h1 is the hash the database records for the go.mod file
// of mod at version (the "{mod} {version}/go.mod h1:..." line; see HashGoMod). The
// error is a *CheckError.
func (c *Checker) CheckGoMod(ctx context.Context, mod, version, h1 string) error {
	return c.check(ctx, mod, version+"/go.mod", h1)
}

// Lookup returns the database's authenticated go.sum lines for mod at version: the
// zip line, then the go.mod line. The error is a *CheckError.
func (c *Checker) Lookup(ctx context.Context, mod, version string) ([]string, error) {
	if err := module.Check(mod, version); err != nil || !IsCanonical(version) {
		return nil, &CheckError{Kind: CheckInvalid, Module: mod, Version: version,
			Detail: "not a canonical module version", Err: err}
	}
	ops := &clientOps{ctx: ctx, c: c}
	client := sumdb.NewClient(ops)
	var lines []string
	for _, v := range []string{version, version + "/go.mod"} {
		got, err := client.Lookup(mod, v)
		if err != nil {
			return nil, ops.classify(mod, v, err)
		}
		lines = append(lines, got...)
	}
	return lines, nil
}

// check looks up mod at version (which may end in "/go.mod") and compares h1 with
// the recorded hash.
func (c *Checker) check(ctx context.Context, mod, version, h1 string) error {
	base := strings.TrimSuffix(version, "/go.mod")
	if err := module.Check(mod, base); err != nil || !IsCanonical(base) {
		return &CheckError{Kind: CheckInvalid, Module: mod, Version: version,
			Detail: "not a canonical module version", Err: err}
	}
	ops := &clientOps{ctx: ctx, c: c}
	lines, err := sumdb.NewClient(ops).Lookup(mod, version)
	if err != nil {
		return ops.classify(mod, version, err)
	}
	want := mod + " " + version + " " + h1
	var recorded []string
	for _, line := range lines {
		if line == want {
			return nil
		}
		if f := strings.Fields(line); len(f) == 3 {
			recorded = append(recorded, f[2])
		}
	}
	if len(recorded) == 0 {
		return &CheckError{Kind: CheckNotFound, Module: mod, Version: version,
			Detail: "the database's record has no line for it"}
	}
	return &CheckError{Kind: CheckMismatch, Module: mod, Version: version,
		Detail: fmt.Sprintf("the database records %s, not %s", clip(strings.Join(recorded, ", ")), clip(h1))}
}

// clientOps is the sumdb.ClientOps of one check: it reaches the database through the
// Checker's Fetcher with the check's context, keeps the latest tree head and the
// authenticated tiles in the Checker, and remembers what went wrong for classify.
// (Each check has its own sumdb.Client because a Client caches every lookup's
// result, failures included, for its lifetime, and its fetches carry no context.)
type clientOps struct {
	ctx context.Context
	c   *Checker

	mu       sync.Mutex
	fetchErr error  // the first Fetcher error
	security string // the first security report: proof of a forked tree
}

var _ sumdb.ClientOps = (*clientOps)(nil)

func (o *clientOps) ReadRemote(path string) ([]byte, error) {
	data, err := o.c.fetcher.Fetch(o.ctx, path)
	if err != nil {
		o.mu.Lock()
		if o.fetchErr == nil {
			o.fetchErr = err
		}
		o.mu.Unlock()
		return nil, err
	}
	return data, nil
}

func (o *clientOps) ReadConfig(file string) ([]byte, error) {
	switch file {
	case "key":
		return o.c.key, nil
	case o.c.name + "/latest":
		o.c.mu.Lock()
		defer o.c.mu.Unlock()
		return bytes.Clone(o.c.latest), nil
	}
	return nil, fmt.Errorf("no configuration file %q", file)
}

func (o *clientOps) WriteConfig(file string, oldMsg, newMsg []byte) error {
	if file != o.c.name+"/latest" {
		return fmt.Errorf("cannot write configuration file %q", file)
	}
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	if !bytes.Equal(oldMsg, o.c.latest) {
		return sumdb.ErrWriteConflict
	}
	o.c.latest = bytes.Clone(newMsg)
	return nil
}

// ReadCache returns a tile the Client authenticated before. The Client verifies
// cached tiles against the tree at hand like fetched ones, so a stale entry cannot
// pass. Lookup records are not cached.
func (o *clientOps) ReadCache(file string) ([]byte, error) {
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	if data, ok := o.c.tiles[file]; ok {
		return data, nil
	}
	return nil, errNoCache
}

// WriteCache keeps a tile the Client has just authenticated, evicting the oldest
// beyond MaxCachedTiles. The Client calls it for lookup records too; those are
// dropped.
func (o *clientOps) WriteCache(file string, data []byte) {
	if !strings.HasPrefix(file, o.c.name+"/tile/") {
		return
	}
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	if _, ok := o.c.tiles[file]; ok {
		return
	}
	if len(o.c.tileOrder) >= MaxCachedTiles {
		delete(o.c.tiles, o.c.tileOrder[0])
		o.c.tileOrder = o.c.tileOrder[1:]
	}
	o.c.tiles[file] = bytes.Clone(data)
	o.c.tileOrder = append(o.c.tileOrder, file)
}

func (o *clientOps) Log(string) {}

func (o *clientOps) SecurityError(msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.security == "" {
		o.security = msg
	}
}

var errNoCache = errors.New("no cache")

// classify turns a sumdb.Client error into a *CheckError, using what the ops saw:
// a security report means a proven fork; a fetch failure means the database could
// not be reached (or has no record); anything else is an answer that failed
// verification.
func (o *clientOps) classify(mod, version string, err error) error {
	o.mu.Lock()
	fetchErr, security := o.fetchErr, o.security
	o.mu.Unlock()
	e := &CheckError{Module: mod, Version: version, Err: err}
	switch {
	case security != "":
		e.Kind, e.Detail = CheckForked, "the database showed two inconsistent signed trees"
		e.Err = fmt.Errorf("%w: %s", sumdb.ErrSecurity, clip(security))
	case fetchErr != nil && errors.Is(fetchErr, ErrNotFound):
		e.Kind, e.Detail, e.Err = CheckNotFound, "the database has no such record", fetchErr
	case fetchErr != nil:
		e.Kind, e.Detail, e.Err = CheckUnavailable, "fetching from the database failed", fetchErr
	default:
		e.Kind, e.Detail = CheckInauthentic, "the database's answer failed verification"
		e.Err = errors.New(clip(err.Error()))
	}
	return e
}
