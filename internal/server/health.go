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
	ready  atomic.Bool
	mu     sync.Mutex
	live   map[string]func(context.Context) error
	detail map[string]func() any
}

// AddDetail registers a named piece of state /readyz reports under "detail" (the
// advisory index's age and size, say). It never changes readiness: a part that is
// still warming up is reported, not waited for. detail must be cheap and safe for
// concurrent use; its result is encoded as JSON.
func (h *Health) AddDetail(name string, detail func() any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.detail == nil {
		h.detail = map[string]func() any{}
	}
	h.detail[name] = detail
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
	Detail map[string]any    `json:"detail,omitempty"`
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
	h.mu.Lock()
	var detail map[string]any
	for name, fn := range h.detail {
		if detail == nil {
			detail = make(map[string]any, len(h.detail))
		}
		detail[name] = fn()
	}
	h.mu.Unlock()
	if !h.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, probeBody{Status: "not ready", Detail: detail})
		return
	}
	writeJSON(w, http.StatusOK, probeBody{Status: "ok", Detail: detail})
}
