package evidence_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/evidence"
)

const eps = 1e-9

// vague is the reference text of docs/debate.md#evidence-and-the-trickster.
const vague = "Generally the first option is usually better. It depends on various factors, but in " +
	"some cases it might work. Best practices suggest it could potentially have a significant impact."

var now2025 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestScoreReferenceCase(t *testing.T) {
	t.Parallel()
	s := evidence.Score(vague, now2025, evidence.Weights{})
	assert.Equal(t, 0.8, s.Temporal)
	assert.Equal(t, evidence.Scores{Temporal: 0.8, Overall: s.Overall}, s, "every other component is 0")
	assert.InDelta(t, 0.08, s.Overall, eps)
}

func TestHollowReferenceCase(t *testing.T) {
	t.Parallel()
	s := evidence.Score(vague, now2025, evidence.Weights{})
	h := evidence.CheckHollow([]evidence.Scores{s, s}, 1.0, 0)
	assert.True(t, h.Hollow)
	assert.InDelta(t, 0.4*(1-0.08/0.65)+0.2+0.1, h.Severity, eps)
	assert.InDelta(t, 0.651, h.Severity, 0.0005)
	assert.InDelta(t, 0.15+0.55*0.08/0.65, h.Bar, eps)
	assert.InDelta(t, 0.218, h.Bar, 0.0005)
	assert.InDelta(t, 0.08, h.Average, eps)
	assert.InDelta(t, 0.0, h.Variance, eps)
	assert.Equal(t, 1.0, h.Similarity)
	assert.True(t, evidence.Flagged(h, 0.5), "0.651 >= 0.5 at the default sensitivity")

	targets := evidence.Targets([]string{"a", "b"}, []evidence.Scores{s, s}, 0)
	all := []string{"citations", "specificity", "reasoning", "evidence_diversity"}
	assert.Equal(t, []evidence.Target{{Name: "a", Gaps: all}, {Name: "b", Gaps: all}}, targets)
}

func TestScoreEmpty(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"", "   ", "?!... --"} {
		assert.Equal(t, evidence.Scores{}, evidence.Score(text, now2025, evidence.Weights{}), "%q", text)
	}
}

func TestScoreComponents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		text  string
		check func(t *testing.T, s evidence.Scores)
	}{
		{
			name: "citation capped by assertions",
			text: "Postgres handles this workload well [1] [2] [3].",
			check: func(t *testing.T, s evidence.Scores) {
				assert.Equal(t, 1.0, s.Citation)
				assert.InDelta(t, 1.0/3, s.Diversity, eps)
			},
		},
		{
			name: "citation over assertions",
			text: "Postgres handles this workload well [1]. MySQL would also handle it fine. Is that so?",
			check: func(t *testing.T, s evidence.Scores) {
				assert.Equal(t, 0.5, s.Citation) // 1 marker, 2 assertions (the question is none)
			},
		},
		{
			name: "no assertions means no citation score",
			text: "Short one [1]. Why not?",
			check: func(t *testing.T, s evidence.Scores) {
				assert.Equal(t, 0.0, s.Citation)
			},
		},
		{
			name: "specificity without numbers or hedges is 0.5",
			text: "Postgres works well here.",
			check: func(t *testing.T, s evidence.Scores) {
				assert.Equal(t, 0.5, s.Specificity)
			},
		},
		{
			name: "specificity S/(V+S)",
			// S: 3 numbers (120, 3, 5) + exactly + measured at = 5; V: usually = 1.
			text: "Latency was measured at 120 ms on 3 nodes, exactly 5 runs; usually fine.",
			check: func(t *testing.T, s evidence.Scores) {
				assert.InDelta(t, 5.0/6, s.Specificity, eps)
			},
		},
		{
			name: "distinct hedges only",
			text: "Usually, usually, usually it might work.",
			check: func(t *testing.T, s evidence.Scores) {
				assert.Equal(t, 0.0, s.Specificity)
			},
		},
		{
			name: "diversity all three kinds",
			text: "According to AWS, costs fell 30%, for example in eu-west.",
			check: func(t *testing.T, s evidence.Scores) {
				assert.Equal(t, 1.0, s.Diversity)
			},
		},
		{
			name: "reasoning short text",
			text: "We should migrate because the load grows.",
			check: func(t *testing.T, s evidence.Scores) {
				assert.Equal(t, 1.0, s.Reasoning) // C=1, words<100 → divisor 1
			},
		},
		{
			name: "reasoning per 100 words",
			text: strings.Repeat("word ", 199) + "because",
			check: func(t *testing.T, s evidence.Scores) {
				assert.InDelta(t, 0.5, s.Reasoning, eps) // C=1, 200 words → 1/2
			},
		},
		{
			name: "overall uses default weights",
			text: "According to AWS, costs fell 30%, for example in eu-west, because of 2024 pricing.",
			check: func(t *testing.T, s evidence.Scores) {
				want := 0.25*s.Citation + 0.25*s.Specificity + 0.20*s.Diversity + 0.10*s.Temporal + 0.20*s.Reasoning
				assert.InDelta(t, want, s.Overall, eps)
				assert.Equal(t, 1.0, s.Citation)
				assert.Equal(t, 1.0, s.Specificity)
				assert.Equal(t, 1.0, s.Diversity)
				assert.InDelta(t, 0.9, s.Temporal, eps)
				assert.Equal(t, 1.0, s.Reasoning)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, evidence.Score(tt.text, now2025, evidence.Weights{}))
		})
	}
}

