package sqlmigrate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/aragora/aragora/store/internal/sqlmigrate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func file(header, body string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(header + "\n" + body + "\n")}
}

var (
	v1 = file("-- additive: true\n-- min_binary: 0.8.0", "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE b (id INTEGER PRIMARY KEY);")
	v2 = file("-- additive: true\n-- min_binary: 0.8.0", "ALTER TABLE a ADD COLUMN note TEXT;")
	v3 = file("-- additive: false\n-- min_binary: 0.9.0", "DROP TABLE b;")
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func versions(ms []sqlmigrate.Migration) []int {
	out := []int{}
	for _, m := range ms {
		out = append(out, m.Version)
	}
	return out
}

func TestUpAppliesInOrderOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	fsys := fstest.MapFS{"0002_note.sql": v2, "0001_init.sql": v1}
	pending, err := sqlmigrate.Pending(ctx, db, sqlmigrate.SQLite, fsys, "0.8.0")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, versions(pending))

	done, err := sqlmigrate.Up(ctx, db, sqlmigrate.SQLite, fsys, "0.8.0")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, versions(done))
	_, err = db.ExecContext(ctx, `INSERT INTO a (id, note) VALUES (1, 'x')`)
	require.NoError(t, err)

	done, err = sqlmigrate.Up(ctx, db, sqlmigrate.SQLite, fsys, "0.8.0")
	require.NoError(t, err)
	assert.Empty(t, done)
	applied, err := sqlmigrate.List(ctx, db, sqlmigrate.SQLite)
	require.NoError(t, err)
	require.Len(t, applied, 2)
	assert.Equal(t, "note", applied[1].Name)
	assert.True(t, applied[1].Additive)
	assert.Equal(t, "0.8.0", applied[1].MinBinary)
	assert.Equal(t, "0.8.0", applied[1].AppliedBy)
	assert.False(t, applied[1].AppliedAt.IsZero())
}

// TestOlderBinaryOnNewerSchema covers a rollback: the older binary knows
// fewer migrations than the database holds.
func TestOlderBinaryOnNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		newer   fstest.MapFS // what the newer binary applied
		wantErr bool
	}{
		{name: "extra migrations additive: starts", newer: fstest.MapFS{"0001_init.sql": v1, "0002_note.sql": v2}},
		{name: "extra migration not additive: refuses", newer: fstest.MapFS{"0001_init.sql": v1, "0002_note.sql": v2, "0003_drop_b.sql": v3}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t)
			_, err := sqlmigrate.Up(ctx, db, sqlmigrate.SQLite, tt.newer, "0.9.0")
			require.NoError(t, err)
			older := fstest.MapFS{"0001_init.sql": v1}
			_, err = sqlmigrate.Up(ctx, db, sqlmigrate.SQLite, older, "0.8.0")
			_, perr := sqlmigrate.Pending(ctx, db, sqlmigrate.SQLite, older, "0.8.0")
			if !tt.wantErr {
				require.NoError(t, err)
				require.NoError(t, perr)
				return
			}
			require.ErrorIs(t, err, sqlmigrate.ErrIncompatible)
			require.ErrorIs(t, perr, sqlmigrate.ErrIncompatible)
			assert.Contains(t, err.Error(), "0.9.0", "names the oldest compatible binary")
			assert.Contains(t, err.Error(), "0003_drop_b")
		})
	}
}

// TestNewerBinaryOnOlderSchema is the forward direction: pending migrations apply.
func TestNewerBinaryOnOlderSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	_, err := sqlmigrate.Up(ctx, db, sqlmigrate.SQLite, fstest.MapFS{"0001_init.sql": v1}, "0.8.0")
	require.NoError(t, err)
	all := fstest.MapFS{"0001_init.sql": v1, "0002_note.sql": v2, "0003_drop_b.sql": v3}
	pending, err := sqlmigrate.Pending(ctx, db, sqlmigrate.SQLite, all, "0.9.0")
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3}, versions(pending), "dry run lists without applying")
	pending, err = sqlmigrate.Pending(ctx, db, sqlmigrate.SQLite, all, "0.9.0")
	require.NoError(t, err)
	assert.Len(t, pending, 2)
	done, err := sqlmigrate.Up(ctx, db, sqlmigrate.SQLite, all, "0.9.0")
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3}, versions(done))
	_, err = db.ExecContext(ctx, `SELECT * FROM b`)
	require.Error(t, err, "table b dropped")
}

func TestFailedMigrationRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	bad := file("-- additive: true\n-- min_binary: 0.8.0", "CREATE TABLE c (id INTEGER);\nTHIS IS NOT SQL;")
	done, err := sqlmigrate.Up(ctx, db, sqlmigrate.SQLite, fstest.MapFS{"0001_init.sql": v1, "0002_bad.sql": bad}, "0.8.0")
	require.Error(t, err)
	assert.Equal(t, []int{1}, versions(done))
	_, err = db.ExecContext(ctx, `SELECT * FROM c`)
	require.Error(t, err, "the failed migration left nothing behind")
	applied, err := sqlmigrate.List(ctx, db, sqlmigrate.SQLite)
	require.NoError(t, err)
	assert.Len(t, applied, 1)
}

func TestLoadRejectsBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fsys fstest.MapFS
	}{
		{"bad name", fstest.MapFS{"1_init.sql": v1}},
		{"missing header", fstest.MapFS{"0001_init.sql": &fstest.MapFile{Data: []byte("CREATE TABLE a (id INT);")}}},
		{"bad additive", fstest.MapFS{"0001_init.sql": file("-- additive: maybe\n-- min_binary: 0.8.0", "SELECT 1;")}},
		{"bad min_binary", fstest.MapFS{"0001_init.sql": file("-- additive: true\n-- min_binary: latest", "SELECT 1;")}},
		{"version zero", fstest.MapFS{"0000_init.sql": v1}},
		{"duplicate version", fstest.MapFS{"0001_a.sql": v1, "0001_b.sql": v2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := sqlmigrate.Load(tt.fsys)
			require.Error(t, err)
		})
	}
	ms, err := sqlmigrate.Load(fstest.MapFS{"0001_init.sql": v1, "0003_drop_b.sql": v3})
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, sqlmigrate.Migration{Version: 3, Name: "drop_b", Additive: false, MinBinary: "0.9.0", SQL: string(v3.Data)}, ms[1])
}
