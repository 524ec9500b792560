package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/apitest"
	"github.com/aragora/aragora/internal/syncbuf"
	"github.com/aragora/aragora/nomic"
	"github.com/aragora/aragora/webhook"
)

// The replica tests (docs/SCALING.md) run three real `aragora serve`
// processes on one Postgres schema and one Redis, behind lbProxy, a
// round-robin reverse proxy standing in for the load balancer. Run them by
// hand with
//
//	ARAGORA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	ARAGORA_TEST_REDIS_URL=redis://127.0.0.1:6379/15 \
//	go test ./cli -run 'TestReplicas' -v
//
// They skip with a message when either variable is unset (CI sets both and
// fails on the skip) and under -short (CI runs without it).

// replicaLease is the debate lease of the replica tests, in seconds: short,
// so that a takeover after a crash happens within the test's budget.
const replicaLease = 2

// takeoverLease is the debate lease of the takeover tests, in seconds:
// the survivors must keep theirs while the debates released by the gate
// and those they take over all write at once. On a 2-core machine loaded
// with builds, a survivor's heartbeat call took up to 2 s and two
// heartbeats came up to 4.2 s apart; with a 2 s lease a peer claimed a
// live survivor's debates again.
const takeoverLease = 6

// replicaSet is n replicas of `aragora serve` sharing one Postgres schema
// and one Redis, and the load balancer in front of them.
type replicaSet struct {
	t      *testing.T
	env    map[string]string
	schema string
	db     *pgxpool.Pool

	mu    sync.Mutex
	procs []*serverProc // by replica index; a replaced replica's slot holds its successor
	ready []bool        // the load balancer's view, from its readiness probes

	lb     *httptest.Server
	next   atomic.Uint64
	client *http.Client // to the load balancer, checked against the OpenAPI document
}

// replicaEnv returns the environment of a replica set on a fresh Postgres
// schema and the Redis of ARAGORA_TEST_REDIS_URL (or redisURL when not
// empty), skipping when either is not configured.
func replicaEnv(t *testing.T, redisURL string) map[string]string {
	t.Helper()
	if os.Getenv("ARAGORA_TEST_REDIS_URL") == "" {
		t.Skip("set ARAGORA_TEST_REDIS_URL=redis://127.0.0.1:6379/15 (and ARAGORA_TEST_POSTGRES_URL) to run the replica tests")
	}
	env := postgresEnv(t)
	env["ARAGORA_REDIS_URL"] = cmpOr(redisURL, os.Getenv("ARAGORA_TEST_REDIS_URL"))
	env["ARAGORA_ENABLE_REDIS_RATE_LIMIT"] = "1"
	// Replicas sharing one store share the secret its key ring is sealed with.
	env["ARAGORA_JWT_SECRET"] = "replicas-e2e-jwt-secret-0123456789abcdef"
	env["ARAGORA_DEBATE_LEASE_SECONDS"] = strconv.Itoa(replicaLease)
	// The test's own polling comes from loopback: never limited. The rate
	// limit test names its clients with X-Forwarded-For.
	env["ARAGORA_RATE_LIMIT_WHITELIST"] = "127.0.0.1/32,::1/128"
	env["ARAGORA_LOG_LEVEL"] = "warn"
	// Three replicas per test, tests in parallel, other packages' tests on
	// the same Postgres (max_connections 100 by default): 3 + 2 connections
	// each, not 10 + 5.
	env["ARAGORA_DB_POOL_SIZE"], env["ARAGORA_DB_MAX_OVERFLOW"] = "3", "2"
	return env
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// replicaSets bounds the replica sets running at once.
var replicaSets = make(chan struct{}, 3)

// newReplicaSet starts n replicas at once with env (replicaEnv plus the
// test's settings), waits until each is ready, and starts the load
// balancer.
func newReplicaSet(t *testing.T, n int, env map[string]string) *replicaSet {
	t.Helper()
	return newReplicaSetOf(t, aragoraBinary(t), n, env) // skips under -short before anything starts
}

// newReplicaSetOf is newReplicaSet with another build of aragora (bin).
func newReplicaSetOf(t *testing.T, bin string, n int, env map[string]string) *replicaSet {
	t.Helper()
	// At most three replica sets at once: with every other end-to-end test
	// running beside them, more used up Postgres's 100 connections.
	replicaSets <- struct{}{}
	t.Cleanup(func() { <-replicaSets }) // after the replicas stopped
	rs := &replicaSet{t: t, env: env, schema: env["ARAGORA_DB_SCHEMA"]}
	pc, err := pgxpool.ParseConfig(env["ARAGORA_DATABASE_URL"])
	require.NoError(t, err)
	pc.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	rs.db = pool
	for range n {
		rs.procs = append(rs.procs, launchBinary(t, bin, t.TempDir(), env, nil))
		rs.ready = append(rs.ready, false)
	}
	for i, p := range rs.procs {
		for attempt := 1; !p.awaitReady(t) && p.lostPortRace() && attempt < 3; attempt++ {
			p = launchBinary(t, bin, t.TempDir(), env, nil) // on new ports
			rs.procs[i] = p
		}
		p.waitReady(t)
	}
	rs.startLB()
	return rs
}

// startLB starts the load balancer: every request goes to the next ready
// replica in turn (readiness probed every 100 ms, as a Kubernetes Service
// drops a pod that fails its readiness probe); a request whose connection
// is refused is sent to the next one (as nginx's proxy_next_upstream
// error). WebSocket upgrades pass through.
func (rs *replicaSet) startLB() {
	t := rs.t
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for {
			rs.mu.Lock()
			procs := append([]*serverProc(nil), rs.procs...)
			rs.mu.Unlock()
			for i, p := range procs {
				ok := false
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.apiURL+"/api/health/ready", nil)
				if resp, err := probe.Do(req); err == nil {
					ok = resp.StatusCode == http.StatusOK
					resp.Body.Close()
				}
				rs.mu.Lock()
				if rs.procs[i] == p {
					rs.ready[i] = ok
				}
				rs.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	// The first probe round marks the replicas ready.
	deadline := time.Now().Add(e2eDeadline)
	for rs.readyCount() < len(rs.procs) {
		require.True(t, time.Now().Before(deadline), "the load balancer saw no ready replica")
		time.Sleep(20 * time.Millisecond)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: "replica.invalid"})
			// The client's own X-Forwarded-For (the rate limit test's
			// clients) reaches the replicas; the proxy adds none, so
			// the test's loopback requests act as the local operator.
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
		},
		Transport: lbTransport{rs: rs, base: &http.Transport{DisableKeepAlives: true}},
		ErrorLog:  nil,
	}
	rs.lb = httptest.NewServer(proxy)
	t.Cleanup(func() {
		rs.lb.Close()
		cancel()
		wg.Wait()
	})
	rs.client = &http.Client{Transport: apitest.Server(t).Transport(t, &http.Transport{DisableKeepAlives: true}), Timeout: 30 * time.Second}
}

