package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/aragora/aragora/auth"
)

// Roles (docs/http-api.md#roles), lowest first.
const (
	RoleViewer = "viewer"
	RoleMember = "member"
	RoleAdmin  = "admin"
	RoleOwner  = "owner"
)

func roleRank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleMember:
		return 2
	case RoleAdmin:
		return 3
	case RoleOwner:
		return 4
	}
	return 0
}

// Principal is an authenticated caller.
type Principal struct {
	ID   string // user id, "service" or "local"
	Role string // one of the Role constants
	// Method is how the caller authenticated: "jwt", "api_key",
	// "service_token" or "local".
	Method string
	// Email is the user's email; "" for service and local.
	Email string
	// TokenID is the access token's jti or the API key's record id.
	TokenID string
	// ExpiresAt is when the credential expires; zero when it does not.
	ExpiresAt time.Time
	// KeyPrefix is the API key's prefix for Method "api_key".
	KeyPrefix string
	// PasswordChangeRequired limits the caller to /api/auth/me,
	// /api/auth/password and /api/auth/logout (docs/http-api.md#accounts).
	PasswordChangeRequired bool
}

// actorType is the audit actor type of p (docs/http-api.md#administration).
func (p *Principal) actorType() string {
	switch p.Method {
	case "jwt":
		return "user"
	case "service_token":
		return "service"
	}
	return p.Method
}

// ServiceAuthenticator adapts an [auth.Authenticator] (JWTs, API keys, the
// service token and the local operator) to the server's Authenticator. It
// is safe for concurrent use when Denied is.
type ServiceAuthenticator struct {
	Auth *auth.Authenticator
	// Denied, when set, reports a token id revoked through a shared cache
	// (Redis) before this replica reloaded the store's deny-list; it is
	// consulted after the auth service accepted the credential.
	Denied func(ctx context.Context, tokenID string) bool
}

// Authenticate implements Authenticator.
func (a ServiceAuthenticator) Authenticate(r *http.Request) (*Principal, error) {
	if a.Auth == nil {
		return nil, nil
	}
	p, err := a.Auth.Authenticate(r)
	if err != nil || p == nil {
		return nil, err
	}
	if a.Denied != nil && p.TokenID != "" && a.Denied(r.Context(), p.TokenID) {
		return nil, auth.ErrTokenRevoked
	}
	return fromAuth(p), nil
}

// fromAuth converts an auth principal.
func fromAuth(p *auth.Principal) *Principal {
	return &Principal{ID: p.ID, Role: string(p.Role), Method: p.Method(), Email: p.Email, TokenID: p.TokenID,
		ExpiresAt: p.ExpiresAt, KeyPrefix: p.KeyPrefix, PasswordChangeRequired: p.PasswordChangeRequired}
}

// toAuth converts back for the auth service's calls.
func (p *Principal) toAuth() *auth.Principal {
	if p == nil {
		return nil
	}
	t := auth.PrincipalUser
	switch p.Method {
	case "api_key":
		t = auth.PrincipalAPIKey
	case "service_token":
		t = auth.PrincipalService
	case "local":
		t = auth.PrincipalLocal
	}
	return &auth.Principal{Type: t, ID: p.ID, Role: auth.Role(p.Role), Email: p.Email, TokenID: p.TokenID,
		ExpiresAt: p.ExpiresAt, KeyPrefix: p.KeyPrefix, PasswordChangeRequired: p.PasswordChangeRequired}
}

// Authenticator identifies the caller of a request. It returns (nil, nil)
// for an anonymous request, a principal for valid credentials, and an error
// wrapping ErrUnauthorized (or an *Error with code token_expired or
// token_revoked) for credentials that are present but invalid; those are
// never downgraded to anonymous. Implementations must be safe for
// concurrent use. The auth issue supplies the JWT and API-key one; until
// then [TokenAuthenticator] serves.
type Authenticator interface {
	Authenticate(r *http.Request) (*Principal, error)
}

// TokenAuthenticator accepts the service token and, when LocalAdmin is set,
// the local operator of docs/http-api.md#authentication. The zero value accepts nobody. It is
// safe for concurrent use. Next, when set, handles every other bearer
// credential (the auth issue's JWT and API keys).
type TokenAuthenticator struct {
	Token      string // ARAGORA_API_TOKEN; "" disables the service token
	LocalAdmin bool   // ARAGORA_LOCAL_ADMIN
	Next       Authenticator
}

// Authenticate implements Authenticator.
func (a TokenAuthenticator) Authenticate(r *http.Request) (*Principal, error) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		if a.LocalAdmin && localOperator(r) {
			return &Principal{ID: "local", Role: RoleAdmin, Method: "local"}, nil
		}
		return nil, nil
	}
	scheme, cred, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
		return nil, ErrUnauthorized
	}
	cred = strings.TrimSpace(cred)
	if a.Token != "" && subtle.ConstantTimeCompare([]byte(cred), []byte(a.Token)) == 1 {
		return &Principal{ID: "service", Role: RoleAdmin, Method: "service_token"}, nil
	}
	if a.Next != nil {
		p, err := a.Next.Authenticate(r)
		if err != nil {
			return nil, err
		}
		if p != nil {
			return p, nil
		}
	}
	return nil, ErrUnauthorized
}

// localOperator reports a loopback peer without any proxy or browser header.
func localOperator(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-IP", "Origin", "Sec-Fetch-Site"} {
		if _, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
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
func PrincipalFrom(ctx context.Context) *Principal { return infoFrom(ctx).principal }

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
		err := s.roles.Authorize(info.principal.toAuth(), info.pattern)
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
