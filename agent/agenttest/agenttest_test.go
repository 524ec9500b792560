package agenttest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/agent/internal/replytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var allPhases = []agent.Phase{agent.PhasePropose, agent.PhaseRevise, agent.PhaseCritique,
	agent.PhaseVote, agent.PhaseJudge, agent.PhaseSynthesize}

// proposals are the proposals of agents a, b and c.
var proposals = []agent.Proposal{{Agent: "a", Text: "Use Postgres."}, {Agent: "b", Text: "Use SQLite."}, {Agent: "c", Text: "Use files."}}

func req(name string, phase agent.Phase, round int) agent.Request {
	return agent.Request{Participant: name, Phase: phase, Round: round, Rounds: 3, Question: "Which database?",
		Proposals: proposals, Target: "b"}
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestSay(t *testing.T) {
	t.Parallel()
	a := agenttest.Say("I back ada.")
	for _, p := range allPhases {
		t.Run(string(p), func(t *testing.T) {
			resp, err := a.Respond(t.Context(), req("a", p, 1))
			require.NoError(t, err)
			assert.Equal(t, "I back ada.", resp.Text)
			assert.Equal(t, agenttest.ModelSay, resp.Model)
			assert.Equal(t, agent.Usage{}, resp.Usage)
		})
	}
	_, err := a.Respond(cancelled(), req("a", agent.PhasePropose, 1))
	assert.ErrorIs(t, err, context.Canceled)
}

func TestScriptedDefaults(t *testing.T) {
	t.Parallel()
	a := agenttest.Scripted(agenttest.Script{})

	pa := replytest.Respond(t, a, req("a", agent.PhasePropose, 1)).Text
	pb := replytest.Respond(t, a, req("b", agent.PhasePropose, 1)).Text
	assert.NotEmpty(t, pa)
	assert.NotEqual(t, pa, pb, "default proposals differ by participant")
	assert.Equal(t, pa, replytest.Respond(t, a, req("a", agent.PhaseRevise, 2)).Text, "deterministic")
	assert.True(t, strings.HasPrefix(pa, "a proposes: "), pa)

	crit := replytest.Decode[replytest.Critique](t, replytest.Respond(t, a, req("a", agent.PhaseCritique, 1)).Text)
	assert.Len(t, crit.Issues, 1)
	assert.Contains(t, crit.Issues[0], "b")
	assert.Len(t, crit.Suggestions, 1)
	assert.Equal(t, 5.0, crit.Severity)

	tests := []struct {
		name  string
		voter string
		props []agent.Proposal
		want  string
	}{
		{name: "first non-self", voter: "a", props: proposals, want: "b"},
		{name: "first when not self", voter: "c", props: proposals, want: "a"},
		{name: "only own proposal", voter: "a", props: proposals[:1], want: "a"},
		{name: "no proposals", voter: "a", want: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req(tt.voter, agent.PhaseVote, 1)
			r.Proposals = tt.props
			v := replytest.Decode[replytest.Vote](t, replytest.Respond(t, a, r).Text)
			assert.Equal(t, tt.want, v.Choice)
			assert.Equal(t, agenttest.DefaultVoteConfidence, v.Confidence)
		})
	}

	j := replytest.Decode[replytest.Judge](t, replytest.Respond(t, a, req("judge", agent.PhaseJudge, 1)).Text)
	assert.True(t, j.Decided)
	assert.Equal(t, "a", j.Choice)

	s := replytest.Decode[replytest.Synthesis](t, replytest.Respond(t, a, req("a", agent.PhaseSynthesize, 1)).Text)
	assert.Equal(t, "Use Postgres.", s.Answer)
	assert.Equal(t, 0.8, s.Confidence)

	resp := replytest.Respond(t, a, req("a", agent.PhasePropose, 1))
	assert.Equal(t, agenttest.ModelScripted, resp.Model)
	assert.Empty(t, resp.Provider)
}

