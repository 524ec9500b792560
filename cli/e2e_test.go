package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/apitest"
	"github.com/aragora/aragora/internal/syncbuf"
	"github.com/aragora/aragora/internal/testenv"
	"github.com/aragora/aragora/server/servertest"
	"github.com/aragora/aragora/store/redisstore"
	"github.com/aragora/aragora/store/sqlitestore"
)

// The end-to-end tests run the real binary, built once per test run by
// aragoraBinary, against a temporary data directory with demo agents and
// no other configuration. Each server gets free ports and is killed in
// t.Cleanup. They wait with generous deadlines and never assert on
// durations: the machine may be slow.

// e2eDeadline bounds every wait of these tests.
const e2eDeadline = 90 * time.Second

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// aragoraBinary builds the binary once per test process into a temporary
// directory named after the process, removing those left behind by
// earlier runs whose process is gone. The tests that run the binary are
// the slow ones: -short skips them (CI runs them all).
func aragoraBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test of the built binary: run without -short")
	}
	binOnce.Do(func() {
		root := filepath.Join(os.TempDir(), "aragora-e2e-bin")
		if entries, err := os.ReadDir(root); err == nil {
			for _, e := range entries {
				if pid, err := strconv.Atoi(e.Name()); err == nil && pid != os.Getpid() && syscall.Kill(pid, 0) != nil {
					_ = os.RemoveAll(filepath.Join(root, e.Name()))
				}
			}
		}
		dir := filepath.Join(root, strconv.Itoa(os.Getpid()))
		if binErr = os.MkdirAll(dir, 0o755); binErr != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		binPath = filepath.Join(dir, "aragora")
		out, err := exec.Command(goTool, "build", "-o", binPath, "../cmd/aragora").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 1000 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
	t.Fatal("freePort: the kernel kept handing out ports this test process already gave out")
	return 0
}

// handedOut holds every port freePort returned in this test process. A
// port is free again once its probe listener closes, and the kernel may
// hand it to the next probe at once: two tests running in parallel then
// got the same port, and the second server refused to start beside the
// first. freePort never returns a port twice.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// serverProc is one running `aragora serve`.
type serverProc struct {
	cmd            *exec.Cmd
	out            *syncbuf.Buffer
	apiPort        int
	wsPort         int
	dataDir        string
	done           chan struct{}
	exitErr        error
	http           *http.Client
	apiURL, wsBase string
}

// startServer starts the binary on free ports (or on the ports of reuse)
// with dataDir, the local operator and extra env, and waits until it is
// ready.
func startServer(t *testing.T, dataDir string, extra map[string]string, reuse *serverProc) *serverProc {
	t.Helper()
	p := launchServer(t, dataDir, extra, reuse)
	p.waitReady(t)
	return p
}

// launchServer starts the binary as startServer does, without waiting
// for readiness (waitReady does), so that several can start at once.
func launchServer(t *testing.T, dataDir string, extra map[string]string, reuse *serverProc) *serverProc {
	t.Helper()
	return launchBinary(t, aragoraBinary(t), dataDir, extra, reuse)
}

// launchBinary is launchServer with another build of aragora (bin).
func launchBinary(t *testing.T, bin, dataDir string, extra map[string]string, reuse *serverProc) *serverProc {
	t.Helper()
	// Every exchange with the binary is checked against the OpenAPI
	// document (docs/http-api.md#openapi).
	p := &serverProc{out: &syncbuf.Buffer{}, dataDir: dataDir, done: make(chan struct{}),
		http: &http.Client{Transport: apitest.Server(t).Transport(t, &http.Transport{DisableKeepAlives: true}), Timeout: 30 * time.Second}}
	if reuse != nil {
		p.apiPort, p.wsPort = reuse.apiPort, reuse.wsPort
	} else {
		p.apiPort, p.wsPort = freePort(t), freePort(t)
		for p.wsPort == p.apiPort {
			p.wsPort = freePort(t)
		}
	}
	p.apiURL = fmt.Sprintf("http://127.0.0.1:%d", p.apiPort)
	p.wsBase = fmt.Sprintf("ws://127.0.0.1:%d", p.wsPort)
	p.cmd = exec.Command(bin, "serve", "--host", "127.0.0.1",
		"--api-port", strconv.Itoa(p.apiPort), "--ws-port", strconv.Itoa(p.wsPort))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARAGORA_") && !strings.Contains(strings.SplitN(kv, "=", 2)[0], "API_KEY") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, "ARAGORA_DATA_DIR="+dataDir, "ARAGORA_LOCAL_ADMIN=1", "ARAGORA_LOG_LEVEL=debug")
	for k, v := range extra {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("server output (api port %d):\n%s", p.apiPort, p.out.String())
		}
	})
	return p
}

