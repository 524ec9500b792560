package memstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aragora/aragora/store"
)

var _ store.NomicStore = (*Store)(nil)

// nomicData is the nomic loop's state, commands and outcomes, under Store.mu.
type nomicData struct {
	state    *store.NomicState
	commands []*store.NomicCommand
	outcomes []store.NomicOutcome
}

// LoadNomicState implements store.NomicStore.
func (s *Store) LoadNomicState(ctx context.Context) (*store.NomicState, error) {
	return locked(ctx, &s.mu, func() (*store.NomicState, error) {
		if s.nomic.state == nil {
			return nil, fmt.Errorf("memstore: nomic state: %w", store.ErrNotFound)
		}
		st := *s.nomic.state
		st.Doc = bytes.Clone(st.Doc)
		return &st, nil
	})
}

// SaveNomicState implements store.NomicStore.
func (s *Store) SaveNomicState(ctx context.Context, expect int64, w store.NomicWrite) (int64, error) {
	return locked(ctx, &s.mu, func() (int64, error) {
		var cur int64
		if s.nomic.state != nil {
			cur = s.nomic.state.Version
		}
		if cur != expect {
			return 0, fmt.Errorf("memstore: nomic state version %d, want %d: %w", cur, expect, store.ErrConflict)
		}
		if w.Outcome != nil && slices.ContainsFunc(s.nomic.outcomes, func(o store.NomicOutcome) bool { return o.CycleID == w.Outcome.CycleID }) {
			return 0, fmt.Errorf("memstore: nomic outcome %q: %w", w.Outcome.CycleID, store.ErrConflict)
		}
		if err := s.Outbox.writeOutbox(w.Outbox); err != nil {
			return 0, err
		}
		if w.Outcome != nil {
			o := *w.Outcome
			o.StartedAt, o.FinishedAt, o.Doc = normTime(o.StartedAt), normTime(o.FinishedAt), bytes.Clone(o.Doc)
			s.nomic.outcomes = append(s.nomic.outcomes, o)
		}
		s.nomic.state = &store.NomicState{Version: cur + 1, Doc: bytes.Clone(w.Doc), UpdatedAt: normTime(w.UpdatedAt)}
		return cur + 1, nil
	})
}

// EnqueueNomicCommand implements store.NomicStore.
func (s *Store) EnqueueNomicCommand(ctx context.Context, c store.NomicCommand) error {
	return lockedErr(ctx, &s.mu, func() error {
		if err := store.CheckNomicCommand(c); err != nil {
			return fmt.Errorf("memstore: %w", err)
		}
		for _, x := range s.nomic.commands {
			if x.ID == c.ID {
				return fmt.Errorf("memstore: nomic command %q: %w", c.ID, store.ErrConflict)
			}
		}
		c.Status, c.Result, c.AckedAt = store.NomicCommandPending, nil, time.Time{}
		c.Args, c.CreatedAt = bytes.Clone(c.Args), normTime(c.CreatedAt)
		s.nomic.commands = append(s.nomic.commands, &c)
		return nil
	})
}

func copyCommand(c *store.NomicCommand) store.NomicCommand {
	x := *c
	x.Args, x.Result = bytes.Clone(c.Args), bytes.Clone(c.Result)
	return x
}

// PendingNomicCommands implements store.NomicStore.
func (s *Store) PendingNomicCommands(ctx context.Context) ([]store.NomicCommand, error) {
	return locked(ctx, &s.mu, func() ([]store.NomicCommand, error) {
		var out []store.NomicCommand
		for _, c := range s.nomic.commands {
			if c.Status == store.NomicCommandPending {
				out = append(out, copyCommand(c))
			}
		}
		slices.SortStableFunc(out, func(a, b store.NomicCommand) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		return out, nil
	})
}

// AckNomicCommand implements store.NomicStore.
func (s *Store) AckNomicCommand(ctx context.Context, id string, status store.NomicCommandStatus, result json.RawMessage, at time.Time) error {
	if err := store.CheckNomicAck(status); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.nomic.commands {
		if c.ID != id {
			continue
		}
		if c.Status != store.NomicCommandPending {
			return fmt.Errorf("memstore: nomic command %q is %s: %w", id, c.Status, store.ErrConflict)
		}
		c.Status, c.Result, c.AckedAt = status, bytes.Clone(result), normTime(at)
		return nil
	}
	return fmt.Errorf("memstore: nomic command %q: %w", id, store.ErrNotFound)
}

// GetNomicCommand implements store.NomicStore.
func (s *Store) GetNomicCommand(ctx context.Context, id string) (*store.NomicCommand, error) {
	return locked(ctx, &s.mu, func() (*store.NomicCommand, error) {
		for _, c := range s.nomic.commands {
			if c.ID == id {
				x := copyCommand(c)
				return &x, nil
			}
		}
		return nil, notFound("nomic command %q", id)
	})
}

// ListNomicOutcomes implements store.NomicStore.
func (s *Store) ListNomicOutcomes(ctx context.Context, limit int) ([]store.NomicOutcome, error) {
	return locked(ctx, &s.mu, func() ([]store.NomicOutcome, error) {
		out := make([]store.NomicOutcome, 0, len(s.nomic.outcomes))
		for _, o := range s.nomic.outcomes {
			o.Doc = bytes.Clone(o.Doc)
			out = append(out, o)
		}
		slices.SortFunc(out, func(a, b store.NomicOutcome) int {
			return cmp.Or(b.FinishedAt.Compare(a.FinishedAt), cmp.Compare(b.CycleID, a.CycleID))
		})
		return out[:min(store.PageSize(limit), len(out))], nil
	})
}
