package lifecycle_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/service"
	"github.com/aragora/aragora/store/sqlitestore"
)

// Example_engineAndStores is the second level of README.md's "Use it as a
// library": debates stored in SQLite (or Postgres, pgstore) with their
// events, checkpoints, result and receipt, resumable after a crash, without
// the HTTP service.
func Example_engineAndStores() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "aragora")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "aragora.db"), sqlitestore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	// The agent registry of docs/agents.md (demo agents, plus every provider
	// whose key service.Config.Agents holds) as the lifecycle's resolver.
	agents, err := service.NewAgents(service.Config{})
	if err != nil {
		log.Fatal(err)
	}
	m, err := lifecycle.New(st, agents, lifecycle.Config{})
	if err != nil {
		log.Fatal(err)
	}
	topic := "Should we adopt Postgres?"
	req := lifecycle.Request{Topic: &topic, Agents: []string{"demo-analyst", "demo-critic"}} // the body of POST /api/debates
	sp, err := req.Normalise(m.Defaults())
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Validate(sp); err != nil { // resolves the agents
		log.Fatal(err)
	}
	// CreateHeld stores it, leased to this process, to run it here and now
	// (m.Create would queue it instead, within m's concurrency limits).
	d, err := m.CreateHeld(ctx, sp, "local")
	if err != nil {
		log.Fatal(err)
	}
	job, err := m.Prepare(ctx, d.ID)
	if err != nil {
		log.Fatal(err)
	}
	res, err := job.Run(ctx)
	if err != nil {
		log.Fatal(err)
	}
	stored, err := st.GetDebate(ctx, d.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(stored.Status == res.Status, res.Receipt.VerifyHash())
	// Output: true true
}
