package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const userColumns = sqlrec.UserColumns

func insertUser(ctx context.Context, t *sql.Tx, u *store.User) error {
	_, err := t.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, u.Role, u.PasswordHash, boolInt(u.PasswordChangeRequired), boolInt(u.Disabled),
		fmtTime(u.CreatedAt), fmtTime(u.UpdatedAt), nullTime(u.LastLoginAt))
	if isConstraint(err) {
		return fmt.Errorf("sqlitestore: create user %q: id or email exists: %w", u.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: create user %q: %w", u.ID, err)
	}
	return nil
}

func validUser(u *store.User) error {
	if u == nil || u.ID == "" || u.Email == "" {
		return errors.New("sqlitestore: create user: empty id or email")
	}
	return nil
}

// CreateUser implements [store.UserStore].
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if err := validUser(u); err != nil {
		return err
	}
	return tx(ctx, s.w, func(t *sql.Tx) error { return insertUser(ctx, t, u) })
}

// CreateFirstUser implements [store.UserStore]. The count and the insert
// share one BEGIN IMMEDIATE transaction, which holds the database's write
// lock, so concurrent bootstraps (also from other processes) serialise.
func (s *Store) CreateFirstUser(ctx context.Context, u *store.User) error {
	if err := validUser(u); err != nil {
		return err
	}
	return tx(ctx, s.w, func(t *sql.Tx) error {
		var n int
		if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return fmt.Errorf("sqlitestore: create first user: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("sqlitestore: create first user: users exist: %w", store.ErrConflict)
		}
		return insertUser(ctx, t, u)
	})
}

func (s *Store) getUser(ctx context.Context, what, where string, arg any) (*store.User, error) {
	return queryOne(ctx, s.r, what, sqlrec.ScanUser, `SELECT `+userColumns+` FROM users WHERE `+where, arg)
}

// GetUser implements [store.UserStore].
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	return s.getUser(ctx, fmt.Sprintf("user %q", id), `id = ?`, id)
}

// GetUserByEmail implements [store.UserStore].
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	return s.getUser(ctx, "user by email", `email = ?`, email)
}

// ListUsers implements [store.UserStore].
func (s *Store) ListUsers(ctx context.Context) ([]*store.User, error) {
	return queryAll(ctx, s.r, "list users", sqlrec.ScanUser, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
}

// CountUsers implements [store.UserStore].
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitestore: count users: %w", err)
	}
	return n, nil
}

