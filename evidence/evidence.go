// Package evidence scores the evidence quality of a text and detects hollow
// consensus: agents agreeing on claims that none of them supports
// (docs/debate.md#evidence-and-the-trickster).
//
// [Score] rates one text on five components in [0, 1] (citations,
// specificity, diversity of evidence kinds, temporal relevance, explicit
// reasoning) and combines them with [Weights]. [CheckHollow] applies the
// hollow-consensus rule of docs/debate.md#evidence-and-the-trickster to the scores of one round's
// proposals, [Gaps] names a text's weak components and [Challenge] writes
// the trickster's challenge text (docs/debate.md#evidence-and-the-trickster).
//
// Everything here is a pure function of its arguments: the clock is passed
// in, and no state is kept. This package imports only the standard library.
package evidence

import (
	"errors"
	"fmt"
	"math"
)

// eps is the tolerance of every float comparison (docs/debate.md#conventions).
const eps = 1e-9

// DefaultMinQuality is the quality bar of the hollow check (minQ, docs/debate.md#evidence-and-the-trickster).
const DefaultMinQuality = 0.65

// Gap names reported by [Gaps], in their fixed order.
const (
	GapCitations         = "citations"
	GapSpecificity       = "specificity"
	GapReasoning         = "reasoning"
	GapEvidenceDiversity = "evidence_diversity"
)

// ErrInvalidWeights reports weights that are negative or do not sum to 1.
var ErrInvalidWeights = errors.New("evidence: invalid weights")

// Scores is the evidence quality of one text. Every component is in [0, 1].
type Scores struct {
	Citation    float64 `json:"citation"`
	Specificity float64 `json:"specificity"`
	Diversity   float64 `json:"diversity"`
	Temporal    float64 `json:"temporal"`
	Reasoning   float64 `json:"reasoning"`
	Overall     float64 `json:"overall"`
}

// Weights combines the components into Scores.Overall. The zero value means
// the defaults 0.25 citation, 0.25 specificity, 0.20 diversity, 0.10
// temporal and 0.20 reasoning. Any other value must pass Validate.
type Weights struct {
	Citation    float64 `json:"citation"`
	Specificity float64 `json:"specificity"`
	Diversity   float64 `json:"diversity"`
	Temporal    float64 `json:"temporal"`
	Reasoning   float64 `json:"reasoning"`
}

// DefaultWeights returns the weights that the zero Weights stands for.
func DefaultWeights() Weights {
	return Weights{Citation: 0.25, Specificity: 0.25, Diversity: 0.20, Temporal: 0.10, Reasoning: 0.20}
}

func (w Weights) withDefaults() Weights {
	if w == (Weights{}) {
		return DefaultWeights()
	}
	return w
}

// Validate reports an error wrapping ErrInvalidWeights unless every weight
// is finite and ≥ 0 and they sum to 1 within 1e-9. The zero value is valid
// (it means the defaults).
func (w Weights) Validate() error {
	if w == (Weights{}) {
		return nil
	}
	fields := []struct {
		name string
		v    float64
	}{
		{"citation", w.Citation}, {"specificity", w.Specificity}, {"diversity", w.Diversity},
		{"temporal", w.Temporal}, {"reasoning", w.Reasoning},
	}
	var sum float64
	for _, f := range fields {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("%w: %s weight %v must be finite and >= 0", ErrInvalidWeights, f.name, f.v)
		}
		sum += f.v
	}
	if math.Abs(sum-1) > eps {
		return fmt.Errorf("%w: weights sum to %v, want 1", ErrInvalidWeights, sum)
	}
	return nil
}

// overall returns the weighted sum of s's components under w (already
// defaulted), clamped to [0, 1].
func (w Weights) overall(s Scores) float64 {
	return clamp01(w.Citation*s.Citation + w.Specificity*s.Specificity + w.Diversity*s.Diversity +
		w.Temporal*s.Temporal + w.Reasoning*s.Reasoning)
}

// Hollow is the outcome of the hollow-consensus check of one round.
// Severity, Bar, Average and Variance are computed whenever there is at
// least one score, even when the check is not hollow.
type Hollow struct {
	Hollow     bool    `json:"hollow"`
	Severity   float64 `json:"severity"`
	Bar        float64 `json:"bar"`
	Average    float64 `json:"average"`
	Variance   float64 `json:"variance"`
	Similarity float64 `json:"similarity"`
}

