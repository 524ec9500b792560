package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/pgstore"
)

// ExampleOpen shows the usual wiring from the environment. It needs a
// Postgres server, so it is compiled but not run.
func ExampleOpen() {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, os.Getenv("ARAGORA_DATABASE_URL"), pgstore.Config{
		Schema:      os.Getenv("ARAGORA_DB_SCHEMA"), // "" → public
		PoolSize:    10,                             // ARAGORA_DB_POOL_SIZE
		MaxOverflow: 5,                              // ARAGORA_DB_MAX_OVERFLOW
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	var _ store.Checkpointer = s
}
