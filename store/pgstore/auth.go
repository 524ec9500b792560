package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// The authentication ports. Reads and idempotent writes (UpdateUser,
// TouchAPIKey) are retried once after a connection error like every other
// operation; the other writes are retried only when pgx reports that
// nothing reached the server, since repeating one whose acknowledgement was
// lost would report a false ErrConflict (a refresh token seen twice, a
// key ring rotated by someone else) or bump a counter twice.

// retryUnsent runs op and, after a connection error, resets the pool; it
// runs op again only when the failed attempt sent nothing.
func (s *Store) retryUnsent(ctx context.Context, op func() error) error {
	err := op()
	if !isConnError(err) || ctx.Err() != nil {
		return err
	}
	s.pool.Reset()
	if !pgconn.SafeToRetry(err) {
		return err
	}
	return op()
}

// inTxUnsent runs fn in a transaction, retried as retryUnsent.
func (s *Store) inTxUnsent(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.retryUnsent(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
}

// ts normalises a time for a NOT NULL column: UTC, microseconds.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

const userColumns = sqlrec.UserColumns

func insertUser(ctx context.Context, tx pgx.Tx, u *store.User) error {
	_, err := tx.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.ID, u.Email, u.Name, u.Role, u.PasswordHash, u.PasswordChangeRequired, u.Disabled,
		ts(u.CreatedAt), ts(u.UpdatedAt), nullTime(u.LastLoginAt))
	return err
}

func validUser(u *store.User) error {
	if u == nil || u.ID == "" || u.Email == "" {
		return errors.New("pgstore: create user: empty id or email")
	}
	return nil
}

func userWriteErr(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return fmt.Errorf("pgstore: create user %q: id or email exists: %w", id, store.ErrConflict)
	case errors.Is(err, store.ErrConflict):
		return err
	}
	return fmt.Errorf("pgstore: create user %q: %w", id, err)
}

// CreateUser implements [store.UserStore].
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if err := validUser(u); err != nil {
		return err
	}
	return userWriteErr(u.ID, s.inTxUnsent(ctx, func(tx pgx.Tx) error { return insertUser(ctx, tx, u) }))
}

// CreateFirstUser implements [store.UserStore]. The transaction locks the
// users table against concurrent writers (SHARE ROW EXCLUSIVE) before it
// counts, so of concurrent bootstraps on any number of replicas exactly
// one inserts.
func (s *Store) CreateFirstUser(ctx context.Context, u *store.User) error {
	if err := validUser(u); err != nil {
		return err
	}
	return userWriteErr(u.ID, s.inTxUnsent(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("pgstore: create first user: users exist: %w", store.ErrConflict)
		}
		return insertUser(ctx, tx, u)
	}))
}

func (s *Store) getUser(ctx context.Context, what, where string, arg any) (*store.User, error) {
	u, err := queryOne(ctx, s, sqlrec.ScanUser, `SELECT `+userColumns+` FROM users WHERE `+where, arg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", what, sqlrec.OrNotFound(err))
	}
	return u, nil
}

// GetUser implements [store.UserStore].
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	return s.getUser(ctx, fmt.Sprintf("user %q", id), `id = $1`, id)
}

// GetUserByEmail implements [store.UserStore].
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	return s.getUser(ctx, "user by email", `email = $1`, email)
}

// ListUsers implements [store.UserStore].
func (s *Store) ListUsers(ctx context.Context) ([]*store.User, error) {
	return queryAll(ctx, s, "list users", sqlrec.ScanUser, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
}

// CountUsers implements [store.UserStore].
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.retry(ctx, func() error { return s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n) })
	if err != nil {
		return 0, fmt.Errorf("pgstore: count users: %w", err)
	}
	return n, nil
}