// waitReady waits until the server answers 200 on /api/health/ready.
func (p *serverProc) waitReady(t *testing.T) {
	t.Helper()
	if !p.awaitReady(t) {
		t.Fatalf("server exited before it was ready: %v\n%s", p.exitErr, p.out.String())
	}
}

// awaitReady waits until the server is ready (true) or has exited (false).
func (p *serverProc) awaitReady(t *testing.T) bool {
	t.Helper()
	deadline := time.Now().Add(e2eDeadline)
	for {
		select {
		case <-p.done:
			return false
		default:
		}
		if code, _ := p.get(t, "/api/health/ready"); code == http.StatusOK {
			return true
		}
		require.True(t, time.Now().Before(deadline), "server not ready in time:\n%s", p.out.String())
		time.Sleep(100 * time.Millisecond)
	}
}

// lostPortRace reports whether p exited because another process bound one
// of its ports between freePort and p's own bind (any outgoing connection
// of the machine may be given that port meanwhile). Two servers of this
// test process never get the same port (freePort).
func (p *serverProc) lostPortRace() bool {
	select {
	case <-p.done:
		return strings.Contains(p.out.String(), "address already in use")
	default:
		return false
	}
}

// get returns the status and body of GET path (0 when the request failed).
func (p *serverProc) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := p.http.Get(p.apiURL + path)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// getJSON GETs path, requires 200 and decodes the body into v.
func (p *serverProc) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	code, body := p.get(t, path)
	require.Equal(t, http.StatusOK, code, "GET %s: %s", path, body)
	require.NoError(t, json.Unmarshal(body, v), "GET %s: %s", path, body)
}

// createDebate POSTs a debate and returns its id.
func (p *serverProc) createDebate(t *testing.T, body string) string {
	t.Helper()
	id, _ := p.createDebateWith(t, body)
	return id
}

// createDebateWith POSTs a debate with the request headers hdr (name,
// value pairs) and returns its id and the answer's headers.
func (p *serverProc) createDebateWith(t *testing.T, body string, hdr ...string) (string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.apiURL+"/api/debates", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := p.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return servertest.CreatedID(t, resp.StatusCode, b), resp.Header
}

type debateView struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	LastSeq int64  `json:"last_seq"`
}

// waitDebate polls the debate until cond holds.
func (p *serverProc) waitDebate(t *testing.T, id string, what string, cond func(debateView) bool) debateView {
	t.Helper()
	deadline := time.Now().Add(e2eDeadline)
	for {
		var d debateView
		if code, body := p.get(t, "/api/debates/"+id); code == http.StatusOK && json.Unmarshal(body, &d) == nil && cond(d) {
			return d
		}
		require.True(t, time.Now().Before(deadline), "debate %s: %s not reached in time (last %+v)", id, what, d)
		time.Sleep(100 * time.Millisecond)
	}
}

func finished(d debateView) bool {
	switch d.Status {
	case "consensus_reached", "no_consensus", "timeout", "failed", "cancelled", "budget_exceeded":
		return true
	}
	return false
}

// wsFrame is the part of a WebSocket frame the tests read.
type wsFrame struct {
	Type    string `json:"type"`
	Seq     int64  `json:"seq"`
	Epoch   string `json:"epoch"`
	LastSeq int64  `json:"last_seq"`
	Code    string `json:"code"`
}

func dialWS(t *testing.T, ctx context.Context, url string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	require.NoError(t, err, "dial %s", url)
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func readFrame(ctx context.Context, c *websocket.Conn) (wsFrame, []byte, error) {
	_, b, err := c.Read(ctx)
	if err != nil {
		return wsFrame{}, nil, err
	}
	var f wsFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return wsFrame{}, b, err
	}
	return f, b, nil
}

