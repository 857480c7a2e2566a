package pypi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults of Limits, and the bounds that are not configurable.
const (
	defaultMaxFiles      = 200_000
	defaultMaxFieldBytes = 8 << 10
	// maxHashes bounds the hashes of one file, or of one file's metadata. A real
	// page gives one to three.
	maxHashes = 16
	// maxHashNameLen bounds a hash's name ("blake2b_256").
	maxHashNameLen = 32
)

func (l Limits) withDefaults() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = defaultMaxFiles
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = defaultMaxFieldBytes
	}
	return l
}

// ParseJSON reads a PEP 691 project page (version 1, with PEP 700's additions). It
// keeps meta.api-version, name, versions, and of each file its filename, url (its
// fragment, if any, dropped), hashes, requires-python, yanked, upload-time, size and
// core-metadata (or, when that is absent, dist-info-metadata). Unknown keys are
// ignored, as is gpg-sig.
//
// Hash names are lower-cased and values lower-cased hex; an entry whose value is not
// hex, or whose name is not made of letters, digits, '_' and '-', is dropped. A yanked
// value of "" is read as not yanked, as pip reads it. An upload-time that is not RFC
// 3339 and a size that is not a non-negative integer read as absent.
//
// A page that is not a JSON object, a file without a filename or url, and a field
// of the wrong type are refused (ErrInvalidPage); so is a page with more files or
// versions than lim.MaxFiles, more than 16 hashes on a file, or a kept string longer
// than lim.MaxFieldBytes (ErrPageTooLarge). Files are read one at a time, so a page
// over the limit is refused before it is all decoded.
func ParseJSON(body []byte, lim Limits) (*Project, error) {
	lim = lim.withDefaults()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, &pageError{kind: ErrInvalidPage, reason: "not a JSON object", cause: err}
	}
	p := &Project{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &pageError{kind: ErrInvalidPage, reason: "not valid JSON", cause: err}
		}
		key, _ := tok.(string)
		switch key {
		case "meta":
			var meta map[string]json.RawMessage
			if err := dec.Decode(&meta); err != nil {
				return nil, decodeError("meta is not an object", err)
			}
			if p.APIVersion, err = optionalString(meta["api-version"], topField("meta.api-version"), lim); err != nil {
				return nil, err
			}
		case "name":
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, &pageError{kind: ErrInvalidPage, reason: "not valid JSON", cause: err}
			}
			if p.Name, err = optionalString(raw, topField("name"), lim); err != nil {
				return nil, err
			}
		case "files":
			if p.Files, err = readJSONFiles(dec, lim); err != nil {
				return nil, err
			}
		case "versions":
			if p.Versions, err = readJSONVersions(dec, lim); err != nil {
				return nil, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, &pageError{kind: ErrInvalidPage, reason: "not valid JSON", cause: err}
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, &pageError{kind: ErrInvalidPage, reason: "not valid JSON", cause: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalidPage("data after the JSON object")
	}
	return p, nil
}

// decodeError describes a failed Decode: the value had the wrong type (reason), or
// the page is not JSON at all.
func decodeError(reason string, err error) error {
	var te *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &te) {
		reason = "not valid JSON"
	}
	return &pageError{kind: ErrInvalidPage, reason: reason, cause: err}
}

