package observe

import (
	"context"
	"encoding/binary"
	"log/slog"
	"slices"
	"strconv"

	"go.opentelemetry.io/otel/trace"
)

// ddKey is the log field holding the service identity and the active span's ids, in
// the form Datadog correlates logs with traces by.
const ddKey = "dd"

// ddHandler adds the dd object to every record at the top level of the line, whatever
// groups the logger has opened:
//
//	"dd":{"service":"ecluse","env":"prod","version":"1.2.3","trace_id":"…","span_id":"…"}
//
// trace_id and span_id are there only when the record's context carries a valid span
// context; they are decimal, trace_id being the low 64 bits of the trace id.
type ddHandler struct {
	// inner receives the records; it holds the attributes added before the first group.
	inner slog.Handler
	id    Identity
	// scoped are the groups opened, and the attributes added inside them, in order.
	// Empty means records go to inner as they come (with dd appended).
	scoped []scope
}

// scope is one WithGroup or WithAttrs call made after the first group was opened.
type scope struct {
	group string
	attrs []slog.Attr
}

var _ slog.Handler = (*ddHandler)(nil)

func newDDHandler(inner slog.Handler, id Identity) *ddHandler {
	return &ddHandler{inner: inner, id: id}
}

// Enabled reports whether the wrapped handler logs at level.
func (h *ddHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle writes r with the dd object added at the top level.
func (h *ddHandler) Handle(ctx context.Context, r slog.Record) error {
	dd := h.dd(ctx)
	if len(h.scoped) == 0 {
		r = r.Clone()
		r.AddAttrs(dd)
		return h.inner.Handle(ctx, r)
	}
	// Rebuild the nesting the groups describe, innermost first, so that dd can sit
	// outside them.
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	for i := len(h.scoped) - 1; i >= 0; i-- {
		s := h.scoped[i]
		if s.group != "" {
			attrs = []slog.Attr{{Key: s.group, Value: slog.GroupValue(attrs...)}}
			continue
		}
		attrs = append(slices.Clip(s.attrs), attrs...)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(attrs...)
	out.AddAttrs(dd)
	return h.inner.Handle(ctx, out)
}

// WithAttrs returns a handler whose records carry attrs.
func (h *ddHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if len(h.scoped) == 0 {
		return &ddHandler{inner: h.inner.WithAttrs(attrs), id: h.id}
	}
	return &ddHandler{inner: h.inner, id: h.id, scoped: append(slices.Clip(h.scoped), scope{attrs: slices.Clone(attrs)})}
}

// WithGroup returns a handler whose later attributes are nested under name.
func (h *ddHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &ddHandler{inner: h.inner, id: h.id, scoped: append(slices.Clip(h.scoped), scope{group: name})}
}

// dd is the dd attribute for a record logged with ctx.
func (h *ddHandler) dd(ctx context.Context) slog.Attr {
	fields := make([]slog.Attr, 3, 5)
	fields[0] = slog.String("service", h.id.Service)
	fields[1] = slog.String("env", h.id.Env)
	fields[2] = slog.String("version", h.id.Version)
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			traceID, spanID := datadogIDs(sc.TraceID(), sc.SpanID())
			fields = append(fields, slog.String("trace_id", traceID), slog.String("span_id", spanID))
		}
	}
	return slog.Attr{Key: ddKey, Value: slog.GroupValue(fields...)}
}

// datadogIDs renders a span's ids as Datadog correlates them: the decimal form of the
// trace id's low 64 bits, and the decimal span id.
func datadogIDs(traceID trace.TraceID, spanID trace.SpanID) (string, string) {
	return strconv.FormatUint(binary.BigEndian.Uint64(traceID[8:]), 10),
		strconv.FormatUint(binary.BigEndian.Uint64(spanID[:]), 10)
}
