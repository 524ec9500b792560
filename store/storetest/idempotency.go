package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

var idempotencyTests = []test{
	{Name: "BeginCompleteReplay", Fn: testIdemLifecycle},
	{Name: "AbortFreesKey", Fn: testIdemAbort},
	{Name: "ExpiryFreesKey", Fn: testIdemExpiry},
	{Name: "ScopedToPrincipal", Fn: testIdemPrincipal},
}

func idem(s store.DebateStore) store.IdempotencyStore { return s.(store.IdempotencyStore) }

func rec(principal, key, fp string, expires time.Time) *store.IdempotencyRecord {
	return &store.IdempotencyRecord{Principal: principal, Key: key, Fingerprint: fp, CreatedAt: base, ExpiresAt: expires}
}

func testIdemLifecycle(t *testing.T, s store.DebateStore) {
	st := idem(s)
	mustBegin(t, st, rec("usr_1", "k1", "fp1", base.Add(time.Minute)), base)

	old, err := st.BeginIdempotent(ctxT(t), rec("usr_1", "k1", "fp1", base.Add(time.Minute)), base.Add(time.Second))
	require.ErrorIs(t, err, store.ErrConflict)
	require.NotNil(t, old)
	assert.True(t, old.InProgress(), "409 idempotency_in_progress")
	assert.Equal(t, "fp1", old.Fingerprint)

	require.ErrorIs(t, st.CompleteIdempotent(ctxT(t), "usr_1", "k1", "other-fp", 202, []byte("x"), "deb_1", base.Add(24*time.Hour)), store.ErrNotFound)
	body := []byte("{\"id\":\"deb_1\"}\n")
	require.NoError(t, st.CompleteIdempotent(ctxT(t), "usr_1", "k1", "fp1", 202, body, "deb_1", base.Add(24*time.Hour)))
	require.ErrorIs(t, st.CompleteIdempotent(ctxT(t), "usr_1", "k1", "fp1", 202, body, "deb_1", base.Add(24*time.Hour)), store.ErrNotFound, "already complete")

	old, err = st.BeginIdempotent(ctxT(t), rec("usr_1", "k1", "fp2", base.Add(time.Hour)), base.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrConflict)
	require.NotNil(t, old)
	assert.False(t, old.InProgress())
	assert.Equal(t, "fp1", old.Fingerprint, "caller answers 422 on a different fingerprint")
	assert.Equal(t, 202, old.StatusCode)
	assert.Equal(t, body, old.Body)
	assert.Equal(t, "deb_1", old.DebateID)
	assertTime(t, base.Add(24*time.Hour), old.ExpiresAt, "ExpiresAt")
	assertTime(t, base, old.CreatedAt, "CreatedAt")
	require.NoError(t, st.AbortIdempotent(ctxT(t), "usr_1", "k1"), "completed records are kept")
	_, err = st.BeginIdempotent(ctxT(t), rec("usr_1", "k1", "fp1", base.Add(time.Hour)), base.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrConflict)
}

func testIdemAbort(t *testing.T, s store.DebateStore) {
	st := idem(s)
	mustBegin(t, st, rec("usr_1", "k1", "fp1", base.Add(time.Minute)), base)
	require.NoError(t, st.AbortIdempotent(ctxT(t), "usr_1", "k1"))
	require.NoError(t, st.AbortIdempotent(ctxT(t), "usr_1", "never-begun"))
	mustBegin(t, st, rec("usr_1", "k1", "fp2", base.Add(time.Minute)), base)
}

func testIdemExpiry(t *testing.T, s store.DebateStore) {
	st := idem(s)
	mustBegin(t, st, rec("usr_1", "crashed", "fp1", base.Add(time.Minute)), base)
	mustBegin(t, st, rec("usr_1", "done", "fp1", base.Add(time.Minute)), base)
	require.NoError(t, st.CompleteIdempotent(ctxT(t), "usr_1", "done", "fp1", 202, []byte("{}"), "", base.Add(24*time.Hour)))

	// The crashed request's in-progress lease runs out: the key is free.
	later := base.Add(time.Minute)
	mustBegin(t, st, rec("usr_1", "crashed", "fp9", later.Add(time.Minute)), later)

	n, err := st.DeleteExpiredIdempotency(ctxT(t), base.Add(24*time.Hour-time.Second))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "only the re-begun crashed key has expired")
	n, err = st.DeleteExpiredIdempotency(ctxT(t), base.Add(24*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	mustBegin(t, st, rec("usr_1", "done", "fp2", base.Add(25*time.Hour)), base.Add(24*time.Hour))
}

func testIdemPrincipal(t *testing.T, s store.DebateStore) {
	st := idem(s)
	mustBegin(t, st, rec("usr_1", "k", "fp1", base.Add(time.Minute)), base)
	mustBegin(t, st, rec("usr_2", "k", "fp1", base.Add(time.Minute)), base)
}

// mustBegin begins r at now and requires a fresh start: no error and no
// earlier record.
func mustBegin(t *testing.T, st store.IdempotencyStore, r *store.IdempotencyRecord, now time.Time) {
	t.Helper()
	old, err := st.BeginIdempotent(ctxT(t), r, now)
	require.NoError(t, err)
	assert.Nil(t, old)
}
