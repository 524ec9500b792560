package sqlrec

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aragora/aragora/internal/ulid"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/webhook"
)

// The webhook tables (migration 0020): webhook_messages, webhook_deliveries
// and webhook_endpoints. What both backends do alike is here; the claim,
// whose locking differs (pgstore: FOR UPDATE SKIP LOCKED in one statement),
// stays with each backend.

// DeliveryColumns are a delivery's columns (d) and its message's (m), in
// the order [ScanDelivery] reads them.
const DeliveryColumns = `d.id, d.message_id, d.endpoint_id, d.state, d.attempts, d.next_attempt_at, d.lease_owner, d.lease_expires_at,
	d.last_attempt_at, d.last_status_code, d.last_error, d.dead_reason, d.overflowed, d.created_at, d.finished_at,
	m.type, m.debate_id, m.payload, m.correlation_id, m.created_at`

// ScanDelivery reads DeliveryColumns.
func ScanDelivery(row Row) (webhook.Delivery, error) {
	var d webhook.Delivery
	err := row.Scan(&d.ID, &d.MessageID, &d.EndpointID, &d.State, &d.Attempts, Time(&d.NextAttemptAt), String(&d.LeaseOwner),
		Time(&d.LeaseExpiresAt), Time(&d.LastAttemptAt), &d.LastStatusCode, &d.LastError, &d.DeadReason, &d.Overflowed,
		Time(&d.CreatedAt), Time(&d.FinishedAt),
		&d.Message.Type, &d.Message.DebateID, &d.Message.Payload, &d.Message.CorrelationID, Time(&d.Message.CreatedAt))
	d.Message.ID = d.MessageID
	return d, err
}

var (
	// pendingMessages lists undispatched messages oldest first; Postgres
	// skips those another dispatcher has locked.
	pendingMessages = Stmt{
		Postgres: `SELECT id, type, debate_id, payload, correlation_id, created_at FROM webhook_messages
			WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
		SQLite: `SELECT id, type, debate_id, payload, correlation_id, created_at FROM webhook_messages
			WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT ?1`,
	}
	pendingCount   = NewStmt(`SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'`)
	insertDelivery = NewStmt(`INSERT INTO webhook_deliveries (id, message_id, endpoint_id, state, next_attempt_at,
					dead_reason, overflowed, created_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $5, $8)
					ON CONFLICT (message_id, endpoint_id) DO NOTHING`)
	deliveryRow   = NewStmt(`SELECT 1 FROM webhook_deliveries WHERE id = $1`)
	releaseLeases = NewStmt(`UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL
			WHERE lease_owner IS NOT NULL AND ($1 = '' OR lease_owner = $1)`)
	deadDeliveries = forUpdate(`SELECT id, endpoint_id FROM webhook_deliveries WHERE state = 'dead' AND ($1 = '' OR endpoint_id = $1)
			ORDER BY finished_at, id`)
	queueStats = NewStmt(`SELECT
			(SELECT count(*) FROM webhook_messages WHERE dispatched_at IS NULL),
			(SELECT min(created_at) FROM webhook_messages WHERE dispatched_at IS NULL),
			(SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'),
			(SELECT min(created_at) FROM webhook_deliveries WHERE state = 'pending'),
			(SELECT count(*) FROM webhook_deliveries WHERE state = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > $1),
			(SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending' AND (lease_owner IS NULL OR lease_expires_at <= $1)),
			(SELECT count(*) FROM webhook_deliveries WHERE state = 'dead'),
			(SELECT count(*) FROM webhook_deliveries WHERE overflowed)`)
	pruneWebhooks = []Stmt{
		NewStmt(`DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'dead') AND finished_at < $1`),
		NewStmt(`DELETE FROM webhook_messages WHERE dispatched_at IS NOT NULL AND created_at < $1
				AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = webhook_messages.id)`),
	}
	insertEndpoint = NewStmt(`INSERT INTO webhook_endpoints (id, url, secret, events, description, created_at, disabled_at, disabled_reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`)
	listEndpoints = NewStmt(`SELECT id, url, secret, events, description, created_at, disabled_at, disabled_reason
			FROM webhook_endpoints ORDER BY created_at, id`)
	deleteEndpoint  = NewStmt(`DELETE FROM webhook_endpoints WHERE id = $1`)
	disableEndpoint = NewStmt(`UPDATE webhook_endpoints SET disabled_at = coalesce(disabled_at, $2),
		disabled_reason = CASE WHEN disabled_at IS NULL THEN $3 ELSE disabled_reason END WHERE id = $1`)
)

// DispatchWebhooks implements webhook.Outbox: in one transaction, which
// holds off other dispatchers (DB.LockDispatch), it fans each pending
// message out to its routes' endpoints (dead-lettered past capacity
// pending deliveries) and marks it dispatched.
func (s Store) DispatchWebhooks(ctx context.Context, now time.Time, limit, capacity int, route func(webhook.Message) []string) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	now = Micros(now)
	err := s.db.RewriteTx(ctx, func(c Conn) error {
		out = nil
		if err := s.db.LockDispatch(ctx, c); err != nil {
			return err
		}
		msgs, err := Fetch(ctx, c, func(row Row) (m webhook.Message, err error) {
			return m, row.Scan(&m.ID, &m.Type, &m.DebateID, &m.Payload, &m.CorrelationID, Time(&m.CreatedAt))
		}, pendingMessages, s.db.Dialect().Limit(limit))
		if err != nil || len(msgs) == 0 {
			return err
		}
		pending, err := scanValue[int](c.QueryRow(ctx, pendingCount))
		if err != nil {
			return err
		}
		q := NewQuery(s.db.Dialect())
		q.Arg(c.Time(now))
		ids := make([]string, 0, len(msgs))
		for _, m := range msgs {
			ids = append(ids, m.ID)
			for _, ep := range route(m) {
				d := webhook.Delivery{ID: ulid.New("dlv_", now.UnixMilli()), MessageID: m.ID, EndpointID: ep,
					State: webhook.StatePending, NextAttemptAt: now, CreatedAt: now}
				if capacity > 0 && pending >= capacity {
					d.State, d.DeadReason, d.Overflowed, d.FinishedAt = webhook.StateDead, webhook.ReasonQueueFull, true, now
				}
				n, err := c.Changed(ctx, insertDelivery,
					d.ID, m.ID, ep, string(d.State), c.Time(now), d.DeadReason, d.Overflowed, c.NullTime(d.FinishedAt))
				if err != nil {
					return err
				}
				if n == 1 {
					if d.State == webhook.StatePending {
						pending++
					}
					out = append(out, d)
				}
			}
		}
		In(q, `id`, ids)
		return c.Exec(ctx, NewStmt(`UPDATE webhook_messages SET dispatched_at = $1 WHERE `+q.Cond()), q.Args...)
	})
	if err != nil {
		return nil, s.errorf("dispatch webhooks: %w", err)
	}
	return out, nil
}

