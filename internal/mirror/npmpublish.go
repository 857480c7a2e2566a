package mirror

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/mirror/credential"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// Publisher is the mirror target as the worker writes to it.
type Publisher interface {
	// Exists reports whether the target holds name@version with the artifact integrity
	// describes: true when it does (the digests the two share are equal, or they share
	// no algorithm to compare), false when it does not hold that version. A version
	// held with a different artifact is a permanent *Error with ReasonConflict. Other
	// failures are *Error values.
	Exists(ctx context.Context, name, version, integrity string) (bool, error)
	// Publish copies job's version to the target: manifest is the version manifest as
	// the public upstream served it, tarball the verified artifact. It returns nil once
	// the target accepted it, an error matched by errors.Is(err, ErrAlreadyPresent) when
	// the target already holds the same artifact, and an *Error otherwise.
	Publish(ctx context.Context, job Job, manifest []byte, tarball Tarball) error
}

// DefaultMirrorTag is the dist-tag a mirrored version is published under when it must
// not become latest: the npm publish document always names one tag, and the registry
// moves the tag it names.
const DefaultMirrorTag = "ecluse-mirror"

// NPMPublisherOptions configures an NPMPublisher. Zero values are noted per field.
type NPMPublisherOptions struct {
	// Target is the mirror target's base URL (MIRROR_TARGET_URL; the private upstream
	// when unset). Required.
	Target *url.URL
	// HTTP is the client every request goes through: egress.NewTrusted(Target, ...),
	// which reaches the target's origin only. Required.
	HTTP *http.Client
	// Credential hands out the write token, sent as "Authorization: Bearer <token>"
	// (or as given when it already starts with "Bearer " or "Basic "). Nil means no
	// credential is sent.
	Credential credential.Provider
	// Limits bound the target's package documents read back. A zero MaxBytes means
	// 64 MiB; other zero fields mean no bound.
	Limits npm.Limits
	// Tag is the dist-tag for versions that must not move latest. Empty means
	// DefaultMirrorTag.
	Tag string
	// Logger receives what is worth a line outside the worker's own. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// NPMPublisher publishes to an npm registry the operator owns (Verdaccio, Artifactory,
// Nexus, CodeArtifact, Artifact Registry...) with the document `npm publish` sends.
//
// The dist-tags: a mirrored version becomes latest only when the target has no latest,
// or when it is a release (no prerelease part) above the target's latest in semver
// order. Otherwise it is published under Tag, so latest never moves backwards and
// never lands on a prerelease a newer release already passed.
type NPMPublisher struct {
	opts   NPMPublisherOptions
	reader *upstream.Client
	log    *slog.Logger
}

var _ Publisher = (*NPMPublisher)(nil)

// NewNPMPublisher returns a publisher for opts.Target.
func NewNPMPublisher(opts NPMPublisherOptions) (*NPMPublisher, error) {
	if opts.Target == nil || !opts.Target.IsAbs() {
		return nil, errors.New("npm publisher: an absolute target URL is required")
	}
	if opts.HTTP == nil {
		return nil, errors.New("npm publisher: an HTTP client is required")
	}
	if opts.Limits.MaxBytes <= 0 {
		opts.Limits.MaxBytes = 64 << 20
	}
	if opts.Tag == "" {
		opts.Tag = DefaultMirrorTag
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	t := *opts.Target
	t.User = nil
	opts.Target = &t
	return &NPMPublisher{
		opts: opts,
		reader: upstream.New(upstream.Options{
			Origin: "mirror target", Base: &t, HTTP: opts.HTTP, MaxBytes: opts.Limits.MaxBytes,
		}),
		log: opts.Logger,
	}, nil
}

// authorization returns the Authorization header value to send, or the empty secret.
func (p *NPMPublisher) authorization(ctx context.Context, op string) (redact.Secret, error) {
	if p.opts.Credential == nil {
		return redact.Secret{}, nil
	}
	tok, err := p.opts.Credential.Token(ctx)
	if err != nil {
		return redact.Secret{}, transient(op, ReasonDenied, fmt.Errorf("mirror target credential: %w", err))
	}
	if !tok.IsSet() {
		return redact.Secret{}, nil
	}
	v := tok.Reveal()
	if hasScheme(v) {
		return tok, nil
	}
	return redact.New("Bearer " + v), nil
}

func hasScheme(v string) bool {
	scheme, _, ok := strings.Cut(v, " ")
	return ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Basic"))
}

// targetState is what the target holds of a package.
type targetState struct {
	// found reports the package exists there.
	found bool
	// version is the job's version there, nil when absent.
	version *npm.Version
	// latest is the target's latest dist-tag, "" when none.
	latest string
}

// read fetches and parses the target's document for name, with the write credential
// (a registry may hide packages from anonymous readers).
func (p *NPMPublisher) read(ctx context.Context, op, name, version string) (targetState, error) {
	auth, err := p.authorization(ctx, op)
	if err != nil {
		return targetState{}, err
	}
	raw, err := p.reader.Packument(ctx, name, auth, nil)
	if errors.Is(err, upstream.ErrNotFound) {
		return targetState{}, nil
	}
	if err != nil {
		return targetState{}, classifyUpstream(op, err)
	}
	doc, err := npm.ParsePackument(raw, name, p.opts.Limits)
	if err != nil {
		if errors.Is(err, npm.ErrTooLarge) {
			return targetState{}, permanent(op, ReasonTooLarge, fmt.Errorf("mirror target document: %w", err))
		}
		return targetState{}, permanent(op, ReasonBadDocument, fmt.Errorf("mirror target document: %w", err))
	}
	st := targetState{found: true, version: doc.Find(version)}
	for _, t := range doc.DistTags {
		if t.Name == "latest" {
			st.latest = t.Version
		}
	}
	return st, nil
}

// Exists implements Publisher.
func (p *NPMPublisher) Exists(ctx context.Context, name, version, integrity string) (bool, error) {
	st, err := p.read(ctx, "lookup", name, version)
	if err != nil || st.version == nil {
		return false, err
	}
	return p.same(ctx, "lookup", name, version, st.version.Info.Integrity, integrity)
}

// same compares the target's integrity for a version it holds with the job's.
func (p *NPMPublisher) same(ctx context.Context, op, name, version, held, want string) (bool, error) {
	switch CompareIntegrity(held, want) {
	case MatchSame:
		return true, nil
	case MatchDifferent:
		return false, permanent(op, ReasonConflict, fmt.Errorf("the mirror target holds %s@%s with a different artifact (%s, want %s)", name, version, clip(held), clip(want)))
	}
	p.log.WarnContext(ctx, "mirror target holds the version with an integrity that cannot be compared; taken as present",
		"package", name, "version", version, "target_integrity", clip(held))
	return true, nil
}

// Publish implements Publisher.
func (p *NPMPublisher) Publish(ctx context.Context, job Job, manifest []byte, tarball Tarball) error {
	st, err := p.read(ctx, "publish", job.Name, job.Version)
	if err != nil {
		return err
	}
	if st.version != nil {
		// Published meanwhile (by another worker, or an operator).
		if _, err := p.same(ctx, "publish", job.Name, job.Version, st.version.Info.Integrity, job.Integrity); err != nil {
			return err
		}
		return ErrAlreadyPresent
	}
	tag := "latest"
	if st.latest != "" && !becomesLatest(job.Version, st.latest) {
		tag = p.opts.Tag
	}
	versionDoc, description, err := p.versionManifest(job, manifest, tarball)
	if err != nil {
		return err
	}
	doc, err := newPublishDoc(job, tag, description, versionDoc, tarball)
	if err != nil {
		return err
	}
	auth, err := p.authorization(ctx, "publish")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.packageURL(job.Name), doc.reader())
	if err != nil {
		return permanent("publish", ReasonLocal, err)
	}
	req.ContentLength = doc.length()
	req.GetBody = func() (io.ReadCloser, error) { return doc.reader(), nil }
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if auth.IsSet() {
		req.Header.Set("Authorization", auth.Reveal())
	}
	resp, err := p.opts.HTTP.Do(req)
	if err != nil {
		return classifyUpstream("publish", &upstream.UnavailableError{Origin: "mirror target", Err: err, Refusal: refusalOf(err)})
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	msg := registryMessage(resp.Body, auth)
	failure := &Error{Kind: statusKind(resp.StatusCode), Reason: ReasonStatus, Op: "publish", Status: resp.StatusCode,
		Err: fmt.Errorf("mirror target answered %d%s", resp.StatusCode, msg)}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		failure.Reason = ReasonDenied
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		failure.Reason = ReasonTooLarge
	}
	if failure.Kind == KindPermanent || resp.StatusCode == http.StatusConflict {
		// A 409, or a registry's own way of saying the version exists (npm's 403 "cannot
		// publish over"): read the target back and judge by what it holds.
		st, err := p.read(ctx, "publish", job.Name, job.Version)
		if err == nil && st.version != nil {
			ok, err := p.same(ctx, "publish", job.Name, job.Version, st.version.Info.Integrity, job.Integrity)
			if err != nil {
				return err // a different artifact: a conflict
			}
			if ok {
				return ErrAlreadyPresent
			}
		}
		if resp.StatusCode == http.StatusConflict {
			// The registry says it holds the version, and its document (which may lag,
			// or hide a version once unpublished) shows nothing against it.
			return ErrAlreadyPresent
		}
	}
	return failure
}

// refusalOf describes the egress refusal inside err, or returns "".
func refusalOf(err error) string {
	var refused *egress.RefusedError
	if errors.As(err, &refused) {
		return fmt.Sprintf("host %q: %s", refused.Host, refused.Reason)
	}
	return ""
}

// packageURL is the target URL of a package's document: the name with its scope's
// slash escaped as npm escapes it ("@scope%2fname").
func (p *NPMPublisher) packageURL(name string) string {
	base := strings.TrimSuffix(p.opts.Target.String(), "/")
	return base + "/" + escapeName(name)
}

// escapeName spells a package name as one path segment, the way npm does.
func escapeName(name string) string {
	if scope, pkg, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		return "@" + url.PathEscape(scope[1:]) + "%2f" + url.PathEscape(pkg)
	}
	return url.PathEscape(name)
}

