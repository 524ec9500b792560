package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/internal/testenv"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/redisstore"
)

// These tests check docs/http-api.md#administration across replicas: a revocation made through
// one replica reaches another through Redis, and flushing Redis cannot
// un-revoke anything because the store is the durable record. Each replica
// is built in process with serve's wiring (its own store handle on one
// SQLite file, its own Redis client, auth service, revocation broadcaster
// and server), with one difference: the auth service's periodic reload
// (RevocationReloadEvery, 5 s in production) is pushed out to an hour, so
// a replica can only learn of a revocation through the Redis broadcast.
// The waits have generous deadlines and never assert on durations.

// revocationDeadline bounds each wait for a revocation to propagate. It is
// far above the 1 s of docs/http-api.md#administration because the machine may be slow; with
// the periodic reload off, only the broadcast can end the wait anyway.
const revocationDeadline = 20 * time.Second

// revocationPoll is the interval between two checks of a wait.
const revocationPoll = 25 * time.Millisecond

// revocationServiceToken is the ARAGORA_API_TOKEN of the test replicas.
const revocationServiceToken = "svc-token-for-revocation-tests-0123456789"

// revocationCluster is the shared state of the test replicas: one SQLite
// database, one Redis key prefix and the serve configuration they all use.
type revocationCluster struct {
	t      *testing.T
	cfg    Config
	prefix string
	rdb    *redis.Client // the test's own client, for the FLUSHDB emulation
}

// revocationReplica is one in-process replica.
type revocationReplica struct {
	t   *testing.T
	srv *server.Server
	svc *auth.Service
}

// newRevocationCluster skips without ARAGORA_TEST_REDIS_URL, and otherwise
// prepares a data directory, a serve configuration over it and a key
// prefix of the test's own, whose keys are deleted when the test ends.
func newRevocationCluster(t *testing.T) *revocationCluster {
	t.Helper()
	redisURL := testenv.RedisURL(t, "the cross-replica revocation tests")
	dir := t.TempDir()
	secret := make([]byte, 32)
	_, err := rand.Read(secret)
	require.NoError(t, err)
	vars := map[string]string{
		"ARAGORA_DATA_DIR":     dir,
		"ARAGORA_DATABASE_URL": "sqlite://" + dir + "/aragora.db",
		"ARAGORA_REDIS_URL":    redisURL,
		"ARAGORA_JWT_SECRET":   hex.EncodeToString(secret),
		"ARAGORA_API_TOKEN":    revocationServiceToken,
	}
	c, err := ConfigFromEnv(func(k string) string { return vars[k] })
	require.NoError(t, err)
	require.NoError(t, c.Validate())

	suffix := make([]byte, 8)
	_, err = rand.Read(suffix)
	require.NoError(t, err)
	rc := &revocationCluster{t: t, cfg: c, prefix: "aragora-test:revocation:" + hex.EncodeToString(suffix) + ":"}
	opts, err := redis.ParseURL(redisURL)
	require.NoError(t, err)
	rc.rdb = redis.NewClient(opts)
	t.Cleanup(func() {
		rc.flush()
		_ = rc.rdb.Close()
	})
	pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, rc.rdb.Ping(pctx).Err(), "Redis at ARAGORA_TEST_REDIS_URL does not answer")
	return rc
}

// keys lists every Redis key of the test's prefix.
func (rc *revocationCluster) keys() []string {
	rc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []string
	iter := rc.rdb.Scan(ctx, 0, rc.prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		out = append(out, iter.Val())
	}
	require.NoError(rc.t, iter.Err())
	return out
}

// flush emulates the runbook's FLUSHDB on the shared Redis: it deletes
// every key of the test's prefix and nothing else.
func (rc *revocationCluster) flush() {
	rc.t.Helper()
	keys := rc.keys()
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(rc.t, rc.rdb.Del(ctx, keys...).Err())
}

