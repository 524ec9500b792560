package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/aragora/aragora/auth"
)

// Authenticator identifies the caller of a request. It returns (nil, nil)
// for an anonymous request, the auth principal for valid credentials, and
// an error wrapping auth.ErrUnauthorized, auth.ErrTokenExpired or
// auth.ErrTokenRevoked for credentials that are present but invalid; those
// are never downgraded to anonymous. *auth.Authenticator implements it
// (JWTs, API keys, the service token, the local operator).
// Implementations must be safe for concurrent use.
type Authenticator interface {
	Authenticate(r *http.Request) (*auth.Principal, error)
}

// authenticate runs the configured Authenticator once per request (from
// the routing middleware) and records the principal or the failure.
func (s *Server) authenticate(r *http.Request) {
	info := infoFrom(r.Context())
	p, err := s.auth.Authenticate(r)
	if err != nil {
		info.authErr = err
		s.authFailed(info, failureReason(err))
		return
	}
	info.principal = p
}

// failureReason is the aragora_auth_failures_total reason of err: its
// API error code (unauthorized, token_expired, token_revoked, …).
func failureReason(err error) string {
	if c := auth.CodeOf(err); c != "" {
		return c
	}
	return "unauthorized"
}

// authFailed counts and logs one failed authentication (docs/operations.md#logs, docs/operations.md#metrics).
func (s *Server) authFailed(info *reqInfo, reason string) {
	if s.cfg.AuthFailed != nil {
		s.cfg.AuthFailed(reason)
	}
	s.authLog.Warn("auth_failed", "reason", reason, "client_ip", info.clientIP, "route", info.route, "correlation_id", info.correlationID)
}

// PrincipalFrom returns the authenticated caller of the request ctx belongs
// to, or nil for an anonymous one. Rate-limit middleware uses it for keys.
func PrincipalFrom(ctx context.Context) *auth.Principal { return infoFrom(ctx).principal }

// authorize is the one authorisation middleware: it looks the request's
// route up in the role table ([Server.RoleTable]) and answers 401, 403
// forbidden (details.required_role) or 403 password_change_required
// before h runs. A credential sent to a public route is still checked.
func (s *Server) authorize(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		if info.authErr != nil {
			s.writeError(w, r, info.authErr)
			return
		}
		err := s.roles.Authorize(info.principal, info.pattern)
		if err != nil {
			if errors.Is(err, auth.ErrUnauthorized) {
				s.authFailed(info, "missing_credentials")
			}
			s.writeError(w, r, err)
			return
		}
		h(w, r)
	}
}
