package similarity

import (
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Cached returns a Similarity that computes the same matrices as s and,
// when s is [TFIDF] or [Jaccard], splits each distinct text into tokens
// (and shingles) once and reuses them in later calls: a debate compares
// the same proposals for convergence in two rounds and again to group
// votes. Any other backend is called directly. The cache keeps the texts
// of the last two calls (less those [Retain] lets go) and a copy of every
// token it has seen, so make one per debate. It is safe for concurrent
// use.
//
// The cache keeps its tokens and term lists in 16 bits while the distinct
// tokens it has seen and the text being analysed come to less than 64 KiB;
// a text beyond that is analysed by a slower path (about twice the time of
// a short text's, per byte) with the same results.
//
// A TF-IDF call over a corpus that holds a text more than once numbers it
// once; the pairs last computed of a corpus (not all of its
// matrix) answer a later call over the same corpus (a debate whose agents
// repeat their proposals compares the same corpus in its later rounds).
func Cached(s Similarity) Similarity {
	switch s.(type) {
	case TFIDF, Jaccard, *TFIDF, *Jaccard:
		c := &cached{s: s}
		if t, _ := tablesPool.Get().(*tables); t != nil {
			c.tables = *t
		}
		return c
	}
	return s
}

// Release empties the cache of s, made by [Cached], and gives its tables
// to later Cached similarities: a debate releases its own when it ends.
// s stays usable, as a new one. Any other Similarity is left alone.
func Release(s Similarity) {
	if c, ok := s.(*cached); ok {
		c.release()
	}
}

// Retain makes the cache of s, made by [Cached], forget the texts it keeps
// other than those of texts: a caller that will not compare them again
// lets them go (a debate, once it has compared a round's proposals with
// the previous round's, compares only the round's again). It changes no
// result. Any other Similarity is left alone.
func Retain(s Similarity, texts []string) {
	if c, ok := s.(*cached); ok {
		c.retain(texts)
	}
}

func (c *cached) retain(texts []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retainLocked(texts)
}

// retainLocked is retain, c.mu held.
func (c *cached) retainLocked(texts []string) {
	kept := c.docs[:0]
	for _, d := range c.docs {
		if slices.Contains(texts, d.text) {
			kept = append(kept, d)
		}
	}
	clear(c.docs[len(kept):])
	for _, d := range c.lastDocs {
		if !slices.Contains(texts, d.text) {
			c.forgetLast() // they hold a doc forgotten
			break
		}
	}
	for _, d := range c.memoDocs() {
		if !slices.Contains(texts, d.text) {
			c.forgetMemo()
			break
		}
	}
	c.docs, c.index = kept, nil
}

// retainDocs is retainLocked for the texts of keep, docs of c: it
// compares docs, not texts. (It keeps the same docs: c has one doc per
// text. The lists of the last call and the memo, which may hold a doc that
// c forgot since and has again, are let go at times when retainLocked
// would keep them.)
func (c *cached) retainDocs(keep []*doc) {
	kept := c.docs[:0]
	for _, d := range c.docs {
		if slices.Contains(keep, d) {
			kept = append(kept, d)
		}
	}
	clear(c.docs[len(kept):])
	for _, d := range c.lastDocs {
		if !slices.Contains(keep, d) {
			c.forgetLast()
			break
		}
	}
	for _, d := range c.memoDocs() {
		if !slices.Contains(keep, d) {
			c.forgetMemo()
			break
		}
	}
	c.docs, c.index = kept, nil
}

// pairsMemo is the corpus of the last call that computed some pairs only
// (not all: those go to last), docs, the upper triangle of its matrix, tri,
// and the pairs computed, want (by pairIndex; in small when they fit): a
// debate whose agents repeat their proposals compares the same corpus in
// its later rounds. A cache forgets it with any of its docs.
type pairsMemo struct {
	docs  []*doc
	tri   []float64
	want  []bool
	small [pairsOnStack]bool
}

// setLast makes tri, the upper triangle of the matrix of docs, the last
// one, in the list of the last one's docs (which a debate's cache sets once
// a round).
func (c *cached) setLast(docs []*doc, tri []float64) {
	clear(c.lastDocs)
	c.lastDocs, c.last = append(c.lastDocs[:0], docs...), tri
}

// forgetLast lets the last matrix and its docs go, keeping the list.
func (c *cached) forgetLast() {
	clear(c.lastDocs)
	c.lastDocs, c.last = c.lastDocs[:0], nil
}

// memoDocs returns the docs of c's memo, if any.
func (c *cached) memoDocs() []*doc {
	if c.memo == nil {
		return nil
	}
	return c.memo.docs
}

// forgetMemo lets c's memo go.
func (c *cached) forgetMemo() { c.memo = nil }

// setMemo makes the pairs want of docs, tri, c's memo.
func (c *cached) setMemo(docs []*doc, tri []float64, want []bool) {
	m := c.memo
	if m == nil {
		m = new(pairsMemo)
		c.memo = m
	}
	m.docs, m.tri = slices.Clone(docs), tri
	if len(want) <= len(m.small) {
		m.want = append(m.small[:0], want...)
	} else {
		m.want = append(m.want[:0], want...)
	}
}

// memoHolds reports whether c's memo has the pairs want of docs.
func (c *cached) memoHolds(docs []*doc, want []bool) bool {
	m := c.memo
	if m == nil || !slices.Equal(docs, m.docs) {
		return false
	}
	for k, w := range want {
		if w && !m.want[k] {
			return false
		}
	}
	return true
}

// tables are a cached's symbol table, which a released one gives to the
// next (tablesPool): symbols are numbered in order of first occurrence
// whatever the table's size, so reused tables number them as new ones do.
type tables struct {
	syms symbols
}

var tablesPool sync.Pool // *tables

// scratch is the working memory of one TF-IDF call, which a cache holds
// only during the call (takeScratch): a debate's cache does not keep it
// while the debate waits for its agents.
type scratch struct {
	// local maps a symbol to its index in a doc's terms + 1 while the doc
	// is analysed, and to its corpus id + 1 during one TF-IDF call; it is
	// all 0 between them, up to its capacity.
	local []int32
	// scratch of analyse (a doc's symbols and counts) and of sortedTerms
	// (a set of term ids, all 0 between calls).
	terms, counts []uint16
	bitset        []uint64
	// analysed are the docs that analyse analysed during the call, their
	// terms one after the other in packed until the call ends (own).
	analysed []*doc
	packed   []uint16
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// takeScratch gives c a call's scratch, its local as long as c's symbols.
func (c *cached) takeScratch() {
	s := scratchPool.Get().(*scratch)
	n := c.syms.len()
	if cap(s.local) < n {
		s.local = make([]int32, n)
	}
	s.local = s.local[:n] // 0: all of it is between calls
	c.scratch = s
}

// putScratch gives c's scratch back at the end of a call, once the docs
// analysed own their terms. A call that panics does not: its scratch may
// not be cleared.
func (c *cached) putScratch() {
	s := c.scratch
	s.own()
	c.scratch = nil
	s.terms, s.counts = s.terms[:0], s.counts[:0]
	if cap(s.packed) > maxPooled {
		s.packed = nil
	}
	scratchPool.Put(s)
}

// own moves the terms of the docs analysed during a call, which are in
// packed (or in the lists that packed outgrew, with the same values), to
// one allocation: a debate forgets a round's proposals together. A doc
// kept longer keeps the terms of the others with it, never their texts:
// at most four values per byte of the narrow texts analysed in that call
// (a wide doc's terms are its own).
func (s *scratch) own() {
	if len(s.analysed) == 0 {
		return
	}
	terms := slices.Clone(s.packed)
	for _, d := range s.analysed {
		n := len(d.terms)
		d.terms, terms = terms[:n:n], terms[n:]
	}
	clear(s.analysed)
	s.analysed, s.packed = s.analysed[:0], s.packed[:0]
}

func (c *cached) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A table made by the first analysis goes to the pool, unless it
	// outgrew 16 bits.
	if sy := c.syms; sy.slots != nil {
		clear(sy.slots)
		tablesPool.Put(&tables{syms: symbols{text: sy.text[:0], meta: sy.meta[:1], slots: sy.slots}})
	}
	c.gen, c.docs, c.lastDocs, c.last, c.index = 0, nil, nil, nil, nil
	c.memo = nil
	c.tables = tables{}
}

type cached struct {
	s    Similarity
	mu   sync.Mutex
	gen  int    // Matrix calls so far
	docs []*doc // the texts of this call and the one before
	// lastDocs are the corpus of the last call, last the upper triangle
	// of its matrix (by pairIndex).
	lastDocs []*doc
	last     []float64
	memo     *pairsMemo // nil for none
	// index finds docs by text once there are many of them (nil below
	// indexFrom docs, and after each call).
	index map[string]*doc
	tables
	*scratch // during a TF-IDF call
}

// indexFrom is the number of docs from which a map finds them.
const indexFrom = 32

// doc is one text and, once a TF-IDF call needs it, its analysis: its
// distinct tokens as symbols, in order of first occurrence, then their
// counts (terms[:k] and terms[k:], k = len(terms)/2); its shingles once a
// Jaccard call needs them.
//
// A debate's cache keeps the analyses while the debate waits for its
// agents, so terms holds 16 bits a value when they surely fit (analyse: the
// table's text and the doc's have fewer than 65535 bytes together); else
// (wide, analyseWide) each value is two elements, its low then its high 16
// bits (see lists).
type doc struct {
	text           string
	used           int // the last Matrix call that read it
	analysed, wide bool
	at             int32 // during a TF-IDF call, its first index in the corpus
	terms          []uint16
	shingles       map[shingle]struct{}
}

// distinct returns the number of distinct tokens of an analysed d.
func (d *doc) distinct() int {
	if d.wide {
		return len(d.terms) / 4
	}
	return len(d.terms) / 2
}

// lists returns d's symbols and counts: syms and counts when d holds 16
// bits a value, else wsyms and wcounts, decoded into new lists.
func (d *doc) lists() (syms, counts []uint16, wsyms, wcounts []int32) {
	if !d.wide {
		k := len(d.terms) / 2
		return d.terms[:k], d.terms[k:], nil, nil
	}
	w := make([]int32, len(d.terms)/2)
	for x := range w {
		w[x] = int32(uint32(d.terms[2*x]) | uint32(d.terms[2*x+1])<<16)
	}
	k := len(w) / 2
	return nil, nil, w[:k], w[k:]
}

func (c *cached) Name() string { return c.s.Name() }

func (c *cached) Matrix(texts []string) [][]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var list [corpusOnStack]*doc
	docs := c.corpus(texts, list[:0])
	// The same corpus as the call before (a debate groups the votes of
	// the first round over the texts it has just compared) has the same
	// matrix.
	if slices.Equal(docs, c.lastDocs) {
		return fromUpper(len(docs), c.last)
	}
	if !c.isTFIDF() {
		m := c.jaccard(docs)
		c.setLast(docs, upper(m))
		return m
	}
	tri, _, _ := c.tfidf(docs, nil, 0, nil, nil)
	c.setLast(docs, tri)
	return fromUpper(len(docs), tri)
}

