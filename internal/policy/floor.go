package policy

import (
	"fmt"
	"slices"
	"strings"
)

// floorSetting is the name under which a bad floor is reported.
const floorSetting = "PROXY_MIN_PUBLIC_INTEGRITY"

// algorithm is a digest algorithm the integrity floor knows. The zero value, algNone,
// is every other name (sha1, md5, future ones): a digest the floor cannot rank proves
// nothing.
type algorithm uint8

const (
	algNone algorithm = iota
	algSHA256
	algSHA384
	algSHA512
	// algBLAKE2b is BLAKE2b-512 (a 64-byte digest).
	algBLAKE2b
)

// parseAlgorithm maps a lower-case algorithm name to its algorithm; any other spelling
// gives algNone (names are matched as npm's own client matches SRI names).
func parseAlgorithm(name string) algorithm {
	switch name {
	case "sha256":
		return algSHA256
	case "sha384":
		return algSHA384
	case "sha512":
		return algSHA512
	case "blake2b":
		return algBLAKE2b
	}
	return algNone
}

// String returns the algorithm's name, or "" for algNone.
func (a algorithm) String() string {
	switch a {
	case algSHA256:
		return "sha256"
	case algSHA384:
		return "sha384"
	case algSHA512:
		return "sha512"
	case algBLAKE2b:
		return "blake2b"
	}
	return ""
}

// size is the length in bytes of a digest; 0 for algNone.
func (a algorithm) size() int {
	switch a {
	case algSHA256:
		return 32
	case algSHA384:
		return 48
	case algSHA512, algBLAKE2b:
		return 64
	}
	return 0
}

// strength orders algorithms for the floor: the digest size in bits, so sha256 <
// sha384 < sha512 = blake2b. algNone is 0.
func (a algorithm) strength() int { return a.size() * 8 }

// stronger reports whether a should be preferred over b: greater strength first, and on
// a tie the lower constant (sha512 before blake2b), so the answer does not depend on the
// order the digests were written in.
func (a algorithm) stronger(b algorithm) bool {
	if a.strength() != b.strength() {
		return a.strength() > b.strength()
	}
	return a != algNone && (b == algNone || a < b)
}

// wellFormed reports whether value is a digest of algorithm a as the floor accepts it:
// standard padded base64 decoding to exactly a's size. It never holds for algNone.
func (a algorithm) wellFormed(value string) bool {
	n := a.size()
	return n > 0 && len(value) == (n+2)/3*4 && base64DecodedLen(value) == n
}

// strongestDigest returns the strongest algorithm among the well-formed digests, or
// algNone. It does not allocate.
func strongestDigest(ds []Digest) algorithm {
	best := algNone
	for i := range ds {
		if a := parseAlgorithm(ds[i].Algorithm); a.stronger(best) && a.wellFormed(ds[i].Value) {
			best = a
		}
	}
	return best
}

// meetsFloor reports whether some well-formed digest is at least as strong as floor.
// It checks the form only of digests strong enough to count.
func meetsFloor(ds []Digest, floor algorithm) bool {
	for i := range ds {
		if a := parseAlgorithm(ds[i].Algorithm); a != algNone && a.strength() >= floor.strength() && a.wellFormed(ds[i].Value) {
			return true
		}
	}
	return false
}

// parseFloor reads Options.MinIntegrity. On error the returned floor is still sha256, so
// a caller that ignores the error keeps the strictest sane default, never a weaker one.
func parseFloor(s string) (algorithm, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "" {
		return algSHA256, nil
	}
	if a := parseAlgorithm(name); a != algNone {
		return a, nil
	}
	const want = "want sha256, sha384, sha512 or blake2b"
	switch name {
	case "sha1", "md5", "sha-1", "sha224", "sha-224":
		return algSHA256, &Error{Path: floorSetting, Kind: ErrWeakFloor,
			Msg: fmt.Sprintf("%s is below the SHA-256 floor and is refused (%s)", name, want)}
	}
	return algSHA256, &Error{Path: floorSetting, Kind: ErrWeakFloor,
		Msg: fmt.Sprintf("unknown algorithm %q (%s)", s, want)}
}

// Floor returns the integrity floor's algorithm name ("sha256", ...).
func (p *Policy) Floor() string { return p.floor.String() }

// FloorCheck applies the integrity floor to a version's digests on their own, for a
// path that re-checks what it is about to fetch. ok reports whether some well-formed
// digest is at least as strong as the floor; strongest names the strongest well-formed
// digest's algorithm ("" when there is none). It does not allocate.
func (p *Policy) FloorCheck(digests []Digest) (ok bool, strongest string) {
	a := strongestDigest(digests)
	return a != algNone && a.strength() >= p.floor.strength(), a.String()
}

// floorPhrase names what the floor demands, for reasons.
func (p *Policy) floorPhrase() string {
	if p.floor.strength() >= algSHA512.strength() {
		return "sha512 or blake2b"
	}
	return p.floor.String() + "-or-stronger"
}

// describeIntegrity says, for a reason, what digests a version does carry. It runs only
// on the denial path, so it may allocate.
func describeIntegrity(ds []Digest) string {
	current := slices.IndexFunc(ds, func(d Digest) bool { return d.Legacy == "" }) >= 0
	if !current {
		for _, d := range ds {
			if printableAlg(d.Algorithm) && printableAlg(d.Legacy) {
				return "only a legacy " + d.Algorithm + " " + d.Legacy
			}
		}
		if len(ds) > 0 {
			return "only a legacy digest"
		}
		return "it carries no digest at all"
	}
	if best := strongestDigest(ds); best != algNone {
		return "its strongest is " + best.String()
	}
	// Nothing well formed: say which algorithms were named, and whether a known one
	// was malformed.
	var weak []string
	malformed := ""
	for _, d := range ds {
		if d.Legacy != "" {
			continue
		}
		name := d.Algorithm
		if parseAlgorithm(name) != algNone {
			if malformed == "" {
				malformed = name
			}
			continue
		}
		if printableAlg(name) && !slices.Contains(weak, name) && len(weak) < maxNamedAlgorithms {
			weak = append(weak, name)
		}
	}
	switch {
	case malformed != "":
		return "its " + malformed + " digest is malformed"
	case len(weak) > 0:
		return "only " + strings.Join(weak, ", ")
	}
	return "its integrity field is malformed"
}

// maxNamedAlgorithms bounds how many of an upstream's algorithm names a reason repeats.
const maxNamedAlgorithms = 4

// printableAlg reports whether an upstream-supplied algorithm name is safe and short
// enough to repeat in a message.
func printableAlg(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// base64DecodedLen returns how many bytes s decodes to as padded standard base64, or -1
// when it is not valid. It agrees with encoding/base64.StdEncoding for input without
// line breaks, and never allocates.
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
	// Accumulate without branching per byte, four bytes a step: this runs on every
	// decision.
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
