package gate

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
)

// Defaults of the refusal record (see ManifestChecks).
const (
	defaultRefusalTTL  = 7 * 24 * time.Hour
	defaultMaxRefusals = 4096
)

// refusalKey names one version and the tarball it was refused for: a version whose
// digest changes upstream is another artifact, and is read again.
type refusalKey struct{ name, version, integrity string }

type refusalEntry struct {
	refusal policy.Refusal
	at      time.Time // when it was recorded
	expires time.Time
}

// refusals remembers the versions Écluse refused after reading their tarballs, so that
// the packument stops listing them, their tarball gets 403 and explain names the
// reason. It is bounded (max entries; the oldest go first) and each entry expires.
// Readers (every policy decision) never lock: they load an immutable snapshot, which
// a recording replaces.
type refusals struct {
	max int
	ttl time.Duration

	mu      sync.Mutex // serialises writers
	entries map[refusalKey]refusalEntry
	// snap maps a package name to its refused versions; nil while there are none.
	snap atomic.Pointer[map[string][]refusalSnap]
}

type refusalSnap struct {
	version, integrity string
	refusal            *policy.Refusal
	expires            time.Time
}

func newRefusals(max int, ttl time.Duration) *refusals {
	if max <= 0 {
		max = defaultMaxRefusals
	}
	if ttl <= 0 {
		ttl = defaultRefusalTTL
	}
	return &refusals{max: max, ttl: ttl, entries: map[refusalKey]refusalEntry{}}
}

// add records a refusal at now, making room by dropping expired entries and then the
// oldest.
func (r *refusals) add(name, version, integrity string, refusal policy.Refusal, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := refusalKey{name, version, integrity}
	if _, ok := r.entries[k]; !ok && len(r.entries) >= r.max {
		for key, e := range r.entries {
			if !now.Before(e.expires) {
				delete(r.entries, key)
			}
		}
		for len(r.entries) >= r.max {
			var oldest refusalKey
			var at time.Time
			for key, e := range r.entries {
				if at.IsZero() || e.at.Before(at) {
					oldest, at = key, e.at
				}
			}
			delete(r.entries, oldest)
		}
	}
	r.entries[k] = refusalEntry{refusal: refusal, at: now, expires: now.Add(r.ttl)}
	snap := make(map[string][]refusalSnap, len(r.entries))
	for key, e := range r.entries {
		ref := e.refusal
		snap[key.name] = append(snap[key.name], refusalSnap{version: key.version, integrity: key.integrity, refusal: &ref, expires: e.expires})
	}
	r.snap.Store(&snap)
}

// lookup returns the live refusal of v, or nil. It does not allocate.
func (r *refusals) lookup(v *npm.VersionInfo, now time.Time) *policy.Refusal {
	snap := r.snap.Load()
	if snap == nil {
		return nil
	}
	for _, e := range (*snap)[v.Name] {
		if e.version == v.Version && e.integrity == v.Integrity && now.Before(e.expires) {
			return e.refusal
		}
	}
	return nil
}

// count returns how many refusals are held, live or not, for tests.
func (r *refusals) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}