// UpdateUser implements [store.UserStore].
func (s *Store) UpdateUser(ctx context.Context, id string, upd store.UserUpdate) (*store.User, error) {
	args := []any{id}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	set := []string{`updated_at = ` + arg(ts(upd.UpdatedAt))}
	if upd.Name != nil {
		set = append(set, `name = `+arg(*upd.Name))
	}
	if upd.Role != nil {
		set = append(set, `role = `+arg(*upd.Role))
	}
	if upd.PasswordHash != nil {
		set = append(set, `password_hash = `+arg(*upd.PasswordHash))
	}
	if upd.PasswordChangeRequired != nil {
		set = append(set, `password_change_required = `+arg(*upd.PasswordChangeRequired))
	}
	if upd.Disabled != nil {
		set = append(set, `disabled = `+arg(*upd.Disabled))
	}
	if upd.LastLoginAt != nil {
		set = append(set, `last_login_at = `+arg(nullTime(*upd.LastLoginAt)))
	}
	u, err := queryOne(ctx, s, sqlrec.ScanUser, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = $1 RETURNING `+userColumns, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: update user %q: %w", id, sqlrec.OrNotFound(err))
	}
	return u, nil
}

const apiKeyColumns = sqlrec.APIKeyColumns

// CreateAPIKey implements [store.APIKeyStore]. In one transaction it takes
// a transaction-scoped advisory lock on the user (schema-qualified), so
// concurrent creations for one user serialise, revokes the active key and
// inserts the new one; the partial unique index api_keys_one_active backs
// the one-active-key rule.
func (s *Store) CreateAPIKey(ctx context.Context, k *store.APIKey) (*store.APIKey, error) {
	if k == nil || k.ID == "" || k.KeyID == "" || k.UserID == "" {
		return nil, errors.New("pgstore: create api key: empty id, key id or user id")
	}
	var replaced *store.APIKey
	err := s.inTxUnsent(ctx, func(tx pgx.Tx) error {
		replaced = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('aragora.api_keys:' || current_schema() || ':' || $1, 0))`,
			k.UserID); err != nil {
			return err
		}
		old, err := sqlrec.ScanAPIKey(tx.QueryRow(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL RETURNING `+apiKeyColumns,
			ts(k.CreatedAt), k.UserID))
		switch {
		case err == nil:
			replaced = old
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)`,
			k.ID, k.KeyID, k.Prefix, k.UserID, k.Name, k.Hash, ts(k.CreatedAt), nullTime(k.ExpiresAt), nullTime(k.LastUsedAt))
		return err
	})
	if isUnique(err) {
		return nil, fmt.Errorf("pgstore: create api key %q: id or key id exists: %w", k.ID, store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: create api key %q: %w", k.ID, err)
	}
	return replaced, nil
}

func (s *Store) getAPIKey(ctx context.Context, what, where string, arg any) (*store.APIKey, error) {
	k, err := queryOne(ctx, s, sqlrec.ScanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys WHERE `+where, arg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", what, sqlrec.OrNotFound(err))
	}
	return k, nil
}

// GetAPIKey implements [store.APIKeyStore].
func (s *Store) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	return s.getAPIKey(ctx, fmt.Sprintf("api key %q", id), `id = $1`, id)
}

// GetAPIKeyByKeyID implements [store.APIKeyStore].
func (s *Store) GetAPIKeyByKeyID(ctx context.Context, keyID string) (*store.APIKey, error) {
	return s.getAPIKey(ctx, fmt.Sprintf("api key id %q", keyID), `key_id = $1`, keyID)
}

// ActiveAPIKey implements [store.APIKeyStore].
func (s *Store) ActiveAPIKey(ctx context.Context, userID string) (*store.APIKey, error) {
	return s.getAPIKey(ctx, fmt.Sprintf("active api key of %q", userID), `user_id = $1 AND revoked_at IS NULL`, userID)
}

// ListAPIKeys implements [store.APIKeyStore].
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]*store.APIKey, error) {
	q := `SELECT ` + apiKeyColumns + ` FROM api_keys`
	var args []any
	if userID != "" {
		q += ` WHERE user_id = $1`
		args = append(args, userID)
	}
	q += ` ORDER BY created_at DESC, id DESC`
	return queryAll(ctx, s, "list api keys", sqlrec.ScanAPIKey, q, args...)
}

// RevokeAPIKey implements [store.APIKeyStore].
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) (*store.APIKey, error) {
	var k *store.APIKey
	err := s.retryUnsent(ctx, func() (err error) {
		k, err = sqlrec.ScanAPIKey(s.pool.QueryRow(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING `+apiKeyColumns,
			ts(at), id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: revoke api key %q (unknown or revoked): %w", id, sqlrec.OrNotFound(err))
	}
	return k, nil
}

