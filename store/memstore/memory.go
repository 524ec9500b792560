package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aragora/aragora/memory"
)

var _ memory.Store = (*Store)(nil)

// Memory is the in-memory continuum memory store ([memory.Store]),
// embedded in [Store] and usable alone. It has its own lock.
type Memory struct {
	mu          sync.Mutex
	entries     map[string]*memory.Entry
	transitions map[[2]memory.Tier]int64
}

// NewMemory returns an empty memory store.
func NewMemory() *Memory {
	return &Memory{entries: map[string]*memory.Entry{}, transitions: map[[2]memory.Tier]int64{}}
}

func memUTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func memCopy(e *memory.Entry) *memory.Entry {
	c := e.Clone()
	c.CreatedAt, c.UpdatedAt = memUTC(c.CreatedAt), memUTC(c.UpdatedAt)
	c.TierChangedAt, c.ExpiresAt = memUTC(c.TierChangedAt), memUTC(c.ExpiresAt)
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	return c
}

// PutMemory implements [memory.Store].
func (m *Memory) PutMemory(_ context.Context, e *memory.Entry, ts []memory.Transition) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("memstore: put memory: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[e.ID] = memCopy(e)
	for _, t := range ts {
		m.transitions[[2]memory.Tier{t.From, t.To}]++
	}
	return nil
}

// GetMemory implements [memory.Store].
func (m *Memory) GetMemory(_ context.Context, id string) (*memory.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	if !ok {
		return nil, fmt.Errorf("memstore: memory %q: %w", id, memory.ErrNotFound)
	}
	return memCopy(e), nil
}

// DeleteMemory implements [memory.Store].
func (m *Memory) DeleteMemory(_ context.Context, t memory.Transition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[t.EntryID]; !ok {
		return fmt.Errorf("memstore: memory %q: %w", t.EntryID, memory.ErrNotFound)
	}
	delete(m.entries, t.EntryID)
	m.transitions[[2]memory.Tier{t.From, t.To}]++
	return nil
}

// ListMemories implements [memory.Store].
func (m *Memory) ListMemories(_ context.Context, f memory.Filter) ([]*memory.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*memory.Entry
	for _, e := range m.entries {
		if (f.Tier != "" && e.Tier != f.Tier) || (f.Kind != "" && e.Kind != f.Kind) || (f.Domain != nil && e.Domain != *f.Domain) {
			continue
		}
		out = append(out, memCopy(e))
	}
	slices.SortFunc(out, func(a, b *memory.Entry) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(a.ID, b.ID))
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// MemoryStats implements [memory.Store].
func (m *Memory) MemoryStats(context.Context) (memory.Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var st memory.Stats
	for _, t := range memory.Tiers {
		ts := memory.TierStats{Tier: t}
		for _, e := range m.entries {
			if e.Tier == t {
				ts.Count++
				ts.Bytes += int64(len(e.Content))
			}
		}
		st.Tiers = append(st.Tiers, ts)
	}
	for k, n := range m.transitions {
		st.Transitions = append(st.Transitions, memory.TransitionCount{From: k[0], To: k[1], Count: n})
	}
	slices.SortFunc(st.Transitions, func(a, b memory.TransitionCount) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	return st, nil
}
