package mirror

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ecluse/ecluse/internal/observe/observetest"
)

// The tests in this file install global OpenTelemetry providers: none of them may run
// in parallel with another.

func TestJobTelemetry(t *testing.T) {
	tel := observetest.Install(t)
	r := newRig(t)
	tgz := []byte("the left-pad tarball")
	r.public.add("left-pad", "1.3.0", tgz)
	w := r.worker(t, func(o *WorkerOptions) { o.Logger = slog.New(slog.DiscardHandler) })

	tests := []struct {
		name    string
		body    []byte
		outcome string
		status  codes.Code
		attrs   map[string]string
	}{
		{"published", mustEncode(t, r.job("left-pad", "1.3.0", tgz)), "published", codes.Unset,
			map[string]string{"ecluse.package": "left-pad", "ecluse.version": "1.3.0", "ecluse.mount": "npm", "ecluse.ecosystem": "npm", "ecluse.attempt": "1"}},
		{"already there", mustEncode(t, r.job("left-pad", "1.3.0", tgz)), "skipped", codes.Unset,
			map[string]string{"ecluse.package": "left-pad"}},
		{"not upstream", mustEncode(t, r.job("left-pad", "9.9.9", tgz)), "failed", codes.Error,
			map[string]string{"ecluse.version": "9.9.9", "ecluse.reason": "not_found"}},
		{"undecodable", []byte("not a job"), "poison", codes.Error, nil},
	}
	want := map[string]int64{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel.Spans.Reset()
			// One delivery, run as the worker runs each it receives.
			w.begin()
			w.handle(context.Background(), &fakeMsg{body: tt.body, attempt: 1, settled: make(chan struct{})})
			var job sdktrace.ReadOnlySpan
			for _, s := range tel.Spans.Ended() {
				if s.Name() == "mirror.job" {
					job = s
				}
			}
			if job == nil {
				t.Fatal("no mirror.job span ended")
			}
			got := observetest.Attrs(job)
			if got["ecluse.outcome"] != tt.outcome {
				t.Errorf("mirror.job outcome = %q, want %q", got["ecluse.outcome"], tt.outcome)
			}
			for k, v := range tt.attrs {
				if got[k] != v {
					t.Errorf("mirror.job attribute %s = %q, want %q", k, got[k], v)
				}
			}
			if job.Status().Code != tt.status {
				t.Errorf("mirror.job status = %v, want %v", job.Status(), tt.status)
			}
			if tt.outcome == "published" {
				fetched := false
				for _, s := range tel.Spans.Ended() {
					fetched = fetched || s.Name() == "upstream public" && s.Parent().SpanID() == job.SpanContext().SpanID()
				}
				if !fetched {
					t.Error("no upstream fetch is a child of mirror.job")
				}
			}
			want["ecluse.outcome="+tt.outcome]++
		})
	}
	if got := tel.Sums(t, "ecluse.mirror.jobs"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ecluse.mirror.jobs = %v, want %v", got, want)
	}
}
