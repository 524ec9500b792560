package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	prevOnce sync.Once
	prevBin  string
	prevRev  string
	prevErr  error
)

// previousVersionBinary builds aragora as it was just before the newest
// migration was added (the adjacent older version a rolling upgrade runs
// beside the new one), from this checkout's git history.
func previousVersionBinary(t *testing.T) (bin, rev string) {
	t.Helper()
	prevOnce.Do(func() {
		git := func(args ...string) (string, error) {
			out, err := exec.Command("git", args...).CombinedOutput()
			return strings.TrimSpace(string(out)), err
		}
		root, err := git("rev-parse", "--show-toplevel")
		if err != nil {
			prevErr = fmt.Errorf("not a git checkout (the previous version is built from its history): %v: %s", err, root)
			return
		}
		added, err := git("-C", root, "log", "-1", "--diff-filter=A", "--format=%H", "--",
			"store/pgstore/migrations", "store/sqlitestore/migrations")
		if err != nil || added == "" {
			prevErr = fmt.Errorf("no commit adds a migration: %v: %s", err, added)
			return
		}
		if prevRev, err = git("-C", root, "rev-parse", "--short", added+"^"); err != nil {
			prevErr = fmt.Errorf("the parent of %s: %v: %s (a shallow clone?)", added, err, prevRev)
			return
		}
		// Beside this version's build, which outlives the test (-count 2
		// runs the test again with the binary built once).
		dir := filepath.Join(filepath.Dir(aragoraBinary(t)), "prev-src")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			prevErr = err
			return
		}
		archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, prevRev, dir)
		if out, err := archive.CombinedOutput(); err != nil {
			prevErr = fmt.Errorf("git archive %s: %v: %s", prevRev, err, out)
			return
		}
		prevBin = filepath.Join(filepath.Dir(dir), "aragora-"+prevRev)
		build := exec.Command("go", "build", "-o", prevBin, "./cmd/aragora")
		build.Dir = dir
		if out, err := build.CombinedOutput(); err != nil {
			prevErr = fmt.Errorf("go build of %s: %v: %s", prevRev, err, out)
		}
	})
	require.NoError(t, prevErr)
	return prevBin, prevRev
}

// TestReplicasRollingUpgrade: three replicas of the previous version (the
// commit before the newest migration) are replaced one at a time by this
// version under a steady load of debate creation, so that both versions
// run together on one schema while the first new replica migrates it. No
// request fails other than a 503 with Retry-After, every accepted debate
// finishes with one writer at a time, and the previous version still
// starts and runs a debate on the upgraded schema (a rollback).
func TestReplicasRollingUpgrade(t *testing.T) {
	t.Parallel()
	newBin := aragoraBinary(t) // skips under -short
	env := replicaEnv(t, "")
	oldBin, rev := previousVersionBinary(t)
	env[demoDelayEnv] = "150"
	env["ARAGORA_SHUTDOWN_TIMEOUT_SECONDS"] = "5"
	rs := newReplicaSetOf(t, oldBin, 3, env)
	leases := rs.watchLeases()
	rs.rollOverUnderLoad(t, newBin, env, `{"topic":"Rolling upgrade %d","rounds":3,"min_rounds":3,"seed":5}`, "rolling upgrade from "+rev)

	// The previous version starts on the upgraded schema and runs a debate.
	back := launchBinary(t, oldBin, t.TempDir(), env, nil)
	back.waitReady(t)
	id := back.createDebate(t, `{"topic":"After the upgrade","rounds":1,"seed":6}`)
	rs.waitFinished(t, []string{id}, e2eDeadline)
	leases.end(t)
	// The new replicas applied every migration of this version, the one
	// the previous version does not know included.
	files, err := filepath.Glob(filepath.Join("..", "store", "pgstore", "migrations", "*.sql"))
	require.NoError(t, err)
	var have int
	require.NoError(t, rs.db.QueryRow(context.Background(), `SELECT count(*) FROM `+rs.table("schema_migrations")).Scan(&have))
	assert.Equal(t, len(files), have, "migrations applied")
	t.Logf("schema has %d migrations; %s started on it and finished %s", have, rev, id)
}