// tarballURL is where the target will serve the version's tarball, by the npm
// registry's convention.
func (p *NPMPublisher) tarballURL(name, version string) string {
	return strings.TrimSuffix(p.opts.Target.String(), "/") + npm.TarballPath(name, version)
}

// becomesLatest reports whether version should replace latest: only a release above it
// in semver order. A version that does not parse never does.
func becomesLatest(version, latest string) bool {
	v, err := semver.NewVersion(version)
	if err != nil || v.Prerelease() != "" {
		return false
	}
	l, err := semver.NewVersion(latest)
	if err != nil {
		return false
	}
	return v.GreaterThan(l)
}

// versionManifest rewrites the public version manifest for the target: dist.tarball
// points at the target; dist.integrity and dist.shasum are kept as served (after
// checking they describe the tarball), or filled in when absent. Member order is
// kept. It also returns the manifest's description, when it is a string.
func (p *NPMPublisher) versionManifest(job Job, manifest []byte, tarball Tarball) ([]byte, string, error) {
	bad := func(format string, args ...any) error {
		return permanent("publish", ReasonBadDocument, fmt.Errorf("version manifest: "+format, args...))
	}
	dec := jsontext.NewDecoder(bytes.NewReader(manifest))
	var out bytes.Buffer
	enc := jsontext.NewEncoder(&out)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, "", bad("not a JSON object")
	}
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return nil, "", bad("%v", err)
	}
	var description string
	var sawName, sawVersion, sawDist bool
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, "", bad("%v", err)
		}
		name := tok.String()
		val, err := dec.ReadValue()
		if err != nil {
			return nil, "", bad("%v", err)
		}
		switch name {
		case "name", "version", "description":
			var s string
			if err := json.Unmarshal(val, &s); err != nil {
				if name == "description" {
					break
				}
				return nil, "", bad("%s is not a string", name)
			}
			switch {
			case name == "description":
				description = s
			case name == "name" && s != job.Name:
				return nil, "", permanent("publish", ReasonIntegrity, fmt.Errorf("version manifest names %q, not %q", clip(s), job.Name))
			case name == "version" && s != job.Version:
				return nil, "", permanent("publish", ReasonIntegrity, fmt.Errorf("version manifest is of version %q, not %q", clip(s), job.Version))
			}
			sawName = sawName || name == "name"
			sawVersion = sawVersion || name == "version"
		case "dist":
			sawDist = true
			val, err = p.rewriteDist(job, val, tarball)
			if err != nil {
				return nil, "", err
			}
		}
		if err := enc.WriteToken(jsontext.String(name)); err != nil {
			return nil, "", bad("%v", err)
		}
		if err := enc.WriteValue(val); err != nil {
			return nil, "", bad("%v", err)
		}
	}
	if !sawName || !sawVersion {
		return nil, "", bad("no name or version")
	}
	if !sawDist {
		val, err := p.rewriteDist(job, jsontext.Value(`{}`), tarball)
		if err != nil {
			return nil, "", err
		}
		if err := enc.WriteToken(jsontext.String("dist")); err != nil {
			return nil, "", bad("%v", err)
		}
		if err := enc.WriteValue(val); err != nil {
			return nil, "", bad("%v", err)
		}
	}
	if err := enc.WriteToken(jsontext.EndObject); err != nil {
		return nil, "", bad("%v", err)
	}
	return bytes.TrimSpace(out.Bytes()), description, nil
}

