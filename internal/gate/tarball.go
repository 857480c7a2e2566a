package gate

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/crypto/blake2b"

	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// ErrIntegrityMismatch: the bytes streamed do not match the version's integrity digest.
// The response must be aborted; nothing is mirrored.
var ErrIntegrityMismatch = errors.New("tarball integrity mismatch")

// ErrTarballRefused: the tarball streamed in full and matched its digest, but what it
// holds refused it (see ManifestChecks). The response must be aborted; nothing is
// mirrored, and the version is refused from then on. The error read from the body is a
// *RefusedTarballError.
var ErrTarballRefused = errors.New("tarball refused for its contents")

// RefusedTarballError is a tarball refused at the end of its stream for what it holds.
// It unwraps to the *DeniedError a client is shown (a 403 with the reason, when the
// response is not committed yet).
type RefusedTarballError struct {
	Denied *DeniedError
	// Kind is why, as a closed set for logs and metrics.
	Kind RefusalKind
	// Cause is a lower-level error for the log (the archive's defect), or nil.
	Cause error
}

func (e *RefusedTarballError) Error() string { return e.Denied.Message }

// Unwrap returns the denial (and the cause), so errors.As finds the *DeniedError.
func (e *RefusedTarballError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Denied, e.Cause}
	}
	return []error{e.Denied}
}

// Is makes errors.Is(err, ErrTarballRefused) true.
func (e *RefusedTarballError) Is(target error) bool { return target == ErrTarballRefused }

// RefusalKind is why a tarball was refused for its contents.
type RefusalKind uint8

const (
	// RefusalUnreadable: the archive cannot be read as every client reads it (damaged,
	// ambiguous, no package.json at its root, a package.json that is not JSON).
	RefusalUnreadable RefusalKind = iota + 1
	// RefusalIdentity: its package.json names another package or version.
	RefusalIdentity
	// RefusalInstallCode: it runs code at install that the metadata hides, and a rule
	// denies install-time execution.
	RefusalInstallCode
	// RefusalScripts: its install-time scripts differ from the metadata's.
	RefusalScripts
	// RefusalDependencies: its dependencies differ from the metadata's.
	RefusalDependencies
)

func (k RefusalKind) String() string {
	switch k {
	case RefusalUnreadable:
		return "unreadable"
	case RefusalIdentity:
		return "identity"
	case RefusalInstallCode:
		return "install-code"
	case RefusalScripts:
		return "scripts"
	case RefusalDependencies:
		return "dependencies"
	}
	return "unknown"
}

// MismatchAction is what a difference between a tarball's package.json and the
// registry's metadata does.
type MismatchAction uint8

const (
	// MismatchDefault is the check's default: refuse for scripts, warn for dependencies.
	MismatchDefault MismatchAction = iota
	// MismatchRefuse refuses the tarball (and records the version as refused).
	MismatchRefuse
	// MismatchWarn logs the difference and serves the tarball.
	MismatchWarn
)

// ManifestChecks says how a public tarball's own package.json is held against the
// registry's metadata while the tarball streams (docs/policy.md, "The tarball's own
// manifest"). Whatever it says, a tarball whose package.json names another package or
// version, or that cannot be read as every client reads it, is refused; and a tarball
// that runs code at install is decided again by the policy with that code in view.
type ManifestChecks struct {
	// Scripts is what a difference in install-time scripts does. Zero means refuse.
	Scripts MismatchAction
	// Dependencies is what a difference in dependencies does. Zero means warn.
	Dependencies MismatchAction
	// Limits bound the reading of each tarball; zero fields take npm's defaults (a
	// package.json of at most 1 MiB, at most 4 GiB unpacked).
	Limits npm.InspectLimits
	// RefusalTTL is how long a refused version stays refused without its tarball being
	// read again. Zero means 7 days.
	RefusalTTL time.Duration
	// MaxRefusals bounds the refused versions remembered; past it the oldest is
	// forgotten. Zero means 4096.
	MaxRefusals int
}

func (c *ManifestChecks) refuseScripts() bool { return c.Scripts != MismatchWarn }

func (c *ManifestChecks) refuseDependencies() bool { return c.Dependencies == MismatchRefuse }

// TarballQuery asks for one version's tarball.
type TarballQuery struct {
	Name, Version string
	Credential    redact.Secret
}

