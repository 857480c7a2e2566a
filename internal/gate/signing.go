package gate

import (
	"context"
	"errors"
	"hash/maphash"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/signing"
)

// SigningMode is how much of what a mount serves must carry a registry signature.
type SigningMode uint8

// Signing modes, from none to all.
const (
	// SigningOff checks no signature.
	SigningOff SigningMode = iota
	// SigningWarn checks what SigningAll checks and refuses nothing: a version
	// without a valid signature is served, logged and reported in x-ecluse-signing.
	SigningWarn
	// SigningInternal refuses a private (internal) version without a valid
	// signature by one of Écluse's own keys. Public versions are not checked.
	SigningInternal
	// SigningAll also refuses a public version (and a mirror copy of one) without a
	// valid signature by one of the public registry's keys.
	SigningAll
)

// String is the mode's name in the configuration.
func (m SigningMode) String() string {
	switch m {
	case SigningWarn:
		return "warn"
	case SigningInternal:
		return "internal"
	case SigningAll:
		return "all"
	}
	return "off"
}

// Values of the x-ecluse-signing response header.
const (
	// SignatureVerified: every version served that the mode covers carries a valid
	// signature (those without one were withheld).
	SignatureVerified = "verified"
	// SignatureWarn: in warn mode, at least one version served lacks a valid one.
	SignatureWarn = "warn"
	// SignatureOff: no signature was checked for this answer.
	SignatureOff = "off"
)

// RuleSignature names the signing check in refusals, warnings and explanations.
const RuleSignature = "signature"

// KeySource supplies the public registry's keys and a generation that changes with
// them. It fails (and the check fails closed) while they have never been read.
type KeySource interface {
	Verifier(ctx context.Context) (*signing.Verifier, uint64, error)
}

// SigningOptions configures the signing check. The zero value checks nothing.
type SigningOptions struct {
	Mode SigningMode
	// Own holds Écluse's own public keys, expired ones included with their expiry:
	// internal versions must carry a signature by one of them.
	Own *signing.Verifier
	// Public supplies the public registry's keys (modes warn and all).
	Public KeySource
	// CacheEntries bounds the verifications remembered. Zero means 200,000.
	CacheEntries int
}

// sigCheck is the signing check as one request sees it: the public keys are read
// once, so every version of a document is checked against the same set.
type sigCheck struct {
	mode   SigningMode
	own    *signing.Verifier
	pub    *signing.Verifier // nil when the public keys could not be read
	pubErr error
	pubGen uint64
	memo   *sigMemo
}

// signingFor takes the request's view of the signing check; nil when it is off.
func (g *Gate) signingFor(ctx context.Context) *sigCheck {
	o := &g.opts.Signing
	if o.Mode == SigningOff {
		return nil
	}
	s := &sigCheck{mode: o.Mode, own: o.Own, memo: g.sigMemo}
	if s.coversPublic() {
		if o.Public == nil {
			s.pubErr = errors.New("no public key source is configured")
		} else {
			s.pub, s.pubGen, s.pubErr = o.Public.Verifier(ctx)
		}
	}
	return s
}

// coversPrivate says private versions are checked (against Écluse's keys).
func (s *sigCheck) coversPrivate() bool { return s != nil }

// coversPublic says public versions are checked (against the public registry's keys).
func (s *sigCheck) coversPublic() bool {
	return s != nil && (s.mode == SigningWarn || s.mode == SigningAll)
}

// enforces says a version that fails the check is withheld, not only reported.
func (s *sigCheck) enforces() bool { return s != nil && s.mode != SigningWarn }

// key is the signing part of a rendering's cache key: a rendering decided with one
// public key set is not served once another is read.
func (s *sigCheck) key() string {
	if s == nil {
		return ""
	}
	if !s.coversPublic() || s.pub == nil {
		return s.mode.String()
	}
	return s.mode.String() + "." + strconv.FormatUint(s.pubGen, 10)
}

// header is x-ecluse-signing for an answer in which warned versions were served
// without a valid signature, when covered is true (the check applied to it).
func (s *sigCheck) header(covered bool, warned int) string {
	switch {
	case !covered:
		return SignatureOff
	case warned > 0:
		return SignatureWarn
	}
	return SignatureVerified
}

// sigJob is one verification to make: v against ver (whose names the key set in a
// reason; tag and gen tell key sets apart in the memo), or, when reason is set, an
// outcome known without one.
type sigJob struct {
	ver    *signing.Verifier
	tag    byte
	gen    uint64
	v      *npm.VersionInfo
	whose  string
	reason string
}