// Pairs returns Matrix(texts)[p[0]][p[1]] for each pair p, computing only
// the TF-IDF dot products of the pairs asked for (see [Pairs]).
func (c *cached) Pairs(texts []string, pairs [][2]int) []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var list [corpusOnStack]*doc
	out, _, _ := c.pairs(nil, texts, pairs, 0, list[:0])
	return out
}

// pairsRetain appends Pairs to dst, then retains texts[:keep]; with
// prepare, the matrix of texts[:keep] becomes the last one (see
// [AppendPairsRetain]).
func (c *cached) pairsRetain(dst []float64, texts []string, pairs [][2]int, keep int, prepare bool) []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := 0
	if prepare {
		prefix = keep
	}
	var list [corpusOnStack]*doc
	out, docs, first := c.pairs(dst, texts, pairs, prefix, list[:0])
	c.retainDocs(docs[:keep])
	if first != nil {
		// Retained: they are the docs of texts[:keep].
		c.setLast(docs[:keep], first)
	}
	return out
}

// pairs is Pairs, c.mu held, with the values appended to dst. When
// 1 < prefix < len(texts) and it computes the TF-IDF of texts, it also
// returns the upper triangle of the matrix of texts[:prefix] (by
// pairIndex). It returns the docs of texts too.
func (c *cached) pairs(dst []float64, texts []string, pairs [][2]int, prefix int, list []*doc) (out []float64, docs []*doc, first []float64) {
	docs = c.corpus(texts, list)
	n := len(docs)
	var tri []float64
	switch {
	case slices.Equal(docs, c.lastDocs):
		tri = c.last
	case !c.isTFIDF():
		tri = upper(c.jaccard(docs))
		c.setLast(docs, tri)
	default:
		// The pairs asked for, by pair index; on the stack for up to 11
		// texts.
		var small [pairsOnStack]bool
		var want []bool
		if np := n * (n - 1) / 2; np <= len(small) {
			want = small[:np]
		} else {
			want = make([]bool, np)
		}
		asked := 0
		for _, p := range pairs {
			if i, j := min(p[0], p[1]), max(p[0], p[1]); i != j && !want[pairIndex(i, j)] {
				want[pairIndex(i, j)] = true
				asked++
			}
		}
		all := asked == n*(n-1)/2
		if all {
			want = nil
		}
		if prefix <= 1 || prefix >= n || !all && slices.Equal(docs[:prefix], c.lastDocs) {
			prefix = 0 // none, or its matrix is the last one, which stays
		}
		if !all && prefix == 0 && c.memoHolds(docs, want) {
			tri = c.memo.tri
			break
		}
		// With prefix, tfidf keeps first, not tri, and returns out.
		tri, first, out = c.tfidf(docs, want, prefix, pairs, dst)
		switch {
		case first != nil: // the last matrix is first's (pairsRetain)
		case all:
			c.setLast(docs, tri)
		default:
			c.setMemo(docs, tri, want)
		}
	}
	if tri != nil || out == nil {
		out = pairValues(dst, docs, pairs, tri)
	}
	return out, docs, first
}

