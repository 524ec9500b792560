package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/store/sqlitestore"
)

// Backend is what every store constructor returns: the port plus Close.
type Backend interface {
	store.DebateStore
	io.Closer
}

// Backends are the opened stores of a process.
type Backends struct {
	Store   Backend
	Kind    string // "sqlite", "postgres" or "memory"
	Warning string // non-empty when a fallback was taken

	// migrator lists and applies migrations; nil for memory.
	migrator migrator
	// poolMax is the connection cap (aragora_db_pool_max_connections).
	poolMax int
	// poolStats reports pool usage; nil when the backend has no pool view.
	poolStats func() (inUse, idle int)
}

// Migration is one pending or applied migration (`aragora migrate`).
type Migration struct {
	Database  string
	Version   int
	Name      string
	Additive  bool
	MinBinary string
}

// migrator is what both SQL stores offer `aragora migrate` and readiness.
type migrator interface {
	pending(ctx context.Context) ([]Migration, error)
	migrate(ctx context.Context) ([]Migration, error)
}

// HasMigrations reports whether the store has migrations (SQL stores).
func (b *Backends) HasMigrations() bool { return b.migrator != nil }

// PendingMigrations lists the migrations not applied yet.
func (b *Backends) PendingMigrations(ctx context.Context) ([]Migration, error) {
	if b.migrator == nil {
		return nil, nil
	}
	return b.migrator.pending(ctx)
}

// Migrate applies the pending migrations (under an advisory lock on
// Postgres) and returns them.
func (b *Backends) Migrate(ctx context.Context) ([]Migration, error) {
	if b.migrator == nil {
		return nil, nil
	}
	return b.migrator.migrate(ctx)
}

// Close closes every backend.
func (b *Backends) Close() error {
	if b == nil || b.Store == nil {
		return nil
	}
	return b.Store.Close()
}

// OpenBackends opens the store named by cfg.DatabaseURL (or SQLite under
// cfg.DataDir), applying pending migrations unless cfg.SkipMigrations. It
// is an explicit switch, not a registry: this package decides which
// drivers link. Configuration mistakes (an unsupported scheme, a schema
// this binary cannot run on) are *ConfigError; an unreachable database is
// not.
func OpenBackends(ctx context.Context, cfg Config) (*Backends, error) {
	cfg = cfg.withDefaults()
	raw := cfg.storeURL()
	u, err := url.Parse(raw)
	if err != nil {
		return nil, configErrorf("config: ARAGORA_DATABASE_URL: %w", err)
	}
	var b *Backends
	switch u.Scheme {
	case "memory":
		return &Backends{Store: memstore.New(), Kind: "memory"}, nil
	case "sqlite":
		b, err = openSQLite(ctx, u, cfg)
	case "postgres", "postgresql":
		b, err = openPostgres(ctx, u, cfg)
	default:
		return nil, configErrorf("config: ARAGORA_DATABASE_URL=%q: unsupported scheme %q (want sqlite or postgres)", raw, u.Scheme)
	}
	if errors.Is(err, sqlitestore.ErrIncompatible) || errors.Is(err, pgstore.ErrIncompatible) {
		return nil, &ConfigError{Err: err}
	}
	return b, err
}

func openSQLite(ctx context.Context, u *url.URL, cfg Config) (*Backends, error) {
	path := u.Host + u.Path
	if path == "" {
		return nil, configErrorf("config: ARAGORA_DATABASE_URL=%q: want sqlite:///abs/path or sqlite://rel/path", u.String())
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: create directory of %s: %w", path, err)
	}
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{MaxReaders: cfg.DBPoolSize, BinaryVersion: cfg.Version,
		SkipMigrations: cfg.SkipMigrations})
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	return &Backends{Store: st, Kind: "sqlite", migrator: sqliteMigrator(st), poolMax: cfg.DBPoolSize + 1, poolStats: st.PoolStats}, nil
}

func openPostgres(ctx context.Context, u *url.URL, cfg Config) (*Backends, error) {
	st, err := pgstore.Open(ctx, u.String(), pgstore.Config{Schema: cfg.DBSchema, PoolSize: cfg.DBPoolSize, MaxOverflow: cfg.DBMaxOverflow,
		BinaryVersion: cfg.Version, SkipMigrations: cfg.SkipMigrations})
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", u.Redacted(), err)
	}
	b := &Backends{Store: st, Kind: "postgres", migrator: pgMigrator(st), poolMax: cfg.DBPoolSize + max(cfg.DBMaxOverflow, 0)}
	b.poolStats = func() (inUse, idle int) {
		s := st.Pool().Stat()
		return int(s.AcquiredConns()), int(s.IdleConns())
	}
	return b, nil
}

// storeMigrator is the migrator of a store whose migration record is M.
type storeMigrator[M any] struct {
	pendingFn, migrateFn func(context.Context) ([]M, error)
	conv                 func(M) Migration
}

func (m storeMigrator[M]) pending(ctx context.Context) ([]Migration, error) {
	ms, err := m.pendingFn(ctx)
	return m.convAll(ms), err
}

func (m storeMigrator[M]) migrate(ctx context.Context) ([]Migration, error) {
	ms, err := m.migrateFn(ctx)
	return m.convAll(ms), err
}

func (m storeMigrator[M]) convAll(ms []M) []Migration {
	out := make([]Migration, 0, len(ms))
	for _, x := range ms {
		out = append(out, m.conv(x))
	}
	return out
}

func sqliteMigrator(st *sqlitestore.Store) migrator {
	return storeMigrator[sqlitestore.Migration]{pendingFn: st.PendingMigrations, migrateFn: st.Migrate,
		conv: func(m sqlitestore.Migration) Migration {
			return Migration{Database: m.Database, Version: m.Version, Name: m.Name, Additive: m.Additive, MinBinary: m.MinBinary}
		}}
}

func pgMigrator(st *pgstore.Store) migrator {
	return storeMigrator[pgstore.Migration]{pendingFn: st.PendingMigrations, migrateFn: st.Migrate,
		conv: func(m pgstore.Migration) Migration {
			return Migration{Database: "store", Version: m.Version, Name: m.Name, Additive: m.Additive, MinBinary: m.MinBinary}
		}}
}
