package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// OutcomesDB is the nomic loop's own record of finished cycles, the
// SQLite file .nomic/outcomes.db in the target repository with one table,
// outcomes (docs/nomic.md#files), readable with
// sqlite3 -header -csv .nomic/outcomes.db 'SELECT * FROM outcomes;'.
type OutcomesDB struct{ db *sql.DB }

// OpenOutcomesDB opens (creating) the outcomes database at path.
func OpenOutcomesDB(ctx context.Context, path string) (*OutcomesDB, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS outcomes (
		cycle_id    TEXT PRIMARY KEY,
		number      INTEGER NOT NULL,
		outcome     TEXT NOT NULL,
		committed   INTEGER NOT NULL,
		reason      TEXT NOT NULL,
		started_at  TEXT NOT NULL,
		finished_at TEXT NOT NULL,
		doc         TEXT NOT NULL
	)`)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlitestore: create outcomes in %s: %w", path, err)
	}
	return &OutcomesDB{db: db}, nil
}

// Record stores o, replacing a row of the same cycle.
func (o *OutcomesDB) Record(ctx context.Context, r store.NomicOutcome) error {
	_, err := o.db.ExecContext(ctx, `INSERT OR REPLACE INTO outcomes (cycle_id, number, outcome, committed, reason, started_at, finished_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.CycleID, r.Number, r.Outcome, r.Committed, r.Reason, sqlrec.FormatTime(r.StartedAt), sqlrec.FormatTime(r.FinishedAt), string(r.Doc))
	if err != nil {
		return fmt.Errorf("sqlitestore: record outcome %s: %w", r.CycleID, err)
	}
	return nil
}

// List returns the outcomes, oldest first.
func (o *OutcomesDB) List(ctx context.Context) ([]store.NomicOutcome, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT `+sqlrec.NomicOutcomeColumns+` FROM outcomes ORDER BY finished_at, cycle_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.NomicOutcome
	for rows.Next() {
		r, err := sqlrec.ScanNomicOutcome(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Close closes the database.
func (o *OutcomesDB) Close() error { return o.db.Close() }
