package similarity

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestCachedEqualsBackend compares the cached backends with the plain
// ones, bit for bit, over seeded random corpora that repeat texts across
// calls and within a call, in every order.
func TestCachedEqualsBackend(t *testing.T) {
	t.Parallel()
	words := []string{"Postgres", "postgres", "billing", "migrate", "the", "a", "pilot", "rollback", "90", "days",
		"cost", "Ünïcode", "ÉTÉ", "中文", "risk", "plan", "staged", "", "—"}
	r := rand.New(rand.NewPCG(5, 6))
	pool := randomTexts(r, words, []string{" ", ", ", ". ", "\n"}, 40, 40)
	c := Cached(TFIDF{}).(*cached)
	for _, text := range append(pool, "Straße ǅemal İstanbul ΣΑΣ x\xffy 12ab", "ABC abc Abc aBC 1A2b ÀB àb bÀ") {
		requireTokens(t, c, text)
	}
	for _, s := range []Similarity{TFIDF{}, Jaccard{}} {
		c := Cached(s)
		require.Equal(t, s.Name(), c.Name())
		for range 300 {
			texts := make([]string, r.IntN(12))
			for i := range texts {
				texts[i] = pool[r.IntN(len(pool))]
			}
			require.Equal(t, s.Matrix(texts), c.Matrix(texts), "%s %q", s.Name(), texts)
		}
	}
}

// randomTexts returns n texts of up to maxWords-1 words, each followed by
// a separator, drawn by r.
func randomTexts(r *rand.Rand, words, seps []string, n, maxWords int) []string {
	pool := make([]string, n)
	for i := range pool {
		var b strings.Builder
		for range r.IntN(maxWords) {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteString(seps[r.IntN(len(seps))])
		}
		pool[i] = b.String()
	}
	return pool
}

// custom is a backend the cache does not know.
type custom struct{ TFIDF }

func TestCachedPassesOtherBackendsThrough(t *testing.T) {
	t.Parallel()
	require.Equal(t, custom{}, Cached(custom{}))
}

// requireTokens checks the analysis of text by c against Tokens: its
// distinct tokens in order of first occurrence, and their counts.
func requireTokens(t *testing.T, c *cached, text string) {
	t.Helper()
	var distinct []string
	want := map[string]int32{}
	for _, tok := range Tokens(text) {
		if want[tok] == 0 {
			distinct = append(distinct, tok)
		}
		want[tok]++
	}
	d := c.doc(text)
	c.takeScratch()
	c.analyse(d)
	c.putScratch()
	syms, counts, wsyms, wcounts := d.lists()
	for x, sym := range syms {
		wsyms, wcounts = append(wsyms, int32(sym)), append(wcounts, int32(counts[x]))
	}
	var names []string
	got := map[string]int32{}
	for x, sym := range wsyms {
		names = append(names, string(c.syms.name(sym)))
		got[string(c.syms.name(sym))] = wcounts[x]
	}
	require.Equal(t, distinct, names, "%q", text)
	require.Equal(t, want, got, "%q", text)
}

// revisions returns corpora as a debate makes them: each round's texts
// extend the previous round's (a revision appends to its proposal) after
// every kind of separator, a token boundary or not, down to half a rune;
// each round is compared with the one before, the last one alone after.
func revisions(r *rand.Rand, base []string) [][]string {
	seps := []string{" ", "", ". ", "é", "x", "\xc3", "\xa9", "—", "1", "\n"}
	parts := []string{"Revision: I accept", "ÀB and more", "\xa9t\xc3", "2024 data", "X", ""}
	var out [][]string
	prev := base
	out = append(out, base)
	for range 3 {
		cur := make([]string, len(prev))
		for i, t := range prev {
			cur[i] = t + seps[r.IntN(len(seps))] + parts[r.IntN(len(parts))]
		}
		out = append(out, append(append([]string(nil), cur...), prev...))
		prev = cur
	}
	return append(out, prev)
}

