package memstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aragora/aragora/store"
)

// checkSingleEnd returns ErrConflict when evs holds a debate_end and the
// log (or evs itself) already has one. Callers hold s.mu.
func (s *Store) checkSingleEnd(id string, evs []store.Event) error {
	n := 0
	for _, e := range evs {
		if e.Type == store.EventDebateEnd {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if n > 1 || s.hasEnd(id) {
		return fmt.Errorf("memstore: debate %q: second %s: %w", id, store.EventDebateEnd, store.ErrConflict)
	}
	return nil
}

func (s *Store) hasEnd(id string) bool {
	for _, e := range s.events[id] {
		if e.Type == store.EventDebateEnd {
			return true
		}
	}
	return false
}

// debate returns the live record (not a copy); callers hold s.mu.
func (s *Store) debate(id string) (*store.Debate, error) {
	return get(s.debates, id, func(d *store.Debate) *store.Debate { return d }, "debate %q", id)
}

// onDebate checks ctx, then runs f on the live record of debate id (not a
// copy) with s.mu held; an unknown id is an error wrapping ErrNotFound.
func onDebate[T any](ctx context.Context, s *Store, id string, f func(*store.Debate) (T, error)) (T, error) {
	return locked(ctx, &s.mu, func() (T, error) {
		d, err := s.debate(id)
		if err != nil {
			var zero T
			return zero, err
		}
		return f(d)
	})
}

// onDebateErr is [onDebate] for methods that return only an error.
func onDebateErr(ctx context.Context, s *Store, id string, f func(*store.Debate) error) error {
	_, err := onDebate(ctx, s, id, func(d *store.Debate) (struct{}, error) { return struct{}{}, f(d) })
	return err
}

// ClaimDebate implements [store.Leaser].
func (s *Store) ClaimDebate(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (*store.Debate, error) {
	now = normTime(now)
	return onDebate(ctx, s, id, func(d *store.Debate) (*store.Debate, error) {
		if store.Terminal(d.Status) {
			return nil, fmt.Errorf("memstore: claim debate %q: status %s: %w", id, d.Status, store.ErrConflict)
		}
		if d.LeaseOwner != "" && d.LeaseOwner != owner && d.LeaseExpiresAt.After(now) {
			return nil, fmt.Errorf("memstore: claim debate %q: leased by %q: %w", id, d.LeaseOwner, store.ErrConflict)
		}
		d.LeaseOwner, d.LeaseExpiresAt = owner, normTime(now.Add(ttl))
		d.LeaseGeneration++
		d.UpdatedAt = now
		return copyDebate(d), nil
	})
}

// holds reports whether l is d's lease and d is not terminal; callers hold s.mu.
func holds(d *store.Debate, l store.Lease) bool {
	return !store.Terminal(d.Status) && d.LeaseOwner != "" && d.LeaseOwner == l.Owner && d.LeaseGeneration == l.Generation
}

// Heartbeat implements [store.Leaser].
func (s *Store) Heartbeat(ctx context.Context, id string, l store.Lease, now time.Time, ttl time.Duration) error {
	now = normTime(now)
	return onDebateErr(ctx, s, id, func(d *store.Debate) error {
		if d.Status != store.StatusRunning || !holds(d, l) {
			return fmt.Errorf("memstore: heartbeat %q by %q (generation %d): %w", id, l.Owner, l.Generation, store.ErrLeaseLost)
		}
		d.LeaseExpiresAt = normTime(now.Add(ttl))
		d.UpdatedAt = now
		return nil
	})
}

// ReleaseDebate implements [store.Leaser].
func (s *Store) ReleaseDebate(ctx context.Context, id string, l store.Lease, status store.Status, now time.Time) error {
	return onDebateErr(ctx, s, id, func(d *store.Debate) error {
		if !holds(d, l) {
			return fmt.Errorf("memstore: release %q by %q (generation %d): %w", id, l.Owner, l.Generation, store.ErrLeaseLost)
		}
		d.LeaseOwner, d.LeaseExpiresAt = "", time.Time{}
		if status != "" {
			s.setStatus(d, status, normTime(now))
		}
		d.UpdatedAt = normTime(now)
		return nil
	})
}

// setStatus applies a status change with its side effects; callers hold s.mu.
func (s *Store) setStatus(d *store.Debate, to store.Status, now time.Time) {
	d.Status = to
	d.UpdatedAt = now
	if to == store.StatusRunning && d.StartedAt.IsZero() {
		d.StartedAt = now
	}
	if store.Terminal(to) {
		d.FinishedAt = now
		d.LeaseOwner, d.LeaseExpiresAt = "", time.Time{}
	}
}

// UpdateStatus implements [store.Leaser].
func (s *Store) UpdateStatus(ctx context.Context, id string, from []store.Status, to store.Status, now time.Time) error {
	return onDebateErr(ctx, s, id, func(d *store.Debate) error {
		if len(from) > 0 && !slices.Contains(from, d.Status) {
			return fmt.Errorf("memstore: update status of %q: status %s not in %v: %w", id, d.Status, from, store.ErrConflict)
		}
		s.setStatus(d, to, normTime(now))
		return nil
	})
}

// FinishDebate implements [store.Leaser].
func (s *Store) FinishDebate(ctx context.Context, id string, f *store.Finish, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f == nil || !store.Terminal(f.Status) {
		return fmt.Errorf("memstore: finish %q: want a terminal status", id)
	}
	now = normTime(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.debate(id)
	if err != nil {
		return err
	}
	switch {
	case f.Lease != nil && !holds(d, *f.Lease):
		return fmt.Errorf("memstore: finish %q by %q (generation %d): %w", id, f.Lease.Owner, f.Lease.Generation, store.ErrLeaseLost)
	case f.Lease == nil && len(f.From) > 0 && !slices.Contains(f.From, d.Status):
		return fmt.Errorf("memstore: finish %q: status %s not in %v: %w", id, d.Status, f.From, store.ErrConflict)
	case f.Lease == nil && len(f.From) == 0 && store.Terminal(d.Status):
		return fmt.Errorf("memstore: finish %q: status %s is final: %w", id, d.Status, store.ErrConflict)
	}
	var end *store.Event
	if f.End != nil && !s.hasEnd(id) {
		seq := int64(len(s.events[id])) + 1
		js, err := f.End(seq)
		if err != nil {
			return fmt.Errorf("memstore: build %s of %q: %w", store.EventDebateEnd, id, err)
		}
		end = &store.Event{DebateID: id, Seq: seq, Type: store.EventDebateEnd, JSON: bytes.Clone(js)}
	}
	if err := s.checkFinal(&f.Final); err != nil {
		return err
	}
	if end != nil {
		s.events[id] = append(s.events[id], *end)
		d.LastSeq = end.Seq
	}
	s.setStatus(d, f.Status, now)
	s.storeFinal(d, &f.Final, now)
	return nil
}

// checkFinal refuses what storeFinal could not store (outbox messages
// whose ids exist); callers hold s.mu.
func (s *Store) checkFinal(f *store.Final) error {
	if f == nil {
		return nil
	}
	return s.Outbox.checkOutbox(f.Outbox)
}

// storeFinal stores f with d's terminal write; callers hold s.mu and have
// called checkFinal.
func (s *Store) storeFinal(d *store.Debate, f *store.Final, now time.Time) {
	if f == nil {
		return
	}
	if f.Result != nil {
		d.Result = bytes.Clone(f.Result)
	}
	_ = s.Outbox.writeOutbox(f.Outbox) // checked by checkFinal under s.mu
	for _, u := range f.Usage {
		if u.At.IsZero() {
			u.At = now
		}
		_ = s.Auth.RecordUsage(context.Background(), &u) // in memory: cannot fail
	}
}

// find returns copies of up to limit debates matching keep, least recently
// updated first (then by ID).
func (s *Store) find(ctx context.Context, limit int, keep func(*store.Debate) bool) ([]*store.Debate, error) {
	return locked(ctx, &s.mu, func() ([]*store.Debate, error) {
		var out []*store.Debate
		for _, d := range s.debates {
			if keep(d) {
				out = append(out, d)
			}
		}
		slices.SortFunc(out, func(a, b *store.Debate) int {
			return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), strings.Compare(a.ID, b.ID))
		})
		return firstCopies(out, store.PageSize(limit)), nil
	})
}

// firstCopies returns copies of the first limit (at most) debates of ds,
// reusing ds.
func firstCopies(ds []*store.Debate, limit int) []*store.Debate {
	ds = ds[:min(limit, len(ds))]
	for i, d := range ds {
		ds[i] = copyDebate(d)
	}
	return ds
}

// FindOrphans implements [store.Leaser].
func (s *Store) FindOrphans(ctx context.Context, now time.Time, limit int) ([]*store.Debate, error) {
	now = normTime(now)
	return s.find(ctx, limit, func(d *store.Debate) bool {
		if store.Terminal(d.Status) {
			return false
		}
		return d.LeaseOwner == "" || !d.LeaseExpiresAt.After(now)
	})
}

// FindStale implements [store.Leaser].
func (s *Store) FindStale(ctx context.Context, heartbeatBefore time.Time, limit int) ([]*store.Debate, error) {
	heartbeatBefore = normTime(heartbeatBefore)
	return s.find(ctx, limit, func(d *store.Debate) bool {
		return d.Status == store.StatusRunning && d.UpdatedAt.Before(heartbeatBefore)
	})
}

// FindUnended implements [store.Leaser].
func (s *Store) FindUnended(ctx context.Context, limit int) ([]*store.Debate, error) {
	return s.find(ctx, limit, func(d *store.Debate) bool {
		return store.Terminal(d.Status) && !s.hasEnd(d.ID)
	})
}

// AppendDebateEnd implements [store.Leaser].
func (s *Store) AppendDebateEnd(ctx context.Context, id string, build func(seq int64) (json.RawMessage, error)) (store.Event, error) {
	if err := ctx.Err(); err != nil {
		return store.Event{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.debate(id)
	if err != nil {
		return store.Event{}, err
	}
	if s.hasEnd(id) {
		return store.Event{}, fmt.Errorf("memstore: debate %q: second %s: %w", id, store.EventDebateEnd, store.ErrConflict)
	}
	seq := int64(len(s.events[id])) + 1
	js, err := build(seq)
	if err != nil {
		return store.Event{}, fmt.Errorf("memstore: build %s of %q: %w", store.EventDebateEnd, id, err)
	}
	e := store.Event{DebateID: id, Seq: seq, Type: store.EventDebateEnd, JSON: bytes.Clone(js)}
	s.events[id] = append(s.events[id], e)
	d.LastSeq = seq
	e.JSON = bytes.Clone(js)
	return e, nil
}
