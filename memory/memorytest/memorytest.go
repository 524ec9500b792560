// Package memorytest is the conformance suite every continuum memory
// backend (memstore, sqlitestore, pgstore) runs from its own tests:
//
//	func TestMemoryConformance(t *testing.T) {
//		memorytest.Run(t, func(t *testing.T) memory.Store { return memstore.NewMemory() })
//	}
//
// It is imported only from _test.go files.
package memorytest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/conform"
	"github.com/aragora/aragora/memory"
)

// Factory returns a new, empty store and registers its cleanup with
// t.Cleanup. It is called once per subtest, possibly in parallel.
type Factory func(t *testing.T) memory.Store

// Run checks that the stores newStore returns honour the memory.Store
// contract, and runs the Continuum over them.
func Run(t *testing.T, newStore Factory) {
	t.Helper()
	conform.Run(t, newStore, []conform.Case[memory.Store]{
		{Name: "RoundTrip", Fn: testRoundTrip},
		{Name: "Missing", Fn: testMissing},
		{Name: "PutReplaces", Fn: testPutReplaces},
		{Name: "InvalidRefused", Fn: testInvalid},
		{Name: "Delete", Fn: testDelete},
		{Name: "ListFiltersAndOrder", Fn: testList},
		{Name: "Stats", Fn: testStats},
		{Name: "ConcurrentPuts", Fn: testConcurrent},
		{Name: "ContinuumLifecycle", Fn: testContinuum},
	})
}

// base is conform.Base: round trips check the UTC conversion and
// microsecond precision.
var base = conform.Base

var ctxT = conform.Context

func entry(id string, tier memory.Tier, at time.Time) *memory.Entry {
	return &memory.Entry{ID: id, Tier: tier, Kind: memory.KindInsight, Content: "content of " + id, Importance: 0.5,
		CreatedAt: at, UpdatedAt: at}
}

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func testRoundTrip(t *testing.T, s memory.Store) {
	ctx := ctxT(t)
	e := &memory.Entry{ID: "mem_1", Tier: memory.TierMedium, Kind: memory.KindCritiquePattern, Content: "Critics flagged: ünïcode ✓",
		Domain: "security", Tags: []string{"critic:a", "b"}, Importance: 0.75, Surprise: 0.125, Consolidation: 0.3010299956639812,
		Updates: 3, Successes: 2, Failures: 1, Source: "deb_1", CreatedAt: base, UpdatedAt: base.Add(time.Hour),
		TierChangedAt: base.Add(time.Minute), ExpiresAt: base.Add(48 * time.Hour), RedLine: true}
	require.NoError(t, s.PutMemory(ctx, e, nil))
	got, err := s.GetMemory(ctx, "mem_1")
	require.NoError(t, err)
	want := e.Clone()
	want.CreatedAt, want.UpdatedAt, want.TierChangedAt, want.ExpiresAt = utc(e.CreatedAt), utc(e.UpdatedAt), utc(e.TierChangedAt), utc(e.ExpiresAt)
	require.Equal(t, want, got)
	require.Equal(t, time.UTC, got.CreatedAt.Location())

	// Zero times and no tags come back zero and nil.
	z := &memory.Entry{ID: "mem_2", Tier: memory.TierFast, Kind: memory.KindOutcome, Content: "x", CreatedAt: base, UpdatedAt: base}
	require.NoError(t, s.PutMemory(ctx, z, nil))
	got, err = s.GetMemory(ctx, "mem_2")
	require.NoError(t, err)
	assert.True(t, got.TierChangedAt.IsZero())
	assert.True(t, got.ExpiresAt.IsZero())
	assert.Nil(t, got.Tags)
	assert.False(t, got.RedLine)

	// Values are copied: changing what was passed or returned changes nothing stored.
	got.Content = "changed"
	e.Tags[0] = "changed"
	again, err := s.GetMemory(ctx, "mem_1")
	require.NoError(t, err)
	assert.Equal(t, "critic:a", again.Tags[0])
	again, err = s.GetMemory(ctx, "mem_2")
	require.NoError(t, err)
	assert.Equal(t, "x", again.Content)
}

func testMissing(t *testing.T, s memory.Store) {
	ctx := ctxT(t)
	_, err := s.GetMemory(ctx, "nope")
	require.ErrorIs(t, err, memory.ErrNotFound)
	err = s.DeleteMemory(ctx, memory.Transition{EntryID: "nope", From: memory.TierFast, To: memory.Forgotten, At: base})
	require.ErrorIs(t, err, memory.ErrNotFound)
	st, err := s.MemoryStats(ctx)
	require.NoError(t, err)
	assert.Empty(t, st.Transitions, "a failed delete records nothing")
}

