package memory_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/enum/enumtest"
	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/store/memstore"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is an injected, manually advanced clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

func newContinuum(t *testing.T, mod func(*memory.Config)) (*memory.Continuum, *clock, *memstore.Memory) {
	t.Helper()
	clk := &clock{now: t0}
	st := memstore.NewMemory()
	cfg := memory.Config{Store: st, Now: clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	c, err := memory.New(cfg)
	require.NoError(t, err)
	return c, clk, st
}

func add(t *testing.T, c *memory.Continuum, e memory.Entry) *memory.Entry {
	t.Helper()
	if e.Kind == "" {
		e.Kind = memory.KindInsight
	}
	got, err := c.Add(context.Background(), e)
	require.NoError(t, err)
	return got
}

func TestExpectedAndConsolidation(t *testing.T) {
	assert.InDelta(t, 0.5, memory.Expected(0, 0), 0)
	assert.InDelta(t, 0.75, memory.Expected(3, 1), 1e-12)
	assert.InDelta(t, 0.0, memory.Expected(0, 4), 0)
	assert.InDelta(t, 0.0, memory.Consolidation(0), 0)
	assert.InDelta(t, math.Log(2)/math.Log(100), memory.Consolidation(1), 1e-12)
	assert.InDelta(t, 0.5, memory.Consolidation(9), 1e-12) // ln 10 / ln 100
	assert.InDelta(t, 1.0, memory.Consolidation(99), 1e-12)
	assert.InDelta(t, 1.0, memory.Consolidation(1000), 0, "capped at 1")
}

// TestSurpriseEMA follows the surprise through a success, a failure and a
// success: |actual − expected| with expected taken before the update,
// smoothed with α = 0.3.
func TestSurpriseEMA(t *testing.T) {
	ctx := context.Background()
	c, clk, _ := newContinuum(t, nil)
	e := add(t, c, memory.Entry{Content: "Cache invalidation needs versioned keys", Tier: memory.TierSlow})
	clk.advance(time.Minute) // within the cooldown: no tier change
	want := 0.0
	s, f := 0, 0
	for i, ok := range []bool{true, false, true, true, false} {
		exp := memory.Expected(s, f)
		act := 0.0
		if ok {
			act, s = 1, s+1
		} else {
			f++
		}
		want = 0.3*math.Abs(act-exp) + 0.7*want
		got, err := c.Observe(ctx, e.ID, ok)
		require.NoError(t, err)
		assert.InDelta(t, want, got.Surprise, 1e-12, "update %d", i+1)
		assert.Equal(t, i+1, got.Updates)
		assert.Equal(t, s, got.Successes)
		assert.Equal(t, f, got.Failures)
		assert.InDelta(t, memory.Consolidation(i+1), got.Consolidation, 1e-12)
		assert.Equal(t, memory.TierSlow, got.Tier, "the cooldown holds the tier")
		assert.Equal(t, clk.now, got.UpdatedAt)
	}
	// 0.15, 0.405, 0.4335, 0.40345, 0.507415
	assert.InDelta(t, 0.507415, want, 1e-12)
}

// TestThresholds checks each tier's promotion and demotion thresholds:
// strictly greater than promote, strictly less than demote.
func TestThresholds(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		tier     memory.Tier
		surprise float64
		want     memory.Tier
	}{
		{memory.TierFast, 0.99, memory.TierFast}, // fast cannot be promoted
		{memory.TierFast, 0.2, memory.TierFast},  // not below 0.2
		{memory.TierFast, 0.19, memory.TierMedium},
		{memory.TierMedium, 0.71, memory.TierFast},
		{memory.TierMedium, 0.7, memory.TierMedium},
		{memory.TierMedium, 0.29, memory.TierSlow},
		{memory.TierSlow, 0.61, memory.TierMedium},
		{memory.TierSlow, 0.5, memory.TierSlow},
		{memory.TierSlow, 0.39, memory.TierGlacial},
		{memory.TierGlacial, 0.51, memory.TierSlow},
		{memory.TierGlacial, 0.0, memory.TierGlacial}, // glacial cannot be demoted
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s_%v", tc.tier, tc.surprise), func(t *testing.T) {
			// Alpha 1 makes the surprise exactly |actual − expected|; seed
			// the counts so that expected gives the wanted surprise.
			c, clk, st := newContinuum(t, func(cfg *memory.Config) { cfg.Alpha = 1 })
			e := add(t, c, memory.Entry{Content: "x", Tier: tc.tier})
			// With 100 prior outcomes of which k succeeded, a success has
			// surprise 1 − k/100.
			k := int(math.Round((1 - tc.surprise) * 100))
			e.Successes, e.Failures = k, 100-k
			require.NoError(t, st.PutMemory(ctx, e, nil))
			clk.advance(memory.DefaultCooldown)
			got, err := c.Observe(ctx, e.ID, true)
			require.NoError(t, err)
			require.InDelta(t, tc.surprise, got.Surprise, 1e-9)
			assert.Equal(t, tc.want, got.Tier)
			stats, err := c.Stats(ctx)
			require.NoError(t, err)
			if tc.want == tc.tier {
				assert.Empty(t, stats.Transitions)
				assert.True(t, got.TierChangedAt.IsZero())
			} else {
				assert.Equal(t, []memory.TransitionCount{{From: tc.tier, To: tc.want, Count: 1}}, stats.Transitions)
				assert.Equal(t, clk.now, got.TierChangedAt)
			}
		})
	}
}

