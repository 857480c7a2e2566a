package egress

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceSameOrigin is RFC 6454's same-origin, written without the guard's helpers:
// scheme, host (case and a trailing dot aside; addresses compared as addresses) and
// port, a missing port read as the scheme's default.
func referenceSameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) (int, bool) {
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			return n, err == nil
		}
		switch strings.ToLower(u.Scheme) {
		case "http":
			return 80, true
		case "https":
			return 443, true
		}
		return 0, false
	}
	pa, okA := port(a)
	pb, okB := port(b)
	if !okA || !okB || pa != pb || !strings.EqualFold(a.Scheme, b.Scheme) {
		return false
	}
	ha, hb := a.Hostname(), b.Hostname()
	if x, err := netip.ParseAddr(ha); err == nil {
		y, err := netip.ParseAddr(hb)
		return err == nil && x == y
	}
	norm := func(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }
	return ha != "" && norm(ha) == norm(hb)
}

// FuzzCheckTarballURL feeds an upstream's tarball URL and the origin its document came
// from to the tarball policy, both ways (origin only, or any allowlisted host). A URL
// is admitted only when every URL check passes, https is never given up for http, and by
// default only on the document's own origin. A refusal is a *RefusedError with a reason,
// whose host is bounded and whose URL has no credentials, query or fragment left; and
// the clipping of URLs for logs keeps a valid UTF-8 prefix.
func FuzzCheckTarballURL(f *testing.F) {
	for _, tc := range hostileCases {
		f.Add(tc.rawURL(8080), "https://"+registryHost+"/")
	}
	for _, s := range []string{
		"https://registry.example.test/pkg/-/pkg-1.0.0.tgz", "https://REGISTRY.example.test./pkg/-/pkg-1.0.0.tgz",
		"https://registry.example.test:443/x.tgz", "https://registry.example.test:0443/x.tgz", "https://registry.example.test:00/x.tgz",
		"http://registry.example.test/x.tgz", "https://cdn.example.test/x.tgz", "https://u:secret-password@registry.example.test/x?token=secret-query#frag",
		"https://8.8.8.8/x.tgz", "https://[2606:4700::1111]:443/x.tgz", "ftp://registry.example.test/x", "https:opaque", "//registry.example.test/x",
		"https://registry.example.test/" + strings.Repeat("é", 300), strings.Repeat("a", maxLogged) + "é",
	} {
		f.Add(s, "https://"+registryHost+"/")
		f.Add(s, "")
	}
	f.Add("http://8.8.8.8/x", "http://8.8.8.8:80/")
	opts := Options{AllowedHosts: []string{registryHost, "cdn.example.test", "8.8.8.8", "2606:4700::1111"}, Logger: discardLogger}
	strict, err := New(opts)
	if err != nil {
		f.Fatal(err)
	}
	opts.RespectUpstreamTarballHost = true
	lenient, err := New(opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rawTarball, rawOrigin string) {
		tu, err := url.Parse(rawTarball)
		if err != nil {
			return
		}
		var origin *url.URL
		if rawOrigin != "" {
			if origin, err = url.Parse(rawOrigin); err != nil {
				return
			}
		}
		for _, g := range []*Guard{strict, lenient} {
			err := g.CheckTarballURL(tu, origin)
			if err == nil {
				if g.vetURL(tu) != "" {
					t.Fatalf("CheckTarballURL(%q) admitted a URL vetURL refuses", rawTarball)
				}
				if p := tu.Port(); p != "" {
					if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
						t.Fatalf("CheckTarballURL(%q) admitted port %q", rawTarball, p)
					}
				}
				if origin != nil && strings.EqualFold(origin.Scheme, "https") && !strings.EqualFold(tu.Scheme, "https") {
					t.Fatalf("CheckTarballURL(%q, %q) gave up https", rawTarball, rawOrigin)
				}
				if !g.respectTarballHost && (origin == nil || !referenceSameOrigin(tu, origin)) {
					t.Fatalf("CheckTarballURL(%q, %q) admitted another origin", rawTarball, rawOrigin)
				}
				continue
			}
			var re *RefusedError
			if !errors.As(err, &re) || re.Reason == "" || len(re.Host) > maxLogged+3 {
				t.Fatalf("CheckTarballURL(%q) = %#v", rawTarball, err)
			}
			checkRedacted(t, tu, re.URL)
		}
		checkRedacted(t, tu, redactURL(tu))
		checkClip(t, rawTarball)
	})
}