// Artifact is a tarball being streamed. Body verifies integrity as it is read: the read
// that reaches the end returns ErrIntegrityMismatch instead of io.EOF when the bytes do
// not match. The caller closes Body.
type Artifact struct {
	Body io.ReadCloser
	// Size is the byte length, or -1 when unknown.
	Size   int64
	Source string
	// Signing is the x-ecluse-signing value (see Document.Signing).
	Signing string
}

// Tarball decides the version again (a lockfile fetches tarballs without a packument)
// and, when admitted, opens the tarball from the upstream that owns it.
func (g *Gate) Tarball(ctx context.Context, q TarballQuery) (*Artifact, error) {
	if err := npm.ValidateName(q.Name); err != nil {
		return nil, &BadRequestError{Message: err.Error()}
	}
	notePackage(ctx, q.Name, q.Version)
	res, err := g.resolve(ctx, q.Name, q.Credential)
	if err != nil {
		return nil, err
	}
	k := g.known(ctx)
	if res.private != nil {
		if v := res.private.Find(q.Version); v != nil {
			return g.privateTarball(ctx, q, res, v, k)
		}
		if res.source == SourcePrivate {
			return nil, &NotFoundError{Message: fmt.Sprintf("%s@%s does not exist in the private registry", q.Name, q.Version)}
		}
	}
	v := res.public.Find(q.Version)
	if v == nil {
		return nil, &NotFoundError{Message: fmt.Sprintf("%s@%s does not exist", q.Name, q.Version)}
	}
	var view policy.Version
	now := g.opts.Now()
	a := g.adviceFor(k, res.public, now)
	dec := g.decide(&v.Info, &view, a, now)
	for _, rule := range dec.Warned {
		g.log.InfoContext(ctx, "warn-mode rule would deny a tarball", "package", q.Name, "version", q.Version, "rule", rule)
	}
	if !dec.Allowed {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.SetAttributes(keyRule.String(dec.Rule))
		}
		return nil, &DeniedError{Name: q.Name, Version: q.Version, Rule: dec.Rule, Message: dec.Reason()}
	}
	art, err := g.openPublic(ctx, v, a)
	if err == nil {
		art.Signing = k.sig.header(k.sig.coversPublic(), count(slices.Contains(dec.Warned, RuleSignature)))
	}
	return art, err
}

// privateTarball serves a version the private registry has, once the signing check
// (when it covers the version) has passed it. A version whose signature verified is
// held to the integrity the signature covers as it streams, so the private registry
// cannot swap the bytes under a signed manifest.
func (g *Gate) privateTarball(ctx context.Context, q TarballQuery, res *resolution, v *npm.Version, k known) (*Artifact, error) {
	if !k.sig.coversPrivateOf(res) {
		art, err := g.openPrivate(ctx, q, v)
		if err == nil {
			art.Signing = SignatureOff
		}
		return art, err
	}
	reason := k.sig.privateVersion(res, v)
	if reason != "" && k.sig.enforces() {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.SetAttributes(keyRule.String(RuleSignature))
		}
		return nil, &DeniedError{Name: q.Name, Version: q.Version, Rule: RuleSignature,
			Message: fmt.Sprintf("%s@%s is withheld by the signing policy (%s): %s", q.Name, q.Version, k.sig.mode, reason)}
	}
	if reason != "" {
		g.log.WarnContext(ctx, "signing (warn mode) would withhold a tarball", "package", q.Name, "version", q.Version, "reason", reason)
	}
	art, err := g.openPrivate(ctx, q, v)
	if err != nil {
		return nil, err
	}
	art.Signing = k.sig.header(true, count(reason != ""))
	if reason == "" {
		ver, verr := newVerifier(v.Info.Integrity)
		if verr != nil {
			_ = art.Body.Close()
			return nil, &UpstreamError{Message: fmt.Sprintf("%s@%s has no integrity digest Écluse can verify", q.Name, q.Version), Cause: verr, permanent: true}
		}
		art.Body = &verifyingBody{body: art.Body, verifier: ver, onDone: func(ok bool) {
			if !ok {
				g.log.ErrorContext(ctx, "private tarball does not match its signed integrity; response aborted",
					"package", q.Name, "version", q.Version, "algorithm", ver.alg)
			}
		}}
	}
	return art, nil
}

