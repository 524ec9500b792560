// Package sqlmigrate is the migration runner shared by sqlitestore and
// pgstore.
//
// Migrations are files NNNN_name.sql at the root of an fs.FS (usually an
// embed.FS narrowed with fs.Sub), applied in version order. Each starts with
// a header of SQL comments:
//
//	-- additive: true
//	-- min_binary: 0.8.0
//
// additive says whether a binary that does not know the migration can still
// run on the schema it produces (expand/contract, docs/cli.md); min_binary is
// the oldest binary version that can run on that schema. Applied migrations
// are recorded in the table schema_migrations (version, name, additive,
// min_binary, applied_at, applied_by).
//
// A database holding migrations the binary does not know is accepted when
// all of them are additive; otherwise [Up] and [Pending] return an error
// wrapping [ErrIncompatible] that names the oldest compatible version.
//
// On Postgres the whole run holds a session advisory lock, so replicas
// starting together apply each migration once; on SQLite each migration
// runs in a BEGIN IMMEDIATE transaction that re-checks the recorded version.
package sqlmigrate

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrIncompatible reports a schema this binary cannot run on: it holds a
// migration the binary does not know that is not additive.
var ErrIncompatible = errors.New("sqlmigrate: schema incompatible with this binary")

// Dialect selects the SQL flavour.
type Dialect int

// Dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// advisoryLockKey is the pg_advisory_lock key of migration runs ("aragora").
const advisoryLockKey = 0x617261676f7261

// Migration is one parsed migration file.
type Migration struct {
	Version   int
	Name      string // the file name without the version and ".sql"
	Additive  bool
	MinBinary string
	SQL       string
}

var fileRE = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Load parses the migrations at the root of fsys, in version order. Every
// file must match NNNN_name.sql and declare both header fields; versions
// must be unique and positive.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("sqlmigrate: read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("sqlmigrate: migration file %q: want NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v <= 0 {
			return nil, fmt.Errorf("sqlmigrate: migration file %q: version must be positive", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("sqlmigrate: read %q: %w", e.Name(), err)
		}
		mig := Migration{Version: v, Name: m[2], SQL: string(body)}
		if err := parseHeader(&mig, string(body)); err != nil {
			return nil, fmt.Errorf("sqlmigrate: %s: %w", path.Base(e.Name()), err)
		}
		out = append(out, mig)
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("sqlmigrate: duplicate migration version %04d", out[i].Version)
		}
	}
	return out, nil
}

func parseHeader(m *Migration, body string) error {
	var haveAdditive, haveMin bool
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "--") {
			break
		}
		k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "--")), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "additive":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("header additive: %q is not a boolean", v)
			}
			m.Additive, haveAdditive = b, true
		case "min_binary":
			if _, err := parseVersion(v); err != nil {
				return fmt.Errorf("header min_binary: %w", err)
			}
			m.MinBinary, haveMin = v, true
		}
	}
	if !haveAdditive || !haveMin {
		return errors.New("header must declare the lines -- additive and -- min_binary")
	}
	return nil
}

// parseVersion parses "1.2.3" (an optional leading "v", missing parts 0).
func parseVersion(s string) ([3]int, error) {
	var out [3]int
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) == 0 || len(parts) > 3 {
		return out, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
		}
		out[i] = n
	}
	return out, nil
}

// compareVersions orders two versions; unparsable ones sort first.
func compareVersions(a, b string) int {
	va, ea := parseVersion(a)
	vb, eb := parseVersion(b)
	switch {
	case ea != nil && eb != nil:
		return 0
	case ea != nil:
		return -1
	case eb != nil:
		return 1
	}
	return slices.Compare(va[:], vb[:])
}

// Applied is one row of schema_migrations.
type Applied struct {
	Version   int
	Name      string
	Additive  bool
	MinBinary string
	AppliedAt time.Time
	AppliedBy string // the binary version that applied it
}

type runner struct {
	conn    *sql.Conn
	dialect Dialect
}

func (r runner) ph(n int) string {
	if r.dialect == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

func (r runner) ensureTable(ctx context.Context) error {
	_, err := r.conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	additive BOOLEAN NOT NULL,
	min_binary TEXT NOT NULL,
	applied_at TEXT NOT NULL,
	applied_by TEXT NOT NULL
)`)
	if err != nil {
		return fmt.Errorf("sqlmigrate: create schema_migrations: %w", err)
	}
	return nil
}

func (r runner) applied(ctx context.Context) ([]Applied, error) {
	rows, err := r.conn.QueryContext(ctx, `SELECT version, name, additive, min_binary, applied_at, applied_by FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("sqlmigrate: read schema_migrations: %w", err)
	}
	defer rows.Close()
	var out []Applied
	for rows.Next() {
		var a Applied
		var at string
		if err := rows.Scan(&a.Version, &a.Name, &a.Additive, &a.MinBinary, &at, &a.AppliedBy); err != nil {
			return nil, fmt.Errorf("sqlmigrate: read schema_migrations: %w", err)
		}
		a.AppliedAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlmigrate: read schema_migrations: %w", err)
	}
	return out, nil
}

