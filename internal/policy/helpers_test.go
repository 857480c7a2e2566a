package policy

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
)

// now is the fixed clock of every test.
var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

var (
	sha512Integrity = "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64))
	sha256Integrity = "sha256-" + base64.StdEncoding.EncodeToString(make([]byte, 32))
	sha1Integrity   = "sha1-" + base64.StdEncoding.EncodeToString(make([]byte, 20))
)

// npm's semver is the Ordering the tests read ranges with.
var _ Ordering = npm.Semver{}

// npmOptions are the options an npm mount builds its policy with.
var npmOptions = Options{Ordering: npm.Semver{}}

// version returns a well-formed, script-free version published age ago, with the
// digests an npm packument gives it (an SRI sha512 and a legacy sha1 shasum).
func version(name, ver string, age time.Duration) *Version {
	return &Version{
		Name: name, Version: ver, Published: now.Add(-age),
		Digests: sriDigests(sha512Integrity, strings.Repeat("a", 40)),
		// An advisory index has loaded and knows nothing of it.
		Advice: Advice{Loaded: true},
	}
}

// sriDigests turns an npm integrity field and shasum into digests the way the npm gate
// does: one per space-separated "alg-value[?options]" token, then the shasum as a
// legacy sha1.
func sriDigests(integrity, shasum string) []Digest {
	var ds []Digest
	for _, tok := range strings.Fields(integrity) {
		alg, value, _ := strings.Cut(tok, "-")
		value, _, _ = strings.Cut(value, "?")
		ds = append(ds, Digest{Algorithm: alg, Value: value})
	}
	if shasum != "" {
		ds = append(ds, Digest{Algorithm: "sha1", Value: shasum, Legacy: "shasum"})
	}
	return ds
}

// rulesOf returns the "rules" member of a configuration document, as the document's
// loader hands it to Build.
func rulesOf(t testing.TB, doc string) json.RawMessage {
	t.Helper()
	var d struct {
		Rules json.RawMessage `json:"rules"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("Unmarshal(%s) = %v", doc, err)
	}
	return d.Rules
}

// mustBuild builds a policy for npm from a document, failing the test on any problem.
func mustBuild(t testing.TB, doc string, opts Options) *Policy {
	t.Helper()
	var rules json.RawMessage
	if doc != "" {
		rules = rulesOf(t, doc)
	}
	if opts.Ordering == nil {
		opts.Ordering = npm.Semver{}
	}
	p, errs := Build(rules, opts)
	if len(errs) > 0 {
		t.Fatalf("Build(%s) = %v, want no errors", doc, errs)
	}
	return p
}
