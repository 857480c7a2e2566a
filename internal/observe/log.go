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

// NewLogger returns a logger writing to w in the given format ("json" or "": one object
// per line; "console": human-readable key=value lines). Level is Info unless debug is
// set. Every line carries the dd object: id's service, env and version, and the
// trace_id and span_id of the span active in the context the line is logged with (see
// ddHandler).
func NewLogger(w io.Writer, format string, debug bool, id Identity) (*slog.Logger, error) {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case FormatJSON, "":
		h = slog.NewJSONHandler(w, opts)
	case FormatConsole:
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("unknown log format %q", format)
	}
	return slog.New(newDDHandler(h, id)), nil
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