// checkClip checks the clipping helper used for hosts and URLs in errors and logs:
// unchanged when short, else a prefix of at most maxLogged bytes plus "...", and valid
// UTF-8 whenever the text is.
func checkClip(t *testing.T, s string) {
	t.Helper()
	c := clip(s)
	if len(s) <= maxLogged {
		if c != s {
			t.Fatalf("clip(%q) = %q, want it unchanged", s, c)
		}
		return
	}
	body, ok := strings.CutSuffix(c, "...")
	if !ok || len(body) > maxLogged {
		t.Fatalf("clip(%q) = %q", s, c)
	}
	if utf8.ValidString(s) && (!utf8.ValidString(c) || !strings.HasPrefix(s, body)) {
		t.Fatalf("clip(%q) = %q, want a valid UTF-8 prefix", s, c)
	}
}

// checkRedacted checks a URL rendered for a log or an error: bounded, and, when it was
// not cut short, free of userinfo, query and fragment.
func checkRedacted(t *testing.T, u *url.URL, got string) {
	t.Helper()
	if len(got) > maxLogged+3 {
		t.Fatalf("redacted URL of %q is %d bytes", u, len(got))
	}
	if strings.HasSuffix(got, "...") {
		return
	}
	back, err := url.Parse(got)
	if err != nil {
		return
	}
	if back.User != nil || back.RawQuery != "" || back.Fragment != "" || back.ForceQuery {
		t.Fatalf("redacted URL of %q is %q, which still carries userinfo, a query or a fragment", u, got)
	}
	if u.User == nil {
		return
	}
	if pw, ok := u.User.Password(); ok && len(pw) >= 8 && strings.Contains(got, pw) && !strings.Contains(u.Host+u.Path, pw) {
		t.Fatalf("redacted URL of %q is %q, which holds the password", u, got)
	}
}

// chunkReader hands out r at most n bytes at a time and counts what it gave.
type chunkReader struct {
	r     io.Reader
	n     int
	given int64
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.n > 0 && len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.given += int64(n)
	return n, err
}

func (c *chunkReader) Close() error { return nil }

// FuzzLimitReader reads a fuzzed body through LimitReader with a fuzzed limit and read
// sizes. A body within the limit reads whole and ends cleanly; a longer one yields
// exactly the limit and then a *TooLargeError naming it, again on every later read;
// a negative limit counts as zero.
func FuzzLimitReader(f *testing.F) {
	for _, tt := range []struct {
		n, max int64
	}{{0, 0}, {10, 10}, {11, 10}, {10, 11}, {5, -1}, {0, -1}, {1000, 999}} {
		f.Add(bytes.Repeat([]byte("x"), int(tt.n)), tt.max, uint8(3), uint8(7))
	}
	f.Add([]byte("abc"), int64(1<<62), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, limit int64, chunk, bufSize uint8) {
		src := &chunkReader{r: bytes.NewReader(body), n: int(chunk)}
		lr := LimitReader(src, limit)
		want := max(limit, 0)
		buf := make([]byte, int(bufSize)+1)
		var got []byte
		var err error
		for range len(body) + 64 {
			var n int
			n, err = lr.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if int64(len(body)) <= want {
			if !errors.Is(err, io.EOF) || !bytes.Equal(got, body) {
				t.Fatalf("LimitReader(%d) of %d bytes read %d bytes, %v", limit, len(body), len(got), err)
			}
			return
		}
		var tl *TooLargeError
		if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) || tl.Limit != want || !bytes.Equal(got, body[:want]) {
			t.Fatalf("LimitReader(%d) of %d bytes read %d bytes, %v", limit, len(body), len(got), err)
		}
		if n, again := lr.Read(buf); n != 0 || !errors.Is(again, ErrTooLarge) {
			t.Fatalf("LimitReader read again after the limit: %d, %v", n, again)
		}
		if src.given > want+1 {
			t.Fatalf("LimitReader(%d) took %d bytes from the body", limit, src.given)
		}
	})
}
