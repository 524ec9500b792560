// Package memstore is the in-memory reference implementation of the store
// ports: a map guarded by a mutex. It backs tests, examples and
// `aragora debate --no-store`; everything is lost when the process exits.
//
// It implements [store.DebateStore], [store.Checkpointer], [store.Pinger],
// [store.Leaser], [store.IdempotencyStore], [store.RatingStore] and, through
// the embedded [Auth], every authentication port ([store.UserStore],
// [store.APIKeyStore], [store.RevocationStore], [store.IssuedTokenStore],
// [store.TokenVersionStore], [store.KeyRingStore], [store.AuditStore],
// [store.UsageStore]), the webhook ports through the embedded [Outbox]
// ([webhook.Outbox], [webhook.EndpointStore]), and passes storetest.Run and
// webhooktest.Run. Values are copied in and out, so callers may reuse
// or modify what they pass and receive. Times are kept in UTC at microsecond
// precision, like the SQL backends.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aragora/aragora/store"
)

// Interface guard.
var _ store.Backend = (*Store)(nil)

// Store is an in-memory store. It is safe for concurrent use. The zero
// value is not usable; call [New]. The authentication ports are those of
// the embedded [Auth], which has its own lock.
type Store struct {
	*Auth
	*Outbox
	*Memory

	mu          sync.Mutex
	debates     map[string]*store.Debate
	events      map[string][]store.Event // per debate, seq order, seq i+1 at index i
	checkpoints map[string][]*checkpoint // per debate, in save order
	cpByKey     map[cpKey]*checkpoint
	idem        map[idemKey]*store.IdempotencyRecord
	ratings     map[ratingKey]*store.Rating
	matches     map[string][]store.RatingChange // by debate id
	now         func() time.Time
	nomic       nomicData // zero value usable
}

type cpKey struct {
	debateID string
	round    int
	phase    string
}

type checkpoint struct {
	cp     *store.Checkpoint // events not retained here; they live in events
	digest string
}

// New returns an empty store.
func New() *Store {
	return &Store{
		Auth:        NewAuth(),
		Outbox:      NewOutbox(),
		Memory:      NewMemory(),
		debates:     map[string]*store.Debate{},
		events:      map[string][]store.Event{},
		checkpoints: map[string][]*checkpoint{},
		cpByKey:     map[cpKey]*checkpoint{},
		idem:        map[idemKey]*store.IdempotencyRecord{},
		ratings:     map[ratingKey]*store.Rating{},
		matches:     map[string][]store.RatingChange{},
		now:         time.Now,
	}
}

// Close does nothing and returns nil; the data stays readable.
func (s *Store) Close() error { return nil }

// Ping returns ctx.Err(), or nil.
func (s *Store) Ping(ctx context.Context) error { return ctx.Err() }

// CreateDebate stores a copy of d; ErrConflict if the ID exists.
func (s *Store) CreateDebate(ctx context.Context, d *store.Debate) error {
	return s.CreateDebateWithOutbox(ctx, d, nil)
}

// CreateDebateWithOutbox implements [store.OutboxCreator]: d and the outbox
// messages together, or neither (ErrConflict for an existing debate or
// message id).
func (s *Store) CreateDebateWithOutbox(ctx context.Context, d *store.Debate, outbox []store.OutboxMessage) error {
	return lockedErr(ctx, &s.mu, func() error {
		if d == nil || d.ID == "" {
			return fmt.Errorf("memstore: create debate: empty debate id")
		}
		if _, ok := s.debates[d.ID]; ok {
			return fmt.Errorf("memstore: create debate %q: %w", d.ID, store.ErrConflict)
		}
		if err := s.Outbox.writeOutbox(outbox); err != nil {
			return err
		}
		s.debates[d.ID] = copyDebate(d)
		return nil
	})
}

// GetDebate returns a copy of the debate or an error wrapping ErrNotFound.
func (s *Store) GetDebate(ctx context.Context, id string) (*store.Debate, error) {
	return locked(ctx, &s.mu, func() (*store.Debate, error) {
		return get(s.debates, id, copyDebate, "debate %q", id)
	})
}