// replica starts one replica with serve's wiring: its own store handle,
// Redis client, auth service and revocation broadcaster, and a server whose
// Revoked hook and Denied check go through that broadcaster. Everything it
// starts is stopped when the test ends.
func (rc *revocationCluster) replica() *revocationReplica {
	t := rc.t
	t.Helper()
	ctx := context.Background()
	c := rc.cfg
	discardLog := slog.New(slog.NewTextHandler(io.Discard, nil))

	be, err := OpenBackends(ctx, c)
	require.NoError(t, err)
	t.Cleanup(func() { _ = be.Close() })

	opts, err := redis.ParseURL(c.RedisURL)
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	rs := redisstore.NewFromClient(rdb, redisstore.Config{Buffer: c.WSSendBuffer, Prefix: rc.prefix})

	// openAuth with the periodic reload pushed out (see the file comment)
	// and cheap password hashing.
	as, ok := be.Store.(auth.Store)
	require.True(t, ok, "the %s store does not persist users", be.Kind)
	acfg := auth.Config{AccessTTL: c.AccessTTL, RefreshTTL: c.RefreshTTL}
	acfg.RevocationReloadEvery = time.Hour
	acfg.Password = auth.PasswordConfig{Memory: 64, Time: 1, Threads: 1}
	svc, err := auth.New(ctx, as, []byte(c.JWTSecret), acfg)
	require.NoError(t, err)

	authn, bcast := authenticator(c, svc, rs, discardLog)
	wctx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		bcast.watch(wctx)
	}()
	t.Cleanup(func() {
		stopWatch()
		<-watched
	})

	agents, err := NewAgents(Config{})
	require.NoError(t, err)
	scfg := server.Config{Version: "0.8.0", Env: c.Env, Auth: authn, Accounts: svc, AccountStore: as,
		Redis: rs, Fanout: redisFanout{rs: rs}, Revoked: bcast.revoked,
		Logger: discardLog, AuthLogger: discardLog, WSLogger: discardLog, Lifecycle: lifecycle.Config{Logger: discardLog}}
	srv, err := server.New(be.Store, agents, scfg)
	require.NoError(t, err)
	srv.Start()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.CloseAll(1001)
		assert.NoError(t, srv.Shutdown(sctx))
	})
	return &revocationReplica{t: t, srv: srv, svc: svc}
}

// do sends one request to the replica's API handler and returns the status
// and the error code of the body ("" for a success).
func (r *revocationReplica) do(method, path, bearer string, body any) (int, string) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(r.t, err)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	r.srv.ServeHTTP(rec, req)
	var doc struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &doc)
	return rec.Code, doc.Error.Code
}

// me calls GET /api/auth/me with token.
func (r *revocationReplica) me(token string) (int, string) {
	r.t.Helper()
	return r.do(http.MethodGet, "/api/auth/me", token, nil)
}

// admin calls an admin route with the service token and requires a 200.
func (r *revocationReplica) admin(path string, body any) {
	r.t.Helper()
	status, code := r.do(http.MethodPost, path, revocationServiceToken, body)
	require.Equal(r.t, http.StatusOK, status, "POST %s: %s", path, code)
}

// user creates a member and returns it.
func (r *revocationReplica) user(email string) *store.User {
	r.t.Helper()
	u, err := r.svc.CreateUser(context.Background(), auth.NewUser{Email: email, Password: "correct horse battery", Role: auth.RoleMember})
	require.NoError(r.t, err)
	return u
}

// token mints an access token for u, as `aragora token create` does.
func (r *revocationReplica) token(u *store.User) (token, jti string) {
	r.t.Helper()
	tok, c, err := r.svc.IssueAccessToken(context.Background(), u, time.Hour)
	require.NoError(r.t, err)
	return tok, c.TokenID
}

// waitRefused polls until the replica answers 401 token_revoked to token,
// failing the test after revocationDeadline.
func (r *revocationReplica) waitRefused(token, what string) {
	r.t.Helper()
	deadline := time.Now().Add(revocationDeadline)
	for {
		status, code := r.me(token)
		if status == http.StatusUnauthorized {
			assert.Equal(r.t, "token_revoked", code, what)
			return
		}
		require.Equal(r.t, http.StatusOK, status, "%s: unexpected answer %s", what, code)
		if time.Now().After(deadline) {
			require.FailNow(r.t, "revocation did not reach the replica", "%s: still accepted after %s", what, revocationDeadline)
		}
		time.Sleep(revocationPoll)
	}
}

// requireRefused checks the replica refuses token now.
func (r *revocationReplica) requireRefused(token, what string) {
	r.t.Helper()
	status, code := r.me(token)
	require.Equal(r.t, http.StatusUnauthorized, status, what)
	assert.Equal(r.t, "token_revoked", code, what)
}

// requireAccepted checks the replica accepts token now.
func (r *revocationReplica) requireAccepted(token, what string) {
	r.t.Helper()
	status, code := r.me(token)
	require.Equal(r.t, http.StatusOK, status, "%s: %s", what, code)
}

// watchPeriods is how many of the broadcaster's 500 ms watch periods the
// post-flush checks span, so that the reload a flush triggers has run.
const watchPeriods = 4

// requireStaysRefused checks token is refused on every replica, again and
// again for watchPeriods watch periods: a flush makes each replica reload
// from the store, and that reload must keep the revocation.
func requireStaysRefused(t *testing.T, token, what string, replicas ...*revocationReplica) {
	t.Helper()
	until := time.Now().Add(watchPeriods * 500 * time.Millisecond)
	for {
		for _, r := range replicas {
			r.requireRefused(token, what)
		}
		if time.Now().After(until) {
			return
		}
		time.Sleep(4 * revocationPoll)
	}
}

