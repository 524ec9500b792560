package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/testenv"
)

// The fault suite's real-process faults (docs/operations.md#fault-suite):
// a stopped Postgres cluster, a full disk, a rolling restart. Each test
// logs the figures the table of docs/operations.md reports.

// createLoad POSTs debates to url until stop is closed and counts the
// answers by status (0: no HTTP answer); it keeps the ids accepted.
type createLoad struct {
	mu    sync.Mutex
	codes map[int]int
	ids   []string
	body  string
	errs  []string
	// retried lists the transport errors a create was retried after.
	retried []string
	seq     atomic.Int64
}

func (l *createLoad) run(url string, stop <-chan struct{}, every time.Duration) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		select {
		case <-stop:
			return
		default:
		}
		l.once(c, url)
		select {
		case <-stop:
			return
		case <-time.After(every):
		}
	}
}

// once creates one debate as a careful client does: with an
// Idempotency-Key, retrying a request that got no HTTP answer at all (a
// connection the kernel queued on a listener closing at a hand-over is
// reset before the request is read: docs/operations.md#stop-drain-and-restart).
func (l *createLoad) once(c *http.Client, url string) int {
	key := fmt.Sprintf("fault-%d", l.seq.Add(1))
	var resp *http.Response
	var err error
	for attempt := range 3 {
		var req *http.Request
		req, err = http.NewRequest(http.MethodPost, url+"/api/debates", strings.NewReader(l.body))
		if err != nil {
			break
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		if resp, err = c.Do(req); err == nil {
			break
		}
		l.mu.Lock()
		l.retried = append(l.retried, fmt.Sprintf("attempt %d: %v", attempt+1, err))
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.codes == nil {
		l.codes = map[int]int{}
	}
	if err != nil {
		l.codes[0]++
		l.errs = append(l.errs, err.Error())
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	l.codes[resp.StatusCode]++
	if resp.StatusCode == http.StatusAccepted {
		var d struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &d) == nil {
			l.ids = append(l.ids, d.ID)
		}
	} else if resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusInsufficientStorage {
		l.errs = append(l.errs, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	return resp.StatusCode
}

func (l *createLoad) snapshot() (map[int]int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	codes := map[int]int{}
	for k, v := range l.codes {
		codes[k] = v
	}
	return codes, append([]string(nil), l.ids...)
}

// settledReceipts waits for every debate of ids to finish and returns its
// status and receipt id; a second read must give the same (an
// acknowledged result never changes) and the receipt must resolve.
func settledReceipts(t *testing.T, p *serverProc, ids []string) (changed, missing int) {
	t.Helper()
	type seen struct{ status, receipt string }
	first := map[string]seen{}
	for _, id := range ids {
		d := p.waitDebate(t, id, "finished", finished)
		var obj struct {
			ReceiptID *string `json:"receipt_id"`
		}
		p.getJSON(t, "/api/debates/"+id, &obj)
		if obj.ReceiptID == nil {
			missing++
			continue
		}
		first[id] = seen{d.Status, *obj.ReceiptID}
	}
	for id, s := range first {
		var obj struct {
			Status    string  `json:"status"`
			ReceiptID *string `json:"receipt_id"`
		}
		p.getJSON(t, "/api/debates/"+id, &obj)
		if obj.ReceiptID == nil || (seen{obj.Status, *obj.ReceiptID}) != s {
			changed++
		}
		if code, _ := p.get(t, "/api/debates/"+id+"/receipt"); code != http.StatusOK {
			missing++
		}
	}
	return changed, missing
}

// faultEnv is the configuration of a server under a fault: the create
// load is not rate limited nor queue-bound, so every answer is the fault's.
func faultEnv(extra map[string]string) map[string]string {
	env := map[string]string{"ARAGORA_RATE_LIMIT_DISABLED": "true", "ARAGORA_MAX_CONCURRENT_DEBATES": "50", "ARAGORA_DEBATE_QUEUE_SIZE": "1000"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// throwawayCluster is a Postgres cluster of this test alone (initdb into
// a temporary directory, on a free port), which the test may stop.
type throwawayCluster struct {
	dir, port string
	cred      *syscall.Credential
}

func newThrowawayCluster(t *testing.T) *throwawayCluster {
	t.Helper()
	if os.Getenv("ARAGORA_TEST_POSTGRES_URL") == "" {
		t.Skip("set ARAGORA_TEST_POSTGRES_URL to run the Postgres fault tests (this one stops its own throwaway cluster)")
	}
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the stopped-Postgres fault needs %s in PATH to make a throwaway cluster: %v", tool, err)
		}
	}
	c := &throwawayCluster{port: strconv.Itoa(freePort(t))}
	dir, err := os.MkdirTemp("", "aragora-fault-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	c.dir = dir
	if os.Geteuid() == 0 { // Postgres refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root without a postgres user to run the throwaway cluster: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		require.NoError(t, os.Chown(dir, uid, gid))
	}
	c.run(t, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync")
	c.start(t)
	t.Cleanup(func() { _ = c.cmd("pg_ctl", "-D", filepath.Join(dir, "data"), "stop", "-m", "immediate").Run() })
	return c
}

func (c *throwawayCluster) cmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *throwawayCluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := c.cmd(name, args...).CombinedOutput()
	require.NoError(t, err, "%s: %s", name, out)
}

func (c *throwawayCluster) start(t *testing.T) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"), "-w", "-o",
		"-p "+c.port+" -k "+c.dir+" -c listen_addresses=127.0.0.1 -c fsync=off", "start")
}

func (c *throwawayCluster) stop(t *testing.T) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-w", "stop", "-m", "immediate")
}

func (c *throwawayCluster) url() string {
	return "postgres://postgres@127.0.0.1:" + c.port + "/postgres?sslmode=disable"
}

// TestFaultPostgresStopped: a real server on a throwaway Postgres cluster
// that is stopped (immediate shutdown) for 10 s under creates, reads and
// running debates, then started again. No answer is a 500 (creates and
// reads answer 503 store_unavailable with Retry-After), readiness turns
// 503 during the outage, every accepted debate finishes once the cluster
// is back, and no acknowledged result or receipt id changes or is missing.
func TestFaultPostgresStopped(t *testing.T) {
	t.Parallel()
	pg := newThrowawayCluster(t)
	env := faultEnv(map[string]string{"ARAGORA_DATABASE_URL": pg.url(), demoDelayEnv: "150"})
	srv := startServer(t, t.TempDir(), env, nil)
	load := &createLoad{body: `{"topic":"Stop the database","rounds":2,"seed":5}`}
	var running []string
	for range 6 { // debates running when the cluster stops
		running = append(running, srv.createDebate(t, load.body))
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); load.run(srv.apiURL, stop, 25*time.Millisecond) }()
	time.Sleep(300 * time.Millisecond)
	pg.stop(t)
	outage := time.Now()
	reads, readiness := map[int]int{}, map[int]int{}
	for time.Since(outage) < 10*time.Second {
		code, _ := srv.get(t, "/api/debates?limit=5")
		reads[code]++
		code, _ = srv.get(t, "/api/health/ready")
		readiness[code]++
		time.Sleep(50 * time.Millisecond)
	}
	pg.start(t)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	codes, ids := load.snapshot()
	ids = append(ids, running...)
	changed, missing := settledReceipts(t, srv, ids)
	t.Logf("FAULT postgres_stopped_10s: creates by status %v, reads by status %v, readiness by status %v; accepted %d (+%d running at the stop); results changed %d, receipts missing %d; unexpected answers %v",
		codes, reads, readiness, len(ids)-len(running), len(running), changed, missing, load.errs)
	assert.Zero(t, codes[http.StatusInternalServerError]+reads[http.StatusInternalServerError], "no 500 from a stopped store")
	assert.Positive(t, readiness[http.StatusServiceUnavailable], "readiness turns 503 while the store cannot write")
	assert.Positive(t, codes[http.StatusServiceUnavailable], "creates during the outage answer 503")
	assert.Zero(t, changed, "no acknowledged result changed")
	assert.Zero(t, missing, "every receipt id resolves")
}

// TestFaultDiskFull: a real server on SQLite whose data directory is a
// small tmpfs that is filled up while debates run. Creates answer 507
// insufficient_storage (never 500), readiness 503, health says why; once
// space is freed every accepted debate finishes with its receipt and no
// result changes.
func TestFaultDiskFull(t *testing.T) {
	t.Parallel()
	aragoraBinary(t) // -short skips before the mount
	dir, err := os.MkdirTemp("", "aragora-fault-disk-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("the full-disk fault needs a tmpfs mount (root, or a container allowed to mount): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	srv := startServer(t, dir, faultEnv(map[string]string{demoDelayEnv: "150"}), nil)
	load := &createLoad{body: `{"topic":"Fill the disk","rounds":2,"seed":6}`}
	var running []string
	for range 4 {
		running = append(running, srv.createDebate(t, load.body))
	}
	// Fill the volume: a file that takes every free block.
	filler := filepath.Join(dir, "filler")
	testenv.FillDisk(t, filler)

	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	readiness := map[int]int{}
	var health string
	for range 40 {
		load.once(c, srv.apiURL)
		code, body := srv.get(t, "/api/health/ready")
		readiness[code]++
		if code != http.StatusOK {
			_, hb := srv.get(t, "/api/health")
			health = string(hb) + " (readiness: " + string(body) + ")"
		}
		time.Sleep(50 * time.Millisecond)
	}
	fullCodes, _ := load.snapshot()
	require.NoError(t, os.Remove(filler))
	time.Sleep(1500 * time.Millisecond)
	for range 5 {
		load.once(c, srv.apiURL)
	}
	codes, ids := load.snapshot()
	changed, missing := settledReceipts(t, srv, append(ids, running...))
	t.Logf("FAULT disk_full: creates while full by status %v, all creates %v, readiness while full %v; accepted %d (+%d running); results changed %d, receipts missing %d; health while full: %s",
		fullCodes, codes, readiness, len(ids), len(running), changed, missing, health)
	assert.Zero(t, codes[http.StatusInternalServerError], "no 500 from a full disk")
	assert.Positive(t, fullCodes[http.StatusInsufficientStorage], "creates on a full disk answer 507")
	assert.Positive(t, readiness[http.StatusServiceUnavailable], "readiness turns 503 on a full disk")
	assert.Contains(t, health, "storage_full")
	assert.Positive(t, codes[http.StatusAccepted]-fullCodes[http.StatusAccepted], "creates accepted again once space is freed")
	assert.Zero(t, changed)
	assert.Zero(t, missing)
}

// TestFaultRollingRestart: under a steady stream of creates, the server
// gets SIGTERM and a new process starts on the same ports and data
// directory at once (docs/operations.md#stop-drain-and-restart). Every
// create is answered 202 (the draining process stores them pending, the
// new one runs them) and every accepted debate finishes with its receipt.
func TestFaultRollingRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := faultEnv(map[string]string{demoDelayEnv: "100", "ARAGORA_SHUTDOWN_TIMEOUT_SECONDS": "10"})
	old := startServer(t, dir, env, nil)
	load := &createLoad{body: `{"topic":"Restart me","rounds":1,"seed":7}`}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); load.run(old.apiURL, stop, 20*time.Millisecond) }()
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, old.cmd.Process.Signal(syscall.SIGTERM))
	next := startServer(t, dir, env, old)
	select {
	case <-old.done:
	case <-time.After(e2eDeadline):
		t.Fatal("the old server did not exit after SIGTERM")
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	codes, ids := load.snapshot()
	changed, missing := settledReceipts(t, next, ids)
	failed := 0
	for code, n := range codes {
		if code != http.StatusAccepted {
			failed += n
		}
	}
	t.Logf("FAULT rolling_restart: creates by status %v (0: no HTTP answer); accepted %d, failed %d; results changed %d, receipts missing %d; errors %v; retried with the same Idempotency-Key after %v",
		codes, len(ids), failed, changed, missing, load.errs, load.retried)
	require.NoError(t, old.exitErr, "the old process exits 0")
	assert.Zero(t, failed, "no create fails across the restart")
	assert.Zero(t, changed)
	assert.Zero(t, missing)
	assert.Greater(t, len(ids), 20)
}
