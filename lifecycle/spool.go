package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aragora/aragora/store"
)

// spool keeps what this process computed but could not commit, so that
// nothing it paid for is lost while the store cannot write
// (docs/operations.md#the-result-spool):
//
//   - a debate's final checkpoint (status, result, receipt, usage, outbox
//     and the last event batch) whose commit failed: a later resume of the
//     debate, in this process or the next one on the same spool directory,
//     commits it as computed instead of running agents again;
//   - usage rows of calls outside a debate (agent tests) that could not be
//     written: the sweeper writes them once the store accepts writes.
//
// With a directory each record is a file written atomically (temporary
// file, fsync, rename) and survives the process; without one the records
// live in memory for the life of the process.
type spool struct {
	dir string // "" in memory
	// reserveSize is the size of the reserve file: on a full volume it is
	// deleted to make room for the records the volume refuses (0: none).
	reserveSize int64
	log         *slog.Logger

	mu    sync.Mutex
	final map[string]*store.Checkpoint
	usage []store.UsageRecord
	seq   int64
}

// DefaultSpoolReserve is the size of the reserve file `aragora serve`
// keeps in its spool directory with SQLite (Config.SpoolReserve).
const DefaultSpoolReserve = 4 << 20

func newSpool(dir string, reserve int64, log *slog.Logger) *spool {
	s := &spool{dir: dir, reserveSize: reserve, log: log, final: map[string]*store.Checkpoint{}}
	if dir != "" && reserve > 0 {
		s.reserve()
	}
	return s
}

func (s *spool) reservePath() string { return filepath.Join(s.dir, ".reserve") }