func TestScriptedByRound(t *testing.T) {
	t.Parallel()
	a := agenttest.Scripted(agenttest.Script{
		Proposals: []string{"first", "second"},
		Votes:     []string{"a", "b"},
		Critique:  "critique text",
		Judge:     `{"decided":false}`,
		Synthesis: "synth",
	})
	tests := []struct {
		phase agent.Phase
		round int
		want  string
	}{
		{agent.PhasePropose, 0, "first"},
		{agent.PhasePropose, 1, "first"},
		{agent.PhaseRevise, 2, "second"},
		{agent.PhaseRevise, 3, "second"},
		{agent.PhaseCritique, 2, "critique text"},
		{agent.PhaseJudge, 1, `{"decided":false}`},
		{agent.PhaseSynthesize, 3, "synth"},
		{agent.PhaseVote, 1, `{"choice":"a","confidence":0.8,"reasoning":"Scripted vote."}`},
		{agent.PhaseVote, 2, `{"choice":"b","confidence":0.8,"reasoning":"Scripted vote."}`},
		{agent.PhaseVote, 9, `{"choice":"b","confidence":0.8,"reasoning":"Scripted vote."}`},
	}
	for _, tt := range tests {
		t.Run(string(tt.phase)+"/"+string(rune('0'+tt.round)), func(t *testing.T) {
			assert.Equal(t, tt.want, replytest.Respond(t, a, req("c", tt.phase, tt.round)).Text)
		})
	}
}

func TestScriptedVoteConfidence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script agenttest.Script
		want   float64
	}{
		{name: "default", want: 0.8},
		{name: "set", script: agenttest.Script{VoteConfidence: 0.3}, want: 0.3},
		{name: "zero", script: agenttest.Script{VoteConfidence: 0.3, ZeroConfidence: true}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := replytest.Decode[replytest.Vote](t, replytest.Respond(t, agenttest.Scripted(tt.script), req("a", agent.PhaseVote, 1)).Text)
			assert.Equal(t, tt.want, v.Confidence)
		})
	}
}

func TestScriptedUsageCostModel(t *testing.T) {
	t.Parallel()
	u := agent.Usage{InputTokens: 100, OutputTokens: 50}
	a := agenttest.Scripted(agenttest.Script{Usage: u, CostUSD: 0.25, Model: "m1"})
	for _, p := range allPhases {
		resp := replytest.Respond(t, a, req("a", p, 1))
		assert.Equal(t, u, resp.Usage, p)
		assert.Equal(t, 0.25, resp.CostUSD, p)
		assert.Equal(t, "m1", resp.Model, p)
	}
}

func TestScriptedFail(t *testing.T) {
	t.Parallel()
	boom := agenttest.ServerError("p", 503)
	a := agenttest.Scripted(agenttest.Script{Fail: func(r agent.Request) error {
		if r.Phase == agent.PhaseVote && r.Round == 2 {
			return boom
		}
		return nil
	}})
	_, err := a.Respond(t.Context(), req("a", agent.PhaseVote, 1))
	require.NoError(t, err)
	_, err = a.Respond(t.Context(), req("a", agent.PhaseVote, 2))
	assert.ErrorIs(t, err, boom)
	_, err = a.Respond(t.Context(), req("a", agent.PhasePropose, 2))
	require.NoError(t, err)
	assert.Len(t, a.Calls(), 3, "failed calls are recorded too")
	assert.Len(t, a.CallsIn(agent.PhaseVote), 2)

	_, err = a.Respond(cancelled(), req("a", agent.PhasePropose, 1))
	assert.ErrorIs(t, err, context.Canceled)
}

// TestScriptedBlocksUntilCancel covers Hang and Delay: the call starts
// (OnCall releases the barrier), the test cancels, and the call returns
// context.Canceled.
func TestScriptedBlocksUntilCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script agenttest.Script
	}{
		{name: "hang in critique", script: agenttest.Script{Hang: func(r agent.Request) bool { return r.Phase == agent.PhaseCritique }}},
		{name: "long delay", script: agenttest.Script{Delay: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			started := make(chan struct{}, 1)
			s := tt.script
			s.OnCall = func(agent.Request) { started <- struct{}{} }
			a := agenttest.Scripted(s)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() {
				<-started
				cancel()
			}()
			_, err := a.Respond(ctx, req("a", agent.PhaseCritique, 1))
			assert.ErrorIs(t, err, context.Canceled)
		})
	}
}