// TestCachedRevisions checks the cache on texts that extend texts it has
// analysed, against the plain backend and Tokens.
func TestCachedRevisions(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	words := []string{"Postgres", "pilot", "the", "Ünïcode", "90", "days", "\xc3", "é", "x", "—", ".", " "}
	for range 100 {
		base := make([]string, 1+r.IntN(5))
		for i := range base {
			var b strings.Builder
			for range r.IntN(12) {
				b.WriteString(words[r.IntN(len(words))])
			}
			base[i] = b.String()
		}
		c := Cached(TFIDF{})
		for _, texts := range revisions(r, base) {
			require.Equal(t, TFIDF{}.Matrix(texts), c.Matrix(texts), "%q", texts)
			for _, text := range texts {
				requireTokens(t, c.(*cached), text)
			}
		}
	}
}

// FuzzCachedRevisions compares the cache with the plain backend on a text,
// its extension and the extension's extension, as debate rounds compare
// them.
func FuzzCachedRevisions(f *testing.F) {
	f.Add("Adopt Postgres.", " Revision: pilot 90 days.", " Revision: ÀB")
	f.Add("a\xc3", "\xa9b", "")
	f.Add("x", "y", "—z")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		s := Cached(TFIDF{})
		for _, texts := range [][]string{{a, c}, {a + b, c + a, a, c}, {a + b + c, c + a + b, a + b, c + a}, {a + b + c, c + a + b}} {
			require.Equal(t, TFIDF{}.Matrix(texts), s.Matrix(texts), "%q", texts)
			for _, text := range texts {
				requireTokens(t, s.(*cached), text)
			}
		}
	})
}

// TestCachedRepeatedCorpus checks that a corpus compared twice in a row
// gives the same matrix, not the one a caller changed.
func TestCachedRepeatedCorpus(t *testing.T) {
	t.Parallel()
	texts := []string{"adopt Postgres with a pilot", "a staged pilot of Postgres", "reject it", ""}
	for _, s := range []Similarity{TFIDF{}, Jaccard{}} {
		c := Cached(s)
		want := s.Matrix(texts)
		got := c.Matrix(texts)
		require.Equal(t, want, got, s.Name())
		got[0][1], got[1][0] = 42, 42
		require.Equal(t, want, c.Matrix(texts), s.Name())
		require.Equal(t, s.Matrix(texts[:2]), c.Matrix(texts[:2]), s.Name())
		require.Equal(t, want, c.Matrix(texts), s.Name())
	}
}

// TestCachedPairsEqualsMatrix compares Pairs, through Cached and through a
// plain backend, with the entries of the plain backend's Matrix, bit for
// bit: random subsets of pairs (in any order, reversed, repeated, on the
// diagonal, or all of them), calls mixed with Matrix calls over repeated
// corpora, and the debate's own corpora and pairs.
func TestCachedPairsEqualsMatrix(t *testing.T) {
	t.Parallel()
	words := []string{"Postgres", "postgres", "billing", "the", "pilot", "90", "days", "Ünïcode", "risk", "", "—"}
	r := rand.New(rand.NewPCG(11, 12))
	pool := randomTexts(r, words, []string{" ", ", ", ". "}, 12, 30)
	for _, s := range []Similarity{TFIDF{}, &TFIDF{}, Jaccard{}} {
		c := Cached(s)
		for range 400 {
			texts := make([]string, r.IntN(11))
			for i := range texts {
				texts[i] = pool[r.IntN(len(pool))]
			}
			want := s.Matrix(texts)
			if r.IntN(4) == 0 {
				require.Equal(t, want, c.Matrix(texts))
				continue
			}
			var pairs [][2]int
			if n := len(texts); n > 0 {
				all := r.IntN(3) == 0
				for i := range n {
					for j := range n {
						if all && i < j || !all && r.IntN(4) == 0 {
							pairs = append(pairs, [2]int{i, j})
						}
					}
				}
				r.Shuffle(len(pairs), func(a, b int) { pairs[a], pairs[b] = pairs[b], pairs[a] })
			}
			got := Pairs(c, texts, pairs)
			require.Len(t, got, len(pairs))
			for k, p := range pairs {
				require.Equal(t, want[p[0]][p[1]], got[k], "%s %v %q", s.Name(), p, texts)
			}
			require.Equal(t, got, Pairs(s, texts, pairs))
			// The first texts of the corpus just compared (the numbering
			// of the call before is used again), then fewer of them.
			for k := len(texts); k > 0; k -= 1 + r.IntN(k) {
				require.Equal(t, s.Matrix(texts[:k]), c.Matrix(texts[:k]), "%s %q", s.Name(), texts[:k])
			}
		}
	}
	rounds := [][]string{{pool[0], pool[1], pool[2]}}
	for range 2 {
		prev := rounds[len(rounds)-1]
		next := make([]string, len(prev))
		for i, p := range prev {
			next[i] = p + " Revision: " + pool[3+i]
		}
		rounds = append(rounds, next)
	}
	c := Cached(TFIDF{})
	for k, cur := range rounds {
		corpus := append([]string(nil), cur...)
		var pairs [][2]int
		for a := range cur {
			for b := a + 1; b < len(cur); b++ {
				pairs = append(pairs, [2]int{a, b})
			}
		}
		if k > 0 {
			corpus = append(corpus, rounds[k-1]...)
			for a := range cur {
				pairs = append(pairs, [2]int{a, len(cur) + a})
			}
		}
		want := TFIDF{}.Matrix(corpus)
		for x, v := range Pairs(c, corpus, pairs) {
			require.Equal(t, want[pairs[x][0]][pairs[x][1]], v)
		}
		require.Equal(t, TFIDF{}.Matrix(cur), c.Matrix(cur))
	}
}

