// Package sqlitestore is the default, single-host store backend: SQLite
// through modernc.org/sqlite (pure Go, no cgo).
//
// [Open] opens (creating when missing) the store database, aragora.db, and
// the ratings database, agent_elo.db, and the continuum memory database,
// continuum.db, beside it (docs/operations.md), in WAL
// mode with a busy timeout and foreign keys on, and applies the embedded
// migrations of each (expand/contract, see store/internal/sqlmigrate).
//
// # Connections
//
// Each database has one writer connection, whose transactions start with
// BEGIN IMMEDIATE, so writers of this process queue in database/sql and
// writers of other processes (an `aragora debate` beside `aragora serve`)
// wait up to Config.BusyTimeout for the file lock instead of failing on a
// lock upgrade; and a pool of read-only connections (Config.MaxReaders)
// that WAL lets read while the writer writes.
//
// # Schema
//
// debates(id, topic, status, owner, correlation_id, config, result,
// last_seq, created_at, updated_at, started_at, finished_at, lease_owner,
// lease_expires_at), debate_events(debate_id, seq, type, data), checkpoints
// (debate_id, round, phase unique), idempotency_keys(principal, key), and
// the authentication tables of store/auth.go (users, api_keys,
// revoked_tokens, issued_tokens, token_versions, token_generation,
// jwt_keys, audit_log, usage_records); in agent_elo.db agent_ratings(agent, domain) and
// rating_matches(debate_id); in continuum.db memory_entries(id) and
// memory_transitions (the [memory.Store] port, docs/memory.md). Times are UTC text with microseconds, so they
// sort as strings.
//
// Besides the debate ports, Store implements every authentication port
// ([store.UserStore], [store.APIKeyStore], [store.RevocationStore],
// [store.IssuedTokenStore], [store.TokenVersionStore], [store.KeyRingStore],
// [store.AuditStore], [store.UsageStore]). Their check-then-write operations (CreateFirstUser,
// CreateAPIKey, RotateSigningKey) run in one BEGIN IMMEDIATE transaction,
// which holds the database's write lock, so they are atomic also across
// processes sharing the file.
//
// # Backups
//
// [Store.Backup] and [Store.BackupRatings] write a consistent copy with
// VACUUM INTO while the server runs. Copying the files with cp is safe only
// with the process stopped (or the -wal file copied too).
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/memsql"
	"github.com/aragora/aragora/store/internal/sqlmigrate"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

//go:embed migrations
var migrations embed.FS

// Interface guard.
var _ store.Backend = (*Store)(nil)

// RatingsFile is the default file name of the ratings database.
const RatingsFile = "agent_elo.db"

// ContinuumFile is the default file name of the continuum memory database.
const ContinuumFile = "continuum.db"

// Config tunes a Store. The zero value is usable.
type Config struct {
	// RatingsPath is the ratings database; default agent_elo.db in the
	// directory of the store database.
	RatingsPath string
	// ContinuumPath is the continuum memory database; default
	// continuum.db in the directory of the store database.
	ContinuumPath string
	// MaxReaders caps the read-only connections (ARAGORA_DB_POOL_SIZE);
	// default 10.
	MaxReaders int
	// BusyTimeout is how long a write waits for another process's lock;
	// default 5s.
	BusyTimeout time.Duration
	// BinaryVersion is recorded with applied migrations and compared on a
	// newer schema; default "0.0.0-dev".
	BinaryVersion string
	// SkipMigrations opens without applying migrations (ARAGORA_AUTO_MIGRATE
	// false); call [Store.Migrate] later.
	SkipMigrations bool
	// Now stamps records whose caller left a time zero; default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults(path string) Config {
	if c.RatingsPath == "" {
		c.RatingsPath = filepath.Join(filepath.Dir(path), RatingsFile)
	}
	if c.ContinuumPath == "" {
		c.ContinuumPath = filepath.Join(filepath.Dir(path), ContinuumFile)
	}
	if c.MaxReaders <= 0 {
		c.MaxReaders = 10
	}
	if c.BusyTimeout <= 0 {
		c.BusyTimeout = 5 * time.Second
	}
	sqlrec.Defaults(&c.BinaryVersion, &c.Now)
	return c
}

