package similarity_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/similarity"
)

const eps = 1e-9

func TestTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "empty", in: "", want: nil},
		{name: "punctuation only", in: " ,.;!? ", want: nil},
		{name: "lower-cased words", in: "Use Postgres, NOT MySQL!", want: []string{"use", "postgres", "not", "mysql"}},
		{name: "digits are word runes", in: "gpt-4o costs $3.50", want: []string{"gpt", "4o", "costs", "3", "50"}},
		{name: "unicode letters", in: "Über café naïve — 東京", want: []string{"über", "café", "naïve", "東京"}},
		{name: "apostrophe splits", in: "don't", want: []string{"don", "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, similarity.Tokens(tt.in))
		})
	}
}

func TestByName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		want    string
		wantErr bool
	}{
		{name: "", want: "tfidf"},
		{name: "tfidf", want: "tfidf"},
		{name: "TFIDF", want: "tfidf"},
		{name: "jaccard", want: "jaccard"},
		{name: "embeddings", wantErr: true},
	}
	for _, tt := range tests {
		t.Run("name="+tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := similarity.ByName(tt.name)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "similarity: ")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Name())
		})
	}
}

func backends() []similarity.Similarity {
	return []similarity.Similarity{similarity.Jaccard{}, similarity.TFIDF{}}
}

func TestEdgeRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want float64
	}{
		{name: "both empty", a: "", b: "", want: 1},
		{name: "both without tokens", a: "!!", b: " - ", want: 1},
		{name: "one empty", a: "", b: "use postgres", want: 0},
		{name: "other empty", a: "use postgres", b: "...", want: 0},
		{name: "identical", a: "We should use Postgres for billing.", b: "we SHOULD use postgres, for billing", want: 1},
		{name: "disjoint", a: "alpha beta gamma", b: "delta epsilon zeta", want: 0},
	}
	for _, s := range backends() {
		for _, tt := range tests {
			t.Run(s.Name()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				assert.InDelta(t, tt.want, similarity.Pair(s, tt.a, tt.b), eps)
			})
		}
	}
}

func TestMatrixShape(t *testing.T) {
	t.Parallel()
	texts := []string{"", "", "use postgres now", "use mysql now please", "completely different words here"}
	for _, s := range backends() {
		t.Run(s.Name(), func(t *testing.T) {
			t.Parallel()
			m := s.Matrix(texts)
			require.Len(t, m, len(texts))
			for i := range m {
				require.Len(t, m[i], len(texts))
				assert.Equal(t, 1.0, m[i][i], "diagonal %d", i)
				for j := range m[i] {
					assert.Equal(t, m[i][j], m[j][i], "symmetry %d,%d", i, j)
					assert.GreaterOrEqual(t, m[i][j], 0.0)
					assert.LessOrEqual(t, m[i][j], 1.0)
				}
			}
			assert.Equal(t, 1.0, m[0][1], "two empty texts")
			assert.Equal(t, 0.0, m[0][2], "one empty text")
			assert.Empty(t, s.Matrix(nil))
		})
	}
}

func TestJaccardValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want float64
	}{
		// shingles: {a b c, b c d} vs {a b c, b c e}: 1/3
		{name: "one shared shingle of three", a: "a b c d", b: "a b c e", want: 1.0 / 3},
		{name: "short texts are one shingle", a: "hello world", b: "Hello, World!", want: 1},
		{name: "short vs long", a: "a b", b: "a b c", want: 0},
		{name: "single token", a: "yes", b: "yes", want: 1},
		{name: "repeated shingles are a set", a: "a b c a b c", b: "a b c", want: 1.0 / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.InDelta(t, tt.want, similarity.Pair(similarity.Jaccard{}, tt.a, tt.b), eps)
		})
	}
}

func TestTFIDFValues(t *testing.T) {
	t.Parallel()
	// Corpus {"a b", "a c"}: N=2, idf(a)=ln(3/3)+1=1, idf(b)=idf(c)=ln(3/2)+1.
	// cos = 1·1 / (1 + idf_b²).
	idf := math.Log(1.5) + 1
	assert.InDelta(t, 1/(1+idf*idf), similarity.Pair(similarity.TFIDF{}, "a b", "a c"), eps)

	// Raw counts matter: {"a a b", "a b"}.
	// idf(a)=idf(b)=1; vectors (2,1) and (1,1): cos = 3/(√5·√2).
	assert.InDelta(t, 3/(math.Sqrt(5)*math.Sqrt(2)), similarity.Pair(similarity.TFIDF{}, "a a b", "a b"), eps)

	// The corpus changes weights: a term shared by every text counts less.
	m := similarity.TFIDF{}.Matrix([]string{"x shared", "y shared", "z shared"})
	assert.InDelta(t, 1/(1+math.Pow(math.Log(4.0/2)+1, 2)), m[0][1], eps)
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	texts := corpus(5, 200)
	for _, s := range backends() {
		first := s.Matrix(texts)
		for range 5 {
			assert.Equal(t, first, s.Matrix(texts), s.Name())
		}
	}
}

// corpus returns n texts of about words words that partly overlap.
func corpus(n, words int) []string {
	vocab := strings.Fields("the billing service should migrate to postgres because " +
		"latency matters cost risk rollback plan data volume replication team " +
		"experience operations backup schema migration downtime weekend traffic peak")
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for w := range words {
			fmt.Fprintf(&b, "%s ", vocab[(w*(i+3)+i*7)%len(vocab)])
		}
		out[i] = b.String()
	}
	return out
}

func BenchmarkMatrix(b *testing.B) {
	texts := corpus(5, 200)
	for _, s := range backends() {
		b.Run(s.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Matrix(texts)
			}
		})
	}
}
