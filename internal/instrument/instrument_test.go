package instrument

import (
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestBindFollowsTheProviders: a Bound is made once per providers, and made again when
// other providers are installed.
func TestBindFollowsTheProviders(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	made := 0
	b := Bind(func(p Providers) Providers { made++; return p })
	if got := b.Get(); got != Current() || made != 1 {
		t.Fatalf("first Get = %v after %d makes", got, made)
	}
	b.Get()
	if made != 1 {
		t.Errorf("made %d times for the same providers, want once", made)
	}
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	otel.SetTracerProvider(tp)
	if got := b.Get(); got.Tracer != tp || made != 2 {
		t.Errorf("after installing a provider Get = %v (made %d), want it made again from the new one", got.Tracer, made)
	}
}
