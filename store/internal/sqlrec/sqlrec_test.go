package sqlrec

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTimeScansEitherDriver(t *testing.T) {
	want := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	for name, src := range map[string]any{
		"postgres":     want.In(time.FixedZone("x", 3600)),
		"sqlite text":  "2026-03-04T05:06:07.123456Z",
		"sqlite bytes": []byte("2026-03-04T05:06:07.123456Z"),
	} {
		t.Run(name, func(t *testing.T) {
			var got time.Time
			require.NoError(t, Time(&got).Scan(src))
			assert.Equal(t, want, got)
			assert.Equal(t, time.UTC, got.Location())
		})
	}
	got := time.Now()
	require.NoError(t, Time(&got).Scan(nil))
	assert.True(t, got.IsZero(), "NULL is the zero time")
	assert.Error(t, Time(&got).Scan("yesterday"))
	assert.Error(t, Time(&got).Scan(42))
}

func TestStringScansNull(t *testing.T) {
	s := "old"
	require.NoError(t, String(&s).Scan(nil))
	assert.Empty(t, s)
	require.NoError(t, String(&s).Scan("owner"))
	assert.Equal(t, "owner", s)
}

// fakeRows is a result set of single-int rows.
type fakeRows struct {
	vals []int
	i    int
	err  error
}

func (r *fakeRows) Next() bool { r.i++; return r.i <= len(r.vals) }
func (r *fakeRows) Err() error { return r.err }
func (r *fakeRows) Scan(dest ...any) error {
	*dest[0].(*int) = r.vals[r.i-1]
	return nil
}

func TestCollect(t *testing.T) {
	out, err := Collect(&fakeRows{vals: []int{3, 1, 2}}, scanValue[int])
	require.NoError(t, err)
	assert.Equal(t, []int{3, 1, 2}, out)

	out, err = Collect(&fakeRows{}, scanValue[int])
	require.NoError(t, err)
	assert.NotNil(t, out, "no row is an empty slice, not nil")
	assert.Empty(t, out)

	boom := errors.New("boom")
	_, err = Collect(&fakeRows{vals: []int{1}, err: boom}, scanValue[int])
	assert.ErrorIs(t, err, boom)
}

func TestNewStmtNumbersPlaceholders(t *testing.T) {
	s := NewStmt(`UPDATE t SET a = $1, b = $2, c = $1 WHERE id = $10 AND price > '$'`)
	assert.Equal(t, `UPDATE t SET a = $1, b = $2, c = $1 WHERE id = $10 AND price > '$'`, s.Postgres)
	assert.Equal(t, `UPDATE t SET a = ?1, b = ?2, c = ?1 WHERE id = ?10 AND price > '$'`, s.SQLite)
}

func TestQueryInBothDialects(t *testing.T) {
	for d, want := range map[Dialect]struct {
		sql  string
		args int
	}{
		Postgres: {`SELECT x FROM t WHERE a = $1 AND s = ANY($2) ORDER BY a LIMIT $3`, 3},
		SQLite:   {`SELECT x FROM t WHERE a = ?1 AND s IN (?2, ?3) ORDER BY a LIMIT ?4`, 4},
	} {
		q := NewQuery(d)
		q.Where(`a = ` + q.Arg("v"))
		In(q, `s`, []string{"p", "q"})
		st := q.Select(`SELECT x FROM t`, `a`, 5)
		got := st.Postgres
		if d == SQLite {
			got = st.SQLite
		}
		assert.Equal(t, want.sql, got)
		assert.Len(t, q.Args, want.args)
		assert.Equal(t, 5, q.Args[len(q.Args)-1])
	}
}

func TestDialectArguments(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("x", 3600))
	assert.Equal(t, time.Date(2026, 3, 4, 4, 6, 7, 123456000, time.UTC), Postgres.Time(at))
	assert.Equal(t, "2026-03-04T04:06:07.123456Z", SQLite.Time(at))
	assert.Nil(t, Postgres.NullTime(time.Time{}))
	assert.Nil(t, SQLite.NullTime(time.Time{}))
	assert.Equal(t, SQLite.Time(at), SQLite.NullTime(at))
	assert.Equal(t, 3, Postgres.Limit(3))
	assert.Nil(t, Postgres.Limit(0), "LIMIT NULL: no limit")
	assert.Equal(t, -1, SQLite.Limit(-2), "LIMIT -1: no limit")
}