func (rs *replicaSet) readyCount() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	n := 0
	for _, r := range rs.ready {
		if r {
			n++
		}
	}
	return n
}

// lbTransport sends each request to the next ready replica.
type lbTransport struct {
	rs   *replicaSet
	base *http.Transport
}

// replicaHeader names, on every response of the load balancer, the index
// of the replica that answered.
const replicaHeader = "X-Test-Replica"

func (l lbTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	l.rs.mu.Lock()
	n := len(l.rs.procs)
	start := int(l.rs.next.Add(1))
	var order []int
	var hosts []string
	for k := range n {
		i := (start + k) % n
		if l.rs.ready[i] {
			order = append(order, i)
			hosts = append(hosts, fmt.Sprintf("127.0.0.1:%d", l.rs.procs[i].apiPort))
		}
	}
	l.rs.mu.Unlock()
	if len(order) == 0 {
		return nil, errors.New("lb: no ready replica")
	}
	var lastErr error
	for k, i := range order {
		out := req.Clone(req.Context())
		out.URL.Host, out.Host = hosts[k], hosts[k]
		out.Body = io.NopCloser(bytes.NewReader(body))
		if body == nil {
			out.Body = nil
		}
		resp, err := l.base.RoundTrip(out)
		if err == nil {
			resp.Header.Set(replicaHeader, strconv.Itoa(i))
			return resp, nil
		}
		lastErr = err
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			return nil, err // the request may have reached the replica: not retried
		}
	}
	return nil, lastErr
}

