package sqlrec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/store"
)

// The debate ports both backends implement alike: the writes of a debate
// record with its outbox messages and final rows, and the reads of debates
// and of the checkpoint log.

var (
	insertDebate = NewStmt(`INSERT INTO debates (` + DebateColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`)
	insertOutbox = NewStmt(`INSERT INTO webhook_messages (id, type, debate_id, payload, correlation_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`)
	setResult    = NewStmt(`UPDATE debates SET result = $2 WHERE id = $1`)
)

// Limit returns the LIMIT argument of dialect d for limit, where a limit
// that is not positive means none (Postgres: LIMIT NULL; SQLite: LIMIT -1).
func (d Dialect) Limit(limit int) any {
	switch {
	case limit > 0:
		return limit
	case d == SQLite:
		return -1
	}
	return nil
}

// NullBytes stores an empty b as NULL.
func NullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateDebate stores d; ErrConflict if the ID exists.
func (s Store) CreateDebate(ctx context.Context, d *store.Debate) error {
	return s.CreateDebateWithOutbox(ctx, d, nil)
}

// CreateDebateWithOutbox implements [store.OutboxCreator]: d and the
// outbox messages in one transaction. It is retried as DB.Rewrite: a retry
// that finds its own earlier write reports ErrConflict.
func (s Store) CreateDebateWithOutbox(ctx context.Context, d *store.Debate, outbox []store.OutboxMessage) error {
	if d == nil || d.ID == "" {
		return s.errorf("create debate: empty debate id")
	}
	err := s.db.RewriteTx(ctx, func(c Conn) error {
		err := c.Exec(ctx, insertDebate,
			d.ID, d.Topic, d.Status, d.Owner, d.CorrelationID, NullBytes(d.Config), NullBytes(d.Result), d.LastSeq,
			c.Time(d.CreatedAt), c.Time(d.UpdatedAt), c.NullTime(d.StartedAt), c.NullTime(d.FinishedAt),
			nullString(d.LeaseOwner), c.NullTime(d.LeaseExpiresAt), d.LeaseGeneration)
		if s.db.IsConflict(err) {
			return store.ErrConflict
		}
		if err != nil {
			return err
		}
		return WriteOutbox(ctx, s, c, outbox)
	})
	if err != nil {
		return s.errorf("create debate %q: %w", d.ID, err)
	}
	return nil
}

// WriteOutbox stores msgs as undispatched messages in the transaction c of
// s's backend: debate writes call it in their own transaction, so a message
// exists exactly when the change that caused it does. A duplicate id is
// ErrConflict.
func WriteOutbox(ctx context.Context, s Store, c Conn, msgs []store.OutboxMessage) error {
	for _, m := range msgs {
		if m.ID == "" {
			return s.errorf("outbox message: empty id")
		}
		err := c.Exec(ctx, insertOutbox, m.ID, m.Type, m.DebateID, []byte(m.Payload), m.CorrelationID, c.Time(m.CreatedAt))
		if s.db.IsConflict(err) {
			return s.errorf("outbox message %q: %w", m.ID, store.ErrConflict)
		}
		if err != nil {
			return s.errorf("outbox message %q: %w", m.ID, err)
		}
	}
	return nil
}

// EnqueueWebhooks implements webhook.Outbox.
func (s Store) EnqueueWebhooks(ctx context.Context, msgs ...store.OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	return s.db.Tx(ctx, func(c Conn) error { return WriteOutbox(ctx, s, c, msgs) })
}

// WriteFinal stores f with a debate's terminal write, in the transaction c
// of s's backend; usage rows without a time are made at now.
func WriteFinal(ctx context.Context, s Store, c Conn, id string, f *store.Final, now time.Time) error {
	if f == nil {
		return nil
	}
	if f.Result != nil {
		if err := c.Exec(ctx, setResult, id, NullBytes(f.Result)); err != nil {
			return err
		}
	}
	for _, u := range f.Usage {
		at := u.At
		if at.IsZero() {
			at = now
		}
		if err := c.Exec(ctx, InsertUsage, UsageArgs(c, &u, at)...); err != nil {
			return err
		}
	}
	return WriteOutbox(ctx, s, c, f.Outbox)
}

// GotDebate returns the debate d that reading debate id in s's backend
// returned, or its error: an error wrapping ErrNotFound when there was no
// row.
func GotDebate(s Store, id string, d *store.Debate, err error) (*store.Debate, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.errorf("debate %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, s.errorf("get debate %q: %w", id, err)
	}
	return d, nil
}

// ListDebates returns debates newest first (CreatedAt desc, ID desc).
func (s Store) ListDebates(ctx context.Context, f store.Filter) ([]*store.Debate, error) {
	q := NewQuery(s.db.Dialect())
	if len(f.Statuses) > 0 {
		In(q, `status`, f.Statuses)
	}
	if f.Owner != "" {
		q.Where(`owner = ` + q.Arg(f.Owner))
	}
	if f.Cursor != nil {
		q.Where(`(created_at, id) < (` + q.Arg(s.time(f.Cursor.CreatedAt)) + `, ` + q.Arg(f.Cursor.ID) + `)`)
	}
	stmt := q.Select(`SELECT `+DebateColumns+` FROM debates`, `created_at DESC, id DESC`, store.PageSize(f.Limit))
	return All(ctx, s.db, "list debates", ScanDebate, stmt, q.Args...)
}

// FindOrphans implements [store.Leaser].
func (s Store) FindOrphans(ctx context.Context, now time.Time, limit int) ([]*store.Debate, error) {
	return All(ctx, s.db, "find orphans", ScanDebate, FindOrphans, s.time(now), store.PageSize(limit))
}

// FindStale implements [store.Leaser].
func (s Store) FindStale(ctx context.Context, heartbeatBefore time.Time, limit int) ([]*store.Debate, error) {
	return All(ctx, s.db, "find stale", ScanDebate, FindStale, s.time(heartbeatBefore), store.PageSize(limit))
}

// FindUnended implements [store.Leaser].
func (s Store) FindUnended(ctx context.Context, limit int) ([]*store.Debate, error) {
	return All(ctx, s.db, "find unended", ScanDebate, FindUnended, store.PageSize(limit))
}

// LatestCheckpoint returns the debate's most recently saved checkpoint with
// its event batch, or an error wrapping ErrNotFound.
func (s Store) LatestCheckpoint(ctx context.Context, debateID string) (*store.Checkpoint, error) {
	cp := store.Checkpoint{DebateID: debateID}
	var n int64
	err := s.db.Read(ctx, func(c Conn) (err error) {
		n, err = ScanCheckpoint(c.QueryRow(ctx, LatestCheckpoint, debateID), &cp)
		return err
	})
	if err != nil {
		return nil, s.errorf("checkpoint of %q: %w", debateID, OrNotFound(err))
	}
	cp.Events = []store.Event{}
	if n > 0 {
		if cp.Events, err = s.ListEvents(ctx, debateID, cp.Seq-n, int(n)); err != nil {
			return nil, err
		}
	}
	return &cp, nil
}

// ListEvents returns up to limit events with seq > afterSeq in seq order
// (limit <= 0: all); an unknown debate yields an empty list.
func (s Store) ListEvents(ctx context.Context, debateID string, afterSeq int64, limit int) ([]store.Event, error) {
	return All(ctx, s.db, fmt.Sprintf("list events of %q", debateID), ScanEvent(debateID),
		ListEvents, debateID, afterSeq, s.db.Dialect().Limit(limit))
}
