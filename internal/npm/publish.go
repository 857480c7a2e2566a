package npm

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // npm's legacy dist.shasum is SHA-1: checked beside a sha512, never trusted alone
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"golang.org/x/crypto/blake2b"
)

// This file reads the body of an npm publish (PUT /{name}), as npm's client builds it:
//
//	{"_id": name, "name": name, "description": ..., "access": ...,
//	 "dist-tags": {tag: version},
//	 "versions": {version: manifest},
//	 "_attachments": {"{name}-{version}.tgz": {"content_type": ..., "data": base64, "length": n}}}
//
// where the manifest is the package.json with dist {integrity, shasum, tarball} added,
// and the attachment is named with the full name, scope included
// ("@scope/name-1.0.0.tgz"). With --provenance the client adds a second attachment,
// "{name}-{version}.sigstore", whose data is the Sigstore bundle as a JSON string.
//
// The body is checked as a whole before anything else reads it: one JSON object, valid
// UTF-8, no member name repeated in any object (the standard library keeps the last of
// two, a JavaScript registry may keep either, so a repeat is how a second manifest or
// tarball is smuggled past a check), then one version, one tarball, and every digest
// the client wrote matching that tarball.

// Default publish limits.
const (
	defaultPublishBytes        = 64 << 20
	defaultPublishTarballBytes = 32 << 20
)

// PublishLimits bounds a publish body. A zero (or negative) field takes the default
// noted on it.
type PublishLimits struct {
	// MaxBytes bounds the whole JSON body. Zero means 64 MiB. The caller also bounds
	// its read of the request with it.
	MaxBytes int64
	// MaxTarballBytes bounds the decoded tarball attachment. Zero means 32 MiB.
	MaxTarballBytes int64
}

func (l PublishLimits) withDefaults() PublishLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultPublishBytes
	}
	if l.MaxTarballBytes <= 0 {
		l.MaxTarballBytes = defaultPublishTarballBytes
	}
	return l
}

// ErrBadPublish is matched (with errors.Is) by every *PublishError.
var ErrBadPublish = errors.New("publish refused")

// PublishError says why a publish body was refused. Msg is written for the person who
// ran npm publish (the server sends it back with a 400): one line, starting with
// "publish refused:", quoting at most short pieces of what the client sent.
type PublishError struct {
	// Msg is the public description, e.g. `publish refused: the tarball does not match
	// the version's dist.integrity (sha512)`.
	Msg string
}

func (e *PublishError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrBadPublish) hold.
func (e *PublishError) Is(target error) bool { return target == ErrBadPublish }

func refuse(format string, args ...any) error {
	return &PublishError{Msg: "publish refused: " + fmt.Sprintf(format, args...)}
}

// Publish is a checked publish body: one version of one package, its tarball matching
// every digest the client wrote. It keeps references into the body it was parsed from,
// which must not be modified afterwards.
type Publish struct {
	// Name is the package name, the same in the URL, the body and the manifest.
	Name string
	// Version is the one version published, strict semver.
	Version string
	// Integrity is the version's dist.integrity as Encode writes it: the client's own
	// when it holds a sha512 (every digest in it verified against the tarball), else
	// "sha512-" and the base64 sha512 of the tarball, computed here (the client's
	// digests, a shasum or weaker SRI entries, having been verified).
	Integrity string
	// Shasum is the tarball's SHA-1 in lower-case hex, what dist.shasum holds when the
	// client sent one (it was verified).
	Shasum string
	// Tarball is the decoded attachment: a gzip stream, not decompressed here.
	Tarball []byte
	// DistTags maps each dist-tag the client set to Version. It is empty when the
	// client set none.
	DistTags map[string]string

	// top is the body's members in the client's order; versions is the index of
	// "versions" in top, verName the version's key as the client wrote it, manifest
	// the version's members, dist the index of "dist" in manifest and distMembs the
	// members of that object.
	top       []pubMember
	versions  int
	verName   []byte
	manifest  []pubMember
	dist      int
	distMembs []pubMember
	// signatures are the registry signatures added with AddSignature.
	signatures []pubSignature
}

type pubSignature struct{ keyID, sig string }

