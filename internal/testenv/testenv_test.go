package testenv_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSkipsWithoutTheVariable(t *testing.T) {
	t.Setenv(testenv.PostgresEnv, "")
	t.Setenv(testenv.RedisEnv, "")
	var reached bool
	for name, get := range map[string]func(testing.TB, string) string{"postgres": testenv.PostgresURL, "redis": testenv.RedisURL} {
		ok := t.Run(name, func(t *testing.T) {
			get(t, "this test")
			reached = true
		})
		assert.True(t, ok, "a skip is not a failure")
	}
	assert.False(t, reached, "the test stops at the skip")
}

func TestReturnsTheVariable(t *testing.T) {
	t.Setenv(testenv.PostgresEnv, testenv.PostgresExample)
	t.Setenv(testenv.RedisEnv, testenv.RedisExample)
	assert.Equal(t, testenv.PostgresExample, testenv.PostgresURL(t, "this test"))
	assert.Equal(t, testenv.RedisExample, testenv.RedisURL(t, "this test"))
}

func TestSuffix(t *testing.T) {
	t.Parallel()
	a, b := testenv.Suffix(), testenv.Suffix()
	assert.Len(t, a, 12)
	assert.NotEqual(t, a, b)
}
