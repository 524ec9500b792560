package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ProbeWrite implements [store.WriteProber]: a transaction that is given
// a transaction id and commits, so Postgres writes and flushes a commit
// record to its WAL. A stopped server, a read-only standby or a full WAL
// volume fails it (docs/http-api.md#health-and-metrics).
func (s *Store) ProbeWrite(ctx context.Context) error {
	// Like every other operation, one transparent retry after a dropped
	// connection: a pool whose connections were cut but whose server
	// answers can write, and readiness should say so.
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var xid int64
		return tx.QueryRow(ctx, "SELECT txid_current()").Scan(&xid)
	})
	if err != nil {
		return fmt.Errorf("pgstore: write probe: %w", err)
	}
	return nil
}
