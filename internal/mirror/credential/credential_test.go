package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/ecluse/ecluse/internal/redact"
)

func TestStatic(t *testing.T) {
	tok, err := Static(redact.New("t0k")).Token(context.Background())
	if err != nil || tok.Reveal() != "t0k" {
		t.Errorf("Static.Token = %v, %v", tok, err)
	}
	tok, err = Static(redact.Secret{}).Token(context.Background())
	if err != nil || tok.IsSet() {
		t.Errorf("Static(unset).Token = %v, %v, want the unset secret", tok, err)
	}
}

// codeArtifactStub is a protocol stub of the CodeArtifact API's GetAuthorizationToken
// (POST /v1/authorization-token?domain=&domain-owner=&duration=, answered with
// {"authorizationToken", "expiration"}), served locally so that the real SDK, signing
// with the default credential chain, can be exercised without AWS.
type codeArtifactStub struct {
	srv *httptest.Server
	// lifetime is the expiration the stub states, from now().
	lifetime time.Duration
	now      func() time.Time

	mu       sync.Mutex
	requests []*http.Request
	fail     bool
	n        atomic.Int64
}

func newCodeArtifactStub(t *testing.T) *codeArtifactStub {
	s := &codeArtifactStub{lifetime: time.Hour, now: time.Now}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Clone(context.Background()))
		fail := s.fail
		s.mu.Unlock()
		if fail {
			w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprint(w, `{"message":"not allowed"}`)
			return
		}
		n := s.n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"authorizationToken": fmt.Sprintf("ca-token-%d", n),
			"expiration":         float64(s.now().Add(s.lifetime).Unix()),
		})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *codeArtifactStub) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

