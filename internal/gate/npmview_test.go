package gate

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
)

// rulesOf returns the "rules" member of a configuration document ("" for none), as the
// document's loader hands it to policy.Build.
func rulesOf(t testing.TB, doc string) json.RawMessage {
	t.Helper()
	if doc == "" {
		return nil
	}
	var d struct {
		Rules json.RawMessage `json:"rules"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("Unmarshal(%s) = %v", doc, err)
	}
	return d.Rules
}

var (
	viewSHA512 = "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64))
	viewSHA1   = "sha1-" + base64.StdEncoding.EncodeToString(make([]byte, 20))
)

func TestPolicyVersion(t *testing.T) {
	published := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	info := &npm.VersionInfo{
		Name: "left-pad", Version: "1.3.0", Published: published, Deprecated: "use padStart",
		Integrity: viewSHA512 + "?opt \t" + viewSHA1 + " junk", Shasum: strings.Repeat("a", 40),
		InstallScripts: []string{"preinstall", "postinstall"}, Gypfile: true,
	}
	var out policy.Version
	policyVersion(info, &out)
	want := []policy.Digest{
		{Algorithm: "sha512", Value: viewSHA512[len("sha512-"):]},
		{Algorithm: "sha1", Value: viewSHA1[len("sha1-"):]},
		{Algorithm: "junk"},
		{Algorithm: "sha1", Value: strings.Repeat("a", 40), Legacy: "shasum"},
	}
	if !slices.Equal(out.Digests, want) {
		t.Errorf("Digests = %+v, want %+v", out.Digests, want)
	}
	if out.Name != "left-pad" || out.Version != "1.3.0" || !out.Published.Equal(published) || out.Deprecated != "use padStart" ||
		!slices.Equal(out.InstallScripts, info.InstallScripts) || out.InstallSummary != "" || out.Refusal != nil || out.Yanked {
		t.Errorf("policyVersion = %+v", out)
	}

	// Filling the same view again reuses its digests and forgets the previous version.
	backing := &out.Digests[0]
	policyVersion(&npm.VersionInfo{Name: "x", Version: "1.0.0", Integrity: viewSHA512, Gypfile: true,
		Refusal: &npm.Refusal{Rule: "r", Reason: "why"}}, &out)
	if len(out.Digests) != 1 || &out.Digests[0] != backing || out.Deprecated != "" || out.Refusal == nil || out.Refusal.Reason != "why" {
		t.Errorf("refilled view = %+v", out)
	}
	n := testing.AllocsPerRun(100, func() { policyVersion(info, &out) })
	if n != 0 {
		t.Errorf("refilling a view allocates %v times, want 0", n)
	}
}

// TestNPMInstallReasons: the denial reasons for npm's ways of running code at install
// read as they always have.
func TestNPMInstallReasons(t *testing.T) {
	pol, errs := policy.Build(json.RawMessage(`{"deny-scripts":{"type":"DenyInstallTimeExecution"}}`), policy.Options{Ordering: npm.Semver{}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	base := npm.VersionInfo{Name: "foo", Version: "1.0.0", Published: now.Add(-30 * day), Integrity: viewSHA512}
	tests := []struct {
		name   string
		set    func(*npm.VersionInfo)
		reason string
	}{
		{"none", func(*npm.VersionInfo) {}, ""},
		{"postinstall", func(v *npm.VersionInfo) { v.InstallScripts = []string{"postinstall"} },
			"foo@1.0.0 declares a postinstall script; rule deny-scripts denies install-time execution"},
		{"scripts win over the flags", func(v *npm.VersionInfo) {
			v.InstallScripts, v.Gypfile, v.HasInstallScript = []string{"preinstall", "install", "postinstall"}, true, true
		}, "foo@1.0.0 declares preinstall, install and postinstall scripts; rule deny-scripts denies install-time execution"},
		{"hasInstallScript flag only", func(v *npm.VersionInfo) { v.HasInstallScript = true },
			"foo@1.0.0 is flagged as running an install script (hasInstallScript); rule deny-scripts denies install-time execution"},
		{"gypfile", func(v *npm.VersionInfo) { v.Gypfile, v.HasInstallScript = true, true },
			"foo@1.0.0 builds a native addon at install time (binding.gyp); rule deny-scripts denies install-time execution"},
	}
	for _, tt := range tests {
		v := base
		tt.set(&v)
		var view policy.Version
		policyVersion(&v, &view)
		view.Advice.Loaded = true // an index that knows nothing of foo
		d := pol.Decide(&view, now)
		if tt.reason == "" {
			if !d.Allowed {
				t.Errorf("%s: refused: %s", tt.name, d.Reason())
			}
			continue
		}
		if d.Allowed || d.Reason() != tt.reason {
			t.Errorf("%s: Decide = allowed %v, reason %q; want %q", tt.name, d.Allowed, d.Reason(), tt.reason)
		}
	}
}

// TestNPMIntegrityReasons: the integrity floor's reasons for npm's fields read as they
// always have, the legacy shasum included.
func TestNPMIntegrityReasons(t *testing.T) {
	pol, _ := policy.Build(nil, policy.Options{})
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	tests := []struct{ integrity, shasum, want string }{
		{"", "0123456789abcdef0123456789abcdef01234567", "only a legacy sha1 shasum"},
		{" \t", "0123456789abcdef0123456789abcdef01234567", "only a legacy sha1 shasum"},
		{viewSHA1, "abc", "only sha1"},
		{"", "", "it carries no digest at all"},
		{"sha512-tooShort==", "", "its sha512 digest is malformed"},
		{"%%%\x00", "", "its integrity field is malformed"},
		{"md5-x md5-y sha1-z", "", "only md5, sha1"},
	}
	for _, tt := range tests {
		var view policy.Version
		policyVersion(&npm.VersionInfo{Name: "bar", Version: "2.0.0", Published: now.Add(-300 * day), Integrity: tt.integrity, Shasum: tt.shasum}, &view)
		d := pol.Decide(&view, now)
		want := "bar@2.0.0 has no sha256-or-stronger integrity digest (" + tt.want + "); a public version below the integrity floor is never served"
		if d.Allowed || d.Rule != policy.RuleIntegrityFloor || d.Reason() != want {
			t.Errorf("integrity %q, shasum %q: Decide = %v %q, want %q", tt.integrity, tt.shasum, d.Allowed, d.Reason(), want)
		}
	}
}

// FuzzPolicyDigests holds the adapter and the policy's floor to npm's own SRI parser:
// the strongest well-formed digest the policy finds in the view of an integrity field
// is the one npm.StrongestAlgorithm finds in the field.
func FuzzPolicyDigests(f *testing.F) {
	for _, s := range []string{"", viewSHA512, viewSHA1, viewSHA512 + "?x?y " + viewSHA1, "sha512-short", "a-b-c", "-",
		"sha256-" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\v" + viewSHA512, "\x00-a é-b", "sha512?-x"} {
		f.Add(s)
	}
	pol, _ := policy.Build(nil, policy.Options{MinIntegrity: "sha256"})
	f.Fuzz(func(t *testing.T, integrity string) {
		var view policy.Version
		policyVersion(&npm.VersionInfo{Integrity: integrity}, &view)
		ok, strongest := pol.FloorCheck(view.Digests)
		want := npm.StrongestAlgorithm(integrity)
		if strongest != want.String() || ok != (want != npm.AlgorithmNone) {
			t.Fatalf("FloorCheck(view of %q) = %v, %q; npm says %q", integrity, ok, strongest, want)
		}
	})
}