func (g *Gate) openPrivate(ctx context.Context, q TarballQuery, v *npm.Version) (*Artifact, error) {
	base := g.opts.Private.Base()
	u := sameOrigin(v.Tarball, base)
	if u == nil {
		u = base.JoinPath(strings.TrimPrefix(npm.TarballPath(q.Name, q.Version), "/"))
	}
	body, size, err := g.opts.Private.Open(ctx, u, q.Credential)
	if err != nil {
		if errors.Is(err, upstream.ErrNotFound) {
			return nil, &NotFoundError{Message: fmt.Sprintf("the private registry has no tarball for %s@%s", q.Name, q.Version)}
		}
		return nil, upstreamFailure(SourcePrivate, q.Name, err)
	}
	return &Artifact{Body: body, Size: size, Source: SourcePrivate}, nil
}

// sameOrigin parses raw and returns it only when it has base's scheme, host and port.
func sameOrigin(raw string, base *url.URL) *url.URL {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return nil
	}
	return u
}

func (g *Gate) openPublic(ctx context.Context, v *npm.Version, a *advice) (*Artifact, error) {
	name, version := v.Info.Name, v.Info.Version
	u, err := url.Parse(v.Tarball)
	if err != nil || v.Tarball == "" || !u.IsAbs() {
		return nil, &UpstreamError{Message: fmt.Sprintf("the public registry gives no usable tarball URL for %s@%s", name, version), permanent: true}
	}
	if g.opts.CheckTarball != nil {
		if err := g.opts.CheckTarball(u, g.opts.Public.Base()); err != nil {
			return nil, &UpstreamError{Message: fmt.Sprintf("refused to fetch the tarball of %s@%s: %v", name, version, err), Cause: err, permanent: true}
		}
	}
	verifier, err := newVerifier(v.Info.Integrity)
	if err != nil {
		// The floor already required a usable digest; this is a defence in depth.
		return nil, &UpstreamError{Message: fmt.Sprintf("%s@%s has no integrity digest Écluse can verify", name, version), Cause: err, permanent: true}
	}
	body, size, err := g.opts.Public.Open(ctx, u, redact.Secret{})
	if err != nil {
		if errors.Is(err, upstream.ErrNotFound) {
			return nil, &NotFoundError{Message: fmt.Sprintf("the public registry has no tarball for %s@%s", name, version)}
		}
		return nil, upstreamFailure(SourcePublic, name, err)
	}
	if size > g.opts.MaxTarballBytes {
		_ = body.Close()
		return nil, &UpstreamError{Message: fmt.Sprintf("the tarball of %s@%s is %d bytes, more than PROXY_MAX_TARBALL_BYTES allows (%d)", name, version, size, g.opts.MaxTarballBytes), permanent: true}
	}
	// An upstream that announced no length, or a wrong one, is cut at the bound.
	body = egress.LimitReader(body, g.opts.MaxTarballBytes)
	job := MirrorJob{Mount: g.mountName(), Name: name, Version: version, Integrity: v.Info.Integrity, Tarball: v.Tarball}
	if g.opts.PublicBase != nil {
		job.Upstream = g.opts.PublicBase.String()
	}
	vb := &verifyingBody{body: body, verifier: verifier, onEnd: startStream(ctx, name, version)}
	var refused error
	if g.opts.TarballManifest != nil {
		vb.inspector = npm.NewTarballInspector(g.opts.TarballManifest.Limits)
		vb.check = func() error {
			refused = g.judgeTarball(ctx, v, vb.inspector, a)
			return refused
		}
	}
	vb.onDone = func(ok bool) {
		if refused != nil {
			return // logged by judgeTarball; nothing is mirrored
		}
		if !ok {
			g.log.ErrorContext(ctx, "tarball integrity mismatch; response aborted, nothing mirrored",
				"package", name, "version", version, "algorithm", verifier.alg)
			return
		}
		if g.opts.Mirror != nil {
			if err := g.opts.Mirror.Enqueue(context.WithoutCancel(ctx), job); err != nil {
				g.log.WarnContext(ctx, "mirror enqueue failed", "package", name, "version", version, "error", err.Error())
			}
		}
	}
	return &Artifact{Body: vb, Size: size, Source: SourcePublic}, nil
}

