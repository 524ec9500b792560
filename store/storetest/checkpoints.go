package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

var checkpointTests = []test{
	{Name: "LatestMissingIsNotFound", Fn: testLatestMissing},
	{Name: "SaveAndLoad", Fn: testSaveAndLoad},
	{Name: "IdenticalSaveIsNoOp", Fn: testIdenticalSave},
	{Name: "DifferentSameKeyConflicts", Fn: testDifferentSameKey},
	{Name: "SeqGapOrDuplicateConflicts", Fn: testSeqConflicts},
	{Name: "WithoutDebateRecord", Fn: testCheckpointWithoutRecord},
	{Name: "UpdatesDebateRecord", Fn: testCheckpointUpdatesRecord},
	{Name: "ListEventsAfterAndLimit", Fn: testListEvents},
	{Name: "ConcurrentAppendersNoGap", Fn: testConcurrentAppenders},
}

func cps(s store.DebateStore) store.Checkpointer { return s.(store.Checkpointer) }

func checkpointAt(debateID string, round int, phase string, from, to int64, status store.Status, at time.Time) *store.Checkpoint {
	return &store.Checkpoint{
		DebateID:  debateID,
		Round:     round,
		Phase:     phase,
		Seq:       to,
		Status:    status,
		State:     json.RawMessage(fmt.Sprintf(`{"round":%d,"phase":%q,"proposals":{"a":"x"}}`, round, phase)),
		Events:    events(debateID, from, to),
		CreatedAt: at,
	}
}

func mustSave(t *testing.T, c store.Checkpointer, cp *store.Checkpoint) {
	t.Helper()
	require.NoError(t, c.SaveCheckpoint(ctxT(t), cp))
}

func allEvents(t *testing.T, c store.Checkpointer, id string) []store.Event {
	t.Helper()
	evs, err := c.ListEvents(ctxT(t), id, 0, 0)
	require.NoError(t, err)
	return evs
}

func seqs(evs []store.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func testLatestMissing(t *testing.T, s store.DebateStore) {
	_, err := cps(s).LatestCheckpoint(ctxT(t), "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
	evs, err := cps(s).ListEvents(ctxT(t), "nope", 0, 0)
	require.NoError(t, err)
	assert.Empty(t, evs)
}

func testSaveAndLoad(t *testing.T, s store.DebateStore) {
	c := cps(s)
	mustSave(t, c, checkpointAt("d1", 0, "init", 1, 3, store.StatusRunning, base))
	second := checkpointAt("d1", 1, "propose", 4, 6, store.StatusRunning, base.Add(time.Second))
	mustSave(t, c, second)
	// A phase that emitted no events keeps the seq.
	empty := checkpointAt("d1", 1, "critique", 7, 6, store.StatusRunning, base.Add(2*time.Second))
	require.Empty(t, empty.Events)
	mustSave(t, c, empty)

	got, err := c.LatestCheckpoint(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, "d1", got.DebateID)
	assert.Equal(t, 1, got.Round)
	assert.Equal(t, "critique", got.Phase)
	assert.Equal(t, int64(6), got.Seq)
	assert.Equal(t, store.StatusRunning, got.Status)
	assert.Equal(t, string(empty.State), string(got.State))
	assert.Empty(t, got.Events)
	assertTime(t, empty.CreatedAt, got.CreatedAt, "CreatedAt")

	evs := allEvents(t, c, "d1")
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6}, seqs(evs))
	want := second.Events[1]
	assert.Equal(t, "d1", evs[4].DebateID)
	assert.Equal(t, want.Type, evs[4].Type)
	assert.Equal(t, string(want.JSON), string(evs[4].JSON), "event JSON is stored byte for byte")

	// Another debate's log is independent.
	mustSave(t, c, checkpointAt("d2", 0, "init", 1, 1, store.StatusRunning, base))
	assert.Equal(t, []int64{1}, seqs(allEvents(t, c, "d2")))
}

func testIdenticalSave(t *testing.T, s store.DebateStore) {
	c := cps(s)
	cp := checkpointAt("d1", 0, "init", 1, 3, store.StatusRunning, base)
	mustSave(t, c, cp)
	mustSave(t, c, cp) // retry after an ambiguous failure
	again := checkpointAt("d1", 0, "init", 1, 3, store.StatusRunning, base.Add(time.Minute))
	mustSave(t, c, again) // rebuilt with a new timestamp: still identical
	assert.Equal(t, []int64{1, 2, 3}, seqs(allEvents(t, c, "d1")))
	got, err := c.LatestCheckpoint(ctxT(t), "d1")
	require.NoError(t, err)
	assertTime(t, base, got.CreatedAt, "CreatedAt of the first write")

	// An old identical checkpoint retried after later ones is still a no-op.
	mustSave(t, c, checkpointAt("d1", 1, "propose", 4, 5, store.StatusRunning, base))
	mustSave(t, c, cp)
	assert.Equal(t, []int64{1, 2, 3, 4, 5}, seqs(allEvents(t, c, "d1")))
}

