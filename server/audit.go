package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/store"
)

// auditState is what a handler adds to its request's audit row.
type auditState struct {
	action  string // overrides the route's action; "" keeps it
	actor   *auth.Principal
	target  string
	details map[string]any
	skip    bool // the route's action does not apply to this request
}

// routeActions are the audited routes outside /api/admin, /api/system and
// /api/debug, which are always audited (docs/http-api.md#administration).
var routeActions = map[string]string{
	"POST /api/auth/login":                  "auth.login",
	"POST /api/auth/logout":                 "auth.logout",
	"POST /api/auth/register":               "auth.register",
	"POST /api/auth/password":               "auth.password_change",
	"POST /api/auth/api-key":                "auth.api_key_create",
	"DELETE /api/auth/api-key":              "auth.api_key_delete",
	"POST /api/debates":                     "debate.create",
	"POST /api/debates/{id}/cancel":         "debate.cancel",
	"POST /api/agents/{name}/reset-circuit": "agent.reset_circuit",

	"POST /api/webhooks/retry-failed":        "webhook.retry_failed",
	"POST /api/webhooks/endpoints":           "webhook.endpoint_create",
	"DELETE /api/webhooks/endpoints/{id}":    "webhook.endpoint_delete",
	"POST /api/webhooks/endpoints/{id}/test": "webhook.endpoint_test",

	"DELETE /api/memory/continuum/{id}":  "memory.delete",
	"POST /api/memory/continuum/cleanup": "memory.cleanup",
}

// actionFor returns the audit action of a route pattern, "" when the
// route is not audited by default.
func actionFor(pattern string) string {
	if a, ok := routeActions[pattern]; ok {
		return a
	}
	_, path, _ := strings.Cut(pattern, " ")
	for _, p := range [...]string{"/api/admin/", "/api/system/", "/api/debug/"} {
		if rest, ok := strings.CutPrefix(path, p); ok {
			return strings.TrimSuffix(p[len("/api/"):], "/") + "." + strings.ReplaceAll(rest, "-", "_")
		}
	}
	return ""
}

// anonymousActions may be audited without a principal (the handler names
// the actor when it knows it).
func anonymousAction(action string) bool {
	switch action {
	case "auth.login", "auth.register", "auth.refresh_reuse":
		return true
	}
	return false
}

// setAudit lets a handler refine its request's audit row.
func setAudit(r *http.Request, f func(a *auditState)) { f(&infoFrom(r.Context()).audit) }

// auditStore is where audit rows go; nil: nowhere.
func (s *Server) auditStore() store.AuditStore {
	if a := s.accountStore(); a != nil {
		return a // an auth.Store keeps the audit log too
	}
	a, _ := s.st.(store.AuditStore)
	return a
}

// auditRequest writes the one audit row of a sensitive request, when its
// status is known and before the response leaves (docs/http-api.md#administration). Calls
// without any credential are not audited, except logins and registrations.
func (s *Server) auditRequest(r *http.Request, rw http.ResponseWriter, info *reqInfo, status int) {
	a := info.audit
	if a.skip {
		return
	}
	action := a.action
	if action == "" {
		action = actionFor(info.pattern)
	}
	if action == "" || (info.pattern == "POST /api/debates" && status >= 400 && status != http.StatusForbidden) {
		return
	}
	st := s.auditStore()
	if st == nil {
		return
	}
	p := a.actor
	if p == nil {
		p = info.principal
	}
	if p == nil && !anonymousAction(action) {
		return
	}
	actor := store.AuditActor{ID: "anonymous", Type: "user"}
	if p != nil {
		actor = store.AuditActor{ID: p.ID, Type: string(p.Type), Role: string(p.Role)}
	}
	outcome := store.OutcomeSuccess
	switch {
	case status == http.StatusForbidden || (status == http.StatusUnauthorized && action != "auth.login"):
		outcome = store.OutcomeDenied
	case status >= 400:
		outcome = store.OutcomeFailure
	}
	target := a.target
	if target == "" {
		for _, k := range [...]string{"id", "name"} {
			if v := r.PathValue(k); v != "" {
				target = v
				break
			}
		}
	}
	if target == "" {
		if loc := rw.Header().Get("Location"); loc != "" {
			target = loc[strings.LastIndexByte(loc, '/')+1:]
		}
	}
	details := a.details
	if details == nil {
		details = map[string]any{}
	}
	details["status"] = status
	raw, _ := json.Marshal(details)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
	defer cancel()
	e := store.AuditEntry{Actor: actor, Action: action, Target: target, IP: info.clientIP, UserAgent: r.UserAgent(),
		CorrelationID: info.correlationID, Outcome: outcome, Details: raw}
	if err := (auth.Auditor{Store: st, Now: s.cfg.Now}).Audit(ctx, e); err != nil {
		s.log.Error("audit_write_failed", "action", action, "error", err.Error(), "correlation_id", info.correlationID)
		return
	}
	s.log.Info("audit", "action", action, "outcome", outcome, "actor", actor.ID, "target", target, "correlation_id", info.correlationID)
}

// errorRingSize is the capacity of GET /api/system/errors (docs/http-api.md#administration).
const errorRingSize = 500

// ErrorRecord is one entry of the in-memory error ring (docs/http-api.md#administration).
type ErrorRecord struct {
	At            time.Time
	Type          string // http, agent, webhook, debate, nomic or internal
	Level         string // WARN or ERROR
	Code          string
	Message       string
	Route         string
	Method        string
	Status        int
	DebateID      string
	Agent         string
	CorrelationID string
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// MarshalJSON renders the record with null for empty fields.
func (e ErrorRecord) MarshalJSON() ([]byte, error) {
	var status any
	if e.Status != 0 {
		status = e.Status
	}
	return json.Marshal(map[string]any{"at": ts(e.At), "type": e.Type, "level": e.Level, "code": nullable(e.Code),
		"message": e.Message, "route": nullable(e.Route), "method": nullable(e.Method), "status": status,
		"debate_id": nullable(e.DebateID), "agent": nullable(e.Agent), "correlation_id": nullable(e.CorrelationID)})
}

// errorRing keeps the last n errors. It is safe for concurrent use.
type errorRing struct {
	mu    sync.Mutex
	buf   []ErrorRecord
	next  int
	total int64
	now   func() time.Time
}

func newErrorRing(n int) *errorRing { return &errorRing{buf: make([]ErrorRecord, 0, n), now: time.Now} }

func (r *errorRing) add(e ErrorRecord) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.At.IsZero() {
		e.At = r.now()
	}
	r.total++
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
}

// list returns up to limit records of typ ("" any), newest first.
func (r *errorRing) list(limit int, typ string) (out []ErrorRecord, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out = []ErrorRecord{}
	n := len(r.buf)
	for i := 0; i < n && len(out) < limit; i++ {
		idx := (r.next - 1 - i + 2*n) % n
		if len(r.buf) < cap(r.buf) {
			idx = n - 1 - i
		}
		if typ == "" || r.buf[idx].Type == typ {
			out = append(out, r.buf[idx])
		}
	}
	return out, r.total
}

// RecordError adds an error to the ring of GET /api/system/errors (cmd
// reports webhook failures and background job errors through it).
func (s *Server) RecordError(e ErrorRecord) { s.errs.add(e) }