// do sends a request through the load balancer with headers hdr and
// returns the response (body read) and body.
func (rs *replicaSet) do(method, path, body string, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, rs.lb.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := rs.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// create POSTs a debate through the load balancer and returns its id.
func (rs *replicaSet) create(t *testing.T, body string) string {
	t.Helper()
	resp, b, err := rs.do(http.MethodPost, "/api/debates", body, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", b)
	var d struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	return d.ID
}

// proc returns the current process of replica i.
func (rs *replicaSet) proc(i int) *serverProc {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.procs[i]
}

// replace puts p in replica i's slot (the load balancer probes it from then on).
func (rs *replicaSet) replace(i int, p *serverProc) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.procs[i], rs.ready[i] = p, false
}

// table returns schema.name quoted.
func (rs *replicaSet) table(name string) string {
	return pgx.Identifier{rs.schema, name}.Sanitize()
}

// debateRow is the lease state of one debate in the shared store.
type debateRow struct {
	ID, Status, Owner string
	Generation        int64
}

// debates reads every debate's status and lease.
func (rs *replicaSet) debates(ctx context.Context) (map[string]debateRow, error) {
	rows, err := rs.db.Query(ctx, `SELECT id, status, COALESCE(lease_owner, ''), lease_generation FROM `+rs.table("debates"))
	if err != nil {
		return nil, err
	}
	out := map[string]debateRow{}
	for rows.Next() {
		var r debateRow
		if err := rows.Scan(&r.ID, &r.Status, &r.Owner, &r.Generation); err != nil {
			return nil, err
		}
		out[r.ID] = r
	}
	return out, rows.Err()
}

// terminal reports whether status is a final one.
func terminal(status string) bool { return finished(debateView{Status: status}) }

// waitFinished waits until every debate of ids has a terminal status.
func (rs *replicaSet) waitFinished(t *testing.T, ids []string, budget time.Duration) map[string]debateRow {
	t.Helper()
	deadline := time.Now().Add(budget)
	for {
		rows, err := rs.debates(context.Background())
		require.NoError(t, err)
		var open []string
		for _, id := range ids {
			if r, ok := rows[id]; !ok || !terminal(r.Status) {
				open = append(open, id+" "+r.Status)
			}
		}
		if len(open) == 0 {
			return rows
		}
		if time.Now().After(deadline) {
			for i := range rs.procs {
				t.Logf("replica %d output:\n%s", i, rs.proc(i).out.String())
			}
			t.Fatalf("%d of %d debates not finished in %s: %.600v", len(open), len(ids), budget, open)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkEventLog requires each debate's stored events to be seq 1..n with
// no gap and no duplicate, one debate_start first and one debate_end last.
func (rs *replicaSet) checkEventLog(t *testing.T, ids []string) {
	t.Helper()
	rows, err := rs.db.Query(context.Background(), `SELECT debate_id, seq, type FROM `+rs.table("debate_events")+` WHERE debate_id = ANY($1) ORDER BY debate_id, seq`, ids)
	require.NoError(t, err)
	type ev struct {
		seq int64
		typ string
	}
	logs := map[string][]ev{}
	for rows.Next() {
		var id string
		var e ev
		require.NoError(t, rows.Scan(&id, &e.seq, &e.typ))
		logs[id] = append(logs[id], e)
	}
	require.NoError(t, rows.Err())
	for _, id := range ids {
		l := logs[id]
		require.NotEmpty(t, l, "debate %s has no events", id)
		ends := 0
		for i, e := range l {
			require.Equal(t, int64(i+1), e.seq, "debate %s: seq contiguous from 1", id)
			if e.typ == "debate_end" {
				ends++
			}
		}
		require.Equal(t, "debate_start", l[0].typ, "debate %s", id)
		require.Equal(t, "debate_end", l[len(l)-1].typ, "debate %s", id)
		require.Equal(t, 1, ends, "debate %s: one debate_end", id)
	}
}

// holderPID returns the process id a lease owner name carries
// (host-pid-random), or 0.
func holderPID(owner string) int {
	parts := strings.Split(owner, "-")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// leaseWatch samples every debate's lease owner and generation until
// stopped: the lease history the tests check ownership against.
type leaseWatch struct {
	mu      sync.Mutex
	owners  map[string]map[int64]map[string]bool // debate → generation → owners seen
	regress []string                             // a generation that went down
	last    map[string]int64
	stop    context.CancelFunc
	done    chan struct{}
	samples int
}

func (rs *replicaSet) watchLeases() *leaseWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &leaseWatch{owners: map[string]map[int64]map[string]bool{}, last: map[string]int64{}, stop: cancel, done: make(chan struct{})}
	rs.t.Cleanup(func() { cancel(); <-w.done }) // a test that failed before end
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			rows, err := rs.debates(ctx)
			if err == nil {
				w.mu.Lock()
				w.samples++
				for id, r := range rows {
					if r.Generation < w.last[id] {
						w.regress = append(w.regress, fmt.Sprintf("%s: %d after %d", id, r.Generation, w.last[id]))
					}
					w.last[id] = r.Generation
					if r.Owner == "" {
						continue
					}
					g := w.owners[id]
					if g == nil {
						g = map[int64]map[string]bool{}
						w.owners[id] = g
					}
					if g[r.Generation] == nil {
						g[r.Generation] = map[string]bool{}
					}
					g[r.Generation][r.Owner] = true
				}
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w
}

// end stops the sampling and requires that no generation was held by two
// owners and that no generation went down.
func (w *leaseWatch) end(t *testing.T) {
	t.Helper()
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Empty(t, w.regress, "lease generations never go down")
	for id, gens := range w.owners {
		for g, owners := range gens {
			require.Len(t, owners, 1, "debate %s generation %d had one holder", id, g)
		}
	}
	require.Positive(t, w.samples)
}

// generation returns the last generation seen for debate id.
func (w *leaseWatch) generation(id string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[id]
}

// ownersOf returns the distinct holders seen for debate id, by generation.
func (w *leaseWatch) ownersOf(id string) map[int64]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[int64]string{}
	for g, owners := range w.owners[id] {
		for o := range owners {
			out[g] = o
		}
	}
	return out
}

// TestReplicasHarness checks the harness itself: three replicas behind
// the load balancer answer in turn, and a replaced slot is probed.
func TestReplicasHarness(t *testing.T) {
	t.Parallel()
	rs := newReplicaSet(t, 3, replicaEnv(t, ""))
	seen := map[string]bool{}
	for range 6 {
		resp, _, err := rs.do(http.MethodGet, "/api/health/ready", "", nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		seen[resp.Header.Get(replicaHeader)] = true
	}
	require.Len(t, seen, 3, "round robin over the three replicas")
	require.NoError(t, rs.proc(0).cmd.Process.Signal(syscall.SIGKILL))
	<-rs.proc(0).done
	for range 6 {
		resp, _, err := rs.do(http.MethodGet, "/api/health/ready", "", nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
}

// replicaOf returns the index of the replica whose process holds the
// lease owner name owner, or -1.
func (rs *replicaSet) replicaOf(owner string) int {
	pid := holderPID(owner)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for i, p := range rs.procs {
		if p.cmd.Process.Pid == pid {
			return i
		}
	}
	return -1
}

// cliEnv returns a getenv for in-process CLI commands on the set's store.
func (rs *replicaSet) cliEnv(dataDir string) func(string) string {
	return func(k string) string {
		if k == "ARAGORA_DATA_DIR" {
			return dataDir
		}
		switch k {
		case "ARAGORA_DATABASE_URL", "ARAGORA_DB_SCHEMA", "ARAGORA_JWT_SECRET":
			return rs.env[k]
		}
		return ""
	}
}

// TestReplicasServeAsOne runs 200 debates through the load balancer on
// three replicas, follows a debate running on replica B from replica A's
// WebSocket and resumes on replica C, and checks idempotency keys, a
// shared rate limit and a revocation across the replicas.
func TestReplicasServeAsOne(t *testing.T) {
	t.Parallel()
	env := replicaEnv(t, "")
	env[demoDelayEnv] = "10"
	env["ARAGORA_RATE_LIMIT_RPM"] = "30"
	env["ARAGORA_MAX_CONCURRENT_DEBATES"] = "20"
	rs := newReplicaSet(t, 3, env)
	leases := rs.watchLeases()

	// 1. A debate on B, followed from A and resumed on C.
	a, b, c := rs.proc(0), rs.proc(1), rs.proc(2)
	follow := b.createDebate(t, `{"topic":"Followed across replicas","rounds":4,"min_rounds":4,"seed":11}`)
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	defer cancel()
	seen := map[int64]int{}
	ca := dialWS(t, ctx, strings.Replace(a.apiURL, "http", "ws", 1)+"/ws/debates/"+follow)
	last, epoch, err := followWSUntil(ctx, ca, seen, 8)
	require.NoError(t, err, "stream on A, before the hand-over to C")
	_ = ca.Close(1000, "moving to C")

	// 2. Meanwhile, 200 debates through the load balancer.
	byReplica := map[string]int{}
	var ids []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 200; i += 8 {
				resp, body, err := rs.do(http.MethodPost, "/api/debates", fmt.Sprintf(`{"topic":"Replica load %d","rounds":1,"seed":%d}`, i, i), nil)
				if err != nil {
					errs <- err
					continue
				}
				if resp.StatusCode != http.StatusAccepted {
					errs <- fmt.Errorf("create %d: %d %s", i, resp.StatusCode, body)
					continue
				}
				var d struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(body, &d); err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				ids = append(ids, d.ID)
				byReplica[resp.Header.Get(replicaHeader)]++
				mu.Unlock()
			}
		}()
	}

	cc := dialWS(t, ctx, fmt.Sprintf("%s/ws/debates/%s?after_seq=%d&epoch=%s", strings.Replace(c.apiURL, "http", "ws", 1), follow, last, epoch))
	require.NoError(t, followWS(ctx, cc, seen), "resumed stream on C")
	_ = cc.Close(1000, "done")
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, ids, 200)
	t.Logf("creates answered per replica: %v", byReplica)
	require.Len(t, byReplica, 3, "the creates were spread over the three replicas")

	fd := b.waitDebate(t, follow, "finished", finished)
	requireSeqsOnce(t, seen, fd.LastSeq, "the stream followed on A then C")
	for g, owner := range leases.ownersOf(follow) {
		require.Equal(t, 1, rs.replicaOf(owner), "generation %d of the followed debate was held by replica B", g)
	}
	require.Equal(t, int64(1), leases.generation(follow), "the followed debate was claimed once")

	all := append([]string{follow}, ids...)
	rows := rs.waitFinished(t, all, e2eDeadline)
	rs.checkEventLog(t, all)
	ranOn, stolen := map[int]int{}, 0
	for _, id := range ids {
		// Claimed once (generation 1): no replica resumed a debate
		// another one ran, however many sweepers saw it.
		require.Equal(t, int64(1), rows[id].Generation, "debate %s claimed once", id)
		owners := leases.ownersOf(id)
		if o, ok := owners[1]; ok {
			ranOn[rs.replicaOf(o)]++
		}
		if o0, ok := owners[0]; ok && owners[1] != "" && o0 != owners[1] {
			stolen++ // reserved by its creator, run by a peer after the reservation expired
		}
	}
	t.Logf("debates seen running per replica (lease history samples): %v; run by a peer of the replica that queued them: %d", ranOn, stolen)
	leases.end(t)

	t.Run("idempotency key across replicas", func(t *testing.T) {
		body := `{"topic":"Idempotent across replicas","rounds":1,"seed":5}`
		var first string
		for i := range 3 {
			p := rs.proc(i)
			req, err := http.NewRequest(http.MethodPost, p.apiURL+"/api/debates", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "replicas-key-1")
			resp, err := p.http.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusAccepted, resp.StatusCode, "replica %d: %s", i, b)
			if i == 0 {
				first = string(b)
				require.Empty(t, resp.Header.Get("Idempotent-Replayed"))
				continue
			}
			require.Equal(t, first, string(b), "replica %d replays the first answer", i)
			require.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"), "replica %d", i)
		}
		var n int
		require.NoError(t, rs.db.QueryRow(context.Background(), `SELECT count(*) FROM `+rs.table("debates")+` WHERE topic = 'Idempotent across replicas'`).Scan(&n))
		require.Equal(t, 1, n, "one debate for three requests")
	})

	t.Run("rate limit shared", func(t *testing.T) {
		// One client (named by X-Forwarded-For, which the replicas
		// trust from loopback) spread over three replicas by the load
		// balancer gets the decisions of one process: the burst of 30
		// (ARAGORA_RATE_LIMIT_RPM) plus what refills meanwhile (one per
		// 2 s), not three times it.
		hdr := map[string]string{"X-Forwarded-For": fmt.Sprintf("10.%d.%d.%d", time.Now().UnixNano()%250, os.Getpid()%250, 7)}
		allowed, limited := 0, map[string]int{}
		start := time.Now()
		const n = 60
		for range n {
			resp, b, err := rs.do(http.MethodGet, "/api/agents/status", "", hdr)
			require.NoError(t, err)
			switch resp.StatusCode {
			case http.StatusOK:
				allowed++
			case http.StatusTooManyRequests:
				limited[resp.Header.Get(replicaHeader)]++
				require.NotEmpty(t, resp.Header.Get("Retry-After"))
			default:
				t.Fatalf("unexpected %d: %s", resp.StatusCode, b)
			}
		}
		elapsed := time.Since(start)
		refill := int(elapsed/(2*time.Second)) + 1
		t.Logf("%d requests in %s over 3 replicas: %d allowed, limited per replica %v", n, elapsed.Round(time.Millisecond), allowed, limited)
		require.GreaterOrEqual(t, allowed, 30, "the burst is allowed")
		require.LessOrEqual(t, allowed, 30+refill, "the replicas share one bucket")
		require.Len(t, limited, 3, "every replica refused some: they saw the same bucket")
	})

	t.Run("revocation on A refused on B and C", func(t *testing.T) {
		dir := t.TempDir()
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"users", "create", "--email", "revoked@example.com", "--role", "member", "--generate-password"},
			strings.NewReader(""), &out, &errb, rs.cliEnv(dir))
		require.Equal(t, 0, code, "users create: %s %s", out.String(), errb.String())
		out.Reset()
		code = run(context.Background(), []string{"token", "create", "--user", "revoked@example.com", "--ttl", "1h"},
			strings.NewReader(""), &out, &errb, rs.cliEnv(dir))
		require.Equal(t, 0, code, "token create: %s", errb.String())
		token := strings.TrimSpace(out.String())
		jti := jwtID(t, token)
		for i := range 3 {
			code, body := rs.proc(i).do(t, http.MethodGet, "/api/auth/me", token, "")
			require.Equal(t, http.StatusOK, code, "replica %d before the revocation: %s", i, body)
		}
		code, body := rs.proc(0).do(t, http.MethodPost, "/api/admin/revoke-token", "", `{"token_id":"`+jti+`","reason":"replica test"}`)
		require.Equal(t, http.StatusOK, code, "%s", body)
		revoked := time.Now()
		for _, i := range []int{1, 2} {
			code, body := rs.proc(i).do(t, http.MethodGet, "/api/auth/me", token, "")
			require.Equal(t, http.StatusUnauthorized, code, "replica %d right after the revocation on A: %s", i, body)
			require.Contains(t, string(body), "token_revoked")
		}
		t.Logf("revocation on A refused on B and C %s later, at the first request", time.Since(revoked).Round(time.Millisecond))
	})
}

// jwtID returns the jti claim of a JWT.
func jwtID(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "a JWT")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		JTI string `json:"jti"`
	}
	require.NoError(t, json.Unmarshal(raw, &claims))
	require.NotEmpty(t, claims.JTI)
	return claims.JTI
}

