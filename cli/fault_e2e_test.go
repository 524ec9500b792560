package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/testenv"
)

// TestFaultPostgresConnectionsCut is the store fault of the fault suite
// (run: go test ./cli -run 'TestFault|TestE2ESecondServe|TestE2ECrashRestart|TestE2EResumeRefused';
// this one needs ARAGORA_TEST_POSTGRES_URL): while a real server runs
// debates on Postgres, every connection it holds is terminated by the
// server (pg_terminate_backend, as on a Postgres restart or failover)
// every 150 ms for 3 s, under a stream of creates and reads. No request
// answers 500 (a store fault is 503 store_unavailable), every accepted
// debate finishes with one debate_end, and every receipt id a client saw
// still resolves to the same receipt afterwards.
func TestFaultPostgresConnectionsCut(t *testing.T) {
	t.Parallel()
	env := postgresEnv(t)
	dsn := env["ARAGORA_DATABASE_URL"]
	app := "aragora_fault_" + env["ARAGORA_DB_SCHEMA"][len("aragora_e2e_"):]
	env["ARAGORA_DATABASE_URL"], env[demoDelayEnv] = testenv.WithApplicationName(t, dsn, app), "30"
	srv := startServer(t, t.TempDir(), faultEnv(env), nil) // not rate limited: every answer is the fault's

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Getenv("ARAGORA_TEST_POSTGRES_URL"))
	require.NoError(t, err)
	defer conn.Close(ctx)
	stop := make(chan struct{})
	var killed int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
			var n int
			if conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n) == nil {
				killed += n
			}
		}
	}()

	codes := map[int]int{}
	var ids []string
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := srv.http.Post(srv.apiURL+"/api/debates", "application/json", strings.NewReader(`{"topic":"Cut the store","rounds":1,"seed":4}`))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusAccepted {
			var d struct {
				ID string `json:"id"`
			}
			require.NoError(t, json.Unmarshal(b, &d))
			ids = append(ids, d.ID)
		} else {
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", b)
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		}
		code, _ := srv.get(t, "/api/debates?limit=5")
		codes[code]++
		assert.NotEqual(t, http.StatusInternalServerError, code)
	}
	close(stop)
	wg.Wait()
	require.Positive(t, killed, "the test cut live connections")
	require.NotEmpty(t, ids, "some creates were accepted")
	t.Logf("responses by status: %v; connections cut: %d; debates accepted: %d", codes, killed, len(ids))
	assert.Zero(t, codes[http.StatusInternalServerError], "no 500 from a store fault")

	changed, missing := settledReceipts(t, srv, ids)
	assert.Zero(t, missing, "every accepted debate has a receipt and it resolves")
	assert.Zero(t, changed, "an acknowledged result never changes")
}
