// Package observe sets up the process's structured logging (log/slog) and carries the
// request-scoped logger in a context. OpenTelemetry providers join it with the telemetry
// issue.
//
// It must not decide anything about requests; it only records them.
package observe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// Format names accepted by NewLogger.
const (
	FormatJSON    = "json"
	FormatConsole = "console"
)

// NewLogger returns a logger writing to w in the given format ("json": one object per
// line; "console": human-readable key=value lines). Level is Info unless debug is set.
func NewLogger(w io.Writer, format string, debug bool) (*slog.Logger, error) {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case FormatJSON, "":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case FormatConsole:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("unknown log format %q", format)
	}
}

type loggerKey struct{}

// WithLogger returns a context carrying l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the logger carried by ctx, or slog.Default() when there is none.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}
