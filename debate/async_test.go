package debate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
)

// asyncDemo is a demo agent behind agent.Async (and not agent.Immediate):
// odd calls answer through done before RespondAsync returns, even ones
// from a goroutine of their own.
type asyncDemo struct {
	a     *demo.Agent
	calls atomic.Int64
}

func (d *asyncDemo) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	return d.a.Respond(ctx, req)
}

func (d *asyncDemo) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	return d.a.RespondStream(ctx, req, onChunk)
}

func (d *asyncDemo) Describe() agent.Info { return d.a.Describe() }

func (d *asyncDemo) RespondAsync(ctx context.Context, req agent.Request, done func(agent.Response, error)) {
	if d.calls.Add(1)%2 == 1 {
		done(d.a.Respond(ctx, req))
		return
	}
	go func() { done(d.a.Respond(ctx, req)) }()
}

// TestAsyncAgentsGiveTheSameResult runs every pinned case with its demo
// agents behind agent.Async: the result must be the pinned one, and the
// calls must go through RespondAsync unless tokens are streamed.
func TestAsyncAgentsGiveTheSameResult(t *testing.T) {
	for _, c := range outputCases {
		t.Run(c.name, func(t *testing.T) {
			o, cfg, as := asyncOrchestrator(t, c)
			assertPinnedResult(t, c, o)
			var calls int64
			for _, d := range as {
				calls += d.calls.Load()
			}
			if cfg.StreamTokens {
				assert.Zero(t, calls, "streamed calls are not made through RespondAsync")
			} else {
				assert.Positive(t, calls)
			}
		})
	}
}

// TestAsyncDebatesShareBuffers runs debates of agent.Async agents at once
// on one Orchestrator: a debate gives its phase buffers back while it waits
// for its agents, and another takes them (run with -race). Each result must
// be the pinned one.
func TestAsyncDebatesShareBuffers(t *testing.T) {
	for _, c := range outputCases[1:3] {
		t.Run(c.name, func(t *testing.T) {
			o, _, _ := asyncOrchestrator(t, c)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() { assertPinnedResult(t, c, o) })
			}
			wg.Wait()
		})
	}
}

// asyncOrchestrator is the Orchestrator of pinned case c with its demo
// agents behind agent.Async.
func asyncOrchestrator(t *testing.T, c outputCase) (*debate.Orchestrator, debate.Config, []*asyncDemo) {
	cfg := demoConfig()
	c.config(&cfg)
	var as []*asyncDemo
	ps := make([]debate.Participant, len(c.styles))
	for i, s := range c.styles {
		name := fmt.Sprintf("demo-%c", 'a'+i)
		d := &asyncDemo{a: demo.New(name, s, c.seed)}
		as = append(as, d)
		ps[i] = debate.Participant{Name: name, Agent: d}
	}
	o, err := debate.New(cfg, ps...)
	require.NoError(t, err)
	return o, cfg, as
}

// assertPinnedResult runs case c on o and checks its result is the pinned
// one (without stopping the test: it may run in a goroutine of its own).
func assertPinnedResult(t *testing.T, c outputCase, o *debate.Orchestrator) {
	question := c.question
	if question == "" {
		question = outputQuestion
	}
	res, err := o.RunTask(context.Background(), debate.Task{ID: "pinned", Question: question, Context: c.context})
	if !assert.NoError(t, err) {
		return
	}
	got, err := json.Marshal(res)
	assert.NoError(t, err)
	var want pinned
	b, err := os.ReadFile(filepath.Join("testdata", "outputs", c.name+".json"))
	if assert.NoError(t, err) && assert.NoError(t, json.Unmarshal(b, &want)) {
		assert.JSONEq(t, string(want.Result), string(got))
	}
}

// scriptedAsync answers through done: a proposal, a vote for "a", and in
// the critique phase whatever critique does (nil: a valid critique).
type scriptedAsync struct {
	name     string
	critique func(ctx context.Context, done func(agent.Response, error))
}

func (s *scriptedAsync) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	panic("Respond must not be called on an agent.Async")
}

func (s *scriptedAsync) RespondAsync(ctx context.Context, req agent.Request, done func(agent.Response, error)) {
	switch req.Phase {
	case agent.PhaseCritique:
		if s.critique != nil {
			s.critique(ctx, done)
			return
		}
		done(agent.Response{Text: `{"issues":["thin"],"suggestions":["more"],"severity":3,"reasoning":"ok"}`}, nil)
	case agent.PhaseVote:
		done(agent.Response{Text: `{"choice":"a","confidence":0.9,"reasoning":"first"}`}, nil)
	default:
		done(agent.Response{Text: "Proposal of " + s.name + ": use Postgres, with a pilot."}, nil)
	}
}