// execCount runs a write retried as retryUnsent and returns the rows it
// affected.
func (s *Store) execCount(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := s.retryUnsent(ctx, func() error {
		tag, err := s.pool.Exec(ctx, q, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// RevokeAllAPIKeys implements [store.APIKeyStore].
func (s *Store) RevokeAllAPIKeys(ctx context.Context, at time.Time) (int64, error) {
	n, err := s.execCount(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE revoked_at IS NULL`, ts(at))
	if err != nil {
		return 0, fmt.Errorf("pgstore: revoke all api keys: %w", err)
	}
	return n, nil
}

// TouchAPIKey implements [store.APIKeyStore].
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, fmt.Sprintf("touch api key %q", id), `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, nullTime(at), id)
}

const revocationColumns = sqlrec.RevocationColumns

// RevokeToken implements [store.RevocationStore]: an insert that does
// nothing when the id is listed (waiting for a concurrent insert of the
// same id to commit), reported as ErrConflict.
func (s *Store) RevokeToken(ctx context.Context, r *store.Revocation) error {
	if r == nil || r.TokenID == "" {
		return errors.New("pgstore: revoke token: empty token id")
	}
	n, err := s.execCount(ctx, `INSERT INTO revoked_tokens (`+revocationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (token_id) DO NOTHING`,
		r.TokenID, r.Kind, r.UserID, ts(r.RevokedAt), r.RevokedBy, r.Reason, ts(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("pgstore: revoke token %q: %w", r.TokenID, err)
	}
	if n == 0 {
		return fmt.Errorf("pgstore: revoke token %q: already revoked: %w", r.TokenID, store.ErrConflict)
	}
	return nil
}

// GetRevocation implements [store.RevocationStore].
func (s *Store) GetRevocation(ctx context.Context, tokenID string) (*store.Revocation, error) {
	r, err := queryOne(ctx, s, sqlrec.ScanRevocation, `SELECT `+revocationColumns+` FROM revoked_tokens WHERE token_id = $1`, tokenID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: revocation %q: %w", tokenID, sqlrec.OrNotFound(err))
	}
	return &r, nil
}

// ListRevocations implements [store.RevocationStore].
func (s *Store) ListRevocations(ctx context.Context, now time.Time, limit int) ([]store.Revocation, error) {
	q := `SELECT ` + revocationColumns + ` FROM revoked_tokens WHERE expires_at > $1 ORDER BY revoked_at DESC, token_id`
	args := []any{ts(now)}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	return queryAll(ctx, s, "list revocations", sqlrec.ScanRevocation, q, args...)
}

// DeleteExpiredRevocations implements [store.RevocationStore].
func (s *Store) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.execCount(ctx, `DELETE FROM revoked_tokens WHERE expires_at <= $1`, ts(now))
	if err != nil {
		return 0, fmt.Errorf("pgstore: delete expired revocations: %w", err)
	}
	return n, nil
}

const issuedColumns = sqlrec.IssuedColumns

// RecordIssued implements [store.IssuedTokenStore]: an insert that does
// nothing when the id is recorded, reported as ErrConflict.
func (s *Store) RecordIssued(ctx context.Context, t *store.IssuedToken) error {
	if t == nil || t.TokenID == "" {
		return errors.New("pgstore: record issued token: empty token id")
	}
	n, err := s.execCount(ctx, `INSERT INTO issued_tokens (`+issuedColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (token_id) DO NOTHING`,
		t.TokenID, t.Kind, t.UserID, ts(t.IssuedAt), ts(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("pgstore: record issued token %q: %w", t.TokenID, err)
	}
	if n == 0 {
		return fmt.Errorf("pgstore: record issued token %q: already recorded: %w", t.TokenID, store.ErrConflict)
	}
	return nil
}

// GetIssued implements [store.IssuedTokenStore].
func (s *Store) GetIssued(ctx context.Context, tokenID string) (*store.IssuedToken, error) {
	t, err := queryOne(ctx, s, sqlrec.ScanIssued, `SELECT `+issuedColumns+` FROM issued_tokens WHERE token_id = $1`, tokenID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: issued token %q: %w", tokenID, sqlrec.OrNotFound(err))
	}
	return t, nil
}

// DeleteExpiredIssued implements [store.IssuedTokenStore].
func (s *Store) DeleteExpiredIssued(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.execCount(ctx, `DELETE FROM issued_tokens WHERE expires_at <= $1`, ts(now))
	if err != nil {
		return 0, fmt.Errorf("pgstore: delete expired issued tokens: %w", err)
	}
	return n, nil
}

// TokenVersion implements [store.TokenVersionStore].
func (s *Store) TokenVersion(ctx context.Context, userID string) (int64, error) {
	var v int64
	err := s.retry(ctx, func() error {
		v = 0
		err := s.pool.QueryRow(ctx, `SELECT version FROM token_versions WHERE user_id = $1`, userID).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: token version of %q: %w", userID, err)
	}
	return v, nil
}

// BumpTokenVersion implements [store.TokenVersionStore] with one upsert.
func (s *Store) BumpTokenVersion(ctx context.Context, userID string, at time.Time) (int64, error) {
	var v int64
	err := s.retryUnsent(ctx, func() error {
		return s.pool.QueryRow(ctx, `INSERT INTO token_versions (user_id, version, updated_at) VALUES ($1, 1, $2)
			ON CONFLICT (user_id) DO UPDATE SET version = token_versions.version + 1, updated_at = excluded.updated_at
			RETURNING version`, userID, ts(at)).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: bump token version of %q: %w", userID, err)
	}
	return v, nil
}

// TokenVersions implements [store.TokenVersionStore].
func (s *Store) TokenVersions(ctx context.Context) (map[string]int64, error) {
	var out map[string]int64
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT user_id, version FROM token_versions WHERE version <> 0`)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = map[string]int64{}
		for rows.Next() {
			var (
				id string
				v  int64
			)
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			out[id] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: token versions: %w", err)
	}
	return out, nil
}

// TokenGeneration implements [store.TokenVersionStore].
func (s *Store) TokenGeneration(ctx context.Context) (store.Generation, error) {
	var g store.Generation
	err := s.retry(ctx, func() (err error) {
		g, err = sqlrec.ScanGeneration(s.pool.QueryRow(ctx, sqlrec.Generation.Postgres))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return store.Generation{}, fmt.Errorf("pgstore: token generation: %w", err)
	}
	return g, nil
}

// BumpTokenGeneration implements [store.TokenVersionStore] with one upsert.
func (s *Store) BumpTokenGeneration(ctx context.Context, at time.Time, by, reason string) (store.Generation, error) {
	var g store.Generation
	err := s.retryUnsent(ctx, func() (err error) {
		g, err = sqlrec.ScanGeneration(s.pool.QueryRow(ctx, sqlrec.BumpGeneration.Postgres, nullTime(at), by, reason))
		return err
	})
	if err != nil {
		return store.Generation{}, fmt.Errorf("pgstore: bump token generation: %w", err)
	}
	return g, nil
}

const signingKeyColumns = sqlrec.SigningKeyColumns

// ListSigningKeys implements [store.KeyRingStore].
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return queryAll(ctx, s, "list signing keys", sqlrec.ScanSigningKey, `SELECT `+signingKeyColumns+` FROM jwt_keys ORDER BY created_at, kid`)
}

// RotateSigningKey implements [store.KeyRingStore]. The transaction locks
// jwt_keys against concurrent writers before it checks the current key, so
// of replicas rotating together one wins and the others get ErrConflict;
// the partial unique index jwt_keys_one_current backs the one-current-key
// rule.
func (s *Store) RotateSigningKey(ctx context.Context, prevKID string, prevValidUntil time.Time, next *store.SigningKey) error {
	if next == nil || next.KID == "" {
		return errors.New("pgstore: rotate signing key: empty kid")
	}
	err := s.inTxUnsent(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE jwt_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jwt_keys WHERE kid = $1)`, next.KID).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("pgstore: signing key %q exists: %w", next.KID, store.ErrConflict)
		}
		var cur string
		err := tx.QueryRow(ctx, `SELECT kid FROM jwt_keys WHERE retired_at IS NULL`).Scan(&cur)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if cur != prevKID {
			return fmt.Errorf("pgstore: rotate signing key: %q is not the current key (%q is): %w", prevKID, cur, store.ErrConflict)
		}
		if cur != "" {
			if _, err := tx.Exec(ctx, `UPDATE jwt_keys SET retired_at = $1, valid_until = $2 WHERE kid = $3`,
				ts(next.CreatedAt), nullTime(prevValidUntil), cur); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO jwt_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, NULL, $5)`,
			next.KID, next.Alg, next.Ciphertext, ts(next.CreatedAt), nullTime(next.ValidUntil))
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrConflict):
		return err
	case isUnique(err):
		return fmt.Errorf("pgstore: rotate signing key to %q: %w", next.KID, store.ErrConflict)
	}
	return fmt.Errorf("pgstore: rotate signing key to %q: %w", next.KID, err)
}

const auditColumns = sqlrec.AuditColumns

// AppendAudit implements [store.AuditStore].
func (s *Store) AppendAudit(ctx context.Context, e *store.AuditEntry) error {
	if e == nil || e.ID == "" {
		return errors.New("pgstore: append audit: empty id")
	}
	details := string(e.Details)
	if details == "" {
		details = "{}"
	} else if !json.Valid(e.Details) {
		return fmt.Errorf("pgstore: append audit %q: details are not valid JSON", e.ID)
	}
	err := s.retryUnsent(ctx, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			e.ID, ts(e.At), e.Actor.ID, e.Actor.Type, e.Actor.Role, e.Action, e.Target, e.IP, e.UserAgent, e.CorrelationID, e.Outcome, details)
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("pgstore: audit entry %q: %w", e.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("pgstore: append audit %q: %w", e.ID, err)
	}
	return nil
}

// ListAudit implements [store.AuditStore].
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Actor != "" {
		where = append(where, `actor_id = `+arg(f.Actor))
	}
	if f.Action != "" {
		where = append(where, `action = `+arg(f.Action))
	}
	if !f.Since.IsZero() {
		where = append(where, `at >= `+arg(ts(f.Since)))
	}
	if f.Cursor != nil {
		where = append(where, `(at, id) < (`+arg(ts(f.Cursor.CreatedAt))+`, `+arg(f.Cursor.ID)+`)`)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ` + arg(limit)
	return queryAll(ctx, s, "list audit", sqlrec.ScanAudit, q, args...)
}

// RecordUsage implements [store.UsageStore].
func (s *Store) RecordUsage(ctx context.Context, r *store.UsageRecord) error {
	if r == nil {
		return errors.New("pgstore: record usage: nil record")
	}
	args := usageArgs(r, r.At)
	err := s.retryUnsent(ctx, func() error {
		_, err := s.pool.Exec(ctx, insertUsage, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: record usage: %w", err)
	}
	return nil
}

// insertUsage stores a usage row unless its idempotency key is stored
// already; its arguments are usageArgs.
const insertUsage = `INSERT INTO usage_records (user_id, provider, model, tokens_in, tokens_out, cost_usd, debate_id, at, idempotency_key)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING`

// usageArgs are the arguments of insertUsage for r made at. The key is
// fixed before the first attempt, so a retry of a write that committed
// stores nothing.
func usageArgs(r *store.UsageRecord, at time.Time) []any {
	id := r.ID
	if id == "" {
		id = store.NewUsageID(at)
	}
	return []any{r.UserID, r.Provider, r.Model, r.TokensIn, r.TokensOut, r.CostUSD, r.DebateID, ts(at), id}
}

// AggregateUsage implements [store.UsageStore]: GROUP BY the UTC date and
// the provider (ordered bytewise, like the other backends).
func (s *Store) AggregateUsage(ctx context.Context, f store.UsageFilter) ([]store.UsageBucket, error) {
	q := `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, provider COLLATE "C" AS provider, COUNT(*),
		COALESCE(SUM(tokens_in), 0)::BIGINT, COALESCE(SUM(tokens_out), 0)::BIGINT, COALESCE(SUM(cost_usd), 0)
		FROM usage_records WHERE at >= $1 AND at < $2`
	args := []any{ts(f.From), ts(f.To)}
	if f.UserID != "" {
		q += ` AND user_id = $3`
		args = append(args, f.UserID)
	}
	q += ` GROUP BY 1, 2 ORDER BY 1, 2`
	var out []store.UsageBucket
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []store.UsageBucket{}
		for rows.Next() {
			var b store.UsageBucket
			if err := rows.Scan(&b.Day, &b.Provider, &b.Requests, &b.TokensIn, &b.TokensOut, &b.CostUSD); err != nil {
				return err
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: aggregate usage: %w", err)
	}
	return out, nil
}