// RecordWebhookResult implements webhook.Outbox. A retry after a lost
// acknowledgement finds the lease gone and reports ErrConflict.
func (s Store) RecordWebhookResult(ctx context.Context, id, owner string, r webhook.Result) error {
	var (
		set  string
		args = []any{id, owner, s.time(r.At), r.StatusCode, r.Error}
	)
	switch r.Outcome {
	case webhook.OutcomeDeferred:
		set, args = `next_attempt_at = $3`, []any{id, owner, s.time(r.NextAttemptAt)}
	case webhook.OutcomeSuccess:
		set = `state = 'delivered', finished_at = $3`
	case webhook.OutcomeDeadLetter:
		set, args = `state = 'dead', finished_at = $3, dead_reason = $6`, append(args, r.DeadReason)
	case webhook.OutcomeRetry:
		set, args = `next_attempt_at = $6`, append(args, s.time(r.NextAttemptAt))
	default:
		return s.errorf("record webhook result %q: unknown outcome %q", id, r.Outcome)
	}
	if r.Outcome != webhook.OutcomeDeferred {
		set += `, attempts = attempts + 1, last_attempt_at = $3, last_status_code = $4, last_error = $5`
	}
	q := NewStmt(`UPDATE webhook_deliveries SET ` + set + `, lease_owner = NULL, lease_expires_at = NULL
			WHERE id = $1 AND state = 'pending' AND lease_owner = $2`)
	err := s.db.Rewrite(ctx, func(c Conn) error {
		n, err := c.Changed(ctx, q, args...)
		if err != nil || n == 1 {
			return err
		}
		if _, err := scanValue[int](c.QueryRow(ctx, deliveryRow, id)); err != nil {
			return OrNotFound(err)
		}
		return fmt.Errorf("not pending or not leased by %q: %w", owner, store.ErrConflict)
	})
	if err != nil {
		return s.errorf("record webhook result %q: %w", id, err)
	}
	return nil
}