// pubMember is one member of a JSON object, as the client wrote it.
type pubMember struct {
	// name is the member name with its quotes and escapes, re-emitted as written.
	name []byte
	// key is the name with escapes resolved, what the member is looked up by.
	key string
	// val is the value as written.
	val []byte
	// kids are the members of an object value read with the body (see readBody); nil
	// when the value was read whole.
	kids []pubMember
}

// ParsePublish checks body as the publish of urlName, the package name from the request
// path with its escapes resolved ("@scope/name" or "name"). Every refusal is a
// *PublishError. The returned Publish keeps references into body.
func ParsePublish(body []byte, urlName string, lim PublishLimits) (*Publish, error) {
	lim = lim.withDefaults()
	if int64(len(body)) > lim.MaxBytes {
		return nil, refuse("the publish body is larger than the %s Écluse accepts", byteSize(lim.MaxBytes))
	}
	if err := publishName(urlName); err != nil {
		return nil, err
	}
	top, err := readBody(body)
	if err != nil {
		return nil, err
	}
	p := &Publish{Name: urlName, top: top, versions: -1, dist: -1}
	idx := indexMembers(top)

	if err := p.checkNames(top, idx); err != nil {
		return nil, err
	}
	if err := p.readVersion(top, idx); err != nil {
		return nil, err
	}
	if err := p.readDistTags(top, idx); err != nil {
		return nil, err
	}
	if err := p.readTarball(top, idx, lim); err != nil {
		return nil, err
	}
	if err := p.checkDigests(); err != nil {
		return nil, err
	}
	return p, nil
}

// publishName refuses a name npm would not let anyone publish today: ValidateName's
// rules, and those npm adds for new packages (no upper case anywhere, none of ~'!()* in
// the package part).
func publishName(name string) error {
	if err := ValidateName(name); err != nil {
		return &PublishError{Msg: "publish refused: " + err.Error()}
	}
	if strings.ToLower(name) != name {
		return refuse("the package name %s has upper-case letters, which npm no longer allows in new packages", quoteShort(name))
	}
	if _, pkg := splitName(name); strings.ContainsAny(pkg, "~'!()*") {
		return refuse("the package name %s contains one of ~'!()*, which npm no longer allows in new packages", quoteShort(name))
	}
	return nil
}

// checkNames holds the body's name and _id to the URL's.
func (p *Publish) checkNames(top []pubMember, idx map[string]int) error {
	i, ok := idx["name"]
	if !ok {
		return refuse("the publish body has no name")
	}
	name, ok := stringValue(top[i].val)
	if !ok {
		return refuse("the publish body's name is not a string")
	}
	if name != p.Name {
		return refuse("the publish body is for %s, but the request is for %s", quoteShort(name), quoteShort(p.Name))
	}
	if i, ok := idx["_id"]; ok {
		id, ok := stringValue(top[i].val)
		if !ok || id != p.Name {
			return refuse("the publish body's _id is not %s", quoteShort(p.Name))
		}
	}
	return nil
}

// readVersion reads the one entry of versions and its manifest.
func (p *Publish) readVersion(top []pubMember, idx map[string]int) error {
	i, ok := idx["versions"]
	if !ok {
		return refuse("the publish body has no versions")
	}
	if !isObject(top[i].val) {
		return refuse("the publish body's versions is not an object")
	}
	vs, err := top[i].members()
	if err != nil {
		return err
	}
	switch len(vs) {
	case 0:
		return refuse("the publish body's versions is empty; a publish carries exactly one version")
	case 1:
	default:
		return refuse("the publish body has %d versions; a publish carries exactly one", len(vs))
	}
	p.versions, p.verName, p.Version = i, vs[0].name, vs[0].key
	if _, ok := parseStrict(p.Version); !ok {
		return refuse("the version %s is not valid semver", quoteShort(p.Version))
	}
	if !isObject(vs[0].val) {
		return refuse("the manifest of %s is not an object", quoteShort(p.Version))
	}
	if p.manifest, err = vs[0].members(); err != nil {
		return err
	}
	m := indexMembers(p.manifest)
	if name, ok := memberString(p.manifest, m, "name"); !ok || name != p.Name {
		return refuse("the manifest of %s is not named %s", quoteShort(p.Version), quoteShort(p.Name))
	}
	if v, ok := memberString(p.manifest, m, "version"); !ok || v != p.Version {
		return refuse("the manifest under the key %s does not have that version", quoteShort(p.Version))
	}
	if j, ok := m["_id"]; ok {
		want := p.Name + "@" + p.Version
		if id, ok := stringValue(p.manifest[j].val); !ok || id != want {
			return refuse("the manifest's _id is not %s", quoteShort(want))
		}
	}
	j, ok := m["dist"]
	if !ok {
		return refuse("the manifest of %s has no dist (with the tarball's integrity or shasum)", quoteShort(p.Version))
	}
	if !isObject(p.manifest[j].val) {
		return refuse("the manifest's dist is not an object")
	}
	p.dist = j
	p.distMembs, err = p.manifest[j].members()
	return err
}

