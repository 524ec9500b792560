// Package pgstore is the Postgres store backend, for deployments with more
// than one replica: pgx/v5 with a pgxpool connection pool.
//
// Every table (debates, debate_events, checkpoints, idempotency_keys,
// agent_ratings, rating_matches, schema_migrations, and the authentication
// tables of store/auth.go: users, api_keys, revoked_tokens, token_versions,
// token_generation, jwt_keys, audit_log, usage_records) lives in one schema,
// "public" unless Config.Schema names another (ARAGORA_DB_SCHEMA; tests use
// a fresh schema each). [Open] creates the schema if missing, sets
// search_path on every connection and applies the embedded migrations under
// a session advisory lock (store/internal/sqlmigrate).
//
// # Pool
//
// MaxConns is Config.PoolSize + Config.MaxOverflow (ARAGORA_DB_POOL_SIZE,
// ARAGORA_DB_MAX_OVERFLOW); PoolSize connections are kept, the overflow
// ones close after 60 s idle.
//
// # Lost connections
//
// When Postgres drops connections (a restart, a failover,
// pg_terminate_backend), pooled connections die with them. An operation
// that fails with a connection error resets the pool (closing every pooled
// connection, so no other dead one is reused) and is retried once on a new
// connection, when retrying is safe: every read, SaveCheckpoint (an
// identical checkpoint is a no-op, so a commit whose acknowledgement was lost
// is harmless to repeat), Heartbeat, and the conditional updates whose
// retry cannot apply twice. CreateDebate, RecordMatch and the idempotency
// writes are retried too: a retry that finds its own earlier write reports
// ErrConflict (CreateDebate) or the stored result (RecordMatch). If the
// retry also fails, the caller gets the error, which a later retry of the
// same call may still resolve (the orchestrator retries checkpoint writes
// three times, docs/debate.md#persistence-and-resume). The authentication writes that are not
// idempotent (every one but UpdateUser and TouchAPIKey) are retried only
// when pgx reports that nothing reached the server.
//
// # Authentication ports
//
// Store implements every authentication port ([store.UserStore],
// [store.APIKeyStore], [store.RevocationStore], [store.IssuedTokenStore],
// [store.TokenVersionStore], [store.KeyRingStore], [store.AuditStore],
// [store.UsageStore]), atomic across replicas: CreateFirstUser and RotateSigningKey lock their table
// against other writers for the transaction, CreateAPIKey takes a
// transaction-scoped advisory lock on the user, RevokeToken and the
// version and generation bumps are single upserts.
package pgstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/memsql"
	"github.com/aragora/aragora/store/internal/sqlmigrate"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Interface guard.
var _ store.Backend = (*Store)(nil)

// ErrIncompatible reports a schema written by a newer binary with
// migrations that are not additive (docs/cli.md).
var ErrIncompatible = sqlmigrate.ErrIncompatible

// Config tunes a Store. The zero value is usable.
type Config struct {
	// Schema holds every table; default "public". Created when missing.
	Schema string
	// PoolSize is the number of connections kept; default 10.
	PoolSize int
	// MaxOverflow is the number of extra connections allowed above
	// PoolSize, closed after 60 s idle; default 5.
	MaxOverflow int
	// BinaryVersion is recorded with applied migrations and compared on a
	// newer schema; default "0.0.0-dev".
	BinaryVersion string
	// SkipMigrations opens without applying migrations; call Migrate later.
	SkipMigrations bool
	// Now stamps records whose caller left a time zero; default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Schema == "" {
		c.Schema = "public"
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 10
	}
	if c.MaxOverflow < 0 {
		c.MaxOverflow = 0
	} else if c.MaxOverflow == 0 {
		c.MaxOverflow = 5
	}
	sqlrec.Defaults(&c.BinaryVersion, &c.Now)
	return c
}

// Store is a Postgres-backed store. It is safe for concurrent use by any
// number of goroutines and replicas. Create it with [Open] or [NewFromPool].
type Store struct {
	shared
	memories
	ratings
	cfg     Config
	pool    *pgxpool.Pool
	ownPool bool
}

// shared, memories and ratings hold the operations written once for
// pgstore and sqlitestore.
type (
	shared   = sqlrec.Store
	memories = memsql.Store
	ratings  = sqlrec.Ratings
)

func newStore(cfg Config, pool *pgxpool.Pool, own bool) *Store {
	s := &Store{cfg: cfg, pool: pool, ownPool: own}
	s.shared, s.memories = sqlrec.NewStore(pgDB{s}, cfg.Now), memsql.NewStore(pgDB{s})
	s.ratings = sqlrec.NewRatings(pgDB{s}, cfg.Now, lockRatings)
	return s
}

// idleTxTimeout ends a transaction left idle by a frozen process; every
// transaction of the store is a few statements long.
const idleTxTimeout = 10 * time.Second