func (s *codeArtifactStub) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// awsTestEnv points the SDK's default chain at static test keys and away from any
// file or metadata service of this machine.
func awsTestEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTUBEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stub-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_CODEARTIFACT", "")
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestCodeArtifactProtocolStubMintsAndRefreshes drives the real AWS SDK against a
// local protocol stub of the CodeArtifact endpoint (not AWS): it checks the request the
// SDK sends (operation, domain, owner, duration, a SigV4 signature from the default
// chain), that the token is cached, renewed after 75% of its life, and kept when a
// renewal fails while it is still valid.
func TestCodeArtifactProtocolStubMintsAndRefreshes(t *testing.T) {
	awsTestEnv(t)
	stub := newCodeArtifactStub(t)
	clock := &testClock{now: time.Now()}
	stub.now = clock.Now
	p, err := CodeArtifact(context.Background(), CodeArtifactOptions{
		Domain: "corp", DomainOwner: "123456789012", Region: "eu-west-1",
		Duration: time.Hour, Endpoint: stub.srv.URL, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := p.Token(ctx)
	if err != nil || tok.Reveal() != "ca-token-1" {
		t.Fatalf("first Token = %v, %v", tok, err)
	}
	req := stub.last()
	if req.Method != http.MethodPost || req.URL.Path != "/v1/authorization-token" {
		t.Errorf("request = %s %s, want POST /v1/authorization-token", req.Method, req.URL.Path)
	}
	q := req.URL.Query()
	if q.Get("domain") != "corp" || q.Get("domain-owner") != "123456789012" || q.Get("duration") != "3600" {
		t.Errorf("query = %v, want domain, domain-owner and duration=3600", q)
	}
	if auth := req.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDSTUBEXAMPLE/") ||
		!strings.Contains(auth, "/eu-west-1/codeartifact/aws4_request") {
		t.Errorf("Authorization = %q, want a SigV4 signature with the default chain's key for codeartifact in eu-west-1", auth)
	}

	clock.Advance(44 * time.Minute) // 73% of the hour
	if tok, _ := p.Token(ctx); tok.Reveal() != "ca-token-1" || stub.count() != 1 {
		t.Errorf("at 73%% of its life: Token = %q after %d requests, want the cached token", tok.Reveal(), stub.count())
	}
	clock.Advance(2 * time.Minute) // 77%
	if tok, _ := p.Token(ctx); tok.Reveal() != "ca-token-2" || stub.count() != 2 {
		t.Errorf("at 77%% of its life: Token = %q after %d requests, want a renewed token", tok.Reveal(), stub.count())
	}

	// Renewal fails while the token is valid: the current token is handed out.
	stub.mu.Lock()
	stub.fail = true
	stub.mu.Unlock()
	clock.Advance(50 * time.Minute) // past 75% of the second token's life, before its end
	if tok, err := p.Token(ctx); err != nil || tok.Reveal() != "ca-token-2" {
		t.Errorf("renewal failing before expiry: Token = %q, %v, want the current token", tok.Reveal(), err)
	}
	// Past its expiry, the failure surfaces, without the token.
	clock.Advance(20 * time.Minute)
	tok, err = p.Token(ctx)
	if err == nil || tok.IsSet() {
		t.Fatalf("renewal failing after expiry: Token = %v, %v, want an error", tok, err)
	}
	if strings.Contains(err.Error(), "ca-token") {
		t.Errorf("error %q holds a token", err)
	}
}

func TestCodeArtifactProtocolStubDuration(t *testing.T) {
	awsTestEnv(t)
	for _, tt := range []struct {
		in   time.Duration
		want string
	}{
		{0, "43200"},
		{50000 * time.Second, "43200"},
		{10 * time.Second, "900"},
		{7200*time.Second + 500*time.Millisecond, "7200"},
	} {
		stub := newCodeArtifactStub(t)
		p, err := CodeArtifact(context.Background(), CodeArtifactOptions{
			Domain: "corp", DomainOwner: "123456789012", Region: "us-east-1", Duration: tt.in, Endpoint: stub.srv.URL,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := stub.last().URL.Query().Get("duration"); got != tt.want {
			t.Errorf("Duration %s: duration = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCodeArtifactRequiresDomain(t *testing.T) {
	if _, err := CodeArtifact(context.Background(), CodeArtifactOptions{DomainOwner: "123456789012"}); err == nil {
		t.Error("CodeArtifact without a domain = nil error")
	}
}

// stubTokenSource is a local oauth2.TokenSource standing in for Application Default
// Credentials.
type stubTokenSource struct {
	calls atomic.Int64
	// life is the stated lifetime of each token it hands out.
	life time.Duration
	err  error
}

func (s *stubTokenSource) Token() (*oauth2.Token, error) {
	n := s.calls.Add(1)
	if s.err != nil {
		return nil, s.err
	}
	return &oauth2.Token{AccessToken: fmt.Sprintf("ya29.stub-%d", n), TokenType: "Bearer", Expiry: time.Now().Add(s.life)}, nil
}

func TestGCPArtifactRegistryTokenSourceStub(t *testing.T) {
	ctx := context.Background()
	src := &stubTokenSource{life: time.Hour}
	p, err := GCPArtifactRegistry(ctx, GCPOptions{TokenSource: src})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		tok, err := p.Token(ctx)
		if err != nil || tok.Reveal() != "ya29.stub-1" {
			t.Fatalf("Token = %v, %v, want the first token", tok, err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("token source asked %d times for a valid token, want 1", n)
	}

	// A token about to expire is replaced on the next call.
	short := &stubTokenSource{life: time.Second}
	p, _ = GCPArtifactRegistry(ctx, GCPOptions{TokenSource: short})
	first, _ := p.Token(ctx)
	second, _ := p.Token(ctx)
	if first.Reveal() == second.Reveal() || short.calls.Load() != 2 {
		t.Errorf("expiring token: %q then %q after %d calls, want a refresh", first.Reveal(), second.Reveal(), short.calls.Load())
	}

	failing := &stubTokenSource{err: errors.New("metadata server unreachable")}
	p, _ = GCPArtifactRegistry(ctx, GCPOptions{TokenSource: failing})
	if tok, err := p.Token(ctx); err == nil || tok.IsSet() {
		t.Errorf("failing source: Token = %v, %v, want an error", tok, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Token(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Token with a cancelled context = %v", err)
	}
}