// UpdateUser implements [store.UserStore].
func (s *Store) UpdateUser(ctx context.Context, id string, upd store.UserUpdate) (*store.User, error) {
	set := []string{`updated_at = ?`}
	args := []any{fmtTime(upd.UpdatedAt)}
	add := func(col string, v any) {
		set = append(set, col+` = ?`)
		args = append(args, v)
	}
	if upd.Name != nil {
		add("name", *upd.Name)
	}
	if upd.Role != nil {
		add("role", *upd.Role)
	}
	if upd.PasswordHash != nil {
		add("password_hash", *upd.PasswordHash)
	}
	if upd.PasswordChangeRequired != nil {
		add("password_change_required", boolInt(*upd.PasswordChangeRequired))
	}
	if upd.Disabled != nil {
		add("disabled", boolInt(*upd.Disabled))
	}
	if upd.LastLoginAt != nil {
		add("last_login_at", nullTime(*upd.LastLoginAt))
	}
	args = append(args, id)
	var u *store.User
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		var err error
		u, err = sqlrec.ScanUser(t.QueryRowContext(ctx, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = ? RETURNING `+userColumns, args...))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: update user %q: %w", id, sqlrec.OrNotFound(err))
	}
	return u, nil
}

const apiKeyColumns = sqlrec.APIKeyColumns

// CreateAPIKey implements [store.APIKeyStore]: the revocation of the
// user's active key and the insert share one transaction.
func (s *Store) CreateAPIKey(ctx context.Context, k *store.APIKey) (*store.APIKey, error) {
	if k == nil || k.ID == "" || k.KeyID == "" || k.UserID == "" {
		return nil, errors.New("sqlitestore: create api key: empty id, key id or user id")
	}
	var replaced *store.APIKey
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		replaced = nil
		var n int
		if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE id = ? OR key_id = ?`, k.ID, k.KeyID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("sqlitestore: api key %q: id or key id exists: %w", k.ID, store.ErrConflict)
		}
		old, err := sqlrec.ScanAPIKey(t.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL RETURNING `+apiKeyColumns,
			fmtTime(k.CreatedAt), k.UserID))
		switch {
		case err == nil:
			replaced = old
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = t.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
			k.ID, k.KeyID, k.Prefix, k.UserID, k.Name, k.Hash, fmtTime(k.CreatedAt), nullTime(k.ExpiresAt), nullTime(k.LastUsedAt))
		if isConstraint(err) {
			return fmt.Errorf("sqlitestore: api key %q: %w", k.ID, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlitestore: create api key %q: %w", k.ID, err)
	}
	return replaced, nil
}

func (s *Store) getAPIKey(ctx context.Context, what, where string, arg any) (*store.APIKey, error) {
	return queryOne(ctx, s.r, what, sqlrec.ScanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys WHERE `+where, arg)
}

// GetAPIKey implements [store.APIKeyStore].
func (s *Store) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	return s.getAPIKey(ctx, fmt.Sprintf("api key %q", id), `id = ?`, id)
}

// GetAPIKeyByKeyID implements [store.APIKeyStore].
func (s *Store) GetAPIKeyByKeyID(ctx context.Context, keyID string) (*store.APIKey, error) {
	return s.getAPIKey(ctx, fmt.Sprintf("api key id %q", keyID), `key_id = ?`, keyID)
}

// ActiveAPIKey implements [store.APIKeyStore].
func (s *Store) ActiveAPIKey(ctx context.Context, userID string) (*store.APIKey, error) {
	return s.getAPIKey(ctx, fmt.Sprintf("active api key of %q", userID), `user_id = ? AND revoked_at IS NULL`, userID)
}

// ListAPIKeys implements [store.APIKeyStore].
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]*store.APIKey, error) {
	q := `SELECT ` + apiKeyColumns + ` FROM api_keys`
	var args []any
	if userID != "" {
		q += ` WHERE user_id = ?`
		args = append(args, userID)
	}
	return queryAll(ctx, s.r, "list api keys", sqlrec.ScanAPIKey, q+` ORDER BY created_at DESC, id DESC`, args...)
}

// RevokeAPIKey implements [store.APIKeyStore].
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) (*store.APIKey, error) {
	var k *store.APIKey
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		var err error
		k, err = sqlrec.ScanAPIKey(t.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING `+apiKeyColumns,
			fmtTime(at), id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: revoke api key %q: unknown or revoked: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: revoke api key %q: %w", id, err)
	}
	return k, nil
}

// RevokeAllAPIKeys implements [store.APIKeyStore].
func (s *Store) RevokeAllAPIKeys(ctx context.Context, at time.Time) (int64, error) {
	return s.exec(ctx, "revoke all api keys", `UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL`, fmtTime(at))
}

// TouchAPIKey implements [store.APIKeyStore].
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	what := fmt.Sprintf("touch api key %q", id)
	n, err := s.exec(ctx, what, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, nullTime(at), id)
	if err == nil && n == 0 {
		err = fmt.Errorf("sqlitestore: %s: %w", what, store.ErrNotFound)
	}
	return err
}

const revocationColumns = sqlrec.RevocationColumns

// RevokeToken implements [store.RevocationStore]. The insert does nothing
// when the id is listed, which is reported as ErrConflict.
func (s *Store) RevokeToken(ctx context.Context, r *store.Revocation) error {
	if r == nil || r.TokenID == "" {
		return errors.New("sqlitestore: revoke token: empty token id")
	}
	what := fmt.Sprintf("revoke token %q", r.TokenID)
	n, err := s.exec(ctx, what, `INSERT INTO revoked_tokens (`+revocationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_id) DO NOTHING`,
		r.TokenID, r.Kind, r.UserID, fmtTime(r.RevokedAt), r.RevokedBy, r.Reason, fmtTime(r.ExpiresAt))
	if err == nil && n == 0 {
		err = fmt.Errorf("sqlitestore: %s: already revoked: %w", what, store.ErrConflict)
	}
	return err
}

// GetRevocation implements [store.RevocationStore].
func (s *Store) GetRevocation(ctx context.Context, tokenID string) (*store.Revocation, error) {
	r, err := sqlrec.ScanRevocation(s.r.QueryRowContext(ctx, `SELECT `+revocationColumns+` FROM revoked_tokens WHERE token_id = ?`, tokenID))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: revocation %q: %w", tokenID, sqlrec.OrNotFound(err))
	}
	return &r, nil
}