// pairValues appends to dst the entries of the pairs of docs in tri (by
// pairIndex), 1 for a doc with itself.
func pairValues(dst []float64, docs []*doc, pairs [][2]int, tri []float64) []float64 {
	if dst == nil {
		dst = make([]float64, 0, len(pairs)) // not nil, as Pairs's are
	}
	dst = slices.Grow(dst, len(pairs))
	for _, p := range pairs {
		i, j := min(p[0], p[1]), max(p[0], p[1])
		_, _ = docs[i], docs[j] // an index out of range panics as Matrix's would
		v := 1.0
		if i != j {
			v = tri[pairIndex(i, j)]
		}
		dst = append(dst, v)
	}
	return dst
}

// isTFIDF reports whether the backend is TFIDF (else it is Jaccard).
func (c *cached) isTFIDF() bool {
	switch c.s.(type) {
	case TFIDF, *TFIDF:
		return true
	}
	return false
}

// corpus returns the docs of texts, in list (appended to it), marked as
// read by this call, and forgets the docs that neither this call nor the
// one before read. The list is the caller's, on its stack for up to
// corpusOnStack texts: a list the cache keeps is a copy (copied).
func (c *cached) corpus(texts []string, list []*doc) []*doc {
	c.gen++
	docs := slices.Grow(list, len(texts))[:len(texts)]
	for i, t := range texts {
		// Each new doc is an allocation of its own, so that a doc kept (a
		// text repeated in a later call) keeps no other text alive.
		docs[i] = c.doc(t)
		docs[i].used = c.gen
	}
	// Keep the texts of this call and the one before (a debate compares
	// each round's proposals with the previous round's), not every text
	// ever seen.
	kept := c.docs[:0]
	for _, d := range c.docs {
		if d.used >= c.gen-1 {
			kept = append(kept, d)
		}
	}
	clear(c.docs[len(kept):])
	c.docs, c.index = kept, nil
	return docs
}

// corpusOnStack is the number of texts whose docs a call lists on its
// stack.
const corpusOnStack = 16

// pairsOnStack is the number of pairs (those of 11 texts) that a call and
// the pairs memo keep without an allocation.
const pairsOnStack = 11 * 10 / 2

// upper returns the upper triangle of m, by pairIndex.
func upper(m [][]float64) []float64 {
	n := len(m)
	tri := make([]float64, n*(n-1)/2)
	for i := range n {
		for j := i + 1; j < n; j++ {
			tri[pairIndex(i, j)] = m[i][j]
		}
	}
	return tri
}

// fromUpper returns the n×n matrix whose upper triangle is tri (by
// pairIndex), symmetric with a unit diagonal.
func fromUpper(n int, tri []float64) [][]float64 {
	m := identity(n)
	for j := 1; j < n; j++ {
		for i, v := range tri[pairIndex(0, j):pairIndex(0, j+1)] {
			m[i][j], m[j][i] = v, v
		}
	}
	return m
}

// pairIndex numbers the pairs i < j: (0, 1), (0, 2), (1, 2), (0, 3), …
func pairIndex(i, j int) int { return j*(j-1)/2 + i }

// doc returns the doc of text, adding it if new.
func (c *cached) doc(text string) *doc {
	if d := c.find(text); d != nil {
		return d
	}
	return c.add(&doc{text: text})
}

// find returns the doc of text, or nil.
func (c *cached) find(text string) *doc {
	if c.index == nil && len(c.docs) >= indexFrom {
		c.index = make(map[string]*doc, 2*len(c.docs))
		for _, d := range c.docs {
			c.index[d.text] = d
		}
	}
	if c.index != nil {
		if d, ok := c.index[text]; ok {
			return d
		}
	} else {
		// The same string first (a debate compares the texts it keeps,
		// which are those of the cache's docs), then equal ones.
		for _, d := range c.docs {
			if len(d.text) == len(text) && unsafe.StringData(d.text) == unsafe.StringData(text) {
				return d
			}
		}
		for _, d := range c.docs {
			if d.text == text {
				return d
			}
		}
	}
	return nil
}

// add adds d, a doc of a text that c has not.
func (c *cached) add(d *doc) *doc {
	c.docs = append(c.docs, d)
	if c.index != nil {
		c.index[d.text] = d
	}
	return d
}

func (c *cached) jaccard(docs []*doc) [][]float64 {
	sets := make([]map[shingle]struct{}, len(docs))
	for i, d := range docs {
		if d.shingles == nil {
			d.shingles = shingles(Tokens(d.text))
		}
		sets[i] = d.shingles
	}
	return jaccard(sets)
}