// followWS reads the debate's stream from c to its debate_end, counting
// each seq.
func followWS(ctx context.Context, c *websocket.Conn, seen map[int64]int) error {
	for {
		f, raw, err := readFrame(ctx, c)
		if err != nil {
			return err
		}
		if f.Type == "reset" {
			return fmt.Errorf("reset: %s", raw)
		}
		if f.Seq > 0 {
			seen[f.Seq]++
		}
		if f.Type == "debate_end" {
			return nil
		}
	}
}

// followWSUntil reads the debate's stream from c, counting each seq, until
// it has seen seq n; it returns the last seq seen and its epoch. A reset or
// the debate's end before that is an error.
func followWSUntil(ctx context.Context, c *websocket.Conn, seen map[int64]int, n int64) (last int64, epoch string, err error) {
	for last < n {
		f, raw, err := readFrame(ctx, c)
		if err != nil {
			return last, epoch, err
		}
		if f.Type == "reset" || f.Type == "debate_end" {
			return last, epoch, fmt.Errorf("%s before seq %d: %s", f.Type, n, raw)
		}
		if f.Seq > 0 {
			seen[f.Seq]++
			last, epoch = max(last, f.Seq), f.Epoch
		}
	}
	return last, epoch, nil
}

// requireSeqsOnce checks that seen, the seqs a client read of a debate
// whose last seq is last, counts each seq from 1 to last once and no other.
func requireSeqsOnce(t *testing.T, seen map[int64]int, last int64, what string) {
	t.Helper()
	var missing, dup []int64
	for seq := int64(1); seq <= last; seq++ {
		switch n := seen[seq]; {
		case n == 0:
			missing = append(missing, seq)
		case n > 1:
			dup = append(dup, seq)
		}
	}
	require.Empty(t, missing, "seqs missing from %s", what)
	require.Empty(t, dup, "seqs duplicated in %s", what)
	require.Len(t, seen, int(last), "seqs beyond last_seq in %s", what)
}

// TestE2EStreamResumeAndReceipt creates a debate with slow demo agents,
// follows it over the WebSocket, disconnects halfway, resumes with
// after_seq and checks that every seq from 1 to the last arrived exactly
// once; then it reads the receipt as JSON and Markdown.
func TestE2EStreamResumeAndReceipt(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), map[string]string{demoDelayEnv: "150"}, nil)
	id := p.createDebate(t, `{"topic":"Should we migrate billing to Postgres?","rounds":3,"min_rounds":3,"seed":7}`)
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	defer cancel()

	seen := map[int64]int{}
	// First connection on the WebSocket listener: read until a few
	// events arrived, then hang up.
	c1 := dialWS(t, ctx, p.wsBase+"/ws/debates/"+id)
	last, epoch, err := followWSUntil(ctx, c1, seen, 6)
	require.NoError(t, err, "first stream")
	require.NoError(t, c1.Close(websocket.StatusNormalClosure, "bye"))
	// Let the debate move on while nobody listens.
	p.waitDebate(t, id, "progress while disconnected", func(d debateView) bool { return d.LastSeq > last+3 || finished(d) })

	// Resume on the API listener's path, from the last seq seen.
	c2 := dialWS(t, ctx, fmt.Sprintf("%s/ws/debates/%s?after_seq=%d&epoch=%s", strings.Replace(p.apiURL, "http", "ws", 1), id, last, epoch))
	require.NoError(t, followWS(ctx, c2, seen), "resumed stream")
	_ = c2.Close(websocket.StatusNormalClosure, "done")

	d := p.waitDebate(t, id, "finished", finished)
	require.Positive(t, d.LastSeq)
	requireSeqsOnce(t, seen, d.LastSeq, "the stream resumed with after_seq")

	var rec struct {
		ReceiptID   string `json:"receipt_id"`
		DebateID    string `json:"debate_id"`
		Status      string `json:"status"`
		ContentHash string `json:"content_hash"`
	}
	p.getJSON(t, "/api/debates/"+id+"/receipt", &rec)
	assert.Equal(t, id, rec.DebateID)
	assert.Equal(t, d.Status, rec.Status)
	assert.True(t, strings.HasPrefix(rec.ContentHash, "sha256:"), rec.ContentHash)
	code, md := p.get(t, "/api/debates/"+id+"/receipt?format=markdown")
	require.Equal(t, http.StatusOK, code, "%s", md)
	assert.True(t, strings.HasPrefix(string(md), "# Decision Receipt "+rec.ReceiptID), "%.80s", md)
}