// ListRevocations implements [store.RevocationStore].
func (s *Store) ListRevocations(ctx context.Context, now time.Time, limit int) ([]store.Revocation, error) {
	q := `SELECT ` + revocationColumns + ` FROM revoked_tokens WHERE expires_at > ? ORDER BY revoked_at DESC, token_id`
	args := []any{fmtTime(now)}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return queryAll(ctx, s.r, "list revocations", sqlrec.ScanRevocation, q, args...)
}

// DeleteExpiredRevocations implements [store.RevocationStore].
func (s *Store) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int64, error) {
	return s.exec(ctx, "delete expired revocations", `DELETE FROM revoked_tokens WHERE expires_at <= ?`, fmtTime(now))
}

const issuedColumns = sqlrec.IssuedColumns

// RecordIssued implements [store.IssuedTokenStore]. The insert does
// nothing when the id is recorded, which is reported as ErrConflict.
func (s *Store) RecordIssued(ctx context.Context, t *store.IssuedToken) error {
	if t == nil || t.TokenID == "" {
		return errors.New("sqlitestore: record issued token: empty token id")
	}
	what := fmt.Sprintf("record issued token %q", t.TokenID)
	n, err := s.exec(ctx, what, `INSERT INTO issued_tokens (`+issuedColumns+`) VALUES (?, ?, ?, ?, ?) ON CONFLICT (token_id) DO NOTHING`,
		t.TokenID, t.Kind, t.UserID, fmtTime(t.IssuedAt), fmtTime(t.ExpiresAt))
	if err == nil && n == 0 {
		err = fmt.Errorf("sqlitestore: %s: already recorded: %w", what, store.ErrConflict)
	}
	return err
}

// GetIssued implements [store.IssuedTokenStore].
func (s *Store) GetIssued(ctx context.Context, tokenID string) (*store.IssuedToken, error) {
	return queryOne(ctx, s.r, fmt.Sprintf("issued token %q", tokenID), sqlrec.ScanIssued,
		`SELECT `+issuedColumns+` FROM issued_tokens WHERE token_id = ?`, tokenID)
}

// DeleteExpiredIssued implements [store.IssuedTokenStore].
func (s *Store) DeleteExpiredIssued(ctx context.Context, now time.Time) (int64, error) {
	return s.exec(ctx, "delete expired issued tokens", `DELETE FROM issued_tokens WHERE expires_at <= ?`, fmtTime(now))
}

