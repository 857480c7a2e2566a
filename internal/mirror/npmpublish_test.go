package mirror

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/mirror/credential"
	"github.com/ecluse/ecluse/internal/redact"
)

func TestBase64Reader(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, b64Chunk - 1, b64Chunk, b64Chunk + 1, 3*b64Chunk + 2} {
		src := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x01}, n/5+1)[:n]
		got, err := io.ReadAll(newBase64Reader(bytes.NewReader(src)))
		if want := base64.StdEncoding.EncodeToString(src); err != nil || string(got) != want {
			t.Errorf("base64Reader(%d bytes) = %d bytes, %v, want %d bytes", n, len(got), err, len(want))
		}
	}
	boom := errors.New("boom")
	if _, err := io.ReadAll(newBase64Reader(io.MultiReader(bytes.NewReader([]byte("abc")), errReader{boom}))); !errors.Is(err, boom) {
		t.Errorf("base64Reader over a failing source = %v, want its error", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestCompareIntegrity(t *testing.T) {
	a, b := sriOf([]byte("a")), sriOf([]byte("b"))
	sha256a := "sha256-ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs="
	tests := []struct {
		x, y string
		want Match
	}{
		{a, a, MatchSame},
		{a, b, MatchDifferent},
		{a + " " + sha256a, sha256a, MatchSame},
		{a, sha256a, MatchUnknown},
		{"", a, MatchUnknown},
		{"sha1-abc", "sha1-abc", MatchUnknown},
		{a + " " + sha256a, b + " " + sha256a, MatchDifferent},
	}
	for _, tt := range tests {
		if got := CompareIntegrity(tt.x, tt.y); got != tt.want {
			t.Errorf("CompareIntegrity(%.20q, %.20q) = %d, want %d", tt.x, tt.y, got, tt.want)
		}
	}
}

func TestBecomesLatest(t *testing.T) {
	tests := []struct {
		version, latest string
		want            bool
	}{
		{"2.0.0", "1.9.9", true},
		{"1.9.9", "2.0.0", false},
		{"2.0.0", "2.0.0", false},
		{"2.0.0-rc.1", "1.0.0", false},
		{"2.0.0", "2.0.0-rc.1", true},
		{"1.0.0", "not-a-version", false},
		{"not-a-version", "1.0.0", false},
		{"10.0.0", "9.0.0", true},
	}
	for _, tt := range tests {
		if got := becomesLatest(tt.version, tt.latest); got != tt.want {
			t.Errorf("becomesLatest(%q, %q) = %v, want %v", tt.version, tt.latest, got, tt.want)
		}
	}
}

func TestEscapeName(t *testing.T) {
	for name, want := range map[string]string{
		"left-pad":         "left-pad",
		"@scope/pkg":       "@scope%2fpkg",
		"@types/node":      "@types%2fnode",
		"JSONStream":       "JSONStream",
		"@a.b/c~d":         "@a.b%2fc~d",
		"@scope/with(par)": "@scope%2fwith%28par%29",
	} {
		if got := escapeName(name); got != want {
			t.Errorf("escapeName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRegistryMessage(t *testing.T) {
	sent := redact.New("Bearer s3cr3t-t0ken")
	tests := []struct {
		body, want string
	}{
		{`{"error":"this package is already present"}`, ": this package is already present"},
		{`{"reason":"bad token s3cr3t-t0ken"}`, ": bad token " + redact.Placeholder},
		{`{"message":"line\nbreak"}`, ": line break"},
		{`not json`, ""},
		{`{"error":"` + strings.Repeat("é", 300) + `"}`, ": " + strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		if got := registryMessage(strings.NewReader(tt.body), sent); got != tt.want {
			t.Errorf("registryMessage(%.40q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

// targetOnly is a publisher against a bare handler, for the request-shape tests.
func targetOnly(t *testing.T, h http.HandlerFunc, cred credential.Provider) *NPMPublisher {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/registry/")
	hc := egress.NewTrusted(u, egress.TrustedOptions{})
	t.Cleanup(hc.CloseIdleConnections)
	p, err := NewNPMPublisher(NPMPublisherOptions{Target: u, HTTP: hc, Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNPMPublisherAuthorization(t *testing.T) {
	tests := []struct {
		token, want string
	}{
		{"plain", "Bearer plain"},
		{"Bearer already", "Bearer already"},
		{"Basic dTpw", "Basic dTpw"},
		{"", ""},
	}
	for _, tt := range tests {
		var got string
		p := targetOnly(t, func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Get("Authorization")
			if r.URL.EscapedPath() != "/registry/left-pad" {
				t.Errorf("GET %s, want the document under the target's path", r.URL.EscapedPath())
			}
			w.WriteHeader(http.StatusNotFound)
		}, credential.Static(redact.New(tt.token)))
		if ok, err := p.Exists(context.Background(), "left-pad", "1.0.0", sriOf([]byte("x"))); ok || err != nil {
			t.Errorf("Exists on a 404 = %v, %v, want false, nil", ok, err)
		}
		if got != tt.want {
			t.Errorf("token %q: Authorization = %q, want %q", tt.token, got, tt.want)
		}
	}
}

type failingProvider struct{}

func (failingProvider) Token(context.Context) (redact.Secret, error) {
	return redact.Secret{}, errors.New("no credentials")
}

func TestNPMPublisherCredentialFailureIsTransient(t *testing.T) {
	p := targetOnly(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }, failingProvider{})
	_, err := p.Exists(context.Background(), "left-pad", "1.0.0", sriOf([]byte("x")))
	if KindOf(err) != KindTransient {
		t.Errorf("Exists with a failing credential = %v, want a transient error", err)
	}
}

func TestNPMPublisherExists(t *testing.T) {
	tgz := []byte("held")
	doc := func(integrity string) string {
		b, _ := json.Marshal(map[string]any{"name": "pkg", "dist-tags": map[string]string{"latest": "1.0.0"},
			"versions": map[string]any{"1.0.0": map[string]any{"name": "pkg", "version": "1.0.0", "dist": map[string]any{"integrity": integrity}}}})
		return string(b)
	}
	tests := []struct {
		name, status, body string
		version            string
		want               bool
		wantKind           Kind
		wantReason         Reason
	}{
		{name: "same", body: doc(sriOf(tgz)), version: "1.0.0", want: true},
		{name: "other version", body: doc(sriOf(tgz)), version: "2.0.0"},
		{name: "different artifact", body: doc(sriOf([]byte("other"))), version: "1.0.0", wantKind: KindPermanent, wantReason: ReasonConflict},
		{name: "incomparable", body: doc("sha1-abc"), version: "1.0.0", want: true},
		{name: "broken document", body: `{"name":"other"}`, version: "1.0.0", wantKind: KindPermanent, wantReason: ReasonBadDocument},
		{name: "5xx", status: "503", version: "1.0.0", wantKind: KindTransient, wantReason: ReasonStatus},
		{name: "401", status: "401", version: "1.0.0", wantKind: KindPermanent, wantReason: ReasonDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := targetOnly(t, func(w http.ResponseWriter, _ *http.Request) {
				switch tt.status {
				case "503":
					w.WriteHeader(http.StatusServiceUnavailable)
				case "401":
					w.WriteHeader(http.StatusUnauthorized)
				default:
					_, _ = io.WriteString(w, tt.body)
				}
			}, nil)
			got, err := p.Exists(context.Background(), "pkg", tt.version, sriOf(tgz))
			if got != tt.want {
				t.Errorf("Exists = %v, want %v", got, tt.want)
			}
			if tt.wantKind == 0 {
				if err != nil {
					t.Errorf("Exists error = %v", err)
				}
				return
			}
			if KindOf(err) != tt.wantKind || ReasonOf(err) != tt.wantReason {
				t.Errorf("Exists error = %v, want %s %s", err, tt.wantKind, tt.wantReason)
			}
		})
	}
}

func TestVersionManifestChecks(t *testing.T) {
	tgz := []byte("manifest")
	p := &NPMPublisher{opts: NPMPublisherOptions{Target: &url.URL{Scheme: "https", Host: "target.example", Path: "/npm/"}}}
	job := Job{Mount: "npm", Ecosystem: "npm", Name: "pkg", Version: "1.0.0", Integrity: sriOf(tgz)}
	tb := Tarball{SHA1: sha1Of(tgz), Size: int64(len(tgz))}
	tests := []struct {
		name, manifest string
		wantReason     Reason
		wantDist       string
	}{
		{name: "kept and pointed at the target",
			manifest: `{"name":"pkg","version":"1.0.0","dist":{"shasum":"` + sha1Of(tgz) + `","integrity":"` + sriOf(tgz) + `","tarball":"https://public.example/pkg/-/pkg-1.0.0.tgz","fileCount":3}}`,
			wantDist: `{"shasum":"` + sha1Of(tgz) + `","integrity":"` + sriOf(tgz) + `","fileCount":3,"tarball":"https://target.example/npm/pkg/-/pkg-1.0.0.tgz"}`},
		{name: "filled in when absent", manifest: `{"name":"pkg","version":"1.0.0"}`,
			wantDist: `{"integrity":"` + sriOf(tgz) + `","shasum":"` + sha1Of(tgz) + `","tarball":"https://target.example/npm/pkg/-/pkg-1.0.0.tgz"}`},
		{name: "other name", manifest: `{"name":"evil","version":"1.0.0"}`, wantReason: ReasonIntegrity},
		{name: "other version", manifest: `{"name":"pkg","version":"1.0.1"}`, wantReason: ReasonIntegrity},
		{name: "other integrity", manifest: `{"name":"pkg","version":"1.0.0","dist":{"integrity":"` + sriOf([]byte("x")) + `"}}`, wantReason: ReasonIntegrity},
		{name: "other shasum", manifest: `{"name":"pkg","version":"1.0.0","dist":{"shasum":"00"}}`, wantReason: ReasonIntegrity},
		{name: "no version", manifest: `{"name":"pkg"}`, wantReason: ReasonBadDocument},
		{name: "not an object", manifest: `[]`, wantReason: ReasonBadDocument},
		{name: "dist not an object", manifest: `{"name":"pkg","version":"1.0.0","dist":"x"}`, wantReason: ReasonBadDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := p.versionManifest(job, []byte(tt.manifest), tb)
			if tt.wantReason != "" {
				if ReasonOf(err) != tt.wantReason || KindOf(err) != KindPermanent {
					t.Errorf("versionManifest = %s, %v, want a permanent %s", out, err, tt.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("versionManifest = %s: %v", out, err)
			}
			if string(m["dist"]) != tt.wantDist {
				t.Errorf("dist = %s, want %s", m["dist"], tt.wantDist)
			}
		})
	}
}
