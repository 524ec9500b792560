package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/testenv"
	"github.com/aragora/aragora/webhook"
)

func TestWebhookConfigErrorsExit2(t *testing.T) {
	t.Parallel()
	testServeRefuses(t, []serveConfigCase{
		{"loopback URL", map[string]string{"WEBHOOK_URL": "http://127.0.0.1:9000/hook"}, "ARAGORA_WEBHOOK_ALLOW_PRIVATE"},
		{"mapped loopback URL", map[string]string{"WEBHOOK_URL": "https://hooks.example.com/a,http://[::ffff:127.0.0.1]/h"}, "WEBHOOK_URL entry 2"},
		{"not a URL", map[string]string{"WEBHOOK_URL": "hooks.example.com"}, "WEBHOOK_URL"},
		{"bad secret", map[string]string{"WEBHOOK_URL": "https://hooks.example.com/a", "ARAGORA_WEBHOOK_SECRET": "hunter2"}, "ARAGORA_WEBHOOK_SECRET"},
		{"bad queue size", map[string]string{"ARAGORA_WEBHOOK_QUEUE_SIZE": "0"}, "ARAGORA_WEBHOOK_QUEUE_SIZE"},
		{"bad max attempts", map[string]string{"ARAGORA_WEBHOOK_MAX_ATTEMPTS": "many"}, "ARAGORA_WEBHOOK_MAX_ATTEMPTS"},
		{"bad allow private", map[string]string{"ARAGORA_WEBHOOK_ALLOW_PRIVATE": "perhaps"}, "ARAGORA_WEBHOOK_ALLOW_PRIVATE"},
	}, func(t *testing.T, stderr string) {
		assert.NotContains(t, stderr, "hunter2", "secrets are never echoed")
	})
}

// hookReceiver is the end-to-end tests' webhook endpoint: it verifies each
// signature, counts deliveries by webhook-id and notes any webhook-id
// attempted twice at once.
type hookReceiver struct {
	*httptest.Server
	secret string
	delay  time.Duration

	mu       sync.Mutex
	fail     bool // answer 500
	seen     map[string]int
	types    map[string]string // webhook-id → event type
	debates  map[string]bool   // "<type> <data.id>" of delivered debate events
	active   map[string]int
	overlaps []string
	badSigs  int
	total    int
}

