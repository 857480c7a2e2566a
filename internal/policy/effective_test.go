package policy

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

const exceptionsDoc = `{"rules":{
	"exceptions":{"type":"AllowPackages","packages":[
		{"pattern":"lapsed","reason":"old incident","expires":"2026-06-01"},
		{"pattern":"soon","reason":"until the fix ships","expires":"2026-06-20"},
		{"pattern":"edge","expires":"2026-06-29T12:00:00Z"},
		{"pattern":"later","expires":"2026-09-01"},
		"forever"]},
	"more":{"type":"AllowPackages","precedence":10,"packages":[{"pattern":"also-lapsed","expires":"2026-06-15T11:59:59Z"}]},
	"blocked":{"type":"DenyPackages","packages":[{"pattern":"x","reason":"never"}]}}}`

func TestExpiring(t *testing.T) {
	p := mustBuild(t, exceptionsDoc, Options{})
	expired, soon := p.Expiring(now, ExpiryWarningWindow)
	names := func(xs []Exception) []string {
		var out []string
		for _, x := range xs {
			out = append(out, x.Rule+":"+x.Pattern)
		}
		return out
	}
	if got, want := names(expired), []string{"exceptions:lapsed", "more:also-lapsed"}; !slices.Equal(got, want) {
		t.Errorf("Expiring expired = %q, want %q", got, want)
	}
	if got, want := names(soon), []string{"exceptions:soon", "exceptions:edge"}; !slices.Equal(got, want) {
		t.Errorf("Expiring soon = %q, want %q", got, want)
	}
	if len(soon) > 0 {
		x := soon[0]
		if x.Reason != "until the fix ships" || x.ExpiresText != "2026-06-20" || !x.Expires.Equal(time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("soon[0] = %+v", x)
		}
	}
	if e, s := mustBuild(t, "", Options{}).Expiring(now, ExpiryWarningWindow); e != nil || s != nil {
		t.Errorf("Expiring on the default policy = %v, %v, want nil, nil", e, s)
	}
}

func TestEffectiveGolden(t *testing.T) {
	p := mustBuild(t, exceptionsDoc, Options{MinIntegrity: "sha512"})
	got, err := json.MarshalIndent(p.Effective(now), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "exceptions.effective.json", got)
}

func TestEffectiveSuppressedIsEmptyNotNull(t *testing.T) {
	got, err := json.Marshal(mustBuild(t, `{"rules":{"min-age":null,"deny-malicious":null,"remediation-fast-track":null}}`, Options{}).Effective(now))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"integrityFloor":"sha256","rules":[],"suppressed":["deny-malicious","min-age","remediation-fast-track"]}`; string(got) != want {
		t.Errorf("Effective JSON = %s, want %s", got, want)
	}
	got, _ = json.Marshal(mustBuild(t, "", Options{}).Effective(now))
	if want := `{"integrityFloor":"sha256","rules":[` +
		`{"name":"deny-malicious","type":"DenyMalicious","precedence":500,"mode":"enforce","origin":"default","onMissingIndex":"deny"},` +
		`{"name":"remediation-fast-track","type":"AllowIfRemediatesCve","precedence":120,"mode":"enforce","origin":"default"},` +
		`{"name":"min-age","type":"MinAge","precedence":100,"mode":"enforce","origin":"default","ageSeconds":604800}],"suppressed":[]}`; string(got) != want {
		t.Errorf("Effective JSON = %s, want %s", got, want)
	}
}
