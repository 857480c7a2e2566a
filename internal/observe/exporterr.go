package observe

import (
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
)

// exportHeartbeat is the least time between two lines about failing export.
const exportHeartbeat = 5 * time.Minute

// exportErrors is the OpenTelemetry error handler: the first error is logged, the
// following ones are counted, and at most one line per interval says how many there
// were since the last line. It never blocks for long (it only logs), so an exporter
// reporting an error is never held up by it.
type exportErrors struct {
	log   *slog.Logger
	now   func() time.Time
	every time.Duration

	mu sync.Mutex
	// logged reports that the first error was logged.
	logged bool
	// last is when the last line was written.
	last time.Time
	// since counts the errors not yet reported by a line.
	since int
}

var _ otel.ErrorHandler = (*exportErrors)(nil)

func newExportErrors(log *slog.Logger, now func() time.Time, every time.Duration) *exportErrors {
	return &exportErrors{log: log, now: now, every: every}
}

// Handle records one error reported by the OpenTelemetry SDK (an export that failed,
// for the most part).
func (e *exportErrors) Handle(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	now := e.now()
	if !e.logged {
		e.logged, e.last = true, now
		e.mu.Unlock()
		e.log.Warn("telemetry export failed", "error", err.Error())
		return
	}
	e.since++
	if now.Sub(e.last) < e.every {
		e.mu.Unlock()
		return
	}
	failures := e.since
	e.since, e.last = 0, now
	e.mu.Unlock()
	e.log.Warn("telemetry export still failing", "failures", failures, "error", err.Error())
}