// TestReplicasSurviveSIGKILL kills the replica running about a third of
// 30 debates, each held after its first round until the kill (a gate, see
// testTakeover): every one of its debates is taken over by a survivor,
// resumed from its checkpoint, and finishes, the event logs stay
// contiguous with one debate_end, and the lease history shows one holder
// per generation and one takeover per killed debate. It reports the
// takeover time.
func TestReplicasSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	testTakeover(t, syscall.SIGKILL)
}

// TestReplicasSurvivePause is the takeover of TestReplicasSurviveSIGKILL
// when the replica is paused (SIGSTOP) instead: its process still exists,
// as a replica on another host or behind a partition would seem to, so
// its debates wait for their lease to expire. When it resumes (SIGCONT)
// it has lost every lease and writes nothing more: the records stay as the
// survivors wrote them. A replica paused inside a store transaction holds
// its debate's row locked until Postgres ends the idle transaction (10 s):
// the survivors' claims are refused meanwhile, not queued on the lock, so
// that debate too is taken over once, a few seconds later
// (docs/SCALING.md#failure-modes).
func TestReplicasSurvivePause(t *testing.T) {
	t.Parallel()
	testTakeover(t, syscall.SIGSTOP)
}

func testTakeover(t *testing.T, sig syscall.Signal) {
	env := replicaEnv(t, "")
	env[demoDelayEnv] = "300"
	// The debates run their first round, then wait at the gate (every demo
	// agent call after round 1 waits for the gate file) until the replica
	// is killed: they are mid-way at the kill however long creating and
	// claiming them took on this machine, and none can finish before it.
	// A call waiting at the gate stays within its agent timeout.
	gate := filepath.Join(t.TempDir(), "gate")
	env["ARAGORA_DEMO_GATE"] = gate
	env["ARAGORA_AGENT_TIMEOUT_SECONDS"] = strconv.Itoa(int(2 * e2eDeadline / time.Second))
	// Room on the survivors for the debates they take over: the takeover
	// time measured is the detection's, not a wait for a free slot.
	env["ARAGORA_MAX_CONCURRENT_DEBATES"] = "20"
	env["ARAGORA_DEBATE_LEASE_SECONDS"] = strconv.Itoa(takeoverLease)
	rs := newReplicaSet(t, 3, env)
	leases := rs.watchLeases()
	var ids []string
	for i := range 30 {
		ids = append(ids, rs.create(t, fmt.Sprintf(`{"topic":"Survive a replica crash %d","rounds":4,"min_rounds":4,"seed":%d}`, i, i)))
	}
	// Mid-way: every debate claimed, running, its first round stored (a
	// round_end), the next one waiting at the gate.
	ctx := context.Background()
	deadline := time.Now().Add(e2eDeadline)
	var before map[string]debateRow
	for {
		rows, err := rs.debates(ctx)
		require.NoError(t, err)
		var rounds []string
		require.NoError(t, rs.db.QueryRow(ctx, `SELECT COALESCE(array_agg(DISTINCT debate_id), '{}') FROM `+rs.table("debate_events")+` WHERE type = 'round_end'`).Scan(&rounds))
		ready := 0
		for _, id := range ids {
			require.False(t, terminal(rows[id].Status), "debate %s finished before the kill, through the gate", id)
			if rows[id].Status == "running" && rows[id].Generation >= 1 && slices.Contains(rounds, id) {
				ready++
			}
		}
		if ready == len(ids) {
			before = rows
			break
		}
		require.True(t, time.Now().Before(deadline), "debates not all running past their first round: %d of %d", ready, len(ids))
		time.Sleep(100 * time.Millisecond)
	}
	perReplica := map[int][]string{}
	for _, id := range ids {
		perReplica[rs.replicaOf(before[id].Owner)] = append(perReplica[rs.replicaOf(before[id].Owner)], id)
	}
	victim := 0
	for i := range 3 {
		if len(perReplica[i]) > len(perReplica[victim]) {
			victim = i
		}
	}
	killed := perReplica[victim]
	t.Logf("debates per replica before the kill: %d, %d, %d; killing replica %d", len(perReplica[0]), len(perReplica[1]), len(perReplica[2]), victim)
	dead := rs.proc(victim)
	deadHolder := before[killed[0]].Owner
	require.NoError(t, dead.cmd.Process.Signal(sig))
	killedAt := time.Now()
	if sig == syscall.SIGKILL {
		<-dead.done
	}
	require.NoError(t, os.WriteFile(gate, nil, 0o600)) // the debates go on, the killed ones once taken over

	// Takeover: each killed debate claimed by a survivor (a higher generation).
	takenAt := map[string]time.Duration{}
	for len(takenAt) < len(killed) {
		rows, err := rs.debates(ctx)
		require.NoError(t, err)
		for _, id := range killed {
			r := rows[id]
			if _, ok := takenAt[id]; !ok && (r.Generation > before[id].Generation || terminal(r.Status)) {
				require.NotEqual(t, deadHolder, r.Owner, "debate %s", id)
				takenAt[id] = time.Since(killedAt)
			}
		}
		require.Less(t, time.Since(killedAt), e2eDeadline, "debates not taken over: %d of %d", len(takenAt), len(killed))
		time.Sleep(25 * time.Millisecond)
	}
	var first, last time.Duration
	for _, d := range takenAt {
		if first == 0 || d < first {
			first = d
		}
		last = max(last, d)
	}
	t.Logf("%s of replica %d running %d of %d debates: first taken over after %s, all after %s (lease %d s)",
		map[syscall.Signal]string{syscall.SIGKILL: "SIGKILL", syscall.SIGSTOP: "SIGSTOP"}[sig], victim, len(killed), len(ids), first.Round(time.Millisecond), last.Round(time.Millisecond), takeoverLease)
	if sig == syscall.SIGSTOP {
		require.NoError(t, dead.cmd.Process.Signal(syscall.SIGCONT))
	}

	rows := rs.waitFinished(t, ids, e2eDeadline)
	leases.end(t)
	rs.checkEventLog(t, ids)
	for _, id := range ids {
		r := rows[id]
		if slices.Contains(killed, id) {
			// One takeover: exactly one survivor claimed it once.
			require.Equal(t, before[id].Generation+1, r.Generation, "debate %s taken over once", id)
			for g, owner := range leases.ownersOf(id) {
				if g > before[id].Generation {
					require.NotEqual(t, deadHolder, owner, "debate %s generation %d", id, g)
				}
			}
			continue
		}
		require.Equal(t, before[id].Generation, r.Generation, "debate %s of a survivor was never claimed again", id)
	}
}

