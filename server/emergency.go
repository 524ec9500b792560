package server

import (
	"net/http"
)

// handleEmergency is POST /api/admin/rate-limits/emergency
// {"enabled":bool}: switches the rate limiter's emergency mode (every
// limit divided by 10) on this replica at run time, without a restart.
// ARAGORA_RATE_LIMIT_EMERGENCY sets the state a process starts with
// (docs/configuration.md, docs/console.md).
func (s *Server) handleEmergency(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Enabled *bool  `json:"enabled"`
		Reason  string `json:"reason"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	if req.Enabled == nil {
		s.writeError(w, r, validation(map[string]string{"enabled": "required (true or false)"}))
		return
	}
	prev := s.cfg.RateLimiter.SetEmergency(*req.Enabled)
	info := infoFrom(r.Context())
	setAudit(r, func(a *auditState) {
		a.action, a.target = "admin.rate_limit_emergency", "rate_limits"
		a.details = map[string]any{"enabled": *req.Enabled, "previous": prev, "reason": req.Reason}
	})
	level := s.log.Info
	if *req.Enabled {
		level = s.log.Warn
	}
	level("rate_limit_emergency", "enabled", *req.Enabled, "previous", prev, "principal", info.principal.ID,
		"correlation_id", info.correlationID)
	writeJSON(w, http.StatusOK, map[string]any{"emergency": *req.Enabled, "previous": prev, "emergency_divisor": 10})
}