// readDistTags checks that every dist-tag names the version published.
func (p *Publish) readDistTags(top []pubMember, idx map[string]int) error {
	p.DistTags = map[string]string{}
	i, ok := idx["dist-tags"]
	if !ok {
		return nil
	}
	if !isObject(top[i].val) {
		return refuse("the publish body's dist-tags is not an object")
	}
	tags, err := top[i].members()
	if err != nil {
		return err
	}
	for _, t := range tags {
		v, ok := stringValue(t.val)
		switch {
		case t.key == "":
			return refuse("the publish body has a dist-tag with an empty name")
		case !ok || v != p.Version:
			return refuse("the dist-tag %s does not point at %s, the version published", quoteShort(t.key), quoteShort(p.Version))
		}
		p.DistTags[t.key] = v
	}
	return nil
}

// readTarball finds the tarball attachment, named as npm names it, and decodes it.
func (p *Publish) readTarball(top []pubMember, idx map[string]int, lim PublishLimits) error {
	i, ok := idx["_attachments"]
	if !ok {
		return refuse("the publish body has no _attachments (the tarball)")
	}
	if !isObject(top[i].val) {
		return refuse("the publish body's _attachments is not an object")
	}
	atts, err := top[i].members()
	if err != nil {
		return err
	}
	tgz := p.Name + "-" + p.Version + ".tgz"
	bundle := p.Name + "-" + p.Version + ".sigstore"
	var data []byte
	found := false
	for _, a := range atts {
		if a.key != tgz && a.key != bundle {
			return refuse("the attachment %s is not %s, the one tarball of this publish", quoteShort(a.key), quoteShort(tgz))
		}
		if !isObject(a.val) {
			return refuse("the attachment %s is not an object", quoteShort(a.key))
		}
		ms, err := a.members()
		if err != nil {
			return err
		}
		m := indexMembers(ms)
		j, ok := m["data"]
		if !ok || len(ms[j].val) == 0 || ms[j].val[0] != '"' {
			return refuse("the attachment %s has no data string", quoteShort(a.key))
		}
		if a.key == bundle {
			continue // the provenance bundle goes to the registry as sent; it checks it
		}
		found = true
		if data, err = decodeAttachment(ms[j].val, lim.MaxTarballBytes); err != nil {
			return err
		}
		if k, ok := m["length"]; ok {
			n, err := strconv.ParseInt(string(ms[k].val), 10, 64)
			if err != nil {
				return refuse("the tarball attachment's length is not a whole number")
			}
			if n != int64(len(data)) {
				return refuse("the tarball attachment's length is %d, but its data decodes to %d bytes", n, len(data))
			}
		}
	}
	if !found {
		return refuse("the publish body has no attachment %s (the tarball)", quoteShort(tgz))
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return refuse("the tarball attachment is not gzip-compressed (npm publishes a .tgz)")
	}
	p.Tarball = data
	return nil
}