// ReleaseWebhookLeases implements webhook.Outbox.
func (s Store) ReleaseWebhookLeases(ctx context.Context, owner string) (int, error) {
	n, err := s.changed(ctx, s.db.Rewrite, "release webhook leases", releaseLeases, owner)
	return int(n), err
}

// RequeueDeadWebhooks implements webhook.Outbox.
func (s Store) RequeueDeadWebhooks(ctx context.Context, f webhook.RequeueFilter, now time.Time) (requeued, skipped int, err error) {
	err = s.db.RewriteTx(ctx, func(c Conn) error {
		type row struct{ id, ep string }
		all, err := Fetch(ctx, c, func(r Row) (x row, err error) {
			return x, r.Scan(&x.id, &x.ep)
		}, deadDeliveries, f.EndpointID)
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
		q := NewQuery(s.db.Dialect())
		q.Arg(c.Time(now))
		In(q, `id`, ids)
		return c.Exec(ctx, NewStmt(`UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, dead_reason = '',
			finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE `+q.Cond()), q.Args...)
	})
	if err != nil {
		return 0, 0, s.errorf("requeue dead webhooks: %w", err)
	}
	return requeued, skipped, nil
}

// WebhookQueueStats implements webhook.Outbox.
func (s Store) WebhookQueueStats(ctx context.Context, now time.Time) (webhook.QueueStats, error) {
	var qs webhook.QueueStats
	err := s.db.Read(ctx, func(c Conn) error {
		var oldMsg, oldDelivery time.Time
		err := c.QueryRow(ctx, queueStats, c.Time(now)).Scan(&qs.Undispatched, Time(&oldMsg), &qs.Pending, Time(&oldDelivery),
			&qs.InFlight, Time(&qs.NextAttemptAt), &qs.DeadLetter, &qs.Overflowed)
		qs.OldestAt = oldMsg
		if oldMsg.IsZero() || (!oldDelivery.IsZero() && oldDelivery.Before(oldMsg)) {
			qs.OldestAt = oldDelivery
		}
		return err
	})
	if err != nil {
		return webhook.QueueStats{}, s.errorf("webhook queue stats: %w", err)
	}
	return qs, nil
}

// PruneWebhooks implements webhook.Outbox.
func (s Store) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.RewriteTx(ctx, func(c Conn) error {
		n = 0
		for _, q := range pruneWebhooks {
			k, err := c.Changed(ctx, q, c.Time(before))
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, s.errorf("prune webhooks: %w", err)
	}
	return n, nil
}

// CreateWebhookEndpoint implements webhook.EndpointStore.
func (s Store) CreateWebhookEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	if e == nil || e.ID == "" {
		return s.errorf("create webhook endpoint: empty id")
	}
	events, err := json.Marshal(e.Events)
	if err != nil {
		return s.errorf("create webhook endpoint %q: %w", e.ID, err)
	}
	err = s.db.Rewrite(ctx, func(c Conn) error {
		return c.Exec(ctx, insertEndpoint, e.ID, e.URL, e.Secret, string(events), e.Description, c.Time(e.CreatedAt),
			c.NullTime(e.DisabledAt), e.DisabledReason)
	})
	if s.db.IsConflict(err) {
		return s.errorf("webhook endpoint %q: %w", e.ID, store.ErrConflict)
	}
	if err != nil {
		return s.errorf("create webhook endpoint %q: %w", e.ID, err)
	}
	return nil
}

// ListWebhookEndpoints implements webhook.EndpointStore.
func (s Store) ListWebhookEndpoints(ctx context.Context) ([]*webhook.Endpoint, error) {
	return All(ctx, s.db, "list webhook endpoints", func(row Row) (*webhook.Endpoint, error) {
		var (
			e      webhook.Endpoint
			events []byte
		)
		if err := row.Scan(&e.ID, &e.URL, &e.Secret, &events, &e.Description, Time(&e.CreatedAt), Time(&e.DisabledAt), &e.DisabledReason); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(events, &e.Events); err != nil {
			return nil, fmt.Errorf("webhook endpoint %q: bad stored events: %w", e.ID, err)
		}
		return &e, nil
	}, listEndpoints)
}

// DeleteWebhookEndpoint implements webhook.EndpointStore.
func (s Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return s.changeOne(ctx, fmt.Sprintf("webhook endpoint %q", id), deleteEndpoint, id)
}

// DisableWebhookEndpoint implements webhook.EndpointStore.
func (s Store) DisableWebhookEndpoint(ctx context.Context, id, reason string, now time.Time) error {
	return s.changeOne(ctx, fmt.Sprintf("webhook endpoint %q", id), disableEndpoint, id, s.time(now), reason)
}
