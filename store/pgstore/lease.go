package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// ClaimDebate implements [store.Leaser] with one conditional update.
func (s *Store) ClaimDebate(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (*store.Debate, error) {
	now = now.UTC()
	d, err := queryOne(ctx, s, sqlrec.ScanDebate, `UPDATE debates SET lease_owner = $2, lease_expires_at = $3, updated_at = $4,
		lease_generation = lease_generation + 1
		WHERE id = $1 AND status NOT IN (`+sqlrec.TerminalList+`)
		AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at IS NULL OR lease_expires_at <= $4)
		RETURNING `+debateColumns, id, owner, now.Add(ttl), now)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sqlrec.MissingOrConflict(ctx, s.shared, "claim", id, "terminal or leased by another owner", store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim %q: %w", id, err)
	}
	return d, nil
}
