package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// leaseRow reads the fields the lease methods decide on, inside tx.
func leaseRow(ctx context.Context, tx *sql.Tx, id string) (status store.Status, owner sql.NullString, expires sql.NullString, gen int64, err error) {
	err = tx.QueryRowContext(ctx, `SELECT status, lease_owner, lease_expires_at, lease_generation FROM debates WHERE id = ?`, id).
		Scan(&status, &owner, &expires, &gen)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("debate %q: %w", id, store.ErrNotFound)
	}
	return status, owner, expires, gen, err
}

// ClaimDebate implements [store.Leaser].
func (s *Store) ClaimDebate(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (*store.Debate, error) {
	var d *store.Debate
	err := tx(ctx, s.w, func(tx *sql.Tx) error {
		status, lo, le, _, err := leaseRow(ctx, tx, id)
		if err != nil {
			return err
		}
		if store.Terminal(status) {
			return fmt.Errorf("debate %q: status %s: %w", id, status, store.ErrConflict)
		}
		if lo.Valid && lo.String != owner && le.Valid && le.String > sqlrec.FormatTime(now) {
			return fmt.Errorf("debate %q: leased by %q: %w", id, lo.String, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE debates SET lease_owner = ?, lease_expires_at = ?, updated_at = ?,
			lease_generation = lease_generation + 1 WHERE id = ?`,
			owner, sqlrec.FormatTime(now.Add(ttl)), sqlrec.FormatTime(now), id); err != nil {
			return err
		}
		d, err = sqlrec.ScanDebate(tx.QueryRowContext(ctx, `SELECT `+debateColumns+` FROM debates WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	return d, nil
}
