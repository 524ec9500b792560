package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/store"
)

func TestSummarizeUsage(t *testing.T) {
	t.Parallel()
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	buckets := []store.UsageBucket{
		{Day: "2024-01-15", Provider: "anthropic", Requests: 2, TokensIn: 300, TokensOut: 30, CostUSD: 0.75},
		{Day: "2024-01-15", Provider: "openai", Requests: 1, TokensIn: 1, TokensOut: 2, CostUSD: 0.25},
		{Day: "2024-01-16", Provider: "anthropic", Requests: 1, TokensIn: 10, TokensOut: 1, CostUSD: 0.5},
	}
	debates := []*store.Debate{
		{ID: "deb_1", Status: store.StatusConsensusReached, CreatedAt: time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)},
		{ID: "deb_2", Status: store.StatusFailed, CreatedAt: time.Date(2024, 1, 20, 10, 0, 0, 0, time.UTC)},
		{ID: "deb_3", Status: store.StatusFailed, CreatedAt: to}, // outside
	}
	s := store.SummarizeUsage(buckets, debates, from, to)
	assert.Equal(t, 2, s.Debates)
	assert.Equal(t, map[store.Status]int{store.StatusConsensusReached: 1, store.StatusFailed: 1}, s.DebatesByStatus)
	assert.Equal(t, store.UsageTotals{Requests: 4, TokensIn: 311, TokensOut: 33, CostUSD: 1.5}, s.Total)
	assert.Equal(t, []store.ProviderUsage{
		{Provider: "anthropic", UsageTotals: store.UsageTotals{Requests: 3, TokensIn: 310, TokensOut: 31, CostUSD: 1.25}},
		{Provider: "openai", UsageTotals: store.UsageTotals{Requests: 1, TokensIn: 1, TokensOut: 2, CostUSD: 0.25}},
	}, s.ByProvider)
	assert.Equal(t, []store.DayUsage{
		{Date: "2024-01-15", Debates: 1, UsageTotals: store.UsageTotals{Requests: 3, TokensIn: 301, TokensOut: 32, CostUSD: 1}},
		{Date: "2024-01-16", UsageTotals: store.UsageTotals{Requests: 1, TokensIn: 10, TokensOut: 1, CostUSD: 0.5}},
		{Date: "2024-01-20", Debates: 1},
	}, s.ByDay)
}
