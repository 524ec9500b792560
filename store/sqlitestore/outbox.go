package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aragora/aragora/internal/ulid"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
	"github.com/aragora/aragora/webhook"
)

var _ webhook.Store = (*Store)(nil)

// The webhook tables (migration 0020): webhook_messages, webhook_deliveries
// and webhook_endpoints. Every write runs in one BEGIN IMMEDIATE
// transaction, which holds the database's write lock, so a dispatch or a
// claim is atomic also across processes sharing the file.

// sqlLimit is SQLite's LIMIT for a limit where <= 0 means none.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// DispatchWebhooks implements webhook.Outbox.
func (s *Store) DispatchWebhooks(ctx context.Context, now time.Time, limit, capacity int, route func(webhook.Message) []string) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		out = nil
		rows, err := t.QueryContext(ctx, `SELECT id, type, debate_id, payload, correlation_id, created_at FROM webhook_messages
			WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT ?`, sqlLimit(limit))
		if err != nil {
			return err
		}
		var msgs []webhook.Message
		for rows.Next() {
			var m webhook.Message
			var created sql.NullString
			if err := rows.Scan(&m.ID, &m.Type, &m.DebateID, &m.Payload, &m.CorrelationID, &created); err != nil {
				rows.Close()
				return err
			}
			if m.CreatedAt, err = parseTime(created); err != nil {
				rows.Close()
				return err
			}
			msgs = append(msgs, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
		var pending int
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&pending); err != nil {
			return err
		}
		at := fmtTime(now)
		for _, m := range msgs {
			for _, ep := range route(m) {
				d := webhook.Delivery{ID: ulid.New("dlv_", now.UnixMilli()), MessageID: m.ID, EndpointID: ep,
					State: webhook.StatePending, NextAttemptAt: now.UTC().Truncate(time.Microsecond), CreatedAt: now.UTC().Truncate(time.Microsecond)}
				if capacity > 0 && pending >= capacity {
					d.State, d.DeadReason, d.Overflowed, d.FinishedAt = webhook.StateDead, webhook.ReasonQueueFull, true, d.CreatedAt
				}
				res, err := t.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, message_id, endpoint_id, state, next_attempt_at,
					dead_reason, overflowed, created_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT (message_id, endpoint_id) DO NOTHING`,
					d.ID, m.ID, ep, string(d.State), at, d.DeadReason, d.Overflowed, at, nullTime(d.FinishedAt))
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 1 {
					if d.State == webhook.StatePending {
						pending++
					}
					out = append(out, d)
				}
			}
			if _, err := t.ExecContext(ctx, `UPDATE webhook_messages SET dispatched_at = ? WHERE id = ?`, at, m.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: dispatch webhooks: %w", err)
	}
	return out, nil
}

const deliveryColumns = `d.id, d.message_id, d.endpoint_id, d.state, d.attempts, d.next_attempt_at, d.lease_owner, d.lease_expires_at,
	d.last_attempt_at, d.last_status_code, d.last_error, d.dead_reason, d.overflowed, d.created_at, d.finished_at,
	m.type, m.debate_id, m.payload, m.correlation_id, m.created_at`

func scanDelivery(sc sqlrec.Row) (webhook.Delivery, error) {
	var (
		d                                             webhook.Delivery
		owner                                         sql.NullString
		next, leaseExp, last, created, fin, msgCreate sql.NullString
	)
	if err := sc.Scan(&d.ID, &d.MessageID, &d.EndpointID, &d.State, &d.Attempts, &next, &owner, &leaseExp, &last,
		&d.LastStatusCode, &d.LastError, &d.DeadReason, &d.Overflowed, &created, &fin,
		&d.Message.Type, &d.Message.DebateID, &d.Message.Payload, &d.Message.CorrelationID, &msgCreate); err != nil {
		return d, err
	}
	d.LeaseOwner, d.Message.ID = owner.String, d.MessageID
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&d.NextAttemptAt, next}, {&d.LeaseExpiresAt, leaseExp}, {&d.LastAttemptAt, last}, {&d.CreatedAt, created},
		{&d.FinishedAt, fin}, {&d.Message.CreatedAt, msgCreate}} {
		var err error
		if *f.dst, err = parseTime(f.src); err != nil {
			return d, err
		}
	}
	return d, nil
}

// ClaimWebhookDeliveries implements webhook.Outbox.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	at, until := fmtTime(now), fmtTime(now.Add(lease))
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		out = nil
		rows, err := t.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
			JOIN webhook_messages m ON m.id = d.message_id
			WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= ?)
			ORDER BY d.next_attempt_at, d.id LIMIT ?`, at, at, sqlLimit(limit))
		if err != nil {
			return err
		}
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			if _, err := t.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = ?, lease_expires_at = ? WHERE id = ?`,
				owner, until, out[i].ID); err != nil {
				return err
			}
			out[i].LeaseOwner, out[i].LeaseExpiresAt = owner, now.Add(lease).UTC().Truncate(time.Microsecond)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim webhook deliveries: %w", err)
	}
	return out, nil
}

// RecordWebhookResult implements webhook.Outbox.
func (s *Store) RecordWebhookResult(ctx context.Context, id, owner string, r webhook.Result) error {
	at := fmtTime(r.At)
	var (
		q    string
		args []any
	)
	switch r.Outcome {
	case webhook.OutcomeDeferred:
		q, args = `next_attempt_at = ?`, []any{fmtTime(r.NextAttemptAt)}
	case webhook.OutcomeSuccess:
		q, args = `state = 'delivered', finished_at = ?`, []any{at}
	case webhook.OutcomeDeadLetter:
		q, args = `state = 'dead', finished_at = ?, dead_reason = ?`, []any{at, r.DeadReason}
	case webhook.OutcomeRetry:
		q, args = `next_attempt_at = ?`, []any{fmtTime(r.NextAttemptAt)}
	default:
		return fmt.Errorf("sqlitestore: record webhook result %q: unknown outcome %q", id, r.Outcome)
	}
	if r.Outcome != webhook.OutcomeDeferred {
		q += `, attempts = attempts + 1, last_attempt_at = ?, last_status_code = ?, last_error = ?`
		args = append(args, at, r.StatusCode, r.Error)
	}
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `UPDATE webhook_deliveries SET `+q+`, lease_owner = NULL, lease_expires_at = NULL
			WHERE id = ? AND state = 'pending' AND lease_owner = ?`, append(args, id, owner)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var one int
		err = t.QueryRowContext(ctx, `SELECT 1 FROM webhook_deliveries WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		return fmt.Errorf("not pending or not leased by %q: %w", owner, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: record webhook result %q: %w", id, err)
	}
	return nil
}

// ReleaseWebhookLeases implements webhook.Outbox.
func (s *Store) ReleaseWebhookLeases(ctx context.Context, owner string) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL
		WHERE lease_owner IS NOT NULL AND (? = '' OR lease_owner = ?)`, owner, owner)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: release webhook leases: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RequeueDeadWebhooks implements webhook.Outbox.
func (s *Store) RequeueDeadWebhooks(ctx context.Context, f webhook.RequeueFilter, now time.Time) (requeued, skipped int, err error) {
	err = tx(ctx, s.w, func(t *sql.Tx) error {
		requeued, skipped = 0, 0
		rows, err := t.QueryContext(ctx, `SELECT id, endpoint_id FROM webhook_deliveries WHERE state = 'dead' AND (? = '' OR endpoint_id = ?)
			ORDER BY finished_at, id`, f.EndpointID, f.EndpointID)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id, ep string
			if err := rows.Scan(&id, &ep); err != nil {
				rows.Close()
				return err
			}
			switch {
			case !slices.Contains(f.Live, ep):
				skipped++
			case f.Max <= 0 || len(ids) < f.Max:
				ids = append(ids, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := t.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,
				dead_reason = '', finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?`, fmtTime(now), id); err != nil {
				return err
			}
		}
		requeued = len(ids)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("sqlitestore: requeue dead webhooks: %w", err)
	}
	return requeued, skipped, nil
}