// Store is a SQLite-backed store. It is safe for concurrent use, also by
// several processes sharing the files. Create it with [Open]; Close it.
type Store struct {
	shared
	memories
	ratings
	cfg     Config
	path    string
	w, r    *sql.DB // store writer (1 connection) and readers
	rw, rr  *sql.DB // ratings writer and readers
	cw, cr  *sql.DB // continuum memory writer and readers
	allDBs  []*sql.DB
	dialect sqlmigrate.Dialect

	stmtMu    sync.Mutex
	getDebate atomic.Pointer[sql.Stmt] // prepared on first use
	closed    bool
}

// shared, memories and ratings hold the operations written once for
// sqlitestore and pgstore.
type (
	shared   = sqlrec.Store
	memories = memsql.Store
	ratings  = sqlrec.Ratings
)

// db pairs a file's writer and reader pools.
func openPair(path string, cfg Config) (w, r *sql.DB, err error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	wq := url.Values{"_txlock": {"immediate"}}
	for k, v := range q {
		wq[k] = v
	}
	w, err = sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	rq := url.Values{}
	for k, v := range q {
		rq[k] = v
	}
	rq.Add("_pragma", "query_only(1)")
	r, err = sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		_ = w.Close()
		return nil, nil, err
	}
	r.SetMaxOpenConns(cfg.MaxReaders)
	r.SetMaxIdleConns(cfg.MaxReaders)
	return w, r, nil
}

// Open opens or creates the store database at path (a file name; SQLite's
// ":memory:" is not supported, since every pooled connection would see its
// own database) and the ratings database, and applies pending migrations
// unless cfg.SkipMigrations. A schema that this binary cannot run on
// returns an error wrapping [ErrIncompatible].
func Open(ctx context.Context, path string, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults(path)
	s := &Store{cfg: cfg, path: path, dialect: sqlmigrate.SQLite}
	var err error
	if s.w, s.r, err = openPair(path, cfg); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %q: %w", path, err)
	}
	if s.rw, s.rr, err = openPair(cfg.RatingsPath, cfg); err != nil {
		_ = s.w.Close()
		_ = s.r.Close()
		return nil, fmt.Errorf("sqlitestore: open %q: %w", cfg.RatingsPath, err)
	}
	if s.cw, s.cr, err = openPair(cfg.ContinuumPath, cfg); err != nil {
		for _, db := range []*sql.DB{s.w, s.r, s.rw, s.rr} {
			_ = db.Close()
		}
		return nil, fmt.Errorf("sqlitestore: open %q: %w", cfg.ContinuumPath, err)
	}
	s.allDBs = []*sql.DB{s.w, s.r, s.rw, s.rr, s.cw, s.cr}
	s.shared = sqlrec.NewStore(sqliteDB{s.w, s.r}, cfg.Now)
	s.memories = memsql.NewStore(sqliteDB{s.cw, s.cr})
	s.ratings = sqlrec.NewRatings(sqliteDB{s.rw, s.rr}, cfg.Now, nil)
	// The writer connects first, so WAL mode is set before readers arrive.
	for _, db := range []*sql.DB{s.w, s.rw, s.cw} {
		if err := db.PingContext(ctx); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("sqlitestore: open: %w", err)
		}
	}
	if !cfg.SkipMigrations {
		if _, err := s.Migrate(ctx); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return s, nil
}

// ErrIncompatible reports a schema written by a newer binary with
// migrations that are not additive (docs/cli.md); the message names the
// oldest binary that can run on it.
var ErrIncompatible = sqlmigrate.ErrIncompatible

// sub returns one database's embedded migrations. fs.Sub fails only on an
// invalid path, and both names are constants.
func sub(dir string) fs.FS {
	f, _ := fs.Sub(migrations, "migrations/"+dir)
	return f
}

// Migration describes one migration for `aragora migrate`.
type Migration struct {
	Database  string // "store", "ratings" or "continuum"
	Version   int
	Name      string
	Additive  bool
	MinBinary string
}

func describe(db string, ms []sqlmigrate.Migration) []Migration {
	out := make([]Migration, 0, len(ms))
	for _, m := range ms {
		out = append(out, Migration{Database: db, Version: m.Version, Name: m.Name, Additive: m.Additive, MinBinary: m.MinBinary})
	}
	return out
}

