package sqlrec

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aragora/aragora/store"
)

// The authentication ports (store/auth.go), for both backends. Reads and
// the writes that are safe to repeat (UpdateUser, TouchAPIKey) run through
// DB.Read and DB.Rewrite, the others through DB.Write or DB.Tx: pgstore
// repeats one of those after a lost connection only when nothing reached
// the server, since repeating one whose acknowledgement was lost would
// report a false ErrConflict (a refresh token seen twice, a key ring
// rotated by someone else) or bump a counter twice.

var (
	insertUser = NewStmt(`INSERT INTO users (` + UserColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`)
	usersExist = NewStmt(`SELECT EXISTS (SELECT 1 FROM users)`)
	userByID   = NewStmt(`SELECT ` + UserColumns + ` FROM users WHERE id = $1`)
	userByMail = NewStmt(`SELECT ` + UserColumns + ` FROM users WHERE email = $1`)
	listUsers  = NewStmt(`SELECT ` + UserColumns + ` FROM users ORDER BY created_at, id`)
	countUsers = NewStmt(`SELECT COUNT(*) FROM users`)

	revokeActiveKey = NewStmt(`UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL RETURNING ` + APIKeyColumns)
	insertAPIKey    = NewStmt(`INSERT INTO api_keys (` + APIKeyColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)`)
	apiKeyByID      = NewStmt(`SELECT ` + APIKeyColumns + ` FROM api_keys WHERE id = $1`)
	apiKeyByKeyID   = NewStmt(`SELECT ` + APIKeyColumns + ` FROM api_keys WHERE key_id = $1`)
	activeAPIKey    = NewStmt(`SELECT ` + APIKeyColumns + ` FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL`)
	listAPIKeys     = NewStmt(`SELECT ` + APIKeyColumns + ` FROM api_keys ORDER BY created_at DESC, id DESC`)
	listUserAPIKeys = NewStmt(`SELECT ` + APIKeyColumns + ` FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id DESC`)
	revokeAPIKey    = NewStmt(`UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING ` + APIKeyColumns)
	revokeAllKeys   = NewStmt(`UPDATE api_keys SET revoked_at = $1 WHERE revoked_at IS NULL`)
	touchAPIKey     = NewStmt(`UPDATE api_keys SET last_used_at = $1 WHERE id = $2`)

	insertRevocation  = NewStmt(`INSERT INTO revoked_tokens (` + RevocationColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (token_id) DO NOTHING`)
	revocation        = NewStmt(`SELECT ` + RevocationColumns + ` FROM revoked_tokens WHERE token_id = $1`)
	listRevocations   = NewStmt(`SELECT ` + RevocationColumns + ` FROM revoked_tokens WHERE expires_at > $1 ORDER BY revoked_at DESC, token_id`)
	firstRevocations  = NewStmt(listRevocations.Postgres + ` LIMIT $2`)
	deleteRevocations = NewStmt(`DELETE FROM revoked_tokens WHERE expires_at <= $1`)

	insertIssued = NewStmt(`INSERT INTO issued_tokens (` + IssuedColumns + `) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_id) DO NOTHING`)
	issued       = NewStmt(`SELECT ` + IssuedColumns + ` FROM issued_tokens WHERE token_id = $1`)
	deleteIssued = NewStmt(`DELETE FROM issued_tokens WHERE expires_at <= $1`)

	tokenVersion     = NewStmt(`SELECT version FROM token_versions WHERE user_id = $1`)
	bumpTokenVersion = NewStmt(`INSERT INTO token_versions (user_id, version, updated_at) VALUES ($1, 1, $2)
		ON CONFLICT (user_id) DO UPDATE SET version = token_versions.version + 1, updated_at = excluded.updated_at
		RETURNING version`)
	tokenVersions = NewStmt(`SELECT user_id, version FROM token_versions WHERE version <> 0`)

	listSigningKeys  = NewStmt(`SELECT ` + SigningKeyColumns + ` FROM jwt_keys ORDER BY created_at, kid`)
	signingKeyExists = NewStmt(`SELECT EXISTS (SELECT 1 FROM jwt_keys WHERE kid = $1)`)
	currentKey       = NewStmt(`SELECT kid FROM jwt_keys WHERE retired_at IS NULL`)
	retireKey        = NewStmt(`UPDATE jwt_keys SET retired_at = $1, valid_until = $2 WHERE kid = $3`)
	insertSigningKey = NewStmt(`INSERT INTO jwt_keys (` + SigningKeyColumns + `) VALUES ($1, $2, $3, $4, NULL, $5)`)

	insertAudit = NewStmt(`INSERT INTO audit_log (` + AuditColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`)

	// InsertUsage stores a usage row unless its idempotency key is stored
	// already; its arguments are [UsageArgs].
	InsertUsage = NewStmt(`INSERT INTO usage_records (user_id, provider, model, tokens_in, tokens_out, cost_usd, debate_id, at, idempotency_key)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING`)

	// The usage per UTC day and provider, ordered bytewise: the day is the
	// date part of the stored UTC text in SQLite.
	aggregateUsage = Stmt{
		Postgres: `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, provider COLLATE "C" AS provider, COUNT(*),
		COALESCE(SUM(tokens_in), 0)::BIGINT, COALESCE(SUM(tokens_out), 0)::BIGINT, COALESCE(SUM(cost_usd), 0)
		FROM usage_records WHERE at >= $1 AND at < $2`,
		SQLite: `SELECT substr(at, 1, 10) AS day, provider, COUNT(*), SUM(tokens_in), SUM(tokens_out), SUM(cost_usd)
FROM usage_records WHERE at >= ?1 AND at < ?2`,
	}
	usageOfAll  = usageGroups(aggregateUsage, ``)
	usageOfUser = usageGroups(aggregateUsage, ` AND user_id = $3`)
)

// usageGroups returns aggregate with the condition cond (written in the
// Postgres form) and its grouping.
func usageGroups(aggregate Stmt, cond string) Stmt {
	const group = ` GROUP BY 1, 2 ORDER BY 1, 2`
	return Stmt{Postgres: aggregate.Postgres + cond + group, SQLite: aggregate.SQLite + numbered(cond) + group}
}

// InsertUser inserts u in c.
func InsertUser(ctx context.Context, c Conn, u *store.User) error {
	return c.Exec(ctx, insertUser, u.ID, u.Email, u.Name, u.Role, u.PasswordHash, u.PasswordChangeRequired, u.Disabled,
		c.Time(u.CreatedAt), c.Time(u.UpdatedAt), c.NullTime(u.LastLoginAt))
}

func (s Store) validUser(u *store.User) error {
	if u == nil || u.ID == "" || u.Email == "" {
		return s.errorf("create user: empty id or email")
	}
	return nil
}

func (s Store) userWriteErr(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case s.db.IsConflict(err):
		return s.errorf("create user %q: id or email exists: %w", id, store.ErrConflict)
	case errors.Is(err, store.ErrConflict):
		return err
	}
	return s.errorf("create user %q: %w", id, err)
}

