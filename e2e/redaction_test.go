package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// TestTokensNeverLogged sets a distinct token through every input Écluse has (the three
// token variables, Bearer and Basic edge auth, a client credential passed through to the
// private upstream, and a URL with user information that validation must refuse) and
// proves none of them appears in any log line, problem report or check-config output.
func TestTokensNeverLogged(t *testing.T) {
	const (
		edge     = "redact-edge-tok-91a7"
		private  = "redact-private-tok-22b8"
		mirror   = "redact-mirror-tok-33c9"
		client   = "redact-client-tok-44d0"
		inURL    = "redact-url-pass-55e1"
		basicUsr = "ci"
	)
	secrets := []string{edge, private, mirror, client, inURL,
		base64.StdEncoding.EncodeToString([]byte(basicUsr + ":" + edge))}
	leaks := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contains a secret (%.14s...):\n%s", where, s, text)
			}
		}
	}

	// A URL carrying a password is refused, and the refusal does not repeat it.
	public, priv := newFixtureRegistry(t), newFixtureRegistry(t)
	bad := baseEnv(public.URL, priv.URL)
	bad["MIRROR_TARGET_URL"] = "https://user:" + inURL + "@mirror.example.test/"
	bad["PROXY_AUTH_TOKEN"] = edge
	bad["PROXY_PUBLIC_URL"] = "http://127.0.0.1:4873/" // check-config does not listen
	stdout, stderr, code := runEcluse(t, bad, "check-config")
	if code != 2 || !strings.Contains(stderr, "MIRROR_TARGET_URL") {
		t.Errorf("check-config with userinfo: exit %d, stderr:\n%s", code, stderr)
	}
	leaks("check-config with a bad URL", stdout+stderr)

	env := baseEnv(public.URL, priv.URL)
	env["PROXY_AUTH_TOKEN"] = edge
	env["PRIVATE_UPSTREAM_TOKEN"] = private
	env["MIRROR_TARGET_TOKEN"] = mirror
	env["PROXY_DEBUG"] = "true"
	checkEnv := map[string]string{"PROXY_PUBLIC_URL": "http://127.0.0.1:4873/"}
	for k, v := range env {
		if _, ok := checkEnv[k]; !ok {
			checkEnv[k] = v
		}
	}
	stdout, stderr, code = runEcluse(t, checkEnv, "check-config")
	if code != 0 || !strings.Contains(stdout, "[REDACTED]") {
		t.Errorf("check-config: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	leaks("check-config output", stdout+stderr)

	p := startEcluse(t, env)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(basicUsr+":"+edge))
	for _, authz := range []string{"Bearer " + edge, basic, "Bearer " + client, "Basic " + client} {
		for _, path := range []string{"/absent-package", "/@scope%2fabsent", "/absent/-/absent-1.0.0.tgz", "/-/ecluse/explain/absent"} {
			get(t, p.URL+path, http.Header{"Authorization": {authz}})
		}
	}
	leaks("the serve logs", p.Logs())

	// With an open edge the client's own credential is passed through to the private
	// upstream (which refuses it here): still never logged, never sent publicly.
	open := baseEnv(public.URL, priv.URL)
	open["PROXY_DEBUG"] = "true"
	priv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":"forbidden"}`))
			return true
		}
		return false
	})
	q := startEcluse(t, open)
	for _, path := range []string{"/absent-package", "/absent/-/absent-1.0.0.tgz"} {
		if status, _ := get(t, q.URL+path, http.Header{"Authorization": {"Bearer " + client}}); status != http.StatusForbidden {
			t.Errorf("GET %s with a refused pass-through credential = %d, want the private 403 relayed", path, status)
		}
	}
	if len(priv.RequestsWithHeader("Authorization")) == 0 {
		t.Error("the client's credential was not passed through to the private upstream")
	}
	leaks("the open-edge serve logs", q.Logs())
	if reqs := public.RequestsWithHeader("Authorization"); len(reqs) != 0 {
		t.Errorf("the public upstream received credentials: %d requests", len(reqs))
	}
}
