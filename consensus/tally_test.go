package consensus

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/similarity"
)

// matrixSim is a similarity backend of fixed scores by text pair (texts
// are digits), 0 otherwise; a short matrix when short is set.
type matrixSim struct {
	scores map[[2]string]float64
	short  bool
}

func (matrixSim) Name() string { return "matrix" }

func (s matrixSim) Matrix(texts []string) [][]float64 {
	n := len(texts)
	if s.short {
		n--
	}
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, len(texts))
		for j := range texts {
			m[i][j] = s.scores[[2]string{texts[i], texts[j]}]
		}
	}
	if n > 1 && s.short {
		m[1] = m[1][:1] // a malformed row
	}
	return m
}

// randomInput is an Input of rng's making, with the awkward cases of
// the tally: empty and repeated agents and voters, voters who do not
// take part, unresolved and unresolvable choices, weights that are not
// finite, empty reasonings, and options grouped by their texts.
func randomInput(rng *rand.Rand) Input {
	pool := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", ""}
	pick := func() string { return pool[rng.IntN(len(pool))] }
	in := Input{Round: 1 + rng.IntN(3), Final: rng.IntN(2) == 0}
	np := rng.IntN(12)
	if rng.IntN(4) == 0 {
		np = 0
	}
	for range np {
		in.Participants = append(in.Participants, pick())
	}
	for range rng.IntN(12) {
		in.Options = append(in.Options, Option{Agent: pick(), Text: fmt.Sprint(rng.IntN(4))})
	}
	choices := append(pool, "A", "agent b", "zz", "  c  ")
	for range rng.IntN(14) {
		v := Vote{Voter: pick(), Choice: choices[rng.IntN(len(choices))], Valid: rng.IntN(5) > 0,
			Confidence: float64(rng.IntN(11)) / 10, Reasoning: []string{"", "because", "no"}[rng.IntN(3)]}
		switch rng.IntN(4) {
		case 0:
			v.Resolved = ResolveChoice(v.Choice, pool)
		case 1:
			v.Resolved = pick()
		}
		v.Weight = []float64{0, 0.5, 1, 0.8, 1.2, -1, math.NaN(), math.Inf(1)}[rng.IntN(8)]
		in.Votes = append(in.Votes, v)
	}
	scores := map[[2]string]float64{}
	for i := range 4 {
		for j := range 4 {
			scores[[2]string{fmt.Sprint(i), fmt.Sprint(j)}] = float64(rng.IntN(11)) / 10
		}
	}
	switch rng.IntN(5) {
	case 0:
		in.Similarity = matrixSim{scores: scores}
	case 1:
		in.Similarity = matrixSim{scores: scores, short: true}
	case 2:
		in.Similarity = similarity.Jaccard{}
	case 3:
		in.DisableGrouping = true
	}
	in.GroupingThreshold = []float64{0, 0.3, 0.85, 1}[rng.IntN(4)]
	if rng.IntN(3) > 0 {
		in.Judgement = &agent.Judgement{Decided: rng.IntN(2) == 0, Choice: choices[rng.IntN(len(choices))],
			Confidence: float64(rng.IntN(13))/10 - 0.1, Answer: []string{"", " ", "answer"}[rng.IntN(3)]}
	}
	return in
}

// checkTally compares every method, Tally and GroupOptions on in with the
// tally as it was (tally_ref_test.go).
func checkTally(t *testing.T, in Input) {
	t.Helper()
	methods := []Method{Majority{}, Supermajority{}, Supermajority{Threshold: 0.5}, Unanimous{},
		Weighted{}, Weighted{Threshold: 0.9}, Judge{}}
	for _, m := range methods {
		got, gerr := m.Decide(context.Background(), in)
		want, werr := refDecide(context.Background(), m, in)
		if gerr != werr || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s on %+v:\n got %+v, %v\nwant %+v, %v", m.Name(), in, got, gerr, want, werr)
		}
	}
	g, l, w, s := Tally(in)
	rg, rl, rw, rs := refTallyFn(in)
	if !reflect.DeepEqual(g, rg) || l != rl || w != rw || s != rs {
		t.Fatalf("Tally on %+v:\n got %+v %q %q %v\nwant %+v %q %q %v", in, g, l, w, s, rg, rl, rw, rs)
	}
	if got, want := GroupOptions(in), refGroupOptions(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("GroupOptions on %+v: got %v, want %v", in, got, want)
	}
}

// TestTallyMatchesReference checks the tally against the tally as it
// was, on random inputs.
func TestTallyMatchesReference(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20000) {
		checkTally(t, randomInput(rand.New(rand.NewPCG(seed, 7))))
	}
}

func FuzzTallyMatchesReference(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		checkTally(t, randomInput(rand.New(rand.NewPCG(a, b))))
	})
}

// TestTallyLarge checks a tally of more options and participants than its
// stack arrays hold.
func TestTallyLarge(t *testing.T) {
	t.Parallel()
	var in Input
	for i := range 3 * small {
		name := fmt.Sprintf("agent%02d", i)
		in.Participants = append(in.Participants, name)
		in.Options = append(in.Options, Option{Agent: name, Text: fmt.Sprint(i % 5)})
		in.Votes = append(in.Votes, Vote{Voter: name, Choice: fmt.Sprintf("agent%02d", (i*7)%(2*small)), Valid: i%9 != 0,
			Confidence: 0.5, Weight: float64(i%4) / 3, Reasoning: "r"})
	}
	in.Similarity = similarity.Jaccard{}
	checkTally(t, in)
	in.Participants = nil
	checkTally(t, in)
}

// TestResultIndependent checks that a caller appending to one list of a
// Result does not change another.
func TestResultIndependent(t *testing.T) {
	t.Parallel()
	in := Input{Participants: []string{"a", "b", "c"}, Options: []Option{{"a", "x"}, {"b", "y"}, {"c", "z"}},
		Votes: []Vote{{Voter: "a", Resolved: "b", Valid: true, Weight: 1}, {Voter: "b", Resolved: "b", Valid: true, Weight: 1}}}
	r, err := Majority{}.Decide(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := refDecide(context.Background(), Majority{}, in)
	for _, g := range r.Tally {
		_ = append(g.Members, "!")
	}
	_ = append(r.Supporting, "!")
	_ = append(r.Dissenting, "!")
	_ = append(r.Abstaining, "!")
	for _, d := range r.Dissents {
		_ = append(d.Reasons, "!")
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v, want %+v", r, want)
	}
}

// TestDecideAllocs pins the allocations of a majority decision of five
// options without grouping: the result's strings, its groups, its
// dissents and its threshold.
func TestDecideAllocs(t *testing.T) {
	var in Input
	for i := range 5 {
		name := fmt.Sprint("agent", i)
		in.Participants = append(in.Participants, name)
		in.Options = append(in.Options, Option{Agent: name, Text: name})
		in.Votes = append(in.Votes, Vote{Voter: name, Resolved: fmt.Sprint("agent", i%2), Valid: true, Weight: 1, Reasoning: "r"})
	}
	in.DisableGrouping = true
	if n := testing.AllocsPerRun(100, func() { _, _ = Majority{}.Decide(context.Background(), in) }); n > 4 {
		t.Fatalf("%v allocations, want at most 4", n)
	}
}
