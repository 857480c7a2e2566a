package pypi

import (
	"errors"
	"strings"
	"testing"
)

// pepOrdering is the example from PEP 440's "Summary of permitted suffixes and
// relative ordering", in ascending order.
var pepOrdering = []string{
	"1.dev0",
	"1.0.dev456",
	"1.0a1",
	"1.0a2.dev456",
	"1.0a12.dev456",
	"1.0a12",
	"1.0b1.dev456",
	"1.0b2",
	"1.0b2.post345.dev456",
	"1.0b2.post345",
	"1.0rc1.dev456",
	"1.0rc1",
	"1.0",
	"1.0+abc.5",
	"1.0+abc.7",
	"1.0+5",
	"1.0.post456.dev34",
	"1.0.post456",
	"1.0.15",
	"1.1.dev1",
}

// longOrdering is a longer ascending list mixing spellings, epochs and local labels.
var longOrdering = []string{
	"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456",
	"1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0b2-346", "1.0c1.dev456",
	"1.0c1", "1.0rc2", "1.0c3", "1.0", "1.0.post456.dev34", "1.0.post456", "1.1.dev1",
	"1.2+123abc", "1.2+123abc456", "1.2+abc", "1.2+abc123", "1.2+abc123def",
	"1.2+1234.abc", "1.2+123456", "1.2.r32+123456", "1.2.rev33+123456",
	"1!1.0.dev456", "1!1.0a1", "1!1.0a2.dev456", "1!1.0a12.dev456", "1!1.0a12",
	"1!1.0b1.dev456", "1!1.0b2", "1!1.0b2.post345.dev456", "1!1.0b2.post345",
	"1!1.0b2-346", "1!1.0c1.dev456", "1!1.0c1", "1!1.0rc2", "1!1.0c3", "1!1.0",
	"1!1.0.post456.dev34", "1!1.0.post456", "1!1.1.dev1", "1!1.2+123abc",
	"1!1.2+123abc456", "1!1.2+abc", "1!1.2+abc123", "1!1.2+abc123def",
	"1!1.2+1234.abc", "1!1.2+123456", "1!1.2.r32+123456", "1!1.2.rev33+123456",
}

func mustParse(t testing.TB, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatalf("ParseVersion(%q) = %v", s, err)
	}
	return v
}

func TestCompareOrdering(t *testing.T) {
	for _, list := range [][]string{pepOrdering, longOrdering} {
		vs := make([]Version, len(list))
		for i, s := range list {
			vs[i] = mustParse(t, s)
		}
		for i := range vs {
			for j := range vs {
				want := 0
				switch {
				case i < j:
					want = -1
				case i > j:
					want = 1
				}
				if got := Compare(vs[i], vs[j]); got != want {
					t.Errorf("Compare(%q, %q) = %d, want %d", list[i], list[j], got, want)
				}
			}
		}
	}
}

func TestCompareEqual(t *testing.T) {
	tests := [][2]string{
		{"1", "1.0.0"},
		{"1.0", "1.0.0.0.0"},
		{"0!1.0", "1.0"},
		{"1.0a1", "1.0.alpha.1"},
		{"1.0-1", "1.0.post1"},
		{"1.0+ubuntu-1", "1.0+ubuntu.1"},
		{"1.0+Ubuntu_01", "1.0+ubuntu.1"},
		{"v1.0rc1", "1.0c1"},
		{"01.02", "1.2"},
	}
	for _, tt := range tests {
		a, b := mustParse(t, tt[0]), mustParse(t, tt[1])
		if got := Compare(a, b); got != 0 {
			t.Errorf("Compare(%q, %q) = %d, want 0", tt[0], tt[1], got)
		}
	}
	if got := Compare(Version{}, mustParse(t, "0")); got != 0 {
		t.Errorf("Compare(Version{}, 0) = %d, want 0", got)
	}
	if got := (Version{}).String(); got != "0" {
		t.Errorf("Version{}.String() = %q, want %q", got, "0")
	}
}

