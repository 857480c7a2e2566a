package redact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverRenders(t *testing.T) {
	const value = "s3cr3t-t0ken-value"
	s := New(value)
	holder := struct {
		Token Secret
		Ptr   *Secret
	}{s, &s}

	renders := map[string]string{
		"String":   s.String(),
		"GoString": s.GoString(),
		"%s":       fmt.Sprintf("%s", s),
		"%v":       fmt.Sprintf("%v", s),
		"%+v":      fmt.Sprintf("%+v", holder),
		"%#v":      fmt.Sprintf("%#v", holder),
		"%q":       fmt.Sprintf("%q", s),
		"%x":       fmt.Sprintf("%x", s),
		"%d":       fmt.Sprintf("%d", s),
		"ptr %v":   fmt.Sprintf("%v", &s),
	}
	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	renders["json"] = string(j)
	txt, _ := s.MarshalText()
	renders["text"] = string(txt)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "token", s, "holder", holder)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "token", s, "ptr", &s)
	renders["slog"] = buf.String()

	for name, got := range renders {
		if strings.Contains(got, value) {
			t.Errorf("%s rendering = %q, leaks the secret", name, got)
		}
	}
	if !strings.Contains(renders["json"], Placeholder) {
		t.Errorf("json = %s, want placeholder", renders["json"])
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want %q", s.Reveal(), value)
	}
}

func TestSecretEqual(t *testing.T) {
	tests := []struct {
		secret, candidate string
		want              bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"abc", "", false},
	}
	for _, tt := range tests {
		if got := New(tt.secret).Equal(tt.candidate); got != tt.want {
			t.Errorf("New(%q).Equal(%q) = %v, want %v", tt.secret, tt.candidate, got, tt.want)
		}
	}
	if New("").IsSet() || !New("x").IsSet() {
		t.Error("IsSet wrong")
	}
}

func TestScopeAndContext(t *testing.T) {
	a, b := New("token-a"), New("token-b")
	if got := (Secret{}).Scope("demo"); got != "-|demo" {
		t.Errorf("unset scope %q", got)
	}
	if a.Scope("demo") == b.Scope("demo") || a.Scope("demo") != New("token-a").Scope("demo") {
		t.Error("scopes must differ by secret and agree for the same one")
	}
	if strings.Contains(a.Scope("demo"), "token-a") {
		t.Error("the scope holds the secret")
	}
	if got := SecretFrom(WithSecret(context.Background(), a)); !got.Equal("token-a") {
		t.Errorf("SecretFrom = %v", got)
	}
	if SecretFrom(context.Background()).IsSet() {
		t.Error("a bare context carries a secret")
	}
}