// ListDebates returns debates newest first (CreatedAt desc, ID desc).
func (s *Store) ListDebates(ctx context.Context, f store.Filter) ([]*store.Debate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := store.PageSize(f.Limit)
	var cur *store.Cursor
	if f.Cursor != nil {
		cur = &store.Cursor{CreatedAt: normTime(f.Cursor.CreatedAt), ID: f.Cursor.ID}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*store.Debate
	for _, d := range s.debates {
		if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, d.Status) {
			continue
		}
		if f.Owner != "" && d.Owner != f.Owner {
			continue
		}
		if cur != nil && !older(d, cur) {
			continue
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *store.Debate) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
	return firstCopies(out, limit), nil
}

// older reports whether d sorts strictly after cursor c in a newest-first listing.
func older(d *store.Debate, c *store.Cursor) bool {
	if !d.CreatedAt.Equal(c.CreatedAt) {
		return d.CreatedAt.Before(c.CreatedAt)
	}
	return d.ID < c.ID
}

// SaveCheckpoint appends cp.Events and stores cp atomically, per the
// [store.Checkpointer] contract: an identical checkpoint (same
// [store.CheckpointDigest]) under an existing key is a no-op; a different one,
// or events that do not continue the log, return ErrConflict.
func (s *Store) SaveCheckpoint(ctx context.Context, cp *store.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if cp == nil || cp.DebateID == "" {
		return fmt.Errorf("memstore: save checkpoint: empty debate id")
	}
	digest := store.CheckpointDigest(cp)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := cpKey{cp.DebateID, cp.Round, cp.Phase}
	if old, ok := s.cpByKey[key]; ok {
		if old.digest == digest {
			return nil
		}
		return fmt.Errorf("memstore: checkpoint %q round %d phase %q: different checkpoint under the same key: %w",
			cp.DebateID, cp.Round, cp.Phase, store.ErrConflict)
	}
	d, hasRecord := s.debates[cp.DebateID]
	if cp.Lease != nil && (!hasRecord || !holds(d, *cp.Lease)) {
		return fmt.Errorf("memstore: checkpoint %q by %q (generation %d): %w", cp.DebateID, cp.Lease.Owner, cp.Lease.Generation, store.ErrLeaseLost)
	}
	if store.Terminal(cp.Status) {
		if err := s.checkFinal(cp.Final); err != nil {
			return err
		}
	}
	log := s.events[cp.DebateID]
	last := int64(len(log))
	if err := store.CheckBatch(cp, last); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	if err := s.checkSingleEnd(cp.DebateID, cp.Events); err != nil {
		return err
	}
	for _, e := range cp.Events {
		e.DebateID = cp.DebateID
		e.JSON = bytes.Clone(e.JSON)
		log = append(log, e)
	}
	s.events[cp.DebateID] = log
	stored := *cp
	stored.Events, stored.Lease, stored.Final = nil, nil, nil
	stored.State = bytes.Clone(cp.State)
	stored.CreatedAt = normTime(cp.CreatedAt)
	if stored.CreatedAt.IsZero() {
		stored.CreatedAt = normTime(s.now())
	}
	c := &checkpoint{cp: &stored, digest: digest}
	s.checkpoints[cp.DebateID] = append(s.checkpoints[cp.DebateID], c)
	s.cpByKey[key] = c
	if hasRecord {
		d.LastSeq = cp.Seq
		d.UpdatedAt = stored.CreatedAt
		if store.Terminal(cp.Status) {
			s.setStatus(d, cp.Status, stored.CreatedAt)
			s.storeFinal(d, cp.Final, stored.CreatedAt)
		}
	}
	return nil
}

// LatestCheckpoint returns the most recently saved checkpoint of the debate
// (with its Events batch), or an error wrapping ErrNotFound.
func (s *Store) LatestCheckpoint(ctx context.Context, debateID string) (*store.Checkpoint, error) {
	return locked(ctx, &s.mu, func() (*store.Checkpoint, error) {
		cps := s.checkpoints[debateID]
		if len(cps) == 0 {
			return nil, fmt.Errorf("memstore: checkpoint of %q: %w", debateID, store.ErrNotFound)
		}
		c := *cps[len(cps)-1].cp
		c.State = bytes.Clone(c.State)
		prev := int64(0)
		if len(cps) > 1 {
			prev = cps[len(cps)-2].cp.Seq
		}
		c.Events = copyEvents(s.events[debateID][prev:c.Seq])
		return &c, nil
	})
}

// ListEvents returns up to limit events with seq > afterSeq in seq order
// (limit <= 0: all); an unknown debate yields an empty list.
func (s *Store) ListEvents(ctx context.Context, debateID string, afterSeq int64, limit int) ([]store.Event, error) {
	return locked(ctx, &s.mu, func() ([]store.Event, error) {
		log := s.events[debateID]
		if afterSeq < 0 {
			afterSeq = 0
		}
		if afterSeq >= int64(len(log)) {
			return []store.Event{}, nil
		}
		page := log[afterSeq:]
		if limit > 0 && len(page) > limit {
			page = page[:limit]
		}
		return copyEvents(page), nil
	})
}

func copyEvents(in []store.Event) []store.Event {
	out := make([]store.Event, len(in))
	for i, e := range in {
		e.JSON = bytes.Clone(e.JSON)
		out[i] = e
	}
	return out
}

func copyDebate(d *store.Debate) *store.Debate {
	c := *d
	c.Config = bytes.Clone(d.Config)
	c.Result = bytes.Clone(d.Result)
	c.CreatedAt = normTime(d.CreatedAt)
	c.UpdatedAt = normTime(d.UpdatedAt)
	c.StartedAt = normTime(d.StartedAt)
	c.FinishedAt = normTime(d.FinishedAt)
	c.LeaseExpiresAt = normTime(d.LeaseExpiresAt)
	return &c
}

// normTime returns t in UTC truncated to microseconds, as the SQL backends
// store it; the zero time stays zero.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}
