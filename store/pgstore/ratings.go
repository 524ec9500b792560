package pgstore

import (
	"context"

	"github.com/aragora/aragora/store/internal/sqlrec"
)

// ratingsLockKey serialises rating updates (pg_advisory_xact_lock), so
// concurrent matches never read the same "before" ratings.
const ratingsLockKey = 0x61726167656c6f // "aragelo"

var ratingsLock = sqlrec.NewStmt(`SELECT pg_advisory_xact_lock($1)`)

// lockRatings takes the ratings lock in the transaction c; the rating port
// itself is the embedded sqlrec.Ratings.
func lockRatings(ctx context.Context, c sqlrec.Conn) error {
	return c.Exec(ctx, ratingsLock, int64(ratingsLockKey))
}
