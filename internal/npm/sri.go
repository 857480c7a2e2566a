package npm

import "strings"

// Algorithm is an integrity digest algorithm the SRI parser recognises. The zero value,
// AlgorithmNone, means "no recognised algorithm".
type Algorithm uint8

// The recognised algorithms. Anything else (sha1, md5, future names) is ignored by the
// parser, which is what the integrity floor wants: an unknown digest proves nothing.
const (
	AlgorithmNone Algorithm = iota
	SHA256
	SHA384
	SHA512
	// BLAKE2b is BLAKE2b-512 (a 64-byte digest).
	BLAKE2b
)

// ParseAlgorithm maps an SRI algorithm name ("sha512") to its Algorithm. Names are
// matched as npm's own client matches them: lower case only. An unrecognised name gives
// AlgorithmNone.
func ParseAlgorithm(name string) Algorithm {
	switch name {
	case "sha256":
		return SHA256
	case "sha384":
		return SHA384
	case "sha512":
		return SHA512
	case "blake2b":
		return BLAKE2b
	}
	return AlgorithmNone
}

// String returns the SRI spelling of a, or "" for AlgorithmNone.
func (a Algorithm) String() string {
	switch a {
	case SHA256:
		return "sha256"
	case SHA384:
		return "sha384"
	case SHA512:
		return "sha512"
	case BLAKE2b:
		return "blake2b"
	}
	return ""
}

// Size is the length in bytes of a digest of this algorithm; 0 for AlgorithmNone.
func (a Algorithm) Size() int {
	switch a {
	case SHA256:
		return 32
	case SHA384:
		return 48
	case SHA512, BLAKE2b:
		return 64
	}
	return 0
}

// Strength orders algorithms for the integrity floor: the digest size in bits, so
// sha256 < sha384 < sha512 and blake2b ranks equal with sha512. AlgorithmNone is 0.
func (a Algorithm) Strength() int { return a.Size() * 8 }

// AtLeast reports whether a is at least as strong as floor. AlgorithmNone never is.
func (a Algorithm) AtLeast(floor Algorithm) bool {
	return a != AlgorithmNone && a.Strength() >= floor.Strength()
}

// stronger reports whether a should be preferred over b: greater strength first, and on
// a tie the lower constant (sha512 before blake2b), so the answer does not depend on the
// order the digests were written in.
func (a Algorithm) stronger(b Algorithm) bool {
	if a.Strength() != b.Strength() {
		return a.Strength() > b.Strength()
	}
	return a != AlgorithmNone && (b == AlgorithmNone || a < b)
}

// Digest is one well-formed entry of an SRI string.
type Digest struct {
	// Algorithm is never AlgorithmNone in a Digest returned by ParseSRI.
	Algorithm Algorithm
	// Value is the digest in standard padded base64, as written. It decodes to exactly
	// Algorithm.Size() bytes.
	Value string
	// Options is whatever followed a "?" in the entry, without the "?". Empty means none.
	Options string
}

// ParseSRI returns the well-formed digests of an SRI string (space-separated
// "alg-base64[?options]" entries), in the order written. An entry whose algorithm is not
// recognised, or whose value does not decode as padded standard base64 to exactly the
// algorithm's digest size, is left out: for the integrity floor it counts as absent.
// The result is nil when nothing is well formed, and is otherwise allocated once; the
// Value and Options strings share s's memory.
func ParseSRI(s string) []Digest {
	n := 0
	for rest := s; rest != ""; {
		var ok bool
		if _, ok, rest = nextDigest(rest); ok {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Digest, 0, n)
	for rest := s; rest != ""; {
		var d Digest
		var ok bool
		if d, ok, rest = nextDigest(rest); ok {
			out = append(out, d)
		}
	}
	return out
}

// StrongestAlgorithm returns the strongest algorithm among the well-formed digests of
// an SRI string, or AlgorithmNone when there is none. Ties between sha512 and blake2b
// go to sha512. It does not allocate, and reads each byte of a well-formed entry once.
func StrongestAlgorithm(s string) Algorithm {
	best := AlgorithmNone
	for rest := s; rest != ""; {
		var d Digest
		var ok bool
		if d, ok, rest = nextDigest(rest); ok && d.Algorithm.stronger(best) {
			best = d.Algorithm
		}
	}
	return best
}

// sriSpace marks ASCII whitespace, the SRI entry separator.
var sriSpace = [256]bool{' ': true, '\t': true, '\n': true, '\f': true, '\r': true}

func isSRISpace(c byte) bool { return sriSpace[c] }

// nextDigest skips leading whitespace, reads one entry and returns it with ok=true when
// it is well formed, and what follows the entry.
func nextDigest(s string) (d Digest, ok bool, rest string) {
	i := 0
	for i < len(s) && sriSpace[s[i]] {
		i++
	}
	s = s[i:]
	if s == "" {
		return Digest{}, false, ""
	}
	d, n := scanDigest(s)
	if n == 0 {
		// Not well formed: skip to the end of the entry.
		for n < len(s) && !sriSpace[s[n]] {
			n++
		}
		return Digest{}, false, s[n:]
	}
	return d, true, s[n:]
}

// scanDigest reads a well-formed entry at the start of s, returning it and its length,
// or n=0 when the entry there is not well formed. Because a digest's size fixes the
// length of its padded base64, the value is read at exactly that length; the entry must
// end right after it or carry options introduced by "?".
func scanDigest(s string) (d Digest, n int) {
	dash := strings.IndexByte(s[:min(len(s), len("blake2b-"))], '-')
	if dash < 0 {
		return Digest{}, 0
	}
	alg := ParseAlgorithm(s[:dash])
	if alg == AlgorithmNone {
		return Digest{}, 0
	}
	enc := (alg.Size() + 2) / 3 * 4
	v := s[dash+1:]
	if len(v) < enc || base64DecodedLen(v[:enc]) != alg.Size() {
		return Digest{}, 0
	}
	d = Digest{Algorithm: alg, Value: v[:enc]}
	n = dash + 1 + enc
	switch {
	case n == len(s) || sriSpace[s[n]]:
		return d, n
	case s[n] == '?':
		end := n + 1
		for end < len(s) && !sriSpace[s[end]] {
			end++
		}
		d.Options = s[n+1 : end]
		return d, end
	}
	return Digest{}, 0
}

// base64DecodedLen returns how many bytes s decodes to as padded standard base64, or -1
// when it is not valid. It agrees with encoding/base64.StdEncoding for input without
// line breaks (which the tokenizer never passes), and never allocates.
func base64DecodedLen(s string) int {
	if len(s) == 0 || len(s)%4 != 0 {
		return -1
	}
	pad := 0
	switch {
	case s[len(s)-2] == '=' && s[len(s)-1] == '=':
		pad = 2
	case s[len(s)-1] == '=':
		pad = 1
	}
	// Accumulate without branching per byte, four bytes a step (the body of a padded
	// value is a multiple of four bytes less the padding): this runs on every version.
	body := s[:len(s)-pad]
	var bad uint8
	i := 0
	for ; i+4 <= len(body); i += 4 {
		bad |= notBase64[body[i]] | notBase64[body[i+1]] | notBase64[body[i+2]] | notBase64[body[i+3]]
	}
	for ; i < len(body); i++ {
		bad |= notBase64[body[i]]
	}
	if bad != 0 {
		return -1
	}
	return len(s)/4*3 - pad
}

// notBase64 is 1 for every byte outside the standard base64 alphabet.
var notBase64 = func() (t [256]uint8) {
	for i := range t {
		t[i] = 1
	}
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = 0
	}
	return t
}()