// TestReleasedTablesServeNewCaches checks caches that start from the
// tables of released ones (and a released cache used again) against the
// plain backend, bit for bit.
func TestReleasedTablesServeNewCaches(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	words := []string{"Postgres", "postgres", "pilot", "the", "Ünïcode", "90", "days", "risk", "x", "—", ". ", " ", "\n"}
	for range 60 {
		pool := randomTexts(r, words, []string{" ", ", ", ". "}, 8, 30)
		c := Cached(TFIDF{})
		for _, texts := range revisions(r, pool[:1+r.IntN(5)]) {
			require.Equal(t, TFIDF{}.Matrix(texts), c.Matrix(texts), "%q", texts)
			for _, text := range texts {
				requireTokens(t, c.(*cached), text)
			}
		}
		Release(c)
		require.Equal(t, TFIDF{}.Matrix(pool), c.Matrix(pool))
		Release(c)
	}
	Release(TFIDF{}) // not a cache: nothing happens
}

// TestRetainForgetsOtherTexts checks that Retain keeps only the texts
// given (nor the last matrix's corpus if it held others) and changes no result:
// calls after it, over retained, forgotten and new texts, equal the
// backend's bit for bit.
func TestRetainForgetsOtherTexts(t *testing.T) {
	t.Parallel()
	words := []string{"Postgres", "billing", "migrate", "the", "pilot", "rollback", "90", "days", "risk", "ÉTÉ"}
	r := rand.New(rand.NewPCG(7, 8))
	pool := randomTexts(r, words, []string{" ", ". ", "\n"}, 30, 30)
	s := Cached(TFIDF{})
	c := s.(*cached)
	for range 100 {
		texts := make([]string, 1+r.IntN(10))
		for i := range texts {
			texts[i] = pool[r.IntN(len(pool))]
		}
		require.Equal(t, TFIDF{}.Matrix(texts), s.Matrix(texts), "%q", texts)
		keep := texts[:r.IntN(len(texts)+1)]
		Retain(s, keep)
		for _, d := range append(slices.Clone(c.docs), c.lastDocs...) {
			require.Contains(t, keep, d.text)
		}
	}
	Retain(TFIDF{}, pool) // no cache: nothing to do
}

// TestReleaseUnusedCache releases a cache that never analysed a text (a
// debate interrupted before its first comparison): nothing to give back,
// and the cache stays usable.
func TestReleaseUnusedCache(t *testing.T) {
	t.Parallel()
	s := Cached(TFIDF{})
	Release(s)
	texts := []string{"Use Postgres with a pilot.", "Use a pilot, then Postgres."}
	require.Equal(t, TFIDF{}.Matrix(texts), s.Matrix(texts))
}