// TokenVersion implements [store.TokenVersionStore].
func (s *Store) TokenVersion(ctx context.Context, userID string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT version FROM token_versions WHERE user_id = ?`, userID).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlitestore: token version of %q: %w", userID, err)
	}
	return v, nil
}

// BumpTokenVersion implements [store.TokenVersionStore] with one upsert.
func (s *Store) BumpTokenVersion(ctx context.Context, userID string, at time.Time) (int64, error) {
	var v int64
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		return t.QueryRowContext(ctx, `INSERT INTO token_versions (user_id, version, updated_at) VALUES (?, 1, ?)
ON CONFLICT (user_id) DO UPDATE SET version = token_versions.version + 1, updated_at = excluded.updated_at
RETURNING version`, userID, fmtTime(at)).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: bump token version of %q: %w", userID, err)
	}
	return v, nil
}

// TokenVersions implements [store.TokenVersionStore].
func (s *Store) TokenVersions(ctx context.Context) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT user_id, version FROM token_versions WHERE version <> 0`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: token versions: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			id string
			v  int64
		)
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("sqlitestore: token versions: %w", err)
		}
		out[id] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: token versions: %w", err)
	}
	return out, nil
}

// TokenGeneration implements [store.TokenVersionStore].
func (s *Store) TokenGeneration(ctx context.Context) (store.Generation, error) {
	g, err := sqlrec.ScanGeneration(s.r.QueryRowContext(ctx, sqlrec.Generation.SQLite))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Generation{}, nil
	}
	if err != nil {
		return store.Generation{}, fmt.Errorf("sqlitestore: token generation: %w", err)
	}
	return g, nil
}

// BumpTokenGeneration implements [store.TokenVersionStore] with one upsert.
func (s *Store) BumpTokenGeneration(ctx context.Context, at time.Time, by, reason string) (store.Generation, error) {
	var g store.Generation
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		var err error
		g, err = sqlrec.ScanGeneration(t.QueryRowContext(ctx, sqlrec.BumpGeneration.SQLite, nullTime(at), by, reason))
		return err
	})
	if err != nil {
		return store.Generation{}, fmt.Errorf("sqlitestore: bump token generation: %w", err)
	}
	return g, nil
}

const signingKeyColumns = sqlrec.SigningKeyColumns

// ListSigningKeys implements [store.KeyRingStore].
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return queryAll(ctx, s.r, "list signing keys", sqlrec.ScanSigningKey, `SELECT `+signingKeyColumns+` FROM jwt_keys ORDER BY created_at, kid`)
}