// storedSeqs reads the event log of id from the SQLite store of dataDir.
func storedSeqs(t *testing.T, dataDir, id string) (seqs []int64, ends int, status string) {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(dataDir, "aragora.db"), sqlitestore.Config{BinaryVersion: Version})
	require.NoError(t, err)
	defer st.Close()
	d, err := st.GetDebate(context.Background(), id)
	require.NoError(t, err)
	evs, err := st.ListEvents(context.Background(), id, 0, 0)
	require.NoError(t, err)
	for _, e := range evs {
		seqs = append(seqs, e.Seq)
		if e.Type == "debate_end" {
			ends++
		}
	}
	return seqs, ends, d.Status.String()
}

// TestE2EGracefulShutdownResumes sends SIGTERM while debates run:
// readiness turns 503 draining, the process exits 0 and leaves the debates
// pending; a new process on the same data directory resumes them to the
// end, and each event log runs from 1 to its last seq without a gap or a
// duplicate and with one debate_end.
func TestE2EGracefulShutdownResumes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{demoDelayEnv: "800", "ARAGORA_SHUTDOWN_TIMEOUT_SECONDS": "10"}
	p := startServer(t, dir, env, nil)
	var ids []string
	for i := range 3 {
		ids = append(ids, p.createDebate(t, fmt.Sprintf(`{"topic":"Resume test %d: adopt Postgres?","rounds":3,"min_rounds":3,"seed":%d}`, i, i+1)))
	}
	for _, id := range ids {
		p.waitDebate(t, id, "a few events", func(d debateView) bool { return d.LastSeq >= 3 })
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))

	// Readiness reports draining while the listeners stay open.
	deadline := time.Now().Add(e2eDeadline)
	for {
		code, body := p.get(t, "/api/health/ready")
		if code == http.StatusServiceUnavailable {
			assert.Contains(t, string(body), `"draining"`)
			break
		}
		require.True(t, time.Now().Before(deadline), "readiness never reported draining (last %d %s)", code, body)
		time.Sleep(20 * time.Millisecond)
	}
	p.waitExit(t)

	pending := 0
	for _, id := range ids {
		_, _, status := storedSeqs(t, dir, id)
		if status == "pending" {
			pending++
		} else {
			assert.True(t, finished(debateView{Status: status}), "debate %s left %q", id, status)
		}
	}
	require.Positive(t, pending, "no debate was suspended")

	p2 := startServer(t, dir, env, p)
	for _, id := range ids {
		d := p2.waitDebate(t, id, "finished after restart", finished)
		assert.Contains(t, []string{"consensus_reached", "no_consensus"}, d.Status, id)
	}
	p2.cmd.Process.Kill()
	<-p2.done
	for _, id := range ids {
		seqs, ends, _ := storedSeqs(t, dir, id)
		require.NotEmpty(t, seqs, id)
		for i, s := range seqs {
			require.Equal(t, int64(i+1), s, "debate %s: seq %d at position %d", id, s, i)
		}
		assert.Equal(t, 1, ends, "debate %s: debate_end count", id)
	}
}

