package consensus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/similarity"
)

const eps = 1e-9

// distinct are proposal texts that share no words, so they never group.
var distinct = map[string]string{
	"a": "Migrate billing to Postgres in two phases.",
	"b": "Keep MySQL and add read replicas.",
	"c": "Move everything onto DynamoDB tables.",
	"d": "Shard the current cluster by tenant.",
	"e": "Buy a managed Oracle service.",
}

// v is a vote: voter → choice with a confidence (agent weight 1).
type v struct {
	voter, choice string
	conf          float64
}

// input builds an Input for participants in agent order, each with a
// distinct proposal, and valid votes resolved like the orchestrator does.
func input(participants []string, votes ...v) consensus.Input {
	in := consensus.Input{Question: "Which database?", Round: 1, Participants: participants}
	names := make([]string, len(participants))
	for i, p := range participants {
		in.Options = append(in.Options, consensus.Option{Agent: p, Text: distinct[p]})
		names[i] = p
	}
	for _, x := range votes {
		res := consensus.ResolveChoice(x.choice, names)
		in.Votes = append(in.Votes, consensus.Vote{
			Voter: x.voter, Choice: x.choice, Resolved: res, Valid: res != "",
			Confidence: x.conf, Weight: x.conf, Reasoning: "because " + x.choice,
		})
	}
	return in
}

var abc = []string{"a", "b", "c"}

func TestMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		method      consensus.Method
		in          consensus.Input
		wantErr     error
		wantReached bool
		wantLeader  string
		wantWinner  string
		wantConf    float64
		wantSupport []string
		wantDissent []string
		wantAbstain []string
	}{
		{
			name: "majority unanimous votes", method: consensus.Majority{},
			in:          input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "a", .8}),
			wantReached: true, wantLeader: "a", wantWinner: "a", wantConf: 1,
			wantSupport: abc, wantDissent: []string{}, wantAbstain: []string{},
		},
		{
			name: "majority 2 of 3", method: consensus.Majority{},
			in:          input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "b", .8}),
			wantReached: true, wantLeader: "a", wantWinner: "a", wantConf: 2.0 / 3,
			wantSupport: []string{"a", "b"}, wantDissent: []string{"c"}, wantAbstain: []string{},
		},
		{
			name: "majority 1-1 split is not consensus, tie to agent order", method: consensus.Majority{},
			in:         input([]string{"a", "b"}, v{"a", "b", .8}, v{"b", "a", .8}),
			wantLeader: "a", wantWinner: "a", wantConf: 0.5,
			wantSupport: []string{"b"}, wantDissent: []string{"a"}, wantAbstain: []string{},
		},
		{
			name: "majority tie goes to agent order, not vote order", method: consensus.Majority{},
			in:         input(abc, v{"a", "c", .8}, v{"b", "b", .8}),
			wantLeader: "b", wantWinner: "b", wantConf: 0.5,
			wantSupport: []string{"b"}, wantDissent: []string{"a"}, wantAbstain: []string{"c"},
		},
		{
			name: "majority no votes", method: consensus.Majority{},
			in:      input(abc),
			wantErr: consensus.ErrNoVotes, wantSupport: []string{}, wantDissent: []string{}, wantAbstain: abc,
		},
		{
			name: "majority all voters failed (invalid votes)", method: consensus.Majority{},
			in:      input(abc, v{"a", "zed", .8}, v{"b", "", .8}, v{"c", "nobody", .9}),
			wantErr: consensus.ErrNoVotes, wantSupport: []string{}, wantDissent: []string{}, wantAbstain: abc,
		},
		{
			name: "majority all confidences zero", method: consensus.Majority{},
			in:          input(abc, v{"a", "a", 0}, v{"b", "a", 0}),
			wantSupport: []string{}, wantDissent: []string{"a", "b"}, wantAbstain: []string{"c"},
		},
		{
			name: "majority one agent", method: consensus.Majority{},
			in:          input([]string{"a"}, v{"a", "a", .4}),
			wantReached: true, wantLeader: "a", wantWinner: "a", wantConf: 1,
			wantSupport: []string{"a"}, wantDissent: []string{}, wantAbstain: []string{},
		},
		{
			name: "majority weights decide, not heads", method: consensus.Majority{},
			in:          input(abc, v{"a", "a", .3}, v{"b", "a", .3}, v{"c", "b", .9}),
			wantReached: true, wantLeader: "b", wantWinner: "b", wantConf: 0.6,
			wantSupport: []string{"c"}, wantDissent: []string{"a", "b"}, wantAbstain: []string{},
		},
		{
			name: "supermajority exact 2 of 3 passes", method: consensus.Supermajority{},
			in:          input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "b", .8}),
			wantReached: true, wantLeader: "a", wantWinner: "a", wantConf: 2.0 / 3,
			wantSupport: []string{"a", "b"}, wantDissent: []string{"c"}, wantAbstain: []string{},
		},
		{
			name: "supermajority just below 2/3 fails", method: consensus.Supermajority{},
			in:         input(abc, v{"a", "a", .8}, v{"b", "a", .79}, v{"c", "b", .8}),
			wantLeader: "a", wantWinner: "a", wantConf: 1.59 / 2.39,
			wantSupport: []string{"a", "b"}, wantDissent: []string{"c"}, wantAbstain: []string{},
		},
		{
			name: "supermajority custom threshold", method: consensus.Supermajority{Threshold: 0.9},
			in:         input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "b", .8}),
			wantLeader: "a", wantWinner: "a", wantConf: 2.0 / 3,
			wantSupport: []string{"a", "b"}, wantDissent: []string{"c"}, wantAbstain: []string{},
		},
		{
			name: "unanimous reached", method: consensus.Unanimous{},
			in:          input(abc, v{"a", "b", .8}, v{"b", "b", .8}, v{"c", "b", .5}),
			wantReached: true, wantLeader: "b", wantWinner: "b", wantConf: 1,
			wantSupport: abc, wantDissent: []string{}, wantAbstain: []string{},
		},
		{
			name: "unanimous with an abstainer is not reached", method: consensus.Unanimous{},
			in:         input(abc, v{"a", "a", .8}, v{"b", "a", .8}),
			wantLeader: "a", wantWinner: "a", wantConf: 1,
			wantSupport: []string{"a", "b"}, wantDissent: []string{}, wantAbstain: []string{"c"},
		},
		{
			name: "unanimous with a zero-confidence dissenter is not reached", method: consensus.Unanimous{},
			in:         input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "b", 0}),
			wantLeader: "a", wantWinner: "a", wantConf: 1,
			wantSupport: []string{"a", "b"}, wantDissent: []string{"c"}, wantAbstain: []string{},
		},
		{
			name: "weighted default 0.6", method: consensus.Weighted{},
			in:          input(abc, v{"a", "a", .9}, v{"b", "a", .3}, v{"c", "b", .8}),
			wantReached: true, wantLeader: "a", wantWinner: "a", wantConf: 0.6,
			wantSupport: []string{"a", "b"}, wantDissent: []string{"c"}, wantAbstain: []string{},
		},
		{
			name: "weighted below threshold", method: consensus.Weighted{Threshold: 0.7},
			in:         input(abc, v{"a", "a", .9}, v{"b", "a", .3}, v{"c", "b", .8}),
			wantLeader: "a", wantWinner: "a", wantConf: 0.6,
			wantSupport: []string{"a", "b"}, wantDissent: []string{"c"}, wantAbstain: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.method.Decide(context.Background(), tt.in)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, tt.method.Name(), got.Method)
			assert.Equal(t, tt.wantReached, got.Reached)
			assert.Equal(t, tt.wantLeader, got.Leader)
			assert.Equal(t, tt.wantWinner, got.Winner)
			assert.InDelta(t, tt.wantConf, got.Confidence, eps)
			assert.InDelta(t, tt.wantConf, got.LeaderShare, eps)
			assert.Equal(t, tt.wantSupport, got.Supporting)
			assert.Equal(t, tt.wantDissent, got.Dissenting)
			assert.Equal(t, tt.wantAbstain, got.Abstaining)
			require.NotNil(t, got.Threshold)
		})
	}
}

