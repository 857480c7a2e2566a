package modgate

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/gomod"
	"github.com/ecluse/ecluse/internal/policy"
)

// Error kinds the tables expect.
const (
	okay       = ""
	notFound   = "not found"
	refused    = "refused"
	mismatch   = "checksum"
	upstreamKO = "upstream"
	denied     = "denied"
	badRequest = "bad request"
)

// kindOf names the kind of a gate error, for the tables.
func kindOf(err error) string {
	var (
		nf  *NotFoundError
		ref *RefusedError
		up  *UpstreamError
		den *UpstreamDeniedError
		bad *BadRequestError
	)
	switch {
	case err == nil:
		return okay
	case errors.As(err, &nf):
		return notFound
	case errors.As(err, &ref) && ref.Kind == RefusedChecksum:
		return mismatch
	case errors.As(err, &ref):
		return refused
	case errors.As(err, &up):
		return upstreamKO
	case errors.As(err, &den):
		return denied
	case errors.As(err, &bad):
		return badRequest
	}
	return "unexpected: " + err.Error()
}

// messageOf is the client's message of a gate error.
func messageOf(err error) string {
	var (
		nf  *NotFoundError
		ref *RefusedError
		up  *UpstreamError
		den *UpstreamDeniedError
		bad *BadRequestError
	)
	switch {
	case errors.As(err, &nf):
		return nf.Message
	case errors.As(err, &ref):
		return ref.Message
	case errors.As(err, &up):
		return up.Message
	case errors.As(err, &den):
		return den.Message
	case errors.As(err, &bad):
		return bad.Message
	}
	return ""
}

func checkErr(t *testing.T, what string, err error, kind, msg string) {
	t.Helper()
	if got := kindOf(err); got != kind {
		t.Fatalf("%s error = %v (%s), want %q", what, err, got, kind)
	}
	if msg != "" && !strings.Contains(messageOf(err), msg) {
		t.Errorf("%s message = %q, want it to contain %q", what, messageOf(err), msg)
	}
	if m := messageOf(err); strings.ContainsAny(m, "\n\r") {
		t.Errorf("%s message %q is not one line", what, m)
	}
}

func TestList(t *testing.T) {
	w := newWorld(t, nil)
	tests := []struct {
		name, module, cred string
		want               string // the list served
		source             string
		blocked            int
		kind, msg          string
	}{
		{name: "young release and prerelease kept out", module: "example.com/lib", want: "v1.0.0\nv1.1.0\nv1.2.0-rc.1\n", source: SourcePublic, blocked: 1},
		{name: "only the old prerelease", module: "example.com/pre", want: "v0.1.0-rc.1\n", source: SourcePublic, blocked: 1},
		{name: "incompatible", module: "example.com/incompat", want: "v2.0.0+incompatible\n", source: SourcePublic},
		{name: "no checksum record, no entry", module: "example.com/nosum", want: "v1.1.0\n", source: SourcePublic, blocked: 1},
		{name: "denied by name", module: "example.com/denied", want: "", source: SourcePublic, blocked: 1},
		{name: "escaped path", module: "example.com/Upper/Mod", want: "v1.0.0\n", source: SourcePublic},
		{name: "gone is not found", module: "example.com/gone", kind: notFound},
		{name: "absent", module: "example.com/absent", kind: notFound},
		{name: "public failure", module: "example.com/broken", kind: upstreamKO, msg: "the public proxy could not be reached"},
		{name: "private first", module: "example.com/shared", want: "v1.5.0\n", source: SourcePrivate},
		{name: "empty private list asks the public side", module: "example.com/privempty", want: "v1.0.0\n", source: SourcePublic},
		{name: "private failure never falls back", module: "example.com/private500", kind: upstreamKO, msg: "the private proxy could not be reached"},
		{name: "private refusal relayed", module: "example.com/private403", kind: denied, msg: "the private proxy refused access to example.com/private403 (403): answer 403"},
		{name: "internal, young, trusted", module: "corp.example/svc", want: "v1.0.0\nv1.1.0\n", source: SourcePrivate},
		{name: "internal with credential", module: "corp.example/secret", cred: alice, want: "v1.0.0\n", source: SourcePrivate},
		{name: "internal without access", module: "corp.example/secret", cred: bob, kind: denied},
		{name: "internal the private proxy lacks", module: "corp.example/leaked", kind: notFound, msg: "corp.example/leaked is an internal module and the private proxy does not have it"},
		{name: "invalid module path", module: "not a module", kind: badRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := w.gate.List(context.Background(), tt.module, cred(tt.cred))
			checkErr(t, "List("+tt.module+")", err, tt.kind, tt.msg)
			if err != nil {
				return
			}
			if string(doc.Body) != tt.want || doc.Source != tt.source || doc.Blocked != tt.blocked {
				t.Errorf("List(%s) = %q from %s (%d blocked), want %q from %s (%d blocked)",
					tt.module, doc.Body, doc.Source, doc.Blocked, tt.want, tt.source, tt.blocked)
			}
		})
	}
	t.Run("internal modules never reach the public side", func(t *testing.T) {
		if n := w.public.countPrefix("/corp.example/"); n != 0 {
			t.Errorf("the public proxy was asked %d times about internal modules", n)
		}
		if n := w.public.countPrefix("/sumdb/" + testDBName + "/lookup/corp.example"); n != 0 {
			t.Errorf("the checksum database was asked %d times about internal modules", n)
		}
	})
	t.Run("private failures never reach the public side", func(t *testing.T) {
		for _, m := range []string{"/example.com/private500/", "/example.com/private403/", "/example.com/shared/"} {
			if n := w.public.countPrefix(m); n != 0 {
				t.Errorf("the public proxy was asked %d times under %s", n, m)
			}
		}
	})
}

