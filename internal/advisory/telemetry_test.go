package advisory

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ecluse/ecluse/internal/observe/observetest"
)

// The tests in this file install global OpenTelemetry providers: none of them may run
// in parallel with another.

func TestSyncTelemetry(t *testing.T) {
	tel := observetest.Install(t)
	f := newFixture(t, nil)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		before func()
		ctx    context.Context
		attrs  map[string]string // absent: "-"
		status codes.Code
	}{
		{"first load", func() {}, syncCtx(t), map[string]string{
			"ecluse.outcome": "loaded", "ecluse.advisory.unchanged": "false", "ecluse.advisory.generation": "1", "ecluse.advisory.records": "1",
		}, codes.Unset},
		{"unchanged", func() {}, syncCtx(t), map[string]string{
			"ecluse.outcome": "unchanged", "ecluse.advisory.unchanged": "true", "ecluse.advisory.generation": "1",
		}, codes.Unset},
		{"cancelled", func() {}, cancelled, map[string]string{
			"ecluse.outcome": "cancelled", "ecluse.advisory.unchanged": "-",
		}, codes.Unset},
		{"source down", f.srv.Close, syncCtx(t), map[string]string{
			"ecluse.outcome": "failed", "ecluse.advisory.unchanged": "-", "ecluse.advisory.generation": "1",
		}, codes.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel.Spans.Reset()
			tt.before()
			ctx, parent := otel.Tracer("test").Start(tt.ctx, "sync loop")
			_ = f.sync.Sync(ctx)
			parent.End()
			var round sdktrace.ReadOnlySpan
			for _, s := range tel.Spans.Ended() {
				if s.Name() == "advisory.sync" {
					round = s
				}
			}
			if round == nil {
				t.Fatal("no advisory.sync span ended")
			}
			if round.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("advisory.sync parent = %v, want the caller's span", round.Parent().SpanID())
			}
			got := observetest.Attrs(round)
			for k, v := range tt.attrs {
				g, ok := got[k]
				if !ok {
					g = "-"
				}
				if g != v {
					t.Errorf("advisory.sync attribute %s = %q, want %q", k, g, v)
				}
			}
			if round.Status().Code != tt.status {
				t.Errorf("advisory.sync status = %v, want %v", round.Status(), tt.status)
			}
		})
	}
	want := map[string]int64{"ecluse.outcome=failed": 1, "ecluse.outcome=loaded": 1, "ecluse.outcome=unchanged": 1}
	if got := tel.Sums(t, "ecluse.advisory.syncs"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ecluse.advisory.syncs = %v, want %v (a cancelled round is not counted)", got, want)
	}
}