// TestRevocationAcrossReplicasSurvivesRedisFlush revokes one token and
// then every token through replica A, checks replica B refuses them once
// the Redis broadcast arrived (having accepted them before), then deletes
// every Redis key of the test (a FLUSHDB) and checks B, and a replica
// started afterwards, still refuse both.
func TestRevocationAcrossReplicasSurvivesRedisFlush(t *testing.T) {
	t.Parallel()
	rc := newRevocationCluster(t)
	a, b := rc.replica(), rc.replica()
	alice, bob := a.user("alice@example.com"), a.user("bob@example.com")

	// 1. One token revoked by id on A reaches B.
	t1, jti1 := a.token(alice)
	a.requireAccepted(t1, "token 1 on A before revocation")
	b.requireAccepted(t1, "token 1 on B before revocation")
	a.admin("/api/admin/revoke-token", map[string]string{"token_id": jti1, "reason": "test"})
	a.requireRefused(t1, "token 1 on A after revocation")
	b.waitRefused(t1, "token 1 on B after revocation on A")
	assert.NotEmpty(t, rc.keys(), "the revocation left no Redis key under the test prefix")

	// 2. Revoke-all on A reaches B. Tokens issued after the first
	// revocation, so the generation alone refuses them.
	t2, _ := a.token(bob)
	t3, _ := b.token(alice)
	b.requireAccepted(t2, "token 2 on B before revoke-all")
	b.requireAccepted(t3, "token 3 on B before revoke-all")
	b.requireRefused(t1, "token 1 on B before revoke-all")
	a.admin("/api/admin/revoke-all-tokens", map[string]string{"reason": "test"})
	a.requireRefused(t2, "token 2 on A after revoke-all")
	b.waitRefused(t2, "token 2 on B after revoke-all on A")
	b.requireRefused(t3, "token 3 (issued by B) on B after revoke-all on A")

	// 3. A FLUSHDB of the test's keys un-revokes nothing.
	rc.flush()
	require.Empty(t, rc.keys(), "the flush left keys under the test prefix")
	requireStaysRefused(t, t1, "token 1 after the flush", a, b)
	requireStaysRefused(t, t2, "token 2 after the flush", a, b)
	requireStaysRefused(t, t3, "token 3 after the flush", a, b)
	c := rc.replica()
	c.requireRefused(t1, "token 1 on a replica started after the flush")
	c.requireRefused(t2, "token 2 on a replica started after the flush")
	c.requireRefused(t3, "token 3 on a replica started after the flush")

	// The replicas still accept what was never revoked.
	t4, _ := c.token(alice)
	for _, r := range []*revocationReplica{a, b, c} {
		r.requireAccepted(t4, "token 4, issued after every revocation")
	}
}

// TestRevocationReachesReplicaStartedJustBefore revokes every token while
// replica B is starting: after its auth service loaded the store's
// revocations and before its broadcaster first read Redis. B must still
// learn of the revocation through Redis (docs/http-api.md#administration: every replica within
// 1 s), not only at its next periodic reload.
func TestRevocationReachesReplicaStartedJustBefore(t *testing.T) {
	t.Parallel()
	rc := newRevocationCluster(t)
	a := rc.replica()
	alice := a.user("alice@example.com")
	tok, _ := a.token(alice)

	// B's auth service exists (its revocations loaded) but its
	// broadcaster has not run yet.
	ctx := context.Background()
	be, err := OpenBackends(ctx, rc.cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = be.Close() })
	as, ok := be.Store.(auth.Store)
	require.True(t, ok, "the %s store does not persist users", be.Kind)
	acfg := auth.Config{AccessTTL: rc.cfg.AccessTTL, RefreshTTL: rc.cfg.RefreshTTL}
	acfg.RevocationReloadEvery = time.Hour
	svc, err := auth.New(ctx, as, []byte(rc.cfg.JWTSecret), acfg)
	require.NoError(t, err)
	_, err = svc.Verify(ctx, tok)
	require.NoError(t, err, "B accepts the token before the revocation")

	a.admin("/api/admin/revoke-all-tokens", map[string]string{"reason": "test"})

	opts, err := redis.ParseURL(rc.cfg.RedisURL)
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	bcast := &revocationBroadcaster{rs: redisstore.NewFromClient(rdb, redisstore.Config{Prefix: rc.prefix}), svc: svc,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	wctx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		bcast.watch(wctx)
	}()
	defer func() {
		stopWatch()
		<-watched
	}()

	deadline := time.Now().Add(revocationDeadline)
	for {
		_, err := svc.Verify(ctx, tok)
		if err != nil {
			assert.ErrorIs(t, err, auth.ErrTokenRevoked)
			return
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "revocation did not reach the replica", "still accepted after %s", revocationDeadline)
		}
		time.Sleep(revocationPoll)
	}
}