// TestPolicyInput checks what the policy reads about a Go version.
func TestPolicyInput(t *testing.T) {
	w := newWorld(t, nil)
	if _, err := w.gate.Info(context.Background(), "example.com/lib", "v1.1.0", cred("")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gate.Info(context.Background(), "example.com/nosum", "v1.0.0", cred("")); kindOf(err) != refused {
		t.Fatalf("Info(nosum) = %v, want a refusal", err)
	}
	var lib *modVersion
	for _, v := range w.public.versions["example.com/lib"] {
		if v.version == "v1.1.0" {
			lib = v
		}
	}
	h1 := lib.records(t)
	wantHash := strings.TrimPrefix(strings.Fields(string(h1))[2], "h1:")
	seen := w.policy.asked("example.com/lib", "v1.1.0")
	if len(seen) == 0 {
		t.Fatal("the policy was not asked about example.com/lib@v1.1.0")
	}
	v := seen[0]
	if !v.Published.Equal(daysAgo(30)) || v.TimeSource != TimeSourceAuthor || v.InstallScripts != nil ||
		len(v.Digests) != 1 || v.Digests[0] != (policy.Digest{Algorithm: "sha256", Value: wantHash}) {
		t.Errorf("policy input = %+v, want published %s by the author, one sha256 digest %s, no install scripts",
			v, daysAgo(30), wantHash)
	}
	none := w.policy.asked("example.com/nosum", "v1.0.0")
	if len(none) == 0 || none[0].Digests != nil {
		t.Errorf("policy input for a version without a record = %+v, want no digests", none)
	}
}

func TestLatest(t *testing.T) {
	w := newWorld(t, nil)
	tests := []struct {
		name, module string
		want         string // the version
		source       string
		kind, msg    string
	}{
		{name: "highest admitted release", module: "example.com/lib", want: "v1.1.0", source: SourcePublic},
		{name: "highest admitted prerelease", module: "example.com/pre", want: "v0.1.0-rc.1", source: SourcePublic},
		{name: "old pseudo-version", module: "example.com/pseudo", want: oldPseudo, source: SourcePublic},
		{name: "young pseudo-version refused", module: "example.com/youngpseudo", kind: refused, msg: "Écluse refused example.com/youngpseudo@" + youngPseudo + ": "},
		{name: "everything refused", module: "example.com/denied", kind: refused, msg: "Écluse refused example.com/denied@v1.0.0"},
		{name: "nothing at all", module: "example.com/absent", kind: notFound},
		{name: "private", module: "example.com/shared", want: "v1.5.0", source: SourcePrivate},
		{name: "internal", module: "corp.example/svc", want: "v1.1.0", source: SourcePrivate},
		{name: "internal the private proxy lacks", module: "corp.example/leaked", kind: notFound, msg: "internal module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := w.gate.Latest(context.Background(), tt.module, cred(""))
			checkErr(t, "Latest("+tt.module+")", err, tt.kind, tt.msg)
			if err != nil {
				return
			}
			info, perr := gomod.ParseInfo(doc.Body, "")
			if perr != nil || info.Version != tt.want || doc.Version != tt.want || doc.Source != tt.source {
				t.Errorf("Latest(%s) = %s (%v) from %s, want %s from %s", tt.module, doc.Body, perr, doc.Source, tt.want, tt.source)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	w := newWorld(t, nil)
	tests := []struct {
		name, module, version string
		source                string
		kind, msg             string
		rule                  string
	}{
		{name: "old release", module: "example.com/lib", version: "v1.0.0", source: SourcePublic},
		{name: "young release", module: "example.com/lib", version: "v1.2.0", kind: refused, rule: policy.RuleDefaultDeny, msg: "Écluse refused example.com/lib@v1.2.0: "},
		{name: "no checksum record", module: "example.com/nosum", version: "v1.0.0", kind: refused, rule: policy.RuleIntegrityFloor,
			msg: "Écluse refused example.com/nosum@v1.0.0: the checksum database " + testDBName + " has no record of it"},
		{name: "unlisted old pseudo-version", module: "example.com/pseudo", version: oldPseudo, source: SourcePublic},
		{name: "young pseudo-version", module: "example.com/youngpseudo", version: youngPseudo, kind: refused, rule: policy.RuleDefaultDeny},
		{name: "unknown version", module: "example.com/lib", version: "v1.9.9", kind: notFound},
		{name: "gone", module: "example.com/gone", version: "v1.0.0", kind: notFound},
		{name: "private young version", module: "example.com/shared", version: "v1.5.0", source: SourcePrivate},
		{name: "private lacks the version: public", module: "example.com/shared", version: "v1.0.0", source: SourcePublic},
		{name: "internal", module: "corp.example/svc", version: "v1.0.0", source: SourcePrivate},
		{name: "internal version only public", module: "corp.example/svc", version: "v1.9.0", kind: notFound, msg: "corp.example/svc@v1.9.0 is an internal module"},
		{name: "not canonical", module: "example.com/lib", version: "v1.0", kind: badRequest},
		{name: "wrong major", module: "example.com/lib", version: "v2.0.0", kind: badRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := w.gate.Info(context.Background(), tt.module, tt.version, cred(""))
			checkErr(t, "Info("+tt.module+"@"+tt.version+")", err, tt.kind, tt.msg)
			var ref *RefusedError
			if errors.As(err, &ref) && ref.Rule != tt.rule {
				t.Errorf("refusal rule = %q, want %q", ref.Rule, tt.rule)
			}
			if err != nil {
				return
			}
			info, perr := gomod.ParseInfo(doc.Body, tt.version)
			if perr != nil || doc.Source != tt.source {
				t.Fatalf("Info = %s (%v) from %s, want a %s .info of %s", doc.Body, perr, doc.Source, tt.source, tt.version)
			}
			if strings.Contains(string(doc.Body), "Origin") {
				t.Errorf("Info = %s, want it rendered afresh, not relayed", doc.Body)
			}
			_ = info
		})
	}
	if n := w.public.countPrefix("/corp.example/"); n != 0 {
		t.Errorf("the public proxy was asked %d times about internal modules", n)
	}
}

func TestMod(t *testing.T) {
	w := newWorld(t, nil)
	tests := []struct {
		name, module, version string
		want                  string
		source                string
		kind, msg             string
	}{
		{name: "verified", module: "example.com/lib", version: "v1.0.0", want: "module example.com/lib\n\ngo 1.22\n", source: SourcePublic},
		{name: "incompatible", module: "example.com/incompat", version: "v2.0.0+incompatible", want: "module example.com/incompat\n", source: SourcePublic},
		{name: "tampered go.mod", module: "example.com/badmod", version: "v1.0.0", kind: mismatch,
			msg: "Écluse refused example.com/badmod@v1.0.0: the go.mod the public proxy served does not match the checksum database"},
		{name: "young", module: "example.com/lib", version: "v1.2.0", kind: refused},
		{name: "private", module: "example.com/shared", version: "v1.5.0", want: "module example.com/shared\n\ngo 1.22\n", source: SourcePrivate},
		{name: "internal", module: "corp.example/svc", version: "v1.1.0", want: "module corp.example/svc\n\ngo 1.22\n", source: SourcePrivate},
		{name: "internal the private proxy lacks", module: "corp.example/leaked", version: "v1.0.0", kind: notFound},
		{name: "private failure", module: "example.com/private500", version: "v1.0.0", kind: upstreamKO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := w.gate.Mod(context.Background(), tt.module, tt.version, cred(""))
			checkErr(t, "Mod("+tt.module+"@"+tt.version+")", err, tt.kind, tt.msg)
			if err != nil {
				return
			}
			if string(doc.Body) != tt.want || doc.Source != tt.source {
				t.Errorf("Mod = %q from %s, want %q from %s", doc.Body, doc.Source, tt.want, tt.source)
			}
		})
	}
}

func TestZip(t *testing.T) {
	w := newWorld(t, nil)
	zipOf := func(side *fakeProxy, mod, version string) []byte {
		for _, v := range side.versions[mod] {
			if v.version == version {
				return v.zip
			}
		}
		t.Fatalf("no fixture %s@%s", mod, version)
		return nil
	}
	tests := []struct {
		name, module, version string
		side                  *fakeProxy
		source                string
		kind, msg             string
	}{
		{name: "verified", module: "example.com/lib", version: "v1.1.0", side: w.public, source: SourcePublic},
		{name: "incompatible", module: "example.com/incompat", version: "v2.0.0+incompatible", side: w.public, source: SourcePublic},
		{name: "escaped", module: "example.com/Upper/Mod", version: "v1.0.0", side: w.public, source: SourcePublic},
		{name: "tampered zip never served", module: "example.com/tampered", version: "v1.0.0", kind: mismatch,
			msg: "Écluse refused example.com/tampered@v1.0.0: the zip the public proxy served does not match the checksum database"},
		{name: "young", module: "example.com/lib", version: "v1.2.0", kind: refused},
		{name: "no record", module: "example.com/nosum", version: "v1.0.0", kind: refused, msg: "has no record of it"},
		{name: "private", module: "example.com/shared", version: "v1.5.0", side: w.private, source: SourcePrivate},
		{name: "internal", module: "corp.example/svc", version: "v1.0.0", side: w.private, source: SourcePrivate},
		{name: "internal without access", module: "corp.example/secret", version: "v1.0.0", kind: denied},
		{name: "wrong major", module: "example.com/lib", version: "v3.0.0", kind: badRequest},
		{name: "absent version", module: "example.com/lib", version: "v1.9.0", kind: notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, err := w.gate.Zip(context.Background(), tt.module, tt.version, cred(""))
			checkErr(t, "Zip("+tt.module+"@"+tt.version+")", err, tt.kind, tt.msg)
			if err != nil {
				return
			}
			got, rerr := io.ReadAll(z.Body)
			if cerr := z.Body.Close(); cerr != nil {
				t.Errorf("Close = %v", cerr)
			}
			want := zipOf(tt.side, tt.module, tt.version)
			if rerr != nil || string(got) != string(want) || z.Source != tt.source {
				t.Errorf("Zip = %d bytes (%v) from %s, want the %d-byte zip from %s", len(got), rerr, z.Source, len(want), tt.source)
			}
			if z.Size >= 0 && z.Size != int64(len(want)) {
				t.Errorf("Zip size = %d, want %d", z.Size, len(want))
			}
		})
	}
	t.Run("no temporary file left", func(t *testing.T) {
		left, err := os.ReadDir(w.tmp)
		if err != nil || len(left) != 0 {
			t.Errorf("temporary directory holds %d entries (%v), want none", len(left), err)
		}
	})
}

// TestZipTooLarge: a zip past MaxZipBytes is never served, public or private.
func TestZipTooLarge(t *testing.T) {
	w := newWorld(t, func(o *Options) { o.MaxZipBytes = 200 })
	_, err := w.gate.Zip(context.Background(), "example.com/lib", "v1.1.0", cred(""))
	checkErr(t, "Zip(public, too large)", err, upstreamKO, "larger than the 200 bytes")
	_, err = w.gate.Zip(context.Background(), "corp.example/svc", "v1.0.0", cred(""))
	checkErr(t, "Zip(private, too large)", err, upstreamKO, "larger than the 200 bytes")
	if left, _ := os.ReadDir(w.tmp); len(left) != 0 {
		t.Errorf("temporary directory holds %d entries, want none", len(left))
	}
}

// TestZipSpoolBudget: the disk public zips take while they are verified is bounded; a
// zip that finds no room is answered busy, and a served zip gives its room back when
// it is closed.
func TestZipSpoolBudget(t *testing.T) {
	w := newWorld(t, nil)
	var size int64
	for _, v := range w.public.versions["example.com/lib"] {
		if v.version == "v1.1.0" {
			size = int64(len(v.zip))
		}
	}
	spool := budget.New(size, time.Millisecond)
	opts := w.opts
	opts.Spool = spool
	w.gate = New(opts)
	ctx := context.Background()
	z, err := w.gate.Zip(ctx, "example.com/lib", "v1.1.0", cred(""))
	if err != nil {
		t.Fatal(err)
	}
	if spool.InUse() != size {
		t.Errorf("spool in use while the zip is served = %d, want %d", spool.InUse(), size)
	}
	_, err = w.gate.Zip(ctx, "example.com/lib", "v1.1.0", cred(""))
	var busy *BusyError
	if !errors.As(err, &busy) || !strings.Contains(busy.Message, "PROXY_MAX_SPOOL_BYTES") {
		t.Errorf("second zip while the spool is full = %v, want a BusyError naming PROXY_MAX_SPOOL_BYTES", err)
	}
	if err := z.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if spool.InUse() != 0 {
		t.Errorf("spool in use after the zip was closed = %d, want 0", spool.InUse())
	}
	z, err = w.gate.Zip(ctx, "example.com/lib", "v1.1.0", cred(""))
	if err != nil {
		t.Fatalf("zip after room was given back: %v", err)
	}
	_ = z.Body.Close()
	if left, _ := os.ReadDir(w.tmp); len(left) != 0 {
		t.Errorf("temporary directory holds %d entries, want none", len(left))
	}
}

func TestSumDBPassthrough(t *testing.T) {
	w := newWorld(t, nil)
	tests := []struct {
		name, db, path string
		kind, msg      string
		check          func(body string) bool
	}{
		{name: "supported", db: testDBName, path: "/supported", check: func(b string) bool { return b == "" }},
		{name: "latest", db: testDBName, path: "/latest", check: func(b string) bool { return strings.HasPrefix(b, "go.sum database tree\n") }},
		{name: "lookup", db: testDBName, path: "/lookup/example.com/lib@v1.0.0", check: func(b string) bool { return strings.Contains(b, "example.com/lib v1.0.0 h1:") }},
		{name: "tile", db: testDBName, path: "/tile/8/0/000.p/1", check: func(b string) bool { return len(b) == 32 }},
		{name: "other database", db: "sum.other.test", path: "/supported", kind: notFound},
		{name: "other database lookup", db: "sum.other.test", path: "/lookup/example.com/lib@v1.0.0", kind: notFound},
		{name: "internal lookup", db: testDBName, path: "/lookup/corp.example/svc@v1.0.0", kind: notFound, msg: "GONOSUMDB"},
		{name: "unknown record", db: testDBName, path: "/lookup/example.com/nosum@v1.0.0", kind: notFound},
		{name: "bad path", db: testDBName, path: "/lookup/nothing", kind: badRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := w.gate.SumDB(context.Background(), tt.db, tt.path)
			checkErr(t, "SumDB("+tt.db+tt.path+")", err, tt.kind, tt.msg)
			if err == nil && !tt.check(string(doc.Body)) {
				t.Errorf("SumDB(%s%s) = %q", tt.db, tt.path, doc.Body)
			}
		})
	}
	if n := w.public.countPrefix("/sumdb/" + testDBName + "/lookup/corp.example"); n != 0 {
		t.Errorf("the database was asked %d times about an internal module", n)
	}
	if n := w.public.countPrefix("/sumdb/sum.other.test"); n != 0 {
		t.Errorf("another database was asked %d times", n)
	}
	noName := New(Options{Public: w.opts.Public})
	if _, err := noName.SumDB(context.Background(), testDBName, "/supported"); kindOf(err) != notFound {
		t.Errorf("SumDB on a mount without a database = %v, want not found", err)
	}
}

