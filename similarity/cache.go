package similarity

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Cached returns a Similarity that computes the same matrices as s and,
// when s is [TFIDF] or [Jaccard], splits each distinct text into tokens
// (and shingles) once and reuses them in later calls: a debate compares
// the same proposals for convergence in two rounds and again to group
// votes. Any other backend is called directly. The cache keeps the texts
// of the last two calls and every token it has seen (a token already in
// lower case is kept as a piece of its text, which stays alive with it),
// so make one per debate. It is safe for concurrent use.
func Cached(s Similarity) Similarity {
	switch s.(type) {
	case TFIDF, Jaccard, *TFIDF, *Jaccard:
		return &cached{s: s, docs: map[string]*doc{}, syms: map[string]int32{}}
	}
	return s
}

type cached struct {
	s     Similarity
	mu    sync.Mutex
	docs  map[string]*doc
	syms  map[string]int32 // token → symbol, in order of first sight
	names []string         // symbol → token
	// local maps a symbol to its corpus id + 1 during one TF-IDF call, and
	// to its index in a doc's syms + 1 while the doc is analysed.
	local []int32
	buf   []byte
	terms []term    // scratch for the vectors of one TF-IDF call
	slots []float64 // scratch of sortTerms, all 0 between calls
	gen   int       // Matrix calls so far
}

// doc is one text's analysis: its tokens as symbols, in order; its
// distinct symbols in order of first occurrence, with their counts; its
// shingles once needed.
type doc struct {
	used     int // the last Matrix call that read it
	seq      []int32
	syms     []int32
	counts   []int32
	shingles map[shingle]struct{}
}

func (c *cached) Name() string { return c.s.Name() }

// symbol returns the symbol of token, adding it if new.
func (c *cached) symbol(token []byte) int32 {
	if sym, ok := c.syms[string(token)]; ok {
		return sym
	}
	return c.addSymbol(string(token))
}

// symbolOf is symbol for a token that is already a string (a piece of a
// text, kept without a copy).
func (c *cached) symbolOf(token string) int32 {
	if sym, ok := c.syms[token]; ok {
		return sym
	}
	return c.addSymbol(token)
}

func (c *cached) addSymbol(name string) int32 {
	sym := int32(len(c.names))
	c.syms[name] = sym
	c.names = append(c.names, name)
	c.local = append(c.local, 0)
	return sym
}

// doc analyses text once: its tokens are those of Tokens (maximal runs of
// letters or digits, lower-cased), read without allocating for ASCII runs.
func (c *cached) doc(text string) *doc {
	if d, ok := c.docs[text]; ok {
		return d
	}
	est := len(text)/6 + 1       // about one token per 6 bytes of English
	slab := make([]int32, 3*est) // one allocation for the three lists
	d := &doc{seq: slab[:0:est], syms: slab[est : est : 2*est], counts: slab[2*est : 2*est : 3*est]}
	add := func(sym int32) {
		d.seq = append(d.seq, sym)
		if k := c.local[sym]; k > 0 {
			d.counts[k-1]++
			return
		}
		d.syms = append(d.syms, sym)
		d.counts = append(d.counts, 1)
		c.local[sym] = int32(len(d.syms))
	}
	start, ascii, upper := -1, true, false
	end := func(i int) {
		switch {
		case ascii && !upper:
			add(c.symbolOf(text[start:i]))
		case ascii:
			c.buf = c.buf[:0]
			for k := start; k < i; k++ {
				b := text[k]
				if 'A' <= b && b <= 'Z' {
					b += 'a' - 'A'
				}
				c.buf = append(c.buf, b)
			}
			add(c.symbol(c.buf))
		default:
			add(c.symbolOf(strings.ToLower(text[start:i])))
		}
		start, ascii, upper = -1, true, false
	}
	for i := 0; i < len(text); {
		var word bool
		size := 1
		if b := text[i]; b < utf8.RuneSelf {
			word = 'a' <= b && b <= 'z' || '0' <= b && b <= '9'
			if 'A' <= b && b <= 'Z' {
				word, upper = true, true
			}
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(text[i:])
			word = unicode.IsLetter(r) || unicode.IsDigit(r)
			if word {
				ascii = false
			}
		}
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			end(i)
		}
		i += size
	}
	if start >= 0 {
		end(len(text))
	}
	for _, sym := range d.syms {
		c.local[sym] = 0
	}
	c.docs[text] = d
	return d
}

func (c *cached) Matrix(texts []string) [][]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	docs := make([]*doc, len(texts))
	for i, t := range texts {
		docs[i] = c.doc(t)
		docs[i].used = c.gen
	}
	// Keep the texts of this call and the one before (a debate compares
	// each round's proposals with the previous round's), not every text
	// ever seen.
	for t, d := range c.docs {
		if d.used < c.gen-1 {
			delete(c.docs, t)
		}
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
			toks := make([]string, len(d.seq))
			for k, sym := range d.seq {
				toks[k] = c.names[sym]
			}
			d.shingles = shingles(toks)
		}
		sets[i] = d.shingles
	}
	return jaccard(sets)
}

// tfidf numbers the terms in order of first occurrence in the corpus, as
// TFIDF.Matrix does, so that every sum runs in the same order and the
// matrix is the same bit for bit.
func (c *cached) tfidf(docs []*doc) [][]float64 {
	// First number the terms, so that df is made at its size; the docs'
	// symbols say which entries of c.local to clear afterwards.
	total, nterms := 0, 0
	for _, d := range docs {
		total += len(d.syms)
		for _, sym := range d.syms {
			if c.local[sym] == 0 {
				nterms++
				c.local[sym] = int32(nterms)
			}
		}
	}
	counts := make([][]term, len(docs))
	df := make([]int, nterms)
	if cap(c.terms) < total {
		c.terms = make([]term, total)
	}
	slab := c.terms[:total]
	for i, d := range docs {
		vec := slab[:len(d.syms):len(d.syms)]
		slab = slab[len(d.syms):]
		sorted := true
		for k, sym := range d.syms {
			id := int(c.local[sym]) - 1
			df[id]++
			vec[k] = term{id: id, w: float64(d.counts[k])}
			if k > 0 && id < vec[k-1].id {
				sorted = false
			}
		}
		if !sorted {
			c.sortTerms(vec, nterms)
		}
		counts[i] = vec
	}
	for _, d := range docs {
		for _, sym := range d.syms {
			c.local[sym] = 0
		}
	}
	return cosines(counts, df)
}

// sortTerms sorts vec (distinct ids below n) by id: each term goes to the
// slot of its id in a scratch table, read back in id order. Ids are
// distinct, so this is the order any sort gives.
func (c *cached) sortTerms(vec []term, n int) {
	if cap(c.slots) < n {
		c.slots = make([]float64, n)
	}
	slots := c.slots[:n]
	lo, hi := n, 0
	for _, t := range vec {
		slots[t.id] = t.w // counts are ≥ 1: an empty slot is 0
		lo, hi = min(lo, t.id), max(hi, t.id)
	}
	k := 0
	for id := lo; id <= hi; id++ {
		if w := slots[id]; w != 0 {
			vec[k] = term{id: id, w: w}
			slots[id] = 0
			k++
		}
	}
}