func TestCooldown(t *testing.T) {
	ctx := context.Background()
	var moves []string
	c, clk, _ := newContinuum(t, func(cfg *memory.Config) {
		cfg.Cooldown = 2 * time.Hour
		cfg.OnTransition = func(from, to memory.Tier) { moves = append(moves, string(from)+">"+string(to)) }
	})
	e := add(t, c, memory.Entry{Content: "x", Tier: memory.TierFast})
	// A success with no history: surprise 0.15 < 0.2, but the cooldown
	// since creation has not passed.
	clk.advance(2*time.Hour - time.Second)
	got, err := c.Observe(ctx, e.ID, true)
	require.NoError(t, err)
	assert.Equal(t, memory.TierFast, got.Tier)
	clk.advance(time.Second)
	got, err = c.Observe(ctx, e.ID, true) // surprise 0.7×0.15 = 0.105
	require.NoError(t, err)
	assert.Equal(t, memory.TierMedium, got.Tier)
	// The next change waits for the cooldown from this one.
	clk.advance(time.Hour)
	got, err = c.Observe(ctx, e.ID, true)
	require.NoError(t, err)
	assert.Equal(t, memory.TierMedium, got.Tier)
	clk.advance(time.Hour)
	got, err = c.Observe(ctx, e.ID, true)
	require.NoError(t, err)
	assert.Equal(t, memory.TierSlow, got.Tier)
	assert.Equal(t, []string{"fast>medium", "medium>slow"}, moves)
}

func TestCleanupStaleExpiredAndRedLine(t *testing.T) {
	ctx := context.Background()
	c, clk, _ := newContinuum(t, nil)
	fast := add(t, c, memory.Entry{Content: "fast one", Tier: memory.TierFast})
	medium := add(t, c, memory.Entry{Content: "medium one", Tier: memory.TierMedium})
	expiring := add(t, c, memory.Entry{Content: "expiring", Tier: memory.TierGlacial, ExpiresAt: t0.Add(3 * time.Hour)})
	red := add(t, c, memory.Entry{Content: "red line", Tier: memory.TierFast, RedLine: true, ExpiresAt: t0.Add(time.Hour)})

	clk.advance(2 * time.Hour) // exactly 2× the fast half-life: kept
	rep, err := c.Cleanup(ctx)
	require.NoError(t, err)
	assert.Zero(t, rep.Deleted)

	clk.advance(time.Hour + time.Second)
	rep, err = c.Cleanup(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Deleted)
	assert.Equal(t, map[string]int{"stale": 1, "expired": 1}, rep.Reasons)
	for _, id := range []string{fast.ID, expiring.ID} {
		_, err := c.Get(ctx, id)
		require.ErrorIs(t, err, memory.ErrNotFound, id)
	}
	for _, id := range []string{medium.ID, red.ID} {
		_, err := c.Get(ctx, id)
		require.NoError(t, err, id)
	}
	clk.advance(1000 * time.Hour)
	rep, err = c.Cleanup(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Deleted, "the medium entry goes, the red-line entry stays")
	_, err = c.Get(ctx, red.ID)
	require.NoError(t, err)
	require.ErrorIs(t, c.Delete(ctx, red.ID), memory.ErrRedLine)

	st, err := c.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []memory.TransitionCount{
		{From: memory.TierFast, To: memory.Forgotten, Count: 1},
		{From: memory.TierGlacial, To: memory.Forgotten, Count: 1},
		{From: memory.TierMedium, To: memory.Forgotten, Count: 1},
	}, st.Transitions)
}