// TestCachedWide checks the cache, bit for bit, on texts whose analyses
// and table outgrow 16 bits: a text of more than 65536 distinct tokens (a
// table of more symbols and more bytes than 16 bits number), a count of
// more than 65535, a long text of other letters and invalid bytes, a short
// text analysed after them, and revisions that start from such analyses.
func TestCachedWide(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 70000 {
		b.WriteString("w")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(strings.Repeat("1", i/26%3))
		b.WriteString(" ")
		b.WriteString(string(rune('A'+i%26)) + "z" + strings.Repeat("9", i%11) + string(rune('0'+i/286%10)) + string(rune('a'+i/2860%26)) + " ")
	}
	distinct := b.String()
	repeated := strings.Repeat("Pilot, ", 70000)
	unicodeText := strings.Repeat("Straße ǅemal İstanbul ΣΑΣ x\xffy 12ab ÀB àb bÀ — \xc3", 2000)
	for _, first := range [][]string{{repeated, "pilot plan"}, {distinct, "a pilot plan", repeated}, {"pilot plan", "Pilot"}} {
		s := Cached(TFIDF{})
		c := s.(*cached)
		rounds := [][]string{
			first,
			append([]string{"a pilot plan", "Pilot then migrate", repeated + " and more", distinct + "; revised: pilot", "pilot plan, " + repeated}, first...),
			{"a pilot plan", "Pilot then migrate", repeated + " and more", distinct + "; revised: pilot", unicodeText},
		}
		for r, texts := range rounds {
			require.Equal(t, TFIDF{}.Matrix(texts), s.Matrix(texts))
			for _, text := range texts {
				requireTokens(t, c, text)
			}
			require.Equal(t, r > 0 || first[0] != "pilot plan", slices.ContainsFunc(c.docs, func(d *doc) bool { return d.wide }))
		}
		require.NotNil(t, c.syms.wide)
		require.Greater(t, len(c.syms.text), 1<<16)
		Release(s)
		require.Equal(t, TFIDF{}.Matrix(rounds[2]), s.Matrix(rounds[2]))
	}
}

// pairsRetainStep makes the calls of a debate round over texts, whose
// first keep are the round's: PairsRetain over the pairs given (prepare
// as said), then Matrix over texts[:keep], each against the plain backend
// s, bit for bit, and checks that only texts[:keep] are kept. It returns
// the number of docs of the last matrix after PairsRetain (0 if c is not a
// cache).
func pairsRetainStep(t *testing.T, s, c Similarity, texts []string, pairs [][2]int, keep int, prepare bool) (last int) {
	want := s.Matrix(texts)
	got := PairsRetain(c, texts, pairs, keep, prepare)
	require.Len(t, got, len(pairs))
	for k, p := range pairs {
		require.Equal(t, want[p[0]][p[1]], got[k], "%s %v %q", s.Name(), p, texts)
	}
	if cc, ok := c.(*cached); ok {
		for _, d := range slices.Concat(cc.docs, cc.lastDocs, cc.memoDocs()) {
			require.Contains(t, texts[:keep], d.text)
		}
		last = len(cc.lastDocs)
	}
	require.Equal(t, s.Matrix(texts[:keep]), c.Matrix(texts[:keep]), "%s %q", s.Name(), texts[:keep])
	return last
}

// TestPairsRetainEqualsMatrix checks PairsRetain, through Cached and
// through plain backends, against the plain backend's Matrix bit for bit:
// random corpora and pairs, any keep, with and without prepare, followed
// by a Matrix call over the texts kept (the prepared matrix) or, at times,
// over others (a prepared matrix not asked for).
func TestPairsRetainEqualsMatrix(t *testing.T) {
	t.Parallel()
	words := []string{"Postgres", "postgres", "billing", "the", "pilot", "90", "days", "Ünïcode", "risk", "", "—"}
	r := rand.New(rand.NewPCG(13, 14))
	pool := randomTexts(r, words, []string{" ", ", ", ". "}, 14, 30)
	for _, s := range []Similarity{TFIDF{}, Jaccard{}} {
		for _, c := range []Similarity{Cached(s), s} {
			for range 300 {
				texts := make([]string, 1+r.IntN(11))
				for i := range texts {
					texts[i] = pool[r.IntN(len(pool))]
				}
				n := len(texts)
				var pairs [][2]int
				all := r.IntN(3) == 0
				for i := range n {
					for j := range n {
						if all && i < j || !all && r.IntN(4) == 0 {
							pairs = append(pairs, [2]int{i, j})
						}
					}
				}
				keep := r.IntN(n + 1)
				if r.IntN(3) == 0 {
					// A call that does not ask for the prepared matrix.
					want := s.Matrix(texts)
					got := PairsRetain(c, texts, pairs, keep, true)
					for k, p := range pairs {
						require.Equal(t, want[p[0]][p[1]], got[k])
					}
					other := append([]string{pool[r.IntN(len(pool))]}, texts[:keep]...)
					require.Equal(t, s.Matrix(other), c.Matrix(other), "%q", other)
					continue
				}
				pairsRetainStep(t, s, c, texts, pairs, keep, r.IntN(4) > 0)
			}
		}
	}
}