// TestPrivateCredential: private answers are kept per credential, so a caller is never
// served what only another may read.
func TestPrivateCredential(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	if _, err := w.gate.List(ctx, "corp.example/secret", cred(alice)); err != nil {
		t.Fatalf("List as alice = %v", err)
	}
	if _, err := w.gate.List(ctx, "corp.example/secret", cred(bob)); kindOf(err) != denied {
		t.Errorf("List as bob after alice = %v, want the private refusal", err)
	}
	if _, err := w.gate.List(ctx, "corp.example/secret", cred("")); kindOf(err) != denied {
		t.Errorf("List without a credential after alice = %v, want the private refusal", err)
	}
	w.private.mu.Lock()
	defer w.private.mu.Unlock()
	for _, c := range w.private.creds {
		if c != alice && c != bob && c != "" {
			t.Errorf("the private proxy was sent %q", c)
		}
	}
}

func TestNoPublicCredential(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	for _, m := range []string{"example.com/lib"} {
		_, _ = w.gate.List(ctx, m, cred(alice))
		_, _ = w.gate.Latest(ctx, m, cred(alice))
		_, _ = w.gate.Mod(ctx, m, "v1.0.0", cred(alice))
		if z, err := w.gate.Zip(ctx, m, "v1.0.0", cred(alice)); err == nil {
			z.Body.Close()
		}
	}
	w.public.mu.Lock()
	defer w.public.mu.Unlock()
	for _, c := range w.public.creds {
		if c != "" {
			t.Fatalf("the public proxy was sent the credential %q", c)
		}
	}
}

