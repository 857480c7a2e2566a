package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecluse/ecluse/internal/signing"
)

// signFixture adds a registry signature by ring to every version of a real packument
// that has an integrity, as a signing registry serves them.
func signFixture(tb testing.TB, raw []byte, ring *signing.Keyring) []byte {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		tb.Fatal(err)
	}
	name, _ := doc["name"].(string)
	for v, m := range doc["versions"].(map[string]any) {
		dist, _ := m.(map[string]any)["dist"].(map[string]any)
		integrity, _ := dist["integrity"].(string)
		if integrity == "" {
			continue
		}
		sig, err := ring.Sign(name, v, integrity)
		if err != nil {
			tb.Fatal(err)
		}
		dist["signatures"] = []signing.Signature{sig}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BenchmarkSigning measures, side by side in one run, what signing: all adds to a cold
// serve of a real document of about 3,000 versions, each signed by the public
// registry's key:
//
//	off-x-validate:        a cold serve with signing off (the yardstick's cold path)
//	first-x-validate:      a cold serve whose every signature is verified (first sight)
//	remembered-x-validate: a cold serve (new rendering) whose verifications are remembered
//	first-per-off, remembered-per-off: the same, against the cold serve without signing
func BenchmarkSigning(b *testing.B) {
	for _, fx := range []struct{ name, file string }{
		{"react", "react.json.gz"},
		{"typescript", "typescript.json.gz"},
	} {
		b.Run(fx.name, func(b *testing.B) {
			ring := testKeyring(b, time.Time{})
			raw := signFixture(b, loadPackument(b, fx.file), ring)
			at := quarantineClock(b, fx.name, raw)
			ks := newKeySource(ring)
			signed := func(o *Options) { o.Signing = SigningOptions{Mode: SigningAll, Public: ks} }
			ctx := context.Background()
			memo := benchGateWith(b, fx.name, raw, at, signed)
			doc, err := memo.Packument(ctx, Query{Name: fx.name})
			if err != nil || doc.Signing != SignatureVerified {
				b.Fatalf("signed fixture: %v, signing %q", err, doc.Signing)
			}
			var validate, off, first, remembered time.Duration
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
				off += time.Since(start)

				g = benchGateWith(b, fx.name, raw, at, signed)
				start = time.Now()
				if _, err := g.Packument(ctx, Query{Name: fx.name}); err != nil {
					b.Fatal(err)
				}
				first += time.Since(start)

				g = benchGateWith(b, fx.name, raw, at, signed)
				g.sigMemo = memo.sigMemo
				start = time.Now()
				if _, err := g.Packument(ctx, Query{Name: fx.name}); err != nil {
					b.Fatal(err)
				}
				remembered += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(float64(validate.Nanoseconds())/n/1e6, "validate-ms")
			b.ReportMetric(float64(off.Nanoseconds())/n/1e6, "off-ms")
			b.ReportMetric(float64(first.Nanoseconds())/n/1e6, "first-ms")
			b.ReportMetric(float64(remembered.Nanoseconds())/n/1e6, "remembered-ms")
			b.ReportMetric(float64(off)/float64(validate), "off-x-validate")
			b.ReportMetric(float64(first)/float64(validate), "first-x-validate")
			b.ReportMetric(float64(remembered)/float64(validate), "remembered-x-validate")
			b.ReportMetric(float64(first)/float64(off), "first-per-off")
			b.ReportMetric(float64(remembered)/float64(off), "remembered-per-off")
		})
	}
}
