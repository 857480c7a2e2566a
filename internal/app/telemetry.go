package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/ecluse/ecluse/internal/observe"
)

// telemetryFlush bounds the flush of spans and metrics at shutdown.
const telemetryFlush = 5 * time.Second

// registerGauges reports the state the request path does not count itself: the
// in-flight memory budget, what the caches hold, the mirror queue's depth and the
// advisory index's age and size, and whether span recording is paused because the
// trace collector cannot be reached. Nothing is registered when metrics are off.
func registerGauges(tel *observe.Telemetry, b *built) error {
	gauges := []struct {
		name, unit, description string
		read                    func() float64
	}{
		{"ecluse.budget.inflight.bytes", "By", "memory charged to upstream documents being read and parsed",
			func() float64 { return float64(b.budget.InUse()) }},
		{"ecluse.cache.bytes", "By", "bytes held by the npm mounts' document caches",
			func() float64 {
				var n int64
				for _, g := range b.gates {
					n += g.CacheBytes()
				}
				return float64(n)
			}},
		{"ecluse.mirror.queue.depth", "{job}", "mirror jobs waiting in the queue (-1 when the backend cannot say)",
			func() float64 { return float64(queueDepth(context.Background(), b.mirror.queue)) }},
		{"ecluse.advisory.index.age", "s", "age of the advisory index in use (-1 before one has loaded)",
			func() float64 {
				st := b.advisories.Status()
				if !st.Loaded {
					return -1
				}
				return st.Age(time.Now()).Seconds()
			}},
		{"ecluse.advisory.index.records", "{advisory}", "advisories in the index in use",
			func() float64 { return float64(b.advisories.Status().Records) }},
		{"ecluse.telemetry.spans.paused", "1", "1 while the last span export failed and span recording is paused, else 0",
			func() float64 {
				if tel.SpansPaused() {
					return 1
				}
				return 0
			}},
	}
	for _, g := range gauges {
		if err := tel.Gauge(g.name, g.unit, g.description, g.read); err != nil {
			return err
		}
	}
	return nil
}

// serveMetrics serves the Prometheus scrape handler at /metrics on its own listener
// until ctx ends. Clients of the registry never reach it: it is not on the front
// door's port.
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
