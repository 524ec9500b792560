package memory

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/aragora/aragora/similarity"
)

// Query asks Retrieve for the entries relevant to a question.
type Query struct {
	Text   string
	Domain string // "": every domain; else that domain's entries and those of no domain
	Tier   Tier   // "": every tier
	// Limit is the top-k; 0: Config.Limit.
	Limit int
	// TokenBudget caps the returned content in tokens (Tokens); 0:
	// Config.TokenBudget; negative: no cap.
	TokenBudget int
}

// Retrieved is one entry Retrieve returned, with its scores.
type Retrieved struct {
	Entry     *Entry
	Relevance float64 // similarity to the query, plus the domain bonus, at most 1
	Score     float64 // relevance × tier weight × (0.5 + importance) × (0.5 + 0.5 × recency)
}

// Tokens estimates the tokens of s: a quarter of its characters, rounded up.
func Tokens(s string) int { return (utf8.RuneCountInString(s) + 3) / 4 }

// Retrieve returns the top-k entries relevant to q, best first (ties by
// id), whose content fits in the token budget together: relevance is the
// similarity of q.Text to the content (Config.Similarity, or the cosine of
// Config.Embedder's vectors) plus Config.DomainBonus for an entry of
// q.Domain; entries under Config.MinRelevance are left out; the score
// weighs relevance by tier, importance and recency (docs/memory.md#retrieval).
// Retrieve only reads: the same store contents and clock give the same
// answer.
func (c *Continuum) Retrieve(ctx context.Context, q Query) ([]Retrieved, error) {
	if q.Tier != "" && !q.Tier.Valid() {
		return nil, fmt.Errorf("%w: tier %q", ErrInvalid, q.Tier)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = c.cfg.Limit
	}
	budget := q.TokenBudget
	if budget == 0 {
		budget = c.cfg.TokenBudget
	}
	cands, err := c.candidates(ctx, q)
	if err != nil {
		return nil, err
	}
	rel, err := c.relevance(ctx, q.Text, cands)
	if err != nil {
		return nil, err
	}
	now := c.now()
	var out []Retrieved
	for i, e := range cands {
		r := rel[i]
		if q.Domain != "" && e.Domain == q.Domain {
			r += c.cfg.DomainBonus
		}
		r = math.Min(1, r)
		if r < c.cfg.MinRelevance {
			continue
		}
		rec := Recency(e.UpdatedAt, now, c.cfg.Tiers[e.Tier].HalfLife)
		score := r * c.cfg.TierWeights[e.Tier] * (0.5 + e.Importance) * (0.5 + 0.5*rec)
		out = append(out, Retrieved{Entry: e, Relevance: r, Score: score})
	}
	slices.SortFunc(out, func(a, b Retrieved) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Entry.ID, b.Entry.ID))
	})
	var picked []Retrieved
	used := 0
	for _, r := range out {
		if len(picked) == limit {
			break
		}
		t := Tokens(r.Entry.Content)
		if budget > 0 && used+t > budget {
			continue
		}
		used += t
		picked = append(picked, r)
	}
	if c.cfg.OnRetrieve != nil {
		c.cfg.OnRetrieve(len(picked))
	}
	return picked, nil
}

// candidates lists the entries a query scores, without duplicates.
func (c *Continuum) candidates(ctx context.Context, q Query) ([]*Entry, error) {
	var scopes []*string
	if q.Domain == "" {
		scopes = []*string{nil}
	} else {
		none := ""
		scopes = []*string{&q.Domain, &none}
	}
	seen := map[string]bool{}
	var out []*Entry
	for _, d := range scopes {
		es, err := c.cfg.Store.ListMemories(ctx, Filter{Tier: q.Tier, Domain: d, Limit: c.cfg.MaxCandidates})
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if !seen[e.ID] {
				seen[e.ID] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// relevance scores each candidate's content against text.
func (c *Continuum) relevance(ctx context.Context, text string, cands []*Entry) ([]float64, error) {
	out := make([]float64, len(cands))
	if len(cands) == 0 {
		return out, nil
	}
	if c.cfg.Embedder == nil {
		for i, e := range cands {
			out[i] = similarity.Pair(c.cfg.Similarity, text, e.Content)
		}
		return out, nil
	}
	texts := make([]string, 0, len(cands)+1)
	texts = append(texts, text)
	for _, e := range cands {
		texts = append(texts, e.Content)
	}
	vs, err := c.cfg.Embedder.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("memory: embed: %w", err)
	}
	if len(vs) != len(texts) {
		return nil, fmt.Errorf("memory: embed: %d vectors for %d texts", len(vs), len(texts))
	}
	for i := range cands {
		out[i] = cosine(vs[0], vs[i+1])
	}
	return out, nil
}

func cosine(a, b []float64) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return math.Max(0, math.Min(1, dot/math.Sqrt(na*nb)))
}
