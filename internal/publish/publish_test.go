package publish

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecluse/ecluse/internal/redact"
	"github.com/ecluse/ecluse/internal/signing"
	"github.com/ecluse/ecluse/internal/upstream"
)

// registry is an in-memory registry: it answers GETs of the packages it has and
// records every request.
type registry struct {
	mu       sync.Mutex
	has      map[string]bool
	keys     []byte
	calls    []string
	bodies   [][]byte
	creds    []redact.Secret
	hasErr   error
	putReply int
}

func (r *registry) Forward(_ context.Context, method, path, query string, _ http.Header, body []byte, cred redact.Secret, _ int64) (*upstream.Reply, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, method+" "+path)
	r.bodies = append(r.bodies, body)
	r.creds = append(r.creds, cred)
	switch {
	case path == KeysPath && r.keys != nil:
		return &upstream.Reply{Status: 200, Body: r.keys}, nil
	case strings.HasPrefix(path, AttestationsPrefix):
		return &upstream.Reply{Status: 200, Body: []byte(`{"attestations":[]}`)}, nil
	case method == http.MethodGet:
		name := strings.Replace(strings.TrimPrefix(path, "/"), "%2f", "/", 1)
		if r.has[name] {
			return &upstream.Reply{Status: 200, Body: []byte(`{}`)}, nil
		}
		return &upstream.Reply{Status: 404, Body: []byte(`{"error":"not found"}`)}, nil
	}
	status := r.putReply
	if status == 0 {
		status = http.StatusCreated
	}
	return &upstream.Reply{Status: status, Body: []byte(`{"ok":true}`)}, nil
}

func (r *registry) Has(_ context.Context, name string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "HAS "+name)
	return r.has[name], r.hasErr
}

func (r *registry) writes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		if !strings.HasPrefix(c, "GET ") && !strings.HasPrefix(c, "HAS ") {
			out = append(out, c)
		}
	}
	return out
}

func tarball(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte(`{"name":"x","version":"1.0.0"}`)
	if err := tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(body)
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

func publishBody(t *testing.T, name, version string) []byte {
	t.Helper()
	tgz := tarball(t)
	sum := sha512.Sum512(tgz)
	b, _ := json.Marshal(map[string]any{
		"_id": name, "name": name, "dist-tags": map[string]string{"latest": version},
		"versions": map[string]any{version: map[string]any{"name": name, "version": version,
			"dist": map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sum[:]), "tarball": "http://r.example.test/x.tgz"}}},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}},
	})
	return b
}

func keyring(t *testing.T) *signing.Keyring {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	ring, err := signing.ParsePEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func TestPublish(t *testing.T) {
	ring := keyring(t)
	user := redact.New("Bearer user-token")
	cases := []struct {
		name       string
		pkg        string
		public     map[string]bool
		hasErr     error
		wantErr    func(error) bool
		wantWrites int
	}{
		{name: "a new name is published and signed", pkg: "fresh", wantWrites: 1},
		{name: "a name the public registry has is refused", pkg: "taken", public: map[string]bool{"taken": true}, wantErr: isA[*RefusedError]},
		{name: "an internal name is claimed even when public", pkg: "@corp/lib", public: map[string]bool{"@corp/lib": true}, wantWrites: 1},
		{name: "the public registry unreachable fails closed", pkg: "fresh", hasErr: errors.New("dial tcp: refused"), wantErr: isA[*UnavailableError]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			priv, pub := &registry{has: map[string]bool{}}, &registry{has: tc.public, hasErr: tc.hasErr}
			w := New(Options{Private: priv, Public: pub, Keys: ring, Internal: func(n string) bool { return strings.HasPrefix(n, "@corp/") }})
			esc := "/" + escapeName(tc.pkg)
			reply, err := w.Publish(context.Background(), tc.pkg, Request{Method: http.MethodPut, EscapedPath: esc, Body: publishBody(t, tc.pkg, "1.0.0"), Credential: user})
			if tc.wantErr != nil {
				if !tc.wantErr(err) {
					t.Fatalf("Publish = %v (%T), not the error wanted", err, err)
				}
			} else if err != nil || reply.Status != http.StatusCreated {
				t.Fatalf("Publish = %v, %v", reply, err)
			}
			if got := priv.writes(); len(got) != tc.wantWrites {
				t.Fatalf("private writes %v, want %d", got, tc.wantWrites)
			}
			for _, c := range pub.calls {
				if !strings.HasPrefix(c, "HAS ") {
					t.Errorf("the public registry was sent %q", c)
				}
			}
			if tc.wantWrites == 0 {
				return
			}
			if !priv.creds[len(priv.creds)-1].Equal("Bearer user-token") {
				t.Error("the caller's credential was not forwarded to the private registry")
			}
			var sent struct {
				Versions map[string]struct {
					Dist struct {
						Integrity  string              `json:"integrity"`
						Signatures []signing.Signature `json:"signatures"`
					} `json:"dist"`
				} `json:"versions"`
			}
			if err := json.Unmarshal(priv.bodies[len(priv.bodies)-1], &sent); err != nil {
				t.Fatal(err)
			}
			d := sent.Versions["1.0.0"].Dist
			if _, err := signing.VerifyAny(ring.PublicKeys(), tc.pkg, "1.0.0", d.Integrity, d.Signatures, time.Now()); err != nil {
				t.Errorf("the forwarded version's signature does not verify: %v", err)
			}
		})
	}
}

