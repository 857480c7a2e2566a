package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ecluse/ecluse/internal/gate"
	"github.com/ecluse/ecluse/internal/modgate"
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

// TestExplainGoModule asks a Go modules mount: the module path keeps its slashes, the
// version follows /@v/, the table shows where the publish time came from, and a plain-
// text refusal is printed escaped.
func TestExplainGoModule(t *testing.T) {
	published := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	ex := modgate.Explanation{Module: "example.com/Mod", Source: "public", Admitted: 1, Versions: []modgate.VersionExplanation{
		{Version: "v1.0.0", Admitted: true, Rule: "min-age", Reason: "old enough", Published: &published, TimeSource: "author-chosen commit time", SumDB: "verified"},
	}}
	good, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.EscapedPath())
		if strings.Contains(r.URL.Path, "refused") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("Écluse refused it \x1b[2J\n"))
			return
		}
		_, _ = w.Write(good)
	}))
	defer srv.Close()
	var out bytes.Buffer
	if err := askExplain(context.Background(), explainRequest{Base: srv.URL + "/go", Spec: "example.com/Mod@v1.0.0", Go: true}, &out); err != nil {
		t.Fatal(err)
	}
	if want := "/go/-/ecluse/explain/example.com/Mod/@v/v1.0.0"; len(paths) != 1 || paths[0] != want {
		t.Errorf("asked %v, want %s", paths, want)
	}
	for _, want := range []string{"example.com/Mod: served from public", "author-chosen commit time", "verified", "2024-01-02T03:04:05Z"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	err = askExplain(context.Background(), explainRequest{Base: srv.URL + "/go/", Spec: "example.com/refused", Go: true}, &out)
	if err == nil || !strings.Contains(err.Error(), "Écluse refused it") || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("refusal = %v, want the text, escaped", err)
	}
}
