package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aragora/aragora/store"
)

// writeOutbox writes the outbox messages of a debate's creation or finish
// inside that write's transaction (store.OutboxCreator, store.Final). The
// outbox table belongs to the webhook worker; until its migration exists
// a store refuses messages rather than dropping them.
func writeOutbox(_ context.Context, _ *sql.Tx, msgs []store.OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("outbox messages: %w", errors.ErrUnsupported)
}