// TestPairsRetainRounds makes a debate's calls (each round's proposals,
// extending the previous round's or, at times, the same, compared with
// them, then the votes grouped over them) through PairsRetain, against the
// plain backend.
func TestPairsRetainRounds(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(15, 16))
	words := []string{"Postgres", "pilot", "the", "Ünïcode", "90", "days", "é", "x", "—", ".", " ", "billing", "risk"}
	for range 60 {
		agents := 1 + r.IntN(6)
		cur := randomTexts(r, words, []string{" ", ". "}, agents, 20)
		c := Cached(TFIDF{})
		same := r.IntN(3) == 0
		var prev []string
		for round := range 4 {
			corpus := append(slices.Clone(cur), prev...)
			last := pairsRetainStep(t, TFIDF{}, c, corpus, roundPairs(len(cur), round > 0), len(cur), true)
			if len(cur) > 1 {
				// The matrix of the round's proposals is ready (made
				// in the first round, prepared in later ones).
				require.Equal(t, len(cur), last)
			}
			prev = cur
			if same {
				continue
			}
			cur = slices.Clone(cur)
			for i := range cur {
				cur[i] += " " + randomTexts(r, words, []string{" ", ". "}, 1, 10)[0]
			}
		}
		Release(c)
	}
}

// FuzzPairsRetain compares PairsRetain and the Matrix of the texts it
// keeps with the plain backend, on a round of two revised texts compared
// with the previous round's.
func FuzzPairsRetain(f *testing.F) {
	f.Add("Adopt Postgres.", "Reject it: risk.", " Revision: pilot 90 days.", uint8(2))
	f.Add("a\xc3", "\xa9b", "", uint8(1))
	f.Add("x", "x", "—z", uint8(4))
	f.Fuzz(func(t *testing.T, a, b, rev string, keep uint8) {
		c := Cached(TFIDF{})
		pairsRetainStep(t, TFIDF{}, c, []string{a, b}, [][2]int{{0, 1}}, 2, true)
		texts := []string{a + rev, b + rev, a, b}
		pairsRetainStep(t, TFIDF{}, c, texts, [][2]int{{0, 1}, {0, 2}, {1, 3}}, int(keep)%(len(texts)+1), true)
		// The agents repeat their texts: the same corpus again.
		texts = []string{a, b, a, b}
		pairsRetainStep(t, TFIDF{}, c, texts, [][2]int{{0, 1}, {0, 2}, {1, 3}}, 2, true)
		pairsRetainStep(t, TFIDF{}, c, texts, [][2]int{{0, 1}, {0, 2}, {1, 3}}, 2, true)
		pairsRetainStep(t, TFIDF{}, c, texts, [][2]int{{1, 3}, {2, 3}}, int(keep)%(len(texts)+1), true)
	})
}

