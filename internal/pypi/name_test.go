package pypi

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"requests", "requests"},
		{"Django", "django"},
		{"zope.interface", "zope-interface"},
		{"Foo__Bar", "foo-bar"},
		{"foo-_.-bar", "foo-bar"},
		{"A.B-C_D", "a-b-c-d"},
		{"-leading", "-leading"},
		{"trailing.", "trailing-"},
		{"", ""},
		// Only ASCII folds: the Kelvin sign stays, so it never equals "k".
		{"\u212aeras", "\u212aeras"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := sameProject(tt.in, tt.want); !got {
			t.Errorf("sameProject(%q, %q) = false, want true", tt.in, tt.want)
		}
	}
	if sameProject("foo-bar", "foo") || sameProject("foo", "foo-bar") || sameProject("fo-o", "foo") {
		t.Error("sameProject matched different names")
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"requests", true},
		{"a", true},
		{"A1", true},
		{"zope.interface", true},
		{"foo_bar-baz", true},
		{"foo--bar", true},
		{strings.Repeat("a", 200), true},
		{strings.Repeat("a", 201), false},
		{"", false},
		{"-foo", false},
		{"foo-", false},
		{".foo", false},
		{"foo_", false},
		{"foo bar", false},
		{"foo/bar", false},
		{"caf\u00e9", false},
		{"foo+bar", false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.in); got != tt.want {
			t.Errorf("ValidName(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