// RotateSigningKey implements [store.KeyRingStore]. The check of the
// current key, its retirement and the insert share one BEGIN IMMEDIATE
// transaction, so a replica that rotated first wins and the other gets
// ErrConflict.
func (s *Store) RotateSigningKey(ctx context.Context, prevKID string, prevValidUntil time.Time, next *store.SigningKey) error {
	if next == nil || next.KID == "" {
		return errors.New("sqlitestore: rotate signing key: empty kid")
	}
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		var n int
		if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM jwt_keys WHERE kid = ?`, next.KID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("sqlitestore: signing key %q exists: %w", next.KID, store.ErrConflict)
		}
		var cur string
		err := t.QueryRowContext(ctx, `SELECT kid FROM jwt_keys WHERE retired_at IS NULL`).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur != prevKID {
			return fmt.Errorf("sqlitestore: rotate signing key: %q is not the current key (%q is): %w", prevKID, cur, store.ErrConflict)
		}
		if cur != "" {
			if _, err := t.ExecContext(ctx, `UPDATE jwt_keys SET retired_at = ?, valid_until = ? WHERE kid = ?`,
				fmtTime(next.CreatedAt), nullTime(prevValidUntil), cur); err != nil {
				return err
			}
		}
		_, err = t.ExecContext(ctx, `INSERT INTO jwt_keys (`+signingKeyColumns+`) VALUES (?, ?, ?, ?, NULL, ?)`,
			next.KID, next.Alg, next.Ciphertext, fmtTime(next.CreatedAt), nullTime(next.ValidUntil))
		if isConstraint(err) {
			return fmt.Errorf("sqlitestore: signing key %q: %w", next.KID, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return err
		}
		return fmt.Errorf("sqlitestore: rotate signing key to %q: %w", next.KID, err)
	}
	return nil
}

const auditColumns = sqlrec.AuditColumns

// AppendAudit implements [store.AuditStore].
func (s *Store) AppendAudit(ctx context.Context, e *store.AuditEntry) error {
	if e == nil || e.ID == "" {
		return errors.New("sqlitestore: append audit: empty id")
	}
	details := string(e.Details)
	if details == "" {
		details = "{}"
	} else if !json.Valid(e.Details) {
		return fmt.Errorf("sqlitestore: append audit %q: details are not valid JSON", e.ID)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, fmtTime(e.At), e.Actor.ID, e.Actor.Type, e.Actor.Role, e.Action, e.Target, e.IP, e.UserAgent, e.CorrelationID, e.Outcome, details)
	if isConstraint(err) {
		return fmt.Errorf("sqlitestore: audit entry %q: %w", e.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: append audit %q: %w", e.ID, err)
	}
	return nil
}

// ListAudit implements [store.AuditStore].
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	if f.Actor != "" {
		where = append(where, `actor_id = ?`)
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		where = append(where, `action = ?`)
		args = append(args, f.Action)
	}
	if !f.Since.IsZero() {
		where = append(where, `at >= ?`)
		args = append(args, fmtTime(f.Since))
	}
	if f.Cursor != nil {
		c := fmtTime(f.Cursor.CreatedAt)
		where = append(where, `(at < ? OR (at = ? AND id < ?))`)
		args = append(args, c, c, f.Cursor.ID)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	args = append(args, limit)
	return queryAll(ctx, s.r, "list audit", sqlrec.ScanAudit, q+` ORDER BY at DESC, id DESC LIMIT ?`, args...)
}

// RecordUsage implements [store.UsageStore].
func (s *Store) RecordUsage(ctx context.Context, r *store.UsageRecord) error {
	if r == nil {
		return errors.New("sqlitestore: record usage: nil record")
	}
	_, err := s.w.ExecContext(ctx, insertUsage, usageArgs(r, r.At)...)
	if err != nil {
		return fmt.Errorf("sqlitestore: record usage: %w", err)
	}
	return nil
}

// insertUsage stores a usage row unless its idempotency key is stored
// already; its arguments are usageArgs.
const insertUsage = `INSERT INTO usage_records (user_id, provider, model, tokens_in, tokens_out, cost_usd, debate_id, at, idempotency_key)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`

// usageArgs are the arguments of insertUsage for r made at.
func usageArgs(r *store.UsageRecord, at time.Time) []any {
	id := r.ID
	if id == "" {
		id = store.NewUsageID(at)
	}
	return []any{r.UserID, r.Provider, r.Model, r.TokensIn, r.TokensOut, r.CostUSD, r.DebateID, fmtTime(at), id}
}

// AggregateUsage implements [store.UsageStore]. The day is the date part
// of the stored UTC text.
func (s *Store) AggregateUsage(ctx context.Context, f store.UsageFilter) ([]store.UsageBucket, error) {
	q := `SELECT substr(at, 1, 10) AS day, provider, COUNT(*), SUM(tokens_in), SUM(tokens_out), SUM(cost_usd)
FROM usage_records WHERE at >= ? AND at < ?`
	args := []any{fmtTime(f.From), fmtTime(f.To)}
	if f.UserID != "" {
		q += ` AND user_id = ?`
		args = append(args, f.UserID)
	}
	rows, err := s.r.QueryContext(ctx, q+` GROUP BY day, provider ORDER BY day, provider`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: aggregate usage: %w", err)
	}
	defer rows.Close()
	out := []store.UsageBucket{}
	for rows.Next() {
		var b store.UsageBucket
		if err := rows.Scan(&b.Day, &b.Provider, &b.Requests, &b.TokensIn, &b.TokensOut, &b.CostUSD); err != nil {
			return nil, fmt.Errorf("sqlitestore: aggregate usage: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: aggregate usage: %w", err)
	}
	return out, nil
}
