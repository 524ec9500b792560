// Package auth is the authentication and authorisation core of the Aragora
// server (docs/http-api.md#authentication, docs/http-api.md#roles, docs/http-api.md#accounts, docs/operations.md#rotate-keys-and-respond-to-a-compromise, docs/http-api.md#administration): password hashing, the
// encrypted JWT key ring, access and refresh tokens with revocation, API
// keys, principals and roles, the request [Authenticator], login rate
// limiting, the one-time bootstrap token and the audit helper.
//
// It persists through the optional store ports ([store.UserStore],
// [store.APIKeyStore], [store.RevocationStore], [store.IssuedTokenStore],
// [store.TokenVersionStore], [store.KeyRingStore], [store.AuditStore]),
// gathered in [Store], and knows
// nothing of HTTP routing: the server wires [Authenticator] and
// [RouteTable] into its middleware and maps errors with [CodeOf].
//
// # Credentials
//
//   - JWT access tokens: HS256 only, header kid naming a key of the
//     [KeyRing], claims iss "aragora", aud "aragora-api", sub, role, jti
//     (tok_…), iat/nbf/exp (30 s leeway), typ, tv (user token version) and
//     tg (global token generation). Every issued jti is recorded with its
//     kind, user and expiry, so revoking it by id deny-lists it exactly
//     until the token expires.
//   - API keys ara_<8-char key id>_<40 base62>, stored as SHA-256 only.
//   - The service token (ARAGORA_API_TOKEN), compared in constant time.
//   - The local operator (ARAGORA_LOCAL_ADMIN): a header-less loopback
//     request without proxy or browser headers.
//
// A credential that is present but invalid is an error, never anonymous.
//
// # Errors
//
// Failures wrap [ErrUnauthorized], [ErrTokenExpired], [ErrTokenRevoked],
// [ErrInvalidCredentials], [ErrPasswordChangeRequired], [ErrLoginLimited],
// [ErrBusy] or [ErrInvalidInput]; [CodeOf] names the docs/http-api.md#errors code of
// each, and a [*ForbiddenError] carries the required role.
package auth