// Open connects to dsn, creates cfg.Schema if missing, and applies pending
// migrations unless cfg.SkipMigrations. Note that a MaxOverflow of 0 means
// the default (5); pass a negative value for none.
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parse DSN: %w", err)
	}
	pc.MaxConns = int32(cfg.PoolSize + cfg.MaxOverflow)
	pc.MinConns = int32(cfg.PoolSize)
	pc.MaxConnIdleTime = 60 * time.Second
	pc.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	// A process frozen inside a transaction (paused, partitioned from
	// its clients but not from Postgres) would hold its row locks until
	// its TCP connection dies, hours later, and a peer's claim of its
	// debate would wait on the lock that long: Postgres ends such a
	// transaction after idleTxTimeout (a DSN setting wins).
	if _, ok := pc.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		pc.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(idleTxTimeout.Milliseconds(), 10)
	}
	// Create the schema before any pooled connection uses it.
	conn, err := pgx.ConnectConfig(ctx, pc.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	err = createSchema(ctx, conn, cfg.Schema)
	_ = conn.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: create schema %q: %w", cfg.Schema, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	s := newStore(cfg, pool, true)
	if !cfg.SkipMigrations {
		if _, err := s.Migrate(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return s, nil
}

// createSchema creates schema if missing. Replicas starting together on a
// fresh schema would race in CREATE SCHEMA IF NOT EXISTS (the loser fails
// with a unique violation), so the creation is serialised by a
// transaction-scoped advisory lock on the schema name.
func createSchema(ctx context.Context, conn *pgx.Conn, schema string) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('aragora.create_schema:' || $1, 0))`, schema); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize())
		return err
	})
}

// NewFromPool uses the caller's pool, whose connections must already have
// search_path set to the schema holding the tables (cfg.Schema is only
// used for documentation here), and applies pending migrations unless
// cfg.SkipMigrations. Close does not close the pool.
func NewFromPool(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	s := newStore(cfg.withDefaults(), pool, false)
	if !cfg.SkipMigrations {
		if _, err := s.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Pool returns the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool if Open created it.
func (s *Store) Close() error {
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.retry(ctx, func() error {
		if err := s.pool.Ping(ctx); err != nil {
			return fmt.Errorf("pgstore: ping: %w", err)
		}
		return nil
	})
}

func (s *Store) sqlDB() *sql.DB { return stdlib.OpenDBFromPool(s.pool) }

func sub() fs.FS {
	f, _ := fs.Sub(migrations, "migrations") // a constant, valid path
	return f
}

// Migration describes one migration for `aragora migrate`.
type Migration struct {
	Version   int
	Name      string
	Additive  bool
	MinBinary string
}

func describe(ms []sqlmigrate.Migration) []Migration {
	out := make([]Migration, 0, len(ms))
	for _, m := range ms {
		out = append(out, Migration{Version: m.Version, Name: m.Name, Additive: m.Additive, MinBinary: m.MinBinary})
	}
	return out
}

// Migrate applies pending migrations under the advisory lock and returns
// them. ErrIncompatible on a newer, non-additive schema.
func (s *Store) Migrate(ctx context.Context) ([]Migration, error) {
	return s.migrations(ctx, "migrate", sqlmigrate.Up)
}

// PendingMigrations lists what Migrate would apply (aragora migrate
// --dry-run).
func (s *Store) PendingMigrations(ctx context.Context) ([]Migration, error) {
	return s.migrations(ctx, "pending migrations of", sqlmigrate.Pending)
}

// migrations runs op (sqlmigrate.Up or sqlmigrate.Pending) on the schema
// and returns the migrations it reports. Errors are prefixed with
// "pgstore: ", what and the schema.
func (s *Store) migrations(ctx context.Context, what string,
	op func(context.Context, *sql.DB, sqlmigrate.Dialect, fs.FS, string) ([]sqlmigrate.Migration, error),
) ([]Migration, error) {
	db := s.sqlDB()
	defer db.Close()
	ms, err := op(ctx, db, sqlmigrate.Postgres, sub(), s.cfg.BinaryVersion)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s schema %q: %w", what, s.cfg.Schema, err)
	}
	return describe(ms), nil
}

// isConnError reports an error that means the connection, not the
// statement, failed: the server terminated it (SQLSTATE class 08, 57P01–03),
// the socket broke, or pgx knows nothing was sent.
func isConnError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03":
			return true
		}
		return len(pgErr.Code) == 5 && pgErr.Code[:2] == "08"
	}
	var netErr net.Error
	return pgconn.SafeToRetry(err) || errors.As(err, &netErr) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// retry runs op, and once more after resetting the pool when it failed with
// a connection error.
func (s *Store) retry(ctx context.Context, op func() error) error {
	err := op()
	if !isConnError(err) || ctx.Err() != nil {
		return err
	}
	s.pool.Reset()
	return op()
}

const uniqueViolation = "23505"

func isUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == uniqueViolation
}

// queryOne runs q, retried once on a connection error, and scans its row
// with scan (an error wrapping sql.ErrNoRows when there is none).
func queryOne[T any](ctx context.Context, s *Store, scan func(sqlrec.Row) (T, error), q string, args ...any) (T, error) {
	var v T
	err := s.retry(ctx, func() (err error) {
		v, err = scan(s.pool.QueryRow(ctx, q, args...))
		return err
	})
	return v, err
}

// pgConn is the pool or a transaction as the statement sequences shared
// with sqlitestore (store/internal/sqlrec) use it.
type pgConn struct{ q pgQuerier }

// pgQuerier is what the pool and a transaction share.
type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func (c pgConn) Exec(ctx context.Context, s sqlrec.Stmt, args ...any) error {
	_, err := c.q.Exec(ctx, s.Postgres, args...)
	return err
}

func (c pgConn) Changed(ctx context.Context, s sqlrec.Stmt, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, s.Postgres, args...)
	return tag.RowsAffected(), err
}

func (c pgConn) QueryRow(ctx context.Context, s sqlrec.Stmt, args ...any) sqlrec.Row {
	return c.q.QueryRow(ctx, s.Postgres, args...)
}

func (c pgConn) Query(ctx context.Context, s sqlrec.Stmt, args ...any) (sqlrec.Result, error) {
	return c.q.Query(ctx, s.Postgres, args...)
}

func (pgConn) Time(t time.Time) any { return sqlrec.Postgres.Time(t) }

func (pgConn) NullTime(t time.Time) any { return sqlrec.Postgres.NullTime(t) }

// pgDB is the store's pool as the operations shared with sqlitestore
// (sqlrec.Store) use it.
type pgDB struct{ s *Store }

func (pgDB) Name() string              { return "pgstore" }
func (pgDB) Dialect() sqlrec.Dialect   { return sqlrec.Postgres }
func (pgDB) IsConflict(err error) bool { return isUnique(err) }

func (d pgDB) Read(ctx context.Context, fn func(sqlrec.Conn) error) error {
	return d.s.retry(ctx, func() error { return fn(pgConn{d.s.pool}) })
}

func (d pgDB) Write(ctx context.Context, fn func(sqlrec.Conn) error) error {
	return d.s.retryUnsent(ctx, func() error { return fn(pgConn{d.s.pool}) })
}

func (d pgDB) Rewrite(ctx context.Context, fn func(sqlrec.Conn) error) error { return d.Read(ctx, fn) }

func (d pgDB) Tx(ctx context.Context, fn func(sqlrec.Conn) error) error {
	return d.s.inTxUnsent(ctx, func(tx pgx.Tx) error { return fn(pgConn{tx}) })
}

func (d pgDB) RewriteTx(ctx context.Context, fn func(sqlrec.Conn) error) error {
	return d.s.inTx(ctx, func(tx pgx.Tx) error { return fn(pgConn{tx}) })
}

// AppendEvents sends the events and the checkpoint row in one batch, one
// round trip; a concurrent writer of the same seq makes it fail on the
// primary key.
func (pgDB) AppendEvents(ctx context.Context, c sqlrec.Conn, cp *store.Checkpoint, checkpoint []any) error {
	if len(cp.Events) == 0 {
		return c.Exec(ctx, sqlrec.InsertCheckpoint, checkpoint...)
	}
	b := &pgx.Batch{}
	for _, e := range cp.Events {
		b.Queue(sqlrec.InsertEvent.Postgres, cp.DebateID, e.Seq, e.Type, []byte(e.JSON))
	}
	b.Queue(sqlrec.InsertCheckpoint.Postgres, checkpoint...)
	return c.(pgConn).q.SendBatch(ctx, b).Close()
}

// LockDispatch takes the schema's transaction-scoped dispatch lock.
func (pgDB) LockDispatch(ctx context.Context, c sqlrec.Conn) error {
	return c.Exec(ctx, dispatchLock)
}

var dispatchLock = sqlrec.NewStmt(`SELECT pg_advisory_xact_lock(hashtextextended('aragora.webhook_dispatch:' || current_schema(), 0))`)

// Serialize takes a table lock against concurrent writers (SHARE ROW
// EXCLUSIVE), or for a key a transaction-scoped advisory lock on the
// schema-qualified key.
func (pgDB) Serialize(ctx context.Context, c sqlrec.Conn, table, key string) error {
	if key == "" {
		return c.Exec(ctx, sqlrec.Stmt{Postgres: `LOCK TABLE ` + pgx.Identifier{table}.Sanitize() + ` IN SHARE ROW EXCLUSIVE MODE`})
	}
	return c.Exec(ctx, advisoryLock, "aragora."+table+":", key)
}

var advisoryLock = sqlrec.NewStmt(`SELECT pg_advisory_xact_lock(hashtextextended($1 || current_schema() || ':' || $2, 0))`)

// inTx runs fn in a transaction, retried once on a connection error.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.retry(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
}