// TestE2ESIGUSR1ClosesWebSockets checks that SIGUSR1 closes every
// WebSocket on both listeners with 1012 while the HTTP API keeps serving.
func TestE2ESIGUSR1ClosesWebSockets(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	defer cancel()
	conns := []*websocket.Conn{
		dialWS(t, ctx, p.wsBase+"/"),
		dialWS(t, ctx, strings.Replace(p.apiURL, "http", "ws", 1)+"/ws"),
	}
	for _, c := range conns {
		f, raw, err := readFrame(ctx, c)
		require.NoError(t, err)
		require.Equal(t, "hello", f.Type, "%s", raw)
	}
	// Both connections are registered once hello was sent.
	var stats struct {
		Connections int `json:"connections"`
	}
	p.getJSON(t, "/api/ws/stats", &stats)
	require.Equal(t, 2, stats.Connections)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGUSR1))
	for i, c := range conns {
		var err error
		for err == nil {
			_, _, err = readFrame(ctx, c) // heartbeats may come first
		}
		assert.Equal(t, websocket.StatusCode(1012), websocket.CloseStatus(err), "connection %d: %v", i, err)
	}
	code, body := p.get(t, "/api/health")
	assert.Equal(t, http.StatusOK, code, "%s", body)
	code, body = p.get(t, "/api/debates")
	assert.Equal(t, http.StatusOK, code, "%s", body)
	// The process is still serving WebSockets too.
	c := dialWS(t, ctx, p.wsBase+"/ws")
	f, _, err := readFrame(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, "hello", f.Type)
	select {
	case <-p.done:
		t.Fatalf("server exited on SIGUSR1: %v", p.exitErr)
	default:
	}
}

// TestE2ERunbookCommands runs testdata/runbook.sh: the curl commands of
// the runbook's Key Commands, Health Checks (health_check.sh verbatim),
// the read-only Common Issues lines, Debate State Corruption and the
// graceful restart recipe of Recovery Procedures 1, against the binary
// with ARAGORA_LOCAL_ADMIN=1. With unshare available the script runs in
// private network and PID namespaces, so the commands use the runbook's
// own ports 8080/8766 and its pgrep patterns see only this server;
// otherwise the ports are rewritten to free ones and the pgrep recipes
// are left out.
func TestE2ERunbookCommands(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			// On a laptop with only Go this check is skipped; CI installs
			// the tools and fails on any skip in this package (.ci/run).
			t.Skipf("the runbook check needs %s: install it (apt-get install -y %s) to run this test", tool, tool)
		}
	}
	bin := aragoraBinary(t)
	script, err := os.ReadFile(filepath.Join("testdata", "runbook.sh"))
	require.NoError(t, err)
	isolated := exec.Command("unshare", "-rnpf", "--mount-proc", "true").Run() == nil
	var cmd *exec.Cmd
	env := []string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "WORK=" + t.TempDir()}
	if isolated {
		cmd = exec.Command("unshare", "-rnpf", "--mount-proc", "bash", "-s")
		env = append(env, "API_PORT=8080", "WS_PORT=8766", "ISOLATED=1")
	} else {
		cmd = exec.Command("bash", "-s")
		env = append(env, "API_PORT="+strconv.Itoa(freePort(t)), "WS_PORT="+strconv.Itoa(freePort(t)), "ISOLATED=0")
	}
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(script)
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	select {
	case err = <-done:
	case <-time.After(3 * e2eDeadline):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("runbook script did not finish:\n%s", out.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) || err != nil {
		t.Fatalf("runbook script failed (%v):\n%s", err, out.String())
	}
	o := out.String()
	assert.Contains(t, o, "OK: All checks passed")
	assert.Contains(t, o, "RUNBOOK CHECKS PASSED")
	t.Logf("isolated=%v\n%s", isolated, o)
}