// rewriteDist rewrites a manifest's "dist" object (see versionManifest).
func (p *NPMPublisher) rewriteDist(job Job, dist jsontext.Value, tarball Tarball) (jsontext.Value, error) {
	mismatch := func(format string, args ...any) error {
		return permanent("publish", ReasonIntegrity, fmt.Errorf("version manifest: "+format, args...))
	}
	dec := jsontext.NewDecoder(bytes.NewReader(dist))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, permanent("publish", ReasonBadDocument, errors.New("version manifest: dist is not an object"))
	}
	var out bytes.Buffer
	enc := jsontext.NewEncoder(&out)
	_ = enc.WriteToken(jsontext.BeginObject)
	var sawIntegrity, sawShasum bool
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, permanent("publish", ReasonBadDocument, fmt.Errorf("version manifest dist: %w", err))
		}
		name := tok.String()
		val, err := dec.ReadValue()
		if err != nil {
			return nil, permanent("publish", ReasonBadDocument, fmt.Errorf("version manifest dist: %w", err))
		}
		var s string
		str := json.Unmarshal(val, &s) == nil
		switch name {
		case "tarball":
			continue // written last, pointing at the target
		case "integrity":
			sawIntegrity = true
			if !str || CompareIntegrity(s, job.Integrity) != MatchSame {
				return nil, mismatch("dist.integrity %q does not match the job's %q", clip(s), clip(job.Integrity))
			}
		case "shasum":
			sawShasum = true
			if !str || !strings.EqualFold(s, tarball.SHA1) {
				return nil, mismatch("dist.shasum %q is not the tarball's SHA-1 %s", clip(s), tarball.SHA1)
			}
		}
		_ = enc.WriteToken(jsontext.String(name))
		if err := enc.WriteValue(val); err != nil {
			return nil, permanent("publish", ReasonBadDocument, fmt.Errorf("version manifest dist: %w", err))
		}
	}
	if !sawIntegrity {
		_ = enc.WriteToken(jsontext.String("integrity"))
		_ = enc.WriteToken(jsontext.String(job.Integrity))
	}
	if !sawShasum {
		_ = enc.WriteToken(jsontext.String("shasum"))
		_ = enc.WriteToken(jsontext.String(tarball.SHA1))
	}
	_ = enc.WriteToken(jsontext.String("tarball"))
	_ = enc.WriteToken(jsontext.String(p.tarballURL(job.Name, job.Version)))
	if err := enc.WriteToken(jsontext.EndObject); err != nil {
		return nil, permanent("publish", ReasonBadDocument, fmt.Errorf("version manifest dist: %w", err))
	}
	return jsontext.Value(bytes.TrimSpace(out.Bytes())), nil
}

