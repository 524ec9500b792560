package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/internal/apitest"
	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store/memstore"
)

func mustContinuum(t *testing.T, st memory.Store) *memory.Continuum {
	t.Helper()
	c, err := memory.New(memory.Config{Store: st})
	require.NoError(t, err)
	return c
}

// TestMemoryRoutes exercises /api/memory through the OpenAPI-validating
// handler: listing, searching, tiers, delete (red line refused) and cleanup,
// with their roles.
func TestMemoryRoutes(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	mem := mustContinuum(t, st)
	e := newAuthEnv(t, st, func(c *server.Config) { c.Memory = mem })
	h := apitest.Must(t, server.OpenAPI()).Handler(t, e.srv)
	admin, viewer := e.bearer(authpkg.RoleAdmin), e.bearer(authpkg.RoleViewer)

	rate, err := mem.Add(ctx, memory.Entry{Kind: memory.KindInsight, Domain: "api", Content: "Rate limiting needs a shared store across replicas"})
	require.NoError(t, err)
	red, err := mem.Add(ctx, memory.Entry{Kind: memory.KindInsight, Content: "Never log secrets", Tier: memory.TierGlacial, RedLine: true})
	require.NoError(t, err)
	_, err = mem.Add(ctx, memory.Entry{Kind: memory.KindOutcome, Content: "Stale one", Tier: memory.TierFast})
	require.NoError(t, err)
	_, err = mem.Observe(ctx, rate.ID, true)
	require.NoError(t, err)

	type list struct {
		Count   int `json:"count"`
		Entries []struct {
			ID    string   `json:"id"`
			Tier  string   `json:"tier"`
			Score *float64 `json:"score"`
		} `json:"entries"`
	}
	w := do(t, h, "GET", "/api/memory/continuum", "", viewer)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	l := decode[list](t, w.Body.Bytes())
	assert.Equal(t, 3, l.Count)
	assert.Equal(t, rate.ID, l.Entries[0].ID, "most recently updated first")
	assert.Nil(t, l.Entries[0].Score)

	w = do(t, h, "GET", "/api/memory/continuum?query=rate+limiting+replicas&limit=5", "", viewer)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	l = decode[list](t, w.Body.Bytes())
	require.Equal(t, 1, l.Count)
	assert.Equal(t, rate.ID, l.Entries[0].ID)
	require.NotNil(t, l.Entries[0].Score)
	assert.Positive(t, *l.Entries[0].Score)

	w = do(t, h, "GET", "/api/memory/continuum?tier=glacial", "", viewer)
	l = decode[list](t, w.Body.Bytes())
	require.Equal(t, 1, l.Count)
	assert.Equal(t, red.ID, l.Entries[0].ID)
	for _, bad := range []string{"?tier=warm", "?limit=0", "?limit=201", "?sort=id"} {
		w = do(t, h, "GET", "/api/memory/continuum"+bad, "", viewer)
		assert.Equal(t, http.StatusBadRequest, w.Code, bad)
	}

	w = do(t, h, "GET", "/api/memory/tiers", "", viewer)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	type tiers struct {
		Tiers []struct {
			Tier          string   `json:"tier"`
			Count         int      `json:"count"`
			HalfLifeHours float64  `json:"half_life_hours"`
			Promote       *float64 `json:"promote_threshold"`
		} `json:"tiers"`
		Forgotten int `json:"forgotten"`
	}
	tv := decode[tiers](t, w.Body.Bytes())
	require.Len(t, tv.Tiers, 4)
	assert.Equal(t, "fast", tv.Tiers[0].Tier)
	assert.Nil(t, tv.Tiers[0].Promote)
	assert.InDelta(t, 720, tv.Tiers[3].HalfLifeHours, 0)
	assert.Equal(t, []int{1, 0, 1, 1}, []int{tv.Tiers[0].Count, tv.Tiers[1].Count, tv.Tiers[2].Count, tv.Tiers[3].Count})

	// Deleting and cleaning up need admin.
	assert.Equal(t, http.StatusForbidden, do(t, h, "DELETE", "/api/memory/continuum/"+rate.ID, "", viewer).Code)
	assert.Equal(t, http.StatusForbidden, do(t, h, "POST", "/api/memory/continuum/cleanup", "", viewer).Code)
	assert.Equal(t, http.StatusConflict, do(t, h, "DELETE", "/api/memory/continuum/"+red.ID, "", admin).Code)
	assert.Equal(t, http.StatusNoContent, do(t, h, "DELETE", "/api/memory/continuum/"+rate.ID, "", admin).Code)
	assert.Equal(t, http.StatusNotFound, do(t, h, "DELETE", "/api/memory/continuum/"+rate.ID, "", admin).Code)

	w = do(t, h, "POST", "/api/memory/continuum/cleanup", "{}", admin)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	rep := decode[memory.CleanupReport](t, w.Body.Bytes())
	assert.Zero(t, rep.Deleted, "nothing is stale yet")
	assert.Equal(t, http.StatusBadRequest, do(t, h, "POST", "/api/memory/continuum/cleanup", `{"force":true}`, admin).Code)

	w = do(t, h, "GET", "/api/memory/tiers", "", viewer)
	tv = decode[tiers](t, w.Body.Bytes())
	assert.Equal(t, 1, tv.Forgotten)
}