// CreateUser implements [store.UserStore].
func (s Store) CreateUser(ctx context.Context, u *store.User) error {
	if err := s.validUser(u); err != nil {
		return err
	}
	return s.userWriteErr(u.ID, s.db.Write(ctx, func(c Conn) error { return InsertUser(ctx, c, u) }))
}

// CreateFirstUser implements [store.UserStore]. The transaction holds off
// other writers of users (DB.Serialize) before it looks for one, so of
// concurrent bootstraps (on any number of replicas or processes) exactly
// one inserts.
func (s Store) CreateFirstUser(ctx context.Context, u *store.User) error {
	if err := s.validUser(u); err != nil {
		return err
	}
	return s.userWriteErr(u.ID, s.db.Tx(ctx, func(c Conn) error {
		if err := s.db.Serialize(ctx, c, "users", ""); err != nil {
			return err
		}
		var exists bool
		if err := c.QueryRow(ctx, usersExist).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return s.errorf("create first user: users exist: %w", store.ErrConflict)
		}
		return InsertUser(ctx, c, u)
	}))
}

// GetUser implements [store.UserStore].
func (s Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	return One(ctx, s.db, fmt.Sprintf("user %q", id), ScanUser, userByID, id)
}

// GetUserByEmail implements [store.UserStore].
func (s Store) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	return One(ctx, s.db, "user by email", ScanUser, userByMail, email)
}

// ListUsers implements [store.UserStore].
func (s Store) ListUsers(ctx context.Context) ([]*store.User, error) {
	return All(ctx, s.db, "list users", ScanUser, listUsers)
}

