package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/store"
)

// errNoAccounts answers the account routes of a server built without an
// auth service.
var errNoAccounts = apiErr(http.StatusNotFound, "not_found", "accounts are not configured on this server")

// accountsOr writes 404 and returns false when no auth service is wired.
func (s *Server) accountsOr(w http.ResponseWriter, r *http.Request) bool {
	if s.accounts == nil {
		s.writeError(w, r, errNoAccounts)
		return false
	}
	return true
}

// accountStore is Config.AccountStore, else the debate store when it is
// one, else nil.
func (s *Server) accountStore() auth.Store { return storePort(s.cfg.AccountStore, s.st) }

// storePort returns set when the configuration sets it, else st when st
// implements T, else T's zero value (nil).
func storePort[T any](set T, st store.DebateStore) T {
	if any(set) != nil {
		return set
	}
	t, _ := st.(T)
	return t
}

// revoked tells cmd about a revocation so it reaches the other replicas.
func (s *Server) revoked(ctx context.Context, tokenID string, exp time.Time) {
	if s.cfg.Revoked != nil {
		s.cfg.Revoked(context.WithoutCancel(ctx), tokenID, exp)
	}
}

// userDoc is the user object of docs/http-api.md#accounts.
type userDoc struct {
	ID                     string  `json:"id"`
	Email                  *string `json:"email"`
	Name                   *string `json:"name"`
	Role                   string  `json:"role"`
	CreatedAt              *string `json:"created_at"`
	LastLoginAt            *string `json:"last_login_at"`
	PasswordChangeRequired bool    `json:"password_change_required"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func userOf(u *store.User) userDoc {
	return userDoc{ID: u.ID, Email: strPtr(u.Email), Name: strPtr(u.Name), Role: u.Role, CreatedAt: tsPtr(u.CreatedAt),
		LastLoginAt: tsPtr(u.LastLoginAt), PasswordChangeRequired: u.PasswordChangeRequired}
}

// pairDoc is a token pair plus the user, as login and self-registration
// return it.
type pairDoc struct {
	auth.Pair
	User                   *userDoc `json:"user,omitempty"`
	PasswordChangeRequired *bool    `json:"password_change_required,omitempty"`
}

type registerRequest struct {
	Email          string `json:"email"`
	Password       string `json:"password"`
	Name           string `json:"name"`
	Role           string `json:"role"`
	BootstrapToken string `json:"bootstrap_token"`
}

// handleRegister is POST /api/auth/register (docs/http-api.md#accounts).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if !s.accountsOr(w, r) || !s.decodeOr(w, r, &req) {
		return
	}
	setAudit(r, func(a *auditState) { a.target = strings.ToLower(strings.TrimSpace(req.Email)) })
	ctx := r.Context()
	nu := auth.NewUser{Email: req.Email, Password: req.Password, Name: req.Name}
	first, err := s.accounts.NeedsBootstrap(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := infoFrom(ctx).principal
	switch {
	case first || req.BootstrapToken != "":
		// The one-time owner registration; once a user exists a bootstrap
		// token is refused (401).
		if req.BootstrapToken == "" || !first {
			s.authFailed(infoFrom(ctx), "bootstrap_token")
			s.writeError(w, r, auth.ErrUnauthorized)
			return
		}
		u, err := s.accounts.RegisterOwner(ctx, s.cfg.Bootstrap, req.BootstrapToken, nu)
		if err != nil {
			if errors.Is(err, auth.ErrUnauthorized) {
				s.authFailed(infoFrom(ctx), "bootstrap_token")
			}
			s.writeError(w, r, err)
			return
		}
		s.registered(w, r, u, true)
	case p != nil && p.Role.AtLeast(auth.RoleAdmin):
		role := auth.RoleMember
		if req.Role != "" {
			if role, err = auth.ParseRole(req.Role); err != nil {
				s.writeError(w, r, validation(map[string]string{"role": "want viewer, member, admin or owner"}))
				return
			}
		}
		if role == auth.RoleOwner && !p.Role.AtLeast(auth.RoleOwner) {
			s.writeError(w, r, &auth.ForbiddenError{Required: auth.RoleOwner, Have: p.Role})
			return
		}
		nu.Role = role
		u, err := s.accounts.CreateUser(ctx, nu)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.registered(w, r, u, false)
	case s.cfg.OpenRegistration:
		if req.Role != "" {
			s.writeError(w, r, validation(map[string]string{"role": "open registration always creates members"}))
			return
		}
		nu.Role = auth.RoleMember
		u, err := s.accounts.CreateUser(ctx, nu)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.registered(w, r, u, true)
	case p == nil:
		s.writeError(w, r, auth.ErrUnauthorized)
	default:
		s.writeError(w, r, &auth.ForbiddenError{Required: auth.RoleAdmin, Have: p.Role})
	}
}

// registered answers 201 with the user, plus a token pair when the new
// user registered itself.
func (s *Server) registered(w http.ResponseWriter, r *http.Request, u *store.User, self bool) {
	setAudit(r, func(a *auditState) {
		a.target = u.ID
		a.details = map[string]any{"email": u.Email, "role": u.Role}
	})
	doc := userOf(u)
	if !self {
		writeJSON(w, http.StatusCreated, map[string]any{"user": doc})
		return
	}
	pair, err := s.accounts.IssuePair(r.Context(), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, pairDoc{Pair: pair, User: &doc})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// handleLogin is POST /api/auth/login (docs/http-api.md#accounts).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if !s.accountsOr(w, r) || !s.decodeOr(w, r, &req) {
		return
	}
	info := infoFrom(r.Context())
	email := strings.ToLower(strings.TrimSpace(req.Email))
	setAudit(r, func(a *auditState) { a.target = email })
	pair, u, err := s.accounts.Login(r.Context(), email, req.Password, info.clientIP)
	if err != nil {
		if c := auth.CodeOf(err); c == "invalid_credentials" || c == "rate_limited" {
			s.authFailed(info, c)
		}
		s.writeError(w, r, err)
		return
	}
	doc := userOf(u)
	pcr := u.PasswordChangeRequired
	setAudit(r, func(a *auditState) {
		a.actor = &auth.Principal{Type: auth.PrincipalUser, ID: u.ID, Role: auth.Role(u.Role), Email: u.Email}
		a.target = u.ID
	})
	writeJSON(w, http.StatusOK, pairDoc{Pair: pair, User: &doc, PasswordChangeRequired: &pcr})
}

// handleRefresh is POST /api/auth/refresh: only a reused refresh token is
// audited (theft detection, docs/http-api.md#accounts).
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if !s.accountsOr(w, r) || !s.decodeOr(w, r, &req) {
		return
	}
	if req.RefreshToken == "" {
		s.writeError(w, r, validation(map[string]string{"refresh_token": "required"}))
		return
	}
	pair, _, err := s.accounts.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		if errors.Is(err, auth.ErrRefreshReused) {
			setAudit(r, func(a *auditState) { a.action = "auth.refresh_reuse" })
			s.revoked(r.Context(), "", time.Time{})
		}
		s.authFailed(infoFrom(r.Context()), failureReason(err))
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pair)
}

// handleLogout is POST /api/auth/logout (docs/http-api.md#accounts).
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefreshToken string `json:"refresh_token"`
		All          bool   `json:"all"`
	}
	if !s.accountsOr(w, r) || !s.decodeOr(w, r, &req) {
		return
	}
	p := infoFrom(r.Context()).principal
	if err := s.accounts.Logout(r.Context(), p, req.RefreshToken, req.All); err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, func(a *auditState) { a.target, a.details = p.ID, map[string]any{"all": req.All} })
	s.revoked(r.Context(), p.TokenID, p.ExpiresAt)
	w.WriteHeader(http.StatusNoContent)
}

// handleMe is GET /api/auth/me (docs/http-api.md#accounts).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	p := infoFrom(r.Context()).principal
	authDoc := map[string]any{"method": p.Method(), "token_id": nullable(p.TokenID), "expires_at": tsPtr(p.ExpiresAt),
		"key_prefix": nullable(p.KeyPrefix)}
	out := map[string]any{"auth": authDoc, "api_key": nil}
	if p.Type == auth.PrincipalService || p.Type == auth.PrincipalLocal {
		out["user"] = userDoc{ID: p.ID, Name: strPtr(p.ID), Role: string(p.Role)}
		writeJSON(w, http.StatusOK, out)
		return
	}
	st := s.accountStore()
	if st == nil {
		s.writeError(w, r, errNoAccounts)
		return
	}
	u, err := st.GetUser(r.Context(), p.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out["user"] = userOf(u)
	if k, err := st.ActiveAPIKey(r.Context(), p.ID); err == nil {
		out["api_key"] = map[string]any{"prefix": k.Prefix, "name": nullable(k.Name), "created_at": ts(k.CreatedAt),
			"last_used_at": tsPtr(k.LastUsedAt), "expires_at": tsPtr(k.ExpiresAt)}
	}
	writeJSON(w, http.StatusOK, out)
}

// needUserJWT refuses API keys, the service token and the local operator
// on the routes that need a user's JWT (docs/http-api.md#accounts).
func (s *Server) needUserJWT(w http.ResponseWriter, r *http.Request) (*auth.Principal, bool) {
	if !s.accountsOr(w, r) {
		return nil, false
	}
	p := infoFrom(r.Context()).principal
	if p.Type != auth.PrincipalUser {
		msg := "this route needs a user's access token"
		if p.Type == auth.PrincipalAPIKey {
			msg = "a request authenticated by an API key cannot manage API keys or passwords"
		}
		s.writeError(w, r, apiErr(http.StatusForbidden, "forbidden", msg).with("required_role", auth.RoleViewer))
		return nil, false
	}
	return p, true
}

// handlePassword is POST /api/auth/password (docs/http-api.md#accounts).
func (s *Server) handlePassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	p, ok := s.needUserJWT(w, r)
	if !ok {
		return
	}
	setAudit(r, func(a *auditState) { a.target = p.ID })
	pair, err := s.accounts.ChangePassword(r.Context(), p.ID, req.CurrentPassword, req.NewPassword)
	if err != nil {
		if auth.CodeOf(err) == "validation_failed" {
			err = validation(map[string]string{"new_password": "must be 12 to 128 characters"})
		}
		s.writeError(w, r, err)
		return
	}
	s.revoked(r.Context(), "", time.Time{})
	writeJSON(w, http.StatusOK, pair)
}

// handleCreateAPIKey is POST /api/auth/api-key (docs/http-api.md#accounts).
func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name          string `json:"name"`
		ExpiresInDays *int   `json:"expires_in_days"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	p, ok := s.needUserJWT(w, r)
	if !ok {
		return
	}
	days := 365
	if req.ExpiresInDays != nil {
		days = *req.ExpiresInDays
	}
	if days < 1 || days > 730 {
		s.writeError(w, r, validation(map[string]string{"expires_in_days": "want 1 to 730"}))
		return
	}
	k, err := s.accounts.CreateAPIKey(r.Context(), p.ID, req.Name, time.Duration(days)*24*time.Hour)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var replaced *string
	if k.Replaced != nil {
		replaced = &k.Replaced.Prefix
		s.revoked(r.Context(), k.Replaced.ID, k.Replaced.ExpiresAt)
	}
	setAudit(r, func(a *auditState) {
		a.target = k.Record.ID
		a.details = map[string]any{"prefix": k.Record.Prefix, "replaced_prefix": replaced}
	})
	writeJSON(w, http.StatusCreated, map[string]any{"id": k.Record.ID, "api_key": k.Key, "prefix": k.Record.Prefix,
		"name": nullable(k.Record.Name), "created_at": ts(k.Record.CreatedAt), "expires_at": tsPtr(k.Record.ExpiresAt),
		"replaced_prefix": replaced})
}

// handleDeleteAPIKey is DELETE /api/auth/api-key (docs/http-api.md#accounts).
func (s *Server) handleDeleteAPIKey(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	p, ok := s.needUserJWT(w, r)
	if !ok {
		return
	}
	k, err := s.accounts.DeleteAPIKey(r.Context(), p.ID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = apiErr(http.StatusNotFound, "not_found", "no active API key")
		}
		s.writeError(w, r, err)
		return
	}
	s.revoked(r.Context(), k.ID, k.ExpiresAt)
	setAudit(r, func(a *auditState) { a.target, a.details = k.ID, map[string]any{"prefix": k.Prefix} })
	writeJSON(w, http.StatusOK, map[string]any{"revoked": true, "prefix": k.Prefix})
}
