package storetest

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

var ratingTests = []test{
	{Name: "WorkedExamples", Fn: testRatingWorkedExamples},
	{Name: "RecordIsIdempotent", Fn: testRatingIdempotent},
	{Name: "DomainsAreSeparate", Fn: testRatingDomains},
	{Name: "InvalidMatch", Fn: testRatingInvalid},
	{Name: "ConcurrentRecordsOfOneDebate", Fn: testRatingConcurrent},
}

func ratings(s store.DebateStore) store.RatingStore { return s.(store.RatingStore) }

func board(t *testing.T, r store.RatingStore, domain string) map[string]store.Rating {
	t.Helper()
	list, err := r.Ratings(ctxT(t), domain)
	require.NoError(t, err)
	out := map[string]store.Rating{}
	for _, x := range list {
		out[x.Agent] = x
	}
	return out
}

// testRatingWorkedExamples replays docs/debate.md#elo-ratings's three-agent example.
func testRatingWorkedExamples(t *testing.T, s store.DebateStore) {
	r := ratings(s)
	abc := []string{"a", "b", "c"}
	ch, err := r.RecordMatch(ctxT(t), store.Match{DebateID: "d1", Agents: abc, Winner: "a", Consensus: true, At: base})
	require.NoError(t, err)
	require.Len(t, ch, 3)
	assert.Equal(t, "a", ch[0].Agent)
	assert.InDelta(t, 1500, ch[0].Before, 1e-9)
	assert.InDelta(t, 10.667, ch[0].Delta(), 0.001)
	assert.InDelta(t, -5.333, ch[1].Delta(), 0.001)

	_, err = r.RecordMatch(ctxT(t), store.Match{DebateID: "d2", Agents: abc, Winner: "b", At: base.Add(time.Minute)})
	require.NoError(t, err)
	list, err := r.Ratings(ctxT(t), "")
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, []string{"b", "a", "c"}, []string{list[0].Agent, list[1].Agent, list[2].Agent}, "leaderboard order")
	assert.InDelta(t, 1527.40, list[0].Elo, 0.005)
	assert.InDelta(t, 1493.19, list[1].Elo, 0.005)
	assert.InDelta(t, 1479.40, list[2].Elo, 0.005)
	b := board(t, r, "")
	assert.Equal(t, store.Rating{Agent: "a", Wins: 1, Losses: 1, Draws: 0, Debates: 2}, counters(b["a"]))
	assert.Equal(t, store.Rating{Agent: "b", Wins: 1, Losses: 0, Draws: 1, Debates: 2}, counters(b["b"]))
	assert.Equal(t, store.Rating{Agent: "c", Wins: 0, Losses: 1, Draws: 1, Debates: 2}, counters(b["c"]))
	assertTime(t, base.Add(time.Minute), b["a"].UpdatedAt, "UpdatedAt")
}

func counters(r store.Rating) store.Rating {
	return store.Rating{Agent: r.Agent, Wins: r.Wins, Losses: r.Losses, Draws: r.Draws, Debates: r.Debates}
}

func testRatingIdempotent(t *testing.T, s store.DebateStore) {
	r := ratings(s)
	m := store.Match{DebateID: "d1", Domain: "finance", Agents: []string{"a", "b", "c"}, Winner: "a", At: base}
	first, err := r.RecordMatch(ctxT(t), m)
	require.NoError(t, err)
	require.Len(t, first, 6, "overall then domain changes")
	assert.Equal(t, "", first[0].Domain)
	assert.Equal(t, "finance", first[3].Domain)
	assert.InDelta(t, 1532, first[0].After, 1e-9)
	before := board(t, r, "")

	m.Winner = "b" // even a different outcome for the same debate changes nothing
	again, err := r.RecordMatch(ctxT(t), m)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Equal(t, before, board(t, r, ""))
}

func testRatingDomains(t *testing.T, s store.DebateStore) {
	r := ratings(s)
	_, err := r.RecordMatch(ctxT(t), store.Match{DebateID: "d1", Domain: "law", Agents: []string{"a", "b"}, Winner: "a", At: base})
	require.NoError(t, err)
	_, err = r.RecordMatch(ctxT(t), store.Match{DebateID: "d2", Agents: []string{"a", "b"}, Winner: "b", At: base})
	require.NoError(t, err)
	law := board(t, r, "law")
	overall := board(t, r, "")
	assert.InDelta(t, 1516, law["a"].Elo, 1e-9)
	assert.InDelta(t, 1484, law["b"].Elo, 1e-9)
	assert.Equal(t, 1, law["a"].Debates)
	assert.Equal(t, 2, overall["a"].Debates)
	assert.Equal(t, "law", law["a"].Domain)
	// Overall: a won (1516), then b won from 1484 vs 1516.
	assert.InDelta(t, 1516-32/(1+math.Pow(10, (1484.0-1516.0)/400)), overall["a"].Elo, 1e-9)
	none, err := r.Ratings(ctxT(t), "unknown")
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testRatingInvalid(t *testing.T, s store.DebateStore) {
	r := ratings(s)
	_, err := r.RecordMatch(ctxT(t), store.Match{DebateID: "d1", Agents: []string{"a"}, Winner: "a"})
	require.ErrorIs(t, err, store.ErrInvalidMatch)
	_, err = r.RecordMatch(ctxT(t), store.Match{DebateID: "d1", Agents: []string{"a", "b"}, Winner: "judge"})
	require.ErrorIs(t, err, store.ErrInvalidMatch)
	list, err := r.Ratings(ctxT(t), "")
	require.NoError(t, err)
	assert.Empty(t, list)
}

func testRatingConcurrent(t *testing.T, s store.DebateStore) {
	r := ratings(s)
	m := store.Match{DebateID: "d1", Agents: []string{"a", "b"}, Winner: "a", At: base}
	var wg sync.WaitGroup
	results := make([][]store.RatingChange, 6)
	errs := make([]error, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = r.RecordMatch(ctxT(t), m)
		}()
	}
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i])
		assert.Equal(t, results[0], results[i])
	}
	b := board(t, r, "")
	assert.Equal(t, 1, b["a"].Debates, "recorded once")
	assert.InDelta(t, 1516, b["a"].Elo, 1e-9)
}