func TestThresholds(t *testing.T) {
	t.Parallel()
	in := input(abc, v{"a", "a", .8})
	tests := []struct {
		m    consensus.Method
		want float64
	}{
		{consensus.Majority{}, 0.5},
		{consensus.Supermajority{}, 2.0 / 3},
		{consensus.Supermajority{Threshold: 0.75}, 0.75},
		{consensus.Unanimous{}, 1},
		{consensus.Weighted{}, 0.6},
		{consensus.Weighted{Threshold: 0.7}, 0.7},
	}
	for _, tt := range tests {
		r, err := tt.m.Decide(context.Background(), in)
		require.NoError(t, err)
		require.NotNil(t, r.Threshold, tt.m.Name())
		assert.Equal(t, tt.want, *r.Threshold, tt.m.Name())
	}
}

func TestDissents(t *testing.T) {
	t.Parallel()
	in := input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "The b proposal", .7})
	in.Votes[2].Reasoning = ""
	r, err := consensus.Majority{}.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, []consensus.Dissent{{Agent: "c", Choice: "b", Confidence: .7, Reasons: []string{"(no reason given)"}}}, r.Dissents)

	in.Votes[2].Reasoning = "cheaper"
	r, err = consensus.Majority{}.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, []string{"cheaper"}, r.Dissents[0].Reasons)
}

func TestVoteFiltering(t *testing.T) {
	t.Parallel()
	in := input(abc, v{"a", "b", .8})
	in.Votes = append(in.Votes,
		consensus.Vote{Voter: "a", Choice: "c", Resolved: "c", Valid: true, Confidence: 1, Weight: 1}, // second vote of a: ignored
		consensus.Vote{Voter: "b", Choice: "ghost", Resolved: "ghost", Valid: true, Weight: 1},        // no such option
		consensus.Vote{Voter: "zed", Choice: "c", Resolved: "c", Valid: true, Weight: 1},              // not a participant
		consensus.Vote{Voter: "c", Choice: "C", Valid: true, Confidence: .5, Weight: .5},              // resolved here
	)
	r, err := consensus.Majority{}.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, r.Supporting)
	assert.Equal(t, []string{"c"}, r.Dissenting)
	assert.Equal(t, []string{"b"}, r.Abstaining)
	assert.InDelta(t, .8/1.3, r.LeaderShare, eps)

	// Without participants, the voters in vote order are the agent order.
	in.Participants = nil
	r, err = consensus.Majority{}.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, []string{"zed", "c"}, r.Supporting, "zed now counts: c leads 1.5 to 0.8")
	assert.Equal(t, []string{"a"}, r.Dissenting)
	assert.Equal(t, []string{"b"}, r.Abstaining)
}

