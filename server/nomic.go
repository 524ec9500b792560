package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/nomic"
)

// nomicRoutes are the nomic loop's routes (docs/nomic.md#admin-endpoints),
// served when Config.Nomic is set.
func (s *Server) nomicRoutes() []route {
	return []route{
		{"GET /api/nomic/metrics", auth.Public, "general", s.handleNomicMetrics},
		{"GET /api/admin/nomic/status", auth.RoleAdmin, "general", s.handleNomicStatus},
		{"POST /api/admin/nomic/pause", auth.RoleAdmin, "general", s.handleNomicPause},
		{"POST /api/admin/nomic/resume", auth.RoleAdmin, "general", s.handleNomicResume},
		{"POST /api/admin/nomic/reset", auth.RoleAdmin, "general", s.handleNomicReset},
		{"GET /api/admin/nomic/circuit-breakers", auth.RoleAdmin, "general", s.handleNomicBreakers},
		{"POST /api/admin/nomic/circuit-breakers/reset", auth.RoleAdmin, "general", s.handleNomicBreakersReset},
	}
}

// nomicActor names the principal of r for the loop's transcript.
func nomicActor(r *http.Request) string {
	p := PrincipalFrom(r.Context())
	switch {
	case p == nil:
		return "anonymous"
	case p.Email != "":
		return p.Email
	}
	return string(p.Type) + ":" + p.ID
}

func (s *Server) nomicError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, nomic.ErrInvalidPhase):
		s.writeError(w, r, validation(map[string]string{"target_phase": "must be context, debate, design, implement, verify, commit or idle"}))
	case errors.Is(err, nomic.ErrInvalidState):
		s.writeError(w, r, apiErr(http.StatusConflict, "invalid_state", err.Error()))
	default:
		s.writeError(w, r, err)
	}
}

func (s *Server) handleNomicMetrics(w http.ResponseWriter, r *http.Request) {
	m, err := s.cfg.Nomic.Metrics(r.Context())
	s.replyOK(w, r, m, err)
}

func (s *Server) handleNomicStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.cfg.Nomic.Status(r.Context())
	s.replyOK(w, r, st, err)
}

// nomicResult writes a command's answer: 202 while the loop has not
// acknowledged it, else the document (or, with none, the new status).
func (s *Server) nomicResult(w http.ResponseWriter, r *http.Request, action string, res nomic.Result, err error) {
	if err != nil {
		s.nomicError(w, r, err)
		return
	}
	setAudit(r, func(a *auditState) {
		a.target = "nomic"
		a.details = map[string]any{"action": action, "command_id": res.CommandID, "pending": res.Pending}
	})
	if res.Pending {
		writeJSON(w, http.StatusAccepted, map[string]string{"command_id": res.CommandID, "status": "pending"})
		return
	}
	if len(res.Doc) > 0 && action != "pause" && action != "resume" {
		writeJSON(w, http.StatusOK, json.RawMessage(res.Doc))
		return
	}
	st, err := s.cfg.Nomic.Status(r.Context())
	s.replyOK(w, r, st, err)
}

func (s *Server) handleNomicPause(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	res, err := s.cfg.Nomic.Pause(r.Context(), req.Reason, nomicActor(r))
	s.nomicResult(w, r, "pause", res, err)
}

func (s *Server) handleNomicResume(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TargetPhase string `json:"target_phase"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	res, err := s.cfg.Nomic.Resume(r.Context(), req.TargetPhase, nomicActor(r))
	s.nomicResult(w, r, "resume", res, err)
}

func (s *Server) handleNomicReset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TargetPhase string `json:"target_phase"`
		ClearErrors bool   `json:"clear_errors"`
		Reason      string `json:"reason"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	res, err := s.cfg.Nomic.Reset(r.Context(), req.TargetPhase, req.ClearErrors, req.Reason, nomicActor(r))
	s.nomicResult(w, r, "reset", res, err)
}

func (s *Server) handleNomicBreakers(w http.ResponseWriter, r *http.Request) {
	b, err := s.cfg.Nomic.CircuitBreakers(r.Context())
	s.replyOK(w, r, b, err)
}

func (s *Server) handleNomicBreakersReset(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.Nomic.ResetBreakers(r.Context(), nomicActor(r))
	s.nomicResult(w, r, "circuit_breakers_reset", res, err)
}