func TestMountShapes(t *testing.T) {
	ctx := context.Background()
	t.Run("no private upstream", func(t *testing.T) {
		w := newWorld(t, func(o *Options) { o.Private = nil })
		doc, err := w.gate.List(ctx, "example.com/lib", cred(""))
		if err != nil || doc.Source != SourcePublic {
			t.Errorf("List = %v, %v, want the public list", doc, err)
		}
		_, err = w.gate.List(ctx, "corp.example/svc", cred(""))
		checkErr(t, "List(internal)", err, notFound, "this mount has no private proxy")
	})
	t.Run("no public upstream", func(t *testing.T) {
		w := newWorld(t, func(o *Options) { o.Public = nil })
		_, err := w.gate.List(ctx, "example.com/lib", cred(""))
		checkErr(t, "List(public module)", err, notFound, "no public proxy")
		_, err = w.gate.Info(ctx, "example.com/lib", "v1.0.0", cred(""))
		checkErr(t, "Info(public module)", err, notFound, "no public proxy")
		if doc, err := w.gate.List(ctx, "example.com/shared", cred("")); err != nil || doc.Source != SourcePrivate {
			t.Errorf("List(private module) = %v, %v", doc, err)
		}
	})
	t.Run("no policy refuses everything public", func(t *testing.T) {
		w := newWorld(t, func(o *Options) { o.Policy = nil })
		_, err := w.gate.Info(ctx, "example.com/lib", "v1.0.0", cred(""))
		checkErr(t, "Info", err, refused, "this mount has no policy")
		if doc, err := w.gate.Info(ctx, "example.com/shared", "v1.5.0", cred("")); err != nil || doc.Source != SourcePrivate {
			t.Errorf("Info(private) = %v, %v", doc, err)
		}
	})
	t.Run("no checksum database", func(t *testing.T) {
		w := newWorld(t, func(o *Options) { o.SumDB = nil })
		_, err := w.gate.Info(ctx, "example.com/lib", "v1.0.0", cred(""))
		checkErr(t, "Info", err, refused, "has no record of it")
	})
}