func TestGrouping(t *testing.T) {
	t.Parallel()
	same := "Use Postgres for billing with a phased migration."
	in := input(abc, v{"a", "c", .8}, v{"b", "b", .8}, v{"c", "c", .5})
	in.Options[0].Text = same
	in.Options[1].Text = same
	t.Run("identical texts grouped", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, [][]string{{"a", "b"}, {"c"}}, consensus.GroupOptions(in))
		groups, leader, winner, share := consensus.Tally(in)
		assert.Equal(t, []consensus.Group{{Canonical: "a", Members: []string{"a", "b"}, Weight: .8}, {Canonical: "c", Members: []string{"c"}, Weight: 1.3}}, groups)
		assert.Equal(t, "c", leader)
		assert.Equal(t, "c", winner)
		assert.InDelta(t, 1.3/2.1, share, eps)
	})
	t.Run("group wins over a larger single option", func(t *testing.T) {
		t.Parallel()
		in := input(abc, v{"a", "a", .8}, v{"b", "b", .8}, v{"c", "c", .9})
		in.Options[0].Text, in.Options[1].Text = same, same
		r, err := consensus.Majority{}.Decide(context.Background(), in)
		require.NoError(t, err)
		assert.True(t, r.Reached)
		assert.Equal(t, "a", r.Leader)
		assert.Equal(t, "a", r.Winner, "equal direct weight: agent order")
		assert.Equal(t, []string{"a", "b"}, r.Supporting)
		assert.InDelta(t, 1.6/2.5, r.Confidence, eps)
	})
	t.Run("winner is the member with most direct weight", func(t *testing.T) {
		t.Parallel()
		in := input(abc, v{"a", "b", .8}, v{"b", "b", .8}, v{"c", "a", .9})
		in.Options[0].Text, in.Options[1].Text = same, same
		r, err := consensus.Majority{}.Decide(context.Background(), in)
		require.NoError(t, err)
		assert.Equal(t, "a", r.Leader)
		assert.Equal(t, "b", r.Winner)
		assert.Equal(t, abc, r.Supporting)
	})
	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		in := in
		in.DisableGrouping = true
		assert.Equal(t, [][]string{{"a"}, {"b"}, {"c"}}, consensus.GroupOptions(in))
	})
	t.Run("greedy, not transitive", func(t *testing.T) {
		t.Parallel()
		// x~y and y~z but not x~z: y joins x, z stays alone.
		in := consensus.Input{
			Options: []consensus.Option{{Agent: "x", Text: "1 2 3 4 5 6"}, {Agent: "y", Text: "3 4 5 6 7 8"}, {Agent: "z", Text: "5 6 7 8 9 10"}},
			// jaccard of 3-shingles: x/y share {3 4 5, 4 5 6} of 6 → 1/3; y/z 1/3; x/z 0.
			Similarity: similarity.Jaccard{}, GroupingThreshold: 0.3,
		}
		assert.Equal(t, [][]string{{"x", "y"}, {"z"}}, consensus.GroupOptions(in))
		in.GroupingThreshold = 0.5
		assert.Equal(t, [][]string{{"x"}, {"y"}, {"z"}}, consensus.GroupOptions(in))
	})
	t.Run("default threshold 0.85", func(t *testing.T) {
		t.Parallel()
		in := consensus.Input{Options: []consensus.Option{{Agent: "x", Text: "a b c d e f g h"}, {Agent: "y", Text: "a b c d e f g h i"}}, Similarity: similarity.Jaccard{}}
		// 6 shared of 7 shingles: 0.857 ≥ 0.85
		assert.Equal(t, [][]string{{"x", "y"}}, consensus.GroupOptions(in))
		in.Options[1].Text = "a b c d e f g h i j"
		// 6 of 8: 0.75
		assert.Equal(t, [][]string{{"x"}, {"y"}}, consensus.GroupOptions(in))
	})
	t.Run("malformed custom backend does not group", func(t *testing.T) {
		t.Parallel()
		in := in
		in.Similarity = badSim{}
		assert.Equal(t, [][]string{{"a"}, {"b"}, {"c"}}, consensus.GroupOptions(in))
	})
}

type badSim struct{}

func (badSim) Name() string                { return "bad" }
func (badSim) Matrix([]string) [][]float64 { return [][]float64{{1}} }

