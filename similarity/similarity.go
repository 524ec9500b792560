// Package similarity measures how alike texts are (docs/debate.md#convergence). It is used
// by package consensus to group vote options and by package debate to detect
// convergence and hollow consensus.
//
// A [Similarity] maps a corpus to its pairwise similarity matrix. Two
// backends are provided: [Jaccard] (word 3-shingles) and [TFIDF] (cosine over
// TF-IDF weights, the default). Both are deterministic, in-process and
// stateless; any other backend (embeddings, say) can be plugged in by
// implementing the interface.
//
// Every backend follows the same edge rules: a text with no tokens is empty;
// two empty texts are identical (1.0), exactly one empty text gives 0.0, a
// text compared with itself gives 1.0, and every value is clamped to [0, 1].
//
// This package imports only the standard library.
package similarity

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
)

// Similarity maps a corpus to its pairwise similarity matrix: m[i][j] is in
// [0, 1], m is symmetric and m[i][i] is 1. The corpus matters: TF-IDF weights
// depend on every text in it. Implementations must be deterministic and safe
// for concurrent use.
type Similarity interface {
	// Name identifies the backend in events and configuration ("tfidf").
	Name() string
	// Matrix returns the len(texts)×len(texts) similarity matrix.
	Matrix(texts []string) [][]float64
}

// Backend names accepted by [ByName].
const (
	NameJaccard = "jaccard"
	NameTFIDF   = "tfidf"
)

// ByName returns the backend called name: "jaccard", or "tfidf" (also the
// default for ""). Any other name is an error.
func ByName(name string) (Similarity, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case NameTFIDF, "":
		return TFIDF{}, nil
	case NameJaccard:
		return Jaccard{}, nil
	}
	return nil, fmt.Errorf("similarity: unknown backend %q (want jaccard or tfidf)", name)
}

// Pair returns the similarity of a and b under s, computed over the corpus
// {a, b}. It returns 0 if s is nil or returns a malformed matrix.
func Pair(s Similarity, a, b string) float64 {
	if s == nil {
		return 0
	}
	m := s.Matrix([]string{a, b})
	if len(m) < 1 || len(m[0]) < 2 {
		return 0
	}
	return Clamp01(m[0][1])
}

// Pairwise is implemented by a Similarity that can compute some entries
// of a matrix without the others ([Cached] TF-IDF: only the dot products
// of the pairs asked for).
type Pairwise interface {
	// Pairs returns Matrix(texts)[p[0]][p[1]] for each pair p, bit for bit.
	Pairs(texts []string, pairs [][2]int) []float64
}

// Pairs returns s.Matrix(texts)[p[0]][p[1]] for each pair p of pairs,
// computing only those entries when s is [Pairwise].
func Pairs(s Similarity, texts []string, pairs [][2]int) []float64 {
	if p, ok := s.(Pairwise); ok {
		return p.Pairs(texts, pairs)
	}
	m := s.Matrix(texts)
	out := make([]float64, len(pairs))
	for k, p := range pairs {
		out[k] = m[p[0]][p[1]]
	}
	return out
}

// PairsRetain returns Pairs(s, texts, pairs), then retains texts[:keep]
// as [Retain] does. With prepare, a [Cached] TF-IDF also computes, from the
// same analysis of texts, the matrix of texts[:keep], which its next call
// over exactly those texts returns: a debate compares a round's proposals
// with the previous round's, then groups the votes over the round's alone
// (docs/debate.md#convergence). It changes no result. It panics if keep is
// out of range.
func PairsRetain(s Similarity, texts []string, pairs [][2]int, keep int, prepare bool) []float64 {
	return AppendPairsRetain(nil, s, texts, pairs, keep, prepare)
}

// AppendPairsRetain is [PairsRetain] appending its values to dst (with dst
// nil, a backend other than [Cached]'s returns its own list). It keeps
// none of the caller's lists, so that they may be on the caller's stack:
// a backend other than [Cached]'s is given copies of texts and pairs (two
// allocations), since what it does with them is not known.
func AppendPairsRetain(dst []float64, s Similarity, texts []string, pairs [][2]int, keep int, prepare bool) []float64 {
	if c, ok := s.(*cached); ok {
		return c.pairsRetain(dst, texts, pairs, keep, prepare)
	}
	out := Pairs(s, slices.Clone(texts), slices.Clone(pairs))
	Retain(s, texts[:keep])
	if dst == nil {
		return out
	}
	return append(dst, out...)
}

