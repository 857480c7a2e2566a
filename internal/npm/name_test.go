package npm

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var nameTests = []struct {
	name   string
	ok     bool
	reason string // a fragment of the error text when !ok
}{
	{name: "left-pad", ok: true},
	{name: "JSONStream", ok: true},
	{name: "@types/node", ok: true},
	{name: "a", ok: true},
	{name: "@a/b", ok: true},
	{name: "lodash.merge", ok: true},
	{name: "socket.io", ok: true},
	{name: "~tilde", ok: true},
	{name: "it's-(fine)!*", ok: true},
	{name: "@scope/.dot-first", ok: true},
	{name: "@scope/_underscore-first", ok: true},
	{name: "@_scope/name", ok: true},
	{name: "UPPER_case-1.2", ok: true},
	{name: strings.Repeat("a", 214), ok: true},
	{name: "@" + strings.Repeat("s", 100) + "/" + strings.Repeat("n", 112), ok: true},

	{name: "", reason: "empty"},
	{name: strings.Repeat("a", 215), reason: "longer than 214"},
	{name: "@" + strings.Repeat("s", 100) + "/" + strings.Repeat("n", 113), reason: "longer than 214"},
	{name: ".hidden", reason: "starts with a dot"},
	{name: "_private", reason: "starts with an underscore"},
	{name: "a..b", reason: `".."`},
	{name: "@scope/..", reason: `".."`},
	{name: "@scope/.", reason: `package part is "."`},
	{name: "@./name", reason: `scope is "."`},
	{name: "a/b", reason: "slash"},
	{name: "@scope", reason: "needs a slash"},
	{name: "@/name", reason: "scope after @ is empty"},
	{name: "@scope/", reason: "package part after the scope is empty"},
	{name: "@scope/a/b", reason: "slash"},
	{name: "@@scope/name", reason: "scope contains @"},
	{name: "@a/@b", reason: "contains @"},
	{name: "foo@1.0.0", reason: "contains @"},
	{name: "with space", reason: "space"},
	{name: " leading", reason: "space"},
	{name: "trailing ", reason: "space"},
	{name: "tab\tname", reason: "control character"},
	{name: "nul\x00", reason: "control character"},
	{name: "caf\u00e9", reason: "non-ASCII"},
	{name: "%41", reason: `'%'`},
	{name: "a?b", reason: `'?'`},
	{name: "a#b", reason: `'#'`},
	{name: "a:b", reason: `':'`},
	{name: "a+b", reason: `'+'`},
	{name: "a\\b", reason: `'\\'`},
	{name: "node_modules", reason: "reserved"},
	{name: "favicon.ico", reason: "reserved"},
	{name: "FAVICON.ICO", reason: "reserved"},
}

func TestValidateName(t *testing.T) {
	for _, tt := range nameTests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.name)
			if tt.ok {
				if err != nil {
					t.Errorf("ValidateName(%q) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil, want an error about %s", tt.name, tt.reason)
			}
			var ne *NameError
			if !errors.As(err, &ne) || ne.Name != tt.name {
				t.Errorf("ValidateName(%q) = %#v, want a *NameError for the name", tt.name, err)
			}
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("ValidateName(%q): errors.Is(err, ErrInvalidName) = false", tt.name)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.reason) || !strings.HasPrefix(msg, "invalid package name ") {
				t.Errorf("ValidateName(%q) = %q, want a message mentioning %s", tt.name, msg, tt.reason)
			}
		})
	}
}

// referenceName restates the naming rules another way (a regular expression and an
// encodeURIComponent check), for the fuzz test to compare against.
var (
	referenceShape = regexp.MustCompile(`^(?:@([^/]+)/)?([^/@]+)$`)
	uriSafe        = regexp.MustCompile(`^[A-Za-z0-9\-_.!~*'()]*$`)
)

func referenceName(name string) bool {
	if name == "" || len(name) > 214 || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
		strings.Contains(name, "..") {
		return false
	}
	m := referenceShape.FindStringSubmatch(name)
	if m == nil {
		return false
	}
	scope, pkg := m[1], m[2]
	if strings.HasPrefix(name, "@") && scope == "" || scope == "." || pkg == "." {
		return false
	}
	if !uriSafe.MatchString(scope) || !uriSafe.MatchString(pkg) {
		return false
	}
	lower := strings.ToLower(name)
	return lower != "node_modules" && lower != "favicon.ico"
}

func FuzzValidateName(f *testing.F) {
	for _, tt := range nameTests {
		f.Add(tt.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateName(name)
		if want := referenceName(name); (err == nil) != want {
			t.Fatalf("ValidateName(%q) = %v, reference says valid=%v", name, err, want)
		}
		if err != nil {
			var ne *NameError
			if !errors.As(err, &ne) || ne.Reason == "" {
				t.Fatalf("ValidateName(%q) = %#v, want a *NameError with a reason", name, err)
			}
		}
	})
}
