package auth

import (
	"errors"
	"fmt"
)

// codedError is a sentinel that names its docs/http-api.md#errors error code.
type codedError struct{ msg, code string }

func (e *codedError) Error() string { return e.msg }

// Code returns the API error code.
func (e *codedError) Code() string { return e.code }

// Sentinel errors. Every error of this package that a client may see wraps
// one of them or is a [*ForbiddenError]; [CodeOf] names its code.
var (
	// ErrUnauthorized reports a missing, malformed or invalid credential
	// (401 unauthorized).
	ErrUnauthorized error = &codedError{"auth: unauthorized", "unauthorized"}
	// ErrTokenExpired reports an expired token or API key (401 token_expired).
	ErrTokenExpired error = &codedError{"auth: token expired", "token_expired"}
	// ErrTokenRevoked reports a deny-listed token, a token older than the
	// user's token version or the global generation, a token signed by a
	// retired key, or a revoked API key (401 token_revoked).
	ErrTokenRevoked error = &codedError{"auth: token revoked", "token_revoked"}
	// ErrRefreshReused reports a refresh token presented a second time. It
	// wraps ErrTokenRevoked; the user's token version has been bumped.
	ErrRefreshReused error = fmt.Errorf("auth: refresh token reused: %w", ErrTokenRevoked)
	// ErrInvalidCredentials reports a wrong email or password (401
	// invalid_credentials).
	ErrInvalidCredentials error = &codedError{"auth: invalid credentials", "invalid_credentials"}
	// ErrPasswordChangeRequired reports a principal that must change its
	// password before using the API (403 password_change_required).
	ErrPasswordChangeRequired error = &codedError{"auth: password change required", "password_change_required"}
	// ErrLoginLimited reports too many failed logins for one (account, IP)
	// (429 rate_limited).
	ErrLoginLimited error = &codedError{"auth: too many failed logins", "rate_limited"}
	// ErrBusy reports that no password-hashing slot freed up in time (503
	// unavailable, Retry-After: 1).
	ErrBusy error = &codedError{"auth: password hashing busy", "unavailable"}
	// ErrInvalidInput reports a request that breaks a rule: a password
	// outside 12–128 characters, a bad email, role, id or TTL (400
	// validation_failed).
	ErrInvalidInput error = &codedError{"auth: invalid input", "validation_failed"}
)

// ForbiddenError reports a principal whose role is below the one a route
// requires (403 forbidden, details.required_role).
type ForbiddenError struct {
	Required Role
	Have     Role
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("auth: forbidden: role %s required, have %q", e.Required, e.Have)
}

// Code returns "forbidden".
func (e *ForbiddenError) Code() string { return "forbidden" }

// CodeOf returns the docs/http-api.md#errors error code of err ("unauthorized",
// "token_expired", "token_revoked", "invalid_credentials", "forbidden",
// "password_change_required", "rate_limited", "unavailable",
// "validation_failed"), or "" when err carries none (nil included).
func CodeOf(err error) string {
	var c interface{ Code() string }
	if errors.As(err, &c) {
		return c.Code()
	}
	return ""
}
