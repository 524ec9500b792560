package testenv_test

import (
	"testing"

	"github.com/aragora/aragora/internal/testenv"
)

// A Postgres test gets the server or a skip naming the variable, and a
// schema of its own that is dropped when it ends.
func Example() {
	_ = func(t *testing.T) {
		dsn := testenv.PostgresURL(t, "the Postgres tests")
		schema := testenv.FreshSchema(t, dsn, "aragora_test_")
		_ = schema // open the store with this schema
	}
}