// wordByte maps an ASCII letter or digit to its lower case, any other byte
// to 0.
var wordByte = func() (t [256]byte) {
	for b := range utf8.RuneSelf {
		if IsWordRune(rune(b)) {
			t[b] = byte(unicode.ToLower(rune(b)))
		}
	}
	return t
}()

// analyse splits d's text into the tokens of Tokens (maximal runs of
// letters or digits, lower-cased), without allocating for ASCII runs, and
// keeps their symbols in order of first occurrence with their counts.
//
// When an analysed doc's text is a prefix of d's that ends at a token
// boundary (an ASCII byte that is no letter or digit on either side: a
// debate's revision appends to the proposal), d starts from its analysis
// and reads the rest: the tokens of the whole are those of the prefix, then
// those of the rest.
func (c *cached) analyse(d *doc) {
	text := d.text
	if !c.syms.made() {
		// A fallback: tfidf makes the table first, for its call's texts.
		// About one distinct token per 6 bytes of English text, and
		// fewer in later texts of a debate.
		c.syms.reserve(len(text) / 6)
	}
	// Its new symbols, and its counts, are fewer than its bytes: they fit
	// in 16 bits, and so does the table (lookup16), if these fit.
	if len(c.syms.text)+len(text) >= maxNarrow {
		c.analyseWide(d)
		return
	}
	terms, counts := c.terms[:0], c.counts[:0]
	i := 0
	if base := c.prefixOf(text); base != nil {
		// Not wide: the table's text had fewer bytes when it was
		// analysed, and it is shorter.
		k := len(base.terms) / 2
		terms, counts = append(terms, base.terms[:k]...), append(counts, base.terms[k:]...)
		for x, sym := range terms {
			c.local[sym] = int32(x + 1)
		}
		i = len(base.text)
	}
	// Room for every token of the rest (a token and the separator after
	// it take two bytes, but the last), in the lists and as a new symbol
	// in local (all 0 beyond the table's symbols).
	nt, room := len(terms), (len(text)-i+1)/2
	terms, counts = slices.Grow(terms, room)[:nt+room], slices.Grow(counts, room)[:nt+room]
	local := c.local
	if need := c.syms.len() + room; len(local) < need {
		local = slices.Grow(local, need-len(local))[:need]
	}
	for i < len(text) {
		b := text[i]
		var sym int32
		switch {
		case wordByte[b] != 0: // an ASCII letter or digit
			start := i
			end, h, upper := asciiRun(text, i)
			if i = end; i < len(text) && text[i] >= utf8.RuneSelf && wordRuneAt(text, i) {
				// The token goes on with a non-ASCII letter or digit.
				i = wordEnd(text, i)
				sym = c.syms.get16(strings.ToLower(text[start:i]))
			} else {
				sym = c.syms.lookup16(text[start:i], h, upper)
			}
		case b < utf8.RuneSelf:
			i++
			continue
		default:
			var word bool
			if sym, i, word = c.nonASCII(text, i); !word {
				continue
			}
		}
		if k := local[sym]; k > 0 {
			counts[k-1]++
			continue
		}
		terms[nt], counts[nt] = uint16(sym), 1
		nt++
		local[sym] = int32(nt)
	}
	terms, counts = terms[:nt], counts[:nt]
	for _, sym := range terms {
		local[sym] = 0
	}
	c.terms, c.counts, c.local = terms, counts, local
	at := len(c.packed)
	c.packed = append(append(c.packed, terms...), counts...)
	d.terms = c.packed[at:len(c.packed):len(c.packed)] // until own
	c.scratch.analysed = append(c.scratch.analysed, d)
	d.wide, d.analysed = false, true
}

// nonASCII reads the rune at offset i of text, a byte not ASCII, for
// analyse: the token that starts there and its symbol (word true), or
// nothing (the rune is no letter or digit). It returns where the next read
// starts.
//
//go:noinline
func (c *cached) nonASCII(text string, i int) (sym int32, next int, word bool) {
	r, size := utf8.DecodeRuneInString(text[i:])
	if !IsWordRune(r) {
		return 0, i + size, false
	}
	end := wordEnd(text, i)
	return c.syms.get16(strings.ToLower(text[i:end])), end, true
}

// analyseWide is analyse for a doc that may outgrow 16 bits (a long text,
// or a big table): it reads the whole text, token by token as analyse does
// (and Tokens), which numbers its tokens as analyse does.
func (c *cached) analyseWide(d *doc) {
	var terms, counts []int32
	text := d.text
	for i := 0; i < len(text); {
		end := wordEnd(text, i)
		if end == i { // no letter or digit
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			continue
		}
		sym := c.syms.get(strings.ToLower(text[i:end]))
		i = end
		if int(sym) == len(c.local) {
			c.local = append(c.local, 0)
		}
		if k := c.local[sym]; k > 0 {
			counts[k-1]++
			continue
		}
		terms = append(terms, sym)
		counts = append(counts, 1)
		c.local[sym] = int32(len(terms))
	}
	clearLocal(c.local, terms)
	k := len(terms)
	t := make([]uint16, 4*k)
	for x, v := range terms {
		t[2*x], t[2*x+1] = uint16(v), uint16(uint32(v)>>16)
	}
	for x, v := range counts {
		t[2*(k+x)], t[2*(k+x)+1] = uint16(v), uint16(uint32(v)>>16)
	}
	d.terms, d.wide, d.analysed = t, true, true
}

// prefixOf returns the analysed doc with the longest text that is a
// proper prefix of text ending at a token boundary, or nil.
func (c *cached) prefixOf(text string) *doc {
	var best *doc
	for _, d := range c.docs {
		p := len(d.text)
		if !d.analysed || p == 0 || p >= len(text) || best != nil && p <= len(best.text) ||
			!(text[p-1] < utf8.RuneSelf && wordByte[text[p-1]] == 0 || text[p] < utf8.RuneSelf && wordByte[text[p]] == 0) ||
			text[:p] != d.text {
			continue
		}
		best = d
	}
	return best
}

