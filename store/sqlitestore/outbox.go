package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/aragora/aragora/internal/ulid"
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
		at := sqlrec.FormatTime(now)
		for _, m := range msgs {
			for _, ep := range route(m) {
				d := webhook.Delivery{ID: ulid.New("dlv_", now.UnixMilli()), MessageID: m.ID, EndpointID: ep,
					State: webhook.StatePending, NextAttemptAt: sqlrec.Micros(now), CreatedAt: sqlrec.Micros(now)}
				if capacity > 0 && pending >= capacity {
					d.State, d.DeadReason, d.Overflowed, d.FinishedAt = webhook.StateDead, webhook.ReasonQueueFull, true, d.CreatedAt
				}
				res, err := t.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, message_id, endpoint_id, state, next_attempt_at,
					dead_reason, overflowed, created_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT (message_id, endpoint_id) DO NOTHING`,
					d.ID, m.ID, ep, string(d.State), at, d.DeadReason, d.Overflowed, at, sqlrec.SQLite.NullTime(d.FinishedAt))
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

// ClaimWebhookDeliveries implements webhook.Outbox.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	at, until := sqlrec.FormatTime(now), sqlrec.FormatTime(now.Add(lease))
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		out = nil
		rows, err := t.QueryContext(ctx, `SELECT `+sqlrec.DeliveryColumns+` FROM webhook_deliveries d
			JOIN webhook_messages m ON m.id = d.message_id
			WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= ?)
			ORDER BY d.next_attempt_at, d.id LIMIT ?`, at, at, sqlLimit(limit))
		if err != nil {
			return err
		}
		for rows.Next() {
			d, err := sqlrec.ScanDelivery(rows)
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
			out[i].LeaseOwner, out[i].LeaseExpiresAt = owner, sqlrec.Micros(now.Add(lease))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim webhook deliveries: %w", err)
	}
	return out, nil
}
