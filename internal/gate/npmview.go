package gate

import (
	"fmt"
	"strings"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
)

// The policy decides npm versions through this file's view of them.
var _ Decider = (*policy.Policy)(nil)

// What the policy is told about npm's ways of running code at install that are not a
// script of the manifest's own: each names its evidence, and a summary the denial
// reason quotes.
var (
	gypfileScripts = []string{"binding.gyp"}
	flaggedScripts = []string{"hasInstallScript"}
)

const (
	gypfileSummary = "builds a native addon at install time (binding.gyp)"
	flaggedSummary = "is flagged as running an install script (hasInstallScript)"
	// shasumField is the Legacy of the digest dist.shasum gives.
	shasumField = "shasum"
)

// policyVersion writes the policy's view of the npm version v to out:
//
//   - each entry of dist.integrity (space-separated "alg-value[?options]") becomes a
//     Digest of that algorithm and value, malformed or not: the policy judges them;
//   - dist.shasum becomes a sha1 Digest marked Legacy "shasum";
//   - the preinstall/install/postinstall scripts become InstallScripts; failing those,
//     a gypfile (npm builds binding.gyp at install) or the hasInstallScript flag name
//     their evidence, with the summary a denial reason gives;
//   - Deprecated and Refusal carry over.
//
// The strings share v's memory. out's Digests backing array is reused, so a caller that
// fills one Version for many versions allocates for digests once, not per version.
func policyVersion(v *npm.VersionInfo, out *policy.Version) {
	digests := appendDigests(out.Digests[:0], v.Integrity)
	if v.Shasum != "" {
		digests = append(digests, policy.Digest{Algorithm: "sha1", Value: v.Shasum, Legacy: shasumField})
	}
	// Field by field rather than a composite literal: this runs for every version of
	// every document decided, and the literal costs a temporary to zero and copy.
	out.Name = v.Name
	out.Version = v.Version
	out.Published = v.Published
	out.TimeSource = ""
	out.Digests = digests
	out.InstallScripts, out.InstallSummary = nil, ""
	switch {
	case len(v.InstallScripts) > 0:
		out.InstallScripts = v.InstallScripts
	case v.Gypfile:
		out.InstallScripts, out.InstallSummary = gypfileScripts, gypfileSummary
	case v.HasInstallScript:
		out.InstallScripts, out.InstallSummary = flaggedScripts, flaggedSummary
	}
	out.Deprecated = v.Deprecated
	out.Yanked = false
	out.Refusal = nil
	if r := v.Refusal; r != nil {
		out.Refusal = &policy.Refusal{Rule: r.Rule, Reason: r.Reason}
	}
}

// appendDigests appends one Digest per entry of an SRI string. Entries are separated by
// ASCII whitespace as npm's SRI parser separates them; an entry's algorithm is what
// precedes its first "-", and its value what follows, up to any "?options".
func appendDigests(out []policy.Digest, sri string) []policy.Digest {
	for i := 0; i < len(sri); {
		if sriSpace[sri[i]] {
			i++
			continue
		}
		end := entryEnd(sri, i)
		entry := sri[i:end]
		d := policy.Digest{Algorithm: entry}
		if dash := strings.IndexByte(entry, '-'); dash >= 0 {
			d.Algorithm, d.Value = entry[:dash], entry[dash+1:]
			if q := strings.IndexByte(d.Value, '?'); q >= 0 {
				d.Value = d.Value[:q]
			}
		}
		out = append(out, d)
		i = end
	}
	return out
}

// sriSpace marks the ASCII whitespace that separates SRI entries.
var sriSpace = [256]bool{' ': true, '\t': true, '\n': true, '\f': true, '\r': true}

// entryEnd returns the index of the first SRI separator in s at or after i, or len(s).
// It tests eight bytes at a time for one at or below ' ' (every separator is), and
// looks closer only where there is one: an entry is some ninety bytes of base64, read
// for every version decided.
func entryEnd(s string, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if (x-ones*0x21)&^x&highs != 0 {
			break // some byte is below 0x21
		}
	}
	for i < len(s) && !sriSpace[s[i]] {
		i++
	}
	return i
}

// view fills out with the policy's view of the public npm version v: its own fields,
// the refusal Écluse recorded for it, if any, and what the advisory index says of it
// (a nil a means no index: loaded, and nothing known).
func (g *Gate) view(v *npm.VersionInfo, out *policy.Version, a *advice, now time.Time) {
	policyVersion(v, out)
	if g.refusals != nil {
		if ref := g.refusals.lookup(v, now); ref != nil {
			out.Refusal = ref
		}
	}
	if a == nil {
		out.Advice = policy.Advice{Loaded: true, Affecting: out.Advice.Affecting[:0]}
		return
	}
	a.fill(v, &out.Advice)
}

// decide decides one public npm version with the policy, after the refusals Écluse
// recorded for it, with the advice about its package. The view is written to out,
// which the Decision refers to: out must not be refilled while the Decision is still
// used.
//
// With signing on for public versions, an admitted version is then checked for a
// registry signature (only then: a refused one costs no verification). Without a
// valid one it is refused under the signature rule, before every rule of the
// policy, or, in warn mode, admitted with RuleSignature among its warnings.
func (g *Gate) decide(v *npm.VersionInfo, out *policy.Version, a *advice, now time.Time) policy.Decision {
	return g.decideWith(v, out, a, now, nil)
}

// decideWith is decide with the signature check's outcome for v already known, when
// verdict is not nil.
func (g *Gate) decideWith(v *npm.VersionInfo, out *policy.Version, a *advice, now time.Time, verdict *string) policy.Decision {
	g.view(v, out, a, now)
	d := g.opts.Policy.Decide(out, now)
	if !d.Allowed || a == nil || !a.sig.coversPublic() {
		return d
	}
	var reason string
	if verdict != nil {
		reason = *verdict
	} else {
		reason = a.sig.public(v)
	}
	switch {
	case reason == "":
	case a.sig.enforces():
		out.Refusal = &policy.Refusal{Rule: RuleSignature, Reason: fmt.Sprintf("%s@%s is withheld by the signing policy (%s): %s", v.Name, v.Version, a.sig.mode, reason)}
		d = g.opts.Policy.Decide(out, now)
	default:
		d.Warned = append(d.Warned, RuleSignature)
	}
	return d
}
