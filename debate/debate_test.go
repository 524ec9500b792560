package debate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fake is a scripted agent: a distinct proposal, a fixed vote and usage.
type fake struct {
	proposal   string
	vote       string // choice
	confidence float64
	usage      agent.Usage
	// fail, when set, decides per request whether the call fails.
	fail func(req agent.Request) error
	// hang blocks the call until ctx is done when it returns true.
	hang  func(req agent.Request) bool
	calls atomic.Int64
}

func (f *fake) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	f.calls.Add(1)
	if f.hang != nil && f.hang(req) {
		<-ctx.Done()
		return agent.Response{}, ctx.Err()
	}
	if f.fail != nil {
		if err := f.fail(req); err != nil {
			return agent.Response{}, err
		}
	}
	var text string
	switch req.Phase {
	case agent.PhasePropose, agent.PhaseRevise:
		text = f.proposal
	case agent.PhaseCritique:
		text = `{"issues":["needs more data"],"suggestions":["add figures"],"severity":4,"reasoning":"thin evidence"}`
	case agent.PhaseVote:
		c := f.confidence
		if c == 0 {
			c = 0.8
		}
		text = fmt.Sprintf(`{"choice":%q,"confidence":%v,"reasoning":"best supported"}`, f.vote, c)
	case agent.PhaseJudge:
		text = fmt.Sprintf(`{"decided":true,"choice":%q,"confidence":0.9,"reasoning":"clear","answer":""}`, f.vote)
	case agent.PhaseSynthesize:
		text = `{"answer":"synthesised answer","confidence":0.7}`
	}
	return agent.Response{Text: text, Usage: f.usage}, nil
}

var texts = map[string]string{
	"a": "Adopt Postgres for billing because transactional integrity matters most here.",
	"b": "Keep MySQL and tune the replication lag with semi-synchronous commits instead.",
	"c": "Move billing to a managed event store with nightly reconciliation jobs.",
}

func participants(votes ...string) ([]debate.Participant, map[string]*fake) {
	names := []string{"a", "b", "c"}[:len(votes)]
	fakes := map[string]*fake{}
	var ps []debate.Participant
	for i, n := range names {
		f := &fake{proposal: texts[n], vote: votes[i]}
		fakes[n] = f
		ps = append(ps, debate.Participant{Name: n, Agent: f})
	}
	return ps, fakes
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []debate.Event
}

func (r *recorder) OnEvent(e debate.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []debate.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]debate.Event(nil), r.events...)
}

func (r *recorder) types() []debate.EventType {
	var ts []debate.EventType
	for _, e := range r.all() {
		ts = append(ts, e.Type)
	}
	return ts
}

func run(t *testing.T, cfg debate.Config, ps []debate.Participant) (*debate.Result, *recorder, error) {
	t.Helper()
	rec := &recorder{}
	cfg.Observers = append(cfg.Observers, rec)
	o, err := debate.New(cfg, ps...)
	require.NoError(t, err)
	res, err := o.RunTask(context.Background(), debate.Task{ID: "d1", Question: "Which database should billing use?"})
	require.NotNil(t, res)
	return res, rec, err
}

func TestAcceptanceScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		votes       []string
		cfg         debate.Config
		confs       []float64
		wantStatus  store.Status
		wantRounds  int
		wantConf    float64
		wantVerdict string
		wantWinner  string
		check       func(t *testing.T, res *debate.Result)
	}{
		{name: "1 unanimous votes", votes: []string{"a", "a", "a"}, wantStatus: "consensus_reached", wantRounds: 1, wantConf: 1, wantVerdict: "approved", wantWinner: "a"},
		{name: "2 two of three", votes: []string{"a", "a", "b"}, wantStatus: "consensus_reached", wantRounds: 1, wantConf: 2.0 / 3, wantVerdict: "approved_with_conditions", wantWinner: "a",
			check: func(t *testing.T, res *debate.Result) {
				require.Len(t, res.Consensus.Dissents, 1)
				assert.Equal(t, "c", res.Consensus.Dissents[0].Agent)
				assert.Equal(t, "b", res.Consensus.Dissents[0].Choice)
			}},
		{name: "3 supermajority passes at exactly 2/3", votes: []string{"a", "a", "b"}, cfg: debate.Config{Consensus: consensus.Supermajority{}},
			wantStatus: "consensus_reached", wantRounds: 1, wantConf: 2.0 / 3, wantVerdict: "approved_with_conditions", wantWinner: "a"},
		{name: "4 two agents split", votes: []string{"a", "b"}, cfg: debate.Config{Rounds: 2}, wantStatus: "no_consensus", wantRounds: 2, wantConf: 0.5, wantVerdict: "needs_review", wantWinner: "a"},
		{name: "5 self votes", votes: []string{"a", "b", "c"}, cfg: debate.Config{Rounds: 2}, wantStatus: "no_consensus", wantRounds: 2, wantConf: 1.0 / 3, wantVerdict: "rejected", wantWinner: "a"},
		{name: "6 confidence weighting", votes: []string{"a", "a", "b"}, confs: []float64{0.3, 0.3, 0.9}, wantStatus: "consensus_reached", wantRounds: 1, wantConf: 0.6, wantVerdict: "approved_with_conditions", wantWinner: "b",
			check: func(t *testing.T, res *debate.Result) {
				assert.Equal(t, []string{"c"}, res.Consensus.Supporting)
				assert.Equal(t, []string{"a", "b"}, res.Consensus.Dissenting)
			}},
		{name: "7 weighted threshold 0.7", votes: []string{"a", "a", "b"}, confs: []float64{0.9, 0.8, 0.3}, cfg: debate.Config{Consensus: consensus.Weighted{Threshold: 0.7}},
			wantStatus: "consensus_reached", wantRounds: 1, wantConf: 0.85, wantVerdict: "approved_with_conditions", wantWinner: "a"},
		{name: "9 min rounds", votes: []string{"a", "a", "a"}, cfg: debate.Config{MinRounds: 2}, wantStatus: "consensus_reached", wantRounds: 2, wantConf: 1, wantVerdict: "approved", wantWinner: "a"},
		{name: "early stop off runs every round", votes: []string{"a", "a", "a"}, cfg: debate.Config{DisableEarlyStop: true}, wantStatus: "consensus_reached", wantRounds: 3, wantConf: 1, wantVerdict: "approved", wantWinner: "a",
			check: func(t *testing.T, res *debate.Result) { assert.Equal(t, debate.StopMaxRounds, res.StopReason) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps, fakes := participants(tt.votes...)
			for i, c := range tt.confs {
				fakes[ps[i].Name].confidence = c
			}
			res, _, err := run(t, tt.cfg, ps)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, res.Status)
			assert.Equal(t, tt.wantRounds, res.RoundsUsed)
			assert.InDelta(t, tt.wantConf, res.Confidence, 1e-6)
			assert.Equal(t, tt.wantVerdict, res.Verdict.String())
			assert.Equal(t, tt.wantWinner, res.Winner)
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func TestUnanimousWithTimedOutVoter(t *testing.T) { // scenario 8
	t.Parallel()
	ps, fakes := participants("a", "a", "a")
	fakes["c"].hang = func(req agent.Request) bool { return req.Phase == agent.PhaseVote }
	res, rec, err := run(t, debate.Config{Consensus: consensus.Unanimous{}, AgentTimeout: time.Second}, ps) // c hangs; a and b must answer in time even under load
	require.NoError(t, err)
	assert.Equal(t, store.StatusNoConsensus, res.Status)
	assert.Equal(t, 3, res.RoundsUsed)
	assert.Equal(t, []string{"c"}, res.Consensus.Abstaining)
	assert.InDelta(t, 1.0, res.Confidence, 1e-9)
	assert.Equal(t, "needs_review", res.Verdict.String())
	var timeouts int
	for _, e := range rec.all() {
		if e.Type == debate.EventAgentError {
			d := e.Data.(debate.AgentErrorData)
			assert.Equal(t, agent.KindTimeout, d.Kind)
			assert.Equal(t, "c", e.Agent)
			timeouts++
		}
	}
	assert.Equal(t, 3, timeouts, "one recorded timeout per round")
	require.Len(t, res.Transcript, 3)
	assert.Equal(t, agent.KindTimeout, res.Transcript[0].Errors[0].Kind)
}

func TestQuorumLost(t *testing.T) { // scenario 10
	t.Parallel()
	ps, fakes := participants("a", "a", "a")
	boom := errors.New("provider down")
	for _, n := range []string{"b", "c"} {
		fakes[n].fail = func(req agent.Request) error {
			if req.Phase == agent.PhasePropose {
				return boom
			}
			return nil
		}
	}
	res, rec, err := run(t, debate.Config{}, ps)
	require.ErrorIs(t, err, debate.ErrQuorum)
	assert.Contains(t, err.Error(), "quorum not met in propose of round 1: 1 of 3 answered")
	assert.Equal(t, store.StatusFailed, res.Status)
	assert.Equal(t, debate.StopInsufficientAgents, res.StopReason)
	assert.Equal(t, "needs_review", res.Verdict.String())
	ts := rec.types()
	require.GreaterOrEqual(t, len(ts), 2)
	assert.Equal(t, debate.EventRoundEnd, ts[len(ts)-2])
	assert.Equal(t, debate.EventDebateEnd, ts[len(ts)-1])
	assert.True(t, rec.all()[len(ts)-2].Data.(debate.RoundEndData).Interrupted)
}

func TestBudgetExceeded(t *testing.T) { // scenario 11
	t.Parallel()
	ps, fakes := participants("a", "a", "a")
	for _, f := range fakes {
		f.usage = agent.Usage{InputTokens: 60, OutputTokens: 40}
	}
	res, rec, err := run(t, debate.Config{MaxTokens: 1000}, ps)
	require.NoError(t, err)
	assert.Equal(t, store.StatusBudgetExceeded, res.Status)
	assert.Equal(t, debate.StopBudget, res.StopReason)
	assert.Equal(t, 1, res.RoundsUsed)
	assert.Equal(t, 900, res.Usage.TotalTokens)
	assert.Len(t, rec.all(), 13)
	assert.Equal(t, "needs_review", res.Verdict.String())
}

func TestEventSequence(t *testing.T) {
	t.Parallel()
	ps, _ := participants("a", "a")
	res, rec, err := run(t, debate.Config{Rounds: 1}, ps)
	require.NoError(t, err)
	assert.Equal(t, store.StatusConsensusReached, res.Status)
	want := []debate.EventType{"debate_start", "round_start", "proposal", "proposal", "critique", "critique",
		"vote", "vote", "consensus_check", "round_end", "debate_end"}
	assert.Equal(t, want, rec.types())
	for i, e := range rec.all() {
		assert.Equal(t, int64(i+1), e.Seq)
		assert.Equal(t, "d1", e.DebateID)
	}
	evs := rec.all()
	assert.Equal(t, "a", evs[4].Agent)
	assert.Equal(t, "b", evs[4].Data.(debate.CritiqueData).Target)
	b, err := json.Marshal(evs[2])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"type":"proposal"`)
	assert.Contains(t, string(b), `"content":`)
	assert.Contains(t, string(b), `"tokens":{"input":0,"output":0}`)
}

// barrierAgent proves calls of a phase run concurrently: each call waits
// until all n calls of its phase are inside Respond before it returns.
type barrier struct {
	mu      sync.Mutex
	waiting map[string]int
	release map[string]chan struct{}
	n       int
}

func (b *barrier) wait(ctx context.Context, key string) error {
	b.mu.Lock()
	if b.release[key] == nil {
		b.release[key] = make(chan struct{})
	}
	ch := b.release[key]
	b.waiting[key]++
	if b.waiting[key] == b.n {
		close(ch)
	}
	b.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestPhaseCallsRunConcurrently(t *testing.T) {
	t.Parallel()
	ps, _ := participants("a", "a", "a")
	b := &barrier{waiting: map[string]int{}, release: map[string]chan struct{}{}, n: 3}
	for i := range ps {
		inner := ps[i].Agent
		ps[i].Agent = agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
			if req.Phase == agent.PhasePropose || req.Phase == agent.PhaseVote {
				if err := b.wait(ctx, string(req.Phase)); err != nil {
					return agent.Response{}, err
				}
			}
			return inner.Respond(ctx, req)
		})
	}
	// A serial implementation would deadlock until the agent timeout and
	// then fail quorum; the concurrent one passes every barrier.
	res, _, err := run(t, debate.Config{Rounds: 1, AgentTimeout: 30 * time.Second}, ps)
	require.NoError(t, err)
	assert.Equal(t, store.StatusConsensusReached, res.Status)
	assert.Empty(t, res.Transcript[0].Errors)
}

func TestCancelDuringCritique(t *testing.T) { // scenario 15
	t.Parallel()
	ps, fakes := participants("a", "a", "a")
	ctx, _ := cancelOnCritique(t, fakes)
	rec := &recorder{}
	o, err := debate.New(debate.Config{Observers: []debate.Observer{rec}}, ps...)
	require.NoError(t, err)
	res, err := o.Run(ctx, "Which database?")
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, store.StatusCancelled, res.Status)
	assert.Equal(t, debate.StopCancelled, res.StopReason)
	ts := rec.types()
	assert.Equal(t, []debate.EventType{"debate_start", "round_start", "proposal", "proposal", "proposal", "round_end", "debate_end"}, ts)
	assert.True(t, rec.all()[5].Data.(debate.RoundEndData).Interrupted)
}

func TestDebateTimeout(t *testing.T) {
	t.Parallel()
	ps, fakes := participants("a", "a", "a")
	for _, f := range fakes {
		f.hang = func(req agent.Request) bool { return req.Phase == agent.PhaseVote }
	}
	res, _, err := run(t, debate.Config{Timeout: 50 * time.Millisecond}, ps)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, store.StatusTimeout, res.Status)
	assert.Equal(t, "needs_review", res.Verdict.String())
}

func TestMalformedRepliesNeverCrash(t *testing.T) {
	t.Parallel()
	ps, fakes := participants("a", "a", "a")
	fakes["c"].fail = nil
	ps[2].Agent = agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
		switch req.Phase {
		case agent.PhaseVote:
			return agent.Response{Text: `{"choice": 12, "confidence": "lots"`}, nil
		case agent.PhaseCritique:
			return agent.Response{Text: "this is not json at all"}, nil
		}
		return agent.Response{Text: "{{{"}, nil
	})
	res, rec, err := run(t, debate.Config{Rounds: 1}, ps)
	require.NoError(t, err)
	assert.Equal(t, store.StatusConsensusReached, res.Status)
	var invalid, fallback int
	for _, e := range rec.all() {
		switch d := e.Data.(type) {
		case debate.AgentErrorData:
			if d.Kind == agent.KindInvalidResponse {
				invalid++
				require.NotNil(t, d.Raw)
			}
		case debate.CritiqueData:
			if d.Parse == "fallback" {
				fallback++
			}
		}
	}
	assert.Equal(t, 1, invalid, "the unreadable vote")
	assert.Equal(t, 2, fallback, "c's two non-JSON critiques")
}

func TestJudgeAndNone(t *testing.T) {
	t.Parallel()
	t.Run("judge decides", func(t *testing.T) {
		t.Parallel()
		ps, fakes := participants("a", "b", "b")
		fakes["c"].vote = "c"
		res, rec, err := run(t, debate.Config{Consensus: consensus.Judge{}, Rounds: 1}, ps)
		require.NoError(t, err)
		assert.Equal(t, store.StatusConsensusReached, res.Status)
		assert.Equal(t, "c", res.Winner)
		assert.InDelta(t, 0.9, res.Confidence, 1e-9)
		var check debate.Event
		for _, e := range rec.all() {
			if e.Type == debate.EventConsensusCheck {
				check = e
			}
		}
		assert.Equal(t, "c", check.Agent)
	})
	t.Run("failed judge falls back to majority", func(t *testing.T) {
		t.Parallel()
		ps, fakes := participants("a", "a", "b")
		fakes["c"].fail = func(req agent.Request) error {
			if req.Phase == agent.PhaseJudge {
				return errors.New("judge down")
			}
			return nil
		}
		res, rec, err := run(t, debate.Config{Consensus: consensus.Judge{}, Rounds: 1}, ps)
		require.NoError(t, err)
		assert.Equal(t, "a", res.Winner)
		var fb *string
		for _, e := range rec.all() {
			if d, ok := e.Data.(debate.ConsensusCheckData); ok {
				fb = d.Fallback
			}
		}
		require.NotNil(t, fb)
		assert.Equal(t, "majority", *fb)
	})
	t.Run("none synthesises", func(t *testing.T) {
		t.Parallel()
		ps, _ := participants("a", "a", "a")
		res, rec, err := run(t, debate.Config{Consensus: consensus.None{}, Rounds: 2}, ps)
		require.NoError(t, err)
		assert.Equal(t, store.StatusNoConsensus, res.Status)
		assert.Equal(t, "synthesised answer", res.FinalAnswer)
		assert.InDelta(t, 0.7, res.Confidence, 1e-9)
		ts := rec.types()
		assert.Equal(t, []debate.EventType{"consensus_check", "debate_end"}, ts[len(ts)-2:])
		assert.NotContains(t, ts, debate.EventVote)
	})
}

func TestObserversIsolated(t *testing.T) {
	t.Parallel()
	ps, _ := participants("a", "a", "a")
	var panics atomic.Int64
	panicky := debate.ObserverFunc(func(e debate.Event) {
		if e.Type == debate.EventProposal {
			panics.Add(1)
			panic("observer bug")
		}
	})
	rec := &recorder{}
	o, err := debate.New(debate.Config{Rounds: 1, Observers: []debate.Observer{panicky, rec}}, ps...)
	require.NoError(t, err)
	res, err := o.Run(context.Background(), "Which database?")
	require.NoError(t, err)
	assert.Equal(t, 3, res.ObserverPanics)
	assert.Equal(t, int64(3), panics.Load())
	assert.Len(t, rec.all(), 17, "the healthy observer sees every event")
	assert.Zero(t, res.ObserverDrops)
}

func TestSlowObserverDropsWithoutBlocking(t *testing.T) {
	t.Parallel()
	ps, _ := participants("a", "a", "a")
	release := make(chan struct{})
	var once sync.Once
	// The first voter releases the slow observer: by then the start,
	// proposal and critique batches (11 events) were published into a
	// buffer of 1, so the debate went on without waiting for it.
	inner := ps[0].Agent
	ps[0].Agent = agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
		if req.Phase == agent.PhaseVote {
			once.Do(func() { close(release) })
		}
		return inner.Respond(ctx, req)
	})
	var seen atomic.Int64
	slow := debate.ObserverFunc(func(debate.Event) {
		<-release
		seen.Add(1)
	})
	o, err := debate.New(debate.Config{Rounds: 1, ObserverBuffer: 1, Observers: []debate.Observer{slow}}, ps...)
	require.NoError(t, err)
	res, err := o.Run(context.Background(), "Which database?")
	require.NoError(t, err)
	assert.Equal(t, store.StatusConsensusReached, res.Status)
	assert.Positive(t, res.ObserverDrops)
	assert.Equal(t, int64(17), seen.Load()+int64(res.ObserverDrops), "every event is either delivered or counted as dropped")
}