// TestCachedPairsMemo asks a cache again and again for pairs of one corpus
// (a debate whose agents repeat their proposals compares the same corpus
// in its later rounds: the memo of the last pairs computed answers), for
// pairs of it the memo lacks, and over other corpora or after Retain in
// between, against the plain backend's Matrix, bit for bit.
func TestCachedPairsMemo(t *testing.T) {
	t.Parallel()
	r, pool := wordPool(17, 8)
	hits := 0
	for range 300 {
		c := Cached(TFIDF{}).(*cached)
		cur := drawTexts(r, pool, 1+r.IntN(5))
		corpus := slices.Concat(cur, cur)
		if r.IntN(3) == 0 {
			corpus[len(cur)+r.IntN(len(cur))] = pool[r.IntN(len(pool))]
		}
		n := len(corpus)
		base := upperPairs(r, n, false)
		want := TFIDF{}.Matrix(corpus)
		for range 8 {
			pairs := base
			switch r.IntN(6) {
			case 0: // another pair too
				pairs = append(slices.Clone(base), [2]int{r.IntN(n), r.IntN(n)})
			case 1: // fewer, reversed
				pairs = nil
				for _, p := range base {
					if r.IntN(2) == 0 {
						pairs = append(pairs, [2]int{p[1], p[0]})
					}
				}
			case 2: // another corpus in between
				other := []string{pool[r.IntN(len(pool))], corpus[0], corpus[n-1]}
				m := TFIDF{}.Matrix(other)
				require.Equal(t, []float64{m[0][1], m[1][2]}, Pairs(c, other, [][2]int{{0, 1}, {1, 2}}))
			case 3:
				Retain(c, corpus[:r.IntN(n+1)])
			}
			held := c.memo != nil && slices.Equal(c.memo.docs, c.docsOf(corpus))
			var got []float64
			if r.IntN(2) == 0 {
				got = Pairs(c, corpus, pairs)
			} else {
				got = PairsRetain(c, corpus, pairs, n, r.IntN(2) == 0)
			}
			for k, p := range pairs {
				require.Equal(t, want[p[0]][p[1]], got[k], "%v %q", p, corpus)
			}
			if held {
				hits++
			}
		}
	}
	require.Greater(t, hits, 300)
}

// docsOf returns the docs c has of texts, nil for those it has not.
func (c *cached) docsOf(texts []string) []*doc {
	out := make([]*doc, len(texts))
	for i, text := range texts {
		for _, d := range c.docs {
			if d.text == text {
				out[i] = d
			}
		}
	}
	return out
}

// TestCachedRepeatedDocs compares corpora that hold texts more than once
// (numbered once each: numbered), asked for some pairs or all, with the
// matrix of their first texts prepared or not, against the plain backend,
// bit for bit.
func TestCachedRepeatedDocs(t *testing.T) {
	t.Parallel()
	r, pool := wordPool(19, 5)
	for range 300 {
		texts := drawTexts(r, pool, 2+r.IntN(20))
		n := len(texts)
		pairs := upperPairs(r, n, r.IntN(2) == 0)
		c := Cached(TFIDF{})
		if r.IntN(2) == 0 {
			require.Equal(t, TFIDF{}.Matrix(texts), c.Matrix(texts), "%q", texts)
			continue
		}
		pairsRetainStep(t, TFIDF{}, c, texts, pairs, 1+r.IntN(n), true)
	}
}

// wordPool returns a source seeded with seed and n texts it draws, of up to
// 19 words of a corpus of cached and plain backends' edge cases.
func wordPool(seed uint64, n int) (*rand.Rand, []string) {
	words := []string{"Postgres", "postgres", "billing", "the", "pilot", "90", "days", "Ünïcode", "risk", "", "—"}
	r := rand.New(rand.NewPCG(seed, seed+1))
	return r, randomTexts(r, words, []string{" ", ", ", ". "}, n, 20)
}

// drawTexts returns n texts of pool drawn by r.
func drawTexts(r *rand.Rand, pool []string, n int) []string {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = pool[r.IntN(len(pool))]
	}
	return texts
}

// upperPairs returns the pairs i < j of n texts, all of them or about a
// third, drawn by r.
func upperPairs(r *rand.Rand, n int, all bool) [][2]int {
	var pairs [][2]int
	for i := range n {
		for j := i + 1; j < n; j++ {
			if all || r.IntN(3) == 0 {
				pairs = append(pairs, [2]int{i, j})
			}
		}
	}
	return pairs
}

// TestCorpusNewTextTwice checks that a call whose new texts repeat one
// (the docs of a call's new texts are one allocation) makes one doc per
// text, and the same doc for equal texts.
func TestCorpusNewTextTwice(t *testing.T) {
	t.Parallel()
	c := Cached(TFIDF{}).(*cached)
	old := c.corpus([]string{"kept text"}, nil)[0]
	twice := strings.Clone("pilot plan")
	docs := c.corpus([]string{"pilot plan", "kept text", "other", twice, "other"}, nil)
	require.Same(t, docs[0], docs[3])
	require.Same(t, docs[2], docs[4])
	require.Same(t, old, docs[1])
	require.Len(t, c.docs, 3)
	for _, d := range docs {
		require.Equal(t, c.gen, d.used)
	}
	texts := []string{"pilot plan", "kept text", "other", twice, "other"}
	require.Equal(t, TFIDF{}.Matrix(texts), c.Matrix(texts))
}

