package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ecluse/ecluse/internal/gate"
)

// terminalAttacks holds strings an upstream could put in a version or a reason to act on the
// operator's terminal: a title rewrite, a screen clear, an 8-bit CSI, a right-to-left
// override, a bare byte that is not UTF-8.
var terminalAttacks = []string{"1.0.0\x1b]0;pwned\x07", "\x1b[2J\x1b[1;1Hall clear", "x\u009b31m", "evil\u202egpj.exe", "bad\xffbyte"}

// TestExplainEscapesHostileText: `ecluse explain` never writes a control character
// from an answer to the terminal, in the table, in the JSON form or in an error.
func TestExplainEscapesHostileText(t *testing.T) {
	ex := gate.Explanation{Name: "pkg" + terminalAttacks[0], Source: "public", Warning: terminalAttacks[1]}
	for _, h := range terminalAttacks {
		ex.Versions = append(ex.Versions, gate.VersionExplanation{Version: h, Rule: h, Reason: h})
	}
	good, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := json.Marshal(map[string]string{"error": "denied " + strings.Join(terminalAttacks, " ")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write(bad)
			return
		}
		_, _ = w.Write(good)
	}))
	defer srv.Close()
	for _, tt := range []struct {
		name string
		spec string
		json bool
	}{
		{"table", "pkg", false},
		{"json", "pkg", true},
		{"error", "pkg@fail", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := askExplain(context.Background(), explainRequest{Base: srv.URL + "/", Spec: tt.spec, JSON: tt.json}, &out)
			text := out.String()
			if err != nil {
				text += err.Error()
			}
			for i, r := range text {
				if r == '\n' {
					continue
				}
				if r == utf8.RuneError || !safeRune(r) {
					t.Fatalf("output carries %U at byte %d: %q", r, i, text)
				}
			}
			if tt.json {
				var back gate.Explanation
				if err := json.Unmarshal(out.Bytes(), &back); err != nil {
					t.Fatalf("escaped JSON no longer parses: %v", err)
				}
				if back.Versions[3].Version != terminalAttacks[3] {
					t.Errorf("escaped JSON decodes to %q, want the original %q", back.Versions[3].Version, terminalAttacks[3])
				}
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"left-pad@1.3.0":     "left-pad@1.3.0",
		"Écluse é":           "Écluse é",
		"a\x1b[31mb":         `a\x1b[31mb`,
		"tab\there":          `tab\x09here`,
		"rtl\u202eoverride":  `rtl\u202eoverride`,
		"c1\u009bx":          `c1\x9bx`,
		"bad\xffbyte":        `bad\xffbyte`,
		"real \ufffd stays?": `real \ufffd stays?`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
