package pypi

import "strings"

// offers are the forms a project page can be served in, in the order explicit ties
// are broken.
var offers = [...]string{ContentTypeJSON, ContentTypeHTMLv1, ContentTypeHTML}

// How precisely a media range names an offer.
const (
	rangeNone     = -1 // does not match it
	rangeAny      = 0  // */*
	rangeType     = 1  // application/* or text/*
	rangeExplicit = 2  // its full name
)

// Negotiate picks the form of a project page for a request's Accept header: one of
// ContentTypeJSON, ContentTypeHTMLv1 and ContentTypeHTML. ok is false when the
// header accepts none of them (the server answers 406 Not Acceptable).
//
// Each offer takes the q-value of the most specific media range that matches it
// (its full name, then type/*, then */*; case does not matter; parameters other
// than q are ignored); q=0 refuses it. The highest q wins. Among offers tied at that
// q, one the header named (in full or by type/*) beats one only */* reached, and
// named ones go in the order JSON, HTMLv1, HTML, so a client that lists the JSON
// form beside the HTML ones at the same q gets JSON.
//
// When only */* reached the tied offers, the HTML forms win, text/html first. This
// is what the public index does for "Accept: */*" (it offers text/html first and
// keeps that order on ties), and it suits the clients that send it: tools written
// before PEP 691, which read only the HTML form. An empty header, or one in which no
// media range can be read, gets ContentTypeHTML, as the PEP recommends.
func Negotiate(accept string) (contentType string, ok bool) {
	if trimSpace(accept) == "" {
		return ContentTypeHTML, true
	}
	var q, spec [len(offers)]int
	for k := range spec {
		spec[k] = rangeNone
	}
	readable := false
	for rest := accept; rest != ""; {
		var r string
		r, rest, _ = cutOutsideQuotes(rest, ',')
		typ, sub, qv, ok := parseMediaRange(r)
		if !ok {
			continue
		}
		readable = true
		for k, o := range offers {
			if s := rangeMatch(typ, sub, o); s > spec[k] {
				spec[k], q[k] = s, qv
			}
		}
	}
	if !readable {
		return ContentTypeHTML, true
	}
	best, bestQ, bestSpec := -1, 0, rangeNone
	for k := range offers {
		if spec[k] == rangeNone || q[k] == 0 {
			continue
		}
		switch {
		case best < 0 || q[k] > bestQ:
		case q[k] < bestQ:
			continue
		case bestSpec != rangeAny:
			// A tie. Offers are visited in tie order, so a named best stays; a best
			// that only */* reached gives way to a named offer, or to a later
			// (HTML) one that */* reached too.
			continue
		}
		best, bestQ, bestSpec = k, q[k], spec[k]
	}
	if best < 0 {
		return "", false
	}
	return offers[best], true
}

// rangeMatch says how precisely the media range typ/sub names offer.
func rangeMatch(typ, sub, offer string) int {
	otyp, osub, _ := strings.Cut(offer, "/")
	switch {
	case typ == "*" && sub == "*":
		return rangeAny
	case !strings.EqualFold(typ, otyp):
		return rangeNone
	case sub == "*":
		return rangeType
	case strings.EqualFold(sub, osub):
		return rangeExplicit
	}
	return rangeNone
}

// parseMediaRange reads one media range of an Accept header: its type, subtype and
// q-value in thousandths (1000 when absent). ok is false for a range that cannot
// be read (no '/', "*/x", a malformed q).
func parseMediaRange(r string) (typ, sub string, q int, ok bool) {
	mediaType, params, _ := cutOutsideQuotes(r, ';')
	typ, sub, found := strings.Cut(trimSpace(mediaType), "/")
	typ, sub = trimSpace(typ), trimSpace(sub)
	if !found || typ == "" || sub == "" || typ == "*" && sub != "*" {
		return "", "", 0, false
	}
	q = 1000
	for params != "" {
		var p string
		p, params, _ = cutOutsideQuotes(params, ';')
		name, value, _ := strings.Cut(p, "=")
		if !strings.EqualFold(trimSpace(name), "q") {
			continue
		}
		if q, ok = parseQValue(trimSpace(value)); !ok {
			return "", "", 0, false
		}
		break // what follows q are extensions, not media type parameters
	}
	return typ, sub, q, true
}

// parseQValue reads an HTTP q-value ("0", "0.5", "1.000") in thousandths.
func parseQValue(s string) (int, bool) {
	if s == "" || s[0] != '0' && s[0] != '1' {
		return 0, false
	}
	whole := int(s[0] - '0')
	if len(s) == 1 {
		return whole * 1000, true
	}
	if s[1] != '.' || len(s) > 5 {
		return 0, false
	}
	frac, scale := 0, 100
	for i := 2; i < len(s); i++ {
		if !isASCIIDigit(s[i]) {
			return 0, false
		}
		frac += int(s[i]-'0') * scale
		scale /= 10
	}
	if whole == 1 && frac != 0 {
		return 0, false
	}
	return whole*1000 + frac, true
}

// cutOutsideQuotes cuts s at the first sep that is not inside a quoted string.
func cutOutsideQuotes(s string, sep byte) (before, after string, found bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