func TestJudge(t *testing.T) {
	t.Parallel()
	votes := []v{{"a", "a", .8}, {"b", "b", .8}, {"c", "b", .8}}
	tests := []struct {
		name        string
		j           *agent.Judgement
		final       bool
		wantErr     error
		wantWinner  string
		wantConf    float64
		wantAnswer  string
		wantSupport []string
	}{
		{name: "decided", j: &agent.Judgement{Decided: true, Choice: "a", Confidence: 0.9, Answer: "Postgres, phased."},
			wantWinner: "a", wantConf: 0.9, wantAnswer: "Postgres, phased.", wantSupport: []string{"a"}},
		{name: "choice resolved loosely", j: &agent.Judgement{Decided: true, Choice: "I pick the B proposal", Confidence: 1.7},
			wantWinner: "b", wantConf: 1, wantSupport: []string{"b", "c"}},
		{name: "blank answer ignored", j: &agent.Judgement{Decided: true, Choice: "c", Confidence: .6, Answer: "  "},
			wantWinner: "c", wantConf: .6, wantSupport: []string{}},
		{name: "undecided final round counts", j: &agent.Judgement{Choice: "a", Confidence: .5}, final: true,
			wantWinner: "a", wantConf: .5, wantSupport: []string{"a"}},
		{name: "undecided non-final fails", j: &agent.Judgement{Choice: "a", Confidence: .5}, wantErr: consensus.ErrJudgeFailed},
		{name: "nil judgement fails", wantErr: consensus.ErrJudgeFailed},
		{name: "unresolvable choice fails", j: &agent.Judgement{Decided: true, Choice: "nobody"}, wantErr: consensus.ErrJudgeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := input(abc, votes...)
			in.Judgement, in.Final = tt.j, tt.final
			r, err := consensus.Judge{}.Decide(context.Background(), in)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, "judge", r.Method.String())
			assert.Nil(t, r.Threshold)
			if tt.wantErr != nil {
				assert.False(t, r.Reached)
				assert.Empty(t, r.Winner)
				return
			}
			assert.True(t, r.Reached)
			assert.Equal(t, tt.wantWinner, r.Winner)
			assert.Equal(t, tt.wantWinner, r.Leader)
			assert.InDelta(t, tt.wantConf, r.Confidence, eps)
			assert.Equal(t, tt.wantAnswer, r.Answer)
			assert.Equal(t, tt.wantSupport, r.Supporting)
		})
	}

	t.Run("no votes still decided", func(t *testing.T) {
		t.Parallel()
		in := input(abc)
		in.Judgement = &agent.Judgement{Decided: true, Choice: "b", Confidence: .7}
		r, err := consensus.Judge{}.Decide(context.Background(), in)
		require.NoError(t, err)
		assert.True(t, r.Reached)
		assert.Equal(t, "b", r.Winner)
		assert.Equal(t, 0.0, r.LeaderShare)
		assert.Equal(t, abc, r.Abstaining)
	})
	t.Run("supporting is the chosen group", func(t *testing.T) {
		t.Parallel()
		in := input(abc, votes...)
		in.Options[0].Text = distinct["b"] // a and b grouped
		in.Judgement = &agent.Judgement{Decided: true, Choice: "b", Confidence: .7}
		r, err := consensus.Judge{}.Decide(context.Background(), in)
		require.NoError(t, err)
		assert.Equal(t, "a", r.Leader, "canonical of the chosen group")
		assert.Equal(t, "b", r.Winner)
		assert.Equal(t, abc, r.Supporting)
		assert.InDelta(t, 1.0, r.LeaderShare, eps)
	})
}

func TestNone(t *testing.T) {
	t.Parallel()
	m := consensus.None{}
	assert.False(t, m.NeedsVotes())
	r, err := m.Decide(context.Background(), input(abc, v{"a", "a", 1}))
	require.NoError(t, err)
	assert.Equal(t, consensus.Result{Method: "none"}, r)
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range []consensus.Method{consensus.Majority{}, consensus.Judge{}, consensus.None{}} {
		_, err := m.Decide(ctx, input(abc, v{"a", "a", 1}))
		require.ErrorIs(t, err, context.Canceled, m.Name())
	}
}

func TestByName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		threshold float64
		want      consensus.Method
		wantErr   bool
	}{
		{name: "", want: consensus.Majority{}},
		{name: "majority", want: consensus.Majority{}},
		{name: " Supermajority ", want: consensus.Supermajority{}},
		{name: "supermajority", threshold: 0.75, want: consensus.Supermajority{Threshold: 0.75}},
		{name: "unanimous", want: consensus.Unanimous{}},
		{name: "weighted", threshold: 1, want: consensus.Weighted{Threshold: 1}},
		{name: "judge", want: consensus.Judge{}},
		{name: "none", want: consensus.None{}},
		{name: "plurality", wantErr: true},
		{name: "weighted", threshold: 1.5, wantErr: true},
		{name: "weighted", threshold: -0.1, wantErr: true},
		{name: "majority", threshold: 2, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.name, tt.threshold), func(t *testing.T) {
			t.Parallel()
			m, err := consensus.ByName(tt.name, tt.threshold)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "consensus: ")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, m)
		})
	}
	assert.True(t, consensus.NeedsJudge(consensus.Judge{}))
	assert.False(t, consensus.NeedsJudge(consensus.Majority{}))
	assert.False(t, consensus.NeedsJudge(consensus.None{}))
}

func TestResolveChoice(t *testing.T) {
	t.Parallel()
	names := []string{"analyst", "Ana", "bob", "bobby", "gpt-4o", "claude"}
	tests := []struct {
		choice string
		want   string
	}{
		{"bob", "bob"},
		{"  claude ", "claude"},
		{"ANALYST", "analyst"},
		{"ana", "Ana"},
		{"The analyst proposal", "analyst"},
		{"I back bob, not bobby", "bob"},
		{"bobby or bob", "bobby"},
		{"gpt-4o's plan", "gpt-4o"},
		{"gpt-4", "gpt-4o"}, // a prefix of exactly one name
		{"cla", "claude"},
		{"an", ""}, // prefix of analyst and Ana
		{"bo", ""}, // prefix of bob and bobby
		{"nobody", ""},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.choice, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, consensus.ResolveChoice(tt.choice, names))
		})
	}
}