// judgeTarball decides on a public tarball that has streamed in full and matched its
// digest, from what it holds (read by the inspector as it streamed). It returns nil to
// let the last byte go, or the refusal, which it records and logs.
func (g *Gate) judgeTarball(ctx context.Context, v *npm.Version, inspector *npm.TarballInspector, a *advice) error {
	name, version := v.Info.Name, v.Info.Version
	checks := g.opts.TarballManifest
	rep, err := inspector.Finish()
	if err != nil {
		reason := "cannot be read as every client reads it"
		var te *npm.TarballError
		if errors.As(err, &te) {
			reason = te.Reason
		}
		return g.refuseTarball(ctx, v, policy.RuleTarballManifest, RefusalUnreadable, fmt.Sprintf(
			"the tarball of %s@%s %s; Écluse serves only tarballs it reads as every client does", name, version, reason), err)
	}
	m := rep.Manifest
	if !npm.SameName(m.Name, name) || !npm.SameVersion(m.Version, version) {
		return g.refuseTarball(ctx, v, policy.RuleTarballManifest, RefusalIdentity, fmt.Sprintf(
			"the tarball of %s@%s holds the package.json of %s@%s: its contents disagree with the registry's metadata (manifest confusion)",
			name, version, npm.QuoteShort(m.Name), npm.QuoteShort(m.Version)), nil)
	}
	if rep.RunsCode() {
		// Decide again with the code the tarball would run in view: a rule that denies
		// install-time execution (in force, and not overruled) refuses it.
		info := v.Info
		info.InstallScripts = m.InstallScripts()
		info.Gypfile = info.Gypfile || rep.GypFile
		var view policy.Version
		dec := g.decide(&info, &view, a, g.opts.Now())
		for _, rule := range dec.Warned {
			g.log.InfoContext(ctx, "warn-mode rule would deny a tarball for the code its package.json runs at install",
				"package", name, "version", version, "rule", rule)
		}
		if !dec.Allowed {
			return g.refuseTarball(ctx, v, dec.Rule, RefusalInstallCode,
				dec.Reason()+" (found in its tarball; the registry's metadata does not show it)", nil)
		}
	}
	meta, err := v.Manifest()
	if err != nil {
		meta = &npm.Manifest{} // cannot happen: ParsePackument validated it
	}
	diff := npm.CompareManifests(meta, m, rep.GypFile)
	if len(diff.Scripts) > 0 {
		reason := fmt.Sprintf("the tarball of %s@%s declares other install scripts than the registry's metadata (%s): manifest confusion",
			name, version, describeDiff(diff.Scripts))
		if checks.refuseScripts() {
			return g.refuseTarball(ctx, v, policy.RuleTarballManifest, RefusalScripts, reason, nil)
		}
		g.log.WarnContext(ctx, "tarball install scripts differ from the registry's metadata; served (tarballManifest.scripts is warn)",
			"package", name, "version", version, "reason", reason)
	}
	if len(diff.Dependencies) > 0 {
		reason := fmt.Sprintf("the tarball of %s@%s declares other dependencies than the registry's metadata (%s): manifest confusion",
			name, version, describeDiff(diff.Dependencies))
		if checks.refuseDependencies() {
			return g.refuseTarball(ctx, v, policy.RuleTarballManifest, RefusalDependencies, reason, nil)
		}
		g.log.WarnContext(ctx, "tarball dependencies differ from the registry's metadata; served (tarballManifest.dependencies is warn)",
			"package", name, "version", version, "reason", reason)
	}
	return nil
}

// refuseTarball records a refusal of v, drops the cached renderings that list it, logs
// it and returns the error that ends the stream.
func (g *Gate) refuseTarball(ctx context.Context, v *npm.Version, rule string, kind RefusalKind, reason string, cause error) error {
	name, version := v.Info.Name, v.Info.Version
	g.refusals.add(name, version, v.Info.Integrity, policy.Refusal{Rule: rule, Reason: reason}, g.opts.Now())
	// The refusal is visible to every decision from here on; renderings made before it
	// are dropped with the document they were made from (and one being stored now
	// sees that document evicted, and is not kept).
	key := docKey(SourcePublic, name, "")
	if doc, ok := g.cache.get(key, g.opts.Now()); ok {
		g.cache.removeIf(key, doc)
	}
	attrs := []any{"package", name, "version", version, "rule", rule, "refusal", kind.String(), "reason", reason}
	if cause != nil {
		attrs = append(attrs, "error", cause.Error())
	}
	g.log.ErrorContext(ctx, "tarball refused for its contents; response aborted, nothing mirrored, version refused from now on", attrs...)
	return &RefusedTarballError{Denied: &DeniedError{Name: name, Version: version, Rule: rule, Message: reason}, Kind: kind, Cause: cause}
}

// describeDiff lists differences for a reason, the first few only.
func describeDiff(ds []npm.Difference) string {
	const most = 3
	parts := make([]string, 0, most+1)
	for i, d := range ds {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(ds)-most))
			break
		}
		parts = append(parts, d.String())
	}
	return strings.Join(parts, "; ")
}

// verifier checks streamed bytes against the strongest digest of an SRI string.
type verifier struct {
	alg  string
	h    hash.Hash
	want []byte
}

