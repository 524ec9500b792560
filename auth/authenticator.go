package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Authenticator identifies the caller of a request (docs/http-api.md#authentication). It is
// safe for concurrent use once built; the zero value accepts no
// credential and treats every header-less request as anonymous.
type Authenticator struct {
	// Service verifies JWTs and API keys; nil refuses them.
	Service *Service
	// ServiceToken is ARAGORA_API_TOKEN; "" disables the service token.
	ServiceToken string
	// LocalAdmin is ARAGORA_LOCAL_ADMIN: trust header-less loopback requests.
	LocalAdmin bool
	// Denied, when set, reports a token id revoked through a shared cache
	// (Redis) before this replica reloaded the store's deny-list; it is
	// consulted after a token or key was otherwise accepted, and a true
	// answer refuses it with ErrTokenRevoked. It must be safe for
	// concurrent use.
	Denied func(ctx context.Context, tokenID string) bool
}

// Authenticate returns (nil, nil) for an anonymous request, the principal
// of a valid credential, or an error wrapping ErrUnauthorized,
// ErrTokenExpired or ErrTokenRevoked for a credential that is present but
// invalid (never downgraded to anonymous or local). A credential in the
// query string is refused. A request with no Authorization header is the
// local operator when LocalAdmin is set and [LocalOperator] holds.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	if r.URL.RawQuery != "" { // most requests have none: no map to build
		q := r.URL.Query()
		for _, k := range [...]string{"access_token", "token", "api_key", "apikey", "jwt", "refresh_token"} {
			if q.Has(k) {
				return nil, fmt.Errorf("%w: credentials are not accepted in the query string", ErrUnauthorized)
			}
		}
	}
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		if a.LocalAdmin && LocalOperator(r) {
			return &Principal{Type: PrincipalLocal, ID: "local", Role: RoleAdmin}, nil
		}
		return nil, nil
	}
	if len(values) > 1 {
		return nil, fmt.Errorf("%w: several Authorization headers", ErrUnauthorized)
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	cred = strings.TrimSpace(cred)
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return nil, fmt.Errorf("%w: want Authorization: Bearer <credential>", ErrUnauthorized)
	}
	return a.AuthenticateToken(r.Context(), cred)
}

// AuthenticateToken checks a bare credential (a WebSocket bearer
// subprotocol or auth message): the service token, an API key or a JWT
// access token.
func (a *Authenticator) AuthenticateToken(ctx context.Context, cred string) (*Principal, error) {
	p, err := a.authenticateToken(ctx, cred)
	if err == nil && a.Denied != nil && p.TokenID != "" && a.Denied(ctx, p.TokenID) {
		return nil, fmt.Errorf("%w: revoked", ErrTokenRevoked)
	}
	return p, err
}

func (a *Authenticator) authenticateToken(ctx context.Context, cred string) (*Principal, error) {
	if a.ServiceToken != "" && equalSecret(cred, a.ServiceToken) {
		return &Principal{Type: PrincipalService, ID: "service", Role: RoleAdmin}, nil
	}
	if a.Service == nil {
		return nil, fmt.Errorf("%w: unknown credential", ErrUnauthorized)
	}
	if strings.HasPrefix(cred, KeyPrefix) {
		k, u, err := a.Service.VerifyAPIKey(ctx, cred)
		if err != nil {
			return nil, err
		}
		return &Principal{Type: PrincipalAPIKey, ID: u.ID, Role: Role(u.Role), Email: u.Email, TokenID: k.ID,
			ExpiresAt: k.ExpiresAt, KeyPrefix: k.Prefix, PasswordChangeRequired: u.PasswordChangeRequired}, nil
	}
	if strings.Count(cred, ".") != 2 {
		return nil, fmt.Errorf("%w: unknown credential", ErrUnauthorized)
	}
	c, err := a.Service.Verify(ctx, cred)
	if err != nil {
		return nil, err
	}
	u, err := a.Service.activeUser(ctx, c.Subject)
	if err != nil {
		return nil, err
	}
	return &Principal{Type: PrincipalUser, ID: u.ID, Role: Role(u.Role), Email: u.Email, TokenID: c.TokenID,
		ExpiresAt: c.ExpiresAt, PasswordChangeRequired: u.PasswordChangeRequired}, nil
}

// equalSecret compares in constant time, hiding the length too.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// LocalOperator reports whether r may act as the local operator (docs/http-api.md#authentication):
// no Authorization header, a loopback TCP peer (r.RemoteAddr) and
// none of Forwarded, X-Forwarded-For, X-Real-IP, Origin, Sec-Fetch-Site.
// Whether local-operator trust is enabled at all is the caller's setting.
func LocalOperator(r *http.Request) bool {
	if _, ok := r.Header["Authorization"]; ok {
		return false
	}
	// Proxies and browsers send these; they disqualify the local operator.
	for _, h := range [...]string{"Forwarded", "X-Forwarded-For", "X-Real-Ip", "Origin", "Sec-Fetch-Site"} {
		if _, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