func testPutReplaces(t *testing.T, s memory.Store) {
	ctx := ctxT(t)
	e := entry("mem_r", memory.TierSlow, base)
	require.NoError(t, s.PutMemory(ctx, e, nil))
	e.Tier, e.Surprise, e.Updates, e.UpdatedAt = memory.TierMedium, 0.8, 1, base.Add(time.Hour)
	tr := memory.Transition{EntryID: "mem_r", From: memory.TierSlow, To: memory.TierMedium, Reason: "promote", Surprise: 0.8, At: base.Add(time.Hour)}
	require.NoError(t, s.PutMemory(ctx, e, []memory.Transition{tr}))
	got, err := s.GetMemory(ctx, "mem_r")
	require.NoError(t, err)
	assert.Equal(t, memory.TierMedium, got.Tier)
	assert.Equal(t, 1, got.Updates)
	assert.InDelta(t, 0.8, got.Surprise, 1e-12)
	st, err := s.MemoryStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []memory.TransitionCount{{From: memory.TierSlow, To: memory.TierMedium, Count: 1}}, st.Transitions)
	assert.Equal(t, 1, st.Tiers[1].Count)
	assert.Equal(t, 0, st.Tiers[2].Count)
}

func testInvalid(t *testing.T, s memory.Store) {
	ctx := ctxT(t)
	for _, e := range []*memory.Entry{
		{ID: "", Tier: memory.TierFast, Kind: memory.KindInsight, Content: "x"},
		{ID: "a", Tier: "lukewarm", Kind: memory.KindInsight, Content: "x"},
		{ID: "a", Tier: memory.TierFast, Kind: "gossip", Content: "x"},
		{ID: "a", Tier: memory.TierFast, Kind: memory.KindInsight, Content: ""},
		{ID: "a", Tier: memory.TierFast, Kind: memory.KindInsight, Content: "x", Importance: 1.5},
	} {
		err := s.PutMemory(ctx, e, nil)
		require.ErrorIs(t, err, memory.ErrInvalid, "%+v", e)
	}
	_, err := s.GetMemory(ctx, "a")
	require.ErrorIs(t, err, memory.ErrNotFound)
}

func testDelete(t *testing.T, s memory.Store) {
	ctx := ctxT(t)
	require.NoError(t, s.PutMemory(ctx, entry("mem_d", memory.TierGlacial, base), nil))
	require.NoError(t, s.DeleteMemory(ctx, memory.Transition{EntryID: "mem_d", From: memory.TierGlacial, To: memory.Forgotten, Reason: "deleted", At: base}))
	_, err := s.GetMemory(ctx, "mem_d")
	require.ErrorIs(t, err, memory.ErrNotFound)
	st, err := s.MemoryStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []memory.TransitionCount{{From: memory.TierGlacial, To: memory.Forgotten, Count: 1}}, st.Transitions)
	err = s.DeleteMemory(ctx, memory.Transition{EntryID: "mem_d", From: memory.TierGlacial, To: memory.Forgotten, Reason: "deleted", At: base})
	require.ErrorIs(t, err, memory.ErrNotFound)
}

func ids(es []*memory.Entry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testList(t *testing.T, s memory.Store) {
	ctx := ctxT(t)
	sec := "security"
	none := ""
	put := func(id string, tier memory.Tier, kind memory.Kind, domain string, at time.Time) {
		e := entry(id, tier, at)
		e.Kind, e.Domain = kind, domain
		require.NoError(t, s.PutMemory(ctx, e, nil))
	}
	put("b", memory.TierFast, memory.KindOutcome, "security", base.Add(2*time.Hour))
	put("a", memory.TierFast, memory.KindInsight, "security", base.Add(2*time.Hour))
	put("c", memory.TierSlow, memory.KindCritiquePattern, "", base.Add(time.Hour))
	put("d", memory.TierSlow, memory.KindInsight, "ops", base.Add(3*time.Hour))

	all, err := s.ListMemories(ctx, memory.Filter{})
	require.NoError(t, err)
	assert.Equal(t, []string{"d", "a", "b", "c"}, ids(all), "updated desc, then id")
	got, err := s.ListMemories(ctx, memory.Filter{Tier: memory.TierFast})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, ids(got))
	got, err = s.ListMemories(ctx, memory.Filter{Kind: memory.KindInsight})
	require.NoError(t, err)
	assert.Equal(t, []string{"d", "a"}, ids(got))
	got, err = s.ListMemories(ctx, memory.Filter{Domain: &sec})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, ids(got))
	got, err = s.ListMemories(ctx, memory.Filter{Domain: &none})
	require.NoError(t, err)
	assert.Equal(t, []string{"c"}, ids(got))
	got, err = s.ListMemories(ctx, memory.Filter{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"d", "a"}, ids(got))
	got, err = s.ListMemories(ctx, memory.Filter{Tier: memory.TierGlacial})
	require.NoError(t, err)
	assert.Empty(t, got)
}

