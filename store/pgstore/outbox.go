package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
			ORDER BY c.next_attempt_at, c.id`, owner, until, now, sqlrec.Postgres.Limit(limit))
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
