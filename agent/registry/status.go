package registry

import (
	"cmp"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/breaker"
)

// Status is one entry of GET /api/agents/status (docs/http-api.md#agents): the
// agent's description, its circuit state and its call statistics.
type Status struct {
	Name           string               `json:"name"`
	Provider       string               `json:"provider"`
	Model          string               `json:"model"`
	Configured     bool                 `json:"configured"`
	Available      bool                 `json:"available"`
	CircuitState   breaker.State        `json:"circuit_state"`
	QuotaRemaining agent.QuotaRemaining `json:"quota_remaining"`
	QuotaResetAt   *time.Time           `json:"quota_reset_at"`
	Latency        *agent.Latency       `json:"latency_ms"`
	RequestsTotal  int64                `json:"requests_total"`
	Errors         agent.ErrorCounts    `json:"errors"`
	LastError      *agent.LastError     `json:"last_error"`
	Fallback       *FallbackInfo        `json:"fallback"`
}

// Status returns one Status per agent of [Registry.Known]. An agent is
// available when it is configured and either its circuit is not open and
// its quota not exhausted, or a fallback can serve it; the fallback is
// active when it serves every call (no key of its own) or stands in now
// (circuit open or quota exhausted).
func (r *Registry) Status() []Status {
	circuits := r.breakers.Snapshot()
	var out []Status
	for _, info := range r.Known() {
		snap := r.stats.Snapshot(info.Name)
		st := Status{
			Name: info.Name, Provider: cmp.Or(info.Provider, snap.Provider), Model: cmp.Or(info.Model, snap.Model), Configured: info.Configured,
			CircuitState:   circuits[info.Name].State,
			QuotaRemaining: snap.QuotaRemaining, QuotaResetAt: snap.QuotaResetAt,
			Latency: snap.Latency, RequestsTotal: snap.RequestsTotal, Errors: snap.Errors, LastError: snap.LastError,
		}
		impaired := st.CircuitState == breaker.StateOpen || snap.QuotaExhausted()
		if info.Fallback != nil {
			fb := *info.Fallback
			fb.Active = fb.Active || impaired
			st.Fallback = &fb
		}
		st.Available = info.Configured && (!impaired || info.Fallback != nil)
		out = append(out, st)
	}
	return out
}
