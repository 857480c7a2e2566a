package observe

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// TestExportErrorsThrottled: the first error is logged, the next ones are only
// counted, and a heartbeat with the count comes at most once per interval.
func TestExportErrorsThrottled(t *testing.T) {
	type step struct {
		after time.Duration // clock advance before the error
		// want is the line this error produces: "" for none, else its message.
		want     string
		failures float64 // the heartbeat's count
	}
	const (
		first = "telemetry export failed"
		beat  = "telemetry export still failing"
	)
	tests := []struct {
		name  string
		steps []step
	}{
		{"one error, one line", []step{{0, first, 0}}},
		{"errors within the interval are counted", []step{
			{0, first, 0}, {time.Second, "", 0}, {time.Minute, "", 0}, {3 * time.Minute, "", 0},
		}},
		{"heartbeat after the interval, with the count since", []step{
			{0, first, 0}, {time.Minute, "", 0}, {time.Minute, "", 0}, {3 * time.Minute, beat, 3},
			{time.Second, "", 0}, {5 * time.Minute, beat, 2},
		}},
		{"a quiet spell then an error: one heartbeat, counting it", []step{
			{0, first, 0}, {time.Hour, beat, 1}, {time.Hour, beat, 1},
		}},
		{"never twice within the interval", []step{
			{0, first, 0}, {5*time.Minute - time.Nanosecond, "", 0}, {time.Nanosecond, beat, 2}, {4 * time.Minute, "", 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf logBuffer
			now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			h := newExportErrors(slog.New(slog.NewJSONHandler(&buf, nil)), func() time.Time { return now }, exportHeartbeat)
			for i, s := range tt.steps {
				now = now.Add(s.after)
				before := len(buf.lines(t))
				h.Handle(fmt.Errorf("export %d: %w", i, errors.New("connection refused")))
				lines := buf.lines(t)
				switch {
				case s.want == "" && len(lines) != before:
					t.Fatalf("step %d: error logged %v, want it counted only", i, lines[before:])
				case s.want != "" && len(lines) != before+1:
					t.Fatalf("step %d: %d new lines, want one %q", i, len(lines)-before, s.want)
				case s.want != "":
					l := lines[before]
					if l["msg"] != s.want || l["level"] != "WARN" || l["error"] != fmt.Sprintf("export %d: connection refused", i) {
						t.Errorf("step %d: line %v, want warn %q with the error", i, l, s.want)
					}
					if s.want == beat && l["failures"] != s.failures {
						t.Errorf("step %d: failures = %v, want %v", i, l["failures"], s.failures)
					}
				}
			}
		})
	}
}

func TestExportErrorsIgnoresNil(t *testing.T) {
	var buf logBuffer
	h := newExportErrors(slog.New(slog.NewJSONHandler(&buf, nil)), time.Now, exportHeartbeat)
	h.Handle(nil)
	if buf.String() != "" {
		t.Errorf("nil error logged: %s", buf.String())
	}
}
