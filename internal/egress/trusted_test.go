package egress

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTrustedClient(t *testing.T) {
	privRD, otherRD := &redirector{}, &redirector{}
	priv := httptest.NewServer(privRD)
	t.Cleanup(priv.Close)
	other := httptest.NewServer(otherRD)
	t.Cleanup(other.Close)
	base := priv.URL // http://127.0.0.1:port: internal, and reachable on purpose

	tests := []struct {
		name   string
		url    string
		origin string
		max    int
		reason string // "" for success
	}{
		{name: "internal origin", url: base + "/pkg", origin: base},
		{name: "origin with path", url: base + "/pkg", origin: base + "/npm/"},
		{name: "redirects within origin", url: base + "/hop/5", origin: base},
		{name: "six hops", url: base + "/hop/6", origin: base, reason: "more than 5 redirects"},
		{name: "custom limit", url: base + "/hop/2", origin: base, max: 1, reason: "more than 1 redirects"},
		{name: "no redirects", url: base + "/hop/1", origin: base, max: -1, reason: "not followed"},
		{name: "redirect to another port", url: to(base, other.URL+"/pkg"), origin: base, reason: "outside the trusted private origin"},
		{name: "redirect to metadata", url: to(base, "http://169.254.169.254/latest/meta-data/"), origin: base, reason: "outside"},
		{name: "redirect to another scheme", url: to(base, "https://"+priv.Listener.Addr().String()+"/"), origin: base, reason: "outside"},
		{name: "first hop elsewhere", url: other.URL + "/pkg", origin: base, reason: "outside"},
		{name: "no origin", url: base + "/pkg", reason: "no trusted private origin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			otherRD.hits.Store(0)
			c := NewTrusted(mustURL(t, tc.origin), TrustedOptions{MaxRedirects: tc.max, Logger: testLogger(t)})
			t.Cleanup(c.CloseIdleConnections)
			resp, err := get(t, c, tc.url)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("GET %s = %v, want success", tc.url, err)
				}
				readAll(t, resp)
				return
			}
			if err == nil {
				_ = resp.Body.Close()
				t.Fatalf("GET %s succeeded, want refusal %q", tc.url, tc.reason)
			}
			wantRefused(t, err, tc.reason)
			if n := otherRD.hits.Load(); n != 0 {
				t.Errorf("server outside the origin saw %d requests, want 0", n)
			}
		})
	}
}

func TestTrustedClientTLS(t *testing.T) {
	srv := httptest.NewTLSServer(&redirector{})
	t.Cleanup(srv.Close)
	c := NewTrusted(mustURL(t, srv.URL), TrustedOptions{
		TLSConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig,
		Logger:    testLogger(t),
	})
	t.Cleanup(c.CloseIdleConnections)
	resp, err := get(t, c, srv.URL+"/hop/2")
	if err != nil {
		t.Fatalf("GET over TLS = %v, want success", err)
	}
	if got := readAll(t, resp); got != "done" {
		t.Errorf("body = %q, want %q", got, "done")
	}
}
