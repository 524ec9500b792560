package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/internal/ulid"
	"github.com/aragora/aragora/store/internal/sqlrec"
	"github.com/aragora/aragora/webhook"
)

var _ webhook.Store = (*Store)(nil)

// The webhook tables (migration 0020): webhook_messages, webhook_deliveries
// and webhook_endpoints. Replicas share them safely: dispatches serialise
// on a transaction-scoped advisory lock (so the queue bound holds), and
// claims take rows with FOR UPDATE SKIP LOCKED, so two workers never lease
// one delivery. Writes whose retry could apply twice (enqueueing a message)
// are retried only when nothing reached the server.

// pgLimit is a LIMIT value for a limit where <= 0 means none.
func pgLimit(limit int) any {
	if limit <= 0 {
		return nil // LIMIT NULL: no limit
	}
	return limit
}

// DispatchWebhooks implements webhook.Outbox.
func (s *Store) DispatchWebhooks(ctx context.Context, now time.Time, limit, capacity int, route func(webhook.Message) []string) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	now = sqlrec.Micros(now)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('aragora.webhook_dispatch:' || current_schema(), 0))`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, type, debate_id, payload, correlation_id, created_at FROM webhook_messages
			WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`, pgLimit(limit))
		if err != nil {
			return err
		}
		msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Message, error) {
			var m webhook.Message
			err := r.Scan(&m.ID, &m.Type, &m.DebateID, &m.Payload, &m.CorrelationID, &m.CreatedAt)
			m.CreatedAt = m.CreatedAt.UTC()
			return m, err
		})
		if err != nil || len(msgs) == 0 {
			return err
		}
		var pending int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&pending); err != nil {
			return err
		}
		ids := make([]string, 0, len(msgs))
		for _, m := range msgs {
			ids = append(ids, m.ID)
			for _, ep := range route(m) {
				d := webhook.Delivery{ID: ulid.New("dlv_", now.UnixMilli()), MessageID: m.ID, EndpointID: ep,
					State: webhook.StatePending, NextAttemptAt: now, CreatedAt: now}
				if capacity > 0 && pending >= capacity {
					d.State, d.DeadReason, d.Overflowed, d.FinishedAt = webhook.StateDead, webhook.ReasonQueueFull, true, now
				}
				tag, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (id, message_id, endpoint_id, state, next_attempt_at,
					dead_reason, overflowed, created_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $5, $8)
					ON CONFLICT (message_id, endpoint_id) DO NOTHING`,
					d.ID, m.ID, ep, string(d.State), now, d.DeadReason, d.Overflowed, sqlrec.Postgres.NullTime(d.FinishedAt))
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 1 {
					if d.State == webhook.StatePending {
						pending++
					}
					out = append(out, d)
				}
			}
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_messages SET dispatched_at = $1 WHERE id = ANY($2)`, now, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: dispatch webhooks: %w", err)
	}
	return out, nil
}

// ClaimWebhookDeliveries implements webhook.Outbox.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	now = sqlrec.Micros(now)
	until := sqlrec.Micros(now.Add(lease))
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `WITH claimed AS (
				UPDATE webhook_deliveries d SET lease_owner = $1, lease_expires_at = $2
				FROM (SELECT id FROM webhook_deliveries
					WHERE state = 'pending' AND next_attempt_at <= $3 AND (lease_expires_at IS NULL OR lease_expires_at <= $3)
					ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) c
				WHERE d.id = c.id
				RETURNING d.id, d.message_id, d.endpoint_id, d.state, d.attempts, d.next_attempt_at, d.lease_owner, d.lease_expires_at,
					d.last_attempt_at, d.last_status_code, d.last_error, d.dead_reason, d.overflowed, d.created_at, d.finished_at)
			SELECT c.*, m.type, m.debate_id, m.payload, m.correlation_id, m.created_at
			FROM claimed c JOIN webhook_messages m ON m.id = c.message_id
			ORDER BY c.next_attempt_at, c.id`, owner, until, now, pgLimit(limit))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Delivery, error) { return sqlrec.ScanDelivery(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim webhook deliveries: %w", err)
	}
	return out, nil
}
