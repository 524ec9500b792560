package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
)

func Example() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(dir, "aragora.db"), sqlitestore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	changes, err := s.RecordMatch(ctx, store.Match{DebateID: "deb_1", Agents: []string{"claude", "gpt-4"}, Winner: "claude"})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range changes {
		fmt.Printf("%s %+.2f\n", c.Agent, c.Delta())
	}
	_, err = os.Stat(filepath.Join(dir, sqlitestore.RatingsFile))
	fmt.Println("agent_elo.db exists:", err == nil)
	// Output:
	// claude +16.00
	// gpt-4 -16.00
	// agent_elo.db exists: true
}
