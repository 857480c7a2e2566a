package policy

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/config"
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

// version returns a well-formed, script-free version published age ago.
func version(name, ver string, age time.Duration) *npm.VersionInfo {
	return &npm.VersionInfo{
		Name: name, Version: ver, Published: now.Add(-age),
		Integrity: sha512Integrity, Shasum: strings.Repeat("a", 40),
	}
}

// parseRules decodes a document's rules the way the process does.
func parseRules(t testing.TB, doc string) map[string]*config.RuleSpec {
	t.Helper()
	d, err := config.ParseDocument([]byte(doc))
	if err != nil {
		t.Fatalf("ParseDocument(%s) = %v", doc, err)
	}
	return d.Rules
}

// mustBuild builds a policy from a document, failing the test on any problem.
func mustBuild(t testing.TB, doc string, opts Options) *Policy {
	t.Helper()
	var rules map[string]*config.RuleSpec
	if doc != "" {
		rules = parseRules(t, doc)
	}
	p, errs := Build(rules, opts)
	if len(errs) > 0 {
		t.Fatalf("Build(%s) = %v, want no errors", doc, errs)
	}
	return p
}

func ptr[T any](v T) *T { return &v }