func testDifferentSameKey(t *testing.T, s store.DebateStore) {
	c := cps(s)
	mustCreate(t, s, newDebate("d1", base))
	mustSave(t, c, checkpointAt("d1", 0, "init", 1, 2, store.StatusRunning, base))
	before, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)

	diffState := checkpointAt("d1", 0, "init", 1, 2, store.StatusRunning, base)
	diffState.State = json.RawMessage(`{"other":true}`)
	diffEvents := checkpointAt("d1", 0, "init", 1, 2, store.StatusRunning, base)
	diffEvents.Events[1].JSON = json.RawMessage(`{"type":"message","seq":2,"data":"changed"}`)
	// A second process resuming the same debate writes the next phase with
	// seqs that continue the log: the key still conflicts.
	continues := checkpointAt("d1", 0, "init", 3, 4, store.StatusFailed, base)
	for name, cp := range map[string]*store.Checkpoint{"state": diffState, "events": diffEvents, "continuing seqs": continues} {
		t.Run(name, func(t *testing.T) {
			err := c.SaveCheckpoint(ctxT(t), cp)
			require.ErrorIs(t, err, store.ErrConflict)
		})
	}
	assert.Equal(t, []int64{1, 2}, seqs(allEvents(t, c, "d1")), "nothing appended")
	got, err := c.LatestCheckpoint(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Seq)
	after, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, before, after, "debate record unchanged")
}

func testSeqConflicts(t *testing.T, s store.DebateStore) {
	c := cps(s)
	mustCreate(t, s, newDebate("d1", base))
	mustSave(t, c, checkpointAt("d1", 0, "init", 1, 3, store.StatusRunning, base))
	wrongDebate := checkpointAt("d1", 1, "propose", 4, 5, store.StatusRunning, base)
	wrongDebate.Events[1].DebateID = "d2"
	badSeq := checkpointAt("d1", 1, "propose", 4, 5, store.StatusRunning, base)
	badSeq.Seq = 9
	internalGap := checkpointAt("d1", 1, "propose", 4, 6, store.StatusRunning, base)
	internalGap.Events = append(internalGap.Events[:1], internalGap.Events[2:]...)
	internalGap.Seq = 6
	tests := []struct {
		name string
		cp   *store.Checkpoint
	}{
		{"gap", checkpointAt("d1", 1, "propose", 5, 6, store.StatusRunning, base)},
		{"duplicate", checkpointAt("d1", 1, "propose", 3, 4, store.StatusRunning, base)},
		{"restart at one", checkpointAt("d1", 1, "propose", 1, 2, store.StatusRunning, base)},
		{"gap inside the batch", internalGap},
		{"cp.Seq is not the last event", badSeq},
		{"empty batch with a different seq", checkpointAt("d1", 1, "propose", 5, 4, store.StatusRunning, base)},
		{"event of another debate", wrongDebate},
		{"terminal with a gap", checkpointAt("d1", 9, "end", 5, 5, store.StatusFailed, base)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.SaveCheckpoint(ctxT(t), tt.cp)
			require.ErrorIs(t, err, store.ErrConflict)
		})
	}
	assert.Equal(t, []int64{1, 2, 3}, seqs(allEvents(t, c, "d1")))
	got, err := c.LatestCheckpoint(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, "init", got.Phase)
	d, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, int64(3), d.LastSeq)
	assert.Equal(t, store.StatusPending, d.Status)
	// The right continuation still works afterwards.
	mustSave(t, c, checkpointAt("d1", 1, "propose", 4, 5, store.StatusRunning, base))
}

func testCheckpointWithoutRecord(t *testing.T, s store.DebateStore) {
	c := cps(s)
	mustSave(t, c, checkpointAt("orphan", 0, "init", 1, 2, store.StatusRunning, base))
	mustSave(t, c, checkpointAt("orphan", 1, "end", 3, 3, store.StatusNoConsensus, base))
	_, err := s.GetDebate(ctxT(t), "orphan")
	require.ErrorIs(t, err, store.ErrNotFound, "no record is invented")
	got, err := c.LatestCheckpoint(ctxT(t), "orphan")
	require.NoError(t, err)
	assert.Equal(t, store.StatusNoConsensus, got.Status)
}

