package auth

import (
	"fmt"
	"time"

	"github.com/aragora/aragora/internal/enum"
)

// Role is a user role (docs/http-api.md#roles). Each role includes those below it:
// owner > admin > member > viewer. The zero value is no role and ranks
// below viewer. Its text and JSON form is its name; decoding and
// [ParseRole] reject an unknown name. A role read back from a user record
// is converted as is: an unknown one ranks nothing, so it is refused by
// [Role.AtLeast] rather than making the record unreadable.
type Role string

// Roles, highest first.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// Roles lists every Role, highest first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleMember, RoleViewer}

func (r Role) String() string { return string(r) }

// MarshalText returns r's name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r), nil }

// UnmarshalText sets r from its name, rejecting an unknown one.
func (r *Role) UnmarshalText(b []byte) error { return enum.Unmarshal(r, b, "auth: role", Roles) }

// rank orders roles; 0 for an unknown role.
func (r Role) rank() int {
	switch r {
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

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r includes min. An unknown role includes
// nothing, and nothing includes an unknown role.
func (r Role) AtLeast(min Role) bool { return r.rank() > 0 && min.rank() > 0 && r.rank() >= min.rank() }

// ParseRole returns the role named s, or an error wrapping ErrInvalidInput.
func ParseRole(s string) (Role, error) {
	r, err := enum.Parse("auth: role", s, Roles)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return r, nil
}

// PrincipalType says how a principal was authenticated. Its text and JSON
// form is its name; decoding and [ParsePrincipalType] reject an unknown name.
type PrincipalType string

// Principal types; audit entries use them as actor types.
const (
	PrincipalUser    PrincipalType = "user"    // a JWT access token
	PrincipalAPIKey  PrincipalType = "api_key" // an API key; ID is the owning user
	PrincipalService PrincipalType = "service" // ARAGORA_API_TOKEN
	PrincipalLocal   PrincipalType = "local"   // the local operator
)

// PrincipalTypes lists every PrincipalType.
var PrincipalTypes = []PrincipalType{PrincipalUser, PrincipalAPIKey, PrincipalService, PrincipalLocal}

// ParsePrincipalType returns the PrincipalType named s; an unknown name is an error.
func ParsePrincipalType(s string) (PrincipalType, error) {
	return enum.Parse("auth: principal type", s, PrincipalTypes)
}

func (t PrincipalType) String() string { return string(t) }

// MarshalText returns t's name.
func (t PrincipalType) MarshalText() ([]byte, error) { return []byte(t), nil }

// UnmarshalText sets t from its name, rejecting an unknown one.
func (t *PrincipalType) UnmarshalText(b []byte) error {
	return enum.Unmarshal(t, b, "auth: principal type", PrincipalTypes)
}

// Principal is an authenticated caller. Values are immutable once returned.
type Principal struct {
	Type  PrincipalType
	ID    string // user id; "service" or "local" for those types
	Role  Role   // from the user record, not from the token
	Email string // "" for service and local
	// TokenID is the access token's jti, or the API key's record id (key_…).
	TokenID string
	// ExpiresAt is when the token or key expires; zero for service, local
	// and keys without expiry.
	ExpiresAt time.Time
	// KeyPrefix is the API key's prefix (ara_xxxxxxxx) for PrincipalAPIKey.
	KeyPrefix string
	// PasswordChangeRequired limits the principal to the routes of
	// [PasswordChangeRoute].
	PasswordChangeRequired bool
}

// Method returns the /api/auth/me auth.method: "jwt", "api_key",
// "service_token" or "local".
func (p *Principal) Method() string {
	switch p.Type {
	case PrincipalUser:
		return "jwt"
	case PrincipalAPIKey:
		return "api_key"
	case PrincipalService:
		return "service_token"
	}
	return string(p.Type)
}

// Public marks a route of a [RouteTable] that needs no credentials (a
// credential, if sent, is still checked by the authenticator).
const Public Role = "public"

// PasswordChangeRoute reports whether a principal with
// PasswordChangeRequired may still call route: GET /api/auth/me, POST
// /api/auth/password and POST /api/auth/logout (docs/http-api.md#accounts).
func PasswordChangeRoute(route string) bool {
	switch route {
	case "GET /api/auth/me", "POST /api/auth/password", "POST /api/auth/logout":
		return true
	}
	return false
}

// RouteTable maps a route pattern ("METHOD /path" as registered on
// http.ServeMux) to the lowest role allowed, or [Public]. A nil or empty
// table denies every route. It is safe for concurrent reads.
type RouteTable map[string]Role

// Authorize decides whether p may call route. It returns nil when allowed;
// ErrUnauthorized for a nil p on a non-public route; ErrPasswordChangeRequired
// when p must change its password and route is not one of
// [PasswordChangeRoute]; a [*ForbiddenError] when p's role is too low. A
// route missing from the table requires [RoleOwner] (fail closed).
func (t RouteTable) Authorize(p *Principal, route string) error {
	need, ok := t[route]
	if !ok {
		need = RoleOwner
	}
	if need == Public {
		return nil
	}
	if p == nil {
		return ErrUnauthorized
	}
	if p.PasswordChangeRequired && !PasswordChangeRoute(route) {
		return ErrPasswordChangeRequired
	}
	if !p.Role.AtLeast(need) {
		return &ForbiddenError{Required: need, Have: p.Role}
	}
	return nil
}
