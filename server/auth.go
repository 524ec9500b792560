package server

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Roles (API.md §2.3), lowest first.
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
// the local operator of API.md §2.2. The zero value accepts nobody. It is
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
		if s.cfg.AuthFailed != nil {
			s.cfg.AuthFailed("invalid_token")
		}
		s.authLog.Warn("auth_failed", "reason", "invalid_token", "client_ip", info.clientIP, "correlation_id", info.correlationID)
		return
	}
	info.principal = p
}

// PrincipalFrom returns the authenticated caller of the request ctx belongs
// to, or nil for an anonymous one. Rate-limit middleware uses it for keys.
func PrincipalFrom(ctx context.Context) *Principal { return infoFrom(ctx).principal }

// public wraps a public route: a credential, if sent, is still checked.
func (s *Server) public(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := infoFrom(r.Context()).authErr; err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r)
	}
}

// protected wraps a route that needs at least role.
func (s *Server) protected(role string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		if info.authErr != nil {
			s.writeError(w, r, info.authErr)
			return
		}
		if info.principal == nil {
			s.writeError(w, r, ErrUnauthorized)
			return
		}
		if roleRank(info.principal.Role) < roleRank(role) {
			s.writeError(w, r, apiErr(http.StatusForbidden, "forbidden", "role "+role+" required").with("required_role", role))
			return
		}
		h(w, r)
	}
}
