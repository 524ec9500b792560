package similarity

import (
	"slices"
	"sync"
)

// Cached returns a Similarity that computes the same matrices as s and,
// when s is [TFIDF] or [Jaccard], splits each distinct text into tokens
// (and shingles) once and reuses them in later calls: a debate compares
// the same proposals for convergence in two rounds and again to group
// votes. Any other backend is called directly. The cache grows with the
// distinct texts it has seen, so make one per debate. It is safe for
// concurrent use.
func Cached(s Similarity) Similarity {
	switch s.(type) {
	case TFIDF, Jaccard, *TFIDF, *Jaccard:
		return &cached{s: s, docs: map[string]*doc{}, syms: map[string]int32{}}
	}
	return s
}

type cached struct {
	s    Similarity
	mu   sync.Mutex
	docs map[string]*doc
	syms map[string]int32 // token → symbol, in order of first sight
	// local maps a symbol to its corpus id + 1 during one TF-IDF call.
	local []int32
}

// doc is one text's analysis: its distinct tokens as symbols, in order
// of first occurrence, with their counts; its shingles once needed.
type doc struct {
	toks     []string
	syms     []int32
	counts   []int32
	shingles map[shingle]struct{}
}

func (c *cached) Name() string { return c.s.Name() }

func (c *cached) doc(text string) *doc {
	if d, ok := c.docs[text]; ok {
		return d
	}
	d := &doc{toks: Tokens(text)}
	at := map[int32]int{}
	for _, tok := range d.toks {
		sym, ok := c.syms[tok]
		if !ok {
			sym = int32(len(c.syms))
			c.syms[tok] = sym
			c.local = append(c.local, 0)
		}
		if k, ok := at[sym]; ok {
			d.counts[k]++
			continue
		}
		at[sym] = len(d.syms)
		d.syms = append(d.syms, sym)
		d.counts = append(d.counts, 1)
	}
	c.docs[text] = d
	return d
}

func (c *cached) Matrix(texts []string) [][]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	docs := make([]*doc, len(texts))
	for i, t := range texts {
		docs[i] = c.doc(t)
	}
	if _, ok := c.s.(Jaccard); ok {
		return c.jaccard(docs)
	}
	if _, ok := c.s.(*Jaccard); ok {
		return c.jaccard(docs)
	}
	return c.tfidf(docs)
}

func (c *cached) jaccard(docs []*doc) [][]float64 {
	sets := make([]map[shingle]struct{}, len(docs))
	for i, d := range docs {
		if d.shingles == nil {
			d.shingles = shingles(d.toks)
		}
		sets[i] = d.shingles
	}
	return jaccard(sets)
}

// tfidf numbers the terms in order of first occurrence in the corpus, as
// TFIDF.Matrix does, so that every sum runs in the same order and the
// matrix is the same bit for bit.
func (c *cached) tfidf(docs []*doc) [][]float64 {
	var df []int
	var used []int32
	counts := make([][]term, len(docs))
	for i, d := range docs {
		vec := make([]term, len(d.syms))
		for k, sym := range d.syms {
			id := int(c.local[sym]) - 1
			if id < 0 {
				id = len(df)
				c.local[sym] = int32(id + 1)
				df = append(df, 0)
				used = append(used, sym)
			}
			df[id]++
			vec[k] = term{id: id, w: float64(d.counts[k])}
		}
		slices.SortFunc(vec, func(a, b term) int { return a.id - b.id })
		counts[i] = vec
	}
	for _, sym := range used {
		c.local[sym] = 0
	}
	return cosines(counts, df)
}
