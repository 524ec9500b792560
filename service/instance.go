package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// InstanceError reports another live `aragora serve` that owns this
// process's listener or data directory: serve refuses to start (exit 2)
// rather than split traffic with it (docs/operations.md#stop-drain-and-restart).
type InstanceError struct {
	Addr     string // the address it answers on, or the data directory it locks
	Instance string // its instance name (lease holder), or "pid N"
}

func (e *InstanceError) Error() string {
	return fmt.Sprintf("serve: another aragora serve (%s) is running on %s and is not draining: stop it first (kill -TERM <pid>, or systemctl stop aragora), or use another --api-port and --data-dir", e.Instance, e.Addr)
}

// IsInstanceError reports whether err is (or wraps) an *InstanceError.
func IsInstanceError(err error) bool {
	var ie *InstanceError
	return errors.As(err, &ie)
}

// instanceHeader names the instance on readiness answers.
const instanceHeader = "X-Aragora-Instance"

// peerOn asks the readiness endpoint of an aragora serve that may already
// listen on host:port. It returns the instance's name and whether it is
// draining; found is false when nothing, or something else than aragora,
// answers within a second.
func peerOn(ctx context.Context, host string, port int) (instance string, draining, found bool) {
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	u := "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/api/health/ready"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, false
	}
	resp, err := (&http.Client{Timeout: time.Second}).Do(req)
	if err != nil {
		return "", false, false
	}
	defer resp.Body.Close()
	instance = resp.Header.Get(instanceHeader)
	if instance == "" {
		return "", false, false
	}
	var body struct {
		Reason string `json:"reason"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body)
	return instance, body.Reason == "draining", true
}

// dataDirLock is the exclusive lock of `aragora serve` on a SQLite data
// directory: while it is held no other serve runs on the directory, so
// the leases of any other server are void (lifecycle.Manager.SetSoleServer).
type dataDirLock struct{ f *os.File }

// lockDataDir takes the serve lock of dir (file serve.lock, holding the
// owner's pid, then the line "draining" once the owner shuts down). When
// another process holds it, lockDataDir waits up to wait for it to go (a
// hand-over from a draining process), or up to drainWait when the holder
// says it is draining (it may have closed its listeners already, so the
// new process did not see a hand-over: the restart recipe of
// docs/operations.md), then returns an *InstanceError naming the holder's
// pid.
func lockDataDir(ctx context.Context, dir string, wait, drainWait time.Duration) (*dataDirLock, error) {
	p := filepath.Join(dir, "serve.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("serve: lock %s: %w", p, err)
	}
	start := time.Now()
	deadline := start.Add(wait)
	for {
		ok, err := tryLock(f)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("serve: lock %s: %w", p, err)
		}
		if ok {
			break
		}
		b, _ := os.ReadFile(p)
		pid, state, _ := strings.Cut(string(b), "\n")
		if strings.TrimSpace(state) == "draining" && deadline.Before(start.Add(drainWait)) {
			deadline = start.Add(drainWait)
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			_ = f.Close()
			return nil, &InstanceError{Addr: dir, Instance: "pid " + strings.TrimSpace(pid)}
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dataDirLock{f: f}, nil
}

// markDraining records in the lock file that its owner is shutting down,
// so that a process started meanwhile waits for the lock instead of
// refusing (lockDataDir).
func (l *dataDirLock) markDraining() {
	if l != nil && l.f != nil {
		_, _ = l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\ndraining\n"), 0)
	}
}

// release drops the lock.
func (l *dataDirLock) release() {
	if l != nil && l.f != nil {
		_ = l.f.Close()
	}
}
