package sqlrec

import (
	"encoding/json"

	"github.com/aragora/aragora/store"
)

// The column lists of the authentication tables (store/auth.go), in the
// order the scanners below read them.
const (
	UserColumns       = `id, email, name, role, password_hash, password_change_required, disabled, created_at, updated_at, last_login_at`
	APIKeyColumns     = `id, key_id, prefix, user_id, name, hash, created_at, expires_at, last_used_at, revoked_at`
	RevocationColumns = `token_id, kind, user_id, revoked_at, revoked_by, reason, expires_at`
	IssuedColumns     = `token_id, kind, user_id, issued_at, expires_at`
	GenerationColumns = `generation, revoked_at, revoked_by, reason`
	SigningKeyColumns = `kid, alg, ciphertext, created_at, retired_at, valid_until`
	AuditColumns      = `id, at, actor_id, actor_type, actor_role, action, target, ip, user_agent, correlation_id, outcome, details`
)

// The statements of the token generation, a single row; both return
// GenerationColumns.
var (
	// Generation takes no argument.
	Generation = NewStmt(`SELECT ` + GenerationColumns + ` FROM token_generation WHERE id = 1`)
	// BumpGeneration takes revoked_at, revoked_by, reason.
	BumpGeneration = NewStmt(`INSERT INTO token_generation (id, generation, revoked_at, revoked_by, reason) VALUES (1, 1, $1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET generation = token_generation.generation + 1, revoked_at = excluded.revoked_at,
			revoked_by = excluded.revoked_by, reason = excluded.reason
		RETURNING ` + GenerationColumns)
)

// ScanUser reads UserColumns.
func ScanUser(row Row) (*store.User, error) {
	var u store.User
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.PasswordChangeRequired, &u.Disabled,
		Time(&u.CreatedAt), Time(&u.UpdatedAt), Time(&u.LastLoginAt)); err != nil {
		return nil, err
	}
	return &u, nil
}

// ScanAPIKey reads APIKeyColumns.
func ScanAPIKey(row Row) (*store.APIKey, error) {
	var k store.APIKey
	if err := row.Scan(&k.ID, &k.KeyID, &k.Prefix, &k.UserID, &k.Name, &k.Hash,
		Time(&k.CreatedAt), Time(&k.ExpiresAt), Time(&k.LastUsedAt), Time(&k.RevokedAt)); err != nil {
		return nil, err
	}
	return &k, nil
}

// ScanRevocation reads RevocationColumns.
func ScanRevocation(row Row) (store.Revocation, error) {
	var r store.Revocation
	err := row.Scan(&r.TokenID, &r.Kind, &r.UserID, Time(&r.RevokedAt), &r.RevokedBy, &r.Reason, Time(&r.ExpiresAt))
	return r, err
}

// ScanIssued reads IssuedColumns.
func ScanIssued(row Row) (*store.IssuedToken, error) {
	var t store.IssuedToken
	if err := row.Scan(&t.TokenID, &t.Kind, &t.UserID, Time(&t.IssuedAt), Time(&t.ExpiresAt)); err != nil {
		return nil, err
	}
	return &t, nil
}

// ScanGeneration reads GenerationColumns.
func ScanGeneration(row Row) (store.Generation, error) {
	var g store.Generation
	if err := row.Scan(&g.Value, Time(&g.RevokedAt), &g.RevokedBy, &g.Reason); err != nil {
		return store.Generation{}, err
	}
	return g, nil
}

// ScanSigningKey reads SigningKeyColumns.
func ScanSigningKey(row Row) (store.SigningKey, error) {
	var k store.SigningKey
	err := row.Scan(&k.KID, &k.Alg, &k.Ciphertext, Time(&k.CreatedAt), Time(&k.RetiredAt), Time(&k.ValidUntil))
	return k, err
}

// ScanAudit reads AuditColumns.
func ScanAudit(row Row) (*store.AuditEntry, error) {
	var (
		e       store.AuditEntry
		details []byte
	)
	if err := row.Scan(&e.ID, Time(&e.At), &e.Actor.ID, &e.Actor.Type, &e.Actor.Role, &e.Action, &e.Target, &e.IP, &e.UserAgent,
		&e.CorrelationID, &e.Outcome, &details); err != nil {
		return nil, err
	}
	e.Details = json.RawMessage(details)
	return &e, nil
}