func TestChecksumDatabaseDown(t *testing.T) {
	w := newWorld(t, nil)
	w.db.down.Store(true)
	ctx := context.Background()
	_, err := w.gate.Info(ctx, "example.com/lib", "v1.0.0", cred(""))
	checkErr(t, "Info(database down)", err, upstreamKO, "the checksum database could not be reached")
	_, err = w.gate.List(ctx, "example.com/lib", cred(""))
	checkErr(t, "List(database down)", err, upstreamKO, "the checksum database could not be reached")
	// Nothing about the failure was kept: the database back, the same requests succeed.
	w.db.down.Store(false)
	if _, err := w.gate.Info(ctx, "example.com/lib", "v1.0.0", cred("")); err != nil {
		t.Errorf("Info(database back) = %v", err)
	}
	if doc, err := w.gate.List(ctx, "example.com/lib", cred("")); err != nil || string(doc.Body) != "v1.0.0\nv1.1.0\nv1.2.0-rc.1\n" {
		t.Errorf("List(database back) = %v, %v", doc, err)
	}
}

// TestCaching: infos and records are read once; lists are reused for CacheTTL.
func TestCaching(t *testing.T) {
	clock := now
	w := newWorld(t, func(o *Options) { o.Now = func() time.Time { return clock } })
	ctx := context.Background()
	for range 3 {
		if _, err := w.gate.List(ctx, "example.com/lib", cred("")); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.public.count("/example.com/lib/@v/list"); n != 1 {
		t.Errorf("list fetched %d times, want 1", n)
	}
	if n := w.public.count("/example.com/lib/@v/v1.0.0.info"); n != 1 {
		t.Errorf(".info fetched %d times, want 1", n)
	}
	if n := w.public.count("/sumdb/" + testDBName + "/lookup/example.com/lib@v1.0.0"); n != 1 {
		t.Errorf("record fetched %d times, want 1", n)
	}
	if _, err := w.gate.Info(ctx, "example.com/lib", "v1.0.0", cred("")); err != nil {
		t.Fatal(err)
	}
	if n := w.public.count("/example.com/lib/@v/v1.0.0.info"); n != 1 {
		t.Errorf(".info fetched %d times after an .info request, want 1", n)
	}
	// Past CacheTTL the list is read again, but not the immutable .info.
	clock = now.Add(time.Hour)
	if _, err := w.gate.List(ctx, "example.com/lib", cred("")); err != nil {
		t.Fatal(err)
	}
	if n := w.public.count("/example.com/lib/@v/list"); n != 2 {
		t.Errorf("list fetched %d times after its TTL, want 2", n)
	}
	if n := w.public.count("/example.com/lib/@v/v1.0.0.info"); n != 1 {
		t.Errorf(".info fetched %d times after the list's TTL, want 1", n)
	}
	// Decisions are taken afresh: six days on, the young version is old enough.
	clock = now.Add(6 * 24 * time.Hour)
	doc, err := w.gate.List(ctx, "example.com/lib", cred(""))
	if err != nil || string(doc.Body) != "v1.0.0\nv1.1.0\nv1.2.0-rc.1\nv1.2.0\n" {
		t.Errorf("List six days later = %q, %v, want every version", doc.Body, err)
	}
}

// TestPrivateFreshness: the private proxy's answers are not kept by default (a version
// published there is served at once), its not-found answers are.
func TestPrivateFreshness(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	if doc, err := w.gate.List(ctx, "corp.example/svc", cred("")); err != nil || string(doc.Body) != "v1.0.0\nv1.1.0\n" {
		t.Fatalf("List = %v, %v", doc, err)
	}
	w.private.add(&modVersion{path: "corp.example/svc", version: "v1.2.0", time: now})
	if doc, err := w.gate.List(ctx, "corp.example/svc", cred("")); err != nil || string(doc.Body) != "v1.0.0\nv1.1.0\nv1.2.0\n" {
		t.Errorf("List after a private publication = %q, %v, want the new version at once", doc.Body, err)
	}
	for range 3 {
		if _, err := w.gate.List(ctx, "example.com/lib", cred("")); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.private.count("/example.com/lib/@v/list"); n != 1 {
		t.Errorf("the private proxy was asked %d times for a module it does not have, want 1 (its not-found kept)", n)
	}

	kept := newWorld(t, func(o *Options) { o.PrivateTTL = time.Hour })
	_, _ = kept.gate.List(ctx, "corp.example/svc", cred(""))
	kept.private.add(&modVersion{path: "corp.example/svc", version: "v1.2.0", time: now})
	if doc, err := kept.gate.List(ctx, "corp.example/svc", cred("")); err != nil || string(doc.Body) != "v1.0.0\nv1.1.0\n" {
		t.Errorf("List with PrivateTTL = %q, %v, want the kept list", doc.Body, err)
	}
}

// TestConcurrentColdList: concurrent cold requests for one list cost one upstream
// read of the list and of each version (the singleflight layer's own test, in package
// source, proves the collapse while every caller waits).
func TestConcurrentColdList(t *testing.T) {
	w := newWorld(t, nil)
	w.public.hold = func(p string) bool { return p == "/example.com/lib/@v/list" }
	const n = 12
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := w.gate.List(context.Background(), "example.com/lib", cred(""))
			errs <- err
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.public.count("/example.com/lib/@v/list") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the list request")
		}
		time.Sleep(time.Millisecond)
	}
	close(w.public.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if c := w.public.count("/example.com/lib/@v/list"); c != 1 {
		t.Errorf("list fetched %d times by %d concurrent callers, want 1", c, n)
	}
	if c := w.public.count("/example.com/lib/@v/v1.1.0.info"); c != 1 {
		t.Errorf(".info fetched %d times by %d concurrent callers, want 1", c, n)
	}
}

func TestMaxVersions(t *testing.T) {
	w := newWorld(t, func(o *Options) { o.MaxVersions = 2 })
	doc, err := w.gate.List(context.Background(), "example.com/lib", cred(""))
	if err != nil || string(doc.Body) != "v1.2.0-rc.1\n" {
		t.Errorf("List with MaxVersions 2 = %q, %v, want the admitted one of the two highest", doc.Body, err)
	}
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		if n := w.public.count("/example.com/lib/@v/" + v + ".info"); n != 0 {
			t.Errorf("%s, past MaxVersions, was read %d times", v, n)
		}
	}
}