// privateJob is the check of an internal version against Écluse's own keys.
func (s *sigCheck) privateJob(v *npm.VersionInfo) sigJob {
	if s.own == nil {
		return sigJob{reason: "no Écluse signing key is configured (PROXY_SIGNING_KEY_FILE) to check internal versions against"}
	}
	return sigJob{ver: s.own, tag: 'o', v: v, whose: "Écluse"}
}

// publicJob is the check of a public version (or of a mirror copy, through its public
// counterpart) against the public registry's keys.
func (s *sigCheck) publicJob(v *npm.VersionInfo) sigJob {
	if s.pub == nil {
		return sigJob{reason: "the public registry's signing keys could not be read: " + s.pubErr.Error()}
	}
	return sigJob{ver: s.pub, tag: 'p', gen: s.pubGen, v: v, whose: "the public registry"}
}

// public checks one public version: "" when it carries a valid signature, else why not.
func (s *sigCheck) public(v *npm.VersionInfo) string {
	return s.memo.run([]sigJob{s.publicJob(v)})[0]
}

// publicAll checks every version of a public document at once; nil when public
// versions are not checked.
func (s *sigCheck) publicAll(doc *npm.Packument) []string {
	if !s.coversPublic() {
		return nil
	}
	jobs := make([]sigJob, len(doc.Versions))
	for i := range doc.Versions {
		jobs[i] = s.publicJob(&doc.Versions[i].Info)
	}
	return s.memo.run(jobs)
}

// sigMemo remembers verifications, good and bad, so that a document read again (the
// cache expired, another form was asked for) costs a hash per version instead of an
// ECDSA check (about 60 µs). Entries are keyed by a 128-bit keyed hash of everything
// the outcome depends on; when one map fills, it becomes the old one and a new one
// starts, so the bound holds without an LRU's bookkeeping.
type sigMemo struct {
	seeds [2]maphash.Seed
	max   int
	mu    sync.Mutex
	cur   map[[2]uint64]string
	old   map[[2]uint64]string
}

func newSigMemo(entries int) *sigMemo {
	if entries <= 0 {
		entries = 200_000
	}
	return &sigMemo{
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		max:   entries,
		cur:   map[[2]uint64]string{},
	}
}

// run makes the jobs' checks and returns their outcomes, "" for a valid signature.
// Remembered outcomes are looked up under one lock for the whole batch; the rest are
// verified (spread over every core when there are many) and remembered.
func (m *sigMemo) run(jobs []sigJob) []string {
	out := make([]string, len(jobs))
	keys := make([][2]uint64, len(jobs))
	for i := range jobs {
		if jobs[i].reason == "" {
			keys[i] = m.key(jobs[i].tag, jobs[i].gen, jobs[i].v)
		}
	}
	var miss []int
	m.mu.Lock()
	for i := range jobs {
		if jobs[i].reason != "" {
			out[i] = jobs[i].reason
			continue
		}
		r, ok := m.cur[keys[i]]
		if !ok {
			if r, ok = m.old[keys[i]]; ok {
				m.put(keys[i], r)
			}
		}
		if !ok {
			miss = append(miss, i)
			continue
		}
		out[i] = r
	}
	m.mu.Unlock()
	if len(miss) == 0 {
		return out
	}
	spread(len(miss), func(n int) {
		j := &jobs[miss[n]]
		out[miss[n]] = check(j.ver, j.v, j.whose)
	})
	m.mu.Lock()
	for _, i := range miss {
		m.put(keys[i], out[i])
	}
	m.mu.Unlock()
	return out
}

// put stores an outcome; m.mu is held.
func (m *sigMemo) put(k [2]uint64, r string) {
	if len(m.cur) >= m.max {
		m.old, m.cur = m.cur, make(map[[2]uint64]string, len(m.cur))
	}
	m.cur[k] = r
}

func (m *sigMemo) key(tag byte, gen uint64, v *npm.VersionInfo) [2]uint64 {
	var out [2]uint64
	var num [17]byte
	num[0] = tag
	putUint64(num[1:], gen)
	putUint64(num[9:], uint64(v.Published.UnixNano()))
	for i, seed := range m.seeds {
		var h maphash.Hash
		h.SetSeed(seed)
		_, _ = h.Write(num[:])
		for _, part := range [...]string{v.Name, v.Version, v.Integrity, v.Signatures} {
			_, _ = h.WriteString(part)
			_ = h.WriteByte(0)
		}
		out[i] = h.Sum64()
	}
	return out
}

func putUint64(b []byte, x uint64) {
	for i := range 8 {
		b[i] = byte(x >> (8 * i))
	}
}

// noPublishTime stands for a version's unknown publish time: after every expiry.
var noPublishTime = time.Unix(1<<40, 0)