// CountUsers implements [store.UserStore].
func (s Store) CountUsers(ctx context.Context) (int, error) {
	return One(ctx, s.db, "count users", scanValue[int], countUsers)
}

// scanValue reads a row of one column.
func scanValue[T any](row Row) (v T, err error) {
	err = row.Scan(&v)
	return v, err
}

// optional reads the one column of the row of q in c, the zero value when
// there is no row.
func optional[T any](ctx context.Context, c Conn, q Stmt, args ...any) (T, error) {
	v, err := scanValue[T](c.QueryRow(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, nil
	}
	return v, err
}

// UpdateUser implements [store.UserStore].
func (s Store) UpdateUser(ctx context.Context, id string, upd store.UserUpdate) (*store.User, error) {
	q := NewQuery(s.db.Dialect())
	q.Arg(id)
	set := []string{`updated_at = ` + q.Arg(s.time(upd.UpdatedAt))}
	if upd.Name != nil {
		set = append(set, `name = `+q.Arg(*upd.Name))
	}
	if upd.Role != nil {
		set = append(set, `role = `+q.Arg(*upd.Role))
	}
	if upd.PasswordHash != nil {
		set = append(set, `password_hash = `+q.Arg(*upd.PasswordHash))
	}
	if upd.PasswordChangeRequired != nil {
		set = append(set, `password_change_required = `+q.Arg(*upd.PasswordChangeRequired))
	}
	if upd.Disabled != nil {
		set = append(set, `disabled = `+q.Arg(*upd.Disabled))
	}
	if upd.LastLoginAt != nil {
		set = append(set, `last_login_at = `+q.Arg(s.db.Dialect().NullTime(*upd.LastLoginAt)))
	}
	update := NewStmt(`UPDATE users SET ` + strings.Join(set, ", ") + ` WHERE id = $1 RETURNING ` + UserColumns)
	var u *store.User
	err := s.db.Rewrite(ctx, func(c Conn) (err error) {
		u, err = ScanUser(c.QueryRow(ctx, update, q.Args...))
		return err
	})
	if err != nil {
		return nil, s.errorf("update user %q: %w", id, OrNotFound(err))
	}
	return u, nil
}

// CreateAPIKey implements [store.APIKeyStore]. In one transaction, which
// holds off other creations for the user (DB.Serialize), it revokes the
// user's active key and inserts the new one; the partial unique index
// api_keys_one_active backs the one-active-key rule.
func (s Store) CreateAPIKey(ctx context.Context, k *store.APIKey) (*store.APIKey, error) {
	if k == nil || k.ID == "" || k.KeyID == "" || k.UserID == "" {
		return nil, s.errorf("create api key: empty id, key id or user id")
	}
	var replaced *store.APIKey
	err := s.db.Tx(ctx, func(c Conn) error {
		replaced = nil
		if err := s.db.Serialize(ctx, c, "api_keys", k.UserID); err != nil {
			return err
		}
		old, err := ScanAPIKey(c.QueryRow(ctx, revokeActiveKey, c.Time(k.CreatedAt), k.UserID))
		switch {
		case err == nil:
			replaced = old
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		return c.Exec(ctx, insertAPIKey,
			k.ID, k.KeyID, k.Prefix, k.UserID, k.Name, k.Hash, c.Time(k.CreatedAt), c.NullTime(k.ExpiresAt), c.NullTime(k.LastUsedAt))
	})
	if s.db.IsConflict(err) {
		return nil, s.errorf("create api key %q: id or key id exists: %w", k.ID, store.ErrConflict)
	}
	if err != nil {
		return nil, s.errorf("create api key %q: %w", k.ID, err)
	}
	return replaced, nil
}

// GetAPIKey implements [store.APIKeyStore].
func (s Store) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	return One(ctx, s.db, fmt.Sprintf("api key %q", id), ScanAPIKey, apiKeyByID, id)
}

// GetAPIKeyByKeyID implements [store.APIKeyStore].
func (s Store) GetAPIKeyByKeyID(ctx context.Context, keyID string) (*store.APIKey, error) {
	return One(ctx, s.db, fmt.Sprintf("api key id %q", keyID), ScanAPIKey, apiKeyByKeyID, keyID)
}

// ActiveAPIKey implements [store.APIKeyStore].
func (s Store) ActiveAPIKey(ctx context.Context, userID string) (*store.APIKey, error) {
	return One(ctx, s.db, fmt.Sprintf("active api key of %q", userID), ScanAPIKey, activeAPIKey, userID)
}

// ListAPIKeys implements [store.APIKeyStore].
func (s Store) ListAPIKeys(ctx context.Context, userID string) ([]*store.APIKey, error) {
	if userID == "" {
		return All(ctx, s.db, "list api keys", ScanAPIKey, listAPIKeys)
	}
	return All(ctx, s.db, "list api keys", ScanAPIKey, listUserAPIKeys, userID)
}

// RevokeAPIKey implements [store.APIKeyStore].
func (s Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) (*store.APIKey, error) {
	var k *store.APIKey
	err := s.db.Write(ctx, func(c Conn) (err error) {
		k, err = ScanAPIKey(c.QueryRow(ctx, revokeAPIKey, c.Time(at), id))
		return err
	})
	if err != nil {
		return nil, s.errorf("revoke api key %q (unknown or revoked): %w", id, OrNotFound(err))
	}
	return k, nil
}

// changed runs a write through run (DB.Write or DB.Rewrite) and returns
// the rows it changed; an error names what.
func (s Store) changed(ctx context.Context, run func(context.Context, func(Conn) error) error, what string, q Stmt, args ...any) (n int64, err error) {
	err = run(ctx, func(c Conn) (err error) {
		n, err = c.Changed(ctx, q, args...)
		return err
	})
	if err != nil {
		return 0, s.errorf("%s: %w", what, err)
	}
	return n, nil
}

// RevokeAllAPIKeys implements [store.APIKeyStore].
func (s Store) RevokeAllAPIKeys(ctx context.Context, at time.Time) (int64, error) {
	return s.changed(ctx, s.db.Write, "revoke all api keys", revokeAllKeys, s.time(at))
}

// time is Conn.Time of the backend, for arguments built before a
// connection is at hand.
func (s Store) time(t time.Time) any { return s.db.Dialect().Time(t) }

// changeOne runs a write that is safe to repeat (DB.Rewrite) and must
// change a row: changing none is an error wrapping ErrNotFound. An error
// names what.
func (s Store) changeOne(ctx context.Context, what string, q Stmt, args ...any) error {
	n, err := s.changed(ctx, s.db.Rewrite, what, q, args...)
	if err == nil && n == 0 {
		err = s.errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// TouchAPIKey implements [store.APIKeyStore].
func (s Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.changeOne(ctx, fmt.Sprintf("touch api key %q", id), touchAPIKey, s.db.Dialect().NullTime(at), id)
}

// RevokeToken implements [store.RevocationStore]: an insert that does
// nothing when the id is listed (in pgstore, after waiting for a
// concurrent insert of the same id to commit), reported as ErrConflict.
func (s Store) RevokeToken(ctx context.Context, r *store.Revocation) error {
	if r == nil || r.TokenID == "" {
		return s.errorf("revoke token: empty token id")
	}
	what := fmt.Sprintf("revoke token %q", r.TokenID)
	n, err := s.changed(ctx, s.db.Write, what, insertRevocation,
		r.TokenID, r.Kind, r.UserID, s.time(r.RevokedAt), r.RevokedBy, r.Reason, s.time(r.ExpiresAt))
	if err == nil && n == 0 {
		err = s.errorf("%s: already revoked: %w", what, store.ErrConflict)
	}
	return err
}

// GetRevocation implements [store.RevocationStore].
func (s Store) GetRevocation(ctx context.Context, tokenID string) (*store.Revocation, error) {
	r, err := One(ctx, s.db, fmt.Sprintf("revocation %q", tokenID), ScanRevocation, revocation, tokenID)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// ListRevocations implements [store.RevocationStore].
func (s Store) ListRevocations(ctx context.Context, now time.Time, limit int) ([]store.Revocation, error) {
	if limit > 0 {
		return All(ctx, s.db, "list revocations", ScanRevocation, firstRevocations, s.time(now), limit)
	}
	return All(ctx, s.db, "list revocations", ScanRevocation, listRevocations, s.time(now))
}

// DeleteExpiredRevocations implements [store.RevocationStore].
func (s Store) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int64, error) {
	return s.changed(ctx, s.db.Write, "delete expired revocations", deleteRevocations, s.time(now))
}

// RecordIssued implements [store.IssuedTokenStore]: an insert that does
// nothing when the id is recorded, reported as ErrConflict.
func (s Store) RecordIssued(ctx context.Context, t *store.IssuedToken) error {
	if t == nil || t.TokenID == "" {
		return s.errorf("record issued token: empty token id")
	}
	what := fmt.Sprintf("record issued token %q", t.TokenID)
	n, err := s.changed(ctx, s.db.Write, what, insertIssued, t.TokenID, t.Kind, t.UserID, s.time(t.IssuedAt), s.time(t.ExpiresAt))
	if err == nil && n == 0 {
		err = s.errorf("%s: already recorded: %w", what, store.ErrConflict)
	}
	return err
}

// GetIssued implements [store.IssuedTokenStore].
func (s Store) GetIssued(ctx context.Context, tokenID string) (*store.IssuedToken, error) {
	return One(ctx, s.db, fmt.Sprintf("issued token %q", tokenID), ScanIssued, issued, tokenID)
}

// DeleteExpiredIssued implements [store.IssuedTokenStore].
func (s Store) DeleteExpiredIssued(ctx context.Context, now time.Time) (int64, error) {
	return s.changed(ctx, s.db.Write, "delete expired issued tokens", deleteIssued, s.time(now))
}

// TokenVersion implements [store.TokenVersionStore].
func (s Store) TokenVersion(ctx context.Context, userID string) (int64, error) {
	v, err := One(ctx, s.db, fmt.Sprintf("token version of %q", userID), scanValue[int64], tokenVersion, userID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return v, err
}

// BumpTokenVersion implements [store.TokenVersionStore] with one upsert.
func (s Store) BumpTokenVersion(ctx context.Context, userID string, at time.Time) (int64, error) {
	var v int64
	err := s.db.Write(ctx, func(c Conn) error {
		return c.QueryRow(ctx, bumpTokenVersion, userID, c.Time(at)).Scan(&v)
	})
	if err != nil {
		return 0, s.errorf("bump token version of %q: %w", userID, err)
	}
	return v, nil
}

// TokenVersions implements [store.TokenVersionStore].
func (s Store) TokenVersions(ctx context.Context) (map[string]int64, error) {
	type version struct {
		user string
		v    int64
	}
	vs, err := All(ctx, s.db, "token versions", func(row Row) (v version, err error) {
		err = row.Scan(&v.user, &v.v)
		return v, err
	}, tokenVersions)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(vs))
	for _, v := range vs {
		out[v.user] = v.v
	}
	return out, nil
}

// TokenGeneration implements [store.TokenVersionStore].
func (s Store) TokenGeneration(ctx context.Context) (store.Generation, error) {
	g, err := One(ctx, s.db, "token generation", ScanGeneration, Generation)
	if errors.Is(err, store.ErrNotFound) {
		return store.Generation{}, nil
	}
	return g, err
}

// BumpTokenGeneration implements [store.TokenVersionStore] with one upsert.
func (s Store) BumpTokenGeneration(ctx context.Context, at time.Time, by, reason string) (store.Generation, error) {
	var g store.Generation
	err := s.db.Write(ctx, func(c Conn) (err error) {
		g, err = ScanGeneration(c.QueryRow(ctx, BumpGeneration, c.NullTime(at), by, reason))
		return err
	})
	if err != nil {
		return store.Generation{}, s.errorf("bump token generation: %w", err)
	}
	return g, nil
}

// ListSigningKeys implements [store.KeyRingStore].
func (s Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return All(ctx, s.db, "list signing keys", ScanSigningKey, listSigningKeys)
}

// RotateSigningKey implements [store.KeyRingStore]. The transaction holds
// off other writers of jwt_keys (DB.Serialize) before it checks the current
// key, so of replicas rotating together one wins and the others get
// ErrConflict; the partial unique index jwt_keys_one_current backs the
// one-current-key rule.
func (s Store) RotateSigningKey(ctx context.Context, prevKID string, prevValidUntil time.Time, next *store.SigningKey) error {
	if next == nil || next.KID == "" {
		return s.errorf("rotate signing key: empty kid")
	}
	err := s.db.Tx(ctx, func(c Conn) error {
		if err := s.db.Serialize(ctx, c, "jwt_keys", ""); err != nil {
			return err
		}
		var exists bool
		if err := c.QueryRow(ctx, signingKeyExists, next.KID).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return s.errorf("signing key %q exists: %w", next.KID, store.ErrConflict)
		}
		cur, err := optional[string](ctx, c, currentKey)
		if err != nil {
			return err
		}
		if cur != prevKID {
			return s.errorf("rotate signing key: %q is not the current key (%q is): %w", prevKID, cur, store.ErrConflict)
		}
		if cur != "" {
			if err := c.Exec(ctx, retireKey, c.Time(next.CreatedAt), c.NullTime(prevValidUntil), cur); err != nil {
				return err
			}
		}
		return c.Exec(ctx, insertSigningKey, next.KID, next.Alg, next.Ciphertext, c.Time(next.CreatedAt), c.NullTime(next.ValidUntil))
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrConflict):
		return err
	case s.db.IsConflict(err):
		return s.errorf("rotate signing key to %q: %w", next.KID, store.ErrConflict)
	}
	return s.errorf("rotate signing key to %q: %w", next.KID, err)
}

// AppendAudit implements [store.AuditStore].
func (s Store) AppendAudit(ctx context.Context, e *store.AuditEntry) error {
	if e == nil || e.ID == "" {
		return s.errorf("append audit: empty id")
	}
	details := string(e.Details)
	if details == "" {
		details = "{}"
	} else if !json.Valid(e.Details) {
		return s.errorf("append audit %q: details are not valid JSON", e.ID)
	}
	err := s.db.Write(ctx, func(c Conn) error {
		return c.Exec(ctx, insertAudit,
			e.ID, c.Time(e.At), e.Actor.ID, e.Actor.Type, e.Actor.Role, e.Action, e.Target, e.IP, e.UserAgent, e.CorrelationID, e.Outcome, details)
	})
	if s.db.IsConflict(err) {
		return s.errorf("audit entry %q: %w", e.ID, store.ErrConflict)
	}
	if err != nil {
		return s.errorf("append audit %q: %w", e.ID, err)
	}
	return nil
}

// ListAudit implements [store.AuditStore].
func (s Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	q := NewQuery(s.db.Dialect())
	if f.Actor != "" {
		q.Where(`actor_id = ` + q.Arg(f.Actor))
	}
	if f.Action != "" {
		q.Where(`action = ` + q.Arg(f.Action))
	}
	if !f.Since.IsZero() {
		q.Where(`at >= ` + q.Arg(s.time(f.Since)))
	}
	if f.Cursor != nil {
		q.Where(`(at, id) < (` + q.Arg(s.time(f.Cursor.CreatedAt)) + `, ` + q.Arg(f.Cursor.ID) + `)`)
	}
	stmt := q.Select(`SELECT `+AuditColumns+` FROM audit_log`, `at DESC, id DESC`, store.PageSize(f.Limit))
	return All(ctx, s.db, "list audit", ScanAudit, stmt, q.Args...)
}

// RecordUsage implements [store.UsageStore].
func (s Store) RecordUsage(ctx context.Context, r *store.UsageRecord) error {
	if r == nil {
		return s.errorf("record usage: nil record")
	}
	err := s.db.Write(ctx, func(c Conn) error { return c.Exec(ctx, InsertUsage, UsageArgs(c, r, r.At)...) })
	if err != nil {
		return s.errorf("record usage: %w", err)
	}
	return nil
}

// UsageArgs are the arguments of InsertUsage in c for r made at. The key
// is fixed before the first attempt, so a retry of a write that committed
// stores nothing.
func UsageArgs(c Conn, r *store.UsageRecord, at time.Time) []any {
	id := r.ID
	if id == "" {
		id = store.NewUsageID(at)
	}
	return []any{r.UserID, r.Provider, r.Model, r.TokensIn, r.TokensOut, r.CostUSD, r.DebateID, c.Time(at), id}
}

// AggregateUsage implements [store.UsageStore]: GROUP BY the UTC date and
// the provider (ordered bytewise, like the other backends).
func (s Store) AggregateUsage(ctx context.Context, f store.UsageFilter) ([]store.UsageBucket, error) {
	scan := func(row Row) (b store.UsageBucket, err error) {
		err = row.Scan(&b.Day, &b.Provider, &b.Requests, &b.TokensIn, &b.TokensOut, &b.CostUSD)
		return b, err
	}
	if f.UserID != "" {
		return All(ctx, s.db, "aggregate usage", scan, usageOfUser, s.time(f.From), s.time(f.To), f.UserID)
	}
	return All(ctx, s.db, "aggregate usage", scan, usageOfAll, s.time(f.From), s.time(f.To))
}