func TestCleanupCapacityEvictsLowestImportanceTimesRecency(t *testing.T) {
	ctx := context.Background()
	tiers := memory.DefaultTiers()
	spec := tiers[memory.TierSlow]
	spec.MaxItems = 3
	tiers[memory.TierSlow] = spec
	c, clk, _ := newContinuum(t, func(cfg *memory.Config) { cfg.Tiers = tiers })
	// old-high: importance 0.9, 168 h old → 0.45; new-low: 0.3 → 0.3;
	// new-mid: 0.6; red: importance 0.1 but red-line; fresh: 0.5.
	oldHigh := add(t, c, memory.Entry{Content: "old high", Tier: memory.TierSlow, Importance: 0.9})
	clk.advance(168 * time.Hour)
	newLow := add(t, c, memory.Entry{Content: "new low", Tier: memory.TierSlow, Importance: 0.3})
	newMid := add(t, c, memory.Entry{Content: "new mid", Tier: memory.TierSlow, Importance: 0.6})
	red := add(t, c, memory.Entry{Content: "red", Tier: memory.TierSlow, Importance: 0.1, RedLine: true})
	fresh := add(t, c, memory.Entry{Content: "fresh", Tier: memory.TierSlow})
	rep, err := c.Cleanup(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"capacity": 2}, rep.Reasons)
	assert.Equal(t, 3, rep.Kept[memory.TierSlow])
	for _, id := range []string{newLow.ID, oldHigh.ID} {
		_, err := c.Get(ctx, id)
		require.ErrorIs(t, err, memory.ErrNotFound, id)
	}
	for _, id := range []string{newMid.ID, red.ID, fresh.ID} {
		_, err := c.Get(ctx, id)
		require.NoError(t, err, id)
	}
}

func TestAddIsIdempotentAndValidates(t *testing.T) {
	ctx := context.Background()
	c, clk, _ := newContinuum(t, nil)
	a := add(t, c, memory.Entry{Content: "  Use  Retries ", Domain: "ops"})
	assert.Equal(t, memory.TierSlow, a.Tier, "the default tier")
	assert.InDelta(t, 0.5, a.Importance, 0)
	assert.Equal(t, memory.EntryID(memory.KindInsight, "ops", "use retries"), a.ID)
	clk.advance(time.Hour)
	b := add(t, c, memory.Entry{Content: "use retries", Domain: "ops", Importance: 0.8})
	assert.Equal(t, a.ID, b.ID)
	assert.InDelta(t, 0.8, b.Importance, 0)
	assert.Equal(t, t0, b.CreatedAt)
	assert.Equal(t, clk.now, b.UpdatedAt)
	_, err := c.Add(ctx, memory.Entry{Kind: "rumour", Content: "x"})
	require.ErrorIs(t, err, memory.ErrInvalid)
	_, err = c.Add(ctx, memory.Entry{Kind: memory.KindInsight, Content: "  "})
	require.ErrorIs(t, err, memory.ErrInvalid)
	_, err = memory.New(memory.Config{})
	require.ErrorIs(t, err, memory.ErrInvalid)
}

func TestRetrieveRanksWithinBudget(t *testing.T) {
	ctx := context.Background()
	var retrievals []int
	c, clk, _ := newContinuum(t, func(cfg *memory.Config) { cfg.OnRetrieve = func(n int) { retrievals = append(retrievals, n) } })
	rate := add(t, c, memory.Entry{Content: "Rate limiting with a token bucket per client", Domain: "api"})
	glacial := add(t, c, memory.Entry{Content: "Rate limiting must be shared across replicas", Domain: "api", Tier: memory.TierGlacial})
	other := add(t, c, memory.Entry{Content: "Chocolate cake needs butter", Domain: "baking"})
	long := add(t, c, memory.Entry{Content: "Rate limiting " + strings.Repeat("detail ", 400), Domain: "api"})
	clk.advance(time.Hour)

	got, err := c.Retrieve(ctx, memory.Query{Text: "How should we do rate limiting?", Domain: "api"})
	require.NoError(t, err)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.Entry.ID)
		assert.Positive(t, r.Score)
		assert.LessOrEqual(t, r.Relevance, 1.0)
	}
	assert.NotContains(t, ids, other.ID, "another domain, no shared words")
	assert.NotContains(t, ids, long.ID, "over the token budget")
	require.Equal(t, []string{rate.ID, glacial.ID}, ids, "slow outranks glacial at equal relevance")
	assert.Greater(t, got[0].Score, got[1].Score)
	assert.Equal(t, []int{2}, retrievals)

	// Limit and an unlimited budget.
	got, err = c.Retrieve(ctx, memory.Query{Text: "rate limiting", Domain: "api", Limit: 1, TokenBudget: -1})
	require.NoError(t, err)
	require.Len(t, got, 1)
	got, err = c.Retrieve(ctx, memory.Query{Text: "rate limiting", Domain: "api", TokenBudget: -1})
	require.NoError(t, err)
	assert.Len(t, got, 3)
	// Same store, same clock: same answer.
	again, err := c.Retrieve(ctx, memory.Query{Text: "rate limiting", Domain: "api", TokenBudget: -1})
	require.NoError(t, err)
	assert.Equal(t, got, again)
	_, err = c.Retrieve(ctx, memory.Query{Text: "x", Tier: "warm"})
	require.ErrorIs(t, err, memory.ErrInvalid)
}