// publishDoc is the npm publish document, framed around the tarball's base64 text so
// that the body streams from the tarball and is never held whole:
//
//	{"_id":N,"name":N,"description":D,"dist-tags":{T:V},"versions":{V:M},
//	 "_attachments":{"<N>-<V>.tgz":{"content_type":"application/octet-stream",
//	 "data":"<base64>","length":L}}}
//
// The attachment is named as npm names it: the full name, scope included; registries
// key the file by its base name ("name-1.0.0.tgz"), which dist.tarball also ends in.
type publishDoc struct {
	head, tail []byte
	tarball    Tarball
}

func newPublishDoc(job Job, tag, description string, manifest []byte, tarball Tarball) (*publishDoc, error) {
	var head bytes.Buffer
	str := func(s string) {
		b, _ := json.Marshal(s) // a string always marshals
		head.Write(b)
	}
	head.WriteString(`{"_id":`)
	str(job.Name)
	head.WriteString(`,"name":`)
	str(job.Name)
	if description != "" {
		head.WriteString(`,"description":`)
		str(description)
	}
	head.WriteString(`,"dist-tags":{`)
	str(tag)
	head.WriteByte(':')
	str(job.Version)
	head.WriteString(`},"versions":{`)
	str(job.Version)
	head.WriteByte(':')
	head.Write(manifest)
	head.WriteString(`},"_attachments":{`)
	str(job.Name + "-" + job.Version + ".tgz")
	head.WriteString(`:{"content_type":"application/octet-stream","data":"`)
	tail := `","length":` + strconv.FormatInt(tarball.Size, 10) + `}}}`
	if !json.Valid(append(bytes.Clone(head.Bytes()), tail...)) {
		return nil, permanent("publish", ReasonBadDocument, errors.New("publish document is not valid JSON"))
	}
	return &publishDoc{head: head.Bytes(), tail: []byte(tail), tarball: tarball}, nil
}