// check returns the known migrations not yet applied, or ErrIncompatible.
func check(known []Migration, applied []Applied, binaryVersion string) ([]Migration, error) {
	have := map[int]bool{}
	for _, a := range applied {
		have[a.Version] = true
	}
	knows := map[int]bool{}
	for _, m := range known {
		knows[m.Version] = true
	}
	oldest := ""
	var blocking []string
	for _, a := range applied {
		if compareVersions(a.MinBinary, oldest) > 0 || oldest == "" {
			oldest = a.MinBinary
		}
		if !knows[a.Version] && !a.Additive {
			blocking = append(blocking, fmt.Sprintf("%04d_%s", a.Version, a.Name))
		}
	}
	if len(blocking) > 0 {
		return nil, fmt.Errorf("%w: binary %s does not know the non-additive migrations %s; the oldest binary that can run on this schema is %s",
			ErrIncompatible, binaryVersion, strings.Join(blocking, ", "), oldest)
	}
	var pending []Migration
	for _, m := range known {
		if !have[m.Version] {
			pending = append(pending, m)
		}
	}
	return pending, nil
}

func (r runner) lock(ctx context.Context) (unlock func(), err error) {
	if r.dialect != Postgres {
		return func() {}, nil
	}
	if _, err := r.conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(advisoryLockKey)); err != nil {
		return nil, fmt.Errorf("sqlmigrate: advisory lock: %w", err)
	}
	return func() {
		// Best effort with a fresh context: closing the session releases it anyway.
		_, _ = r.conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(advisoryLockKey))
	}, nil
}

// Pending returns the migrations of fsys that db has not applied, without
// applying them (aragora migrate --dry-run). It creates schema_migrations if
// missing. ErrIncompatible as for Up.
func Pending(ctx context.Context, db *sql.DB, dialect Dialect, fsys fs.FS, binaryVersion string) ([]Migration, error) {
	return run(ctx, db, dialect, fsys, func(r runner, known []Migration) ([]Migration, error) {
		return r.pending(ctx, known, binaryVersion)
	})
}

// Up applies the pending migrations of fsys in order, each in its own
// transaction together with its schema_migrations row, and returns the ones
// it applied. binaryVersion is recorded as applied_by and named in errors.
// A schema with unknown non-additive migrations returns an error wrapping
// ErrIncompatible and applies nothing.
func Up(ctx context.Context, db *sql.DB, dialect Dialect, fsys fs.FS, binaryVersion string) ([]Migration, error) {
	return run(ctx, db, dialect, fsys, func(r runner, known []Migration) ([]Migration, error) {
		unlock, err := r.lock(ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
		pending, err := r.pending(ctx, known, binaryVersion)
		if err != nil {
			return nil, err
		}
		var done []Migration
		for _, m := range pending {
			ok, err := r.apply(ctx, m, binaryVersion)
			if err != nil {
				return done, err
			}
			if ok {
				done = append(done, m)
			}
		}
		return done, nil
	})
}

// run loads the migrations of fsys and calls fn with them and a runner on
// one connection of db, closed when fn returns.
func run(ctx context.Context, db *sql.DB, dialect Dialect, fsys fs.FS, fn func(runner, []Migration) ([]Migration, error)) ([]Migration, error) {
	known, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlmigrate: connect: %w", err)
	}
	defer conn.Close()
	return fn(runner{conn: conn, dialect: dialect}, known)
}

// pending creates schema_migrations if missing and returns the known
// migrations it does not list, or ErrIncompatible.
func (r runner) pending(ctx context.Context, known []Migration, binaryVersion string) ([]Migration, error) {
	if err := r.ensureTable(ctx); err != nil {
		return nil, err
	}
	applied, err := r.applied(ctx)
	if err != nil {
		return nil, err
	}
	return check(known, applied, binaryVersion)
}

// apply runs m in one transaction unless another process applied it first.
func (r runner) apply(ctx context.Context, m Migration, binaryVersion string) (applied bool, err error) {
	begin := "BEGIN"
	if r.dialect == SQLite {
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := r.conn.ExecContext(ctx, begin); err != nil {
		return false, fmt.Errorf("sqlmigrate: %04d_%s: begin: %w", m.Version, m.Name, err)
	}
	defer func() {
		if err != nil {
			_, _ = r.conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	var n int
	if err := r.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = `+r.ph(1), m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlmigrate: %04d_%s: %w", m.Version, m.Name, err)
	}
	if n > 0 {
		if _, err := r.conn.ExecContext(ctx, "COMMIT"); err != nil {
			return false, fmt.Errorf("sqlmigrate: %04d_%s: commit: %w", m.Version, m.Name, err)
		}
		return false, nil
	}
	if _, err := r.conn.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("sqlmigrate: %04d_%s: %w", m.Version, m.Name, err)
	}
	_, err = r.conn.ExecContext(ctx, fmt.Sprintf(`INSERT INTO schema_migrations (version, name, additive, min_binary, applied_at, applied_by) VALUES (%s, %s, %s, %s, %s, %s)`,
		r.ph(1), r.ph(2), r.ph(3), r.ph(4), r.ph(5), r.ph(6)),
		m.Version, m.Name, m.Additive, m.MinBinary, time.Now().UTC().Format(time.RFC3339Nano), binaryVersion)
	if err != nil {
		return false, fmt.Errorf("sqlmigrate: %04d_%s: record: %w", m.Version, m.Name, err)
	}
	if _, err := r.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return false, fmt.Errorf("sqlmigrate: %04d_%s: commit: %w", m.Version, m.Name, err)
	}
	return true, nil
}

// List returns the rows of schema_migrations in version order (empty when
// the table does not exist yet).
func List(ctx context.Context, db *sql.DB, dialect Dialect) ([]Applied, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlmigrate: connect: %w", err)
	}
	defer conn.Close()
	r := runner{conn: conn, dialect: dialect}
	if err := r.ensureTable(ctx); err != nil {
		return nil, err
	}
	return r.applied(ctx)
}
