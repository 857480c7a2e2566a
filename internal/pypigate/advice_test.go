package pypigate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ecluse/ecluse/internal/advisory"
	"github.com/ecluse/ecluse/internal/redact"
)

type snapshotHolder struct {
	p atomic.Pointer[advisory.Snapshot]
}

func (s *snapshotHolder) Snapshot() *advisory.Snapshot { return s.p.Load() }

// TestAdvisoriesForProjects: DenyIfCVE reads the index's PyPI records (which list the
// affected versions), under the normalised name, and fails closed until it has loaded.
func TestAdvisoriesForProjects(t *testing.T) {
	pub := newIndex("https://index.example.test/simple/")
	bad := pub.add(spec{name: "py-yaml", version: "5.3", age: old})
	good := pub.add(spec{name: "py-yaml", version: "6.0", age: old})
	idx := &snapshotHolder{}
	g := newGate(t, pub, nil, `{"min-age": {"type": "MinAge", "ageSeconds": 604800}, "cve": {"type": "DenyIfCVE"}}`,
		func(o *Options) { o.Advisories = idx })
	ctx := context.Background()
	var ref *RefusedError
	if _, err := g.File(ctx, "py-yaml", good.Filename, redact.Secret{}); !errors.As(err, &ref) {
		t.Fatalf("before the index loads: %v, want a refusal", err)
	}
	dir := t.TempDir()
	rec := `{"id":"PYSEC-2026-1","modified":"2026-11-01T00:00:00Z","aliases":["CVE-2026-3333"],
		"affected":[{"package":{"ecosystem":"PyPI","name":"py-yaml"},"versions":["5.3"]}]}`
	if err := os.WriteFile(filepath.Join(dir, "PYSEC-2026-1.json"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := advisory.ReadDir(dir, []string{advisory.EcosystemPyPI}, advisory.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	idx.p.Store(advisory.Merge(1, now, set))
	if _, err := g.File(ctx, "py-yaml", bad.Filename, redact.Secret{}); !errors.As(err, &ref) || !strings.Contains(ref.Message, "CVE-2026-3333") {
		t.Errorf("affected 5.3: %v, want a refusal naming the CVE", err)
	}
	f, err := g.File(ctx, "py-yaml", good.Filename, redact.Secret{})
	if err != nil {
		t.Fatalf("unaffected 6.0: %v", err)
	}
	f.Body.Close()
}
