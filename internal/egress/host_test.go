package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestParseLooseIPv4(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when the text is not a loose IPv4 literal
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7f.0.0.1", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0X7F.0X0.0X0.0X1", "127.0.0.1"},
		{"169.254.43518", "169.254.169.254"},
		{"0xa9fea9fe", "169.254.169.254"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"4294967295", "255.255.255.255"},
		{"4294967296", ""},
		{"256.0.0.1", ""},
		{"1.2.3.256", ""},
		{"1.2.65536", ""},
		{"1.2.3.4.5", ""},
		{"08.0.0.1", ""},
		{"1..2", ""},
		{"0x1g", ""},
		{"+1", ""},
		{"99999999999999999999999999", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseLooseIPv4(tc.in)
			switch {
			case tc.want == "" && ok:
				t.Errorf("parseLooseIPv4(%q) = %s, want not a literal", tc.in, got)
			case tc.want != "" && (!ok || got != netip.MustParseAddr(tc.want)):
				t.Errorf("parseLooseIPv4(%q) = %s, %v, want %s", tc.in, got, ok, tc.want)
			}
		})
	}
}

func TestParseHost(t *testing.T) {
	tests := []struct {
		in     string
		name   string // wanted normalised name
		addr   string // or wanted literal
		reason string // or a word of the refusal
	}{
		{in: "registry.example.test", name: "registry.example.test"},
		{in: "Registry.Example.TEST.", name: "registry.example.test"},
		{in: "under_score.example.test", name: "under_score.example.test"},
		{in: "1.2.3.4.example.test", name: "1.2.3.4.example.test"},
		{in: "0x7f.example.test", name: "0x7f.example.test"},
		{in: "foo.3com", name: "foo.3com"},
		{in: "203.0.113.5", addr: "203.0.113.5"},
		{in: "127.0.0.1.", addr: "127.0.0.1"},
		{in: "::1", addr: "::1"},
		{in: "fe80::1%eth0", addr: "fe80::1%eth0"},
		{in: "2130706433", reason: "reads as 127.0.0.1"},
		{in: "0177.0.0.1", reason: "reads as 127.0.0.1"},
		{in: "0x7f.1", reason: "reads as 127.0.0.1"},
		{in: "127.1", reason: "reads as 127.0.0.1"},
		{in: "127.000.000.001", reason: "reads as 127.0.0.1"},
		{in: "0", reason: "reads as 0.0.0.0"},
		{in: "example.test.1", reason: "numeric"},
		{in: "1.2.3.4.5", reason: "numeric"},
		{in: "08.0.0.1", reason: "numeric"},
		{in: "", reason: "empty"},
		{in: "..", reason: "malformed host"},
		{in: "a..b", reason: "malformed host"},
		{in: "exa mple.test", reason: "malformed host"},
		{in: "evil.test\x00.example.test", reason: "malformed host"},
		{in: "\u212aegistry.example.test", reason: "non-ASCII"},
		{in: "ｒegistry.example.test", reason: "non-ASCII"},
		{in: "::ffff:not-an-ip", reason: "IPv6"},
		{in: strings.Repeat("a", 64) + ".test", reason: "malformed host"},
		{in: strings.Repeat("a.", 130) + "test", reason: "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, reason := parseHost(tc.in)
			switch {
			case tc.reason != "":
				if !strings.Contains(reason, tc.reason) {
					t.Errorf("parseHost(%q) = %+v, %q, want refusal containing %q", tc.in, got, reason, tc.reason)
				}
			case reason != "":
				t.Errorf("parseHost(%q) refused: %q, want accepted", tc.in, reason)
			case tc.addr != "" && got.addr != netip.MustParseAddr(tc.addr):
				t.Errorf("parseHost(%q) = %+v, want address %s", tc.in, got, tc.addr)
			case tc.name != "" && got.name != tc.name:
				t.Errorf("parseHost(%q) = %+v, want name %s", tc.in, got, tc.name)
			}
		})
	}
}

func TestNewReportsEveryBadOption(t *testing.T) {
	_, err := New(Options{
		AllowedHosts:  []string{"ok.example.test", "bad host", "x.example.test:080", "https://y.example.test/npm"},
		AllowInternal: []netip.Prefix{{}, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")},
		DialTimeout:   -1,
	})
	if err == nil {
		t.Fatal("New(bad options) = nil error, want one")
	}
	for _, want := range []string{`"bad host"`, `"x.example.test:080"`, `"https://y.example.test/npm"`, "AllowInternal[0]", "AllowInternal[1]", "AllowInternal[2]", "DialTimeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New(bad options) = %q, want it to mention %s", err, want)
		}
	}
	// Each problem is an *OptionError naming its field and entry, for the caller to
	// report under its own name for the setting.
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var oe *OptionError
		if !errors.As(e, &oe) {
			t.Fatalf("problem %v is not an *OptionError", e)
		}
		got = append(got, fmt.Sprintf("%s[%d]", oe.Option, oe.Index))
	}
	want := "DialTimeout[-1] AllowedHosts[1] AllowedHosts[2] AllowedHosts[3] AllowInternal[0] AllowInternal[1] AllowInternal[2]"
	if strings.Join(got, " ") != want {
		t.Errorf("option errors name %v, want %s", got, want)
	}
}