// TestAnalysesOwnTheirTerms checks that the docs analysed by a TF-IDF call
// keep their analyses, one allocation for the call's, when later calls
// (which reuse the scratch that held them during the call) analyse others:
// each doc's lists stay those it had after its call, and equal Tokens'.
func TestAnalysesOwnTheirTerms(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(21, 22))
	words := []string{"Postgres", "pilot", "the", "Ünïcode", "90", "days", "é", "x", "—", ".", " ", "billing", "risk"}
	base := randomTexts(r, words, []string{" ", ". "}, 5, 20)
	type analysis struct {
		d            *doc
		syms, counts []uint16
	}
	var seen []analysis
	c := Cached(TFIDF{}).(*cached)
	for _, texts := range revisions(r, base) {
		before := map[*doc]bool{}
		for _, d := range c.docs {
			before[d] = d.analysed
		}
		require.Equal(t, TFIDF{}.Matrix(texts), c.Matrix(texts), "%q", texts)
		var fresh []*doc
		for _, text := range texts {
			d := c.find(text)
			if !before[d] && !slices.Contains(fresh, d) {
				fresh = append(fresh, d)
			}
		}
		// The call's analyses follow one another in one list.
		for k := 1; k < len(fresh); k++ {
			prev := fresh[k-1].terms
			require.Equal(t, cap(prev), len(prev))
			if len(prev) > 0 && len(fresh[k].terms) > 0 {
				require.Equal(t, unsafe.Add(unsafe.Pointer(unsafe.SliceData(prev)), 2*len(prev)), unsafe.Pointer(&fresh[k].terms[0]))
			}
		}
		for _, d := range fresh {
			syms, counts, _, _ := d.lists()
			seen = append(seen, analysis{d, slices.Clone(syms), slices.Clone(counts)})
		}
		for _, a := range seen {
			syms, counts, _, _ := a.d.lists()
			require.Equal(t, a.syms, syms, "%q", a.d.text)
			require.Equal(t, a.counts, counts, "%q", a.d.text)
		}
	}
}

// TestDebateTableMadeOnce checks that the symbol table made by a debate's
// first call (the peer benchmark's proposals, docs/BENCHMARKS.md) has room
// for the symbols of its later rounds: it is not made again.
func TestDebateTableMadeOnce(t *testing.T) {
	t.Parallel()
	rounds := debateProposalsInternal(t)
	c := &cached{s: TFIDF{}} // not a table released by a parallel test (Cached)
	var text *byte
	var slots, meta *uint16
	var prev []string
	for round, cur := range rounds {
		corpus := append(slices.Clone(cur), prev...)
		pairsRetainStep(t, TFIDF{}, c, corpus, roundPairs(len(cur), round > 0), len(cur), true)
		if round == 0 {
			text, slots, meta = unsafe.SliceData(c.syms.text), unsafe.SliceData(c.syms.slots), unsafe.SliceData(c.syms.meta)
			// One allocation for slots and meta.
			require.Equal(t, unsafe.Add(unsafe.Pointer(slots), 2*len(c.syms.slots)), unsafe.Pointer(meta))
		}
		require.Same(t, text, unsafe.SliceData(c.syms.text))
		require.Same(t, slots, unsafe.SliceData(c.syms.slots))
		require.Same(t, meta, unsafe.SliceData(c.syms.meta))
		prev = cur
	}
}

// debateProposalsInternal reads testdata/proposals.json (as
// debateProposals, for the package's internal tests).
func debateProposalsInternal(t *testing.T) [][]string {
	b, err := os.ReadFile("testdata/proposals.json")
	require.NoError(t, err)
	var rounds [][]string
	require.NoError(t, json.Unmarshal(b, &rounds))
	return rounds
}

// roundPairs returns the pairs that a debate's convergence check compares
// in a round of n proposals: theirs, then, after the first round, each
// with its previous one (at n + its index).
func roundPairs(n int, later bool) [][2]int {
	var pairs [][2]int
	for a := range n {
		for b := a + 1; b < n; b++ {
			pairs = append(pairs, [2]int{a, b})
		}
		if later {
			pairs = append(pairs, [2]int{a, n + a})
		}
	}
	return pairs
}

