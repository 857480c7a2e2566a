package app

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering guards the architecture: imports point down the layer list and never up,
// and the pure packages stay free of I/O.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "github.com/ecluse/ecluse/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/ecluse/ecluse/"
	// allowed lists, per package, the module packages it may import.
	allowed := map[string][]string{
		"internal/redact":  {},
		"internal/config":  {"internal/redact"},
		"internal/npm":     {},
		"internal/policy":  {},
		"internal/egress":  {},
		"internal/budget":  {},
		"internal/gomod":   {},
		"internal/pypi":    {},
		"internal/signing": {},
		"internal/source":  {},
		"internal/queue":   {},

		"internal/instrument": {},
		"internal/advisory":   {"internal/instrument", "internal/redact", "internal/egress"},

		"internal/queue/memqueue":    {"internal/queue"},
		"internal/queue/natsqueue":   {"internal/queue"},
		"internal/queue/sqsqueue":    {"internal/queue"},
		"internal/queue/pubsubqueue": {"internal/queue"},
		"internal/queue/queuetest":   {"internal/queue"},
		"internal/mirror/credential": {"internal/redact"},
		"internal/mirror":            {"internal/instrument", "internal/queue", "internal/mirror/credential", "internal/npm", "internal/redact", "internal/upstream", "internal/egress", "internal/budget"},

		"internal/upstream": {"internal/instrument", "internal/egress", "internal/redact", "internal/budget"},
		"internal/gate":     {"internal/instrument", "internal/advisory", "internal/npm", "internal/policy", "internal/signing", "internal/upstream", "internal/redact", "internal/budget", "internal/egress"},
		"internal/observe":  {},
		"internal/modgate":  {"internal/instrument", "internal/advisory", "internal/gomod", "internal/policy", "internal/upstream", "internal/redact", "internal/budget", "internal/source"},
		"internal/publish":  {"internal/npm", "internal/redact", "internal/signing", "internal/upstream"},
		"internal/pypigate": {"internal/instrument", "internal/advisory", "internal/pypi", "internal/policy", "internal/upstream", "internal/redact", "internal/budget", "internal/source"},
		"internal/server":   {"internal/instrument", "internal/advisory", "internal/gate", "internal/modgate", "internal/pypigate", "internal/publish", "internal/signing", "internal/npm", "internal/gomod", "internal/pypi", "internal/redact", "internal/observe"},

		// observetest is imported by tests alone, and imports none of the module.
		"internal/observe/observetest": {},
	}
	// unlayered are the packages above every layer: the composition root, the command
	// and the black-box tests.
	unlayered := map[string]bool{"internal/app": true, "cmd/ecluse": true, "e2e": true}
	forbiddenStd := map[string][]string{
		"internal/npm":     {"net/http", "os", "log/slog"},
		"internal/policy":  {"net/http", "os", "log/slog"},
		"internal/config":  {"net/http"},
		"internal/budget":  {"net/http", "os", "log/slog"},
		"internal/gomod":   {"net/http", "os", "log/slog"},
		"internal/pypi":    {"net/http", "os", "log/slog"},
		"internal/signing": {"net/http"},
		"internal/source":  {"net/http", "os"},
	}
	// stdOnly lists the packages that may import nothing but the standard library:
	// neither the module's packages nor any third-party one.
	stdOnly := map[string]bool{"internal/policy": true, "internal/pypi": true, "internal/signing": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		rel := strings.TrimPrefix(pkg, mod)
		if _, listed := allowed[rel]; !listed && !unlayered[rel] {
			t.Errorf("%s is not in the layer list: add it to allowed with the module packages it may import", rel)
		}
		for _, imp := range strings.Fields(imports) {
			if strings.HasSuffix(imp, "/internal/app") && rel != "cmd/ecluse" {
				t.Errorf("%s imports the composition root; only cmd/ecluse may", rel)
			}
			for _, bad := range forbiddenStd[rel] {
				if imp == bad {
					t.Errorf("%s imports %s; it must stay pure", rel, bad)
				}
			}
			if imp == "testing" && !strings.HasSuffix(rel, "test") {
				t.Errorf("%s imports testing outside its tests", rel)
			}
			if first, _, _ := strings.Cut(imp, "/"); stdOnly[rel] && strings.Contains(first, ".") {
				t.Errorf("%s imports %s; it may import only the standard library", rel, imp)
			}
			ok, listed := allowed[rel]
			if !listed || !strings.HasPrefix(imp, mod) {
				continue
			}
			if !contains(ok, strings.TrimPrefix(imp, mod)) {
				t.Errorf("%s imports %s, which is not below it", rel, strings.TrimPrefix(imp, mod))
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