// Tokens splits text into lower-cased maximal runs of Unicode letters or
// digits. There is no stemming and there are no stop words.
func Tokens(text string) []string {
	var out []string
	start := -1
	for i, r := range text {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			out = append(out, strings.ToLower(text[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, strings.ToLower(text[start:]))
	}
	return out
}

// Jaccard compares the sets of word 3-shingles (three consecutive tokens) of
// two texts: |A∩B| / |A∪B|. A text of one or two tokens has a single shingle
// made of all its tokens. The zero value is ready to use and it is safe for
// concurrent use.
type Jaccard struct{}

// Name returns "jaccard".
func (Jaccard) Name() string { return NameJaccard }

// Matrix returns the pairwise Jaccard similarity of texts.
func (Jaccard) Matrix(texts []string) [][]float64 {
	sets := make([]map[shingle]struct{}, len(texts))
	for i, t := range texts {
		sets[i] = shingles(Tokens(t))
	}
	return jaccard(sets)
}

// shingle is up to three consecutive tokens; tokens are never empty, so a
// short text's shingle ("" in the unused slots) cannot equal a full one.
type shingle [3]string

// shingles returns the set of 3-token shingles of toks.
func shingles(toks []string) map[shingle]struct{} {
	set := make(map[shingle]struct{}, len(toks))
	switch {
	case len(toks) == 0:
	case len(toks) < 3:
		var s shingle
		copy(s[:], toks)
		set[s] = struct{}{}
	default:
		for i := 0; i+3 <= len(toks); i++ {
			set[shingle{toks[i], toks[i+1], toks[i+2]}] = struct{}{}
		}
	}
	return set
}

// TFIDF compares texts by the cosine of their TF-IDF vectors over the
// corpus: idf(t) = ln((1+N)/(1+df(t))) + 1 for the N texts of the corpus,
// and a term's weight is its raw count × idf. The zero value is ready to use
// and it is safe for concurrent use.
type TFIDF struct{}

// Name returns "tfidf".
func (TFIDF) Name() string { return NameTFIDF }

// term is one sparse vector entry; vectors are sorted by id, so every sum runs
// in a fixed order and results are bit-for-bit reproducible.
type term struct {
	id int
	w  float64
}

// Matrix returns the pairwise TF-IDF cosine similarity of texts.
func (TFIDF) Matrix(texts []string) [][]float64 {
	n := len(texts)
	vocab := make(map[string]int)
	var df []int
	counts := make([][]term, n) // raw counts, ids ascending
	for i, t := range texts {
		local := make(map[int]int)
		var order []int
		for _, tok := range Tokens(t) {
			id, ok := vocab[tok]
			if !ok {
				id = len(df)
				vocab[tok] = id
				df = append(df, 0)
			}
			if local[id] == 0 {
				order = append(order, id)
				df[id]++
			}
			local[id]++
		}
		slices.Sort(order)
		vec := make([]term, len(order))
		for k, id := range order {
			vec[k] = term{id: id, w: float64(local[id])}
		}
		counts[i] = vec
	}
	return cosines(counts, df)
}

// cosines turns raw counts (ids ascending) into TF-IDF weights over the
// corpus whose document frequencies are df, and returns their pairwise
// cosine similarity. Every sum runs in id order.
func cosines(counts [][]term, df []int) [][]float64 {
	n := len(counts)
	idf := make([]float64, len(df))
	for id, d := range df {
		idf[id] = math.Log(float64(1+n)/float64(1+d)) + 1
	}
	norms := make([]float64, n)
	for i, vec := range counts {
		var sum float64
		for k := range vec {
			vec[k].w *= idf[vec[k].id]
			sum += vec[k].w * vec[k].w
		}
		norms[i] = math.Sqrt(sum)
	}
	return fill(n, func(i, j int) float64 {
		a, b := counts[i], counts[j]
		switch {
		case len(a) == 0 && len(b) == 0:
			return 1
		case len(a) == 0 || len(b) == 0:
			return 0
		}
		var dot float64
		for x, y := 0, 0; x < len(a) && y < len(b); {
			switch {
			case a[x].id < b[y].id:
				x++
			case a[x].id > b[y].id:
				y++
			default:
				dot += a[x].w * b[y].w
				x++
				y++
			}
		}
		return dot / (norms[i] * norms[j])
	})
}

// jaccard returns the pairwise Jaccard similarity of shingle sets.
func jaccard(sets []map[shingle]struct{}) [][]float64 {
	return fill(len(sets), func(i, j int) float64 {
		a, b := sets[i], sets[j]
		switch {
		case len(a) == 0 && len(b) == 0:
			return 1
		case len(a) == 0 || len(b) == 0:
			return 0
		}
		if len(a) > len(b) {
			a, b = b, a
		}
		inter := 0
		for s := range a {
			if _, ok := b[s]; ok {
				inter++
			}
		}
		return float64(inter) / float64(len(a)+len(b)-inter)
	})
}

// fill builds a symmetric n×n matrix with a unit diagonal from the upper
// triangle computed by f (i < j), clamping every value to [0, 1].
func fill(n int, f func(i, j int) float64) [][]float64 {
	m := identity(n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			v := Clamp01(f(i, j))
			m[i][j], m[j][i] = v, v
		}
	}
	return m
}

// identity returns the n×n identity matrix, its rows in one array.
func identity(n int) [][]float64 {
	m := make([][]float64, n)
	cells := make([]float64, n*n)
	for i := range m {
		m[i] = cells[i*n : (i+1)*n : (i+1)*n]
		m[i][i] = 1
	}
	return m
}