// CheckHollow applies docs/debate.md#evidence-and-the-trickster to the scores of a round's fresh
// proposals (agent order), where similarity is the round's mean cross-agent
// similarity and minQuality the quality bar (≤ 0 or NaN means 0.65).
//
//  1. Fewer than 2 scores, or similarity < 0.15: not hollow.
//  2. From the Overall scores: average a and population variance v;
//     low = a < minQ ? 1 − a/minQ : 0; spread = v > 0.3 ? min(1, v/0.3) : 0;
//     uncited = fraction with Citation < 0.2; vague = fraction with
//     Specificity < 0.3.
//  3. severity = min(1, 0.4·low + 0.3·spread + 0.2·uncited + 0.1·vague);
//     bar = 0.15 + 0.55·min(1, a/minQ).
//  4. hollow ⇔ severity > 0.1 ∧ similarity > bar.
func CheckHollow(scores []Scores, similarity, minQuality float64) Hollow {
	if !(minQuality > 0) {
		minQuality = DefaultMinQuality
	}
	h := Hollow{Similarity: similarity}
	n := len(scores)
	if n == 0 {
		return h
	}
	var sum float64
	for _, s := range scores {
		sum += s.Overall
	}
	a := sum / float64(n)
	var sq float64
	for _, s := range scores {
		d := s.Overall - a
		sq += d * d
	}
	v := sq / float64(n)
	var low, spread, uncited, vague float64
	if a < minQuality-eps {
		low = 1 - a/minQuality
	}
	if v > 0.3+eps {
		spread = math.Min(1, v/0.3)
	}
	for _, s := range scores {
		if s.Citation < 0.2-eps {
			uncited++
		}
		if s.Specificity < 0.3-eps {
			vague++
		}
	}
	uncited /= float64(n)
	vague /= float64(n)
	h.Average, h.Variance = a, v
	h.Severity = math.Min(1, 0.4*low+0.3*spread+0.2*uncited+0.1*vague)
	h.Bar = 0.15 + 0.55*math.Min(1, a/minQuality)
	if n < 2 || similarity < 0.15-eps {
		return h
	}
	h.Hollow = h.Severity > 0.1+eps && similarity > h.Bar+eps
	return h
}

// Flagged reports whether a hollow check flags its round for the trickster
// (docs/debate.md#evidence-and-the-trickster): h.Hollow and h.Severity ≥ 0.8 − 0.6·sensitivity.
func Flagged(h Hollow, sensitivity float64) bool {
	return h.Hollow && h.Severity >= 0.8-0.6*sensitivity-eps
}

// Penalty applies the trickster penalty of docs/debate.md#evidence-and-the-trickster to a raw
// confidence after k interventions: max(min(raw, 0.10), raw − 0.05·k) for
// k > 0, raw otherwise. It never raises a confidence.
func Penalty(raw float64, k int) float64 {
	if k <= 0 {
		return raw
	}
	return math.Min(raw, math.Max(math.Min(raw, 0.10), raw-0.05*float64(k)))
}

// Gaps lists the weak components of s, as a subset of, in this order:
// "citations" (Citation < 0.2), "specificity" (Specificity < 0.3),
// "reasoning" (Reasoning < 0.3) and "evidence_diversity" (Diversity = 0).
// It returns an empty, non-nil slice when nothing is weak.
func Gaps(s Scores) []string {
	gaps := []string{}
	if s.Citation < 0.2-eps {
		gaps = append(gaps, GapCitations)
	}
	if s.Specificity < 0.3-eps {
		gaps = append(gaps, GapSpecificity)
	}
	if s.Reasoning < 0.3-eps {
		gaps = append(gaps, GapReasoning)
	}
	if s.Diversity < eps {
		gaps = append(gaps, GapEvidenceDiversity)
	}
	return gaps
}

// Target is an agent challenged by the trickster, with its gaps.
type Target struct {
	Name string   `json:"name"`
	Gaps []string `json:"gaps"`
}

// Targets picks the trickster's targets (docs/debate.md#evidence-and-the-trickster): the agents whose
// Overall is below minQuality (≤ 0 means 0.65), ascending by score and then
// by agent order, at most 3; if none qualifies, the single lowest. names and
// scores are parallel, in agent order; extra entries of the longer are
// ignored. Each target carries Gaps of its scores.
func Targets(names []string, scores []Scores, minQuality float64) []Target {
	if !(minQuality > 0) {
		minQuality = DefaultMinQuality
	}
	n := min(len(names), len(scores))
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	// Stable insertion sort by score: ties keep agent order.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && scores[idx[j]].Overall < scores[idx[j-1]].Overall-eps; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	var out []Target
	for _, i := range idx {
		if len(out) == 3 {
			break
		}
		if scores[i].Overall < minQuality-eps {
			out = append(out, Target{Name: names[i], Gaps: Gaps(scores[i])})
		}
	}
	if len(out) == 0 && n > 0 {
		i := idx[0]
		out = append(out, Target{Name: names[i], Gaps: Gaps(scores[i])})
	}
	return out
}

func clamp01(v float64) float64 {
	switch {
	case math.IsNaN(v) || v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}
