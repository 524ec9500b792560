package nomic

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockPath is the loop's lock file inside a target repository.
const LockPath = ".nomic/nomic.lock"

// LockInfo is the content of the lock file.
type LockInfo struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	CycleID   string    `json:"cycle_id"`
	StartedAt time.Time `json:"started_at"`
}

// ErrLocked reports a repository whose lock a live loop holds.
var ErrLocked = errors.New("nomic: another loop holds the lock")

// Lock is a held .nomic/nomic.lock: the file names the holder, and an
// exclusive flock on it lives as long as the holding process, so a lock
// left by a dead process is replaced and two live loops never both hold it.
type Lock struct {
	path string
	f    *os.File
	info LockInfo
	// Replaced describes the stale lock this one replaced ("" for none).
	Replaced string
}

// AcquireLock takes the lock of the repository at root for this process.
func AcquireLock(root string, now time.Time) (*Lock, error) {
	p := filepath.Join(root, LockPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	for range 5 {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("nomic: open lock: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			prev, _ := readLock(p)
			f.Close()
			return nil, fmt.Errorf("%w: pid %d on %s since %s (%s)", ErrLocked, prev.PID, prev.Host, prev.StartedAt.Format(time.RFC3339), p)
		}
		// The file may have been removed (released) between open and
		// flock: hold it only when the path still names our inode.
		fi, err1 := f.Stat()
		pi, err2 := os.Stat(p)
		if err1 != nil || err2 != nil || !os.SameFile(fi, pi) {
			f.Close()
			continue
		}
		l := &Lock{path: p, f: f}
		if prev, err := readLock(p); err == nil && prev.PID != 0 {
			l.Replaced = fmt.Sprintf("replaced the stale lock of pid %d on %s (since %s): that process is gone", prev.PID, prev.Host, prev.StartedAt.Format(time.RFC3339))
		}
		host, _ := os.Hostname()
		l.info = LockInfo{PID: os.Getpid(), Host: host, StartedAt: now.UTC()}
		if err := l.write(); err != nil {
			l.Release()
			return nil, err
		}
		return l, nil
	}
	return nil, fmt.Errorf("%w: the lock file keeps changing (%s)", ErrLocked, p)
}

func readLock(p string) (LockInfo, error) {
	var li LockInfo
	b, err := os.ReadFile(p)
	if err != nil {
		return li, err
	}
	err = json.Unmarshal(b, &li)
	return li, err
}

func (l *Lock) write() error {
	b, _ := json.Marshal(l.info)
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt(append(b, '\n'), 0)
	return err
}

// SetCycle records the running cycle's id in the lock file.
func (l *Lock) SetCycle(id string) error {
	l.info.CycleID = id
	return l.write()
}

// Release removes the lock file and drops the lock.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = os.Remove(l.path)
	_ = l.f.Close()
	l.f = nil
}

// LockStatus describes a repository's lock for preflight and rollback:
// held reports a live holder, info its content, stale a file left by a
// dead process.
func LockStatus(root string) (held bool, info LockInfo, stale bool, err error) {
	p := filepath.Join(root, LockPath)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, info, false, nil
	}
	if err != nil {
		return false, info, false, err
	}
	defer f.Close()
	info, _ = readLock(p)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true, info, false, nil
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, info, true, nil
}

// describeLock is a one-line summary of info.
func describeLock(info LockInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d on %s", info.PID, info.Host)
	if info.CycleID != "" {
		fmt.Fprintf(&b, ", cycle %s", info.CycleID)
	}
	if !info.StartedAt.IsZero() {
		fmt.Fprintf(&b, ", since %s", info.StartedAt.Format(time.RFC3339))
	}
	return b.String()
}