// keeper is a Pairwise backend that keeps the lists of its last call.
type keeper struct {
	TFIDF
	texts *[]string
	pairs *[][2]int
}

func (k keeper) Pairs(texts []string, pairs [][2]int) []float64 {
	*k.texts, *k.pairs = texts, pairs
	return Pairs(k.TFIDF, texts, pairs)
}

// TestPairsRetainCopiesForOtherBackends checks that PairsRetain gives a
// backend other than Cached's copies of the caller's lists (which a debate
// keeps on its stack and writes again): a backend that keeps them sees
// them as they were during the call.
func TestPairsRetainCopiesForOtherBackends(t *testing.T) {
	t.Parallel()
	var texts []string
	var pairs [][2]int
	k := keeper{texts: &texts, pairs: &pairs}
	mine := []string{"Use Postgres with a pilot.", "Use a pilot, then Postgres.", "Keep MySQL."}
	asked := [][2]int{{0, 1}, {1, 2}}
	got := PairsRetain(k, mine, asked, 2, true)
	want := TFIDF{}.Matrix(mine)
	require.Equal(t, []float64{want[0][1], want[1][2]}, got)
	mine[0], asked[0] = "changed", [2]int{2, 2}
	require.Equal(t, []string{"Use Postgres with a pilot.", "Use a pilot, then Postgres.", "Keep MySQL."}, texts)
	require.Equal(t, [][2]int{{0, 1}, {1, 2}}, pairs)
}

// TestAppendPairsRetain checks that AppendPairsRetain appends what
// PairsRetain returns to dst, leaving what dst held, through Cached (each
// of its paths: a computed matrix, a prepared one, the last one) and plain
// backends.
func TestAppendPairsRetain(t *testing.T) {
	t.Parallel()
	rounds := [][]string{
		{"Use Postgres with a pilot.", "Use a pilot, then Postgres.", "Keep MySQL."},
		{"Use Postgres with a pilot. Revision: 90 days.", "Use a pilot, then Postgres. Revision: rollback.", "Keep MySQL."},
	}
	for _, s := range []Similarity{TFIDF{}, Jaccard{}} {
		c, plain := Cached(s), s
		var prev []string
		for round, cur := range rounds {
			corpus := append(slices.Clone(cur), prev...)
			pairs := roundPairs(len(cur), round > 0)
			for _, sim := range []Similarity{c, plain} {
				var buf [2]float64
				dst := append(buf[:0], 7)
				got := AppendPairsRetain(dst, sim, corpus, pairs, len(cur), true)
				want := PairsRetain(s, corpus, pairs, len(cur), true)
				require.Equal(t, append([]float64{7}, want...), got, "%s %q", sim.Name(), corpus)
				// Over the texts kept: the prepared (or last) matrix.
				got = AppendPairsRetain(got[:1], sim, cur, [][2]int{{0, 1}, {1, 2}, {2, 2}}, len(cur), true)
				m := s.Matrix(cur)
				require.Equal(t, []float64{7, m[0][1], m[1][2], 1}, got, "%s %q", sim.Name(), cur)
			}
			prev = cur
		}
	}
}

// TestForgottenTextsFreed checks that a text the cache has forgotten
// (older than the last two calls) is not kept alive by a doc of the same
// call that the cache still keeps (a text repeated in later calls).
func TestForgottenTextsFreed(t *testing.T) {
	freed := make(chan struct{}, 2)
	big := func(word string) string {
		b := []byte(strings.Repeat(word+" ", 100_000))
		runtime.AddCleanup(&b[0], func(ch chan struct{}) { ch <- struct{}{} }, freed)
		return unsafe.String(&b[0], len(b))
	}
	c := Cached(TFIDF{})
	defer Release(c)
	kept := "a short text the agent repeats every round"
	c.Matrix([]string{big("alpha"), big("beta"), kept})
	for i := range 4 {
		c.Matrix([]string{kept, strings.Repeat("other ", i+1)})
	}
	deadline := time.Now().Add(10 * time.Second)
	for got := 0; got < 2; {
		runtime.GC()
		select {
		case <-freed:
			got++
		case <-time.After(10 * time.Millisecond):
			require.True(t, time.Now().Before(deadline), "a forgotten text is still reachable (%d of 2 freed)", got)
		}
	}
}
