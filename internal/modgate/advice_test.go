package modgate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/policy"
)

type swappable struct {
	p atomic.Pointer[advisory.Snapshot]
}

func (s *swappable) Snapshot() *advisory.Snapshot { return s.p.Load() }

// TestAdvisoriesForModules: on a Go mount, DenyMalicious and DenyIfCVE read the index
// under OSV's Go ecosystem (whose records write versions without the "v"), and the
// default policy fails closed until an index has loaded.
func TestAdvisoriesForModules(t *testing.T) {
	p, errs := policy.Build([]byte(`{"cve":{"type":"DenyIfCVE"}}`), policy.Options{Ecosystem: "go"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	idx := &swappable{}
	w := newWorld(t, func(o *Options) { o.Policy = p; o.Advisories = idx })
	ctx := context.Background()
	refusedFor := func(version, want string) {
		t.Helper()
		_, err := w.gate.Info(ctx, "example.com/lib", version, cred(""))
		var ref *RefusedError
		if !errors.As(err, &ref) || !strings.Contains(ref.Message, want) {
			t.Errorf("Info(example.com/lib@%s) = %v, want a refusal containing %q", version, err, want)
		}
	}
	refusedFor("v1.1.0", "advisory index has not loaded yet")

	dir := t.TempDir()
	records := map[string]string{
		"GO-2026-0001.json": `{"id":"GO-2026-0001","modified":"2026-11-01T00:00:00Z","aliases":["CVE-2026-2222"],
			"affected":[{"package":{"ecosystem":"Go","name":"example.com/lib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.1.0"}]}]}]}`,
		"MAL-2026-0002.json": `{"id":"MAL-2026-0002","modified":"2026-11-01T00:00:00Z",
			"affected":[{"package":{"ecosystem":"Go","name":"example.com/lib"},"versions":["v1.1.0"]}]}`,
	}
	for name, body := range records {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := advisory.ReadDir(dir, []string{advisory.EcosystemGo}, advisory.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	idx.p.Store(advisory.Merge(1, now, set))
	refusedFor("v1.0.0", "is affected by GO-2026-0001 (CVE-2026-2222")
	refusedFor("v1.1.0", "reported as malware (MAL-2026-0002)")

	ex, err := w.gate.Explain(ctx, "example.com/lib", "v1.1.0", cred(""))
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Versions) != 1 || len(ex.Versions[0].Advisories) != 1 || ex.Versions[0].Advisories[0].ID != "MAL-2026-0002" ||
		strings.Join(ex.Versions[0].Advisories[0].Rules, ",") != policy.RuleDenyMalicious {
		t.Errorf("Explain(v1.1.0) = %+v, want MAL-2026-0002 feeding deny-malicious", ex.Versions)
	}
}
