package server

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
)

// Health holds the liveness checks later parts register (the mirror worker's heartbeat)
// and the readiness flag. The zero value is live and not ready.
type Health struct {
	ready atomic.Bool
	mu    sync.Mutex
	live  map[string]func(context.Context) error
}

// AddLiveness registers a named check; a non-nil error from it fails /livez.
func (h *Health) AddLiveness(name string, check func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live == nil {
		h.live = map[string]func(context.Context) error{}
	}
	h.live[name] = check
}

// SetReady flips readiness: true once the configuration is loaded and the listener is
// serving, false when shutdown begins so load balancers drain the instance.
func (h *Health) SetReady(ready bool) { h.ready.Store(ready) }

type probeBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (h *Health) serveLive(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	checks := make(map[string]func(context.Context) error, len(h.live))
	for k, v := range h.live {
		checks[k] = v
	}
	h.mu.Unlock()
	body := probeBody{Status: "ok", Checks: map[string]string{}}
	status := http.StatusOK
	for name, check := range checks {
		if err := check(r.Context()); err != nil {
			body.Checks[name] = err.Error()
			body.Status, status = "failing", http.StatusServiceUnavailable
			continue
		}
		body.Checks[name] = "ok"
	}
	writeJSON(w, status, body)
}

func (h *Health) serveReady(w http.ResponseWriter, _ *http.Request) {
	if !h.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, probeBody{Status: "not ready"})
		return
	}
	writeJSON(w, http.StatusOK, probeBody{Status: "ok"})
}