// databases lists each database's migrations directory, writer and file,
// in migration order.
func (s *Store) databases() []struct {
	name, dir, path string
	db              *sql.DB
} {
	return []struct {
		name, dir, path string
		db              *sql.DB
	}{
		{"store", "main", s.path, s.w},
		{"ratings", "ratings", s.cfg.RatingsPath, s.rw},
		{"continuum", "continuum", s.cfg.ContinuumPath, s.cw},
	}
}

// Migrate applies the pending migrations of every database (store,
// ratings, continuum) and returns them. ErrIncompatible as for Open.
func (s *Store) Migrate(ctx context.Context) ([]Migration, error) {
	return s.eachDatabase(ctx, "migrate", sqlmigrate.Up)
}

// PendingMigrations lists what Migrate would apply (aragora migrate
// --dry-run). ErrIncompatible as for Open.
func (s *Store) PendingMigrations(ctx context.Context) ([]Migration, error) {
	out, err := s.eachDatabase(ctx, "pending migrations of", sqlmigrate.Pending)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachDatabase runs op (sqlmigrate.Up or sqlmigrate.Pending) on every
// database in migration order and returns the migrations it reports; after
// an error, those of the databases before. Errors are prefixed with
// "sqlitestore: ", what and the database's path.
func (s *Store) eachDatabase(ctx context.Context, what string,
	op func(context.Context, *sql.DB, sqlmigrate.Dialect, fs.FS, string) ([]sqlmigrate.Migration, error),
) ([]Migration, error) {
	var out []Migration
	for _, d := range s.databases() {
		ms, err := op(ctx, d.db, s.dialect, sub(d.dir), s.cfg.BinaryVersion)
		if err != nil {
			return out, fmt.Errorf("sqlitestore: %s %q: %w", what, d.path, err)
		}
		out = append(out, describe(d.name, ms)...)
	}
	return out, nil
}

// Close closes every connection. WAL files are checkpointed by SQLite when
// the last connection closes.
func (s *Store) Close() error {
	var errs []error
	s.stmtMu.Lock()
	if st := s.getDebate.Swap(nil); st != nil {
		errs = append(errs, st.Close())
	}
	s.closed = true
	s.stmtMu.Unlock()
	for _, db := range s.allDBs {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping checks every database answers.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range []*sql.DB{s.r, s.rr, s.cr} {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlitestore: ping: %w", err)
		}
	}
	return nil
}

// PoolStats reports the connections of the main database's writer and
// reader pools that are in use and idle (for the pool metrics).
func (s *Store) PoolStats() (inUse, idle int) {
	for _, db := range []*sql.DB{s.w, s.r} {
		st := db.Stats()
		inUse += st.InUse
		idle += st.Idle
	}
	return inUse, idle
}

// Path returns the file of the main database.
func (s *Store) Path() string { return s.path }

// Backup writes a consistent copy of the store database to dst with
// VACUUM INTO, on a connection of its own, so it is safe while other
// connections (and processes) read and write. dst must not exist.
func (s *Store) Backup(ctx context.Context, dst string) error {
	return s.backup(ctx, s.path, dst)
}

// BackupRatings writes a consistent copy of the ratings database to dst,
// like Backup.
func (s *Store) BackupRatings(ctx context.Context, dst string) error {
	return s.backup(ctx, s.cfg.RatingsPath, dst)
}

// BackupContinuum writes a consistent copy of the continuum memory
// database to dst, like Backup.
func (s *Store) BackupContinuum(ctx context.Context, dst string) error {
	return s.backup(ctx, s.cfg.ContinuumPath, dst)
}

// ContinuumPath returns the file of the continuum memory database.
func (s *Store) ContinuumPath() string { return s.cfg.ContinuumPath }

func (s *Store) backup(ctx context.Context, src, dst string) error {
	q := url.Values{"_pragma": {"busy_timeout(" + strconv.FormatInt(s.cfg.BusyTimeout.Milliseconds(), 10) + ")"}}
	db, err := sql.Open("sqlite", src+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("sqlitestore: backup %q: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("sqlitestore: backup %q to %q: %w", src, dst, err)
	}
	return nil
}

// sqliteConstraint is SQLITE_CONSTRAINT, the primary code of every
// constraint violation (UNIQUE, PRIMARY KEY, …).
const sqliteConstraint = 19

func isConstraint(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqliteConstraint
}

// sqliteConn is a pool or a transaction as the statement sequences shared
// with pgstore (store/internal/sqlrec) use it.
type sqliteConn struct{ q sqliteQuerier }

// sqliteQuerier is what *sql.DB and *sql.Tx share.
type sqliteQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func (c sqliteConn) Exec(ctx context.Context, s sqlrec.Stmt, args ...any) error {
	_, err := c.q.ExecContext(ctx, s.SQLite, args...)
	return err
}

func (c sqliteConn) Changed(ctx context.Context, s sqlrec.Stmt, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, s.SQLite, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqliteConn) QueryRow(ctx context.Context, s sqlrec.Stmt, args ...any) sqlrec.Row {
	return c.q.QueryRowContext(ctx, s.SQLite, args...)
}

func (c sqliteConn) Query(ctx context.Context, s sqlrec.Stmt, args ...any) (sqlrec.Result, error) {
	rows, err := c.q.QueryContext(ctx, s.SQLite, args...)
	if err != nil {
		return nil, err
	}
	return sqliteRows{rows}, nil
}

func (sqliteConn) Time(t time.Time) any { return sqlrec.SQLite.Time(t) }

func (sqliteConn) NullTime(t time.Time) any { return sqlrec.SQLite.NullTime(t) }

// sqliteRows closes without an error, like pgx.Rows (a failure to close
// read rows has nothing to report).
type sqliteRows struct{ *sql.Rows }

func (r sqliteRows) Close() { _ = r.Rows.Close() }

// sqliteDB is one database (its writer w and readers r) as the operations
// shared with pgstore (sqlrec.Store, memsql.Store) use it.
type sqliteDB struct{ w, r *sql.DB }

func (sqliteDB) Name() string              { return "sqlitestore" }
func (sqliteDB) Dialect() sqlrec.Dialect   { return sqlrec.SQLite }
func (sqliteDB) IsConflict(err error) bool { return isConstraint(err) }

func (d sqliteDB) Read(_ context.Context, fn func(sqlrec.Conn) error) error {
	return fn(sqliteConn{d.r})
}

func (d sqliteDB) Write(ctx context.Context, fn func(sqlrec.Conn) error) error { return d.Tx(ctx, fn) }

func (d sqliteDB) Rewrite(ctx context.Context, fn func(sqlrec.Conn) error) error {
	return d.Tx(ctx, fn)
}

func (d sqliteDB) Tx(ctx context.Context, fn func(sqlrec.Conn) error) error {
	return tx(ctx, d.w, func(t *sql.Tx) error { return fn(sqliteConn{t}) })
}

func (d sqliteDB) RewriteTx(ctx context.Context, fn func(sqlrec.Conn) error) error {
	return d.Tx(ctx, fn)
}

// AppendEvents inserts the events through one prepared statement (a
// stored seq is ErrConflict), then the checkpoint row.
func (sqliteDB) AppendEvents(ctx context.Context, c sqlrec.Conn, cp *store.Checkpoint, checkpoint []any) error {
	if len(cp.Events) > 0 {
		ins, err := c.(sqliteConn).q.PrepareContext(ctx, sqlrec.InsertEvent.SQLite)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, e := range cp.Events {
			if _, err := ins.ExecContext(ctx, cp.DebateID, e.Seq, e.Type, []byte(e.JSON)); err != nil {
				if isConstraint(err) {
					return fmt.Errorf("checkpoint %q: event %d (%s): %w", cp.DebateID, e.Seq, e.Type, store.ErrConflict)
				}
				return err
			}
		}
	}
	return c.Exec(ctx, sqlrec.InsertCheckpoint, checkpoint...)
}

// LockDispatch does nothing, as Serialize.
func (sqliteDB) LockDispatch(context.Context, sqlrec.Conn) error { return nil }

// Serialize does nothing: the write transaction (BEGIN IMMEDIATE) holds
// the database's write lock.
func (sqliteDB) Serialize(context.Context, sqlrec.Conn, string, string) error { return nil }

// tx runs fn in a write transaction (BEGIN IMMEDIATE) on db.
func tx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		_ = t.Rollback()
		return err
	}
	return t.Commit()
}
