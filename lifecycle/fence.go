package lifecycle

import (
	"context"

	"github.com/aragora/aragora/store"
)

// fencedStore is the store an orchestrator holding a lease writes through:
// every checkpoint (with its event batch and, at the end, the final
// result) is conditional on the lease, so once another process has claimed
// the debate the next write is refused with store.ErrLeaseLost and the
// orchestrator stops without emitting anything (docs/operations.md#stop-drain-and-restart).
type fencedStore struct {
	store.DebateStore
	cp    store.Checkpointer
	lease store.Lease
}

// fence returns st fenced by l; st itself when there is no lease or st
// keeps no checkpoints.
func fence(st store.DebateStore, l *store.Lease) store.DebateStore {
	cp, ok := st.(store.Checkpointer)
	if l == nil || !ok {
		return st
	}
	return fencedStore{DebateStore: st, cp: cp, lease: *l}
}

// SaveCheckpoint saves a copy of c fenced by the lease.
func (f fencedStore) SaveCheckpoint(ctx context.Context, c *store.Checkpoint) error {
	fc := *c
	fc.Lease = &f.lease
	return f.cp.SaveCheckpoint(ctx, &fc)
}

// LatestCheckpoint reads through.
func (f fencedStore) LatestCheckpoint(ctx context.Context, debateID string) (*store.Checkpoint, error) {
	return f.cp.LatestCheckpoint(ctx, debateID)
}

// ListEvents reads through.
func (f fencedStore) ListEvents(ctx context.Context, debateID string, afterSeq int64, limit int) ([]store.Event, error) {
	return f.cp.ListEvents(ctx, debateID, afterSeq, limit)
}