// reserve makes sure the reserve file exists (best effort: a volume too
// full for it has nothing to give back anyway).
func (s *spool) reserve() {
	if fi, err := os.Stat(s.reservePath()); err == nil && fi.Size() >= s.reserveSize {
		return
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return
	}
	f, err := os.OpenFile(s.reservePath(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return
	}
	_, werr := f.Write(make([]byte, s.reserveSize)) // written, not sparse: the blocks are really held
	serr := f.Sync()
	if cerr := f.Close(); errors.Join(werr, serr, cerr) != nil {
		_ = os.Remove(s.reservePath())
	}
}

// release deletes the reserve file; it reports whether there was one.
func (s *spool) release() bool {
	if err := os.Remove(s.reservePath()); err != nil {
		return false
	}
	syncDir(s.dir)
	s.log.Warn("spool_reserve_released", "path", s.reservePath(), "bytes", s.reserveSize)
	return true
}

// spooledCheckpoint is the file form of a final checkpoint (its lease is
// not kept: the process that commits it fences the write by its own).
type spooledCheckpoint struct {
	DebateID  string          `json:"debate_id"`
	Round     int             `json:"round"`
	Phase     string          `json:"phase"`
	Seq       int64           `json:"seq"`
	Status    store.Status    `json:"status"`
	State     json.RawMessage `json:"state"`
	Events    []store.Event   `json:"events"`
	CreatedAt time.Time       `json:"created_at"`
	Final     *store.Final    `json:"final"`
}

func (s *spool) finalPath(id string) string { return filepath.Join(s.dir, "final-"+id+".json") }

// putFinal keeps c, a final checkpoint whose commit failed. A spool that
// cannot write its file keeps c in memory and logs why.
func (s *spool) putFinal(c *store.Checkpoint) {
	cp := *c
	cp.Lease = nil
	s.mu.Lock()
	_, had := s.final[c.DebateID]
	s.final[c.DebateID] = &cp
	s.mu.Unlock()
	if s.dir == "" || had {
		return
	}
	rec := spooledCheckpoint{DebateID: cp.DebateID, Round: cp.Round, Phase: cp.Phase, Seq: cp.Seq, Status: cp.Status,
		State: cp.State, Events: cp.Events, CreatedAt: cp.CreatedAt, Final: cp.Final}
	if err := s.writeFile(s.finalPath(cp.DebateID), rec); err != nil {
		s.log.Error("debate_result_spool_failed", "debate_id", cp.DebateID, "error", err.Error())
		return
	}
	s.log.Warn("debate_result_spooled", "debate_id", cp.DebateID, "path", s.finalPath(cp.DebateID))
}

// getFinal returns the spooled final checkpoint of debate id, or nil.
func (s *spool) getFinal(id string) *store.Checkpoint {
	s.mu.Lock()
	c := s.final[id]
	s.mu.Unlock()
	if c != nil || s.dir == "" || !validSpoolID(id) {
		return c
	}
	b, err := os.ReadFile(s.finalPath(id))
	if err != nil {
		return nil
	}
	var rec spooledCheckpoint
	if err := json.Unmarshal(b, &rec); err != nil || rec.DebateID != id || !store.Terminal(rec.Status) {
		s.log.Error("debate_result_spool_unreadable", "debate_id", id, "path", s.finalPath(id))
		return nil
	}
	c = &store.Checkpoint{DebateID: rec.DebateID, Round: rec.Round, Phase: rec.Phase, Seq: rec.Seq, Status: rec.Status,
		State: rec.State, Events: rec.Events, CreatedAt: rec.CreatedAt, Final: rec.Final}
	s.mu.Lock()
	s.final[id] = c
	s.mu.Unlock()
	return c
}

// hasFinal reports whether a final checkpoint of debate id is spooled.
func (s *spool) hasFinal(id string) bool { return s.getFinal(id) != nil }

// dropFinal forgets the spooled final checkpoint of debate id (committed,
// or superseded by what the store holds).
func (s *spool) dropFinal(id string) {
	s.mu.Lock()
	delete(s.final, id)
	s.mu.Unlock()
	if s.dir != "" && validSpoolID(id) {
		if err := os.Remove(s.finalPath(id)); err == nil {
			syncDir(s.dir)
		}
	}
}

// putUsage keeps usage rows that could not be written.
func (s *spool) putUsage(recs []store.UsageRecord) {
	if len(recs) == 0 {
		return
	}
	if s.dir != "" {
		s.mu.Lock()
		s.seq++
		name := fmt.Sprintf("usage-%d-%d-%d.json", time.Now().UnixNano(), os.Getpid(), s.seq)
		s.mu.Unlock()
		if err := s.writeFile(filepath.Join(s.dir, name), recs); err == nil {
			s.log.Warn("usage_spooled", "records", len(recs), "path", filepath.Join(s.dir, name))
			return
		} else {
			s.log.Error("usage_spool_failed", "records", len(recs), "error", err.Error())
		}
	}
	s.mu.Lock()
	s.usage = append(s.usage, recs...)
	s.mu.Unlock()
}

// flushUsage writes the spooled usage rows to us; rows the store still
// refuses stay spooled. It returns how many were written.
func (s *spool) flushUsage(ctx context.Context, us store.UsageStore) int {
	n := 0
	s.mu.Lock()
	mem := s.usage
	s.usage = nil
	s.mu.Unlock()
	for i := range mem {
		if err := us.RecordUsage(ctx, &mem[i]); err != nil {
			s.mu.Lock()
			s.usage = append(s.usage, mem[i:]...)
			s.mu.Unlock()
			return n
		}
		n++
	}
	if s.dir == "" {
		return n
	}
	files, _ := filepath.Glob(filepath.Join(s.dir, "usage-*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var recs []store.UsageRecord
		if err := json.Unmarshal(b, &recs); err != nil {
			s.log.Error("usage_spool_unreadable", "path", f)
			continue
		}
		// A file is written back without the rows already recorded, so a
		// failure halfway records none twice.
		for i := range recs {
			if err := us.RecordUsage(ctx, &recs[i]); err != nil {
				if i > 0 {
					_ = s.writeFile(f, recs[i:])
				}
				return n
			}
			n++
		}
		if err := os.Remove(f); err == nil {
			syncDir(s.dir)
		}
	}
	return n
}

// writeFile writes v as JSON to path atomically and durably; on a full
// volume it releases the reserve and tries once more.
func (s *spool) writeFile(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("lifecycle: spool: %w", err)
	}
	err = s.writeBytes(path, b)
	if errors.Is(err, syscall.ENOSPC) && s.release() {
		err = s.writeBytes(path, b)
	}
	return err
}

func (s *spool) writeBytes(path string, b []byte) error {
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return fmt.Errorf("lifecycle: spool: %w", err)
	}
	f, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("lifecycle: spool: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("lifecycle: spool: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("lifecycle: spool: %w", err)
	}
	syncDir(s.dir)
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// validSpoolID reports whether id can name a spool file (no path
// separators or dots).
func validSpoolID(id string) bool {
	return id != "" && !strings.ContainsAny(id, `/\.`) && len(id) <= 128
}

// spooling is the store an orchestrator writes through: a final checkpoint
// whose commit fails for want of the store is spooled at once (before the
// retries), and dropped from the spool once committed.
type spooling struct {
	store.DebateStore
	cp store.Checkpointer
	sp *spool
}

func (m *Manager) spooling(st store.DebateStore) store.DebateStore {
	cp, ok := st.(store.Checkpointer)
	if !ok {
		return st
	}
	return spooling{DebateStore: st, cp: cp, sp: m.spool}
}

// SaveCheckpoint saves c; a final one that fails is spooled.
func (s spooling) SaveCheckpoint(ctx context.Context, c *store.Checkpoint) error {
	err := s.cp.SaveCheckpoint(ctx, c)
	if !store.Terminal(c.Status) {
		return err
	}
	switch {
	case err == nil:
		s.sp.dropFinal(c.DebateID)
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
	default:
		s.sp.putFinal(c)
	}
	return err
}

// LatestCheckpoint reads through.
func (s spooling) LatestCheckpoint(ctx context.Context, debateID string) (*store.Checkpoint, error) {
	return s.cp.LatestCheckpoint(ctx, debateID)
}

// ListEvents reads through.
func (s spooling) ListEvents(ctx context.Context, debateID string, afterSeq int64, limit int) ([]store.Event, error) {
	return s.cp.ListEvents(ctx, debateID, afterSeq, limit)
}

// recommit commits the spooled final checkpoint of the claimed debate of
// j, if there is one, instead of running its agents again. It returns
// whether the debate is now finished; an error (the store still cannot
// write) leaves the spool as it is and the debate must not run.
func (m *Manager) recommit(ctx context.Context, j *Job) (bool, error) {
	id := j.d.ID
	c := m.spool.getFinal(id)
	if c == nil {
		return false, nil
	}
	cp, ok := m.st.(store.Checkpointer)
	if !ok {
		return false, nil
	}
	fc := *c
	fc.Lease = j.lease
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := cp.SaveCheckpoint(wctx, &fc)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrLeaseLost):
		// The log moved on without it: committed by an earlier attempt that
		// only looked failed, or run again elsewhere. What the store holds
		// wins.
		cur, gerr := m.st.GetDebate(wctx, id)
		if gerr != nil {
			return false, fmt.Errorf("lifecycle: re-commit spooled result: %w", gerr)
		}
		m.spool.dropFinal(id)
		m.log.Warn("debate_result_spool_superseded", "debate_id", id, "status", cur.Status, "error", err.Error())
		if store.Terminal(cur.Status) {
			j.d = cur
			return true, nil
		}
		return false, nil
	default:
		return false, fmt.Errorf("lifecycle: re-commit spooled result: %w", err)
	}
	m.spool.dropFinal(id)
	cur, err := m.st.GetDebate(wctx, id)
	if err != nil {
		return false, fmt.Errorf("lifecycle: re-commit spooled result: %w", err)
	}
	j.d, j.recommitted = cur, true
	m.log.Info("debate_result_recommitted", "debate_id", id, "status", cur.Status)
	return true, nil
}