// asciiRun returns the end of the run of ASCII letters and digits at offset
// i of s, the hash of the run lowered, and whether it has an upper-case
// letter.
func asciiRun(s string, i int) (end int, h uint32, upper bool) {
	h = fnvOffset
	var changed byte
	for ; i < len(s); i++ {
		l := wordByte[s[i]]
		if l == 0 {
			break
		}
		changed |= l ^ s[i]
		h = (h ^ uint32(l)) * fnvPrime
	}
	return i, h, changed != 0
}

// wordRuneAt reports whether the rune at offset i of s is a letter or a
// digit.
func wordRuneAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return IsWordRune(r)
}

// wordEnd returns the end of the run of letters and digits at offset i of s.
func wordEnd(s string, i int) int {
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if wordByte[b] == 0 {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		i += size
	}
	return i
}

// FNV-1a, 32 bits.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func hash(s string) uint32 {
	h := uint32(fnvOffset)
	for i := range len(s) {
		h = (h ^ uint32(s[i])) * fnvPrime
	}
	return h
}

// symbols numbers tokens in order of first sight: an open-addressing hash
// table (linear probing, at most three quarters full: a debate's cache
// keeps it while the debate waits) of symbol + 1, 0 in an empty slot.
//
// The names are one text, symbol i's from bound i to bound i+1 (bound 0
// is 0 once the table is made): a debate's cache keeps them while the
// debate waits for its agents, in fewer bytes than a string each (and no
// copy of their own for lowered tokens). For the same reason the bounds,
// hashes and slots are 16 bits while the text has fewer than 65536 bytes
// (the hash of symbol i its low 16 bits, enough to place it in up to 65536
// slots; the names of such a text are fewer than 24576, so they never need
// more), and in wide once the table outgrows them. The bounds and hashes
// are one list, meta: bound i at 2i, the hash of symbol i at 2i+1 (so a
// lookup reads a symbol's hash and bounds together, and the table grows
// one list).
type symbols struct {
	text  []byte
	meta  []uint16
	slots []uint16
	wide  *wideSymbols
}

// wideSymbols are the bounds, hashes and slots of a table that outgrew 16
// bits.
type wideSymbols struct {
	bounds, hashes []uint32
	slots          []int32
}

// maxNarrow is the largest bound of a table of 16 bits.
const maxNarrow = math.MaxUint16

// made reports whether the table is made (by reserve).
func (s *symbols) made() bool { return s.slots != nil || s.wide != nil }

// len returns the number of symbols.
func (s *symbols) len() int {
	if s.wide != nil {
		return len(s.wide.hashes)
	}
	return len(s.meta) / 2
}

// name returns the name of symbol i, in s.text until the next add.
func (s *symbols) name(i int32) []byte {
	if s.wide != nil {
		return s.text[s.wide.bounds[i]:s.wide.bounds[i+1]]
	}
	return s.text[s.meta[2*i]:s.meta[2*i+2]]
}

// get returns the symbol of token, adding it if new.
func (s *symbols) get(token string) int32 {
	if s.wide == nil {
		return s.lookup16(token, hash(token), false)
	}
	return s.getWide(token, hash(token))
}

// get16 is get in a table of 16 bits.
func (s *symbols) get16(token string) int32 { return s.lookup16(token, hash(token), false) }