// loadResult is what a steady load through the load balancer saw.
type loadResult struct {
	mu       sync.Mutex
	ids      []string
	codes    map[int]int
	failures []string // anything but 2xx and 503 with Retry-After
	fiveXX   int
}

// steadyLoad creates a debate with body every interval and reads the
// previous one back, through the load balancer, until stop is closed (or
// the test ends).
func (rs *replicaSet) steadyLoad(body string, interval time.Duration, stop <-chan struct{}) (*loadResult, <-chan struct{}) {
	res := &loadResult{codes: map[int]int{}}
	done := make(chan struct{})
	ended := make(chan struct{})
	rs.t.Cleanup(func() { close(ended); <-done })
	record := func(what string, resp *http.Response, b []byte, err error) bool {
		res.mu.Lock()
		defer res.mu.Unlock()
		if err != nil {
			res.failures = append(res.failures, fmt.Sprintf("%s: %v", what, err))
			return false
		}
		res.codes[resp.StatusCode]++
		if resp.StatusCode >= 500 {
			res.fiveXX++
		}
		switch {
		case resp.StatusCode < 300:
			return true
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		default:
			res.failures = append(res.failures, fmt.Sprintf("%s: %d %s", what, resp.StatusCode, b))
		}
		return false
	}
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-ended:
				return
			case <-time.After(interval):
			}
			resp, b, err := rs.do(http.MethodPost, "/api/debates", fmt.Sprintf(body, i), nil)
			if record("create", resp, b, err) {
				var d struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(b, &d) == nil {
					res.mu.Lock()
					res.ids = append(res.ids, d.ID)
					res.mu.Unlock()
				}
			}
			res.mu.Lock()
			var prev string
			if len(res.ids) > 0 {
				prev = res.ids[len(res.ids)-1]
			}
			res.mu.Unlock()
			if prev != "" {
				resp, b, err := rs.do(http.MethodGet, "/api/debates/"+prev, "", nil)
				record("get", resp, b, err)
			}
		}
	}()
	return res, done
}