// decodeAttachment decodes an attachment's data, a JSON string of padded standard
// base64, refusing it before decoding when it would exceed limit bytes.
func decodeAttachment(quoted []byte, limit int64) ([]byte, error) {
	enc := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(enc, '\\') >= 0 { // "\/" and the like: rare, resolve them
		s, err := jsontext.AppendUnquote(nil, quoted)
		if err != nil {
			return nil, refuse("the tarball attachment's data is not a valid JSON string")
		}
		enc = s
	}
	// The decoder skips line breaks, which npm never writes: refuse them.
	if len(enc)%4 != 0 || bytes.IndexByte(enc, '\n') >= 0 || bytes.IndexByte(enc, '\r') >= 0 {
		return nil, refuse("the tarball attachment's data is not padded standard base64")
	}
	n := int64(len(enc)) / 4 * 3
	if bytes.HasSuffix(enc, []byte("==")) {
		n -= 2
	} else if bytes.HasSuffix(enc, []byte("=")) {
		n--
	}
	if n > limit {
		return nil, refuse("the tarball is larger than the %s Écluse accepts", byteSize(limit))
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	m, err := base64.StdEncoding.Strict().Decode(out, enc)
	if err != nil {
		return nil, refuse("the tarball attachment's data is not padded standard base64")
	}
	return out[:m], nil
}

// checkDigests verifies the manifest's dist.integrity and dist.shasum against the
// tarball and settles Integrity and Shasum.
func (p *Publish) checkDigests() error {
	d := indexMembers(p.distMembs)
	sum512 := sha512.Sum512(p.Tarball)
	sum1 := sha1.Sum(p.Tarball) //nolint:gosec // see the import
	p.Shasum = hex.EncodeToString(sum1[:])

	var integrity string
	has := false
	if i, ok := d["integrity"]; ok {
		s, ok := stringValue(p.distMembs[i].val)
		if !ok {
			return refuse("the version's dist.integrity is not a string")
		}
		integrity = s
		has = len(sriEntries(s)) > 0
	}
	hasShasum := false
	if i, ok := d["shasum"]; ok {
		s, ok := stringValue(p.distMembs[i].val)
		want, err := hex.DecodeString(s)
		if !ok || len(s) != 2*sha1.Size || err != nil {
			return refuse("the version's dist.shasum is not 40 hexadecimal digits")
		}
		if !bytes.Equal(want, sum1[:]) {
			return refuse("the tarball does not match the version's dist.shasum")
		}
		hasShasum = true
	}
	if i, ok := d["signatures"]; ok {
		if v := bytes.TrimSpace(p.distMembs[i].val); !bytes.Equal(v, []byte("[]")) {
			// Registry signatures are the registry's to write: one a client supplies
			// could be copied from elsewhere and vouch for what the registry never saw.
			return refuse("the version's dist.signatures is set by the client; registry signatures are added by the registry, not sent with a publish")
		}
	}
	if !has && !hasShasum {
		return refuse("the version's dist has neither integrity nor shasum, so the tarball cannot be checked")
	}
	own512 := false
	if has {
		var err error
		if own512, err = checkIntegrity(integrity, p.Tarball, sum512[:], sum1[:]); err != nil {
			return err
		}
	}
	if own512 {
		p.Integrity = integrity
	} else {
		p.Integrity = "sha512-" + base64.StdEncoding.EncodeToString(sum512[:])
	}
	return nil
}

// checkIntegrity verifies every entry of an SRI string against the tarball, and
// reports whether one of them is a sha512. An entry Écluse cannot check (an unknown
// algorithm, a malformed value) is refused rather than skipped: a digest the client
// wrote and nobody verified would still be served.
func checkIntegrity(sri string, tarball, sum512, sum1 []byte) (has512 bool, err error) {
	for _, entry := range sriEntries(sri) {
		var alg string
		var want, got []byte
		if ds := ParseSRI(entry); len(ds) == 1 {
			d := ds[0]
			alg = d.Algorithm.String()
			want, _ = base64.StdEncoding.DecodeString(d.Value) // ParseSRI checked it
			switch d.Algorithm {
			case SHA512:
				got, has512 = sum512, true
			case SHA384:
				s := sha512.Sum384(tarball)
				got = s[:]
			case SHA256:
				s := sha256.Sum256(tarball)
				got = s[:]
			case BLAKE2b:
				s := blake2b.Sum512(tarball)
				got = s[:]
			}
		} else if v, ok := strings.CutPrefix(entry, "sha1-"); ok {
			v, _, _ = strings.Cut(v, "?")
			w, err := base64.StdEncoding.Strict().DecodeString(v)
			if err != nil || len(w) != sha1.Size {
				return false, refuse("the version's dist.integrity holds %s, which is not a well-formed digest", quoteShort(entry))
			}
			alg, want, got = "sha1", w, sum1
		} else {
			return false, refuse("the version's dist.integrity holds %s, which is not a well-formed sha512, sha384, sha256, blake2b or sha1 digest", quoteShort(entry))
		}
		if !bytes.Equal(want, got) {
			return false, refuse("the tarball does not match the version's dist.integrity (%s)", alg)
		}
	}
	return has512, nil
}

// sriEntries splits an SRI string at its white space.
func sriEntries(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isSRISpace(byte(r)) })
}

