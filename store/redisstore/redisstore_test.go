package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/internal/testenv"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/redisstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func redisOpts(t *testing.T) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(testenv.RedisURL(t, "the Redis tests"))
	require.NoError(t, err)
	return o
}

// prefix returns a unique key prefix and deletes its keys at the end.
func prefix(t *testing.T, c *redis.Client) string {
	t.Helper()
	p := "aragora_test:" + testenv.Suffix() + ":"
	testenv.DeleteKeys(t, c, p)
	return p
}

func client(t *testing.T, o *redis.Options) *redis.Client {
	t.Helper()
	return testenv.RedisClient(t, o)
}

// newStore returns a store on the test Redis under a fresh key prefix,
// with its client and the prefix.
func newStore(t *testing.T) (*redisstore.Store, *redis.Client, string) {
	t.Helper()
	c := client(t, redisOpts(t))
	p := prefix(t, c)
	return redisstore.NewFromClient(c, redisstore.Config{Prefix: p}), c, p
}

func ev(seq int64) store.Event {
	return store.Event{Seq: seq, Type: "message", JSON: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq))}
}

func recv(t *testing.T, sub *redisstore.Subscription) store.Event {
	t.Helper()
	select {
	case e, ok := <-sub.C:
		require.True(t, ok, "subscription closed")
		return e
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("no event")
		return store.Event{}
	}
}

func TestFanOutOrderAcrossClients(t *testing.T) {
	t.Parallel()
	o := redisOpts(t)
	pubClient, subClient := client(t, o), client(t, o)
	p := prefix(t, pubClient)
	pub := redisstore.NewFromClient(pubClient, redisstore.Config{Prefix: p})
	sb := redisstore.NewFromClient(subClient, redisstore.Config{Prefix: p})
	ctx := context.Background()

	subA, err := sb.Subscribe(ctx, "d1")
	require.NoError(t, err)
	defer subA.Close()
	subB, err := pub.Subscribe(ctx, "d1") // a second replica
	require.NoError(t, err)
	defer subB.Close()
	other, err := sb.Subscribe(ctx, "d2")
	require.NoError(t, err)
	defer other.Close()

	const n = 200
	for i := int64(1); i <= n; i++ {
		require.NoError(t, pub.Publish(ctx, "d1", ev(i)))
	}
	require.NoError(t, pub.Publish(ctx, "d2", ev(1)))
	for _, sub := range []*redisstore.Subscription{subA, subB} {
		for i := int64(1); i <= n; i++ {
			e := recv(t, sub)
			require.Equal(t, i, e.Seq)
			assert.Equal(t, "d1", e.DebateID)
			assert.Equal(t, fmt.Sprintf(`{"seq":%d}`, i), string(e.JSON))
		}
	}
	e := recv(t, other)
	assert.Equal(t, "d2", e.DebateID, "channels are per debate")
}

func TestSubscriptionEndsWithContext(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := s.Subscribe(ctx, "d1")
	require.NoError(t, err)
	cancel()
	for range sub.C {
	}
	require.NoError(t, sub.Close())
	require.NoError(t, sub.Close(), "idempotent")
}

func TestSubscriptionReconnects(t *testing.T) {
	t.Parallel()
	o := redisOpts(t)
	direct := client(t, o)
	px := testenv.NewProxy(t, o.Addr)
	po := *o
	po.Addr = px.Addr()
	po.MaxRetries = -1
	viaProxy := client(t, &po)
	p := prefix(t, direct)
	pub := redisstore.NewFromClient(direct, redisstore.Config{Prefix: p})
	sb := redisstore.NewFromClient(viaProxy, redisstore.Config{Prefix: p})
	ctx := context.Background()
	channel := p + "events:d1"

	sub, err := sb.Subscribe(ctx, "d1")
	require.NoError(t, err)
	defer sub.Close()
	require.NoError(t, pub.Publish(ctx, "d1", ev(1)))
	assert.Equal(t, int64(1), recv(t, sub).Seq)

	numsub := func() int64 { return direct.PubSubNumSub(ctx, channel).Val()[channel] }
	px.Cut()
	require.Eventually(t, func() bool { return numsub() == 0 }, 10*time.Second, 10*time.Millisecond, "Redis saw the subscriber go")
	px.Restore(t)
	require.Eventually(t, func() bool { return numsub() == 1 }, 20*time.Second, 20*time.Millisecond, "the subscription came back by itself")

	for i := int64(2); i <= 5; i++ {
		require.NoError(t, pub.Publish(ctx, "d1", ev(i)))
	}
	for i := int64(2); i <= 5; i++ {
		assert.Equal(t, i, recv(t, sub).Seq, "order kept after the reconnect")
	}
}

func TestCacheExpires(t *testing.T) {
	t.Parallel()
	s, c, p := newStore(t)
	ctx := context.Background()

	require.NoError(t, s.SetCache(ctx, "debate:d1", []byte(`{"id":"d1"}`), 0))
	got, err := s.GetCache(ctx, "debate:d1")
	require.NoError(t, err)
	assert.Equal(t, `{"id":"d1"}`, string(got))
	ttl := c.TTL(ctx, p+"cache:debate:d1").Val()
	assert.LessOrEqual(t, ttl, 5*time.Minute, "default TTL")
	assert.Greater(t, ttl, 4*time.Minute)

	// Expiry: a 1 ms TTL is gone once Redis has passed it (Eventually, not a sleep).
	require.NoError(t, s.SetCache(ctx, "short", []byte("x"), time.Millisecond))
	require.Eventually(t, func() bool {
		_, err := s.GetCache(ctx, "short")
		return errors.Is(err, store.ErrNotFound)
	}, 5*time.Second, 5*time.Millisecond)

	require.NoError(t, s.DeleteCache(ctx, "debate:d1", "missing"))
	_, err = s.GetCache(ctx, "debate:d1")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.Ping(ctx))
}

func TestRevokedTokens(t *testing.T) {
	t.Parallel()
	s, c, p := newStore(t)
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, s.Revoke(ctx, "tok_a", now.Add(time.Hour), now))
	require.NoError(t, s.Revoke(ctx, "tok_old", now.Add(-time.Second), now))
	ok, err := s.IsRevoked(ctx, "tok_a")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.IsRevoked(ctx, "tok_old")
	require.NoError(t, err)
	assert.False(t, ok, "an expired token is not cached")
	ttl := c.TTL(ctx, p+"revoked:tok_a").Val()
	assert.Greater(t, ttl, 59*time.Minute)
}