func TestScriptedHangOnlyMatching(t *testing.T) {
	t.Parallel()
	a := agenttest.Scripted(agenttest.Script{Hang: func(r agent.Request) bool { return r.Phase == agent.PhaseVote }})
	_, err := a.Respond(t.Context(), req("a", agent.PhasePropose, 1))
	assert.NoError(t, err)
}

func TestScriptedConcurrent(t *testing.T) {
	t.Parallel()
	a := agenttest.Scripted(agenttest.Script{Delay: time.Microsecond})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			phase := agent.PhasePropose
			if i%2 == 1 {
				phase = agent.PhaseVote
			}
			_, err := a.Respond(context.Background(), req("a", phase, 1))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Len(t, a.Calls(), 40)
	assert.Len(t, a.CallsIn(agent.PhaseVote), 20)
}

func TestScriptedCopiesScript(t *testing.T) {
	t.Parallel()
	s := agenttest.Script{Proposals: []string{"one"}}
	a := agenttest.Scripted(s)
	s.Proposals[0] = "changed"
	assert.Equal(t, "one", replytest.Respond(t, a, req("a", agent.PhasePropose, 1)).Text)

	calls := a.Calls()
	calls[0].Participant = "changed"
	assert.Equal(t, "a", a.Calls()[0].Participant, "Calls returns a copy")
}

func TestScriptedZeroValue(t *testing.T) {
	t.Parallel()
	var a agenttest.ScriptedAgent
	assert.NotEmpty(t, replytest.Respond(t, &a, req("a", agent.PhasePropose, 1)).Text)
	assert.Len(t, a.Calls(), 1)
}

func TestFailing(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, ctx := range []context.Context{context.Background(), cancelled()} {
		_, err := agenttest.Failing(boom).Respond(ctx, req("a", agent.PhasePropose, 1))
		assert.Equal(t, boom, err)
	}
	_, err := agenttest.Failing(nil).Respond(t.Context(), req("a", agent.PhasePropose, 1))
	assert.ErrorIs(t, err, agenttest.ErrFailing)
}

func TestHang(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	_, err := agenttest.Hang().Respond(ctx, req("a", agent.PhasePropose, 1))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, agent.KindTimeout, agent.KindOf(err))
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	a := agenttest.Malformed()
	for _, p := range allPhases {
		t.Run(string(p), func(t *testing.T) {
			text := replytest.Respond(t, a, req("a", p, 1)).Text
			switch p {
			case agent.PhasePropose, agent.PhaseRevise:
				assert.Empty(t, text)
			default:
				assert.NotEmpty(t, text)
				assert.False(t, json.Valid([]byte(text)), "broken JSON: %s", text)
				assert.True(t, strings.HasPrefix(text, "{"))
			}
			if p == agent.PhaseVote {
				assert.False(t, strings.ContainsFunc(text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }),
					"no name can be read from %q", text)
			}
		})
	}
	_, err := a.Respond(cancelled(), req("a", agent.PhasePropose, 1))
	assert.ErrorIs(t, err, context.Canceled)
}

func TestFlaky(t *testing.T) {
	t.Parallel()
	boom := agenttest.ServerError("p", 500)
	a := agenttest.Flaky(2, boom, agenttest.Say("ok"))
	_, err := a.Respond(cancelled(), req("a", agent.PhasePropose, 1))
	assert.ErrorIs(t, err, context.Canceled, "not counted")
	for i, wantErr := range []bool{true, true, false, false} {
		resp, err := a.Respond(t.Context(), req("a", agent.PhasePropose, 1))
		if wantErr {
			assert.ErrorIs(t, err, boom, "call %d", i)
		} else {
			require.NoError(t, err, "call %d", i)
			assert.Equal(t, "ok", resp.Text)
		}
	}

	_, err = agenttest.Flaky(1, nil, agenttest.Say("ok")).Respond(t.Context(), req("a", agent.PhasePropose, 1))
	assert.ErrorIs(t, err, agenttest.ErrFailing)
}

