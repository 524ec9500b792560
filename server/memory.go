package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/memory"
)

// Memory is the continuum memory behind /api/memory (docs/memory.md);
// *memory.Continuum implements it. With Config.Memory nil those routes do
// not exist (404 not_found).
type Memory interface {
	Retrieve(ctx context.Context, q memory.Query) ([]memory.Retrieved, error)
	List(ctx context.Context, f memory.Filter) ([]*memory.Entry, error)
	Stats(ctx context.Context) (memory.Stats, error)
	Spec(t memory.Tier) memory.TierSpec
	Delete(ctx context.Context, id string) error
	Cleanup(ctx context.Context) (memory.CleanupReport, error)
}

var _ Memory = (*memory.Continuum)(nil)

// memoryRoutes are the routes of /api/memory with their roles.
func (s *Server) memoryRoutes() []route {
	return []route{
		{"GET /api/memory/continuum", auth.RoleViewer, "general", s.handleMemoryList},
		{"GET /api/memory/tiers", auth.RoleViewer, "general", s.handleMemoryTiers},
		{"DELETE /api/memory/continuum/{id}", auth.RoleAdmin, "general", s.handleMemoryDelete},
		{"POST /api/memory/continuum/cleanup", auth.RoleAdmin, "general", s.handleMemoryCleanup},
	}
}

// memoryEntryView is an entry as the API shows it (docs/http-api.md#continuum-memory):
// the entry's JSON with tags never null, zero times null, and the scores
// of a search.
type memoryEntryView struct {
	*memory.Entry
	Tags          []string   `json:"tags"`
	TierChangedAt *time.Time `json:"tier_changed_at"`
	ExpiresAt     *time.Time `json:"expires_at"`
	Score         *float64   `json:"score"`
	Relevance     *float64   `json:"relevance"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func entryView(e *memory.Entry) memoryEntryView {
	tags := e.Tags
	if tags == nil {
		tags = []string{}
	}
	return memoryEntryView{Entry: e, Tags: tags, TierChangedAt: optTime(e.TierChangedAt), ExpiresAt: optTime(e.ExpiresAt)}
}

// memoryErr maps the memory package's errors to API errors.
func memoryErr(err error) error {
	switch {
	case errors.Is(err, memory.ErrNotFound):
		return apiErr(http.StatusNotFound, "not_found", "no such memory entry")
	case errors.Is(err, memory.ErrRedLine):
		return apiErr(http.StatusConflict, "conflict", "red-line memory entries are never deleted")
	case errors.Is(err, memory.ErrInvalid):
		return apiErr(http.StatusBadRequest, "validation_failed", err.Error())
	}
	return err
}

func (s *Server) handleMemoryList(w http.ResponseWriter, r *http.Request) {
	q, limit, ok := s.limitQueryOr(w, r, 20, 1, 200, "query", "tier", "limit")
	if !ok {
		return
	}
	var tier memory.Tier
	if q.has("tier") {
		var err error
		if tier, err = memory.ParseTier(q.get("tier")); err != nil {
			s.writeError(w, r, apiErr(http.StatusBadRequest, "invalid_query", "tier: want fast, medium, slow or glacial").with("parameter", "tier"))
			return
		}
	}
	entries := []memoryEntryView{}
	if text := strings.TrimSpace(q.get("query")); text != "" {
		rs, err := s.cfg.Memory.Retrieve(r.Context(), memory.Query{Text: text, Tier: tier, Limit: limit, TokenBudget: -1})
		if err != nil {
			s.writeError(w, r, memoryErr(err))
			return
		}
		for _, x := range rs {
			v := entryView(x.Entry)
			v.Score, v.Relevance = &x.Score, &x.Relevance
			entries = append(entries, v)
		}
	} else {
		es, err := s.cfg.Memory.List(r.Context(), memory.Filter{Tier: tier, Limit: limit})
		if err != nil {
			s.writeError(w, r, memoryErr(err))
			return
		}
		for _, e := range es {
			entries = append(entries, entryView(e))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "count": len(entries)})
}

// memoryTierView is one tier in GET /api/memory/tiers.
type memoryTierView struct {
	Tier          string   `json:"tier"`
	Count         int      `json:"count"`
	Bytes         int64    `json:"bytes"`
	HalfLifeHours float64  `json:"half_life_hours"`
	Promote       *float64 `json:"promote_threshold"`
	Demote        *float64 `json:"demote_threshold"`
	MaxItems      int      `json:"max_items"`
	Promotions    int64    `json:"promotions"` // into this tier from a slower one
	Demotions     int64    `json:"demotions"`  // into this tier from a faster one
	Forgotten     int64    `json:"forgotten"`  // deleted from this tier
}

func optThreshold(v float64) *float64 {
	if v == 0 {
		return nil
	}
	return &v
}

func tierIndex(t memory.Tier) int {
	for i, x := range memory.Tiers {
		if x == t {
			return i
		}
	}
	return -1
}

func (s *Server) handleMemoryTiers(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	st, err := s.cfg.Memory.Stats(r.Context())
	if err != nil {
		s.writeError(w, r, memoryErr(err))
		return
	}
	tiers := make([]memoryTierView, 0, len(st.Tiers))
	byTier := map[memory.Tier]*memoryTierView{}
	for _, ts := range st.Tiers {
		spec := s.cfg.Memory.Spec(ts.Tier)
		tiers = append(tiers, memoryTierView{Tier: string(ts.Tier), Count: ts.Count, Bytes: ts.Bytes,
			HalfLifeHours: spec.HalfLife.Hours(), Promote: optThreshold(spec.Promote), Demote: optThreshold(spec.Demote), MaxItems: spec.MaxItems})
	}
	for i := range tiers {
		byTier[memory.Tier(tiers[i].Tier)] = &tiers[i]
	}
	var promotions, demotions, forgotten int64
	transitions := make([]memory.TransitionCount, 0, len(st.Transitions))
	for _, tc := range st.Transitions {
		transitions = append(transitions, tc)
		from, to := tierIndex(tc.From), tierIndex(tc.To)
		switch {
		case tc.To == memory.Forgotten:
			forgotten += tc.Count
			if v := byTier[tc.From]; v != nil {
				v.Forgotten += tc.Count
			}
		case from >= 0 && to >= 0 && to < from:
			promotions += tc.Count
			if v := byTier[tc.To]; v != nil {
				v.Promotions += tc.Count
			}
		case from >= 0 && to > from:
			demotions += tc.Count
			if v := byTier[tc.To]; v != nil {
				v.Demotions += tc.Count
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tiers": tiers, "transitions": transitions,
		"promotions": promotions, "demotions": demotions, "forgotten": forgotten})
}

func (s *Server) handleMemoryDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" || len(id) > 128 {
		s.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no such memory entry"))
		return
	}
	if err := s.cfg.Memory.Delete(r.Context(), id); err != nil {
		s.writeError(w, r, memoryErr(err))
		return
	}
	setAudit(r, func(a *auditState) { a.target = id })
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMemoryCleanup(w http.ResponseWriter, r *http.Request) {
	var body struct{}
	if !s.decodeOr(w, r, &body) {
		return
	}
	rep, err := s.cfg.Memory.Cleanup(r.Context())
	if err != nil {
		s.writeError(w, r, memoryErr(err))
		return
	}
	setAudit(r, func(a *auditState) { a.details = map[string]any{"deleted": rep.Deleted} })
	writeJSON(w, http.StatusOK, rep)
}
