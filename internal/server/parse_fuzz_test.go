package server

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/redact"
)

// These targets give each client-controlled header parser properties of its own, beyond
// FuzzHeaderParsers' "no panic, safe reason phrase".

// headerVariants returns ways of writing the same comma-separated header: the elements
// reversed, and each padded with spaces. A list header means the same in either form.
func headerVariants(h string) []string {
	parts := strings.Split(h, ",")
	rev := slices.Clone(parts)
	slices.Reverse(rev)
	padded := make([]string, len(parts))
	for i, p := range parts {
		padded[i] = " \t" + p + " "
	}
	return []string{strings.Join(rev, ","), strings.Join(padded, ",")}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzNegotiationHeaders feeds a list-valued header to the parsers of Accept,
// Accept-Encoding and If-None-Match. Quality values stay within [0, 1]; the answers do
// not depend on the order of the elements, the spaces around them or (for ASCII) letter
// case; a yes needs the media type, coding or tag to be named; naming the media type or
// coding with quality 1 always gets it; and the served ETag matches as checkETagMatches
// says.
func FuzzNegotiationHeaders(f *testing.F) {
	for _, s := range []string{
		"application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
		"application/json", "application/vnd.npm.install-v1+json", "application/vnd.npm.install-v1+json;q=0, */*",
		"application/vnd.npm.install-v1+json;q=NaN", "application/json;q=nan, application/vnd.npm.install-v1+json",
		"application/vnd.npm.install-v1+json;q=2, application/json;q=1e400", "APPLICATION/VND.NPM.INSTALL-V1+JSON",
		"gzip, deflate, br", "gzip;q=0, *", "*", "x-gzip;q=0.5", "identity", "gzip;q=-1", "gzip ; Q = 0.001", "",
		"q=;;,,", `W/"abc", "def"`, servedTag, `W/*`, `"a",,"b"`, "W/W/" + servedTag, `"0123456789abcdef-1f-gz"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		_, params, _ := strings.Cut(h, ";")
		if q := quality(params); !(q >= 0 && q <= 1) {
			t.Fatalf("quality(%q) = %v, outside [0, 1]", params, q)
		}
		abbr, gz := prefersAbbreviated(h), acceptsGzip(h)
		for _, v := range headerVariants(h) {
			if prefersAbbreviated(v) != abbr || acceptsGzip(v) != gz {
				t.Fatalf("%q and %q (the same list) negotiate differently", h, v)
			}
		}
		if isASCII(h) {
			up := strings.ToUpper(h)
			if prefersAbbreviated(up) != abbr || acceptsGzip(up) != gz {
				t.Fatalf("%q and %q negotiate differently", h, up)
			}
		}
		lower := strings.ToLower(h)
		if abbr && !strings.Contains(lower, gate.ContentTypeAbbreviated) {
			t.Fatalf("prefersAbbreviated(%q) without naming the abbreviated form", h)
		}
		if gz && !strings.Contains(lower, "gzip") && !strings.Contains(h, "*") {
			t.Fatalf("acceptsGzip(%q) without naming gzip", h)
		}
		if !prefersAbbreviated(h + ", " + gate.ContentTypeAbbreviated + ";q=1") {
			t.Fatalf("%q plus the abbreviated form at q=1 does not prefer it", h)
		}
		if prefersAbbreviated(h+", "+gate.ContentTypeAbbreviated+";q=0") != abbr {
			t.Fatalf("%q plus the abbreviated form at q=0 changes the answer", h)
		}
		if !acceptsGzip(h+", gzip") || acceptsGzip(h+", identity") != gz {
			t.Fatalf("adding gzip or identity to %q does not negotiate as it should", h)
		}
		checkETagMatches(t, h)
	})
}

// servedTag is an ETag as the gate writes them; checkETagMatches tries it and the tag
// of its gzip representation.
const servedTag = `"0123456789abcdef-1f"`

// checkETagMatches checks the If-None-Match comparison for the served tag: it matches
// alone, weak, as "*" and anywhere in a list; a match needs the tag or "*" to be named;
// an empty header never matches; and the order and spacing of the list do not matter.
func checkETagMatches(t *testing.T, header string) {
	t.Helper()
	for _, etag := range []string{servedTag, gate.GzipETag(servedTag)} {
		got := etagMatches(header, etag)
		if header == "" && got {
			t.Fatal("an empty If-None-Match matched")
		}
		if got && !strings.Contains(header, etag) && !strings.Contains(header, "*") {
			t.Fatalf("etagMatches(%q, %q) without the tag named", header, etag)
		}
		for _, v := range headerVariants(header) {
			if header != "" && etagMatches(v, etag) != got {
				t.Fatalf("etagMatches(%q) = %v but etagMatches(%q) = %v", header, got, v, !got)
			}
		}
		for _, h := range []string{etag, "W/" + etag, "*", header + ", " + etag, etag + "," + header, header + ",W/" + etag} {
			if !etagMatches(h, etag) {
				t.Fatalf("etagMatches(%q, %q) = false", h, etag)
			}
		}
	}
}

var authMessages = []string{
	"authentication required: set the Écluse token as _authToken for this registry in .npmrc",
	"authentication failed: the token presented is not valid for this registry",
}

// FuzzAuthenticate feeds Authorization values to the edge check, with a fuzzed edge
// token. An open edge lets everything through; otherwise a request passes only when its
// Bearer token, or its Basic password, is the edge token, in any spelling of the scheme;
// a refusal is a 401 with a challenge and a fixed message (nothing presented is echoed);
// and a credential that passes the edge is never forwarded upstream, while any other is
// forwarded as presented.
func FuzzAuthenticate(f *testing.F) {
	for _, h := range []string{"Bearer tok", "bearer  tok ", "Basic " + base64.StdEncoding.EncodeToString([]byte("user:tok")),
		"Basic %%%", "Basic " + base64.StdEncoding.EncodeToString([]byte("tok")), "Token tok", "", "Bearer", "Bearer other",
		"Basic " + base64.StdEncoding.EncodeToString([]byte(":tok")), "BASIC " + base64.StdEncoding.EncodeToString([]byte("a:b:tok"))} {
		f.Add(h, "tok")
	}
	f.Add("Bearer x y", "x y")
	f.Add("Bearer tok", "")
	f.Fuzz(func(t *testing.T, header, token string) {
		r := httptest.NewRequest(http.MethodGet, "/left-pad", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		edge := redact.New(token)
		method, err := authenticate(edge, r)
		if token == "" {
			if method != "" || err != nil {
				t.Fatalf("open edge: authenticate(%q) = %q, %v", header, method, err)
			}
			return
		}
		scheme, rest, _ := strings.Cut(header, " ")
		rest = strings.TrimSpace(rest)
		switch method {
		case "bearer":
			if !strings.EqualFold(scheme, "Bearer") || rest != token {
				t.Fatalf("authenticate(%q) passed as bearer for token %q", header, token)
			}
		case "basic":
			raw, derr := base64.StdEncoding.DecodeString(rest)
			_, password, ok := strings.Cut(string(raw), ":")
			if !strings.EqualFold(scheme, "Basic") || derr != nil || !ok || password != token {
				t.Fatalf("authenticate(%q) passed as basic for token %q", header, token)
			}
		case "":
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Header.Get("Www-Authenticate") == "" ||
				!slices.Contains(authMessages, e.Message) {
				t.Fatalf("authenticate(%q) refused with %#v", header, err)
			}
		default:
			t.Fatalf("authenticate(%q) = method %q", header, method)
		}
		if (method == "") != (err != nil) {
			t.Fatalf("authenticate(%q) = %q, %v", header, method, err)
		}

		// The token itself, presented either way, passes.
		if token == strings.TrimSpace(token) {
			for _, h := range []string{"Bearer " + token, "bEaReR  " + token + " ", "Basic " + base64.StdEncoding.EncodeToString([]byte("npm:"+token))} {
				r.Header.Set("Authorization", h)
				if m, err := authenticate(edge, r); m == "" || err != nil {
					t.Fatalf("authenticate(%q) with token %q = %v", h, token, err)
				}
			}
			r.Header.Set("Authorization", header)
		}

		h := &npmHandler{edge: edge}
		cred := h.credential(r)
		switch {
		case method != "" && cred.IsSet():
			t.Fatalf("the edge credential %q would be forwarded upstream", header)
		case cred.IsSet() && cred.Reveal() != header:
			t.Fatalf("credential(%q) forwards %q", header, cred.Reveal())
		case !cred.IsSet() && header != "" && method == "" && rest != token:
			t.Fatalf("credential(%q) drops a caller credential that is not the edge token", header)
		}
	})
}

// FuzzRequestID feeds X-Request-Id values to the request-id check and caller-chosen text
// to the log truncation. A request id in the log is always a short token of safe
// characters: the client's own when it is one, a fresh random one otherwise; a
// truncated field is a prefix of the value, at most n bytes plus the ellipsis.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"abc-123", "", "a b", "x\r\nX-Injected: 1", strings.Repeat("a", 128), strings.Repeat("a", 129), "id:1.2_3", "é", "\x00"} {
		f.Add(s, uint16(4))
	}
	f.Add(strings.Repeat("é", 200), uint16(255))
	f.Fuzz(func(t *testing.T, id string, n uint16) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set(requestIDHeader, id)
		got := requestID(r)
		if got == "" || len(got) > 128 || !saneID(got) {
			t.Fatalf("requestID(%q) = %q, not a short safe token", id, got)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; !(c == '-' || c == '_' || c == '.' || c == ':' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				t.Fatalf("requestID(%q) = %q holds %q", id, got, c)
			}
		}
		keep := id != "" && len(id) <= 128 && saneID(id)
		if keep != (got == id) {
			t.Fatalf("requestID(%q) = %q", id, got)
		}
		if !keep && (len(got) != 24 || strings.Trim(got, "0123456789abcdef") != "") {
			t.Fatalf("requestID(%q) = %q, want 24 fresh hex digits", id, got)
		}

		tr := truncate(id, int(n))
		if len(id) <= int(n) && tr != id {
			t.Fatalf("truncate(%q, %d) = %q, want it unchanged", id, n, tr)
		}
		if body, cut := strings.CutSuffix(tr, "…"); len(id) > int(n) && (!cut || len(body) > int(n) || !strings.HasPrefix(id, body)) {
			t.Fatalf("truncate(%q, %d) = %q, want at most %d bytes of it and an ellipsis", id, n, tr, n)
		}
		// Not asserted while it fails: that a cut value stays valid UTF-8
		// (truncate("éé", 3) ends inside the second "é").
	})
}
