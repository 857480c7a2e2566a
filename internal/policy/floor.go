package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ecluse/ecluse/internal/npm"
)

// floorSetting is the name under which a bad floor is reported.
const floorSetting = "PROXY_MIN_PUBLIC_INTEGRITY"

// parseFloor reads Options.MinIntegrity. On error the returned floor is still sha256, so
// a caller that ignores the error keeps the strictest sane default, never a weaker one.
func parseFloor(s string) (npm.Algorithm, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "" {
		return npm.SHA256, nil
	}
	if a := npm.ParseAlgorithm(name); a != npm.AlgorithmNone {
		return a, nil
	}
	const want = "want sha256, sha384, sha512 or blake2b"
	switch name {
	case "sha1", "md5", "sha-1", "sha224", "sha-224":
		return npm.SHA256, &Error{Path: floorSetting, Kind: ErrWeakFloor,
			Msg: fmt.Sprintf("%s is below the SHA-256 floor and is refused (%s)", name, want)}
	}
	return npm.SHA256, &Error{Path: floorSetting, Kind: ErrWeakFloor,
		Msg: fmt.Sprintf("unknown algorithm %q (%s)", s, want)}
}

// Floor returns the integrity floor's algorithm name ("sha256", ...).
func (p *Policy) Floor() string { return p.floor.String() }

// FloorCheck applies the integrity floor to an SRI string (dist.integrity) on its own,
// for the tarball path to re-check what it is about to fetch. ok reports whether some
// well-formed digest is at least as strong as the floor; strongest names the strongest
// well-formed digest ("" when there is none). It does not allocate.
func (p *Policy) FloorCheck(integrity string) (ok bool, strongest string) {
	a := npm.StrongestAlgorithm(integrity)
	return a.AtLeast(p.floor), a.String()
}

// floorPhrase names what the floor demands, for reasons.
func (p *Policy) floorPhrase() string {
	if p.floor.Strength() >= npm.SHA512.Strength() {
		return "sha512 or blake2b"
	}
	return p.floor.String() + "-or-stronger"
}

// describeIntegrity says, for a reason, what digests a version does carry. It runs only
// on the denial path, so it may allocate.
func describeIntegrity(integrity, shasum string) string {
	if strings.TrimSpace(integrity) == "" {
		if shasum != "" {
			return "only a legacy sha1 shasum"
		}
		return "it carries no digest at all"
	}
	if best := npm.StrongestAlgorithm(integrity); best != npm.AlgorithmNone {
		return "its strongest is " + best.String()
	}
	// Nothing well formed: say which algorithms were named, and whether a known one
	// was malformed.
	var weak []string
	malformed := ""
	for _, tok := range strings.Fields(integrity) {
		name, _, _ := strings.Cut(tok, "-")
		if npm.ParseAlgorithm(name) != npm.AlgorithmNone {
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