func newHookReceiver(t *testing.T, secret string, delay time.Duration) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{secret: secret, delay: delay, seen: map[string]int{}, types: map[string]string{}, active: map[string]int{},
		debates: map[string]bool{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get(webhook.HeaderID)
		rc.mu.Lock()
		rc.total++
		if id == "" { // the runbook's manual test POST
			rc.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if rc.secret != "" && webhook.Verify(rc.secret, r.Header, body, time.Now(), 0) != nil {
			rc.badSigs++
		}
		rc.active[id]++
		if rc.active[id] > 1 {
			rc.overlaps = append(rc.overlaps, id)
		}
		fail := rc.fail
		rc.mu.Unlock()
		time.Sleep(rc.delay)
		rc.mu.Lock()
		rc.active[id]--
		if !fail {
			rc.seen[id]++
			var p struct {
				Type string
				Data struct{ ID string }
			}
			_ = json.Unmarshal(body, &p)
			rc.types[id] = p.Type
			if p.Data.ID != "" {
				rc.debates[p.Type+" "+p.Data.ID] = true
			}
		}
		rc.mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) setFail(v bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = v
}

// delivered reports how many of ids have been received with a 2xx answer.
func (rc *hookReceiver) delivered(ids []string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, id := range ids {
		if rc.seen[id] > 0 {
			n++
		}
	}
	return n
}

func (rc *hookReceiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.total
}

// waitDelivered waits until every id has been delivered.
func (rc *hookReceiver) waitDelivered(t *testing.T, ids []string, procs ...*serverProc) {
	t.Helper()
	deadline := time.Now().Add(e2eDeadline)
	for rc.delivered(ids) < len(ids) {
		if time.Now().After(deadline) {
			for _, p := range procs {
				t.Logf("server output:\n%s", p.out.String())
			}
			t.Fatalf("%d of %d messages delivered", rc.delivered(ids), len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitDebateEvents waits until debate.created and debate.finished of
// every debate have been delivered.
func (rc *hookReceiver) waitDebateEvents(t *testing.T, ids []string, procs ...*serverProc) {
	t.Helper()
	missing := func() []string {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		var out []string
		for _, id := range ids {
			for _, typ := range []string{webhook.EventDebateCreated, webhook.EventDebateFinished} {
				if !rc.debates[typ+" "+id] {
					out = append(out, typ+" "+id)
				}
			}
		}
		return out
	}
	deadline := time.Now().Add(e2eDeadline)
	for m := missing(); len(m) > 0; m = missing() {
		if time.Now().After(deadline) {
			for _, p := range procs {
				t.Logf("server output:\n%s", p.out.String())
			}
			t.Fatalf("debate events not delivered: %v", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// post POSTs body to path and decodes the answer into v (when not nil).
func (p *serverProc) post(t *testing.T, path, body string, want int, v any) {
	t.Helper()
	resp, err := p.http.Post(p.apiURL+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, want, resp.StatusCode, "POST %s: %s", path, b)
	if v != nil {
		require.NoError(t, json.Unmarshal(b, v), "POST %s: %s", path, b)
	}
}

// testMessage queues a webhook.test event through the API and returns its id.
func (p *serverProc) testMessage(t *testing.T, endpoint string) string {
	t.Helper()
	var out struct {
		MessageID string `json:"message_id"`
	}
	p.post(t, "/api/webhooks/endpoints/"+endpoint+"/test", "", http.StatusAccepted, &out)
	return out.MessageID
}

// postgresEnv returns the variables that put a server on a fresh schema of
// the test Postgres, dropped when the test ends; it skips without
// ARAGORA_TEST_POSTGRES_URL (CI sets it and fails on the skip).
func postgresEnv(t *testing.T) map[string]string {
	t.Helper()
	dsn := testenv.PostgresURL(t, "the Postgres end-to-end tests")
	// Small pools: these tests run servers in parallel (several per test)
	// against one Postgres whose max_connections is 100 by default.
	return map[string]string{"ARAGORA_DATABASE_URL": dsn, "ARAGORA_DB_SCHEMA": testenv.FreshSchema(t, dsn, "aragora_e2e_"),
		"ARAGORA_DB_POOL_SIZE": "4", "ARAGORA_DB_MAX_OVERFLOW": "2"}
}

func webhookEnv(rc *hookReceiver, extra map[string]string) map[string]string {
	env := map[string]string{"WEBHOOK_URL": rc.URL + "/hook", "ARAGORA_WEBHOOK_SECRET": rc.secret,
		"ARAGORA_WEBHOOK_ALLOW_PRIVATE": "1", "ARAGORA_DEBATE_LEASE_SECONDS": "1", "ARAGORA_RATE_LIMIT_DISABLED": "1",
		// Servers sharing one store share the secret its key ring is sealed with.
		"ARAGORA_JWT_SECRET": "webhook-e2e-jwt-secret-0123456789abcdef"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// TestE2EWebhooksSurviveSIGKILL kills the server with SIGKILL while
// deliveries are in flight and debates are running, restarts it on the same
// store and checks that the receiver gets every outbox message at least
// once (counted by webhook-id) and every debate's debate.created and
// debate.finished, on SQLite and on Postgres.
func TestE2EWebhooksSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			extra := map[string]string{}
			if backend == "postgres" {
				extra = postgresEnv(t)
			}
			rc := newHookReceiver(t, webhook.NewSecret(), 150*time.Millisecond)
			env := webhookEnv(rc, extra)
			dataDir := t.TempDir()
			env["ARAGORA_DEMO_DELAY_MS"] = "100"
			p1 := startServer(t, dataDir, env, nil)
			var debates []string
			for range 3 {
				debates = append(debates, p1.createDebate(t, `{"topic":"Survive a SIGKILL?","rounds":2}`))
			}
			var ids []string
			for range 30 {
				ids = append(ids, p1.testMessage(t, "env-1"))
			}
			deadline := time.Now().Add(e2eDeadline)
			for rc.requests() < 3 {
				require.True(t, time.Now().Before(deadline), "no delivery started:\n%s", p1.out.String())
				time.Sleep(10 * time.Millisecond)
			}
			require.NoError(t, p1.cmd.Process.Signal(syscall.SIGKILL))
			<-p1.done
			require.Less(t, rc.delivered(ids), len(ids), "the kill came before the end of the deliveries")

			p2 := startServer(t, dataDir, env, nil)
			rc.waitDelivered(t, ids, p2)
			// The debates the kill interrupted are resumed, finish, and
			// announce it; their creation was announced in any case.
			rc.waitDebateEvents(t, debates, p2)
			// The attempts the kill cut short are made again once their
			// lease has expired: the queue drains completely.
			waitQueueEmpty(t, p2)
			rc.mu.Lock()
			defer rc.mu.Unlock()
			assert.Equal(t, 0, rc.badSigs, "every delivery was signed")
			assert.Empty(t, rc.overlaps)
		})
	}
}

// waitQueueEmpty waits until GET /api/webhooks/queue reports size 0.
func waitQueueEmpty(t *testing.T, p *serverProc) {
	t.Helper()
	waitQueue(t, p, "queue drained", func(q webhook.Queue) bool { return q.Size == 0 })
}

// waitQueue waits until GET /api/webhooks/queue satisfies cond.
func waitQueue(t *testing.T, p *serverProc, what string, cond func(webhook.Queue) bool) {
	t.Helper()
	waitFor(t, what, func() (bool, string) {
		var q webhook.Queue
		p.getJSON(t, "/api/webhooks/queue", &q)
		return cond(q), fmt.Sprintf("%+v", q)
	})
}

// TestE2ETwoServersOnePostgresNeverOverlap runs two `aragora serve` on one
// Postgres with a slow receiver: each message arrives at least once and no
// attempt is made by both at once.
func TestE2ETwoServersOnePostgresNeverOverlap(t *testing.T) {
	t.Parallel()
	rc := newHookReceiver(t, webhook.NewSecret(), 100*time.Millisecond)
	env := webhookEnv(rc, postgresEnv(t))
	a := startServer(t, t.TempDir(), env, nil)
	b := startServer(t, t.TempDir(), env, nil)
	var ids []string
	for i := range 40 {
		p := a
		if i%2 == 1 {
			p = b
		}
		ids = append(ids, p.testMessage(t, "env-1"))
	}
	rc.waitDelivered(t, ids, a, b)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.Empty(t, rc.overlaps, "webhook-ids attempted twice at once")
	assert.Equal(t, 0, rc.badSigs)
	for _, id := range ids {
		assert.Equal(t, 1, rc.seen[id], "%s delivered once: nobody failed, so nobody retried", id)
	}
}

// runbookLine runs one command line of the runbook with bash, with
// localhost:8080 rewritten to the server's port, and returns its stdout.
func runbookLine(t *testing.T, p *serverProc, line string, env ...string) string {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the runbook check needs %s: install it (apt-get install -y %s) to run this test", tool, tool)
		}
	}
	cmdline := strings.ReplaceAll(line, "localhost:8080", "127.0.0.1:"+strconv.Itoa(p.apiPort))
	cmd := exec.Command("bash", "-c", cmdline)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	require.NoError(t, err, "%s\n%s%s", line, out, stderr)
	return string(out)
}

// TestE2ERunbookWebhookLines runs the runbook's "Webhook Delivery Failures"
// section and the admin console's circuit-breaker check against the
// binary (with ARAGORA_LOCAL_ADMIN=1 and a service token), and checks the
// answers have the shapes of docs/webhooks.md.
func TestE2ERunbookWebhookLines(t *testing.T) {
	t.Parallel()
	rc := newHookReceiver(t, webhook.NewSecret(), 0)
	rc.setFail(true)
	const serviceToken = "runbook-service-token-0123456789abcdef"
	env := webhookEnv(rc, map[string]string{"ARAGORA_WEBHOOK_MAX_ATTEMPTS": "1", "ARAGORA_API_TOKEN": serviceToken})
	dataDir := t.TempDir()
	p := startServer(t, dataDir, env, nil)
	failed := p.testMessage(t, "env-1") // fails once and is dead-lettered

	// Diagnosis.
	out := runbookLine(t, p, `curl http://localhost:8080/api/webhooks/status`)
	var st struct {
		Enabled   bool `json:"enabled"`
		Endpoints []struct {
			ID, Source, State string
			URL               *string `json:"url"`
		} `json:"endpoints"`
		Queue  map[string]any `json:"queue"`
		Worker struct {
			Running bool `json:"running"`
		} `json:"worker"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	assert.True(t, st.Enabled)
	require.Len(t, st.Endpoints, 1)
	assert.Equal(t, "env-1", st.Endpoints[0].ID)
	require.NotNil(t, st.Endpoints[0].URL, "the local operator is an admin")
	assert.Equal(t, rc.URL+"/hook", *st.Endpoints[0].URL)
	assert.True(t, st.Worker.Running)
	assert.Contains(t, st.Queue, "capacity")

	waitQueue(t, p, "the failing delivery dead-lettered", func(q webhook.Queue) bool { return q.DeadLetter == 1 })
	out = runbookLine(t, p, `curl http://localhost:8080/api/webhooks/queue | jq '.size'`)
	assert.Equal(t, "0", strings.TrimSpace(out))
	before := rc.requests()
	runbookLine(t, p, `curl -X POST $WEBHOOK_URL -H "Content-Type: application/json" -d '{"test": true}'`, "WEBHOOK_URL="+rc.URL+"/hook")
	assert.Equal(t, before+1, rc.requests(), "the manual test POST reached the endpoint")

	// Admin console: the endpoint's breaker is listed.
	out = runbookLine(t, p, `curl -H "Authorization: Bearer `+serviceToken+`" http://localhost:8080/api/system/circuit-breakers`)
	var cb struct {
		Breakers map[string]struct {
			Kind  string `json:"kind"`
			State string `json:"state"`
		} `json:"breakers"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &cb), out)
	require.Contains(t, cb.Breakers, "webhook:env-1", out)
	assert.Equal(t, "webhook", cb.Breakers["webhook:env-1"].Kind)
	assert.Equal(t, "closed", cb.Breakers["webhook:env-1"].State)

	// Recovery: the endpoint is back; flush the failed events.
	rc.setFail(false)
	out = runbookLine(t, p, `curl -X POST http://localhost:8080/api/webhooks/retry-failed`)
	assert.JSONEq(t, `{"requeued":1,"skipped":0}`, out)
	rc.waitDelivered(t, []string{failed}, p)
	out = runbookLine(t, p, `curl -s http://localhost:8080/metrics | grep aragora_webhook`)
	for _, want := range []string{`aragora_webhook_deliveries_total{outcome="dead_letter"} 1`, `aragora_webhook_deliveries_total{outcome="success"} 1`,
		"aragora_webhook_queue_capacity 1000", "aragora_webhook_queue_size", "aragora_webhook_queue_oldest_age_seconds", "aragora_webhook_dead_letter_size 0"} {
		assert.Contains(t, out, want)
	}

	// "Disable webhook temporarily" and "increase queue size": restart
	// without WEBHOOK_URL, then with a larger queue.
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	<-p.done
	delete(env, "WEBHOOK_URL")
	env["ARAGORA_WEBHOOK_QUEUE_SIZE"] = "5000"
	p = startServer(t, dataDir, env, nil)
	out = runbookLine(t, p, `curl http://localhost:8080/api/webhooks/status`)
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	assert.False(t, st.Enabled)
	assert.Empty(t, st.Endpoints)
	assert.Equal(t, float64(5000), st.Queue["capacity"])
	assert.Contains(t, p.out.String(), "webhook_queue_size=5000", "config_loaded shows the effective value")
}

func TestE2EWebhookWithoutSecretWarns(t *testing.T) {
	t.Parallel()
	rc := newHookReceiver(t, "", 0)
	env := webhookEnv(rc, nil)
	delete(env, "ARAGORA_WEBHOOK_SECRET")
	p := startServer(t, t.TempDir(), env, nil)
	id := p.testMessage(t, "env-1")
	rc.waitDelivered(t, []string{id}, p)
	assert.Contains(t, p.out.String(), "webhook_unsigned")
	assert.Contains(t, p.out.String(), "level=WARN")
}

// TestCLIDebateWritesItsWebhooks: `aragora debate` on the store of a server
// writes debate.created and debate.finished (and consensus.reached when
// reached) into the outbox, for the server's worker to deliver.
func TestCLIDebateWritesItsWebhooks(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	res := runCLI(t, context.Background(), map[string]string{"ARAGORA_DATA_DIR": dataDir},
		"debate", "Announce me?", "--format", "json")
	require.Equal(t, exitOK, res.code, res.stderr)
	d := parseJSONOutput(t, res.stdout).Debate
	st := openTestStore(t, dataDir)
	var types []string
	_, err := st.DispatchWebhooks(context.Background(), time.Now(), 0, 0, func(m webhook.Message) []string {
		assert.Equal(t, d["id"], m.DebateID)
		types = append(types, m.Type)
		return nil
	})
	require.NoError(t, err)
	want := []string{webhook.EventDebateCreated, webhook.EventDebateFinished}
	if d["status"] == "consensus_reached" {
		want = append(want, webhook.EventConsensusReached)
	}
	assert.ElementsMatch(t, want, types)
}