// readJSONFiles reads the files array, one file at a time.
func readJSONFiles(dec *json.Decoder, lim Limits) ([]File, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, &pageError{kind: ErrInvalidPage, reason: "not valid JSON", cause: err}
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('[') {
		return nil, invalidPage("files is not an array")
	}
	var files []File
	// One map serves every file: Decode adds to a map it is given.
	m := make(map[string]json.RawMessage, 16)
	for dec.More() {
		if len(files) == lim.MaxFiles {
			return nil, tooLarge(fmt.Sprintf("more than %d files", lim.MaxFiles))
		}
		clear(m)
		if err := dec.Decode(&m); err != nil || m == nil {
			return nil, decodeError(fmt.Sprintf("files[%d] is not an object", len(files)), err)
		}
		f, err := jsonFile(m, len(files), lim)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if _, err := dec.Token(); err != nil {
		return nil, &pageError{kind: ErrInvalidPage, reason: "not valid JSON", cause: err}
	}
	return files, nil
}

// readJSONVersions reads the versions array, bounded like the files.
func readJSONVersions(dec *json.Decoder, lim Limits) ([]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, &pageError{kind: ErrInvalidPage, reason: "not valid JSON", cause: err}
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('[') {
		return nil, invalidPage("versions is not an array")
	}
	versions := []string{}
	for dec.More() {
		if len(versions) == lim.MaxFiles {
			return nil, tooLarge(fmt.Sprintf("more than %d versions", lim.MaxFiles))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &pageError{kind: ErrInvalidPage, reason: "not valid JSON", cause: err}
		}
		s, ok := jsonString(raw)
		if !ok {
			return nil, invalidPage(fmt.Sprintf("versions[%d] is not a string", len(versions)))
		}
		if len(s) > lim.MaxFieldBytes {
			return nil, tooLarge(fmt.Sprintf("versions[%d] is longer than %d bytes", len(versions), lim.MaxFieldBytes))
		}
		versions = append(versions, s)
	}
	if _, err := dec.Token(); err != nil {
		return nil, &pageError{kind: ErrInvalidPage, reason: "not valid JSON", cause: err}
	}
	return versions, nil
}

// jsonString returns the string raw holds, and false when raw is not a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// jsonKind names the JSON type of a value already known to be valid JSON.
func jsonKind(raw json.RawMessage) byte {
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; c {
	case '"', '{', '[', 't', 'f', 'n':
		return c
	default:
		return '0'
	}
}

// fieldName names a field of the page in an error message. It is a value rather
// than a string so that the name is only built when an error needs it.
type fieldName struct {
	file int // the index of the file in files, or -1 for a field of the page
	key  string
}

func (f fieldName) String() string {
	if f.file < 0 {
		return f.key
	}
	return "files[" + strconv.Itoa(f.file) + "]." + f.key
}

func topField(key string) fieldName { return fieldName{file: -1, key: key} }

// optionalString reads a string field that may be absent or null, bounded by
// lim.MaxFieldBytes.
func optionalString(raw json.RawMessage, field fieldName, lim Limits) (string, error) {
	if raw == nil || jsonKind(raw) == 'n' {
		return "", nil
	}
	s, ok := jsonString(raw)
	if !ok {
		return "", invalidPage(field.String() + " is not a string")
	}
	if len(s) > lim.MaxFieldBytes {
		return "", tooLarge(fmt.Sprintf("%s is longer than %d bytes", field, lim.MaxFieldBytes))
	}
	return s, nil
}

// jsonFile reads files[i].
func jsonFile(m map[string]json.RawMessage, i int, lim Limits) (File, error) {
	field := func(key string) fieldName { return fieldName{file: i, key: key} }
	f := File{Size: -1}
	var err error
	for _, key := range [...]string{"filename", "url"} {
		raw, ok := m[key]
		if !ok || jsonKind(raw) == 'n' {
			return File{}, invalidPage(fmt.Sprintf("files[%d] has no %s", i, key))
		}
		s, err := optionalString(raw, field(key), lim)
		if err != nil {
			return File{}, err
		}
		if key == "url" {
			s, _, _ = strings.Cut(s, "#")
		}
		if s == "" {
			return File{}, invalidPage(field(key).String() + " is empty")
		}
		if key == "filename" {
			f.Filename = s
		} else {
			f.URL = s
		}
	}
	if f.Hashes, err = jsonHashes(m["hashes"], field("hashes"), lim); err != nil {
		return File{}, err
	}
	if f.RequiresPython, err = optionalString(m["requires-python"], field("requires-python"), lim); err != nil {
		return File{}, err
	}
	if raw := m["yanked"]; raw != nil {
		switch jsonKind(raw) {
		case 't':
			f.Yanked = true
		case 'f', 'n':
		case '"':
			if f.YankedReason, err = optionalString(raw, field("yanked"), lim); err != nil {
				return File{}, err
			}
			f.Yanked = f.YankedReason != ""
		default:
			return File{}, invalidPage(field("yanked").String() + " is neither a boolean nor a string")
		}
	}
	if s, ok := jsonString(m["upload-time"]); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			f.UploadTime = t.UTC()
		}
	}
	if raw := m["size"]; jsonKind(raw) == '0' {
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil && n >= 0 {
			f.Size = n
		}
	}
	meta, name := m["core-metadata"], "core-metadata"
	if meta == nil || jsonKind(meta) == 'n' {
		meta, name = m["dist-info-metadata"], "dist-info-metadata"
	}
	if f.CoreMetadata, err = jsonMetadata(meta, field(name), lim); err != nil {
		return File{}, err
	}
	return f, nil
}