func TestParseVersionNormalizes(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// Case.
		{"1.1RC1", "1.1rc1"},
		{"1.0DEV", "1.0.dev0"},
		{"1.0+AbC", "1.0+abc"},
		// Integers.
		{"00", "0"},
		{"09000", "9000"},
		{"1.0+foo0100", "1.0+foo0100"},
		{"1.01", "1.1"},
		{"1.0a05", "1.0a5"},
		{"1.0.post000", "1.0.post0"},
		{"1.1.dev09000", "1.1.dev9000"},
		{"00!1.2", "1.2"},
		{"0100!0.0", "100!0.0"},
		{"1.0+ubuntu.007", "1.0+ubuntu.7"},
		// Pre-release separators and spellings.
		{"1.1.a1", "1.1a1"},
		{"1.1-a1", "1.1a1"},
		{"1.1_a1", "1.1a1"},
		{"1.0a.1", "1.0a1"},
		{"1.0a-1", "1.0a1"},
		{"1.0a_1", "1.0a1"},
		{"1.1alpha1", "1.1a1"},
		{"1.1beta2", "1.1b2"},
		{"1.1c3", "1.1rc3"},
		{"1.1pre3", "1.1rc3"},
		{"1.1preview3", "1.1rc3"},
		{"1.2a", "1.2a0"},
		{"1.2.beta", "1.2b0"},
		// Post-release separators and spellings.
		{"1.2-post2", "1.2.post2"},
		{"1.2post2", "1.2.post2"},
		{"1.2_post2", "1.2.post2"},
		{"1.2.post-2", "1.2.post2"},
		{"1.2.post_2", "1.2.post2"},
		{"1.0-r4", "1.0.post4"},
		{"1.0-rev4", "1.0.post4"},
		{"1.2.post", "1.2.post0"},
		{"1.0-1", "1.0.post1"},
		{"1.0b2-346", "1.0b2.post346"},
		// Development releases.
		{"1.2-dev2", "1.2.dev2"},
		{"1.2dev2", "1.2.dev2"},
		{"1.2_dev2", "1.2.dev2"},
		{"1.2.dev-2", "1.2.dev2"},
		{"1.2.dev", "1.2.dev0"},
		// Local labels.
		{"1.0+ubuntu-1", "1.0+ubuntu.1"},
		{"1.0+ubuntu_1", "1.0+ubuntu.1"},
		// Leading v, white space, epochs.
		{"v1.0", "1.0"},
		{"V1.0", "1.0"},
		{"  \r \f \v v1.0\t\n", "1.0"},
		{"1!1.0", "1!1.0"},
		{"0!1.0", "1.0"},
		// Everything at once.
		{"v2!1.0-RC.3_POST-4.DEV_5+Build-7", "2!1.0rc3.post4.dev5+build.7"},
		// Separators left after an omitted number.
		{"1.0a.", "1.0a0"},
		{"1.0a..post1", "1.0a0.post1"},
		{"1.0.post-", "1.0.post0"},
		{"1.0.dev_", "1.0.dev0"},
		// The limits themselves.
		{"999999999999999999", "999999999999999999"},
		{"000000000000000000001", "1"},
		{strings.Repeat("1.", 31) + "1", strings.Repeat("1.", 31) + "1"},
	}
	for _, tt := range tests {
		v, err := ParseVersion(tt.in)
		if err != nil {
			t.Errorf("ParseVersion(%q) = %v, want %q", tt.in, err, tt.want)
			continue
		}
		if got := v.String(); got != tt.want {
			t.Errorf("ParseVersion(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if got, ok := Canonical(tt.in); !ok || got != tt.want {
			t.Errorf("Canonical(%q) = %q, %v, want %q, true", tt.in, got, ok, tt.want)
		}
	}
}

func TestParseVersionRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"v",
		"vv1.0",
		"a",
		"1.0-",
		"1.0.",
		".1",
		"1..0",
		"1.0+",
		"1.0+a..b",
		"1.0+_a",
		"1.0+a_",
		"1.0a1.1",
		"1!",
		"!1",
		"1!2!3",
		"1.0 1",
		"1.0.post1.post2",
		"1.0.dev1.post1",
		"1.0.dev1a1",
		"1.0-_a1",
		"1.0a1-",
		"1.0+ubuntu+1",
		"1.0\x00",
		"\u0661.0",
		"1.0+\u0130",
		"1.0.*",
		"lolwat",
		"1.0foo",
		"1.0-dev-1-2",
		"1234567890123456789",
		"1.0a1234567890123456789",
		strings.Repeat("1.", 32) + "1",
		"1.0+" + strings.Repeat("a", 130),
	} {
		_, err := ParseVersion(in)
		if err == nil {
			t.Errorf("ParseVersion(%q) = nil error, want one", in)
			continue
		}
		if !errors.Is(err, ErrInvalidVersion) {
			t.Errorf("ParseVersion(%q) = %v, not an ErrInvalidVersion", in, err)
		}
		if _, ok := Canonical(in); ok {
			t.Errorf("Canonical(%q) ok, want not", in)
		}
	}
}

func TestVersionPublicAndPrerelease(t *testing.T) {
	tests := []struct {
		in, public string
		pre        bool
	}{
		{"1.0", "1.0", false},
		{"1.0+local.1", "1.0", false},
		{"1.0a1+local", "1.0a1", true},
		{"1.0.dev0", "1.0.dev0", true},
		{"1.0.post1.dev0", "1.0.post1.dev0", true},
		{"1.0.post1", "1.0.post1", false},
		{"1.0rc1.post1", "1.0rc1.post1", true},
		{"2!1.0+x", "2!1.0", false},
	}
	for _, tt := range tests {
		v := mustParse(t, tt.in)
		if got := v.Public(); got != tt.public {
			t.Errorf("ParseVersion(%q).Public() = %q, want %q", tt.in, got, tt.public)
		}
		if got := v.IsPrerelease(); got != tt.pre {
			t.Errorf("ParseVersion(%q).IsPrerelease() = %v, want %v", tt.in, got, tt.pre)
		}
	}
}

func TestParseVersionErrorText(t *testing.T) {
	_, err := ParseVersion("1.0foo")
	if err == nil || err.Error() != `invalid PEP 440 version "1.0foo": unexpected character at byte 3` {
		t.Errorf("ParseVersion(1.0foo) = %v", err)
	}
	long := strings.Repeat("9", 500)
	_, err = ParseVersion(long)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("ParseVersion(500 nines) = %v, want a short error", err)
	}
}

func TestParseVersionDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, why := parseVersion("v1!2.3.4rc5.post6.dev7+local.8"); why != "" {
			t.Fatal(why)
		}
	})
	if allocs != 0 {
		t.Errorf("parseVersion allocates %v times, want 0", allocs)
	}
}