func TestPublishBadBodyReachesNothing(t *testing.T) {
	priv, pub := &registry{has: map[string]bool{}}, &registry{has: map[string]bool{}}
	w := New(Options{Private: priv, Public: pub})
	body := publishBody(t, "other", "1.0.0")
	_, err := w.Publish(context.Background(), "fresh", Request{Method: http.MethodPut, EscapedPath: "/fresh", Body: body})
	var bad *BadRequestError
	if !errors.As(err, &bad) {
		t.Fatalf("Publish of a body for another name = %v, want a bad request", err)
	}
	if len(priv.calls)+len(pub.calls) != 0 {
		t.Errorf("a refused body reached %v %v", priv.calls, pub.calls)
	}
}

func TestWriteExisting(t *testing.T) {
	priv := &registry{has: map[string]bool{"@corp/lib": true}}
	w := New(Options{Private: priv, Public: &registry{has: map[string]bool{"lodash": true}}})
	ctx := context.Background()
	// A document write without an attachment (npm deprecate) on a private package.
	reply, err := w.Publish(ctx, "@corp/lib", Request{Method: http.MethodPut, EscapedPath: "/@corp%2flib", Body: []byte(`{"name":"@corp/lib","versions":{}}`)})
	if err != nil || reply.Status != http.StatusCreated {
		t.Fatalf("deprecate on a private package = %v, %v", reply, err)
	}
	// The same on a public-only package is refused, and nothing is written.
	before := len(priv.writes())
	_, err = w.WriteExisting(ctx, "lodash", Request{Method: http.MethodPut, EscapedPath: "/-/package/lodash/dist-tags/beta", Body: []byte(`"1.0.0"`)})
	var refused *RefusedError
	if !errors.As(err, &refused) || len(priv.writes()) != before {
		t.Errorf("dist-tag on a public-only package = %v (writes %v)", err, priv.writes())
	}
	// A read for a write goes to the private registry as it is.
	reply, err = w.WriteExisting(ctx, "lodash", Request{Method: http.MethodGet, EscapedPath: "/lodash", RawQuery: "write=true"})
	if err != nil || reply.Status != http.StatusNotFound {
		t.Errorf("GET ?write=true of a public-only package = %v, %v; want the private 404", reply, err)
	}
}

func TestKeys(t *testing.T) {
	ring := keyring(t)
	other := keyring(t)
	publicKeys, _ := json.Marshal(signing.KeysDocument{Keys: other.PublicKeys()})
	pub := &registry{has: map[string]bool{}, keys: publicKeys}
	now := time.Now()
	w := New(Options{Private: &registry{has: map[string]bool{}}, Public: pub, Keys: ring, Now: func() time.Time { return now }})
	doc := w.Keys(context.Background())
	if len(doc.Keys) != 2 || doc.Keys[0].KeyID != ring.Signer().KeyID() || doc.Keys[1].KeyID != other.Signer().KeyID() {
		t.Fatalf("keys %+v, want Écluse's then the public registry's", doc.Keys)
	}
	w.Keys(context.Background())
	n := 0
	for _, c := range pub.calls {
		if strings.HasSuffix(c, KeysPath) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the public registry's keys were read %d times within the hour, want 1", n)
	}
}

// isA reports whether err is (or wraps) an E.
func isA[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}

func TestAttestations(t *testing.T) {
	cases := []struct {
		name, origin string
		admitted     bool
		wantPublic   bool
		wantPrivate  bool
		wantNotFound bool
	}{
		{name: "admitted public version", origin: "public", admitted: true, wantPublic: true},
		{name: "admitted private version", origin: "private", admitted: true, wantPrivate: true},
		{name: "refused public version", origin: "public", admitted: false, wantNotFound: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			priv, pub := &registry{has: map[string]bool{}, keys: []byte(`{}`)}, &registry{has: map[string]bool{}}
			w := New(Options{Private: priv, Public: pub, Admitted: func(context.Context, string, string, redact.Secret) (string, bool, error) {
				return tc.origin, tc.admitted, nil
			}})
			_, err := w.Attestations(context.Background(), "@corp/lib", "1.0.0", Request{Credential: redact.New("Bearer user")})
			if tc.wantNotFound != isA[*NotFoundError](err) {
				t.Errorf("err = %v, want not found: %v", err, tc.wantNotFound)
			}
			if got := len(pub.calls) > 0; got != tc.wantPublic {
				t.Errorf("public asked: %v (%v)", got, pub.calls)
			}
			if got := len(priv.calls) > 0; got != tc.wantPrivate {
				t.Errorf("private asked: %v (%v)", got, priv.calls)
			}
			for _, c := range pub.creds {
				if c.IsSet() {
					t.Error("the caller's credential was sent to the public registry")
				}
			}
			for _, c := range append(pub.calls, priv.calls...) {
				if !strings.HasSuffix(c, "/-/npm/v1/attestations/@corp%2flib@1.0.0") {
					t.Errorf("asked %q", c)
				}
			}
		})
	}
}
