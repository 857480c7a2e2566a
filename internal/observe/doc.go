// Package observe is the process's observability: structured logging (log/slog) with
// the request-scoped logger carried in a context, the resolved service identity, the
// `dd` object stamped on every log line, and the OpenTelemetry tracer and meter
// providers with their exporters (OTLP over HTTP, and a Prometheus scrape handler).
//
// Other packages instrument themselves through the OpenTelemetry API globals; this
// package decides whether anything behind those globals exists. Off, it installs
// nothing and the globals stay no-op.
//
// It must not decide anything about requests; it only records them. It never opens a
// listener (the composition root serves MetricsHandler), never blocks a caller on
// export, and never prints a credential it reads from the environment.
package observe
