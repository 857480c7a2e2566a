package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, FormatJSON, false)
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
	l, _ = NewLogger(&buf, FormatConsole, true)
	l.Debug("shown", "k", "v")
	if !strings.Contains(buf.String(), "msg=shown k=v") {
		t.Errorf("console line = %q", buf.String())
	}
	if _, err := NewLogger(&buf, "xml", false); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestLoggerInContext(t *testing.T) {
	var buf bytes.Buffer
	l, _ := NewLogger(&buf, FormatJSON, false)
	ctx := WithLogger(context.Background(), l.With("request_id", "r1"))
	Logger(ctx).Info("x")
	if !strings.Contains(buf.String(), `"request_id":"r1"`) {
		t.Errorf("context logger lost its fields: %q", buf.String())
	}
	if Logger(context.Background()) == nil {
		t.Error("no default logger")
	}
}