func TestTemporal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		now  time.Time
		want float64
	}{
		{name: "no years", text: "Use Postgres with 16 cores.", now: now2025, want: 0.8},
		{name: "only old years", text: "Since 1999 and 2010 this held.", now: now2025, want: 0.3},
		{name: "this year", text: "As of 2025 it holds.", now: now2025, want: 1},
		{name: "mean of recent years", text: "Data from 2021, 2023 and 1990.", now: now2025, want: 1 - 3.0/10}, // ages 4, 2
		{name: "future years have age 0", text: "Planned for 2030.", now: now2025, want: 1},
		{name: "exactly ten years", text: "Since 2015.", now: now2025, want: 0},
		{name: "out of range numbers are not years", text: "Port 1899 and 2100 and 20245.", now: now2025, want: 0.8},
		{name: "not standalone", text: "Model v2024 and 2024x.", now: now2025, want: 0.8},
		{name: "year in UTC", text: "In 2025 it worked.", now: time.Date(2025, 12, 31, 23, 0, 0, 0, time.FixedZone("m1", -3600)), want: 0.9},
		{name: "injected clock", text: "In 2020 it worked.", now: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.InDelta(t, tt.want, evidence.Score(tt.text, tt.now, evidence.Weights{}).Temporal, eps)
		})
	}
}

func TestSentences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{name: "empty", text: "", want: nil},
		{name: "no terminator", text: "  one sentence ", want: []string{"one sentence"}},
		{name: "runs of punctuation", text: "Really?! Yes... ok.", want: []string{"Really?!", "Yes...", "ok."}},
		{name: "not followed by space", text: "Version 3.5 is out.Next", want: []string{"Version 3.5 is out.Next"}},
		{name: "newlines count as space", text: "A.\nB!\tC?", want: []string{"A.", "B!", "C?"}},
		{name: "abbreviation splits", text: "Use e.g. Postgres.", want: []string{"Use e.g.", "Postgres."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, evidence.Sentences(tt.text))
		})
	}
}

func TestAssertions(t *testing.T) {
	t.Parallel()
	text := "Short one here. This sentence is longer than twenty runes. Is this long question an assertion at all? " +
		"Exactly twenty runes" + ". Über-длинное предложение тут!"
	assert.Equal(t, []string{
		"This sentence is longer than twenty runes.",
		"Exactly twenty runes.",
		"Über-длинное предложение тут!",
	}, evidence.Assertions(text))
	assert.Empty(t, evidence.Assertions("Exactly twenty rune."), "20 runes is not longer than 20")
}

