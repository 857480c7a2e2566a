package e2e

// HTTP-level checks of the read path through the built binary, without a package manager:
// name spellings and validation, the x-ecluse-* headers, the abbreviated and full forms,
// ETags, denied tarballs, and the explain endpoint and command. The public upstream is the
// fixture registry and the private one a real Verdaccio. Run them with
// `go test ./e2e/ -run ReadPath`.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// npmAccept is the Accept header npm sends for a packument.
const npmAccept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"

// response is one HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// fetch sends GET url with header and reads the whole answer.
func fetch(t *testing.T, url string, header http.Header) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// explanation is the JSON answer of /-/ecluse/explain.
type explanation struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Admitted int    `json:"admitted"`
	Blocked  int    `json:"blocked"`
	Versions []struct {
		Version   string     `json:"version"`
		Admitted  bool       `json:"admitted"`
		Origin    string     `json:"origin"`
		Rule      string     `json:"rule"`
		Reason    string     `json:"reason"`
		AdmitAt   *time.Time `json:"admitAt"`
		Published *time.Time `json:"published"`
	} `json:"versions"`
}

func TestReadPath(t *testing.T) {
	const help = "Ask #e2e-readpath for an exception."
	public := newFixtureRegistry(t)
	// e2e-rp-mixed: 1.0.0 admitted, 1.1.0 below the integrity floor, 2.0.0 too young.
	public.Add(Pkg{Name: "e2e-rp-mixed", Versions: []Ver{
		{Version: "1.0.0", PublishedAgo: 30 * 24 * time.Hour},
		{Version: "1.1.0", PublishedAgo: 20 * 24 * time.Hour, ShasumOnly: true},
		{Version: "2.0.0", PublishedAgo: 2 * 24 * time.Hour},
	}})
	public.Add(Pkg{Name: "@e2e-rp/scoped", Versions: []Ver{{Version: "1.0.0", PublishedAgo: 30 * 24 * time.Hour}}})
	private := startVerdaccio(t)
	private.Publish(t, Pkg{Name: "e2e-rp-private", Versions: []Ver{{Version: "1.0.0"}}})
	env := baseEnv(public.URL, private.URL)
	env["PROXY_HELP_MESSAGE"] = help
	p := startEcluse(t, env)

	t.Run("scoped names in both spellings", func(t *testing.T) {
		for _, path := range []string{"/@e2e-rp%2fscoped", "/@e2e-rp%2Fscoped", "/@e2e-rp/scoped"} {
			var doc packumentDoc
			getJSON(t, p.URL+path, nil, http.StatusOK, &doc)
			if doc.Name != "@e2e-rp/scoped" || len(doc.Versions) != 1 {
				t.Errorf("GET %s = name %q, %d versions; want @e2e-rp/scoped with 1 version", path, doc.Name, len(doc.Versions))
			}
			if got, want := doc.Versions["1.0.0"].Dist.Tarball, p.URL+"/@e2e-rp/scoped/-/scoped-1.0.0.tgz"; got != want {
				t.Errorf("GET %s: dist.tarball = %q, want %q", path, got, want)
			}
		}
		for _, path := range []string{"/@e2e-rp/scoped/1.0.0", "/@e2e-rp%2fscoped/latest"} {
			var m struct{ Name, Version string }
			getJSON(t, p.URL+path, nil, http.StatusOK, &m)
			if m.Name != "@e2e-rp/scoped" || m.Version != "1.0.0" {
				t.Errorf("GET %s = %s@%s, want @e2e-rp/scoped@1.0.0", path, m.Name, m.Version)
			}
		}
		r := fetch(t, p.URL+"/@e2e-rp/scoped/-/scoped-1.0.0.tgz", nil)
		if r.status != http.StatusOK || string(r.body) != string(public.Tarball("@e2e-rp/scoped", "1.0.0")) {
			t.Errorf("GET scoped tarball = %d, %d bytes; want 200 and the fixture's tarball", r.status, len(r.body))
		}
		if got := r.header.Get("X-Ecluse-Source"); got != "public" {
			t.Errorf("scoped tarball X-Ecluse-Source = %q, want public", got)
		}
	})

	t.Run("bad names are refused with 400 and never forwarded", func(t *testing.T) {
		before := len(public.Requests())
		for _, path := range []string{
			"/.e2e-dot",
			"/_e2e-underscore",
			"/e2e%20space",
			"/e2e..dots",
			"/@e2e-rp%2fa%2fb",
			"/" + strings.Repeat("a", 215),
			"/.e2e-dot/-/.e2e-dot-1.0.0.tgz",
			"/-/ecluse/explain/_e2e-underscore",
		} {
			r := fetch(t, p.URL+path, nil)
			var e errorBody
			if r.status != http.StatusBadRequest || json.Unmarshal(r.body, &e) != nil || e.Error == "" {
				t.Errorf("GET %.60s = %d %q, want 400 with a JSON error", path, r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("GET %.60s: Content-Type = %q, want application/json", path, ct)
			}
		}
		// The mirror worker may read earlier subtests' packages meanwhile: only a request
		// naming one of the bad names is a failure.
		for _, r := range public.Requests()[before:] {
			for _, bad := range []string{"e2e-dot", "e2e-underscore", "space", "e2e..dots", "%2fa%2fb", "/a%2fb", strings.Repeat("a", 215)} {
				if strings.Contains(strings.ToLower(r.Path), strings.ToLower(bad)) {
					t.Errorf("the public upstream was asked about a bad name: %s %s", r.Method, r.Path)
				}
			}
		}
	})

	t.Run("x-ecluse headers", func(t *testing.T) {
		want := func(r response, source, blocked, cache string) {
			t.Helper()
			for k, v := range map[string]string{
				"X-Ecluse-Source":  source,
				"X-Ecluse-Blocked": blocked,
				"X-Ecluse-Warned":  "0",
				"X-Ecluse-Cache":   cache,
			} {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		}
		h := http.Header{"Accept": {"application/json"}}
		first := fetch(t, p.URL+"/e2e-rp-mixed", h)
		if first.status != http.StatusOK {
			t.Fatalf("GET /e2e-rp-mixed = %d %s", first.status, first.body)
		}
		want(first, "public", "2", "miss")
		want(fetch(t, p.URL+"/e2e-rp-mixed", h), "public", "2", "hit")
		priv := fetch(t, p.URL+"/e2e-rp-private", h)
		if priv.status != http.StatusOK {
			t.Fatalf("GET /e2e-rp-private = %d %s", priv.status, priv.body)
		}
		want(priv, "private", "0", "miss")
	})

	t.Run("abbreviated or full by Accept", func(t *testing.T) {
		abbr := fetch(t, p.URL+"/e2e-rp-mixed", http.Header{"Accept": {npmAccept}})
		if ct := abbr.header.Get("Content-Type"); abbr.status != http.StatusOK || !strings.HasPrefix(ct, "application/vnd.npm.install-v1+json") {
			t.Fatalf("GET with npm's Accept = %d, Content-Type %q; want 200 and the abbreviated type", abbr.status, ct)
		}
		var a packumentDoc
		if err := json.Unmarshal(abbr.body, &a); err != nil {
			t.Fatal(err)
		}
		if len(a.Time) != 0 || a.Modified == "" {
			t.Errorf("abbreviated document: time %v, modified %q; want no time map and a modified date", a.Time, a.Modified)
		}
		for _, accept := range []string{"application/json", ""} {
			h := http.Header{}
			if accept != "" {
				h.Set("Accept", accept)
			}
			full := fetch(t, p.URL+"/e2e-rp-mixed", h)
			if ct := full.header.Get("Content-Type"); full.status != http.StatusOK || !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("GET with Accept %q = %d, Content-Type %q; want 200 and application/json", accept, full.status, ct)
			}
			var f packumentDoc
			if err := json.Unmarshal(full.body, &f); err != nil {
				t.Fatal(err)
			}
			if f.Time["1.0.0"] == "" {
				t.Errorf("full document (Accept %q): time = %v, want 1.0.0's publish time", accept, f.Time)
			}
			for _, denied := range []string{"1.1.0", "2.0.0"} {
				if _, ok := f.Time[denied]; ok {
					t.Errorf("full document (Accept %q): time lists denied %s", accept, denied)
				}
			}
		}
		for _, doc := range []response{abbr, fetch(t, p.URL+"/e2e-rp-mixed", nil)} {
			var d packumentDoc
			if err := json.Unmarshal(doc.body, &d); err != nil {
				t.Fatal(err)
			}
			if len(d.Versions) != 1 || d.DistTags["latest"] != "1.0.0" {
				t.Errorf("document: %d versions, dist-tags %v; want only 1.0.0, latest moved to 1.0.0", len(d.Versions), d.DistTags)
			}
		}
	})

	t.Run("ETag and 304", func(t *testing.T) {
		full := fetch(t, p.URL+"/e2e-rp-mixed", nil)
		tag := full.header.Get("ETag")
		if full.status != http.StatusOK || tag == "" {
			t.Fatalf("GET = %d with ETag %q, want 200 and an ETag", full.status, tag)
		}
		again := fetch(t, p.URL+"/e2e-rp-mixed", http.Header{"If-None-Match": {tag}})
		if again.status != http.StatusNotModified || len(again.body) != 0 || again.header.Get("ETag") != tag {
			t.Errorf("GET with If-None-Match %s = %d, %d bytes, ETag %q; want 304, no body, the same ETag",
				tag, again.status, len(again.body), again.header.Get("ETag"))
		}
		weak := fetch(t, p.URL+"/e2e-rp-mixed", http.Header{"If-None-Match": {`"stale", W/` + tag}})
		if weak.status != http.StatusNotModified {
			t.Errorf("GET with If-None-Match listing W/%s = %d, want 304", tag, weak.status)
		}
		stale := fetch(t, p.URL+"/e2e-rp-mixed", http.Header{"If-None-Match": {`"stale"`}})
		if stale.status != http.StatusOK || len(stale.body) == 0 {
			t.Errorf("GET with a stale If-None-Match = %d, %d bytes; want 200 and the document", stale.status, len(stale.body))
		}
		abbr := fetch(t, p.URL+"/e2e-rp-mixed", http.Header{"Accept": {npmAccept}})
		if abbr.header.Get("ETag") == tag {
			t.Errorf("the abbreviated and full forms share the ETag %s", tag)
		}
		if r := fetch(t, p.URL+"/e2e-rp-mixed", http.Header{"Accept": {npmAccept}, "If-None-Match": {tag}}); r.status != http.StatusOK {
			t.Errorf("abbreviated GET with the full form's ETag = %d, want 200", r.status)
		}
	})

	t.Run("denied tarballs", func(t *testing.T) {
		for _, tt := range []struct {
			version string
			want    []string
		}{
			{"2.0.0", []string{"e2e-rp-mixed@2.0.0 was published 2 days ago; rule min-age admits versions older than 7 days", help}},
			{"1.1.0", []string{"e2e-rp-mixed@1.1.0 has no", "integrity", help}},
		} {
			r := fetch(t, p.URL+"/e2e-rp-mixed/-/e2e-rp-mixed-"+tt.version+".tgz", nil)
			var e errorBody
			if r.status != http.StatusForbidden || json.Unmarshal(r.body, &e) != nil {
				t.Errorf("GET the %s tarball = %d %q, want 403 with a JSON error", tt.version, r.status, r.body)
				continue
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Error, w) {
					t.Errorf("403 for %s: error %q does not contain %q", tt.version, e.Error, w)
				}
			}
		}
		if r := fetch(t, p.URL+"/e2e-rp-mixed/-/e2e-rp-mixed-9.9.9.tgz", nil); r.status != http.StatusNotFound {
			t.Errorf("GET a tarball of a version that does not exist = %d, want 404", r.status)
		}
		for _, f := range public.TarballFetches() {
			if strings.Contains(f, "e2e-rp-mixed-2.0.0") || strings.Contains(f, "e2e-rp-mixed-1.1.0") {
				t.Errorf("the public upstream served a denied tarball: %s", f)
			}
		}
	})

	t.Run("explain endpoint", func(t *testing.T) {
		var ex explanation
		getJSON(t, p.URL+"/-/ecluse/explain/e2e-rp-mixed", nil, http.StatusOK, &ex)
		if ex.Name != "e2e-rp-mixed" || ex.Source != "public" || ex.Admitted != 1 || ex.Blocked != 2 || len(ex.Versions) != 3 {
			t.Fatalf("explain = %+v, want e2e-rp-mixed from public, 1 admitted, 2 blocked, 3 versions", ex)
		}
		for _, v := range ex.Versions {
			switch v.Version {
			case "1.0.0":
				if !v.Admitted || v.Rule != "min-age" || v.AdmitAt != nil {
					t.Errorf("1.0.0 = %+v, want admitted by min-age, no admitAt", v)
				}
			case "1.1.0":
				if v.Admitted || v.Rule != "integrity-floor" || v.AdmitAt != nil {
					t.Errorf("1.1.0 = %+v, want refused by integrity-floor, no admitAt", v)
				}
			case "2.0.0":
				if v.Admitted || v.AdmitAt == nil || v.Published == nil || !strings.Contains(v.Reason, "min-age") {
					t.Fatalf("2.0.0 = %+v, want quarantined with admitAt, published, a min-age reason", v)
				}
				if d := v.AdmitAt.Sub(v.Published.Add(7 * 24 * time.Hour)); d < -time.Second || d > time.Second {
					t.Errorf("2.0.0 admitAt = %s, want published + 7 days (%s)", v.AdmitAt, v.Published.Add(7*24*time.Hour))
				}
			default:
				t.Errorf("unexpected version %+v", v)
			}
		}

		var one explanation
		getJSON(t, p.URL+"/-/ecluse/explain/e2e-rp-mixed/2.0.0", nil, http.StatusOK, &one)
		if len(one.Versions) != 1 || one.Versions[0].Version != "2.0.0" || one.Versions[0].AdmitAt == nil {
			t.Errorf("explain of 2.0.0 = %+v, want that version alone, with admitAt", one)
		}
		var scoped explanation
		getJSON(t, p.URL+"/-/ecluse/explain/@e2e-rp%2fscoped", nil, http.StatusOK, &scoped)
		if scoped.Name != "@e2e-rp/scoped" || scoped.Admitted != 1 {
			t.Errorf("explain of @e2e-rp/scoped = %+v, want 1 admitted version", scoped)
		}
		var priv explanation
		getJSON(t, p.URL+"/-/ecluse/explain/e2e-rp-private", nil, http.StatusOK, &priv)
		if priv.Source != "private" || len(priv.Versions) != 1 || priv.Versions[0].Rule != "trusted" {
			t.Errorf("explain of the private package = %+v, want source private, one trusted version", priv)
		}
		var e errorBody
		getJSON(t, p.URL+"/-/ecluse/explain/e2e-rp-mixed/9.9.9", nil, http.StatusNotFound, &e)
	})

	t.Run("ecluse explain command", func(t *testing.T) {
		stdout, stderr, code := runEcluse(t, map[string]string{}, "explain", "e2e-rp-mixed", "--url", p.URL)
		if code != 0 {
			t.Fatalf("ecluse explain e2e-rp-mixed: exit %d, stderr:\n%s", code, stderr)
		}
		for _, want := range []string{"e2e-rp-mixed", "1 admitted, 2 blocked", "min-age", "integrity-floor", "admitted from"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("ecluse explain output does not mention %q:\n%s", want, stdout)
			}
		}
		stdout, stderr, code = runEcluse(t, map[string]string{"ECLUSE_URL": p.URL}, "explain", "e2e-rp-mixed@2.0.0")
		if code != 0 || !strings.Contains(stdout, "rule min-age admits versions older than 7 days") ||
			strings.Contains(stdout, "1.0.0") {
			t.Errorf("ecluse explain e2e-rp-mixed@2.0.0 (ECLUSE_URL): exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		_, stderr, code = runEcluse(t, map[string]string{}, "explain", "e2e-rp-absent", "--url", p.URL)
		if code != 1 || !strings.Contains(stderr, strconv.Itoa(http.StatusNotFound)) {
			t.Errorf("ecluse explain of an absent package: exit %d, want 1 and a 404; stderr:\n%s", code, stderr)
		}
	})
}
