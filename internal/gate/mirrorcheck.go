package gate

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
)

// A private package is served merged with public versions (mirror+public) only when it
// is a copy of the public one. Equal dist.integrity strings do not prove that: anyone
// can copy a private version's integrity from a lockfile into a public document of the
// same name. What proves it is the public registry's own tarball of each version
// hashing to that integrity: only someone holding the private bytes can publish that.
// So each version is verified once, by downloading the public tarball through the
// guarded public client and hashing it, and the outcome is kept per name, version and
// integrity. Until every version of a package is verified it is served as private.

// copyCheck is the verification of one version, running or finished. ok is written
// before done is closed and read only after.
type copyCheck struct {
	done chan struct{}
	ok   bool
}

// copyChecks holds the verifications in flight and their outcomes.
type copyChecks struct {
	mu       sync.Mutex
	inflight map[string]*copyCheck
	// results are finished checks by key, bounded by bytes like the document cache.
	results *lru
	// slots bounds the verifications in flight: one is started only when a slot is free.
	slots chan struct{}
}

const (
	// copyCheckTimeout bounds one verification: the public tarball's download and hash.
	copyCheckTimeout = time.Minute
	// copyKept is how long a verified copy is remembered. The fact does not age (a
	// published version's bytes do not change); the bound only frees memory.
	copyKept = 24 * time.Hour
	// copyRetry is how long a failed verification is remembered before it is tried
	// again, so that a forged document cannot make Écluse download its tarball on every
	// request.
	copyRetry = time.Minute
	// copyResultsBytes bounds the remembered outcomes (a few thousand bytes per hundred).
	copyResultsBytes = 8 << 20
)

func newCopyChecks(slots int) *copyChecks {
	return &copyChecks{
		inflight: map[string]*copyCheck{},
		results:  newLRU(copyResultsBytes, nil),
		slots:    make(chan struct{}, slots),
	}
}

// verifiedCopies reports whether every version of a private document was verified as
// a copy of the public registry's version (see copyCheck). It starts the checks not yet
// made, as far as free slots allow, and waits for them at most MirrorCheckWait. A check
// that failed, did not finish in time, or could not start means no: the private
// document is then served alone, and a later request finds the outcome.
func (g *Gate) verifiedCopies(ctx context.Context, name string, priv *npm.Packument) bool {
	var pending []*copyCheck
	for i := range priv.Versions {
		info := &priv.Versions[i].Info
		c := g.copyCheck(ctx, name, info.Version, info.Integrity)
		if c == nil {
			return false // no free slot: not verified yet
		}
		select {
		case <-c.done:
			if !c.ok {
				return false
			}
		default:
			pending = append(pending, c)
		}
	}
	if len(pending) == 0 {
		return true
	}
	timer := time.NewTimer(g.opts.MirrorCheckWait)
	defer timer.Stop()
	for _, c := range pending {
		select {
		case <-c.done:
			if !c.ok {
				return false
			}
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// copyCheck returns the verification of one version: finished, running (joined), or
// started now when a slot is free. It returns nil when none could be started.
func (g *Gate) copyCheck(ctx context.Context, name, version, integrity string) *copyCheck {
	key := name + "\x00" + version + "\x00" + integrity
	cc := g.copies
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if v, ok := cc.results.get(key, g.opts.Now()); ok {
		return v.(*copyCheck)
	}
	if c, ok := cc.inflight[key]; ok {
		return c
	}
	select {
	case cc.slots <- struct{}{}:
	default:
		return nil
	}
	c := &copyCheck{done: make(chan struct{})}
	cc.inflight[key] = c
	// Detached from the request, which may stop waiting first; bounded by its own timeout.
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), copyCheckTimeout)
	go func() {
		defer func() { <-cc.slots }()
		ok, err := g.verifyCopy(vctx, name, version, integrity)
		cancel()
		switch {
		case err != nil:
			g.log.WarnContext(vctx, "mirror check could not verify the public tarball; the private package is served alone",
				"package", name, "version", version, "error", err.Error())
		case !ok:
			g.log.WarnContext(vctx, "public tarball does not hash to the private version's integrity; the public versions are not merged",
				"package", name, "version", version)
		}
		c.ok = ok
		close(c.done)
		ttl := copyRetry
		if ok {
			ttl = copyKept
		}
		cc.mu.Lock()
		delete(cc.inflight, key)
		cc.results.put(key, c, int64(len(key))+entryOverhead, g.opts.Now().Add(ttl))
		cc.mu.Unlock()
	}()
	return c
}

// errNoVerifier: the integrity holds no digest Écluse can check.
var errNoVerifier = errors.New("no verifiable digest")

// verifyCopy downloads the public registry's tarball of name@version, from the path a
// registry serves it under (not from a URL the public document names, which could point
// at another package's tarball), through the public source and the tarball host check,
// and reports whether its bytes hash to integrity.
func (g *Gate) verifyCopy(ctx context.Context, name, version, integrity string) (bool, error) {
	verifier, err := newVerifier(integrity)
	if err != nil {
		return false, fmt.Errorf("%w: %w", errNoVerifier, err)
	}
	base := g.opts.Public.Base()
	u := base.JoinPath(strings.TrimPrefix(npm.TarballPath(name, version), "/"))
	if g.opts.CheckTarball != nil {
		if err := g.opts.CheckTarball(u, base); err != nil {
			return false, err
		}
	}
	body, size, err := g.opts.Public.Open(ctx, u, redact.Secret{})
	if err != nil {
		return false, err
	}
	defer body.Close()
	if size > g.opts.MaxTarballBytes {
		return false, fmt.Errorf("the tarball is %d bytes, more than PROXY_MAX_TARBALL_BYTES allows", size)
	}
	if _, err := io.Copy(verifier.h, egress.LimitReader(body, g.opts.MaxTarballBytes)); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(verifier.h.Sum(nil), verifier.want) == 1, nil
}
