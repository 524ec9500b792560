package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

const debateColumns = sqlrec.DebateColumns

func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateDebate stores d; ErrConflict if the ID exists.
func (s *Store) CreateDebate(ctx context.Context, d *store.Debate) error {
	return s.CreateDebateWithOutbox(ctx, d, nil)
}

// CreateDebateWithOutbox implements [store.OutboxCreator]: d and the
// outbox messages in one transaction.
func (s *Store) CreateDebateWithOutbox(ctx context.Context, d *store.Debate, outbox []store.OutboxMessage) error {
	if d == nil || d.ID == "" {
		return errors.New("pgstore: create debate: empty debate id")
	}
	var owner *string
	if d.LeaseOwner != "" {
		owner = &d.LeaseOwner
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO debates (`+debateColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			d.ID, d.Topic, d.Status, d.Owner, d.CorrelationID, nullBytes(d.Config), nullBytes(d.Result), d.LastSeq,
			d.CreatedAt.UTC(), d.UpdatedAt.UTC(), nullTime(d.StartedAt), nullTime(d.FinishedAt),
			owner, nullTime(d.LeaseExpiresAt), d.LeaseGeneration)
		if err != nil {
			return err
		}
		return writeOutbox(ctx, tx, outbox)
	})
	if isUnique(err) {
		return fmt.Errorf("pgstore: create debate %q: %w", d.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("pgstore: create debate %q: %w", d.ID, err)
	}
	return nil
}

// GetDebate returns the debate or an error wrapping ErrNotFound.
func (s *Store) GetDebate(ctx context.Context, id string) (*store.Debate, error) {
	d, err := queryOne(ctx, s, sqlrec.ScanDebate, `SELECT `+debateColumns+` FROM debates WHERE id = $1`, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: debate %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get debate %q: %w", id, err)
	}
	return d, nil
}

// ListDebates returns debates newest first (CreatedAt desc, ID desc).
func (s *Store) ListDebates(ctx context.Context, f store.Filter) ([]*store.Debate, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.Statuses) > 0 {
		where = append(where, `status = ANY(`+arg(f.Statuses)+`)`)
	}
	if f.Owner != "" {
		where = append(where, `owner = `+arg(f.Owner))
	}
	if f.Cursor != nil {
		c := f.Cursor.CreatedAt.UTC().Truncate(time.Microsecond)
		where = append(where, `(created_at, id) < (`+arg(c)+`, `+arg(f.Cursor.ID)+`)`)
	}
	q := `SELECT ` + debateColumns + ` FROM debates`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ` + arg(limit)
	return s.queryDebates(ctx, "list debates", q, args...)
}

func (s *Store) queryDebates(ctx context.Context, op, q string, args ...any) ([]*store.Debate, error) {
	return queryAll(ctx, s, op, sqlrec.ScanDebate, q, args...)
}