func TestResultJSON(t *testing.T) {
	t.Parallel()
	r, err := consensus.Majority{}.Decide(context.Background(), input(abc, v{"a", "a", .8}, v{"b", "a", .8}, v{"c", "b", .8}))
	require.NoError(t, err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"method", "reached", "leader", "winner", "leader_share", "confidence", "threshold", "tally",
		"supporting", "dissenting", "abstaining", "dissents", "answer", "usage"} {
		assert.Contains(t, m, k)
	}
	assert.Equal(t, []any{}, m["abstaining"])
	assert.Equal(t, map[string]any{"canonical": "a", "members": []any{"a"}, "weight": 1.6}, m["tally"].([]any)[0])
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	in := input([]string{"a", "b", "c", "d", "e"}, v{"a", "b", .7}, v{"b", "a", .7}, v{"c", "d", .9}, v{"d", "e", .3}, v{"e", "c", .5})
	first, err := consensus.Weighted{}.Decide(context.Background(), in)
	require.NoError(t, err)
	for range 10 {
		again, err := consensus.Weighted{}.Decide(context.Background(), in)
		require.NoError(t, err)
		assert.Equal(t, first, again)
	}
}

func BenchmarkDecide(b *testing.B) {
	in := input([]string{"a", "b", "c", "d", "e"}, v{"a", "b", .7}, v{"b", "a", .7}, v{"c", "a", .9}, v{"d", "e", .3}, v{"e", "a", .5})
	for i := range in.Options {
		in.Options[i].Text = fmt.Sprintf("%s %s", in.Options[i].Text, longText(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = consensus.Majority{}.Decide(context.Background(), in)
	}
}

func longText(seed int) string {
	words := []string{"cost", "latency", "risk", "rollback", "schema", "replica", "backup", "traffic", "team", "plan"}
	out := make([]byte, 0, 2000)
	for i := range 200 {
		out = append(out, words[(i*(seed+3)+seed)%len(words)]...)
		out = append(out, ' ')
	}
	return string(out)
}

func TestThresholdOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    consensus.Method
		want *float64
	}{
		{consensus.Majority{}, ptr(0.5)},
		{consensus.Unanimous{}, ptr(1)},
		{consensus.Supermajority{}, ptr(2.0 / 3)},
		{consensus.Supermajority{Threshold: 0.75}, ptr(0.75)},
		{consensus.Weighted{}, ptr(0.6)},
		{&consensus.Weighted{Threshold: 0.7}, ptr(0.7)},
		{consensus.Judge{}, nil},
		{consensus.None{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.m.Name().String(), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, consensus.ThresholdOf(tt.m))
		})
	}
}

func ptr(f float64) *float64 { return &f }

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, m := range []consensus.Method{consensus.Majority{}, consensus.Unanimous{}, consensus.Judge{}, consensus.None{},
		consensus.Supermajority{}, consensus.Weighted{}, consensus.Supermajority{Threshold: 1}, consensus.Weighted{Threshold: 2.0 / 3},
		&consensus.Weighted{Threshold: 0.7}} {
		assert.NoError(t, consensus.Validate(m), "%#v", m)
	}
	for _, th := range []float64{-0.1, 1.0000001, 1.5, math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, m := range []consensus.Method{consensus.Supermajority{Threshold: th}, consensus.Weighted{Threshold: th},
			&consensus.Supermajority{Threshold: th}, &consensus.Weighted{Threshold: th}} {
			err := consensus.Validate(m)
			require.Error(t, err, "%#v", m)
			assert.Contains(t, err.Error(), "Threshold")
		}
		_, err := consensus.ByName("weighted", th)
		assert.Error(t, err, "ByName refuses %v too", th)
	}
	assert.Error(t, consensus.Validate(nil))
	assert.Error(t, consensus.Validate((*consensus.Supermajority)(nil)))
}