// TestReplicasRollingRestart restarts the three replicas one at a time
// with the restart recipe of docs/operations.md (SIGTERM, then a new
// process on the same ports, which binds next to the draining one) under
// a steady load of debate creation through the load balancer: no request
// fails other than a 503 with Retry-After, and every accepted debate
// finishes.
func TestReplicasRollingRestart(t *testing.T) {
	t.Parallel()
	env := replicaEnv(t, "")
	env[demoDelayEnv] = "150"
	env["ARAGORA_SHUTDOWN_TIMEOUT_SECONDS"] = "5" // listeners stay open min(5 s, 5/5 s) = 1 s while draining
	rs := newReplicaSet(t, 3, env)
	leases := rs.watchLeases()
	ids, rows := rs.rollOverUnderLoad(t, aragoraBinary(t), env, `{"topic":"Rolling restart %d","rounds":3,"min_rounds":3,"seed":3}`, "rolling restart")
	leases.end(t)
	resumed := 0
	for _, id := range ids {
		if rows[id].Generation > 1 {
			resumed++
		}
	}
	t.Logf("debates suspended by a shutdown and resumed elsewhere: %d", resumed)
}

// rollOver replaces each replica in turn, as the runbook's restart recipe
// does: SIGTERM, a new process of bin on the same ports a second later,
// and the load balancer seeing it ready before the next replica goes. It
// returns the time from SIGTERM to the replacement ready, per replica.
func (rs *replicaSet) rollOver(t *testing.T, bin string, env map[string]string) []string {
	t.Helper()
	var took []string
	for i := range len(rs.procs) {
		old := rs.proc(i)
		t0 := time.Now()
		require.NoError(t, old.cmd.Process.Signal(syscall.SIGTERM))
		time.Sleep(time.Second)
		next := launchBinary(t, bin, t.TempDir(), env, old)
		next.waitReady(t)
		rs.replace(i, next)
		select {
		case <-old.done:
		case <-time.After(e2eDeadline):
			t.Fatalf("replica %d did not exit after SIGTERM", i)
		}
		require.NoError(t, old.exitErr, "replica %d exit status:\n%s", i, old.out.String())
		took = append(took, time.Since(t0).Round(time.Millisecond).String())
		deadline := time.Now().Add(e2eDeadline)
		for rs.readyCount() < len(rs.procs) {
			require.True(t, time.Now().Before(deadline), "replica %d never ready behind the load balancer", i)
			time.Sleep(20 * time.Millisecond)
		}
	}
	return took
}