func newVerifier(integrity string) (*verifier, error) {
	var best *verifier
	for _, d := range npm.ParseSRI(integrity) {
		var h hash.Hash
		switch d.Algorithm.String() {
		case "sha512":
			h = sha512.New()
		case "sha384":
			h = sha512.New384()
		case "sha256":
			h = sha256.New()
		case "blake2b":
			h, _ = blake2b.New512(nil) // never fails without a key
		default:
			continue // no verifier for this algorithm here; another digest may do
		}
		want, err := base64.StdEncoding.DecodeString(d.Value)
		if err != nil {
			continue
		}
		if best == nil || h.Size() > best.h.Size() {
			best = &verifier{alg: d.Algorithm.String(), h: h, want: want}
		}
	}
	if best == nil {
		return nil, errors.New("no well-formed sha256, sha384, sha512 or blake2b digest")
	}
	return best, nil
}

// verifyingBody hashes what is read and checks it at the end of the stream. It always
// holds back the last byte read until the digest is confirmed, so a mismatching artifact
// is never delivered whole: the consumer sees ErrIntegrityMismatch before its final byte.
// With an inspector, every byte read is also written to it, and once the digest matches,
// check decides on what the tarball holds before the last byte goes: its error ends the
// stream the same way.
type verifyingBody struct {
	body     io.ReadCloser
	verifier *verifier
	// inspector reads the tarball as it streams; nil means its contents are not checked.
	inspector *npm.TarballInspector
	// check runs once, at the end of a stream whose digest matched, when there is an
	// inspector; a non-nil error refuses the tarball. Nil means no check.
	check func() error
	// onDone is told once, at the end of the stream, whether the tarball is delivered
	// whole (its digest matched and check passed).
	onDone func(ok bool)
	// onEnd is told once how the stream ended (at its end, at the body's first failure,
	// or when it is closed before either) and how many bytes were read from the
	// upstream. Nil means nobody is told.
	onEnd    func(streamResult, int64)
	read     int64
	ended    bool
	held     byte
	hasHeld  bool
	verified bool  // the end of the stream was reached and checked
	result   error // io.EOF, ErrIntegrityMismatch or check's error once verified
}

func (b *verifyingBody) Read(p []byte) (int, error) {
	if b.verified {
		if b.hasHeld && errors.Is(b.result, io.EOF) && len(p) > 0 {
			p[0], b.hasHeld = b.held, false
			return 1, io.EOF
		}
		return 0, b.result
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.body.Read(p)
	b.read += int64(n)
	if n > 0 {
		b.verifier.h.Write(p[:n])
		if b.inspector != nil {
			_, _ = b.inspector.Write(p[:n]) // never fails; a problem is reported by Finish
		}
		last := p[n-1]
		if b.hasHeld {
			copy(p[1:n], p[:n-1])
			p[0] = b.held
		} else {
			n--
		}
		b.held, b.hasHeld = last, true
	}
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, io.EOF) {
		b.end(streamError)
		return n, err
	}
	// End of stream: verify, then release the held byte only if the digest matches and
	// the contents pass.
	b.verified = true
	ok := subtle.ConstantTimeCompare(b.verifier.h.Sum(nil), b.verifier.want) == 1
	result, outcome := error(ErrIntegrityMismatch), streamMismatch
	if ok {
		result, outcome = io.EOF, streamOK
		if b.inspector != nil && b.check != nil {
			if cerr := b.check(); cerr != nil {
				ok, result, outcome = false, cerr, streamRefused
			}
		}
	}
	b.onDone(ok)
	b.end(outcome)
	b.result = result
	if !ok {
		b.hasHeld = false
		return n, result
	}
	if b.hasHeld {
		if n < len(p) {
			p[n] = b.held
			b.hasHeld = false
			return n + 1, io.EOF
		}
		return n, nil // no room for the held byte: the next call hands it out
	}
	return n, io.EOF
}

// Close releases the inspector and closes the upstream body.
func (b *verifyingBody) Close() error {
	b.end(streamAborted) // unless the stream ended before
	if b.inspector != nil {
		_ = b.inspector.Close()
	}
	return b.body.Close()
}

// end tells onEnd how the stream ended, the first time only.
func (b *verifyingBody) end(r streamResult) {
	if b.ended || b.onEnd == nil {
		return
	}
	b.ended = true
	b.onEnd(r, b.read)
}

var _ io.ReadCloser = (*verifyingBody)(nil)
