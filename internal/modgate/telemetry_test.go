package modgate

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"

	"github.com/ecluse/ecluse/internal/observe/observetest"
)

// The tests in this file install global OpenTelemetry providers: none of them may run
// in parallel with another.

func TestDecideTelemetry(t *testing.T) {
	tel := observetest.Install(t)
	w := newWorld(t, nil)
	tests := []struct {
		name, version string
		rule, allowed string
	}{
		{"admitted", "v1.1.0", "min-age", "true"},
		{"refused", "v1.2.0", "default-deny", "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel.Spans.Reset()
			ctx, req := otel.Tracer("test").Start(context.Background(), "GET go-info")
			_, _ = w.gate.Info(ctx, "example.com/lib", tt.version, cred(""))
			req.End()
			decides := tel.Ended("policy.decide")
			if len(decides) != 1 {
				t.Fatalf("%d policy.decide spans, want 1", len(decides))
			}
			d := decides[0]
			if d.Parent().SpanID() != req.SpanContext().SpanID() {
				t.Errorf("policy.decide parent = %v, want the request span %v", d.Parent().SpanID(), req.SpanContext().SpanID())
			}
			got := observetest.Attrs(d)
			for k, v := range map[string]string{
				"ecluse.module": "example.com/lib", "ecluse.version": tt.version,
				"ecluse.rule": tt.rule, "ecluse.allowed": tt.allowed,
			} {
				if got[k] != v {
					t.Errorf("policy.decide attribute %s = %q, want %q", k, got[k], v)
				}
			}
			// What the policy reads about the version is fetched under its decision.
			fetches := 0
			for _, s := range tel.Spans.Ended() {
				if s.Name() == "upstream public" && s.Parent().SpanID() == d.SpanContext().SpanID() {
					fetches++
				}
			}
			if fetches == 0 {
				t.Error("no upstream fetch is a child of policy.decide")
			}
		})
	}

	t.Run("one span per version of a list", func(t *testing.T) {
		tel.Spans.Reset()
		ctx, req := otel.Tracer("test").Start(context.Background(), "GET go-list")
		if _, err := w.gate.List(ctx, "example.com/pre", cred("")); err != nil {
			t.Fatal(err)
		}
		req.End()
		versions := map[string]string{}
		for _, s := range tel.Spans.Ended() {
			if s.Name() == "policy.decide" && s.Parent().SpanID() == req.SpanContext().SpanID() {
				a := observetest.Attrs(s)
				versions[a["ecluse.version"]] = a["ecluse.allowed"]
			}
		}
		if len(versions) != 2 || versions["v0.1.0-rc.1"] != "true" || versions["v0.1.0"] != "false" {
			t.Errorf("policy.decide spans of List(example.com/pre): %v, want v0.1.0-rc.1 allowed and v0.1.0 not", versions)
		}
	})
}
