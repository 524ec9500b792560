package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/internal/ulid"
	"github.com/aragora/aragora/store"
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

func micros(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// DispatchWebhooks implements webhook.Outbox.
func (s *Store) DispatchWebhooks(ctx context.Context, now time.Time, limit, capacity int, route func(webhook.Message) []string) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	now = micros(now)
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
					d.ID, m.ID, ep, string(d.State), now, d.DeadReason, d.Overflowed, nullTime(d.FinishedAt))
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
	now = micros(now)
	until := micros(now.Add(lease))
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
		out, err = pgx.CollectRows(rows, scanDelivery)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim webhook deliveries: %w", err)
	}
	return out, nil
}

func scanDelivery(r pgx.CollectableRow) (webhook.Delivery, error) {
	var (
		d                           webhook.Delivery
		owner                       *string
		leaseExp, last, fin         *time.Time
		next, created, msgCreatedAt time.Time
	)
	if err := r.Scan(&d.ID, &d.MessageID, &d.EndpointID, &d.State, &d.Attempts, &next, &owner, &leaseExp, &last,
		&d.LastStatusCode, &d.LastError, &d.DeadReason, &d.Overflowed, &created, &fin,
		&d.Message.Type, &d.Message.DebateID, &d.Message.Payload, &d.Message.CorrelationID, &msgCreatedAt); err != nil {
		return d, err
	}
	d.Message.ID = d.MessageID
	if owner != nil {
		d.LeaseOwner = *owner
	}
	d.NextAttemptAt, d.CreatedAt, d.Message.CreatedAt = next.UTC(), created.UTC(), msgCreatedAt.UTC()
	d.LeaseExpiresAt, d.LastAttemptAt, d.FinishedAt = fromNull(leaseExp), fromNull(last), fromNull(fin)
	return d, nil
}

// RecordWebhookResult implements webhook.Outbox. A retry after a lost
// acknowledgement finds the lease gone and reports ErrConflict.
func (s *Store) RecordWebhookResult(ctx context.Context, id, owner string, r webhook.Result) error {
	var (
		set  string
		args = []any{id, owner, micros(r.At), r.StatusCode, r.Error}
	)
	switch r.Outcome {
	case webhook.OutcomeDeferred:
		set, args = `next_attempt_at = $3`, []any{id, owner, micros(r.NextAttemptAt)}
	case webhook.OutcomeSuccess:
		set = `state = 'delivered', finished_at = $3`
	case webhook.OutcomeDeadLetter:
		set, args = `state = 'dead', finished_at = $3, dead_reason = $6`, append(args, r.DeadReason)
	case webhook.OutcomeRetry:
		set, args = `next_attempt_at = $6`, append(args, micros(r.NextAttemptAt))
	default:
		return fmt.Errorf("pgstore: record webhook result %q: unknown outcome %q", id, r.Outcome)
	}
	if r.Outcome != webhook.OutcomeDeferred {
		set += `, attempts = attempts + 1, last_attempt_at = $3, last_status_code = $4, last_error = $5`
	}
	err := s.retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET `+set+`, lease_owner = NULL, lease_expires_at = NULL
			WHERE id = $1 AND state = 'pending' AND lease_owner = $2`, args...)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var one int
		err = s.pool.QueryRow(ctx, `SELECT 1 FROM webhook_deliveries WHERE id = $1`, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		return fmt.Errorf("not pending or not leased by %q: %w", owner, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("pgstore: record webhook result %q: %w", id, err)
	}
	return nil
}

// ReleaseWebhookLeases implements webhook.Outbox.
func (s *Store) ReleaseWebhookLeases(ctx context.Context, owner string) (int, error) {
	var n int64
	err := s.retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL
			WHERE lease_owner IS NOT NULL AND ($1 = '' OR lease_owner = $1)`, owner)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: release webhook leases: %w", err)
	}
	return int(n), nil
}

// RequeueDeadWebhooks implements webhook.Outbox.
func (s *Store) RequeueDeadWebhooks(ctx context.Context, f webhook.RequeueFilter, now time.Time) (requeued, skipped int, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, endpoint_id FROM webhook_deliveries WHERE state = 'dead' AND ($1 = '' OR endpoint_id = $1)
			ORDER BY finished_at, id FOR UPDATE`, f.EndpointID)
		if err != nil {
			return err
		}
		type row struct{ id, ep string }
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.ep)
		})
		if err != nil {
			return err
		}
		var ids []string
		skipped = 0
		for _, x := range all {
			switch {
			case !slices.Contains(f.Live, x.ep):
				skipped++
			case f.Max <= 0 || len(ids) < f.Max:
				ids = append(ids, x.id)
			}
		}
		requeued = len(ids)
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, dead_reason = '',
			finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE id = ANY($2)`, micros(now), ids)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("pgstore: requeue dead webhooks: %w", err)
	}
	return requeued, skipped, nil
}