func TestExplain(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	ex, err := w.gate.Explain(ctx, "example.com/nosum", "", cred(""))
	if err != nil {
		t.Fatal(err)
	}
	if ex.Source != SourcePublic || ex.Admitted != 1 || ex.Blocked != 1 || len(ex.Versions) != 2 {
		t.Fatalf("Explain(nosum) = %+v", ex)
	}
	v0, v1 := ex.Versions[0], ex.Versions[1]
	if v0.Version != "v1.0.0" || v0.Admitted || v0.SumDB != SumDBNoRecord || v0.Rule != policy.RuleIntegrityFloor ||
		v0.TimeSource != "author-chosen commit time" || v0.Published == nil || !v0.Published.Equal(daysAgo(90)) {
		t.Errorf("Explain(nosum)[0] = %+v", v0)
	}
	if !v1.Admitted || v1.SumDB != SumDBVerified {
		t.Errorf("Explain(nosum)[1] = %+v", v1)
	}
	young, err := w.gate.Explain(ctx, "example.com/lib", "v1.2.0", cred(""))
	if err != nil || len(young.Versions) != 1 || young.Versions[0].AdmitAt == nil || !young.Versions[0].AdmitAt.Equal(daysAgo(1).Add(7*24*time.Hour)) {
		t.Errorf("Explain(lib@v1.2.0) = %+v, %v, want an admission date", young, err)
	}
	if _, err := w.gate.Explain(ctx, "example.com/lib", "v1.9.9", cred("")); kindOf(err) != notFound {
		t.Errorf("Explain(an absent version) = %v, want not found", err)
	}
	internal, err := w.gate.Explain(ctx, "corp.example/svc", "", cred(""))
	if err != nil || internal.Source != SourcePrivate || internal.Admitted != 2 || internal.Versions[0].SumDB != SumDBNotAsked {
		t.Errorf("Explain(internal) = %+v, %v", internal, err)
	}
}

func TestRefusalKindString(t *testing.T) {
	for k, want := range map[RefusalKind]string{RefusedByPolicy: "policy", RefusedChecksum: "checksum", RefusalKind(9): "RefusalKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("RefusalKind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}
