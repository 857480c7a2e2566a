package gomod

import "testing"

func TestOrderingCompileRange(t *testing.T) {
	tests := []struct {
		expr    string
		version string
		want    bool
	}{
		{"v1.2.3", "v1.2.3", true},
		{"v1.2.3", "v1.2.4", false},
		{"=v1.2.3", "v1.2.3", true},
		{">=v1.2.0 <v2.0.0", "v1.9.9", true},
		{">=v1.2.0 <v2.0.0", "v2.0.0", false},
		{">=v1.2.0 <v2.0.0", "v1.1.0", false},
		{"<v1.3.0", "v1.3.0-0.20240101000000-abcdefabcdef", true},
		{">v1.2.0", "v1.2.1-0.20240101000000-abcdefabcdef", true},
		{">=v2.0.0", "v2.0.1+incompatible", true},
		{"<=v1.0.0", "v1.0.0", true},
		{"*", "anything", true},
		{">=v1.0.0", "not-a-version", false},
	}
	for _, tt := range tests {
		match, err := Ordering{}.CompileRange(tt.expr)
		if err != nil {
			t.Fatalf("CompileRange(%q) = %v", tt.expr, err)
		}
		if got := match(tt.version); got != tt.want {
			t.Errorf("CompileRange(%q)(%q) = %v, want %v", tt.expr, tt.version, got, tt.want)
		}
	}
	for _, bad := range []string{"", "^1.2.0", ">=1.2.0", "v1.2", "~v1.2.0"} {
		if _, err := (Ordering{}).CompileRange(bad); err == nil {
			t.Errorf("CompileRange(%q) = nil error, want one", bad)
		}
	}
}