// rollOverUnderLoad rolls the replicas over to bin (rollOver) under a
// steady load of debate creation (body: the topic's format), one every
// 50 ms from a second before to a second after: no request fails and every
// accepted debate finishes with a whole event log. It logs the load's
// figures under what and returns the accepted debates and the rows of
// waitFinished.
func (rs *replicaSet) rollOverUnderLoad(t *testing.T, bin string, env map[string]string, body, what string) ([]string, map[string]debateRow) {
	t.Helper()
	stop := make(chan struct{})
	load, loadDone := rs.steadyLoad(body, 50*time.Millisecond, stop)
	time.Sleep(time.Second)
	took := rs.rollOver(t, bin, env)
	time.Sleep(time.Second)
	close(stop)
	<-loadDone
	load.mu.Lock()
	defer load.mu.Unlock()
	t.Logf("%s (per replica: %v): responses by status %v, %d debates accepted", what, took, load.codes, len(load.ids))
	require.Empty(t, load.failures, "failed requests")
	require.NotEmpty(t, load.ids)
	rows := rs.waitFinished(t, load.ids, e2eDeadline)
	rs.checkEventLog(t, load.ids)
	return load.ids, rows
}

// throwawayRedis is a redis-server of the test's own on a free port (the
// shared one must not be stopped: other tests use it).
type throwawayRedis struct {
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(t *testing.T, port int) *throwawayRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("the Redis outage test starts its own redis-server: install it (apt-get install -y redis-server)")
	}
	r := &throwawayRedis{port: port, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out := &syncbuf.Buffer{}
	r.cmd.Stdout, r.cmd.Stderr = out, out
	require.NoError(t, r.cmd.Start())
	go func() {
		_ = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(r.kill)
	deadline := time.Now().Add(e2eDeadline)
	for {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 7)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := io.ReadFull(c, buf)
			c.Close()
			if string(buf[:n]) == "+PONG\r\n" {
				return r
			}
		}
		select {
		case <-r.done:
			t.Fatalf("redis-server exited: %s", out.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "redis-server not ready: %s", out.String())
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops the redis-server with SIGKILL (by its own PID) and waits.
func (r *throwawayRedis) kill() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// redisStatus returns the Redis check of every replica's /api/health.
func (rs *replicaSet) redisStatus(t *testing.T) []string {
	var out []string
	for i := range rs.procs {
		var h struct {
			Status string `json:"status"`
			Checks struct {
				Redis struct {
					Status string `json:"status"`
				} `json:"redis"`
			} `json:"checks"`
		}
		code, body := rs.proc(i).get(t, "/api/health")
		if code != http.StatusOK || json.Unmarshal(body, &h) != nil {
			out = append(out, fmt.Sprintf("http %d", code))
			continue
		}
		out = append(out, h.Status+"/"+h.Checks.Redis.Status)
	}
	return out
}

// TestReplicasRedisOutage kills the replicas' Redis (a throwaway
// redis-server) for 10 s under a steady load: no request answers 5xx, a
// WebSocket client on replica A following a debate run on replica B gets
// every event once (the fan-out polls the store meanwhile), health says
// degraded and then ok again, and events are published to Redis again
// once it is back.
func TestReplicasRedisOutage(t *testing.T) {
	t.Parallel()
	aragoraBinary(t)
	port := freePort(t)
	redisSrv := startRedis(t, port)
	env := replicaEnv(t, fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	env[demoDelayEnv] = "150"
	// The Redis breaker probes again 2 s after it opened (default 30 s):
	// the recovery time after Redis returns is bounded by it.
	env["ARAGORA_CB_OPEN_SECONDS"] = "2"
	rs := newReplicaSet(t, 3, env)
	a, b := rs.proc(0), rs.proc(1)

	stop := make(chan struct{})
	load, loadDone := rs.steadyLoad(`{"topic":"Redis outage %d","rounds":1,"seed":2}`, 100*time.Millisecond, stop)
	// A debate on B that outlasts the outage, followed from A.
	follow := b.createDebate(t, `{"topic":"Followed through a Redis outage","rounds":8,"min_rounds":8,"seed":9}`)
	ctx, cancel := context.WithTimeout(context.Background(), 2*e2eDeadline)
	defer cancel()
	seen := map[int64]int{}
	c := dialWS(t, ctx, strings.Replace(a.apiURL, "http", "ws", 1)+"/ws/debates/"+follow)
	followed := make(chan error, 1)
	go func() { followed <- followWS(ctx, c, seen) }()

	time.Sleep(time.Second)
	redisSrv.kill()
	downAt := time.Now()
	var degraded []string
	deadline := time.Now().Add(e2eDeadline)
	for {
		st := rs.redisStatus(t)
		if !slices.ContainsFunc(st, func(s string) bool { return strings.HasSuffix(s, "/ok") || strings.HasPrefix(s, "http") }) {
			degraded = st
			break
		}
		require.True(t, time.Now().Before(deadline), "health never showed Redis down: %v", st)
		time.Sleep(100 * time.Millisecond)
	}
	seenDown := time.Since(downAt)
	time.Sleep(10*time.Second - seenDown)
	startRedis(t, port) // stopped by its cleanup
	upAt := time.Now()
	for {
		st := rs.redisStatus(t)
		if !slices.ContainsFunc(st, func(s string) bool { return !strings.HasSuffix(s, "/ok") }) {
			break
		}
		require.Less(t, time.Since(upAt), e2eDeadline, "health never recovered: %v", st)
		time.Sleep(100 * time.Millisecond)
	}
	recovered := time.Since(upAt)

	select {
	case err := <-followed:
		require.NoError(t, err, "the WebSocket follow on A")
	case <-ctx.Done():
		t.Fatal("the followed debate did not end")
	}
	_ = c.Close(1000, "done")
	fd := b.waitDebate(t, follow, "finished", finished)
	requireSeqsOnce(t, seen, fd.LastSeq, "the stream followed through the outage")

	// The fan-out is back on Redis: a new debate's events are published.
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	t.Cleanup(func() { _ = rdb.Close() })
	sub := rdb.PSubscribe(ctx, "*events:*")
	t.Cleanup(func() { _ = sub.Close() })
	_, err := sub.Receive(ctx)
	require.NoError(t, err)
	after := b.createDebate(t, `{"topic":"After the outage","rounds":1,"seed":4}`)
	select {
	case m := <-sub.Channel():
		require.Contains(t, m.Channel, "events:")
	case <-time.After(e2eDeadline):
		t.Fatal("no event published to Redis after it came back")
	}
	close(stop)
	<-loadDone
	load.mu.Lock()
	defer load.mu.Unlock()
	t.Logf("Redis down 10 s: health degraded on every replica after %s (%v), ok again %s after Redis returned; load responses by status %v",
		seenDown.Round(time.Millisecond), degraded, recovered.Round(time.Millisecond), load.codes)
	require.Zero(t, load.fiveXX, "no 5xx while Redis is down")
	require.Empty(t, load.failures)
	rs.waitFinished(t, append(load.ids, follow, after), e2eDeadline)
	rs.checkEventLog(t, append(load.ids, follow, after))
}

// TestReplicasWebhookClaimsNeverOverlap queues webhook messages on all
// three replicas, with a slow receiver: each message arrives once and no
// delivery is attempted by two replicas at once (the two-server case is
// TestE2ETwoServersOnePostgresNeverOverlap).
func TestReplicasWebhookClaimsNeverOverlap(t *testing.T) {
	t.Parallel()
	rc := newHookReceiver(t, webhook.NewSecret(), 50*time.Millisecond)
	env := replicaEnv(t, "")
	env = webhookEnv(rc, env)
	env["ARAGORA_DEBATE_LEASE_SECONDS"] = strconv.Itoa(replicaLease)
	rs := newReplicaSet(t, 3, env)
	var ids []string
	for i := range 30 {
		ids = append(ids, rs.proc(i%3).testMessage(t, "env-1"))
	}
	rc.waitDelivered(t, ids, rs.procs...)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Empty(t, rc.overlaps, "webhook-ids attempted by two replicas at once")
	require.Zero(t, rc.badSigs)
	for _, id := range ids {
		require.Equal(t, 1, rc.seen[id], "%s delivered once", id)
	}
}

// TestReplicasNomicCommands runs `aragora nomic run` on the replicas'
// Postgres store and controls it through three different replicas: the
// pause sent to B is seen by A and C, and the resume sent to C lets the
// loop finish its cycle (commands are store rows the loop consumes,
// docs/nomic.md).
func TestReplicasNomicCommands(t *testing.T) {
	t.Parallel()
	bin := aragoraBinary(t)
	env := replicaEnv(t, "")
	dir, pub := slowVerifyRepo(t, bin)
	rs := newReplicaSet(t, 3, env)
	done, loopOut := startNomicLoop(t, bin, dir, pub, "ARAGORA_DATA_DIR="+t.TempDir(),
		"ARAGORA_DATABASE_URL="+env["ARAGORA_DATABASE_URL"], "ARAGORA_DB_SCHEMA="+env["ARAGORA_DB_SCHEMA"], "ARAGORA_JWT_SECRET="+env["ARAGORA_JWT_SECRET"])

	a, b, c := rs.proc(0), rs.proc(1), rs.proc(2)
	waitLoopInVerify(t, a, " (seen on A)")
	var st nomic.Status
	b.post(t, "/api/admin/nomic/pause", `{"reason": "paused on B"}`, http.StatusOK, &st)
	require.Equal(t, "paused", st.State)
	for _, p := range []*serverProc{a, c} {
		p.getJSON(t, "/api/admin/nomic/status", &st)
		require.Equal(t, "paused", st.State, "replica on port %d", p.apiPort)
	}
	a.post(t, "/api/admin/nomic/pause", `{"reason": "again on A"}`, http.StatusConflict, nil)
	c.post(t, "/api/admin/nomic/resume", "", http.StatusOK, nil)
	waitLoopDone(t, done, loopOut, "after the resume on C")
	var m nomic.MetricsSummary
	b.getJSON(t, "/api/nomic/metrics", &m)
	require.Equal(t, int64(1), m.Summary.Cycles["success"])
}