func TestFlakyConcurrent(t *testing.T) {
	t.Parallel()
	a := agenttest.Flaky(5, nil, agenttest.Say("ok"))
	var mu sync.Mutex
	failed := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := a.Respond(context.Background(), req("a", agent.PhasePropose, 1)); err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 5, failed)
}

func TestWithLatency(t *testing.T) {
	t.Parallel()
	inner := agenttest.Scripted(agenttest.Script{Proposals: []string{"p"}})
	resp, err := agenttest.WithLatency(time.Microsecond, inner).Respond(t.Context(), req("a", agent.PhasePropose, 1))
	require.NoError(t, err)
	assert.Equal(t, "p", resp.Text)

	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	_, err = agenttest.WithLatency(time.Hour, inner).Respond(ctx, req("a", agent.PhasePropose, 1))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Len(t, inner.Calls(), 1, "the inner agent is not called after the deadline")
}

func TestStreaming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{name: "words", text: "one two  three", want: []string{"one ", "two  ", "three"}},
		{name: "leading and trailing space", text: "  a\nb\t", want: []string{"  a\n", "b\t"}},
		{name: "unicode", text: "wörld 🌍 ✓", want: []string{"wörld ", "🌍 ", "✓"}},
		{name: "only space", text: "   ", want: []string{"   "}},
		{name: "empty", text: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := agenttest.Streaming(agenttest.Say(tt.text))
			var got []string
			resp, err := s.RespondStream(t.Context(), req("a", agent.PhasePropose, 1), func(c string) { got = append(got, c) })
			require.NoError(t, err)
			assert.Equal(t, tt.text, resp.Text)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.text, strings.Join(got, ""))
		})
	}

	t.Run("error delivers no chunk", func(t *testing.T) {
		t.Parallel()
		s := agenttest.Streaming(agenttest.Failing(nil))
		var got []string
		_, err := s.RespondStream(t.Context(), req("a", agent.PhasePropose, 1), func(c string) { got = append(got, c) })
		assert.ErrorIs(t, err, agenttest.ErrFailing)
		assert.Empty(t, got)
	})
}

func TestProviderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		kind       agent.Kind
		status     int
		retryable  bool
		sentinel   error
		retryAfter time.Duration
	}{
		{name: "server 500", err: agenttest.ServerError("openai", 500), kind: agent.KindServer, status: 500, retryable: true},
		{name: "server 503", err: agenttest.ServerError("openai", 503), kind: agent.KindServer, status: 503, retryable: true},
		{name: "quota", err: agenttest.QuotaError("openai"), kind: agent.KindQuotaExhausted, status: 429, sentinel: agent.ErrQuotaExhausted},
		{name: "rate limit", err: agenttest.RateLimitError("openai", 7*time.Second), kind: agent.KindRateLimited, status: 429,
			retryable: true, sentinel: agent.ErrRateLimited, retryAfter: 7 * time.Second},
		{name: "auth", err: agenttest.AuthError("openai"), kind: agent.KindAuth, status: 401, sentinel: agent.ErrAuth},
		{name: "connection", err: agenttest.ConnectionError("openai"), kind: agent.KindServer, status: 0, retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var pe *agent.ProviderError
			require.ErrorAs(t, tt.err, &pe)
			assert.Equal(t, "openai", pe.Provider)
			assert.Equal(t, tt.status, pe.StatusCode)
			assert.Equal(t, tt.kind, agent.KindOf(tt.err))
			assert.Equal(t, tt.retryable, agent.Retryable(tt.err))
			assert.Equal(t, tt.retryAfter, agent.RetryAfter(tt.err))
			if tt.sentinel != nil {
				assert.ErrorIs(t, tt.err, tt.sentinel)
			}
		})
	}
}
