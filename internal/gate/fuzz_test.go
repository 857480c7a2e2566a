package gate

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/ecluse/ecluse/internal/npm"
)

// stutterReader hands out r at most n bytes at a time, with io.EOF on the last bytes
// when eofWithData is set.
type stutterReader struct {
	r           *bytes.Reader
	n           int
	eofWithData bool
}

func (s *stutterReader) Read(p []byte) (int, error) {
	if s.n > 0 && len(p) > s.n {
		p = p[:s.n]
	}
	n, err := s.r.Read(p)
	if err == nil && s.eofWithData && s.r.Len() == 0 {
		err = io.EOF
	}
	return n, err
}

func (s *stutterReader) Close() error { return nil }

// hashOf returns the digest of b under an SRI algorithm name.
func hashOf(name string, b []byte) []byte {
	var h hash.Hash
	switch name {
	case "sha256":
		h = sha256.New()
	case "sha384":
		h = sha512.New384()
	case "sha512":
		h = sha512.New()
	default:
		h, _ = blake2b.New512(nil)
	}
	h.Write(b)
	return h.Sum(nil)
}

// digestOf returns the SRI entry for b under one of the four algorithms.
func digestOf(alg uint8, b []byte) string {
	name := []string{"sha256", "sha384", "sha512", "blake2b"}[alg%4]
	return name + "-" + base64.StdEncoding.EncodeToString(hashOf(name, b))
}

// FuzzVerifyingBody streams a fuzzed tarball through the integrity check, with an SRI
// string made of fuzzed entries and a digest of the body (or of something else), in
// fuzzed read sizes. A verifier exists exactly when the SRI string has a well-formed
// digest; the consumer receives the whole body, then io.EOF, only when the strongest
// digest matches it, and otherwise never its last byte and ErrIntegrityMismatch, again
// on every later read; the verdict is reported once.
func FuzzVerifyingBody(f *testing.F) {
	tgz := bytes.Repeat([]byte("tarball bytes "), 40)
	for alg := range uint8(4) {
		f.Add(tgz, "", alg, false, uint8(0), uint8(7), false)
		f.Add(tgz, "", alg, true, uint8(1), uint8(0), true)
	}
	f.Add([]byte{}, "", uint8(2), false, uint8(0), uint8(0), false)
	f.Add([]byte{}, "", uint8(2), true, uint8(0), uint8(0), true)
	f.Add([]byte("x"), "", uint8(0), true, uint8(1), uint8(0), false)
	f.Add(tgz, "sha1-"+base64.StdEncoding.EncodeToString(make([]byte, 20))+" md5-x", uint8(2), false, uint8(3), uint8(1), false)
	f.Add(tgz, "sha512-"+base64.StdEncoding.EncodeToString(make([]byte, 64)), uint8(0), false, uint8(5), uint8(2), true)
	f.Fuzz(func(t *testing.T, body []byte, extra string, alg uint8, wrong bool, chunk, bufSize uint8, eofWithData bool) {
		signed := body
		if wrong {
			signed = append(bytes.Clone(body), 0)
		}
		integrity := extra + " " + digestOf(alg, signed)
		v, err := newVerifier(integrity)
		digests := npm.ParseSRI(integrity)
		if err != nil || v == nil {
			t.Fatalf("newVerifier(%q) = %v, %v with %d well-formed digests", integrity, v, err, len(digests))
		}
		if _, err := newVerifier(extra); (err == nil) != (len(npm.ParseSRI(extra)) > 0) {
			t.Fatalf("newVerifier(%q) = %v with %d well-formed digests", extra, err, len(npm.ParseSRI(extra)))
		}
		// The reference verdict: the first of the strongest well-formed digests decides.
		var best *npm.Digest
		for i := range digests {
			if best == nil || digests[i].Algorithm.Size() > best.Algorithm.Size() {
				best = &digests[i]
			}
		}
		want, err := base64.StdEncoding.DecodeString(best.Value)
		if err != nil {
			t.Fatalf("ParseSRI(%q) returned the undecodable digest %q", integrity, best.Value)
		}
		wantOK := bytes.Equal(hashOf(best.Algorithm.String(), body), want)

		verdicts := 0
		var verdict bool
		vb := &verifyingBody{
			body:     &stutterReader{r: bytes.NewReader(body), n: int(chunk), eofWithData: eofWithData},
			verifier: v,
			onDone:   func(ok bool) { verdicts++; verdict = ok },
		}
		buf := make([]byte, int(bufSize)+1)
		var got []byte
		for i := 0; ; i++ {
			if i > 4*len(body)+16 {
				t.Fatalf("reading %d bytes made no progress after %d reads", len(body), i)
			}
			n, err := vb.Read(buf)
			got = append(got, buf[:n]...)
			if err == nil {
				continue
			}
			if wantOK {
				if !errors.Is(err, io.EOF) || !bytes.Equal(got, body) {
					t.Fatalf("matching digest: read %d of %d bytes, then %v", len(got), len(body), err)
				}
			} else {
				if !errors.Is(err, ErrIntegrityMismatch) || len(body) > 0 && len(got) >= len(body) || !bytes.HasPrefix(body, got) {
					t.Fatalf("mismatching digest: read %d of %d bytes, then %v", len(got), len(body), err)
				}
			}
			break
		}
		if n, err := vb.Read(buf); n != 0 || wantOK != errors.Is(err, io.EOF) || !wantOK != errors.Is(err, ErrIntegrityMismatch) {
			t.Fatalf("a read after the end = %d, %v", n, err)
		}
		if verdicts != 1 || verdict != wantOK {
			t.Fatalf("onDone called %d times with %v, want once with %v", verdicts, verdict, wantOK)
		}
	})
}

// FuzzPrivateTarballURL feeds the private registry's own tarball URLs to the check that
// decides whether to fetch them as written, with the caller's credential. A URL is kept
// only when it carries no userinfo and names exactly the private registry's scheme and
// host (port included), so the credential never goes anywhere else.
func FuzzPrivateTarballURL(f *testing.F) {
	bases := []string{"https://private.example.test/npm/", "http://private.example.test:4874/", "https://[2001:db8::1]:8443/"}
	for _, s := range []string{
		"https://private.example.test/npm/left-pad/-/left-pad-1.0.0.tgz", "HTTPS://PRIVATE.EXAMPLE.TEST/x.tgz",
		"https://private.example.test:443/x.tgz", "https://user:pw@private.example.test/x.tgz", "https://private.example.test.evil.example/x",
		"https://private.example.test@evil.example/x", "//private.example.test/x", "https:private.example.test", "",
		"http://private.example.test:4874/x", "https://[2001:db8::1]:8443/x", "https://evil.example/private.example.test/x",
	} {
		for i := range bases {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, raw string, which uint8) {
		base, err := url.Parse(bases[int(which)%len(bases)])
		if err != nil {
			t.Fatal(err)
		}
		u := sameOrigin(raw, base)
		if u == nil {
			return
		}
		if u.User != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Hostname(), base.Hostname()) ||
			u.Port() != base.Port() || u.Opaque != "" {
			t.Fatalf("sameOrigin(%q, %q) = %#v, another origin", raw, base, u)
		}
		if again, err := url.Parse(u.String()); err != nil || !strings.EqualFold(again.Host, base.Host) || again.User != nil {
			t.Fatalf("sameOrigin(%q, %q) = %q, which requests another host: %v", raw, base, u, err)
		}
	})
}
