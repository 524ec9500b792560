package sqlitestore_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
)

func TestOutcomesDBRecordAndList(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitestore.OpenOutcomesDB(ctx, filepath.Join(t.TempDir(), "outcomes.db"))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })

	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	second := store.NomicOutcome{CycleID: "c2", Number: 2, Outcome: "failure", Reason: "tests failed",
		StartedAt: at.Add(time.Hour), FinishedAt: at.Add(2 * time.Hour), Doc: json.RawMessage(`{"n":2}`)}
	first := store.NomicOutcome{CycleID: "c1", Number: 1, Outcome: "success", Committed: true,
		StartedAt: at, FinishedAt: at.Add(time.Minute), Doc: json.RawMessage(`{"n":1}`)}
	require.NoError(t, db.Record(ctx, second))
	require.NoError(t, db.Record(ctx, first))
	first.Reason = "replaced"
	require.NoError(t, db.Record(ctx, first), "a cycle's row is replaced")

	got, err := db.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.NomicOutcome{first, second}, got, "oldest first, times in UTC, doc as stored")
}
