// Package testenv gives tests the real Postgres and Redis of the test
// environment (docs/configuration.md): the URL from ARAGORA_TEST_POSTGRES_URL
// or ARAGORA_TEST_REDIS_URL, or a skip that names the variable, and a
// schema or key prefix of the test's own, removed when the test ends.
// It is imported only from _test.go files.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// The variables that name the test servers, with the values CI uses.
const (
	PostgresEnv     = "ARAGORA_TEST_POSTGRES_URL"
	PostgresExample = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	RedisEnv        = "ARAGORA_TEST_REDIS_URL"
	RedisExample    = "redis://127.0.0.1:6379/15"
)

// PostgresURL returns ARAGORA_TEST_POSTGRES_URL, or skips t with
// "set ARAGORA_TEST_POSTGRES_URL=… to run <what>" when it is unset.
func PostgresURL(t testing.TB, what string) string {
	t.Helper()
	return lookup(t, PostgresEnv, PostgresExample, what)
}

// RedisURL returns ARAGORA_TEST_REDIS_URL, or skips t like [PostgresURL].
func RedisURL(t testing.TB, what string) string {
	t.Helper()
	return lookup(t, RedisEnv, RedisExample, what)
}

func lookup(t testing.TB, env, example, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		t.Skipf("set %s=%s to run %s", env, example, what)
	}
	return v
}

// Suffix returns 12 random hex digits, for names of the test's own.
func Suffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FreshSchema names a new Postgres schema, prefix followed by [Suffix],
// and drops it (CASCADE) when t ends. The schema itself is created by
// whoever uses it first (the store's migrations do).
func FreshSchema(t testing.TB, dsn, prefix string) string {
	t.Helper()
	schema := prefix + Suffix()
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// RedisClient connects to opts and closes the client when t ends.
func RedisClient(t testing.TB, opts *redis.Options) *redis.Client {
	t.Helper()
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// DeleteKeys deletes every key of c that starts with prefix when t ends.
func DeleteKeys(t testing.TB, c *redis.Client, prefix string) {
	t.Helper()
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
}

// WithApplicationName returns dsn with its application_name set to app, so
// a test can find (and terminate) exactly its own connections in
// pg_stat_activity on the shared server.
func WithApplicationName(t testing.TB, dsn, app string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("testenv: %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}
