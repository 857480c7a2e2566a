package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/ecluse/ecluse/internal/observe"
)

// BenchmarkTelemetryCollectorDown serves the same load through the whole front door,
// over loopback HTTP (8 clients, warm documents), three ways within one run, in turn
// and in rotating order so none gains from another's warm-up: telemetry off; on, with
// a collector that accepts everything; on, with a collector that cannot be reached (a
// port nothing listens on), timed once its first export has failed. It reports the time per request of each and the ratios:
// "down-x-up" is what a dead collector costs the request path (export is batched and
// asynchronous, so it should be nothing), "down-x-off" what telemetry costs in all,
// recording the spans and metrics included.
func BenchmarkTelemetryCollectorDown(b *testing.B) {
	h := newHarness(b, nil)
	if r := h.get("/left-pad"); r.status != 200 {
		b.Fatalf("warm-up: %s", r.describe())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	_ = ln.Close()
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(collector.Close)

	// Telemetry installs the global providers; each turn puts the originals back, so
	// that "off" really runs with nothing installed.
	tp, mp, prop := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	restore := func() {
		if otel.GetTracerProvider() == tp {
			return // nothing to put back (setting a provider to itself only logs a complaint)
		}
		otel.SetTracerProvider(tp)
		otel.SetMeterProvider(mp)
		otel.SetTextMapPropagator(prop)
	}
	b.Cleanup(restore)

	const clients, perTurn = 8, 800
	load := func() time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range perTurn / clients {
					if r := h.get("/left-pad"); r.status != 200 {
						b.Errorf("GET /left-pad: %s", r.describe())
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	// Spans are batched for export every 100 ms rather than 5 s, and a failed export
	// gives up at once rather than after 15 s of retries, so that the "down" turn
	// reaches, before it is timed, the state a dead collector leaves a long-running
	// process in: the export has failed and span recording is paused.
	b.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	with := func(endpoint string) time.Duration {
		b.StopTimer()
		tel, err := observe.StartTelemetry(observe.TelemetryOptions{
			Enabled: true, Identity: observe.Identity{Service: "ecluse-bench"},
			Getenv: func(k string) (string, bool) {
				return endpoint, k == "OTEL_EXPORTER_OTLP_ENDPOINT"
			},
			Logger: slog.New(slog.DiscardHandler), ExportInterval: time.Second,
			ExportRetry: -1,
		})
		if err != nil {
			b.Fatal(err)
		}
		if endpoint == dead {
			deadline := time.Now().Add(10 * time.Second)
			for !tel.SpansPaused() {
				if time.Now().After(deadline) {
					b.Fatal("span recording did not pause against the dead collector")
				}
				h.get("/left-pad")
			}
		}
		b.StartTimer()
		d := load()
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_ = tel.Shutdown(ctx) // against the dead collector the flush fails, by design
		cancel()
		restore()
		b.StartTimer()
		return d
	}
	var off, up, down time.Duration
	b.ResetTimer()
	for i := range b.N {
		turns := []func(){
			func() { off += load() },
			func() { up += with(collector.URL) },
			func() { down += with(dead) },
		}
		for j := range turns {
			turns[(i+j)%len(turns)]()
		}
	}
	n := float64(b.N * perTurn)
	b.ReportMetric(float64(off.Nanoseconds())/n/1e3, "off-us/req")
	b.ReportMetric(float64(up.Nanoseconds())/n/1e3, "up-us/req")
	b.ReportMetric(float64(down.Nanoseconds())/n/1e3, "down-us/req")
	b.ReportMetric(float64(down)/float64(up), "down-x-up")
	b.ReportMetric(float64(down)/float64(off), "down-x-off")
}
