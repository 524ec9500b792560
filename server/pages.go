package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/aragora/aragora/auth"
)

// Pages is a browser UI served on the API listener beside the API (the
// console package's handler: docs/console.md). Patterns lists the GET
// patterns it serves ("GET /admin", "GET /console/{file}", ...); they are
// public and not rate limited, and a pattern under /api/ or one the API
// already serves is refused by [New]. The pages authenticate in the
// browser against the API itself, so the server gives them no principal.
type Pages interface {
	http.Handler
	Patterns() []string
}

// pageRoutes returns the routes of cfg.Pages.
func (s *Server) pageRoutes() []route {
	if s.cfg.Pages == nil {
		return nil
	}
	var rs []route
	for _, p := range s.cfg.Pages.Patterns() {
		rs = append(rs, route{p, auth.Public, "", s.cfg.Pages.ServeHTTP})
	}
	return rs
}

// checkPagePatterns refuses page patterns that are not plain GETs or that
// would shadow the API.
func checkPagePatterns(ps []string, api []route) error {
	taken := map[string]bool{}
	for _, rt := range api {
		taken[rt.pattern] = true
	}
	for _, p := range ps {
		path, ok := strings.CutPrefix(p, "GET ")
		if !ok || !strings.HasPrefix(path, "/") {
			return fmt.Errorf("server: page pattern %q: want GET /path", p)
		}
		if path == "/api" || strings.HasPrefix(path, "/api/") || path == "/ws" || strings.HasPrefix(path, "/ws/") || taken[p] {
			return fmt.Errorf("server: page pattern %q would shadow the API", p)
		}
	}
	return nil
}

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
	if err := decodeBody(r, s.cfg.MaxBodyBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Enabled == nil {
		s.writeError(w, r, validation(map[string]string{"enabled": "required (true or false)"}))
		return
	}
	prev := s.cfg.SetEmergency(*req.Enabled)
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