// AddSignature appends a registry signature, {"keyid": keyID, "sig": sig}, to the
// version's dist.signatures, after any the client sent. Encode writes it.
func (p *Publish) AddSignature(keyID, sig string) {
	p.signatures = append(p.signatures, pubSignature{keyID: keyID, sig: sig})
}

// Encode returns the body to forward: the client's, member for member and in its order,
// with the version's dist.integrity set to Integrity (added when it was missing) and
// the signatures of AddSignature appended to dist.signatures (created when missing).
// Every other value is copied as the client wrote it.
func (p *Publish) Encode() ([]byte, error) {
	size := 2 + len(p.Integrity) + 32
	for _, m := range p.top {
		size += len(m.name) + len(m.val) + 2
	}
	for _, s := range p.signatures {
		size += len(s.keyID) + len(s.sig) + 32
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, m := range p.top {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(append(out, m.name...), ':')
		if i != p.versions {
			out = append(out, m.val...)
			continue
		}
		out = append(append(append(out, '{'), p.verName...), ':', '{')
		for j, mm := range p.manifest {
			if j > 0 {
				out = append(out, ',')
			}
			out = append(append(out, mm.name...), ':')
			if j != p.dist {
				out = append(out, mm.val...)
				continue
			}
			var err error
			if out, err = p.appendDist(out); err != nil {
				return nil, err
			}
		}
		out = append(out, '}', '}')
	}
	return append(out, '}'), nil
}

// appendDist writes the manifest's dist object with integrity and signatures set.
func (p *Publish) appendDist(out []byte) ([]byte, error) {
	out = append(out, '{')
	wroteIntegrity, wroteSigs := false, false
	for k, m := range p.distMembs {
		if k > 0 {
			out = append(out, ',')
		}
		out = append(append(out, m.name...), ':')
		var err error
		switch m.key {
		case "integrity":
			out, err = jsontext.AppendQuote(out, p.Integrity)
			wroteIntegrity = true
		case "signatures":
			out, err = p.appendSignatures(out, m.val)
			wroteSigs = true
		default:
			out = append(out, m.val...)
		}
		if err != nil {
			return nil, err
		}
	}
	sep := func() {
		if len(out) > 0 && out[len(out)-1] != '{' {
			out = append(out, ',')
		}
	}
	if !wroteIntegrity {
		sep()
		var err error
		if out, err = jsontext.AppendQuote(append(out, `"integrity":`...), p.Integrity); err != nil {
			return nil, err
		}
	}
	if !wroteSigs && len(p.signatures) > 0 {
		sep()
		var err error
		if out, err = p.appendSignatures(append(out, `"signatures":`...), nil); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

// appendSignatures writes the client's signatures array (raw, or nil for none) with
// the added ones after its elements.
func (p *Publish) appendSignatures(out, raw []byte) ([]byte, error) {
	if len(p.signatures) == 0 {
		return append(out, raw...), nil
	}
	out = append(out, '[')
	n := 0
	if raw != nil {
		dec := jsontext.NewDecoder(bytes.NewBuffer(raw))
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		for dec.PeekKind() != ']' {
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			if n > 0 {
				out = append(out, ',')
			}
			out = append(out, v...)
			n++
		}
	}
	for _, s := range p.signatures {
		if n > 0 {
			out = append(out, ',')
		}
		var err error
		if out, err = jsontext.AppendQuote(append(out, `{"keyid":`...), s.keyID); err != nil {
			return nil, fmt.Errorf("signature key id: %w", err)
		}
		if out, err = jsontext.AppendQuote(append(out, `,"sig":`...), s.sig); err != nil {
			return nil, fmt.Errorf("signature: %w", err)
		}
		out = append(out, '}')
		n++
	}
	return append(out, ']'), nil
}

// readBody reads the whole body, the one JSON object it must be, into its members.
// This is the pass that validates it: syntax, UTF-8, no member name repeated at any
// depth, nothing after the object. The _attachments object and each attachment in it
// are read member by member in the same pass (see pubMember.kids), so the tarball's
// base64, nearly all of the body, is scanned once.
func readBody(body []byte) ([]pubMember, error) {
	dec := jsontext.NewDecoder(bytes.NewBuffer(body))
	if dec.PeekKind() != '{' {
		if _, err := dec.ReadValue(); err != nil {
			return nil, jsonRefusal(err)
		}
		return nil, refuse("the publish body is not a JSON object")
	}
	top, err := readObject(dec, body, func(path []string) bool {
		return len(path) <= 2 && path[0] == "_attachments"
	}, nil)
	if err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, jsonRefusal(err)
		}
		return nil, refuse("the publish body has more after its JSON object")
	}
	return top, nil
}

// readObject reads the object that comes next in dec, whose input is raw, into its
// members, which alias raw. A member whose value is an object and whose path (path
// and its key) descend accepts is read member by member into kids.
func readObject(dec *jsontext.Decoder, raw []byte, descend func(path []string) bool, path []string) ([]pubMember, error) {
	if _, err := dec.ReadToken(); err != nil { // the opening brace, peeked by the caller
		return nil, jsonRefusal(err)
	}
	ms := []pubMember{}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadValue()
		if err != nil {
			return nil, jsonRefusal(err)
		}
		ne := int(dec.InputOffset())
		m := pubMember{name: raw[ne-len(name) : ne]}
		m.key, _ = unquote(string(name))
		if dec.PeekKind() == '{' && descend(append(path[:len(path):len(path)], m.key)) {
			vs := ne + bytes.IndexByte(raw[ne:], '{') // only a colon and white space come before it
			if m.kids, err = readObject(dec, raw, descend, append(path[:len(path):len(path)], m.key)); err != nil {
				return nil, err
			}
			m.val = raw[vs:int(dec.InputOffset())]
		} else {
			val, err := dec.ReadValue()
			if err != nil {
				return nil, jsonRefusal(err)
			}
			ve := int(dec.InputOffset())
			m.val = raw[ve-len(val) : ve]
		}
		ms = append(ms, m)
	}
	if _, err := dec.ReadToken(); err != nil { // the closing brace
		return nil, jsonRefusal(err)
	}
	return ms, nil
}