// lookup16 returns the symbol of a token whose hash is h, adding it if
// new, in a table of 16 bits: the token is run itself or, when lowered, run
// (ASCII) with its upper-case letters lowered.
func (s *symbols) lookup16(run string, h uint32, lowered bool) int32 {
	mask := uint32(len(s.slots) - 1)
	for p := h & mask; ; p = (p + 1) & mask {
		k := int32(s.slots[p])
		if k == 0 {
			s.room(len(run))
			if !lowered {
				s.text = append(s.text, run...)
				return s.add(p, h)
			}
			for i := range len(run) {
				c := run[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				s.text = append(s.text, c)
			}
			return s.add(p, h)
		}
		if m := s.meta[2*k-2 : 2*k+1]; m[1] == uint16(h) {
			name := s.text[m[0]:m[2]]
			if !lowered && string(name) == run || lowered && equalLowered(name, run) {
				return k - 1
			}
		}
	}
}

// getWide is get in a wide table, h the hash of token.
func (s *symbols) getWide(token string, h uint32) int32 {
	w := s.wide
	mask := uint32(len(w.slots) - 1)
	for p := h & mask; ; p = (p + 1) & mask {
		k := w.slots[p]
		if k == 0 {
			s.text = append(s.text, token...)
			return s.add(p, h)
		}
		if w.hashes[k-1] == h && string(s.text[w.bounds[k-1]:w.bounds[k]]) == token {
			return k - 1
		}
	}
}

// equalLowered reports whether name is the ASCII string run lowered.
func equalLowered(name []byte, run string) bool {
	if len(name) != len(run) {
		return false
	}
	for i := range len(run) {
		c := run[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if name[i] != c {
			return false
		}
	}
	return true
}

// add adds the symbol whose name ends s.text, of hash h, in slot p.
func (s *symbols) add(p uint32, h uint32) int32 {
	if s.wide != nil || len(s.text) > maxNarrow {
		return s.addWide(p, h)
	}
	sym := int32(len(s.meta) / 2)
	if cap(s.meta)-len(s.meta) < 2 {
		s.meta = grown(s.meta, 2)
	}
	s.meta = append(s.meta, uint16(h), uint16(len(s.text)))
	s.slots[p] = uint16(sym + 1)
	if 4*int(sym+1) > 3*len(s.slots) {
		s.grow()
	}
	return sym
}

// addWide is add in a table that is or becomes wide.
func (s *symbols) addWide(p uint32, h uint32) int32 {
	if s.wide == nil {
		s.widen()
	}
	w := s.wide
	sym := int32(len(w.hashes))
	w.bounds = append(w.bounds, uint32(len(s.text)))
	w.hashes = append(w.hashes, h)
	w.slots[p] = sym + 1
	if 4*len(w.hashes) > 3*len(w.slots) {
		s.grow()
	}
	return sym
}

// widen moves the bounds, hashes (hashing the names again) and slots to
// wide, in the same places.
func (s *symbols) widen() {
	n := s.len()
	w := &wideSymbols{bounds: make([]uint32, n+1, cap(s.meta)/2+1), hashes: make([]uint32, n, cap(s.meta)/2), slots: make([]int32, len(s.slots))}
	for i := range w.bounds {
		w.bounds[i] = uint32(s.meta[2*i])
	}
	for i := range n {
		h := uint32(fnvOffset)
		for _, c := range s.name(int32(i)) {
			h = (h ^ uint32(c)) * fnvPrime
		}
		w.hashes[i] = h
	}
	for i, k := range s.slots {
		w.slots[i] = int32(k)
	}
	s.meta, s.slots, s.wide = nil, nil, w
}

// room makes room for a name of n bytes in s.text.
func (s *symbols) room(n int) {
	if cap(s.text)-len(s.text) < n {
		s.text = grown(s.text, n)
	}
}

// grown returns l with room for n more elements and a quarter of its
// length: a debate's cache keeps its table while the debate waits for its
// agents, and append, doubling it, would leave up to half of it unused.
func grown[T byte | uint16](l []T, n int) []T {
	m := make([]T, len(l), len(l)+n+len(l)/4+16)
	copy(m, l)
	return m
}

// reserve makes the first table, with room for about tokens symbols (of
// 6 bytes a name, on average: English words are about 5): its slots and
// meta are one allocation.
func (s *symbols) reserve(tokens int) {
	n := min(max(tokens, 12), 1024)
	s.text = make([]byte, 0, 6*n)
	slots := 1 << bits.Len(uint(4*n/3)) // at most three quarters full at n
	l := make([]uint16, slots+2*n+1)
	s.slots, s.meta = l[:slots:slots], l[slots:slots+1]
}

// grow doubles the table and places every symbol again.
func (s *symbols) grow() {
	if s.wide == nil && len(s.slots) >= 1<<16 {
		s.widen() // never so far (see symbols)
	}
	if w := s.wide; w != nil {
		w.slots = place(make([]int32, 2*len(w.slots)), w.hashes)
		return
	}
	s.slots = make([]uint16, 2*len(s.slots))
	mask := uint32(len(s.slots) - 1)
	for i := range s.len() {
		p := uint32(s.meta[2*i+1]) & mask
		for s.slots[p] != 0 {
			p = (p + 1) & mask
		}
		s.slots[p] = uint16(i + 1)
	}
}

// place puts symbol i, of hash hashes[i], in slots (empty) and returns
// them (as grow does in a table of 16 bits).
func place(slots []int32, hashes []uint32) []int32 {
	mask := uint32(len(slots) - 1)
	for i, h := range hashes {
		p := h & mask
		for slots[p] != 0 {
			p = (p + 1) & mask
		}
		slots[p] = int32(i + 1)
	}
	return slots
}

// tfidf computes what TFIDF.Matrix computes, bit for bit: it numbers the
// terms in order of first occurrence in the corpus, so that every sum runs
// in the same order (term ids ascending), and takes the same products.
// Two things differ in how, not in what: the idf is computed once per
// document frequency rather than per term (same argument, same value), and
// a dot product runs over the terms of one text, reading the other's
// weights from a dense table: a term the other lacks adds a product with 0,
// +0, which leaves the sum (never -0) as it is.
//
// It returns the upper triangle of the matrix (by pairIndex), where want
// is nil or says which entries to compute (the others are left 0). When
// 0 < prefix < len(docs), it returns too the whole upper triangle of the
// matrix of docs[:prefix], from the same numbering: the terms of a doc are
// numbered from it and the docs before it only, so docs[:prefix] numbered
// alone have the same ids (and orders) as here; their document frequencies
// are counted again over them alone. With pairs and such a prefix, it
// returns instead of the triangle of docs the values of pairs appended to
// dst (pairValues), from a triangle it does not keep (a debate keeps the
// matrix of this round's proposals, first, not that of both rounds').
func (c *cached) tfidf(docs []*doc, want []bool, prefix int, pairs [][2]int, dst []float64) (tri, first, out []float64) {
	c.takeScratch()
	// Room in packed for the terms of the docs to analyse that may stay
	// narrow (analyse; a wide doc's terms are its own): those of a text
	// (its symbols, then their counts) are at most one per byte, and one
	// more. Room is only a first size: packed grows if need be (own).
	room := 0
	for _, d := range docs {
		if !d.analysed && len(c.syms.text)+len(d.text) < maxNarrow {
			room += len(d.text) + 1
		}
	}
	if !c.syms.made() {
		// A first call (a debate's first proposals, made from one
		// question) has about one distinct token per 9 to 11 bytes of
		// its texts: a table made for one per 8 need not grow in the
		// later rounds.
		c.syms.reserve(room / 8)
	}
	c.packed = slices.Grow(c.packed[:0], room)
	// Number the terms first, so that the lists are made at their size.
	for _, d := range docs {
		if !d.analysed {
			c.analyse(d)
		}
	}
	n := len(docs)
	var temp int // the floats of a tri not kept
	if pairs != nil && prefix > 0 {
		temp = n * (n - 1) / 2
	}
	t, fs := c.numbered(docs, temp)
	c.putScratch() // the rest reads only t and fs
	defer func() {
		putList(&floatsPool, fs)
		putList(&intsPool, t.buf)
	}()
	floats := fs.s[:len(fs.s)-temp]
	if temp > 0 {
		into := fs.s[len(floats):]
		clear(into)
		out = pairValues(dst, docs, pairs, t.cosines(n, floats, want, into))
	} else {
		tri = t.cosines(n, floats, want, nil)
	}
	if prefix > 0 {
		df := t.df[:t.terms]
		clear(df)
		for _, id := range t.ids[:t.start[prefix]] {
			df[id]++
		}
		first = t.cosines(prefix, floats, nil, nil)
	}
	return tri, first, out
}

// cosines returns the upper triangle (by pairIndex) of the TF-IDF cosines
// of the first n docs numbered in t, computing the entries that want asks
// for (nil: all), t.df their document frequencies. floats are those of
// numbered (their weights, norms, idf and idf by term overwritten; the
// dense table all 0 before and after). The idf of each term is looked up
// once, not once per doc that has it. It writes the triangle to tri, if
// not nil (its entries not asked for are left as they are).
func (t *numberedDocs) cosines(n int, floats []float64, want []bool, tri []float64) []float64 {
	ids, cnt, start := t.ids, t.counts, t.start
	total, all := len(ids), len(start)-1
	terms := int(t.terms)
	ws, norms, idf := floats[:total], floats[total:total+n], floats[total+all:total+all+n+1]
	dense, byTerm := floats[total+2*all+1:total+2*all+1+terms], floats[total+2*all+1+terms:]
	idf[0] = 0 // of the terms that none of the n docs has
	for d := 1; d <= n; d++ {
		idf[d] = math.Log(float64(1+n)/float64(1+d)) + 1
	}
	df := t.df[:terms]
	byTerm = byTerm[:len(df)]
	for id, d := range df {
		byTerm[id] = idf[d]
	}
	for i := range n {
		vi := ids[start[i]:start[i+1]]
		norms[i] = weigh(vi, cnt[start[i]:start[i+1]], ws[start[i]:start[i+1]], byTerm)
	}
	if tri == nil {
		tri = make([]float64, n*(n-1)/2)
	}
	for i := range n - 1 { // (the last doc has no pair after it)
		if want != nil && !wantsRow(want, i, n) {
			continue
		}
		ai, aw := ids[start[i]:start[i+1]], ws[start[i]:start[i+1]]
		aw = aw[:len(ai)]
		for x, id := range ai {
			dense[id] = aw[x]
		}
		for j := i + 1; j < n; j++ {
			if want != nil && !want[pairIndex(i, j)] {
				continue
			}
			bi, bw := ids[start[j]:start[j+1]], ws[start[j]:start[j+1]]
			var v float64
			switch {
			case len(ai) == 0 && len(bi) == 0:
				v = 1
			case len(ai) == 0 || len(bi) == 0:
				v = 0
			default:
				v = dot(bi, bw, dense) / (norms[i] * norms[j])
			}
			tri[pairIndex(i, j)] = Clamp01(v)
		}
		for _, id := range ai {
			dense[id] = 0
		}
	}
	return tri
}

// numberedDocs are the terms of a corpus numbered in order of first
// occurrence: doc i's term ids ascending, ids[start[i]:start[i+1]], and
// their counts in the doc, in the same order; df counts the docs of each
// term (it has room for one per term occurrence).
type numberedDocs struct {
	ids, counts, start, df []int32
	terms                  int32 // the number of terms
	buf                    *ints // holds the lists
}

// ints and floats are the lists of a TF-IDF call, used again by later
// calls of any cache (a debate makes several calls, and debates follow one
// another), so that a call allocates only its result.
type (
	ints                    = list[int32]
	floats                  = list[float64]
	list[T int32 | float64] struct{ s []T }
)

var (
	intsPool   = sync.Pool{New: func() any { return new(ints) }}
	floatsPool = sync.Pool{New: func() any { return new(floats) }}
)

// maxPooled is the most elements of a list put back in its pool.
const maxPooled = 1 << 16

// getList returns a list of n elements (of any values) from pool.
func getList[T int32 | float64](pool *sync.Pool, n int) *list[T] {
	b := pool.Get().(*list[T])
	if cap(b.s) < n {
		b.s = make([]T, n)
	}
	b.s = b.s[:n]
	return b
}

// putList puts b, if any, back in pool.
func putList[T int32 | float64](pool *sync.Pool, b *list[T]) {
	if b != nil && cap(b.s) <= maxPooled {
		pool.Put(b)
	}
}

// numbered numbers the terms of docs, and returns with them the floats of
// a TF-IDF call over docs: total + 2n + 1 + 2·terms + extra, the first
// terms of the 2·terms after total + 2n + 1 0 (the dense table of cosines;
// the caller puts both lists back). The numbering is not kept for a later
// call: a debate's cache would hold it while the debate waits for its
// agents.
//
// A doc whose symbols are the first of an earlier doc's (see extends: a
// debate compares each proposal with the previous round's, which it
// extends) takes their ids, in the same order, and sorts them as the
// earlier doc's sorted ids read them. A doc that docs hold more than once
// (an agent that repeats its proposal: the round's proposals and the
// previous round's) takes the sorted ids and counts of its first place.
func (c *cached) numbered(docs []*doc, extra int) (numberedDocs, *floats) {
	n := len(docs)
	total := 0
	for _, d := range docs {
		total += d.distinct()
	}
	buf := getList[int32](&intsPool, 3*total+2*n+1)
	l := buf.s
	t := numberedDocs{ids: l[:total], counts: l[total : 2*total], df: l[2*total : 3*total],
		start: l[3*total : 3*total+n+1], buf: buf}
	// of[i] is the index of the earlier doc that doc i extends, or -1.
	of := l[3*total+n+1 : 3*total+2*n+1]
	clear(t.df)
	for _, d := range docs {
		d.at = -1
	}
	for i, d := range docs {
		if d.at < 0 {
			d.at = int32(i)
		}
	}
	off := 0
	for i, d := range docs {
		t.start[i] = int32(off)
		k := d.distinct()
		ids := t.ids[off : off+k]
		if b := int(d.at); b < i { // a repeat of doc b
			of[i] = int32(b)
			for _, id := range t.ids[t.start[b]:t.start[b+1]] {
				t.df[id]++
			}
			off += k
			continue
		}
		of[i] = extends(docs[:i], d)
		if b := of[i]; b >= 0 {
			for x, id := range t.ids[t.start[b] : int(t.start[b])+k] {
				ids[x] = id
				t.df[id]++
			}
		} else {
			t.terms = numberDoc(d, c.local, ids, t.df, t.terms)
		}
		off += k
	}
	t.start[n] = int32(off)
	for i, d := range docs {
		if of[i] < 0 { // else its symbols are cleared with the doc's it extends
			clearDoc(d, c.local)
		}
	}
	fs := getList[float64](&floatsPool, total+2*n+1+2*int(t.terms)+extra)
	clear(fs.s[total+2*n+1 : total+2*n+1+int(t.terms)]) // the dense table
	// local, all 0 again and longer than the terms (they are symbols),
	// keeps the counts of a doc being sorted.
	byID := c.local[:t.terms]
	for i, d := range docs {
		vi, sorted := t.ids[t.start[i]:t.start[i+1]], t.counts[t.start[i]:t.start[i+1]]
		switch b := of[i]; {
		case int(d.at) < i: // a repeat of doc b, sorted
			copy(vi, t.ids[t.start[b]:t.start[b+1]])
			copy(sorted, t.counts[t.start[b]:t.start[b+1]])
		case b >= 0: // not wide (extends)
			sortExtension(vi, sorted, d.terms[len(vi):], t.ids[t.start[b]:t.start[b+1]], byID)
		case !d.wide:
			sortTerms(&c.bitset, vi, sorted, d.terms[len(vi):], byID)
		default:
			sortWide(d, &c.bitset, vi, sorted, byID)
		}
	}
	return t, fs
}

// extends returns the index of the first of docs (analysed) whose
// symbols begin with all of d's, or -1: d numbered after it has the first
// of its ids, in the same order. Neither is wide. The last symbol of d is
// compared first: texts that begin alike (a debate's proposals, made from
// one question) are told apart there.
func extends(docs []*doc, d *doc) int32 {
	k := d.distinct()
	if d.wide || k == 0 {
		return -1
	}
	syms := d.terms[:k]
	for b, e := range docs {
		if e.wide || e.distinct() < k || e.terms[k-1] != syms[k-1] || !slices.Equal(e.terms[:k], syms) {
			continue
		}
		return int32(b)
	}
	return -1
}

// sortExtension sorts the term ids of a doc that extends another (see
// numbered) and writes their counts to sorted, in the same order: the ids
// are those of the other's, ascending, that the doc has. scratch keeps the
// counts by id (all 0 before and after).
func sortExtension(ids, sorted []int32, counts []uint16, of []int32, scratch []int32) {
	counts, sorted = counts[:len(ids)], sorted[:len(ids)]
	if slices.IsSorted(ids) {
		for x, n := range counts {
			sorted[x] = int32(n)
		}
		return
	}
	for x, id := range ids {
		scratch[id] = int32(counts[x])
	}
	x := 0
	for _, id := range of {
		if n := scratch[id]; n != 0 {
			ids[x], sorted[x] = id, n
			scratch[id] = 0
			x++
		}
	}
}

// numberDoc and clearDoc are numberTerms and clearLocal for the symbols
// of d, and sortWide sortTerms for a wide d, out of line: numbered runs on a
// debate's goroutine, whose stack they would grow.
//
//go:noinline
func numberDoc(d *doc, local, ids, df []int32, nterms int32) int32 {
	if !d.wide {
		return numberTerms(local, d.terms[:len(ids)], ids, df, nterms)
	}
	_, _, syms, _ := d.lists()
	return numberTerms(local, syms, ids, df, nterms)
}

//go:noinline
func clearDoc(d *doc, local []int32) {
	if !d.wide {
		clearLocal(local, d.terms[:len(d.terms)/2])
		return
	}
	_, _, syms, _ := d.lists()
	clearLocal(local, syms)
}

//go:noinline
func sortWide(d *doc, bitset *[]uint64, ids, sorted []int32, scratch []int32) {
	_, _, _, counts := d.lists()
	sortTerms(bitset, ids, sorted, counts, scratch)
}

// wantsRow reports whether want asks for a pair (i, j), j > i.
func wantsRow(want []bool, i, n int) bool {
	for j := i + 1; j < n; j++ {
		if want[pairIndex(i, j)] {
			return true
		}
	}
	return false
}

// numberTerms writes the corpus ids of a doc's symbols syms to ids and
// counts them in df; local maps a symbol to its id + 1 (0: none yet), and a
// new term is numbered nterms, the number of terms so far, which it returns.
func numberTerms[T uint16 | int32](local []int32, syms []T, ids, df []int32, nterms int32) int32 {
	ids = ids[:len(syms)]
	for x, sym := range syms {
		id := local[sym] - 1
		if id < 0 {
			id = nterms
			nterms++
			local[sym] = nterms
		}
		ids[x] = id
		df[id]++
	}
	return nterms
}

// clearLocal sets local back to 0 for syms.
func clearLocal[T uint16 | int32](local []int32, syms []T) {
	for _, sym := range syms {
		local[sym] = 0
	}
}

// weigh sets the weights w of the terms ids from their counts (count ×
// idf of the term's document frequency, byTerm[id]) and returns the norm.
func weigh(ids, counts []int32, w []float64, byTerm []float64) float64 {
	counts, w = counts[:len(ids)], w[:len(ids)]
	var sum float64
	for x, id := range ids {
		w[x] = float64(counts[x]) * byTerm[id]
		sum += w[x] * w[x]
	}
	return math.Sqrt(sum)
}

// dot returns the dot product of the terms ids (ascending) weighted w with
// the weights in dense, summed in id order.
func dot(ids []int32, w, dense []float64) float64 {
	w = w[:len(ids)]
	var sum float64
	for y, id := range ids {
		sum += dense[id] * w[y]
	}
	return sum
}

// sortTerms sorts the term ids of a doc (distinct) in place and writes
// their counts to sorted, in the same order. Ids come in order of first
// occurrence in the doc; they are already sorted when no term of the doc
// came earlier in the corpus. Else each id is put in a bit set, its count
// in scratch (by id, as long as the terms, all 0 before and after), and
// both are read back in id order: ids are distinct, so this is the order
// any sort gives. bitset is the scratch of the set (all 0 between calls).
func sortTerms[T uint16 | int32](bitset *[]uint64, ids, sorted []int32, counts []T, scratch []int32) {
	counts, sorted = counts[:len(ids)], sorted[:len(ids)]
	in := true
	for x := 1; x < len(ids); x++ {
		if ids[x] < ids[x-1] {
			in = false
			break
		}
	}
	if in {
		for x, n := range counts {
			sorted[x] = int32(n)
		}
		return
	}
	words := (len(scratch) + 63) / 64
	if cap(*bitset) < words {
		*bitset = make([]uint64, words)
	}
	set := (*bitset)[:words]
	for x, id := range ids {
		scratch[id] = int32(counts[x])
		set[uint32(id)/64] |= 1 << (uint32(id) % 64)
	}
	x := 0
	for k, b := range set {
		for ; b != 0; b &= b - 1 {
			id := 64*k + bits.TrailingZeros64(b)
			ids[x], sorted[x] = int32(id), scratch[id]
			scratch[id] = 0
			x++
		}
		set[k] = 0
	}
}
