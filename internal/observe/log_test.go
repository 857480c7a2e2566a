package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var testID = Identity{Service: "ecluse", Env: "prod", Version: "1.2.3"}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, FormatJSON, false, testID)
	if err != nil {
		t.Fatal(err)
	}
	l.Info("request", "status", 200)
	l.Debug("hidden")
	var entry map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &entry); err != nil || entry["msg"] != "request" {
		t.Errorf("json line = %q (%v)", buf.String(), err)
	}
	buf.Reset()
	l, _ = NewLogger(&buf, FormatConsole, true, testID)
	l.Debug("shown", "k", "v")
	if !strings.Contains(buf.String(), "msg=shown k=v dd.service=ecluse dd.env=prod dd.version=1.2.3") {
		t.Errorf("console line = %q", buf.String())
	}
	if _, err := NewLogger(&buf, "xml", false, testID); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestLoggerInContext(t *testing.T) {
	var buf bytes.Buffer
	l, _ := NewLogger(&buf, FormatJSON, false, testID)
	ctx := WithLogger(context.Background(), l.With("request_id", "r1"))
	Logger(ctx).Info("x")
	if !strings.Contains(buf.String(), `"request_id":"r1"`) {
		t.Errorf("context logger lost its fields: %q", buf.String())
	}
	if Logger(context.Background()) == nil {
		t.Error("no default logger")
	}
}

// spanContext is a valid, sampled span context with the given ids.
func spanContext(t *testing.T, traceHex, spanHex string) trace.SpanContext {
	t.Helper()
	tid, err := trace.TraceIDFromHex(traceHex)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := trace.SpanIDFromHex(spanHex)
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
}

// TestDDObject: every line carries dd with the identity, at the top level whatever
// groups are open, and the active span's ids in Datadog's decimal form when the
// context has a valid one.
func TestDDObject(t *testing.T) {
	withSpan := func(sc trace.SpanContext) context.Context {
		return trace.ContextWithSpanContext(context.Background(), sc)
	}
	tests := []struct {
		name   string
		id     Identity
		ctx    context.Context
		logger func(*slog.Logger) *slog.Logger
		wantDD map[string]any
		// want are other fields of the line, as decoded JSON.
		want map[string]any
	}{
		{name: "no span: identity only", id: testID, ctx: context.Background(),
			wantDD: map[string]any{"service": "ecluse", "env": "prod", "version": "1.2.3"}},
		{name: "empty env is still there", id: Identity{Service: "ecluse", Version: "dev"}, ctx: context.Background(),
			wantDD: map[string]any{"service": "ecluse", "env": "", "version": "dev"}},
		{name: "active span: decimal low 64 bits and decimal span id", id: testID,
			ctx:    withSpan(spanContext(t, "0102030405060708090a0b0c0d0e0f10", "1112131415161718")),
			wantDD: map[string]any{"service": "ecluse", "env": "prod", "version": "1.2.3", "trace_id": "651345242494996240", "span_id": "1230066625199609624"}},
		{name: "ids above 2^63 stay unsigned", id: testID,
			ctx:    withSpan(spanContext(t, "0000000000000001fedcba9876543210", "fedcba9876543210")),
			wantDD: map[string]any{"service": "ecluse", "env": "prod", "version": "1.2.3", "trace_id": "18364758544493064720", "span_id": "18364758544493064720"}},
		{name: "invalid span context: no ids", id: testID,
			ctx:    withSpan(trace.SpanContext{}),
			wantDD: map[string]any{"service": "ecluse", "env": "prod", "version": "1.2.3"}},
		{name: "attributes from With stay", id: testID, ctx: context.Background(),
			logger: func(l *slog.Logger) *slog.Logger { return l.With("mount", "npm") },
			wantDD: map[string]any{"service": "ecluse", "env": "prod", "version": "1.2.3"},
			want:   map[string]any{"mount": "npm", "k": "v"}},
		{name: "dd stays outside groups", id: testID,
			ctx:    withSpan(spanContext(t, "0102030405060708090a0b0c0d0e0f10", "1112131415161718")),
			logger: func(l *slog.Logger) *slog.Logger { return l.With("a", 1).WithGroup("req").With("b", 2).WithGroup("up") },
			wantDD: map[string]any{"service": "ecluse", "env": "prod", "version": "1.2.3", "trace_id": "651345242494996240", "span_id": "1230066625199609624"},
			want:   map[string]any{"a": float64(1), "req": map[string]any{"b": float64(2), "up": map[string]any{"k": "v"}}}},
		{name: "a group holds the line's own attributes", id: testID, ctx: context.Background(),
			logger: func(l *slog.Logger) *slog.Logger { return l.WithGroup("empty") },
			wantDD: map[string]any{"service": "ecluse", "env": "prod", "version": "1.2.3"},
			want:   map[string]any{"empty": map[string]any{"k": "v"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := NewLogger(&buf, FormatJSON, false, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if tt.logger != nil {
				l = tt.logger(l)
			}
			l.InfoContext(tt.ctx, "line", "k", "v")
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("line %q: %v", buf.String(), err)
			}
			if !reflect.DeepEqual(line["dd"], tt.wantDD) {
				t.Errorf("dd = %#v, want %#v (line %s)", line["dd"], tt.wantDD, buf.String())
			}
			want := tt.want
			if want == nil {
				want = map[string]any{"k": "v"}
			}
			for k, v := range want {
				if !reflect.DeepEqual(line[k], v) {
					t.Errorf("%s = %#v, want %#v (line %s)", k, line[k], v, buf.String())
				}
			}
			if n := strings.Count(buf.String(), `"dd":`); n != 1 {
				t.Errorf("line has %d dd objects: %s", n, buf.String())
			}
		})
	}
}

// TestDDObjectWithSDKSpan: a span started by a real tracer provider (not installed
// globally) puts its own ids in dd, and the ids leave with the span's context.
func TestDDObjectWithSDKSpan(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	var buf bytes.Buffer
	l, _ := NewLogger(&buf, FormatJSON, false, testID)
	l.InfoContext(ctx, "inside")
	l.InfoContext(context.Background(), "outside")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines = %q", lines)
	}
	var inside, outside struct{ DD map[string]string }
	if err := json.Unmarshal([]byte(lines[0]), &inside); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &outside); err != nil {
		t.Fatal(err)
	}
	wantTrace, wantSpan := datadogIDs(span.SpanContext().TraceID(), span.SpanContext().SpanID())
	if inside.DD["trace_id"] != wantTrace || inside.DD["span_id"] != wantSpan || inside.DD["trace_id"] == "" {
		t.Errorf("inside the span dd = %v, want trace_id %s span_id %s", inside.DD, wantTrace, wantSpan)
	}
	if _, ok := outside.DD["trace_id"]; ok {
		t.Errorf("outside the span dd = %v, want no ids", outside.DD)
	}
}