func TestWeights(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		w       evidence.Weights
		wantErr bool
	}{
		{name: "zero value means defaults", w: evidence.Weights{}},
		{name: "defaults", w: evidence.DefaultWeights()},
		{name: "all on citation", w: evidence.Weights{Citation: 1}},
		{name: "sum within epsilon", w: evidence.Weights{Citation: 0.5, Reasoning: 0.5 + 1e-10}},
		{name: "sum too small", w: evidence.Weights{Citation: 0.5, Reasoning: 0.4}, wantErr: true},
		{name: "sum too large", w: evidence.Weights{Citation: 0.6, Reasoning: 0.5}, wantErr: true},
		{name: "negative", w: evidence.Weights{Citation: 1.5, Reasoning: -0.5}, wantErr: true},
		{name: "NaN", w: evidence.Weights{Citation: math.NaN(), Reasoning: 1}, wantErr: true},
		{name: "Inf", w: evidence.Weights{Citation: math.Inf(1)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.w.Validate()
			if tt.wantErr {
				require.ErrorIs(t, err, evidence.ErrInvalidWeights)
				assert.True(t, strings.HasPrefix(err.Error(), "evidence: "))
				return
			}
			require.NoError(t, err)
		})
	}

	// Weights are honoured.
	s := evidence.Score(vague, now2025, evidence.Weights{Temporal: 1})
	assert.InDelta(t, 0.8, s.Overall, eps)
	s = evidence.Score(vague, now2025, evidence.Weights{Citation: 1})
	assert.Equal(t, 0.0, s.Overall)
}

func TestCheckHollow(t *testing.T) {
	t.Parallel()
	good := evidence.Scores{Citation: 1, Specificity: 1, Diversity: 1, Temporal: 1, Reasoning: 1, Overall: 1}
	bad := evidence.Scores{Temporal: 0.8, Overall: 0.08}
	tests := []struct {
		name       string
		scores     []evidence.Scores
		sim        float64
		minQ       float64
		wantHollow bool
		severity   float64
	}{
		{name: "no scores", sim: 1},
		{name: "one proposal", scores: []evidence.Scores{bad}, sim: 1, severity: 0.4*(1-0.08/0.65) + 0.3},
		{name: "low similarity", scores: []evidence.Scores{bad, bad}, sim: 0.149, severity: 0.4*(1-0.08/0.65) + 0.3},
		{name: "good evidence", scores: []evidence.Scores{good, good}, sim: 1, severity: 0},
		{name: "bad evidence, similar", scores: []evidence.Scores{bad, bad}, sim: 0.9, wantHollow: true, severity: 0.4*(1-0.08/0.65) + 0.3},
		{name: "bad evidence, below bar", scores: []evidence.Scores{bad, bad}, sim: 0.2, severity: 0.4*(1-0.08/0.65) + 0.3},
		{
			name:   "spread",
			scores: []evidence.Scores{{Overall: 0}, {Overall: 0}, good, good}, sim: 1,
			// a=0.5, v=0.25 (not > 0.3): low = 1-0.5/0.65; uncited 0.5, vague 0.5.
			wantHollow: true, severity: 0.4*(1-0.5/0.65) + 0.2*0.5 + 0.1*0.5,
		},
		{
			name:   "custom minQ",
			scores: []evidence.Scores{bad, bad}, sim: 1, minQ: 0.08,
			// a = minQ: low 0; bar = 0.7; uncited and vague 1: severity 0.3.
			wantHollow: true, severity: 0.3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := evidence.CheckHollow(tt.scores, tt.sim, tt.minQ)
			assert.Equal(t, tt.wantHollow, h.Hollow)
			assert.InDelta(t, tt.severity, h.Severity, eps)
			assert.Equal(t, tt.sim, h.Similarity)
		})
	}

	// Overall scores lie in [0, 1], so the population variance never exceeds
	// 0.25 and spread (v > 0.3) cannot trigger; check v for extreme scores.
	h := evidence.CheckHollow([]evidence.Scores{{Overall: 0}, good}, 1, 0)
	assert.InDelta(t, 0.25, h.Variance, eps)
}

func TestGaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    evidence.Scores
		want []string
	}{
		{name: "all weak", s: evidence.Scores{}, want: []string{"citations", "specificity", "reasoning", "evidence_diversity"}},
		{name: "none weak", s: evidence.Scores{Citation: 0.2, Specificity: 0.3, Reasoning: 0.3, Diversity: 1.0 / 3}, want: []string{}},
		{name: "just below", s: evidence.Scores{Citation: 0.19, Specificity: 0.29, Reasoning: 0.5, Diversity: 1}, want: []string{"citations", "specificity"}},
		{name: "reasoning and diversity", s: evidence.Scores{Citation: 1, Specificity: 1, Reasoning: 0.1}, want: []string{"reasoning", "evidence_diversity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, evidence.Gaps(tt.s))
		})
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b", "c", "d", "e"}
	scores := []evidence.Scores{{Overall: 0.5}, {Overall: 0.2}, {Overall: 0.9}, {Overall: 0.2}, {Overall: 0.1}}
	var got []string
	for _, tg := range evidence.Targets(names, scores, 0) {
		got = append(got, tg.Name)
	}
	assert.Equal(t, []string{"e", "b", "d"}, got, "ascending score, ties by agent order, at most 3")

	high := []evidence.Scores{{Overall: 0.9}, {Overall: 0.7}}
	tg := evidence.Targets([]string{"a", "b"}, high, 0)
	require.Len(t, tg, 1)
	assert.Equal(t, "b", tg[0].Name, "none below minQ: the single lowest")
	assert.Empty(t, evidence.Targets(nil, nil, 0))
}

func TestPenaltyAndFlagged(t *testing.T) {
	t.Parallel()
	assert.InDelta(t, 0.9, evidence.Penalty(0.9, 0), eps)
	assert.InDelta(t, 0.85, evidence.Penalty(0.9, 1), eps)
	assert.InDelta(t, 0.8, evidence.Penalty(0.9, 2), eps)
	assert.InDelta(t, 0.10, evidence.Penalty(0.3, 10), eps)
	assert.InDelta(t, 0.05, evidence.Penalty(0.05, 3), eps, "never raises")

	h := evidence.Hollow{Hollow: true, Severity: 0.5}
	assert.True(t, evidence.Flagged(h, 0.5))
	assert.False(t, evidence.Flagged(h, 0))
	assert.False(t, evidence.Flagged(evidence.Hollow{Severity: 1}, 1))
}

func TestChallenge(t *testing.T) {
	t.Parallel()
	c := evidence.Challenge(1.0, 0.08, []evidence.Target{
		{Name: "a", Gaps: []string{"citations", "specificity"}},
		{Name: "b", Gaps: nil},
	})
	assert.True(t, strings.HasPrefix(c, "QUALITY CHALLENGE: possible hollow consensus"))
	for _, want := range []string{"1.00", "0.08", "- a: weak citations, specificity", "- b: no specific gap",
		"Cite sources or data", "concrete numbers", "real example", "reasoning chain explicit",
		"Lower your confidence"} {
		assert.Contains(t, c, want)
	}
	assert.Equal(t, c, evidence.Challenge(1.0, 0.08, []evidence.Target{
		{Name: "a", Gaps: []string{"citations", "specificity"}}, {Name: "b"},
	}), "deterministic")
}

func BenchmarkScore(b *testing.B) {
	text := strings.Repeat("According to AWS, costs fell 30% in 2024, for example in eu-west, because of pricing. ", 10)
	b.ReportAllocs()
	for b.Loop() {
		evidence.Score(text, now2025, evidence.Weights{})
	}
}