func testCheckpointUpdatesRecord(t *testing.T, s store.DebateStore) {
	c := cps(s)
	d := newDebate("d1", base)
	d.Status = store.StatusRunning
	d.StartedAt = base
	mustCreate(t, s, d)

	t1 := base.Add(10 * time.Second)
	mustSave(t, c, checkpointAt("d1", 0, "init", 1, 4, store.StatusRunning, t1))
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, int64(4), got.LastSeq)
	assert.Equal(t, store.StatusRunning, got.Status)
	assertTime(t, t1, got.UpdatedAt, "UpdatedAt")
	assert.True(t, got.FinishedAt.IsZero())

	t2 := base.Add(20 * time.Second)
	mustSave(t, c, checkpointAt("d1", 1, "end", 5, 6, store.StatusConsensusReached, t2))
	got, err = s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, int64(6), got.LastSeq)
	assert.Equal(t, store.StatusConsensusReached, got.Status)
	assertTime(t, t2, got.UpdatedAt, "UpdatedAt")
	assertTime(t, t2, got.FinishedAt, "FinishedAt")
	assertTime(t, base, got.StartedAt, "StartedAt untouched")
	assertTime(t, base, got.CreatedAt, "CreatedAt untouched")
	assert.Equal(t, "topic d1", got.Topic)
}

func testListEvents(t *testing.T, s store.DebateStore) {
	c := cps(s)
	mustSave(t, c, checkpointAt("d1", 0, "init", 1, 10, store.StatusRunning, base))
	tests := []struct {
		name  string
		after int64
		limit int
		want  []int64
	}{
		{"all", 0, 0, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"after", 7, 0, []int64{8, 9, 10}},
		{"limit", 0, 3, []int64{1, 2, 3}},
		{"after and limit", 4, 2, []int64{5, 6}},
		{"limit past end", 8, 5, []int64{9, 10}},
		{"after the last", 10, 0, []int64{}},
		{"far after", 99, 1, []int64{}},
		{"negative after", -5, 2, []int64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := c.ListEvents(ctxT(t), "d1", tt.after, tt.limit)
			require.NoError(t, err)
			assert.Equal(t, tt.want, seqs(evs))
		})
	}
}

// testConcurrentAppenders races writers for every next seq: each append
// must be won by exactly one of them, with no gap and no duplicate.
func testConcurrentAppenders(t *testing.T, s store.DebateStore) {
	c := cps(s)
	mustCreate(t, s, newDebate("d1", base))
	const workers, target = 6, 30
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		won   = map[int64]int{} // seq → worker
		start = make(chan struct{})
		errs  = make(chan error, workers)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx := ctxT(t)
			for {
				evs, err := c.ListEvents(ctx, "d1", 0, 0)
				if err != nil {
					errs <- err
					return
				}
				next := int64(len(evs)) + 1
				if next > target {
					return
				}
				cp := &store.Checkpoint{
					DebateID:  "d1",
					Round:     int(next),
					Phase:     fmt.Sprintf("worker-%d", w),
					Seq:       next,
					Status:    store.StatusRunning,
					State:     json.RawMessage(fmt.Sprintf(`{"worker":%d}`, w)),
					Events:    []store.Event{{DebateID: "d1", Seq: next, Type: "w", JSON: json.RawMessage(fmt.Sprintf(`{"worker":%d}`, w))}},
					CreatedAt: base.Add(time.Duration(next) * time.Millisecond),
				}
				err = c.SaveCheckpoint(ctx, cp)
				switch {
				case err == nil:
					mu.Lock()
					if prev, dup := won[next]; dup {
						errs <- fmt.Errorf("seq %d won by workers %d and %d", next, prev, w)
					}
					won[next] = w
					mu.Unlock()
				case errors.Is(err, store.ErrConflict):
					// lost the race for this seq; try the next one
				default:
					errs <- err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	evs := allEvents(t, c, "d1")
	require.Len(t, evs, target)
	for i, e := range evs {
		assert.Equal(t, int64(i+1), e.Seq)
		assert.Equal(t, fmt.Sprintf(`{"worker":%d}`, won[e.Seq]), string(e.JSON), "seq %d written by its winner", e.Seq)
	}
	assert.Len(t, won, target)
	d, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, int64(target), d.LastSeq)
	latest, err := c.LatestCheckpoint(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, int64(target), latest.Seq)
}
