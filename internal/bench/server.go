package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// BenchToken is the service token given to the benchmarked server.
const BenchToken = "bench-token-0123456789abcdef0123456789abcdef"

// Aragora is a running `aragora serve` child process.
type Aragora struct {
	cmd     *exec.Cmd
	dir     string
	APIBase string // http://127.0.0.1:port
	WSBase  string // ws://127.0.0.1:port
	done    chan error
}

// StartAragora starts bin serve on free loopback ports with a temporary
// data directory, rate limiting disabled, raised WebSocket caps and the
// service token [BenchToken]; extra adds environment variables. It waits
// until /api/health answers.
func StartAragora(ctx context.Context, bin string, extra ...string) (*Aragora, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("bench: aragora binary %s: %w (build it: go build -o %s ./cmd/aragora)", bin, err, bin)
	}
	api, err := freePort()
	if err != nil {
		return nil, err
	}
	ws, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "aragora-bench-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--api-port", strconv.Itoa(api), "--ws-port", strconv.Itoa(ws), "--host", "127.0.0.1",
		"--data-dir", dir, "--log-level", "warn")
	cmd.Env = append(os.Environ(),
		"ARAGORA_DATA_DIR="+dir, "ARAGORA_RATE_LIMIT_DISABLED=1", "ARAGORA_API_TOKEN="+BenchToken,
		"ARAGORA_WS_MAX_CONNECTIONS=50000", "ARAGORA_WS_MAX_PER_IP=50000", "ARAGORA_WS_SEND_BUFFER=4096",
		"ARAGORA_MAX_CONCURRENT_DEBATES=100", "ARAGORA_DEBATE_QUEUE_SIZE=1000")
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr() // never outlive the bench (Linux)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &Aragora{cmd: cmd, dir: dir, APIBase: fmt.Sprintf("http://127.0.0.1:%d", api), WSBase: fmt.Sprintf("ws://127.0.0.1:%d", ws),
		done: make(chan error, 1)}
	go func() { a.done <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(a.APIBase + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a, nil
			}
		}
		select {
		case err := <-a.done:
			return nil, fmt.Errorf("bench: aragora exited: %v (log in %s)", err, dir)
		case <-ctx.Done():
			a.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			a.Stop()
			return nil, fmt.Errorf("bench: aragora not healthy after 15s (log in %s)", dir)
		}
	}
}

// Stop terminates the server and removes its data directory.
func (a *Aragora) Stop() {
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	_ = os.RemoveAll(a.dir)
}

// do sends an authenticated JSON request and decodes the answer into out.
func (a *Aragora) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.APIBase+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+BenchToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("bench: %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

type debateObj struct {
	ID      string   `json:"id"`
	Status  string   `json:"status"`
	Agents  []string `json:"agents"`
	LastSeq int64    `json:"last_seq"`
}

// CreateDebate posts a debate and returns its id and agent names.
func (a *Aragora) CreateDebate(ctx context.Context, req map[string]any) (debateObj, error) {
	var d debateObj
	err := a.do(ctx, http.MethodPost, "/api/debates", req, &d)
	return d, err
}

// WaitFinished polls the debate until it has a final status.
func (a *Aragora) WaitFinished(ctx context.Context, id string, limit time.Duration) (debateObj, error) {
	deadline := time.Now().Add(limit)
	for {
		var d debateObj
		if err := a.do(ctx, http.MethodGet, "/api/debates/"+id, nil, &d); err != nil {
			return d, err
		}
		if d.Status != "pending" && d.Status != "running" {
			return d, nil
		}
		if time.Now().After(deadline) {
			return d, errors.New("bench: debate did not finish in time")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