// TestE2ERedisFanout runs two replicas on one Postgres store (replicas
// cannot share a SQLite data directory: its lock admits one server) and one Redis: a
// debate created on the first is followed over the second's WebSocket,
// whose events arrive through the Redis channel, with no gap and no
// duplicate. It also checks the Redis health check, the Redis rate limiter
// and that the events were published.
func TestE2ERedisFanout(t *testing.T) {
	redisURL := testenv.RedisURL(t, "the cross-replica fan-out test")
	t.Parallel()
	dir := t.TempDir()
	env := postgresEnv(t)
	env[demoDelayEnv], env["ARAGORA_REDIS_URL"], env["ARAGORA_ENABLE_REDIS_RATE_LIMIT"] = "150", redisURL, "1"
	// Servers sharing one store share the secret its key ring is sealed with.
	env["ARAGORA_JWT_SECRET"] = "redis-fanout-e2e-jwt-secret-0123456789abcdef"
	a := startServer(t, dir, env, nil)
	b := startServer(t, t.TempDir(), env, nil)

	var health struct {
		Checks struct {
			Redis struct {
				Status string `json:"status"`
			} `json:"redis"`
		} `json:"checks"`
	}
	b.getJSON(t, "/api/health", &health)
	assert.Equal(t, "ok", health.Checks.Redis.Status)
	var rl struct {
		Backend string `json:"backend"`
	}
	b.getJSON(t, "/api/rate-limits/config", &rl)
	assert.Equal(t, "redis", rl.Backend)

	opts, err := redis.ParseURL(redisURL)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	defer cancel()

	// The replica b follows from seq 1: stored events first, then the
	// live ones a publishes.
	id := a.createDebate(t, `{"topic":"Fan-out: adopt Postgres?","rounds":3,"min_rounds":3,"seed":3}`)
	sub, err := redisstore.NewFromClient(rdb, redisstore.Config{}).Subscribe(ctx, id)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Close() })

	c := dialWS(t, ctx, b.wsBase+"/ws/debates/"+id)
	seen := map[int64]int{}
	require.NoError(t, followWS(ctx, c, seen))
	_ = c.Close(websocket.StatusNormalClosure, "done")
	d := a.waitDebate(t, id, "finished", finished)
	requireSeqsOnce(t, seen, d.LastSeq, "the stream followed on b")
	published := 0
	for drained := false; !drained; {
		select {
		case <-sub.C:
			published++
		default:
			drained = true
		}
	}
	assert.Positive(t, published, "no event was published to Redis")
}

// TestE2EResumeRefusedWhileServerRuns is the resume race of a late
// `aragora debate --resume` against a debate a live server runs: the CLI
// refuses at once (exit 1, naming the holder) before any agent call, and
// the server keeps the debate with its record intact (one debate_end,
// its receipt resolving). Every demo agent call waits 10 minutes, so the
// debate is still running when the CLI tries, however slow the machine;
// the test then cancels it through the API.
func TestE2EResumeRefusedWhileServerRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, dir, map[string]string{demoDelayEnv: "600000"}, nil)
	id := srv.createDebate(t, `{"topic":"Race me","rounds":3,"seed":5}`)
	srv.waitDebate(t, id, "started", func(d debateView) bool { return d.Status == "running" && d.LastSeq >= 2 })
	seqsBefore, _, _ := storedSeqs(t, dir, id)

	res := runCLI(t, context.Background(), map[string]string{"ARAGORA_DATA_DIR": dir}, "debate", "--resume", id, "--format", "json")
	assert.Equal(t, exitFailure, res.code, res.stderr)
	assert.Regexp(t, `debate `+id+` is running in \S+ \(heartbeat \d+ s ago\): wait for it, or cancel it`, res.stderr)
	assert.Empty(t, res.stdout)
	seqsAfter, ends, status := storedSeqs(t, dir, id)
	assert.Equal(t, "running", status, "the refused resume changed nothing")
	assert.Equal(t, seqsBefore, seqsAfter, "the refused resume wrote no event")
	assert.Zero(t, ends)

	code, body := srv.do(t, http.MethodPost, "/api/debates/"+id+"/cancel", "", "")
	require.Less(t, code, 300, string(body))
	d := srv.waitDebate(t, id, "finished", finished)
	assert.Equal(t, "cancelled", d.Status)
	seqs, ends, status := storedSeqs(t, dir, id)
	assert.Equal(t, d.Status, status)
	assert.Equal(t, 1, ends, "one debate_end")
	for i, s := range seqs {
		require.Equal(t, int64(i+1), s, "seq contiguous from 1")
	}
	var obj struct {
		ReceiptID *string `json:"receipt_id"`
	}
	srv.getJSON(t, "/api/debates/"+id, &obj)
	require.NotNil(t, obj.ReceiptID, "the server's receipt is recorded")
	code, _ = srv.get(t, "/api/debates/"+id+"/receipt")
	assert.Equal(t, http.StatusOK, code)
}

// TestFreePortNeverRepeats checks that freePort gives every test of the
// process ports of their own, also when the kernel offers a port again
// as soon as its probe closes.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p := freePort(t)
		require.False(t, seen[p], "port %d returned twice", p)
		seen[p] = true
	}
}
