package gate

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	jsontext "github.com/go-json-experiment/json/jsontext"

	"github.com/ecluse/ecluse/internal/budget"
	"github.com/ecluse/ecluse/internal/npm"
	"github.com/ecluse/ecluse/internal/policy"
	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/upstream"
)

// fixtureDir holds the real packuments shipped beside the repository (../shared).
var fixtureDir = filepath.Join("..", "..", "..", "shared", "fixtures", "packuments")

func loadPackument(tb testing.TB, file string) []byte {
	tb.Helper()
	f, err := os.Open(filepath.Join(fixtureDir, file))
	if err != nil {
		tb.Fatalf("fixture %s missing (the repository expects ../shared beside it): %v", file, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// memSource is an in-memory upstream: the benchmark measures Écluse, not the network.
type memSource struct {
	origin string
	docs   map[string][]byte
}

func (m *memSource) Origin() string { return m.origin }
func (m *memSource) Base() *url.URL {
	return &url.URL{Scheme: "https", Host: m.origin + ".example.test", Path: "/"}
}
func (m *memSource) Packument(_ context.Context, name string, _ redact.Secret, _ *budget.Lease) ([]byte, error) {
	if b, ok := m.docs[name]; ok {
		return b, nil
	}
	return nil, upstream.ErrNotFound
}
func (m *memSource) Open(context.Context, *url.URL, redact.Secret) (io.ReadCloser, int64, error) {
	return nil, 0, upstream.ErrNotFound
}

// benchGate builds a gate over in-memory upstreams with the default policy plus three
// rules, deciding at a clock that quarantines the newest fifth of the versions.
func benchGate(tb testing.TB, name string, raw []byte, at time.Time) *Gate {
	tb.Helper()
	return benchGateWith(tb, name, raw, at, nil)
}

// benchGateWith is benchGate with options changed by mutate (nil for none).
func benchGateWith(tb testing.TB, name string, raw []byte, at time.Time, mutate func(*Options)) *Gate {
	tb.Helper()
	pol, errs := policy.Build(json.RawMessage(`{
		"deny-scripts":{"type":"DenyInstallTimeExecution","precedence":200},
		"exceptions":{"type":"AllowPackages","packages":["@corp/*","left-pad@^1"]},
		"blocked":{"type":"DenyPackages","packages":["evil-*"]}}`), policy.Options{Ordering: npm.Semver{}})
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	opts := Options{
		Private:   &memSource{origin: "private", docs: map[string][]byte{}},
		Public:    &memSource{origin: "public", docs: map[string][]byte{name: raw}},
		Policy:    pol,
		PublicURL: &url.URL{Scheme: "https", Host: "ecluse.example.test", Path: "/"},
		Limits:    npm.Limits{MaxBytes: 64 << 20, MaxVersions: 100000, MaxDepth: 64},
		CacheTTL:  time.Hour,
		Now:       func() time.Time { return at },
	}
	if mutate != nil {
		mutate(&opts)
	}
	return New(opts)
}

// quarantineClock picks a decision time at which roughly a fifth of the versions are
// younger than seven days, so filtering, tag repair and the quarantine expiry all work.
func quarantineClock(tb testing.TB, name string, raw []byte) time.Time {
	tb.Helper()
	p, err := npm.ParsePackument(raw, name, npm.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	var times []time.Time
	for i := range p.Versions {
		if t := p.Versions[i].Info.Published; !t.IsZero() {
			times = append(times, t)
		}
	}
	if len(times) == 0 {
		tb.Fatal("fixture has no publish times")
	}
	latest := times[0]
	for _, t := range times {
		if t.After(latest) {
			latest = t
		}
	}
	return latest.Add(6 * 24 * time.Hour)
}

// BenchmarkReadPath measures, side by side in one run, the cost of each way a packument
// is served, and reports each as a ratio against a plain validation of the same bytes
// with the v2 JSON API (jsontext, duplicate names allowed, which is what json.Valid
// does), the floor any JSON-reading proxy pays:
//
//	cold-x-validate:        upstream bytes → parsed, decided, filtered, rewritten, full JSON
//	cold-abbrev-x-validate: the same, serialised in npm's abbreviated form
//	cold-abbrev-gzip-x-validate: the same, then compressed for a gzip request
//	warm-x-validate:        a repeat request served from the rendered cache
//	cold-per-warm:          how many warm serves one cold serve costs
func BenchmarkReadPath(b *testing.B) {
	for _, fx := range []struct{ name, file string }{
		{"next", "next.json.gz"},
		{"typescript", "typescript.json.gz"},
		{"react", "react.json.gz"},
	} {
		b.Run(fx.name, func(b *testing.B) {
			raw := loadPackument(b, fx.file)
			at := quarantineClock(b, fx.name, raw)
			ctx := context.Background()
			warmGate := benchGate(b, fx.name, raw, at)
			if _, err := warmGate.Packument(ctx, Query{Name: fx.name}); err != nil {
				b.Fatal(err)
			}
			var validate, cold, abbrev, gz, warm time.Duration
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if !jsontext.Value(raw).IsValid(jsontext.AllowDuplicateNames(true)) {
					b.Fatal("fixture is not valid JSON")
				}
				validate += time.Since(start)

				g := benchGate(b, fx.name, raw, at)
				start = time.Now()
				if _, err := g.Packument(ctx, Query{Name: fx.name}); err != nil {
					b.Fatal(err)
				}
				cold += time.Since(start)

				g = benchGate(b, fx.name, raw, at)
				start = time.Now()
				if _, err := g.Packument(ctx, Query{Name: fx.name, Abbreviated: true}); err != nil {
					b.Fatal(err)
				}
				abbrev += time.Since(start)

				g = benchGate(b, fx.name, raw, at)
				start = time.Now()
				d, err := g.Packument(ctx, Query{Name: fx.name, Abbreviated: true})
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := d.Gzip(); err != nil {
					b.Fatal(err)
				}
				gz += time.Since(start)

				start = time.Now()
				d, err = warmGate.Packument(ctx, Query{Name: fx.name})
				if err != nil || d.Cache != "hit" {
					b.Fatalf("warm serve: cache %v err %v", d, err)
				}
				warm += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(float64(validate.Nanoseconds())/n/1e6, "validate-ms")
			b.ReportMetric(float64(cold.Nanoseconds())/n/1e6, "cold-ms")
			b.ReportMetric(float64(abbrev.Nanoseconds())/n/1e6, "cold-abbrev-ms")
			b.ReportMetric(float64(warm.Nanoseconds())/n/1e6, "warm-ms")
			b.ReportMetric(float64(cold)/float64(validate), "cold-x-validate")
			b.ReportMetric(float64(abbrev)/float64(validate), "cold-abbrev-x-validate")
			b.ReportMetric(float64(gz)/float64(validate), "cold-abbrev-gzip-x-validate")
			b.ReportMetric(float64(warm)/float64(validate), "warm-x-validate")
			b.ReportMetric(float64(cold)/float64(warm), "cold-per-warm")
		})
	}
}