// fixedEmbedder maps texts to vectors by a keyword.
type fixedEmbedder struct{}

func (fixedEmbedder) Embed(_ context.Context, texts []string) ([][]float64, error) {
	out := make([][]float64, len(texts))
	for i, t := range texts {
		if strings.Contains(t, "alpha") {
			out[i] = []float64{1, 0}
		} else {
			out[i] = []float64{0, 1}
		}
	}
	return out, nil
}

func TestRetrieveWithEmbedder(t *testing.T) {
	c, _, _ := newContinuum(t, func(cfg *memory.Config) { cfg.Embedder = fixedEmbedder{} })
	a := add(t, c, memory.Entry{Content: "alpha things"})
	add(t, c, memory.Entry{Content: "beta things"})
	got, err := c.Retrieve(context.Background(), memory.Query{Text: "tell me about alpha"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, a.ID, got[0].Entry.ID)
	assert.InDelta(t, 1, got[0].Relevance, 1e-12)
}

func TestRecordDebate(t *testing.T) {
	ctx := context.Background()
	c, clk, _ := newContinuum(t, nil)
	used := add(t, c, memory.Entry{Content: "earlier lesson", Domain: "sec"})
	clk.advance(time.Minute)
	o := memory.DebateOutcome{DebateID: "deb1", Question: "Should we store passwords in plain text?", Domain: "sec",
		Status: "consensus_reached", Verdict: "approved", Winner: "a", FinalAnswer: "No: hash them with argon2id.",
		Confidence: 0.9, Consensus: true, Used: []string{used.ID, "mem_gone"},
		Critiques: []memory.CritiqueNote{{Critic: "b", Target: "a", Issue: "Plain-text passwords leak on any breach", Severity: 9}}}
	require.True(t, c.Success(o))
	require.NoError(t, c.RecordDebate(ctx, o))
	require.NoError(t, c.RecordDebate(ctx, o), "recording twice changes nothing")

	got, err := c.Get(ctx, used.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, got.Updates, "one outcome update despite two recordings")
	assert.Equal(t, 1, got.Successes)
	out, err := c.Get(ctx, memory.OutcomeID("deb1"))
	require.NoError(t, err)
	assert.Equal(t, memory.KindOutcome, out.Kind)
	assert.Contains(t, out.Content, "hash them with argon2id")
	assert.Equal(t, "deb1", out.Source)
	pats, err := c.List(ctx, memory.Filter{Kind: memory.KindCritiquePattern})
	require.NoError(t, err)
	require.Len(t, pats, 1)
	assert.Equal(t, "Critics flagged: Plain-text passwords leak on any breach", pats[0].Content)
	assert.Equal(t, "sec", pats[0].Domain)
	assert.InDelta(t, 0.95, pats[0].Importance, 1e-12)

	low := o
	low.DebateID, low.Confidence = "deb2", 0.5
	assert.False(t, c.Success(low))
	require.NoError(t, c.RecordDebate(ctx, low))
	got, err = c.Get(ctx, used.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, got.Failures)
	require.ErrorIs(t, c.RecordDebate(ctx, memory.DebateOutcome{}), memory.ErrInvalid)
}

func TestTierAndKindText(t *testing.T) {
	t.Parallel()
	enumtest.CheckOpen(t, memory.Tiers, memory.ParseTier, "forgotten")
	enumtest.CheckOpen(t, memory.Kinds, memory.ParseKind, "fact")
	_, err := memory.ParseTier("warm")
	assert.ErrorIs(t, err, memory.ErrInvalid)
	assert.EqualError(t, err, `memory: invalid: tier "warm" is unknown (want fast, medium, slow or glacial)`)
	_, err = memory.ParseKind("fact")
	assert.ErrorIs(t, err, memory.ErrInvalid)
}
