package pypi

import (
	"bytes"
	"unicode/utf8"
)

// This file is the small HTML scanner ParseHTML reads pages with. It is not an HTML
// parser: it finds tags, their attributes and the text between them, skips comments,
// declarations and the contents of <script> and <style> (as Python's html.parser,
// the one pip reads pages with, does), and decodes character references. Every
// function moves forward through its input, so a scan is linear in the page's size
// whatever the page holds.

// maxTagAttrs bounds the attributes a caller can ask scanStartTag for.
const maxTagAttrs = 8

// tagAttrs holds the attributes of a start tag that a caller asked for, by their
// index in its list of names: the value as written (character references not yet
// decoded, pointing into the page) and whether the tag has the attribute. When a tag
// repeats an attribute the first counts, as in HTML.
type tagAttrs struct {
	value   [maxTagAttrs][]byte
	present [maxTagAttrs]bool
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// equalFold reports whether b spells the lower-case ASCII word w, in any case.
func equalFold(b []byte, w string) bool {
	if len(b) != len(w) {
		return false
	}
	for i := range b {
		if lowerASCII(b[i]) != w[i] {
			return false
		}
	}
	return true
}

// scanStartTag reads the start tag at b[i] ('<' followed by a letter). It returns
// the tag's name, the attributes named by wanted(name) (lower-case, at most
// maxTagAttrs of them), and the index after the tag. A tag that runs to the end of
// the page ends there. Other attributes are passed over without being kept, so a
// tag with a million attributes costs no more memory than one with none.
func scanStartTag(b []byte, i int, wanted func(name []byte) []string) ([]byte, tagAttrs, int) {
	var attrs tagAttrs
	j := i + 1
	for j < len(b) && !isHTMLSpace(b[j]) && b[j] != '/' && b[j] != '>' {
		j++
	}
	name := b[i+1 : j]
	names := wanted(name)
	for {
		for j < len(b) && (isHTMLSpace(b[j]) || b[j] == '/') {
			j++
		}
		if j >= len(b) {
			return name, attrs, j
		}
		if b[j] == '>' {
			return name, attrs, j + 1
		}
		start := j
		j++ // an attribute name may start with '='
		for j < len(b) && !isHTMLSpace(b[j]) && b[j] != '/' && b[j] != '>' && b[j] != '=' {
			j++
		}
		attrName := b[start:j]
		var value []byte
		for j < len(b) && isHTMLSpace(b[j]) {
			j++
		}
		if j < len(b) && b[j] == '=' {
			j++
			for j < len(b) && isHTMLSpace(b[j]) {
				j++
			}
			switch {
			case j < len(b) && (b[j] == '"' || b[j] == '\''):
				q := b[j]
				k := bytes.IndexByte(b[j+1:], q)
				if k < 0 {
					value, j = b[j+1:], len(b)
				} else {
					value, j = b[j+1:j+1+k], j+2+k
				}
			default:
				v := j
				for j < len(b) && !isHTMLSpace(b[j]) && b[j] != '>' {
					j++
				}
				value = b[v:j]
			}
		}
		for k, n := range names {
			if equalFold(attrName, n) {
				if !attrs.present[k] {
					attrs.value[k], attrs.present[k] = value, true
				}
				break
			}
		}
	}
}

// scanEndTag reads the end tag at b[i] ("</"). It returns the tag's name (empty
// for a malformed one) and the index after its '>'.
func scanEndTag(b []byte, i int) ([]byte, int) {
	j := i + 2
	for j < len(b) && !isHTMLSpace(b[j]) && b[j] != '/' && b[j] != '>' {
		j++
	}
	name := b[i+2 : j]
	return name, skipPast(b, j, '>')
}

// skipPast returns the index after the first c at or after b[i], or len(b).
func skipPast(b []byte, i int, c byte) int {
	if k := bytes.IndexByte(b[i:], c); k >= 0 {
		return i + k + 1
	}
	return len(b)
}

// skipComment returns the index after the comment starting at b[i] ("<!--"). As
// in HTML, "<!-->" and "<!--->" are complete (empty) comments; an unclosed comment
// runs to the end of the page.
func skipComment(b []byte, i int) int {
	j := i + 4
	switch {
	case bytes.HasPrefix(b[j:], []byte(">")):
		return j + 1
	case bytes.HasPrefix(b[j:], []byte("->")):
		return j + 2
	}
	if k := bytes.Index(b[j:], []byte("-->")); k >= 0 {
		return j + k + 3
	}
	return len(b)
}

// skipRawText returns the index of the end tag "</name" (in any case) that closes
// a raw-text element whose content starts at b[i], or len(b) when there is none.
func skipRawText(b []byte, i int, name string) int {
	for {
		k := bytes.Index(b[i:], []byte("</"))
		if k < 0 {
			return len(b)
		}
		j := i + k
		n := j + 2 + len(name)
		if n <= len(b) && equalFold(b[j+2:n], name) && (n == len(b) || isHTMLSpace(b[n]) || b[n] == '/' || b[n] == '>') {
			return j
		}
		i = j + 2
	}
}

// namedEntities are the named character references decoded; each needs its ';'.
var namedEntities = [...]struct {
	name string
	r    rune
}{
	{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}, {"nbsp;", '\u00a0'},
}

// decodeEntities returns s with its character references decoded: the named ones
// above and numeric ones (&#39; &#x27;, the ';' optional). A numeric reference to
// NUL, a surrogate or past U+10FFFF becomes U+FFFD; anything else that is not a
// reference is kept as written.
func decodeEntities(s []byte) string {
	if bytes.IndexByte(s, '&') < 0 {
		return string(s)
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] != '&' {
			out = append(out, s[i])
			i++
			continue
		}
		r, n := entityAt(s[i:])
		if n == 0 {
			out = append(out, '&')
			i++
			continue
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return string(out)
}

// entityAt decodes the character reference at the start of s (s[0] is '&') and
// returns its rune and length, or a length of 0 when there is none.
func entityAt(s []byte) (rune, int) {
	if len(s) > 2 && s[1] == '#' {
		j, base := 2, int64(10)
		if s[j] == 'x' || s[j] == 'X' {
			j, base = 3, 16
		}
		start := j
		var v int64
		for ; j < len(s); j++ {
			d := hexValue(s[j])
			if d < 0 || d >= base {
				break
			}
			if v = v*base + d; v > utf8.MaxRune {
				v = utf8.MaxRune + 1
			}
		}
		if j == start {
			return 0, 0
		}
		if j < len(s) && s[j] == ';' {
			j++
		}
		r := rune(v)
		if r == 0 || r > utf8.MaxRune || 0xd800 <= r && r <= 0xdfff {
			r = utf8.RuneError
		}
		return r, j
	}
	for _, e := range namedEntities {
		if bytes.HasPrefix(s[1:], []byte(e.name)) {
			return e.r, 1 + len(e.name)
		}
	}
	return 0, 0
}

// hexValue returns the value of a hexadecimal digit, or -1.
func hexValue(c byte) int64 {
	switch {
	case '0' <= c && c <= '9':
		return int64(c - '0')
	case 'a' <= c && c <= 'f':
		return int64(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int64(c-'A') + 10
	}
	return -1
}

// appendEscaped appends s escaped for HTML text or a quoted attribute value.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '"':
			b = append(b, "&quot;"...)
		case '\'':
			b = append(b, "&#39;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}