// TestAsyncCallEnds checks the ways an agent.Async call ends: on time, past
// its deadline (the agent answers when its context ends, with the
// deadline), after a panic in RespondAsync, and with done called twice
// (the second is ignored).
func TestAsyncCallEnds(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var deadlineSet atomic.Bool
	tests := []struct {
		name     string
		critique func(ctx context.Context, done func(agent.Response, error))
		kind     agent.Kind
		message  string
		timeout  time.Duration // the calls' deadline; default 10 s
	}{
		{name: "deadline", kind: agent.KindTimeout, timeout: 300 * time.Millisecond, critique: func(ctx context.Context, done func(agent.Response, error)) {
			_, ok := ctx.Deadline()
			deadlineSet.Store(ok)
			context.AfterFunc(ctx, func() { done(agent.Response{}, ctx.Err()) })
		}},
		{name: "panic", message: "panicked", critique: func(context.Context, func(agent.Response, error)) {
			panic("boom")
		}},
		{name: "panic after done", critique: func(_ context.Context, done func(agent.Response, error)) {
			done(agent.Response{Text: `{"issues":["thin"],"suggestions":[],"severity":3,"reasoning":"ok"}`}, nil)
			panic("boom")
		}},
		{name: "done twice", critique: func(_ context.Context, done func(agent.Response, error)) {
			done(agent.Response{Text: `{"issues":["thin"],"suggestions":[],"severity":3,"reasoning":"ok"}`}, nil)
			go done(agent.Response{}, errors.New("a second answer"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &scriptedAsync{name: "a", critique: tc.critique}
			ps := []debate.Participant{{Name: "a", Agent: a}, {Name: "b", Agent: &scriptedAsync{name: "b"}}, {Name: "c", Agent: &scriptedAsync{name: "c"}}}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			o, err := debate.New(debate.Config{Rounds: 1, AgentTimeout: timeout}, ps...)
			require.NoError(t, err)
			res, err := o.Run(context.Background(), "Postgres?")
			require.NoError(t, err)
			require.Len(t, res.Transcript, 1)
			rec := res.Transcript[0]
			var critics []string
			for _, c := range rec.Critiques {
				critics = append(critics, c.Critic+">"+c.Target)
			}
			if tc.kind == "" && tc.message == "" {
				assert.Len(t, rec.Critiques, 6)
				assert.Empty(t, rec.Errors)
				return
			}
			assert.NotContains(t, critics, "a>b")
			assert.Contains(t, critics, "b>a")
			require.Len(t, rec.Errors, 2, "a's two critiques fail")
			for _, e := range rec.Errors {
				assert.Equal(t, "a", e.Agent)
				assert.Equal(t, agent.PhaseCritique, e.Phase)
				if tc.kind != "" {
					assert.Equal(t, tc.kind, e.Kind)
				}
				assert.Contains(t, e.Message, tc.message)
			}
			assert.Equal(t, "a", res.Winner)
		})
	}
	assert.True(t, deadlineSet.Load(), "an async call's context has the call's deadline")
}

// instantAsync is instant's agent behind agent.Async, answering through
// done before RespondAsync returns.
type instantAsync struct{ agent.Agent }

func (a instantAsync) RespondAsync(ctx context.Context, req agent.Request, done func(agent.Response, error)) {
	done(a.Respond(ctx, req))
}

// BenchmarkDebateAsync is BenchmarkDebate 5 × 3 with the same agents behind
// agent.Async: what a call costs without its goroutine.
func BenchmarkDebateAsync(b *testing.B) {
	var ps []debate.Participant
	for i := range 5 {
		name := fmt.Sprintf("agent%d", i)
		ps = append(ps, debate.Participant{Name: name, Agent: instantAsync{instant(name, "agent0")}})
	}
	o, err := debate.New(debate.Config{Rounds: 3, DisableEarlyStop: true}, ps...)
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.Run(ctx, "Should we migrate the billing service to Postgres?"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLateAsyncRepliesLandInTheNextPhase checks that the replies of calls
// settled as late, which come while the next phase's calls run, write
// nothing of that phase's outcomes, which share their buffer and wait
// with the last phase's (a second callback included): agent a's two
// critiques (the phase's first two calls) end past their deadline and
// answer, twice each, once the vote phase's first two calls have answered
// and its last has started, before it answers.
func TestLateAsyncRepliesLandInTheNextPhase(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	voting := make(chan struct{})
	var late sync.WaitGroup
	late.Add(2)
	a := &scriptedAsync{name: "a", critique: func(ctx context.Context, done func(agent.Response, error)) {
		context.AfterFunc(ctx, func() {
			<-voting
			done(agent.Response{Text: `{"issues":["late"],"suggestions":[],"severity":9,"reasoning":"late"}`}, nil)
			done(agent.Response{Text: "a second answer"}, nil)
			late.Done()
		})
	}}
	c := &votingLast{scriptedAsync: &scriptedAsync{name: "c"}, voting: voting, late: &late}
	ps := []debate.Participant{{Name: "a", Agent: a}, {Name: "b", Agent: &scriptedAsync{name: "b"}}, {Name: "c", Agent: c}}
	o, err := debate.New(debate.Config{Rounds: 1, AgentTimeout: 300 * time.Millisecond}, ps...)
	require.NoError(t, err)
	res, err := o.Run(context.Background(), "Postgres?")
	require.NoError(t, err)
	require.Len(t, res.Transcript, 1)
	rec := res.Transcript[0]
	require.Len(t, rec.Errors, 2, "a's two critiques are late")
	require.Len(t, rec.Votes, 3)
	for _, v := range rec.Votes {
		assert.True(t, v.Valid, v.Agent)
		assert.Equal(t, "a", v.Choice, v.Agent)
		assert.Equal(t, "first", v.Reasoning, v.Agent)
	}
	assert.Len(t, rec.Critiques, 4)
	assert.Equal(t, "a", res.Winner)
}

// votingLast is a scriptedAsync whose vote call, once started, lets the
// late critiques answer and waits for them before it votes.
type votingLast struct {
	*scriptedAsync
	voting chan struct{}
	late   *sync.WaitGroup
}

func (v *votingLast) RespondAsync(ctx context.Context, req agent.Request, done func(agent.Response, error)) {
	if req.Phase == agent.PhaseVote {
		close(v.voting)
		v.late.Wait()
	}
	v.scriptedAsync.RespondAsync(ctx, req, done)
}

// TestAsyncLatencyOnConfigNow checks that an agent.Async call's latency is
// measured on Config.Now when it is set, from the reading at its start to
// the one at its return: a clock that advances 10 ms per reading, and
// agents that answer before RespondAsync returns, make every proposal's
// latency 10 ms, in both rounds.
func TestAsyncLatencyOnConfigNow(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(10 * time.Millisecond)
		return now
	}
	rec := &recorder{}
	ps := []debate.Participant{{Name: "a", Agent: &scriptedAsync{name: "a"}}, {Name: "b", Agent: &scriptedAsync{name: "b"}}, {Name: "c", Agent: &scriptedAsync{name: "c"}}}
	o, err := debate.New(debate.Config{Rounds: 2, DisableEarlyStop: true, Now: clock, Observers: []debate.Observer{rec}}, ps...)
	require.NoError(t, err)
	_, err = o.Run(context.Background(), "Postgres?")
	require.NoError(t, err)
	proposals := 0
	for _, e := range rec.all() {
		if d, ok := e.Data.(debate.ProposalData); ok {
			proposals++
			assert.Equal(t, int64(10), d.LatencyMS, e.Agent)
		}
	}
	assert.Equal(t, 6, proposals)
}

// plainScripted is a scriptedAsync that is not an agent.Async: its calls
// run on goroutines of their own.
type plainScripted struct{ s *scriptedAsync }

func (p plainScripted) Respond(ctx context.Context, req agent.Request) (resp agent.Response, err error) {
	p.s.RespondAsync(ctx, req, func(r agent.Response, e error) { resp, err = r, e })
	return resp, err
}

// TestMixedAsyncAndGoroutineCalls runs phases whose calls are made both
// through agent.Async and on goroutines, all at once or a few at a time
// (MaxConcurrency): the agent.Async calls' specs are shed while the
// goroutines' calls still read theirs (run with -race).
func TestMixedAsyncAndGoroutineCalls(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, limit := range []int{0, 2} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			ps := []debate.Participant{{Name: "a", Agent: &scriptedAsync{name: "a"}},
				{Name: "b", Agent: plainScripted{&scriptedAsync{name: "b"}}}, {Name: "c", Agent: &scriptedAsync{name: "c"}}}
			o, err := debate.New(debate.Config{Rounds: 2, DisableEarlyStop: true, MaxConcurrency: limit}, ps...)
			require.NoError(t, err)
			res, err := o.Run(context.Background(), "Postgres?")
			require.NoError(t, err)
			require.Len(t, res.Transcript, 2)
			for _, rec := range res.Transcript {
				assert.Empty(t, rec.Errors)
				assert.Len(t, rec.Proposals, 3)
				assert.Len(t, rec.Critiques, 6)
				require.Len(t, rec.Votes, 3)
				for _, v := range rec.Votes {
					assert.True(t, v.Valid, v.Agent)
				}
			}
			assert.Equal(t, "a", res.Winner)
		})
	}
}