// check verifies v's signatures against ver.
func check(ver *signing.Verifier, v *npm.VersionInfo, whose string) string {
	if v.Integrity == "" {
		return "it has no dist.integrity for a signature to cover"
	}
	sigs, err := signing.ParseSignatures(v.Signatures)
	if err == nil {
		// A key's expiry is read against the publish time; without one, a key that
		// expires counts as expired, as the npm CLI counts it.
		at := v.Published
		if at.IsZero() {
			at = noPublishTime
		}
		_, err = ver.Verify(v.Name, v.Version, v.Integrity, sigs, at)
	}
	switch {
	case err == nil:
		return ""
	case errors.Is(err, signing.ErrNoSignature):
		return "it carries no registry signature; " + whose + " signs every version it serves"
	}
	return "its registry signature does not verify against " + whose + "'s keys: " + err.Error()
}

// privateSigs is the signing check's verdict on a resolution's private versions.
type privateSigs struct {
	ok      []bool // indexed like the private document's versions
	blocked int    // withheld: no valid signature, and the mode enforces
	warned  int    // served without a valid signature (warn mode)
}

// keep says whether version i of the private document (or of a union that starts
// with its versions) is served. A nil verdict keeps every version.
func (ps *privateSigs) keep(i int) bool {
	return ps == nil || i >= len(ps.ok) || ps.ok[i]
}

// counts returns the versions withheld and those served with a warning.
func (ps *privateSigs) counts() (blocked, warned int) {
	if ps == nil {
		return 0, 0
	}
	return ps.blocked, ps.warned
}

// coversPrivateOf says whether the check applies to the private versions of res: an internal
// package's against Écluse's keys in every mode but off, a mirror's copies against
// their public counterparts' signatures where public versions are checked.
func (s *sigCheck) coversPrivateOf(res *resolution) bool {
	switch {
	case res.private == nil:
		return false
	case res.source == SourceMirrorPublic:
		return s.coversPublic()
	}
	return s.coversPrivate()
}

// privateJobOf is the check of one private version of res: an internal version against
// Écluse's keys; a mirror copy through its public counterpart, which has the same
// integrity (the mirror check made sure), so that version's signature covers the copy.
func (s *sigCheck) privateJobOf(res *resolution, v *npm.Version) sigJob {
	if res.source != SourceMirrorPublic {
		return s.privateJob(&v.Info)
	}
	pv := res.public.Find(v.Info.Version)
	if pv == nil || pv.Info.Integrity != v.Info.Integrity {
		return sigJob{reason: "the public registry no longer serves this version as mirrored, so no signature covers the copy"}
	}
	return s.publicJob(&pv.Info)
}

// privateVersion checks one private version of res: "" when a valid signature covers
// it, else why not.
func (s *sigCheck) privateVersion(res *resolution, v *npm.Version) string {
	return s.memo.run([]sigJob{s.privateJobOf(res, v)})[0]
}

// privateAll checks every private version of res at once: "" for each that a valid
// signature covers, else why not.
func (s *sigCheck) privateAll(res *resolution) []string {
	vs := res.private.Versions
	jobs := make([]sigJob, len(vs))
	for i := range vs {
		jobs[i] = s.privateJobOf(res, &vs[i])
	}
	return s.memo.run(jobs)
}

// checkPrivateSignatures checks every private version of res the mode covers; nil when
// it covers none.
func (g *Gate) checkPrivateSignatures(ctx context.Context, res *resolution, k known) *privateSigs {
	if !k.sig.coversPrivateOf(res) {
		return nil
	}
	vs := res.private.Versions
	reasons := k.sig.privateAll(res)
	ps := &privateSigs{ok: make([]bool, len(vs))}
	first := ""
	for i, reason := range reasons {
		switch {
		case reason == "":
			ps.ok[i] = true
			continue
		case k.sig.enforces():
			ps.blocked++
		default:
			ps.ok[i] = true
			ps.warned++
		}
		if first == "" {
			first = vs[i].Info.Version + ": " + reason
		}
	}
	if first != "" {
		g.log.WarnContext(ctx, "private versions without a valid registry signature",
			"package", res.private.Name, "signing", k.sig.mode.String(), "withheld", ps.blocked, "served", ps.warned, "first", first)
	}
	return ps
}

// spreadFrom is the number of verifications from which they are spread over every
// core: below it, starting goroutines costs more than it saves.
const spreadFrom = 16

// spread runs f(i) for i in [0, n), on every core when n is large enough.
func spread(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/spreadFrom)
	if workers < 2 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// count is 1 for true, 0 for false.
func count(b bool) int {
	if b {
		return 1
	}
	return 0
}
