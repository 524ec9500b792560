package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
)

// openExample opens a store in a new directory; done closes it and removes
// the directory.
func openExample() (dir string, s *sqlitestore.Store, done func()) {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	s, err = sqlitestore.Open(context.Background(), filepath.Join(dir, "aragora.db"), sqlitestore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	return dir, s, func() {
		s.Close()
		os.RemoveAll(dir)
	}
}

func Example() {
	dir, s, done := openExample()
	defer done()
	ctx := context.Background()

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

// A second API key for a user revokes the first in the same transaction.
func ExampleStore_CreateAPIKey() {
	_, s, done := openExample()
	defer done()
	ctx := context.Background()

	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, keyID := range []string{"aaaaaaaa", "bbbbbbbb"} {
		replaced, err := s.CreateAPIKey(ctx, &store.APIKey{ID: fmt.Sprint("key_", i), KeyID: keyID, Prefix: "ara_" + keyID,
			UserID: "usr_1", Hash: []byte("sha-256 of the key"), CreatedAt: at.Add(time.Duration(i) * time.Hour)})
		if err != nil {
			log.Fatal(err)
		}
		if replaced != nil {
			fmt.Println("revoked", replaced.ID, "at", replaced.RevokedAt.Format(time.RFC3339))
		}
	}
	active, err := s.ActiveAPIKey(ctx, "usr_1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("active", active.ID, active.Prefix)
	// Output:
	// revoked key_0 at 2025-01-01T01:00:00Z
	// active key_1 ara_bbbbbbbb
}