// WebhookQueueStats implements webhook.Outbox.
func (s *Store) WebhookQueueStats(ctx context.Context, now time.Time) (webhook.QueueStats, error) {
	var qs webhook.QueueStats
	err := s.retry(ctx, func() error {
		var oldMsg, oldDelivery, next *time.Time
		err := s.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM webhook_messages WHERE dispatched_at IS NULL),
			(SELECT min(created_at) FROM webhook_messages WHERE dispatched_at IS NULL),
			(SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'),
			(SELECT min(created_at) FROM webhook_deliveries WHERE state = 'pending'),
			(SELECT count(*) FROM webhook_deliveries WHERE state = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > $1),
			(SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending' AND (lease_owner IS NULL OR lease_expires_at <= $1)),
			(SELECT count(*) FROM webhook_deliveries WHERE state = 'dead'),
			(SELECT count(*) FROM webhook_deliveries WHERE overflowed)`, micros(now)).
			Scan(&qs.Undispatched, &oldMsg, &qs.Pending, &oldDelivery, &qs.InFlight, &next, &qs.DeadLetter, &qs.Overflowed)
		a, b := fromNull(oldMsg), fromNull(oldDelivery)
		qs.OldestAt, qs.NextAttemptAt = a, fromNull(next)
		if a.IsZero() || (!b.IsZero() && b.Before(a)) {
			qs.OldestAt = b
		}
		return err
	})
	if err != nil {
		return webhook.QueueStats{}, fmt.Errorf("pgstore: webhook queue stats: %w", err)
	}
	return qs, nil
}

// PruneWebhooks implements webhook.Outbox.
func (s *Store) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		for _, q := range []string{
			`DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'dead') AND finished_at < $1`,
			`DELETE FROM webhook_messages m WHERE dispatched_at IS NOT NULL AND created_at < $1
				AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id)`,
		} {
			tag, err := tx.Exec(ctx, q, micros(before))
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune webhooks: %w", err)
	}
	return n, nil
}

// CreateWebhookEndpoint implements webhook.EndpointStore.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	if e == nil || e.ID == "" {
		return errors.New("pgstore: create webhook endpoint: empty id")
	}
	events, err := json.Marshal(e.Events)
	if err != nil {
		return fmt.Errorf("pgstore: create webhook endpoint %q: %w", e.ID, err)
	}
	err = s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO webhook_endpoints (id, url, secret, events, description, created_at, disabled_at, disabled_reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, e.ID, e.URL, e.Secret, string(events), e.Description, micros(e.CreatedAt),
			nullTime(e.DisabledAt), e.DisabledReason)
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("pgstore: webhook endpoint %q: %w", e.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("pgstore: create webhook endpoint %q: %w", e.ID, err)
	}
	return nil
}

// ListWebhookEndpoints implements webhook.EndpointStore.
func (s *Store) ListWebhookEndpoints(ctx context.Context) ([]*webhook.Endpoint, error) {
	var out []*webhook.Endpoint
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT id, url, secret, events, description, created_at, disabled_at, disabled_reason
			FROM webhook_endpoints ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*webhook.Endpoint, error) {
			var (
				e        webhook.Endpoint
				events   []byte
				disabled *time.Time
			)
			if err := r.Scan(&e.ID, &e.URL, &e.Secret, &events, &e.Description, &e.CreatedAt, &disabled, &e.DisabledReason); err != nil {
				return nil, err
			}
			if err := json.Unmarshal(events, &e.Events); err != nil {
				return nil, fmt.Errorf("webhook endpoint %q: bad stored events: %w", e.ID, err)
			}
			e.CreatedAt, e.DisabledAt = e.CreatedAt.UTC(), fromNull(disabled)
			return &e, nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list webhook endpoints: %w", err)
	}
	return out, nil
}

// DeleteWebhookEndpoint implements webhook.EndpointStore.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return s.execOne(ctx, fmt.Sprintf("webhook endpoint %q", id), `DELETE FROM webhook_endpoints WHERE id = $1`, id)
}

// DisableWebhookEndpoint implements webhook.EndpointStore.
func (s *Store) DisableWebhookEndpoint(ctx context.Context, id, reason string, now time.Time) error {
	return s.execOne(ctx, fmt.Sprintf("webhook endpoint %q", id), `UPDATE webhook_endpoints SET disabled_at = coalesce(disabled_at, $2),
		disabled_reason = CASE WHEN disabled_at IS NULL THEN $3 ELSE disabled_reason END WHERE id = $1`, id, micros(now), reason)
}
