package app

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestBootWarnsAboutCredentialCombinations: the combinations of the credential strategy,
// the edge token and Écluse's own private token that weaken the private-first lookup
// are named at boot; the sound ones are not.
func TestBootWarnsAboutCredentialCombinations(t *testing.T) {
	const (
		noForward = "no client credential reaches the private upstream"
		hidden    = "PRIVATE_UPSTREAM_TOKEN is not set with credentialStrategy passthrough"
	)
	for _, tt := range []struct {
		name       string
		env        map[string]string
		warn, calm []string
	}{
		{"passthrough, no edge token, no private token", nil, []string{hidden, "internal patterns"}, []string{noForward}},
		{"passthrough with the private token", map[string]string{"PRIVATE_UPSTREAM_TOKEN": "svc"}, nil, []string{hidden, noForward}},
		{"passthrough behind an edge token", map[string]string{"PROXY_AUTH_TOKEN": "edge", "PRIVATE_UPSTREAM_TOKEN": "svc"}, []string{noForward, "credentialStrategy service"}, []string{hidden}},
		{"service behind an edge token", map[string]string{"PROXY_AUTH_TOKEN": "edge", "PRIVATE_UPSTREAM_TOKEN": "svc", "PROXY_CONFIG": `{"credentialStrategy":"service"}`}, nil, []string{hidden, noForward}},
		{"a revalidation window", map[string]string{"PRIVATE_UPSTREAM_TOKEN": "svc", "PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS": "60"}, []string{"PROXY_PRIVATE_REVALIDATE_AFTER_SECONDS"}, nil},
		{"mirror detection off", map[string]string{"PRIVATE_UPSTREAM_TOKEN": "svc", "PROXY_MIRROR_DETECTION": "off"}, []string{"PROXY_MIRROR_DETECTION=off"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, problems := Load(envSource(tt.env))
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			var buf bytes.Buffer
			bootWarnings(l, slog.New(slog.NewTextHandler(&buf, nil)))
			out := buf.String()
			for _, w := range tt.warn {
				if !strings.Contains(out, w) {
					t.Errorf("boot log lacks %q:\n%s", w, out)
				}
			}
			for _, c := range tt.calm {
				if strings.Contains(out, c) {
					t.Errorf("boot log has %q:\n%s", c, out)
				}
			}
		})
	}
}

// TestHiddenNameConfirmedWithOwnToken: built from the configuration as Run builds it,
// Écluse under passthrough with PRIVATE_UPSTREAM_TOKEN confirms a private 404 with that
// token, and refuses a caller the private registry hides a private name from instead of
// serving the public look-alike.
func TestHiddenNameConfirmedWithOwnToken(t *testing.T) {
	h := newHarness(t, map[string]string{"PRIVATE_UPSTREAM_TOKEN": "svc"})
	h.priv.setFault(pathIs("/corp-lib"), func(w http.ResponseWriter, r *http.Request, normal []byte, _ <-chan struct{}) {
		if r.Header.Get("Authorization") == "Bearer svc" {
			serveNormal(w, normal)
			return
		}
		serveNormal(w, nil) // hidden: a 404 to everyone else
	})
	r := h.get("/corp-lib")
	h.wantJSONError(r, "corp-lib", http.StatusForbidden)
	if n := h.pub.hitCount("/corp-lib"); n != 0 {
		t.Errorf("the public registry was asked %d times about a hidden private name", n)
	}
	if r := h.get("/left-pad"); r.status != http.StatusOK {
		t.Errorf("a public package after a confirmed private 404: %s", r.describe())
	}
}
