package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver for continuum.db

	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/store/sqlitestore"
)

// continuumFile is the continuum-memory database created beside the store
// in SQLite mode, so the runbook's backup lines find every file (docs/operations.md).
const continuumFile = "continuum.db"

// migration is one pending or applied migration, for `aragora migrate`.
type migration struct {
	Database  string
	Version   int
	Name      string
	Additive  bool
	MinBinary string
}

// migrator is what both SQL stores offer `aragora migrate` and readiness.
type migrator interface {
	pending(ctx context.Context) ([]migration, error)
	migrate(ctx context.Context) ([]migration, error)
}

// errIncompatible reports a schema this binary cannot run on (docs/cli.md);
// `serve` and `migrate` exit 2 with it.
func errIncompatible(err error) bool {
	return errors.Is(err, sqlitestore.ErrIncompatible) || errors.Is(err, pgstore.ErrIncompatible)
}

// openSQL opens the SQLite or Postgres store named by u (docs/configuration.md).
// Migrations are applied unless c.AutoMigrate is false.
func openSQL(ctx context.Context, u *url.URL, c serveConfig) (*backends, error) {
	switch u.Scheme {
	case "sqlite":
		path := u.Host + u.Path
		if path == "" {
			return nil, configErrorf("config: ARAGORA_DATABASE_URL=%q: want sqlite:///abs/path or sqlite://rel/path", u.String())
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("store: create directory of %s: %w", path, err)
		}
		st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{MaxReaders: c.DBPoolSize, BinaryVersion: Version,
			SkipMigrations: !c.AutoMigrate})
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
		}
		if err := createContinuum(ctx, filepath.Join(filepath.Dir(path), continuumFile)); err != nil {
			_ = st.Close()
			return nil, err
		}
		return &backends{Store: st, Kind: "sqlite", migrator: sqliteMigrator{st}, poolMax: c.DBPoolSize + 1, poolStats: st.PoolStats}, nil
	default: // postgres, postgresql
		overflow := c.DBMaxOverflow
		if overflow == 0 {
			overflow = -1 // pgstore reads 0 as its default
		}
		st, err := pgstore.Open(ctx, u.String(), pgstore.Config{Schema: c.DBSchema, PoolSize: c.DBPoolSize, MaxOverflow: overflow,
			BinaryVersion: Version, SkipMigrations: !c.AutoMigrate})
		if err != nil {
			return nil, fmt.Errorf("store: open postgres %s: %w", redactURL(u), err)
		}
		b := &backends{Store: st, Kind: "postgres", migrator: pgMigrator{st}, poolMax: c.DBPoolSize + c.DBMaxOverflow}
		b.poolStats = func() (inUse, idle int) {
			s := st.Pool().Stat()
			return int(s.AcquiredConns()), int(s.IdleConns())
		}
		return b, nil
	}
}

// redactURL hides the password of a database URL for messages.
func redactURL(u *url.URL) string { return u.Redacted() }

// createContinuum creates the continuum-memory database if missing.
func createContinuum(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS continuum_memory (
	id TEXT PRIMARY KEY,
	tier TEXT NOT NULL,
	content TEXT NOT NULL,
	importance REAL NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
)`)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	return nil
}

type sqliteMigrator struct{ st *sqlitestore.Store }

func fromSQLite(ms []sqlitestore.Migration) []migration {
	out := make([]migration, 0, len(ms))
	for _, m := range ms {
		out = append(out, migration{Database: m.Database, Version: m.Version, Name: m.Name, Additive: m.Additive, MinBinary: m.MinBinary})
	}
	return out
}

func (m sqliteMigrator) pending(ctx context.Context) ([]migration, error) {
	ms, err := m.st.PendingMigrations(ctx)
	return fromSQLite(ms), err
}

func (m sqliteMigrator) migrate(ctx context.Context) ([]migration, error) {
	ms, err := m.st.Migrate(ctx)
	return fromSQLite(ms), err
}

type pgMigrator struct{ st *pgstore.Store }

func fromPG(ms []pgstore.Migration) []migration {
	out := make([]migration, 0, len(ms))
	for _, m := range ms {
		out = append(out, migration{Database: "store", Version: m.Version, Name: m.Name, Additive: m.Additive, MinBinary: m.MinBinary})
	}
	return out
}

func (m pgMigrator) pending(ctx context.Context) ([]migration, error) {
	ms, err := m.st.PendingMigrations(ctx)
	return fromPG(ms), err
}

func (m pgMigrator) migrate(ctx context.Context) ([]migration, error) {
	ms, err := m.st.Migrate(ctx)
	return fromPG(ms), err
}

// formatMigration is one line of `aragora migrate`.
func formatMigration(m migration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %04d %s", m.Database, m.Version, m.Name)
	if m.Additive {
		b.WriteString(" (additive")
	} else {
		b.WriteString(" (contract")
	}
	if m.MinBinary != "" {
		fmt.Fprintf(&b, ", min binary %s", m.MinBinary)
	}
	b.WriteString(")")
	return b.String()
}