func (d *publishDoc) length() int64 {
	return int64(len(d.head)) + int64(base64.StdEncoding.EncodedLen(int(d.tarball.Size))) + int64(len(d.tail))
}

// reader returns a fresh reader of the whole document.
func (d *publishDoc) reader() io.ReadCloser {
	return io.NopCloser(io.MultiReader(
		bytes.NewReader(d.head),
		newBase64Reader(io.NewSectionReader(d.tarball.Body, 0, d.tarball.Size)),
		bytes.NewReader(d.tail),
	))
}

// base64Reader encodes src as padded standard base64 as it is read, a chunk at a time.
type base64Reader struct {
	src  io.Reader
	in   []byte
	out  []byte
	pos  int
	done bool
	err  error
}

// b64Chunk is the raw bytes encoded at once: a multiple of 3, so padding appears only
// after the last chunk.
const b64Chunk = 48 << 10

func newBase64Reader(src io.Reader) *base64Reader {
	return &base64Reader{src: src, in: make([]byte, b64Chunk), out: make([]byte, 0, base64.StdEncoding.EncodedLen(b64Chunk))}
}

func (r *base64Reader) Read(p []byte) (int, error) {
	for r.pos >= len(r.out) {
		if r.done {
			return 0, r.err
		}
		n, err := io.ReadFull(r.src, r.in)
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			r.done, r.err = true, io.EOF
		case err != nil:
			r.done, r.err = true, err
			n = 0
		}
		r.out = r.out[:base64.StdEncoding.EncodedLen(n)]
		base64.StdEncoding.Encode(r.out, r.in[:n])
		r.pos = 0
		if n == 0 && r.done {
			return 0, r.err
		}
	}
	n := copy(p, r.out[r.pos:])
	r.pos += n
	return n, nil
}

// registryMessage reads a short error message from a registry's JSON answer ("error",
// "reason" or "message"), bounded, stripped of control characters and of the
// credential sent. It returns ": <message>", or "" when there is none.
func registryMessage(r io.Reader, sent redact.Secret) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	var body struct {
		Error   string `json:"error"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &body) != nil {
		return ""
	}
	msg := body.Error
	if msg == "" {
		msg = body.Reason
	}
	if msg == "" {
		msg = body.Message
	}
	if sent.IsSet() {
		v := sent.Reveal()
		msg = strings.ReplaceAll(msg, v, redact.Placeholder)
		if _, tok, ok := strings.Cut(v, " "); ok && tok != "" {
			msg = strings.ReplaceAll(msg, tok, redact.Placeholder)
		}
	}
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, msg)
	if msg == "" {
		return ""
	}
	const max = 200
	if len(msg) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return ": " + msg
}