// RecordUsage charges usage outside a debate (an agent test,
// docs/http-api.md#accounts) to the store; rows it cannot write now are
// spooled and written by the sweeper once it can (never dropped). It
// returns the store's error when the rows were spooled. A record without
// an ID gets one before the first attempt, kept in the spool, so a write
// that committed but was reported failed is not recorded twice.
func (m *Manager) RecordUsage(ctx context.Context, us store.UsageStore, recs ...store.UsageRecord) error {
	if us == nil {
		return nil
	}
	for i := range recs {
		if recs[i].ID == "" {
			recs[i].ID = store.NewUsageID(m.now())
		}
	}
	for i := range recs {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := us.RecordUsage(wctx, &recs[i])
		cancel()
		if err != nil {
			m.mu.Lock()
			m.usageStore = us
			m.mu.Unlock()
			m.spool.putUsage(recs[i:])
			return fmt.Errorf("lifecycle: usage spooled: %w", err)
		}
	}
	return nil
}

// FlushUsage writes the spooled usage rows now (the sweeper does so every
// SweepEvery); it returns how many were written.
func (m *Manager) FlushUsage(ctx context.Context) int {
	m.mu.Lock()
	us := m.usageStore
	m.mu.Unlock()
	if us == nil {
		us, _ = m.st.(store.UsageStore)
	}
	if us == nil {
		return 0
	}
	return m.spool.flushUsage(ctx, us)
}
