package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/ecluse/ecluse/internal/egress"
	"github.com/ecluse/ecluse/internal/upstream"
)

func TestClassifyUpstream(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		kind   Kind
		reason Reason
	}{
		{"not found", fmt.Errorf("x: %w", upstream.ErrNotFound), KindPermanent, ReasonNotFound},
		{"too large", upstream.ErrTooLarge, KindPermanent, ReasonTooLarge},
		{"denied", &upstream.DeniedError{Origin: "public", Status: 403}, KindPermanent, ReasonDenied},
		{"refused", &upstream.UnavailableError{Origin: "public", Refusal: "host x: internal"}, KindPermanent, ReasonRefused},
		{"network", &upstream.UnavailableError{Origin: "public", Err: errors.New("reset")}, KindTransient, ReasonNetwork},
		{"5xx", &upstream.UnavailableError{Origin: "public", Status: 502}, KindTransient, ReasonStatus},
		{"429", &upstream.UnavailableError{Origin: "public", Status: http.StatusTooManyRequests}, KindTransient, ReasonStatus},
		{"other 4xx", &upstream.UnavailableError{Origin: "public", Status: 410}, KindPermanent, ReasonStatus},
		{"deadline", context.DeadlineExceeded, KindTransient, ReasonNetwork},
	}
	for _, tt := range tests {
		e := classifyUpstream("fetch", tt.err)
		if e.Kind != tt.kind || e.Reason != tt.reason || !errors.Is(e, tt.err) {
			t.Errorf("%s: classifyUpstream = %v (%s %s), want %s %s wrapping the cause", tt.name, e, e.Kind, e.Reason, tt.kind, tt.reason)
		}
	}
	if k := classifyRead(&egress.TooLargeError{Limit: 1}); k.Reason != ReasonTooLarge || k.Kind != KindPermanent {
		t.Errorf("classifyRead(too large) = %v", k)
	}
	if KindOf(errors.New("anything")) != KindTransient || ReasonOf(errors.New("anything")) != "" {
		t.Error("an unclassified error is not transient")
	}
}

func TestUpstreamFetcher(t *testing.T) {
	r := newRig(t)
	tgz := []byte("fetched")
	r.public.add("@s/p", "1.0.0", tgz)
	ctx := context.Background()
	j := r.job("@s/p", "1.0.0", tgz)
	m, err := r.fetch.Manifest(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 || m[0] != '{' {
		t.Errorf("Manifest = %s", m)
	}
	missing := j
	missing.Version = "9.9.9"
	if _, err := r.fetch.Manifest(ctx, missing); ReasonOf(err) != ReasonNotFound || KindOf(err) != KindPermanent {
		t.Errorf("Manifest of a missing version = %v, want a permanent not_found", err)
	}
	gone := j
	gone.Name = "@s/gone"
	if _, err := r.fetch.Manifest(ctx, gone); ReasonOf(err) != ReasonNotFound {
		t.Errorf("Manifest of a missing package = %v, want not_found", err)
	}
	body, size, err := r.fetch.Open(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	if size != int64(len(tgz)) {
		t.Errorf("Open size = %d, want %d", size, len(tgz))
	}
	// A tarball on another host than the packument's is refused by the guard's
	// tarball host policy before any connection.
	elsewhere := j
	elsewhere.Tarball = "http://" + freeHost(t) + "/x.tgz"
	if _, _, err := r.fetch.Open(ctx, elsewhere); KindOf(err) != KindPermanent || ReasonOf(err) != ReasonRefused {
		t.Errorf("Open of a tarball elsewhere = %v, want a permanent refusal", err)
	}
}