// members returns the members of the object m holds: those read with the body, or
// else read now from its value, which the body's reading validated. The caller has
// checked that the value is an object.
func (m *pubMember) members() ([]pubMember, error) {
	if m.kids != nil {
		return m.kids, nil
	}
	return readObject(jsontext.NewDecoder(bytes.NewBuffer(m.val)), m.val, func([]string) bool { return false }, nil)
}

// jsonRefusal describes why jsontext refused the body.
func jsonRefusal(err error) error {
	var se *jsontext.SyntacticError
	switch {
	case errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName):
		return refuse("the publish body repeats a member name, at %s", quoteShort(string(se.JSONPointer)))
	case errors.As(err, &se):
		return refuse("the publish body is not valid JSON (problem at byte %d)", se.ByteOffset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return refuse("the publish body is not valid JSON (it ends early)")
	}
	return refuse("the publish body is not valid JSON")
}

// indexMembers maps each member's key to its index; keys are unique, readBody saw to
// it.
func indexMembers(ms []pubMember) map[string]int {
	idx := make(map[string]int, len(ms))
	for i, m := range ms {
		idx[m.key] = i
	}
	return idx
}

// memberString returns the string value of the member key.
func memberString(ms []pubMember, idx map[string]int, key string) (string, bool) {
	i, ok := idx[key]
	if !ok {
		return "", false
	}
	return stringValue(ms[i].val)
}

// stringValue returns the text of a raw JSON string, or false for any other value.
func stringValue(raw []byte) (string, bool) { return unquote(string(raw)) }

func isObject(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }

// byteSize writes a limit for people: "32 MiB", or a count of bytes.
func byteSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
