package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/conform"
	"github.com/aragora/aragora/store"
)

// AuthStore is store.AuthStore, the ports the auth checks exercise.
type AuthStore = store.AuthStore

// AuthFactory returns a new, empty auth store and registers its cleanup
// with t.Cleanup. It is called once per subtest, possibly in parallel.
type AuthFactory func(t *testing.T) AuthStore

var authChecks = []conform.Case[AuthStore]{
	{Name: "UsersCreateGetUpdate", Fn: testUsers},
	{Name: "UsersFirstUserOnce", Fn: testFirstUser},
	{Name: "APIKeysOneActivePerUser", Fn: testAPIKeys},
	{Name: "APIKeysRevokeAll", Fn: testAPIKeysRevokeAll},
	{Name: "RevocationsDenyList", Fn: testRevocations},
	{Name: "RevocationsConcurrentOnce", Fn: testRevocationsConcurrent},
	{Name: "IssuedTokensRecordAndPrune", Fn: testIssuedTokens},
	{Name: "TokenVersionsAndGeneration", Fn: testTokenVersions},
	{Name: "KeyRingRotate", Fn: testKeyRing},
	{Name: "AuditAppendAndList", Fn: testAudit},
	{Name: "UsageAggregate", Fn: testUsage},
	{Name: "UsageRecordedOncePerID", Fn: testUsageIdempotent},
	{Name: "APIKeysConcurrentCreate", Fn: testAPIKeysConcurrent},
	{Name: "TokenVersionsConcurrentBumps", Fn: testTokenVersionsConcurrent},
	{Name: "KeyRingConcurrentRotate", Fn: testKeyRingConcurrent},
	{Name: "EmptyListings", Fn: testAuthEmpty},
}

// authTests adapts the auth checks to Run's groups, for stores that
// implement [AuthStore] besides store.DebateStore.
var authTests = func() []test {
	out := make([]test, len(authChecks))
	for i, c := range authChecks {
		out[i] = test{Name: c.Name, Fn: func(t *testing.T, s store.DebateStore) { c.Fn(t, s.(AuthStore)) }}
	}
	return out
}()

// RunAuth checks that the stores newStore returns honour the contracts of
// the authentication ports. Each check is a parallel subtest on its own
// store. Run calls the same checks for a store.DebateStore that also
// implements [AuthStore].
func RunAuth(t *testing.T, newStore AuthFactory) {
	t.Helper()
	conform.Run(t, newStore, authChecks)
}

func ptr[T any](v T) *T { return &v }

