package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/aragora/aragora/store/internal/sqlrec"
	"github.com/aragora/aragora/webhook"
)

var _ webhook.Store = (*Store)(nil)

// The webhook tables (migration 0020): webhook_messages, webhook_deliveries
// and webhook_endpoints. Every write runs in one BEGIN IMMEDIATE
// transaction, which holds the database's write lock, so a dispatch or a
// claim is atomic also across processes sharing the file.

// claimable lists the deliveries due at $1 and not leased, with their
// messages, earliest first.
var claimable = sqlrec.NewStmt(`SELECT ` + sqlrec.DeliveryColumns + ` FROM webhook_deliveries d
	JOIN webhook_messages m ON m.id = d.message_id
	WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= $1)
	ORDER BY d.next_attempt_at, d.id LIMIT $2`)

// ClaimWebhookDeliveries implements webhook.Outbox.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	at, until := sqlrec.FormatTime(now), sqlrec.FormatTime(now.Add(lease))
	err := tx(ctx, s.w, func(t *sql.Tx) error {
		var err error
		out, err = sqlrec.Fetch(ctx, sqliteConn{t}, sqlrec.ScanDelivery, claimable, at, sqlrec.SQLite.Limit(limit))
		if err != nil {
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