// jsonHashes reads a hashes object (absent or null: nil).
func jsonHashes(raw json.RawMessage, field fieldName, lim Limits) (map[string]string, error) {
	if raw == nil || jsonKind(raw) == 'n' {
		return nil, nil
	}
	if jsonKind(raw) != '{' {
		return nil, invalidPage(field.String() + " is not an object")
	}
	// Most pages give only strings: read them as such, and fall back to reading the
	// values one by one (to drop the ones that are not strings) when that fails.
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		var rm map[string]json.RawMessage
		if json.Unmarshal(raw, &rm) != nil {
			return nil, invalidPage(field.String() + " is not an object")
		}
		m = make(map[string]string, len(rm))
		for k, v := range rm {
			if s, ok := jsonString(v); ok {
				m[k] = s
			}
		}
	}
	if len(m) > maxHashes {
		return nil, tooLarge(fmt.Sprintf("%s has more than %d entries", field, maxHashes))
	}
	var out map[string]string
	add := func(k, v string) error {
		if len(v) > lim.MaxFieldBytes {
			return tooLarge(fmt.Sprintf("%s[%q] is longer than %d bytes", field, clip(k), lim.MaxFieldBytes))
		}
		out = addHash(out, k, v)
		return nil
	}
	if len(m) <= 1 {
		for k, v := range m {
			if err := add(k, v); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	// In name order, so that two spellings of one name ("SHA256", "sha256") resolve
	// the same way every time: the first in byte order wins.
	for _, k := range sortedKeys(m) {
		if err := add(k, m[k]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// jsonMetadata reads core-metadata or dist-info-metadata: a boolean, or an object of
// hashes meaning true.
func jsonMetadata(raw json.RawMessage, field fieldName, lim Limits) (Metadata, error) {
	switch jsonKind(raw) {
	case 0, 'n', 'f':
		return Metadata{}, nil
	case 't':
		return Metadata{Present: true}, nil
	case '{':
		h, err := jsonHashes(raw, field, lim)
		return Metadata{Present: true, Hashes: h}, err
	}
	return Metadata{}, invalidPage(field.String() + " is neither a boolean nor an object")
}

// addHash adds name=value to h, when name is a plausible hash name and value is hex,
// both lower-cased; a name already in h keeps its value. It returns h, made if nil.
func addHash(h map[string]string, name, value string) map[string]string {
	if !isHashName(name) || !isHex(value) {
		return h
	}
	name, value = strings.ToLower(name), strings.ToLower(value)
	if _, dup := h[name]; dup {
		return h
	}
	if h == nil {
		h = make(map[string]string, 1)
	}
	h[name] = value
	return h
}

func isHashName(s string) bool {
	if s == "" || len(s) > maxHashNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isASCIIAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// isHex reports whether s is a whole number of bytes in hexadecimal.
func isHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if hexValue(s[i]) < 0 {
			return false
		}
	}
	return true
}

// ParseHTML reads a PEP 503 project page. Every <a> element with an href is a file:
// its text (character references decoded, white space trimmed) is the filename, and
// the href's fragment, when it is <alg>=<hex> (several may be joined by '&'), gives
// its hashes; any other fragment is dropped. data-requires-python,
// data-yanked (present means yanked; its value is the reason), data-core-metadata
// and, when that is absent, data-dist-info-metadata ("true", or <alg>=<hex>; "false"
// means absent) fill the rest, and <meta name="pypi:repository-version"> the
// APIVersion. Anchors with no href, an empty href or no text are skipped.
//
// The page may be any bytes: tags and attribute names in any case, values quoted
// either way or not at all, unclosed elements, stray '<'. Comments, declarations and
// the contents of <script> and <style> are skipped. A page with more files than
// lim.MaxFiles, or a kept value longer than lim.MaxFieldBytes, is refused
// (ErrPageTooLarge); nothing else is.
func ParseHTML(body []byte, lim Limits) (*Project, error) {
	lim = lim.withDefaults()
	p := &Project{}
	var (
		open    bool // inside an <a> with an href
		cur     File
		text    []byte
		anchors int // <a> start tags seen, for error messages
	)
	finish := func() error {
		if !open {
			return nil
		}
		open = false
		name := trimSpace(decodeEntities(text))
		if name == "" {
			return nil
		}
		if len(name) > lim.MaxFieldBytes {
			return tooLarge(fmt.Sprintf("the text of anchor %d is longer than %d bytes", anchors, lim.MaxFieldBytes))
		}
		if len(p.Files) == lim.MaxFiles {
			return tooLarge(fmt.Sprintf("more than %d files", lim.MaxFiles))
		}
		cur.Filename = name
		p.Files = append(p.Files, cur)
		return nil
	}
	wanted := func(name []byte) []string {
		switch {
		case equalFold(name, "a"):
			return anchorAttrs[:]
		case equalFold(name, "meta"):
			return metaAttrs[:]
		}
		return nil
	}

	for i := 0; i < len(body); {
		lt := bytes.IndexByte(body[i:], '<')
		if lt < 0 {
			if open {
				text = append(text, body[i:]...)
			}
			break
		}
		if open {
			text = append(text, body[i:i+lt]...)
		}
		i += lt
		rest := body[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			i = skipComment(body, i)
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			i = skipPast(body, i+2, '>')
		case len(rest) > 1 && rest[1] == '/':
			var name []byte
			name, i = scanEndTag(body, i)
			if equalFold(name, "a") {
				if err := finish(); err != nil {
					return nil, err
				}
			}
		case len(rest) > 1 && isASCIILetter(rest[1]):
			var name []byte
			var attrs tagAttrs
			name, attrs, i = scanStartTag(body, i, wanted)
			switch {
			case equalFold(name, "a"):
				if err := finish(); err != nil {
					return nil, err
				}
				anchors++
				f, ok, err := anchorFile(&attrs, anchors, lim)
				if err != nil {
					return nil, err
				}
				open, cur, text = ok, f, text[:0]
			case equalFold(name, "meta"):
				if p.APIVersion == "" {
					v, err := repositoryVersion(&attrs, lim)
					if err != nil {
						return nil, err
					}
					p.APIVersion = v
				}
			case equalFold(name, "script"):
				i = skipRawText(body, i, "script")
			case equalFold(name, "style"):
				i = skipRawText(body, i, "style")
			}
		default:
			if open {
				text = append(text, '<')
			}
			i++
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// anchorAttrs are the attributes of <a> that ParseHTML reads; metaAttrs those of
// <meta>.
var (
	anchorAttrs = [...]string{"href", "data-requires-python", "data-yanked", "data-core-metadata", "data-dist-info-metadata"}
	metaAttrs   = [...]string{"name", "content"}
)

// anchorFile reads the attributes of the n-th <a>. ok is false when it has no
// usable href.
func anchorFile(attrs *tagAttrs, n int, lim Limits) (f File, ok bool, err error) {
	f.Size = -1
	var value [len(anchorAttrs)]string
	for k, name := range anchorAttrs {
		if !attrs.present[k] {
			continue
		}
		value[k] = decodeEntities(attrs.value[k])
		if len(value[k]) > lim.MaxFieldBytes {
			return File{}, false, tooLarge(fmt.Sprintf("the %s of anchor %d is longer than %d bytes", name, n, lim.MaxFieldBytes))
		}
	}
	if attrs.present[0] {
		href, frag, _ := strings.Cut(trimSpace(value[0]), "#")
		// Space before the fragment is not part of the URL either: a browser would
		// strip it with the fragment gone, and so does a second read of a rendering.
		href = trimSpace(href)
		f.URL, f.Hashes, ok = href, fragmentHashes(frag), href != ""
	}
	f.RequiresPython = value[1]
	f.Yanked, f.YankedReason = attrs.present[2], value[2]
	switch {
	case attrs.present[3]:
		f.CoreMetadata = metadataAttr(value[3])
	case attrs.present[4]:
		f.CoreMetadata = metadataAttr(value[4])
	}
	return f, ok, nil
}

// fragmentHashes reads "<alg>=<hex>" pieces of an href's fragment, joined by '&'.
func fragmentHashes(frag string) map[string]string {
	var h map[string]string
	for n := 0; frag != "" && n < maxHashes; n++ {
		var piece string
		piece, frag, _ = strings.Cut(frag, "&")
		if name, value, ok := strings.Cut(piece, "="); ok {
			h = addHash(h, name, value)
		}
	}
	return h
}

// metadataAttr reads a data-core-metadata or data-dist-info-metadata value.
func metadataAttr(s string) Metadata {
	s = trimSpace(s)
	if strings.EqualFold(s, "false") {
		return Metadata{}
	}
	m := Metadata{Present: true}
	if name, value, ok := strings.Cut(s, "="); ok {
		m.Hashes = addHash(nil, name, value)
	}
	return m
}

// repositoryVersion returns the content of <meta name="pypi:repository-version">,
// or "" for any other meta tag.
func repositoryVersion(attrs *tagAttrs, lim Limits) (string, error) {
	if !strings.EqualFold(trimSpace(decodeEntities(attrs.value[0])), "pypi:repository-version") {
		return "", nil
	}
	v := trimSpace(decodeEntities(attrs.value[1]))
	if len(v) > lim.MaxFieldBytes {
		return "", tooLarge(fmt.Sprintf("the repository version is longer than %d bytes", lim.MaxFieldBytes))
	}
	return v, nil
}

// RenderJSON writes p as a PEP 691 page, api-version APIVersion. Every file has
// filename, url, hashes (an object, possibly empty), yanked (false, true, or the
// reason when there is one), core-metadata and dist-info-metadata (false, true, or
// the metadata's hashes); requires-python, upload-time (UTC, to the microsecond) and
// size appear when set. versions is always written, [] when p has none. Hashes are
// written in name order, so equal projects give equal bytes.
func RenderJSON(p *Project) []byte {
	if p == nil {
		p = &Project{}
	}
	b := make([]byte, 0, 256+len(p.Files)*320)
	b = append(b, `{"meta":{"api-version":`...)
	b = appendJSONString(b, APIVersion)
	b = append(b, `},"name":`...)
	b = appendJSONString(b, p.Name)
	b = append(b, `,"files":[`...)
	for i := range p.Files {
		f := &p.Files[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"filename":`...)
		b = appendJSONString(b, f.Filename)
		b = append(b, `,"url":`...)
		b = appendJSONString(b, f.URL)
		b = append(b, `,"hashes":`...)
		b = appendJSONHashes(b, f.Hashes)
		if f.RequiresPython != "" {
			b = append(b, `,"requires-python":`...)
			b = appendJSONString(b, f.RequiresPython)
		}
		b = append(b, `,"yanked":`...)
		switch {
		case !f.Yanked:
			b = append(b, "false"...)
		case f.YankedReason == "":
			b = append(b, "true"...)
		default:
			b = appendJSONString(b, f.YankedReason)
		}
		if !f.UploadTime.IsZero() {
			b = append(b, `,"upload-time":"`...)
			b = f.UploadTime.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
			b = append(b, '"')
		}
		if f.Size >= 0 {
			b = append(b, `,"size":`...)
			b = strconv.AppendInt(b, f.Size, 10)
		}
		for _, key := range [...]string{`,"core-metadata":`, `,"dist-info-metadata":`} {
			b = append(b, key...)
			switch {
			case !f.CoreMetadata.Present:
				b = append(b, "false"...)
			case len(f.CoreMetadata.Hashes) == 0:
				b = append(b, "true"...)
			default:
				b = appendJSONHashes(b, f.CoreMetadata.Hashes)
			}
		}
		b = append(b, '}')
	}
	b = append(b, `],"versions":[`...)
	for i, v := range p.Versions {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	b = append(b, "]}"...)
	return b
}

func appendJSONHashes(b []byte, h map[string]string) []byte {
	b = append(b, '{')
	for i, k := range sortedKeys(h) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, h[k])
	}
	return append(b, '}')
}

func sortedKeys(h map[string]string) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, and
// U+2028 and U+2029 are escaped, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// hashPreference is the order a hash is picked in for an href's fragment: sha256
// (what installers check first), then the others, strongest first. Names not listed
// come after, in name order.
var hashPreference = [...]string{
	"sha256", "sha512", "sha3_512", "blake2b_512", "sha384", "sha3_384", "sha3_256",
	"blake2b_256", "sha224", "sha3_224", "sha1", "md5",
}

// pickHash returns the hash an HTML page carries for h, or false when h is empty.
func pickHash(h map[string]string) (name, value string, ok bool) {
	if len(h) == 0 {
		return "", "", false
	}
	for _, n := range hashPreference {
		if v, ok := h[n]; ok {
			return n, v, true
		}
	}
	n := sortedKeys(h)[0]
	return n, h[n], true
}

// RenderHTML writes p as a PEP 503 page for the project called name, with the
// repository version APIVersion. Each file is an <a> whose href is its URL with
// "#<alg>=<hex>" for one of its hashes (sha256 when there is one, else the strongest
// other), followed by data-requires-python, data-yanked (the reason, possibly
// empty), and data-core-metadata and data-dist-info-metadata ("<alg>=<hex>" picked
// the same way, or "true") where they apply; the text is the filename. Every value
// is HTML-escaped. A page can carry one hash per file and no upload time or size,
// so those are lost.
func RenderHTML(p *Project, name string) []byte {
	if p == nil {
		p = &Project{}
	}
	b := make([]byte, 0, 256+len(p.Files)*280)
	b = append(b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\""...)
	b = appendEscaped(b, APIVersion)
	b = append(b, "\">\n    <title>Links for "...)
	b = appendEscaped(b, name)
	b = append(b, "</title>\n  </head>\n  <body>\n    <h1>Links for "...)
	b = appendEscaped(b, name)
	b = append(b, "</h1>\n"...)
	for i := range p.Files {
		f := &p.Files[i]
		url, _, _ := strings.Cut(f.URL, "#")
		b = append(b, "    <a href=\""...)
		b = appendEscaped(b, url)
		if n, v, ok := pickHash(f.Hashes); ok {
			b = append(b, '#')
			b = appendEscaped(b, n)
			b = append(b, '=')
			b = appendEscaped(b, v)
		}
		b = append(b, '"')
		if f.RequiresPython != "" {
			b = append(b, " data-requires-python=\""...)
			b = appendEscaped(b, f.RequiresPython)
			b = append(b, '"')
		}
		if f.Yanked {
			b = append(b, " data-yanked=\""...)
			b = appendEscaped(b, f.YankedReason)
			b = append(b, '"')
		}
		if f.CoreMetadata.Present {
			for _, attr := range [...]string{" data-core-metadata=\"", " data-dist-info-metadata=\""} {
				b = append(b, attr...)
				if n, v, ok := pickHash(f.CoreMetadata.Hashes); ok {
					b = appendEscaped(b, n)
					b = append(b, '=')
					b = appendEscaped(b, v)
				} else {
					b = append(b, "true"...)
				}
				b = append(b, '"')
			}
		}
		b = append(b, '>')
		b = appendEscaped(b, f.Filename)
		b = append(b, "</a><br/>\n"...)
	}
	b = append(b, "  </body>\n</html>\n"...)
	return b
}
