package mirror

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // npm's legacy dist.shasum is SHA-1; it is filled in, never trusted
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"golang.org/x/crypto/blake2b"

	"github.com/ecluse/ecluse/internal/npm"
)

// digester checks bytes against the strongest digest of an SRI string that it can
// compute.
type digester struct {
	alg  npm.Algorithm
	h    hash.Hash
	want []byte
}

// newDigester picks the strongest well-formed sha512, sha384, sha256 or blake2b digest
// of integrity. It fails when there is none.
func newDigester(integrity string) (*digester, error) {
	var best *digester
	for _, d := range npm.ParseSRI(integrity) {
		h := newHash(d.Algorithm)
		if h == nil {
			continue
		}
		want, err := base64.StdEncoding.DecodeString(d.Value)
		if err != nil || len(want) != h.Size() {
			continue
		}
		if best == nil || d.Algorithm.Strength() > best.alg.Strength() ||
			(d.Algorithm.Strength() == best.alg.Strength() && d.Algorithm < best.alg) {
			best = &digester{alg: d.Algorithm, h: h, want: want}
		}
	}
	if best == nil {
		return nil, errors.New("has no well-formed sha512, sha384, sha256 or blake2b digest")
	}
	return best, nil
}

func newHash(a npm.Algorithm) hash.Hash {
	switch a {
	case npm.SHA512:
		return sha512.New()
	case npm.SHA384:
		return sha512.New384()
	case npm.SHA256:
		return sha256.New()
	case npm.BLAKE2b:
		h, _ := blake2b.New512(nil) // never fails without a key
		return h
	}
	return nil
}

func (d *digester) matches() bool {
	return subtle.ConstantTimeCompare(d.h.Sum(nil), d.want) == 1
}

// Match is how two SRI strings relate.
type Match uint8

const (
	// MatchUnknown: the strings share no well-formed digest algorithm, so nothing can
	// be said.
	MatchUnknown Match = iota
	// MatchSame: every algorithm both carry has equal digests (and there is one).
	MatchSame
	// MatchDifferent: some algorithm both carry has different digests.
	MatchDifferent
)

// CompareIntegrity compares two SRI strings digest by digest (npm's dist.integrity may
// list several). Text that is not a well-formed digest is ignored.
func CompareIntegrity(a, b string) Match {
	da, db := npm.ParseSRI(a), npm.ParseSRI(b)
	m := MatchUnknown
	for _, x := range da {
		for _, y := range db {
			if x.Algorithm != y.Algorithm {
				continue
			}
			if x.Value != y.Value {
				return MatchDifferent
			}
			m = MatchSame
		}
	}
	return m
}

// Tarball is a verified artifact, ready to publish.
type Tarball struct {
	// Body reads the verified bytes; it may be read more than once, from any offset.
	Body io.ReaderAt
	// Size is its length in bytes.
	Size int64
	// SHA1 is its SHA-1 in lower-case hex: npm's legacy dist.shasum, which some
	// registries (Verdaccio) check against the manifest.
	SHA1 string
}

// spool holds a tarball while its integrity is checked and it is published: in memory
// up to a threshold, in a temporary file past it. close releases it.
type spool struct {
	mem  []byte
	file *os.File
	size int64
	sha1 string
}

// spoolVerified copies r into a spool, at most max bytes, checking the bytes against
// integrity as they stream. A body of more than memMax bytes goes to a temporary file in
// dir ("" means os.TempDir()): from the start when its announced size (-1 when unknown)
// says so, else from the byte that passes memMax. A mismatch is a permanent *Error with
// ReasonIntegrity; a body over max one with ReasonTooLarge. progress is called with
// each chunk's length.
func spoolVerified(r io.Reader, size int64, integrity string, max, memMax int64, dir string, progress func(int)) (*spool, error) {
	dg, err := newDigester(integrity)
	if err != nil {
		return nil, permanent("fetch", ReasonIntegrity, fmt.Errorf("integrity %w", err))
	}
	sum1 := sha1.New() //nolint:gosec // see the import
	s := &spool{}
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	var w io.Writer = &buf
	fail := func(e error) (*spool, error) {
		s.close()
		return nil, e
	}
	switch {
	case size > memMax:
		f, err := createSpool(dir)
		if err != nil {
			return fail(err)
		}
		s.file, w = f, f
	case size > 0:
		buf.Grow(int(size))
	}
	for {
		n, rerr := r.Read(chunk)
		if n > 0 {
			if s.size+int64(n) > max {
				return fail(permanent("fetch", ReasonTooLarge, fmt.Errorf("tarball is larger than %d bytes", max)))
			}
			p := chunk[:n]
			dg.h.Write(p)
			sum1.Write(p)
			if s.file == nil && int64(buf.Len()+n) > memMax {
				f, err := createSpool(dir)
				if err != nil {
					return fail(err)
				}
				s.file = f
				if _, err := f.Write(buf.Bytes()); err != nil {
					return fail(transient("fetch", ReasonLocal, fmt.Errorf("spool: %w", err)))
				}
				buf = bytes.Buffer{}
				w = f
			}
			if _, err := w.Write(p); err != nil {
				return fail(transient("fetch", ReasonLocal, fmt.Errorf("spool: %w", err)))
			}
			s.size += int64(n)
			if progress != nil {
				progress(n)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return fail(classifyRead(rerr))
		}
	}
	if !dg.matches() {
		return fail(permanent("fetch", ReasonIntegrity, fmt.Errorf("tarball does not match its %s digest", dg.alg)))
	}
	s.sha1 = hex.EncodeToString(sum1.Sum(nil))
	if s.file == nil {
		s.mem = buf.Bytes()
	}
	return s, nil
}

// createSpool opens a temporary file for a tarball.
func createSpool(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, "ecluse-mirror-*.tgz")
	if err != nil {
		return nil, transient("fetch", ReasonLocal, fmt.Errorf("spool: %w", err))
	}
	// The name is not needed once the file is open: unlink it now (where the system
	// allows) so that nothing is left behind whatever happens next.
	_ = os.Remove(f.Name())
	return f, nil
}

// tarball returns the spool as a Tarball.
func (s *spool) tarball() Tarball {
	var body io.ReaderAt = bytes.NewReader(s.mem)
	if s.file != nil {
		body = s.file
	}
	return Tarball{Body: body, Size: s.size, SHA1: s.sha1}
}

func (s *spool) close() {
	if s.file != nil {
		name := s.file.Name()
		_ = s.file.Close()
		_ = os.Remove(name) // already gone where unlinking an open file works
		s.file = nil
	}
	s.mem = nil
}