func testUsers(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	u1 := &store.User{ID: "usr_1", Email: "ada@example.com", Name: "Ada", Role: "owner", PasswordHash: "$argon2id$x", CreatedAt: base, UpdatedAt: base}
	u2 := &store.User{ID: "usr_2", Email: "bob@example.com", Role: "viewer", PasswordHash: "h", CreatedAt: base.Add(time.Second), UpdatedAt: base}
	require.NoError(t, s.CreateUser(ctx, u1))
	require.NoError(t, s.CreateUser(ctx, u2))
	require.ErrorIs(t, s.CreateUser(ctx, &store.User{ID: "usr_1", Email: "x@example.com", Role: "viewer", PasswordHash: "h", CreatedAt: base}), store.ErrConflict)
	require.ErrorIs(t, s.CreateUser(ctx, &store.User{ID: "usr_3", Email: "ada@example.com", Role: "viewer", PasswordHash: "h", CreatedAt: base}), store.ErrConflict)

	got, err := s.GetUser(ctx, "usr_1")
	require.NoError(t, err)
	assert.Equal(t, "ada@example.com", got.Email)
	assert.Equal(t, "Ada", got.Name)
	assert.Equal(t, "owner", got.Role)
	assert.Equal(t, "$argon2id$x", got.PasswordHash)
	assertTime(t, base, got.CreatedAt, "CreatedAt")
	assertTime(t, time.Time{}, got.LastLoginAt, "LastLoginAt")

	got, err = s.GetUserByEmail(ctx, "bob@example.com")
	require.NoError(t, err)
	assert.Equal(t, "usr_2", got.ID)
	_, err = s.GetUserByEmail(ctx, "nobody@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetUser(ctx, "usr_9")
	require.ErrorIs(t, err, store.ErrNotFound)

	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	list, err := s.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "usr_1", list[0].ID)
	assert.Equal(t, "usr_2", list[1].ID)

	later := base.Add(time.Hour)
	upd, err := s.UpdateUser(ctx, "usr_2", store.UserUpdate{
		Role: ptr("admin"), PasswordHash: ptr("new"), PasswordChangeRequired: ptr(true),
		LastLoginAt: &later, UpdatedAt: later,
	})
	require.NoError(t, err)
	assert.Equal(t, "admin", upd.Role)
	assert.Equal(t, "new", upd.PasswordHash)
	assert.True(t, upd.PasswordChangeRequired)
	assert.False(t, upd.Disabled)
	assertTime(t, later, upd.LastLoginAt, "LastLoginAt")
	got, err = s.GetUser(ctx, "usr_2")
	require.NoError(t, err)
	assert.Equal(t, upd, got)
	assert.Equal(t, "bob@example.com", got.Email, "untouched fields are kept")

	_, err = s.UpdateUser(ctx, "usr_9", store.UserUpdate{Role: ptr("admin"), UpdatedAt: later})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testFirstUser(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	oneWins(t, 8, func(i int) error {
		id := "usr_" + string(rune('a'+i))
		return s.CreateFirstUser(ctx, &store.User{ID: id, Email: id + "@example.com", Role: "owner", PasswordHash: "h", CreatedAt: base})
	}, "exactly one first user")
	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func apiKey(id, keyID, user string, created time.Time) *store.APIKey {
	return &store.APIKey{ID: id, KeyID: keyID, Prefix: "ara_" + keyID, UserID: user, Name: "ci",
		Hash: []byte("0123456789abcdef0123456789abcdef"), CreatedAt: created, ExpiresAt: created.Add(365 * 24 * time.Hour)}
}

func testAPIKeys(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	replaced, err := s.CreateAPIKey(ctx, apiKey("key_1", "aaaaaaaa", "usr_1", base))
	require.NoError(t, err)
	assert.Nil(t, replaced)
	_, err = s.CreateAPIKey(ctx, apiKey("key_1", "bbbbbbbb", "usr_1", base))
	require.ErrorIs(t, err, store.ErrConflict, "duplicate id")
	_, err = s.CreateAPIKey(ctx, apiKey("key_x", "aaaaaaaa", "usr_2", base))
	require.ErrorIs(t, err, store.ErrConflict, "duplicate key id")

	replaced, err = s.CreateAPIKey(ctx, apiKey("key_2", "cccccccc", "usr_1", base.Add(time.Minute)))
	require.NoError(t, err)
	require.NotNil(t, replaced)
	assert.Equal(t, "key_1", replaced.ID)
	assertTime(t, base.Add(time.Minute), replaced.RevokedAt, "replaced RevokedAt")

	_, err = s.CreateAPIKey(ctx, apiKey("key_3", "dddddddd", "usr_2", base.Add(2*time.Minute)))
	require.NoError(t, err)

	act, err := s.ActiveAPIKey(ctx, "usr_1")
	require.NoError(t, err)
	assert.Equal(t, "key_2", act.ID)
	assert.True(t, act.Active())
	assert.Equal(t, []byte("0123456789abcdef0123456789abcdef"), act.Hash)
	assert.Equal(t, "ara_cccccccc", act.Prefix)
	assertTime(t, base.Add(time.Minute+365*24*time.Hour), act.ExpiresAt, "ExpiresAt")

	old, err := s.GetAPIKeyByKeyID(ctx, "aaaaaaaa")
	require.NoError(t, err)
	assert.False(t, old.Active(), "revoked keys are still found")
	_, err = s.GetAPIKeyByKeyID(ctx, "zzzzzzzz")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.TouchAPIKey(ctx, "key_2", base.Add(time.Hour)))
	require.ErrorIs(t, s.TouchAPIKey(ctx, "key_9", base), store.ErrNotFound)
	got, err := s.GetAPIKey(ctx, "key_2")
	require.NoError(t, err)
	assertTime(t, base.Add(time.Hour), got.LastUsedAt, "LastUsedAt")

	list, err := s.ListAPIKeys(ctx, "usr_1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "key_2", list[0].ID, "newest first")
	all, err := s.ListAPIKeys(ctx, "")
	require.NoError(t, err)
	assert.Len(t, all, 3)

	rk, err := s.RevokeAPIKey(ctx, "key_2", base.Add(2*time.Hour))
	require.NoError(t, err)
	assertTime(t, base.Add(2*time.Hour), rk.RevokedAt, "RevokedAt")
	_, err = s.RevokeAPIKey(ctx, "key_2", base.Add(3*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound, "already revoked")
	_, err = s.ActiveAPIKey(ctx, "usr_1")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testAPIKeysRevokeAll(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	for i, u := range []string{"usr_1", "usr_2", "usr_3"} {
		_, err := s.CreateAPIKey(ctx, apiKey("key_"+u, "k000000"+string(rune('a'+i)), u, base))
		require.NoError(t, err)
	}
	_, err := s.RevokeAPIKey(ctx, "key_usr_3", base)
	require.NoError(t, err)
	n, err := s.RevokeAllAPIKeys(ctx, base.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	n, err = s.RevokeAllAPIKeys(ctx, base.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(0), n)
}

func testRevocations(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	r1 := &store.Revocation{TokenID: "tok_a", Kind: store.RevocationAccess, UserID: "usr_1", RevokedAt: base, RevokedBy: "usr_9", Reason: "leak", ExpiresAt: base.Add(15 * time.Minute)}
	r2 := &store.Revocation{TokenID: "tok_b", Kind: store.RevocationRefresh, RevokedAt: base.Add(time.Second), ExpiresAt: base.Add(720 * time.Hour)}
	require.NoError(t, s.RevokeToken(ctx, r1))
	require.NoError(t, s.RevokeToken(ctx, r2))
	dup := *r1
	dup.Reason = "other"
	require.ErrorIs(t, s.RevokeToken(ctx, &dup), store.ErrConflict)

	got, err := s.GetRevocation(ctx, "tok_a")
	require.NoError(t, err)
	assert.Equal(t, "leak", got.Reason, "the first entry is kept")
	assert.Equal(t, store.RevocationAccess, got.Kind)
	assert.Equal(t, "usr_1", got.UserID)
	assert.Equal(t, "usr_9", got.RevokedBy)
	assertTime(t, base.Add(15*time.Minute), got.ExpiresAt, "ExpiresAt")
	_, err = s.GetRevocation(ctx, "tok_zz")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.ListRevocations(ctx, base, 0)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "tok_b", list[0].TokenID, "newest first")
	list, err = s.ListRevocations(ctx, base, 1)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	list, err = s.ListRevocations(ctx, base.Add(15*time.Minute), 0)
	require.NoError(t, err)
	require.Len(t, list, 1, "expired entries are not listed")
	assert.Equal(t, "tok_b", list[0].TokenID)

	n, err := s.DeleteExpiredRevocations(ctx, base.Add(15*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	_, err = s.GetRevocation(ctx, "tok_a")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testRevocationsConcurrent(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	oneWins(t, 8, func(int) error {
		return s.RevokeToken(ctx, &store.Revocation{TokenID: "tok_same", Kind: store.RevocationRefresh, Reason: "rotated", RevokedAt: base, ExpiresAt: base.Add(time.Hour)})
	}, "a refresh token rotates once")
}

func testIssuedTokens(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	access := &store.IssuedToken{TokenID: "tok_access", Kind: store.RevocationAccess, UserID: "usr_1", IssuedAt: base, ExpiresAt: base.Add(15 * time.Minute)}
	refresh := &store.IssuedToken{TokenID: "tok_refresh", Kind: store.RevocationRefresh, UserID: "usr_1", IssuedAt: base, ExpiresAt: base.Add(720 * time.Hour)}
	require.NoError(t, s.RecordIssued(ctx, access))
	require.NoError(t, s.RecordIssued(ctx, refresh))
	dup := *access
	dup.Kind = store.RevocationRefresh
	require.ErrorIs(t, s.RecordIssued(ctx, &dup), store.ErrConflict)

	got, err := s.GetIssued(ctx, "tok_access")
	require.NoError(t, err)
	assert.Equal(t, "tok_access", got.TokenID)
	assert.Equal(t, store.RevocationAccess, got.Kind, "the first record is kept")
	assert.Equal(t, "usr_1", got.UserID)
	assertTime(t, base, got.IssuedAt, "IssuedAt")
	assertTime(t, base.Add(15*time.Minute), got.ExpiresAt, "ExpiresAt")
	got, err = s.GetIssued(ctx, "tok_refresh")
	require.NoError(t, err)
	assert.Equal(t, store.RevocationRefresh, got.Kind)
	_, err = s.GetIssued(ctx, "tok_zz")
	require.ErrorIs(t, err, store.ErrNotFound)

	n, err := s.DeleteExpiredIssued(ctx, base.Add(15*time.Minute-time.Microsecond))
	require.NoError(t, err)
	assert.Zero(t, n, "nothing has expired yet")
	n, err = s.DeleteExpiredIssued(ctx, base.Add(15*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "expires_at <= now is deleted")
	_, err = s.GetIssued(ctx, "tok_access")
	require.ErrorIs(t, err, store.ErrNotFound)
	got, err = s.GetIssued(ctx, "tok_refresh")
	require.NoError(t, err, "unexpired records are kept")
	assertTime(t, base.Add(720*time.Hour), got.ExpiresAt, "ExpiresAt")
	_, err = s.GetRevocation(ctx, "tok_refresh")
	require.ErrorIs(t, err, store.ErrNotFound, "recording is not revoking")
}

func testTokenVersions(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	v, err := s.TokenVersion(ctx, "usr_1")
	require.NoError(t, err)
	assert.Equal(t, int64(0), v)
	v, err = s.BumpTokenVersion(ctx, "usr_1", base)
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)
	v, err = s.BumpTokenVersion(ctx, "usr_1", base)
	require.NoError(t, err)
	assert.Equal(t, int64(2), v)
	v, err = s.TokenVersion(ctx, "usr_1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), v)
	all, err := s.TokenVersions(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"usr_1": 2}, all)

	g, err := s.TokenGeneration(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(0), g.Value)
	assert.True(t, g.RevokedAt.IsZero())
	g, err = s.BumpTokenGeneration(ctx, base, "usr_9", "incident")
	require.NoError(t, err)
	assert.Equal(t, int64(1), g.Value)
	g, err = s.TokenGeneration(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), g.Value)
	assertTime(t, base, g.RevokedAt, "RevokedAt")
	assert.Equal(t, "usr_9", g.RevokedBy)
	assert.Equal(t, "incident", g.Reason)
}

func testKeyRing(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	keys, err := s.ListSigningKeys(ctx)
	require.NoError(t, err)
	assert.Empty(t, keys)

	k1 := &store.SigningKey{KID: "k1-aaaaaaaa", Alg: "HS256", Ciphertext: []byte{1, 2, 3}, CreatedAt: base}
	require.NoError(t, s.RotateSigningKey(ctx, "", time.Time{}, k1))
	require.ErrorIs(t, s.RotateSigningKey(ctx, "", time.Time{}, &store.SigningKey{KID: "k1-bbbbbbbb", CreatedAt: base}), store.ErrConflict,
		"a second first key loses")
	k2 := &store.SigningKey{KID: "k2-bbbbbbbb", Alg: "HS256", Ciphertext: []byte{4}, CreatedAt: base.Add(time.Hour)}
	require.ErrorIs(t, s.RotateSigningKey(ctx, "k9-zzzzzzzz", time.Time{}, k2), store.ErrConflict, "stale previous kid")
	require.ErrorIs(t, s.RotateSigningKey(ctx, "k1-aaaaaaaa", time.Time{}, &store.SigningKey{KID: "k1-aaaaaaaa", CreatedAt: base}), store.ErrConflict,
		"duplicate kid")
	until := base.Add(721 * time.Hour)
	require.NoError(t, s.RotateSigningKey(ctx, "k1-aaaaaaaa", until, k2))
	require.ErrorIs(t, s.RotateSigningKey(ctx, "k1-aaaaaaaa", time.Time{}, &store.SigningKey{KID: "k3-cccccccc", CreatedAt: base}), store.ErrConflict,
		"k1 is no longer current")

	keys, err = s.ListSigningKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	assert.Equal(t, "k1-aaaaaaaa", keys[0].KID)
	assert.Equal(t, "HS256", keys[0].Alg)
	assert.Equal(t, []byte{1, 2, 3}, keys[0].Ciphertext)
	assertTime(t, base.Add(time.Hour), keys[0].RetiredAt, "RetiredAt")
	assertTime(t, until, keys[0].ValidUntil, "ValidUntil")
	assert.Equal(t, "k2-bbbbbbbb", keys[1].KID)
	assert.True(t, keys[1].RetiredAt.IsZero())
	assert.True(t, keys[1].ValidUntil.IsZero())
}

func testAudit(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	mk := func(id string, at time.Time, actor, action string) *store.AuditEntry {
		return &store.AuditEntry{ID: id, At: at, Actor: store.AuditActor{ID: actor, Type: "user", Role: "admin"}, Action: action,
			Target: "jwt_key_ring", IP: "10.0.0.7", UserAgent: "curl/8.5.0", CorrelationID: "corr-" + id, Outcome: store.OutcomeSuccess,
			Details: json.RawMessage(`{"kid":"k2"}`)}
	}
	require.NoError(t, s.AppendAudit(ctx, mk("aud_1", base, "usr_1", "auth.login")))
	require.NoError(t, s.AppendAudit(ctx, mk("aud_2", base.Add(time.Second), "usr_2", "admin.rotate_keys")))
	require.NoError(t, s.AppendAudit(ctx, mk("aud_3", base.Add(time.Second), "usr_1", "admin.rotate_keys")))
	e4 := mk("aud_4", base.Add(2*time.Second), "local", "auth.logout")
	e4.Details = nil
	require.NoError(t, s.AppendAudit(ctx, e4))
	require.ErrorIs(t, s.AppendAudit(ctx, mk("aud_1", base, "usr_1", "x")), store.ErrConflict)

	all, err := s.ListAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, all, 4)
	assert.Equal(t, []string{"aud_4", "aud_3", "aud_2", "aud_1"}, auditIDs(all), "At desc, then ID desc")
	got := all[3]
	assert.Equal(t, store.AuditActor{ID: "usr_1", Type: "user", Role: "admin"}, got.Actor)
	assert.Equal(t, "auth.login", got.Action)
	assert.Equal(t, "jwt_key_ring", got.Target)
	assert.Equal(t, "10.0.0.7", got.IP)
	assert.Equal(t, "curl/8.5.0", got.UserAgent)
	assert.Equal(t, "corr-aud_1", got.CorrelationID)
	assert.Equal(t, store.OutcomeSuccess, got.Outcome)
	assert.JSONEq(t, `{"kid":"k2"}`, string(got.Details))
	assertTime(t, base, got.At, "At")
	assert.JSONEq(t, `{}`, string(all[0].Details), "nil details read back as {}")

	byActor, err := s.ListAudit(ctx, store.AuditFilter{Actor: "usr_1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"aud_3", "aud_1"}, auditIDs(byActor))
	byAction, err := s.ListAudit(ctx, store.AuditFilter{Action: "admin.rotate_keys"})
	require.NoError(t, err)
	assert.Equal(t, []string{"aud_3", "aud_2"}, auditIDs(byAction))
	since, err := s.ListAudit(ctx, store.AuditFilter{Since: base.Add(time.Second)})
	require.NoError(t, err)
	assert.Equal(t, []string{"aud_4", "aud_3", "aud_2"}, auditIDs(since))

	page1, err := s.ListAudit(ctx, store.AuditFilter{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"aud_4", "aud_3"}, auditIDs(page1))
	last := page1[len(page1)-1]
	page2, err := s.ListAudit(ctx, store.AuditFilter{Limit: 2, Cursor: &store.Cursor{CreatedAt: last.At, ID: last.ID}})
	require.NoError(t, err)
	assert.Equal(t, []string{"aud_2", "aud_1"}, auditIDs(page2))
}

func auditIDs(es []*store.AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func testUsage(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	day1 := time.Date(2024, 1, 15, 23, 59, 0, 0, time.UTC)
	day2 := time.Date(2024, 1, 16, 0, 1, 0, 0, time.UTC)
	recs := []store.UsageRecord{
		{UserID: "usr_1", Provider: "anthropic", Model: "claude", TokensIn: 100, TokensOut: 10, CostUSD: 0.5, DebateID: "deb_1", At: day1},
		{UserID: "usr_1", Provider: "anthropic", Model: "claude", TokensIn: 200, TokensOut: 20, CostUSD: 0.25, DebateID: "deb_1", At: day1},
		{UserID: "usr_1", Provider: "openai", Model: "gpt-4", TokensIn: 1, TokensOut: 2, CostUSD: 0.125, At: day2},
		{UserID: "usr_2", Provider: "openai", Model: "gpt-4", TokensIn: 1000, TokensOut: 1000, CostUSD: 1, At: day2},
		{UserID: "usr_1", Provider: "openai", Model: "gpt-4", TokensIn: 5, TokensOut: 5, CostUSD: 1, At: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)},
	}
	for i := range recs {
		require.NoError(t, s.RecordUsage(ctx, &recs[i]))
	}
	from, to := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	got, err := s.AggregateUsage(ctx, store.UsageFilter{UserID: "usr_1", From: from, To: to})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, store.UsageBucket{Day: "2024-01-15", Provider: "anthropic", Requests: 2, TokensIn: 300, TokensOut: 30, CostUSD: 0.75}, got[0])
	assert.Equal(t, store.UsageBucket{Day: "2024-01-16", Provider: "openai", Requests: 1, TokensIn: 1, TokensOut: 2, CostUSD: 0.125}, got[1])

	got, err = s.AggregateUsage(ctx, store.UsageFilter{From: from, To: to})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, int64(2), got[1].Requests, "all users")
	assert.Equal(t, int64(1001), got[1].TokensIn)

	got, err = s.AggregateUsage(ctx, store.UsageFilter{UserID: "usr_3", From: from, To: to})
	require.NoError(t, err)
	assert.Empty(t, got)
}

// testUsageIdempotent: a usage record written again with the same ID (a
// retry of a write that committed but was reported failed) is counted
// once, also when the copies race; records without an ID are each
// counted.
func testUsageIdempotent(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := store.UsageRecord{ID: "usg_retry", UserID: "usr_1", Provider: "anthropic", Model: "claude", TokensIn: 100, TokensOut: 10, CostUSD: 0.5, DebateID: "deb_1", At: at}
	first, again := rec, rec
	require.NoError(t, s.RecordUsage(ctx, &first))
	require.NoError(t, s.RecordUsage(ctx, &again), "a duplicate is not an error")
	parallel(4, func(int) {
		r := rec
		r.ID = "usg_race"
		assert.NoError(t, s.RecordUsage(ctx, &r))
	})
	for range 2 {
		r := rec
		r.ID = ""
		require.NoError(t, s.RecordUsage(ctx, &r))
	}
	got, err := s.AggregateUsage(ctx, store.UsageFilter{UserID: "usr_1", From: at.Add(-time.Hour), To: at.Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, store.UsageBucket{Day: "2024-03-01", Provider: "anthropic", Requests: 4, TokensIn: 400, TokensOut: 40, CostUSD: 2}, got[0],
		"usg_retry once, usg_race once, and the two records without an ID")
}

// parallel runs fn(i) for i in [0, n) in goroutines released together and
// waits for them.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// oneWins runs fn(0), …, fn(n-1) concurrently and asserts that exactly one
// call succeeds and that every other one fails with ErrConflict.
func oneWins(t *testing.T, n int, fn func(i int) error, msg string) {
	t.Helper()
	errs := make([]error, n)
	parallel(n, func(i int) { errs[i] = fn(i) })
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, store.ErrConflict)
		}
	}
	assert.Equal(t, 1, ok, msg)
}

func testAPIKeysConcurrent(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	const n = 8
	replaced := make([]*store.APIKey, n)
	errs := make([]error, n)
	parallel(n, func(i int) {
		replaced[i], errs[i] = s.CreateAPIKey(ctx, apiKey(fmt.Sprintf("key_%d", i), fmt.Sprintf("kkkkkkk%d", i), "usr_1", base.Add(time.Duration(i)*time.Second)))
	})
	fresh := 0
	seen := map[string]bool{}
	for i := range n {
		require.NoError(t, errs[i], "concurrent creations for one user all succeed")
		if replaced[i] == nil {
			fresh++
			continue
		}
		assert.False(t, seen[replaced[i].ID], "key %s replaced twice", replaced[i].ID)
		seen[replaced[i].ID] = true
	}
	assert.Equal(t, 1, fresh, "exactly one creation found no active key")
	assert.Len(t, seen, n-1, "every key but the last is replaced once")
	list, err := s.ListAPIKeys(ctx, "usr_1")
	require.NoError(t, err)
	require.Len(t, list, n)
	active := 0
	for _, k := range list {
		if k.Active() {
			active++
			assert.False(t, seen[k.ID], "the active key %s was not replaced", k.ID)
		}
	}
	assert.Equal(t, 1, active, "one active key per user")
}

func testTokenVersionsConcurrent(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	const n = 8
	versions := make([]int64, n)
	gens := make([]int64, n)
	errs := make([]error, 2*n)
	parallel(n, func(i int) {
		versions[i], errs[i] = s.BumpTokenVersion(ctx, "usr_1", base)
		g, err := s.BumpTokenGeneration(ctx, base, "usr_9", "incident")
		gens[i], errs[n+i] = g.Value, err
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	want := []int64{1, 2, 3, 4, 5, 6, 7, 8}
	assert.ElementsMatch(t, want, versions, "every bump returns its own new version")
	assert.ElementsMatch(t, want, gens, "every bump returns its own new generation")
	v, err := s.TokenVersion(ctx, "usr_1")
	require.NoError(t, err)
	assert.Equal(t, int64(n), v)
	g, err := s.TokenGeneration(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(n), g.Value)
}

func testKeyRingConcurrent(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	require.NoError(t, s.RotateSigningKey(ctx, "", time.Time{}, &store.SigningKey{KID: "k1-aaaaaaaa", Alg: "HS256", Ciphertext: []byte{1}, CreatedAt: base}))
	oneWins(t, 8, func(i int) error {
		return s.RotateSigningKey(ctx, "k1-aaaaaaaa", time.Time{},
			&store.SigningKey{KID: fmt.Sprintf("k2-%08d", i), Alg: "HS256", Ciphertext: []byte{2}, CreatedAt: base.Add(time.Hour)})
	}, "one replica rotates, the others reload")
	keys, err := s.ListSigningKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	current := 0
	for _, k := range keys {
		if k.RetiredAt.IsZero() {
			current++
		}
	}
	assert.Equal(t, 1, current, "one current key")
}

func testAuthEmpty(t *testing.T, s AuthStore) {
	ctx := ctxT(t)
	for name, count := range map[string]func() (int, error){
		"ListUsers":   func() (int, error) { return size(s.ListUsers(ctx)) },
		"CountUsers":  func() (int, error) { return s.CountUsers(ctx) },
		"ListAPIKeys": func() (int, error) { return size(s.ListAPIKeys(ctx, "")) },
		"ListRevocations": func() (int, error) {
			return size(s.ListRevocations(ctx, base, 0))
		},
		"DeleteExpiredRevocations": func() (int, error) {
			n, err := s.DeleteExpiredRevocations(ctx, base)
			return int(n), err
		},
		"DeleteExpiredIssued": func() (int, error) {
			n, err := s.DeleteExpiredIssued(ctx, base)
			return int(n), err
		},
		"TokenVersions": func() (int, error) {
			v, err := s.TokenVersions(ctx)
			return len(v), err
		},
		"ListSigningKeys": func() (int, error) { return size(s.ListSigningKeys(ctx)) },
		"ListAudit":       func() (int, error) { return size(s.ListAudit(ctx, store.AuditFilter{Actor: "usr_1"})) },
		"AggregateUsage": func() (int, error) {
			return size(s.AggregateUsage(ctx, store.UsageFilter{From: base, To: base.Add(time.Hour)}))
		},
	} {
		n, err := count()
		require.NoError(t, err, name)
		assert.Zero(t, n, name)
	}
	for name, call := range map[string]func() error{
		"ActiveAPIKey": func() error { return second(s.ActiveAPIKey(ctx, "usr_1")) },
		"RevokeAPIKey": func() error { return second(s.RevokeAPIKey(ctx, "key_1", base)) },
		"GetIssued":    func() error { return second(s.GetIssued(ctx, "tok_1")) },
		"UpdateUser": func() error {
			return second(s.UpdateUser(ctx, "usr_1", store.UserUpdate{Name: ptr("x"), UpdatedAt: base}))
		},
	} {
		require.ErrorIs(t, call(), store.ErrNotFound, name)
	}
}

// size returns how many values a listing returned, with its error.
func size[T any](vs []T, err error) (int, error) { return len(vs), err }

// second returns the error of a call that returns a value and an error.
func second[T any](_ T, err error) error { return err }