func testStats(t *testing.T, s memory.Store) {
	ctx := ctxT(t)
	st, err := s.MemoryStats(ctx)
	require.NoError(t, err)
	require.Len(t, st.Tiers, 4)
	for i, ts := range st.Tiers {
		assert.Equal(t, memory.TierStats{Tier: memory.Tiers[i]}, ts)
	}
	a := entry("a", memory.TierFast, base)
	a.Content = "12345"
	b := entry("b", memory.TierFast, base)
	b.Content = "héllo" // 6 bytes
	c := entry("c", memory.TierGlacial, base)
	c.Content = "z"
	for _, e := range []*memory.Entry{a, b, c} {
		require.NoError(t, s.PutMemory(ctx, e, nil))
	}
	tr := func(from, to memory.Tier) memory.Transition {
		return memory.Transition{EntryID: "a", From: from, To: to, Reason: "demote", At: base}
	}
	require.NoError(t, s.PutMemory(ctx, a, []memory.Transition{tr(memory.TierMedium, memory.TierFast), tr(memory.TierFast, memory.TierMedium)}))
	require.NoError(t, s.PutMemory(ctx, a, []memory.Transition{tr(memory.TierFast, memory.TierMedium)}))
	st, err = s.MemoryStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []memory.TierStats{{Tier: memory.TierFast, Count: 2, Bytes: 11}, {Tier: memory.TierMedium, Count: 0, Bytes: 0}, {Tier: memory.TierSlow, Count: 0, Bytes: 0}, {Tier: memory.TierGlacial, Count: 1, Bytes: 1}}, st.Tiers)
	assert.Equal(t, []memory.TransitionCount{{From: memory.TierFast, To: memory.TierMedium, Count: 2}, {From: memory.TierMedium, To: memory.TierFast, Count: 1}}, st.Transitions)
}

func testConcurrent(t *testing.T, s memory.Store) {
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := entry(fmt.Sprintf("c%02d", i), memory.TierMedium, base.Add(time.Duration(i)*time.Second))
			errs <- s.PutMemory(ctx, e, []memory.Transition{{EntryID: e.ID, From: memory.TierSlow, To: memory.TierMedium, At: base}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st, err := s.MemoryStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 20, st.Tiers[1].Count)
	assert.Equal(t, []memory.TransitionCount{{From: memory.TierSlow, To: memory.TierMedium, Count: 20}}, st.Transitions)
}

// testContinuum runs the tier arithmetic over the backend: promotion
// after the cooldown, cleanup of stale entries, red-line survival.
func testContinuum(t *testing.T, s memory.Store) {
	ctx := ctxT(t)
	now := base
	c, err := memory.New(memory.Config{Store: s, Now: func() time.Time { return now }})
	require.NoError(t, err)
	e, err := c.Add(ctx, memory.Entry{Kind: memory.KindInsight, Domain: "d", Content: "Prefer idempotent retries", Tier: memory.TierGlacial})
	require.NoError(t, err)
	keep, err := c.Add(ctx, memory.Entry{Kind: memory.KindInsight, Content: "Never ship without review", Tier: memory.TierFast, RedLine: true})
	require.NoError(t, err)
	now = now.Add(2 * time.Hour)
	// Alternating outcomes: surprise 0.3×0.5 = 0.15, 0.3×1 + 0.7×0.15 =
	// 0.405, 0.3×0.5 + 0.7×0.405 = 0.4335, 0.3×2/3 + 0.7×0.4335 = 0.50345
	// > 0.5: promoted from glacial to slow on the fourth update.
	for i, ok := range []bool{true, false, true, false} {
		assert.Equal(t, memory.TierGlacial, e.Tier, "before update %d", i+1)
		e, err = c.Observe(ctx, e.ID, ok)
		require.NoError(t, err)
	}
	assert.Equal(t, memory.TierSlow, e.Tier)
	assert.InDelta(t, 0.50345, e.Surprise, 1e-9)
	got, err := s.GetMemory(ctx, e.ID)
	require.NoError(t, err)
	assert.Equal(t, memory.TierSlow, got.Tier)
	assert.Equal(t, 2, got.Failures)
	assert.Equal(t, 4, got.Updates)

	now = now.Add(400 * time.Hour) // beyond 2×168 h: the slow entry is stale
	rep, err := c.Cleanup(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Deleted)
	_, err = s.GetMemory(ctx, e.ID)
	require.True(t, errors.Is(err, memory.ErrNotFound))
	_, err = s.GetMemory(ctx, keep.ID)
	require.NoError(t, err, "red-line entries survive cleanup")
	require.ErrorIs(t, c.Delete(ctx, keep.ID), memory.ErrRedLine)

	st, err := s.MemoryStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []memory.TransitionCount{{From: memory.TierGlacial, To: memory.TierSlow, Count: 1}, {From: memory.TierSlow, To: memory.Forgotten, Count: 1}}, st.Transitions)
}