// WebhookQueueStats implements webhook.Outbox.
func (s *Store) WebhookQueueStats(ctx context.Context, now time.Time) (webhook.QueueStats, error) {
	var (
		qs                               webhook.QueueStats
		oldMsg, oldDelivery, nextAttempt sql.NullString
	)
	at := fmtTime(now)
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM webhook_messages WHERE dispatched_at IS NULL),
		(SELECT min(created_at) FROM webhook_messages WHERE dispatched_at IS NULL),
		(SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'),
		(SELECT min(created_at) FROM webhook_deliveries WHERE state = 'pending'),
		(SELECT count(*) FROM webhook_deliveries WHERE state = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > ?),
		(SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending' AND (lease_owner IS NULL OR lease_expires_at <= ?)),
		(SELECT count(*) FROM webhook_deliveries WHERE state = 'dead'),
		(SELECT count(*) FROM webhook_deliveries WHERE overflowed = 1)`, at, at).
		Scan(&qs.Undispatched, &oldMsg, &qs.Pending, &oldDelivery, &qs.InFlight, &nextAttempt, &qs.DeadLetter, &qs.Overflowed)
	if err != nil {
		return qs, fmt.Errorf("sqlitestore: webhook queue stats: %w", err)
	}
	a, err1 := parseTime(oldMsg)
	b, err2 := parseTime(oldDelivery)
	qs.NextAttemptAt, err = parseTime(nextAttempt)
	if err := errors.Join(err1, err2, err); err != nil {
		return qs, err
	}
	qs.OldestAt = a
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		qs.OldestAt = b
	}
	return qs, nil
}

// PruneWebhooks implements webhook.Outbox.
func (s *Store) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		n = 0
		at := fmtTime(before)
		for _, q := range []string{
			`DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'dead') AND finished_at < ?`,
			`DELETE FROM webhook_messages WHERE dispatched_at IS NOT NULL AND created_at < ?
				AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = webhook_messages.id)`,
		} {
			res, err := t.ExecContext(ctx, q, at)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: prune webhooks: %w", err)
	}
	return n, nil
}

// CreateWebhookEndpoint implements webhook.EndpointStore.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	if e == nil || e.ID == "" {
		return errors.New("sqlitestore: create webhook endpoint: empty id")
	}
	events, err := json.Marshal(e.Events)
	if err != nil {
		return fmt.Errorf("sqlitestore: create webhook endpoint %q: %w", e.ID, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, url, secret, events, description, created_at, disabled_at, disabled_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.URL, e.Secret, string(events), e.Description, fmtTime(e.CreatedAt),
		nullTime(e.DisabledAt), e.DisabledReason)
	if isConstraint(err) {
		return fmt.Errorf("sqlitestore: webhook endpoint %q: %w", e.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: create webhook endpoint %q: %w", e.ID, err)
	}
	return nil
}

// ListWebhookEndpoints implements webhook.EndpointStore.
func (s *Store) ListWebhookEndpoints(ctx context.Context) ([]*webhook.Endpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, url, secret, events, description, created_at, disabled_at, disabled_reason
		FROM webhook_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []*webhook.Endpoint
	for rows.Next() {
		var (
			e                 webhook.Endpoint
			events            string
			created, disabled sql.NullString
		)
		if err := rows.Scan(&e.ID, &e.URL, &e.Secret, &events, &e.Description, &created, &disabled, &e.DisabledReason); err != nil {
			return nil, fmt.Errorf("sqlitestore: list webhook endpoints: %w", err)
		}
		if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
			return nil, fmt.Errorf("sqlitestore: webhook endpoint %q: bad stored events: %w", e.ID, err)
		}
		if e.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if e.DisabledAt, err = parseTime(disabled); err != nil {
			return nil, err
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list webhook endpoints: %w", err)
	}
	return out, nil
}

// DeleteWebhookEndpoint implements webhook.EndpointStore.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return s.endpointUpdate(ctx, id, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
}

// DisableWebhookEndpoint implements webhook.EndpointStore.
func (s *Store) DisableWebhookEndpoint(ctx context.Context, id, reason string, now time.Time) error {
	return s.endpointUpdate(ctx, id, `UPDATE webhook_endpoints SET disabled_at = coalesce(disabled_at, ?),
		disabled_reason = CASE WHEN disabled_at IS NULL THEN ? ELSE disabled_reason END WHERE id = ?`, fmtTime(now), reason, id)
}

// endpointUpdate runs a one-row write on endpoint id; ErrNotFound when it
// changes nothing.
func (s *Store) endpointUpdate(ctx context.Context, id, q string, args ...any) error {
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlitestore: webhook endpoint %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlitestore: webhook endpoint %q: %w", id, store.ErrNotFound)
	}
	return nil
}
