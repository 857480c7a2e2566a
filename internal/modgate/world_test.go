package modgate

import (
	"log/slog"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
)

// world is the standard fixture: a public proxy with its checksum database, a private
// proxy, a policy admitting versions a week old, and a gate over them.
type world struct {
	db      *testDB
	public  *fakeProxy
	private *fakeProxy
	policy  *fakePolicy
	checker *gomod.Checker
	gate    *Gate
	tmp     string
	opts    Options
}

const (
	alice = "Bearer alice-token"
	bob   = "Bearer bob-token"
)

var (
	youngPseudo = pseudo(now.Add(-time.Hour))
	oldPseudo   = pseudo(daysAgo(400))
)

// publicVersions are the public proxy's modules.
func publicVersions() []*modVersion {
	return []*modVersion{
		// Old and young releases, an old prerelease and a young one.
		{path: "example.com/lib", version: "v1.0.0", time: daysAgo(60)},
		{path: "example.com/lib", version: "v1.1.0", time: daysAgo(30)},
		{path: "example.com/lib", version: "v1.2.0-rc.1", time: daysAgo(20)},
		{path: "example.com/lib", version: "v1.2.0", time: daysAgo(1)},
		// Only prereleases are old enough.
		{path: "example.com/pre", version: "v0.1.0-rc.1", time: daysAgo(30)},
		{path: "example.com/pre", version: "v0.1.0", time: daysAgo(2)},
		// No tags: @latest is a pseudo-version.
		{path: "example.com/pseudo", version: oldPseudo, time: daysAgo(400), unlisted: true},
		{path: "example.com/youngpseudo", version: youngPseudo, time: now.Add(-time.Hour), unlisted: true},
		// A young pseudo-version whose .info claims an old time: the two disagree.
		{path: "example.com/backdated", version: youngPseudo, time: daysAgo(400), unlisted: true},
		// A v2 without a go.mod.
		{path: "example.com/incompat", version: "v2.0.0+incompatible", time: daysAgo(90), incompatible: true},
		// Served content that is not what the database records.
		{path: "example.com/tampered", version: "v1.0.0", time: daysAgo(90), tamperZip: true},
		{path: "example.com/badmod", version: "v1.0.0", time: daysAgo(90), tamperMod: true},
		// Never recorded in the database.
		{path: "example.com/nosum", version: "v1.0.0", time: daysAgo(90), noSumDB: true},
		{path: "example.com/nosum", version: "v1.1.0", time: daysAgo(80)},
		// Upper case, "!"-escaped on the wire.
		{path: "example.com/Upper/Mod", version: "v1.0.0", time: daysAgo(90)},
		// Denied by name.
		{path: "example.com/denied", version: "v1.0.0", time: daysAgo(90)},
		// Also on the private side: never fetched from here when private has it.
		{path: "example.com/shared", version: "v1.0.0", time: daysAgo(90)},
		{path: "example.com/privempty", version: "v1.0.0", time: daysAgo(90)},
		{path: "example.com/private500", version: "v1.0.0", time: daysAgo(90)},
		{path: "example.com/private403", version: "v1.0.0", time: daysAgo(90)},
		// An internal module's path published publicly: must never be fetched.
		{path: "corp.example/leaked", version: "v1.0.0", time: daysAgo(90)},
		{path: "corp.example/svc", version: "v1.9.0", time: daysAgo(90)},
	}
}

// privateVersions are the private proxy's modules: all young, all trusted.
func privateVersions() []*modVersion {
	return []*modVersion{
		{path: "corp.example/svc", version: "v1.0.0", time: now.Add(-time.Minute)},
		{path: "corp.example/svc", version: "v1.1.0", time: now.Add(-time.Minute)},
		{path: "corp.example/secret", version: "v1.0.0", time: now.Add(-time.Minute)},
		{path: "example.com/shared", version: "v1.5.0", time: now.Add(-time.Minute)},
		{path: "example.com/privempty", version: pseudo(now.Add(-time.Minute)), time: now.Add(-time.Minute), unlisted: true},
	}
}

func newWorld(t *testing.T, tweak func(*Options)) *world {
	t.Helper()
	w := &world{db: newTestDB(t), policy: &fakePolicy{minAge: 7 * 24 * time.Hour, deny: map[string]bool{"example.com/denied": true}}}
	w.public = newFakeProxy(t, w.db, publicVersions()...)
	w.public.status["example.com/gone"] = 410
	w.public.status["example.com/broken"] = 500
	w.private = newFakeProxy(t, nil, privateVersions()...)
	w.private.status["example.com/private500"] = 500
	w.private.status["example.com/private403"] = 403
	w.private.auth["corp.example/secret"] = alice
	pub := w.public.serve(t, SourcePublic)
	priv := w.private.serve(t, SourcePrivate)
	checker, err := gomod.NewChecker(gomod.CheckerOptions{VerifierKey: w.db.vkey, Fetcher: NewSumDBFetcher(pub, "/sumdb/"+testDBName)})
	if err != nil {
		t.Fatal(err)
	}
	w.checker = checker
	w.tmp = t.TempDir()
	w.opts = Options{
		Private:   priv,
		Public:    pub,
		Internal:  internalNames(t, "corp.example", "corp.example/**"),
		Policy:    w.policy,
		SumDB:     checker,
		SumDBName: testDBName,
		TempDir:   w.tmp,
		Now:       func() time.Time { return now },
		Logger:    slog.New(slog.DiscardHandler),
	}
	if tweak != nil {
		tweak(&w.opts)
	}
	w.gate = New(w.opts)
	return w
}

func cred(s string) redact.Secret { return redact.New(s) }

// internalNames compiles internal module patterns in the policy's glob dialect, as
// the composition root does.
func internalNames(t testing.TB, patterns ...string) func(string) bool {
	t.Helper()
	names, err := policy.CompileNames(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return names.Match
}
