package debate_test

import (
	"context"
	"math"
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

// deaf ignores its context in the calls that stuck selects: it blocks
// until release is closed and then gives the inner agent's valid reply, as
// if it were on time. Elsewhere it is the inner agent.
type deaf struct {
	inner   agent.Agent
	stuck   func(req agent.Request) bool
	release chan struct{}
	// returned is closed when a stuck call has returned; gaveUp is set if
	// the call returned at its own bound, never released.
	returned chan struct{}
	gaveUp   atomic.Bool
	once     sync.Once
}

func newDeaf(inner agent.Agent, stuck func(agent.Request) bool) *deaf {
	return &deaf{inner: inner, stuck: stuck, release: make(chan struct{}), returned: make(chan struct{})}
}

func (d *deaf) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	if !d.stuck(req) {
		return d.inner.Respond(ctx, req)
	}
	defer d.once.Do(func() { close(d.returned) })
	select {
	case <-d.release:
	case <-time.After(30 * time.Second): // a bound, so that a regression fails instead of hanging
		d.gaveUp.Store(true)
	}
	return d.inner.Respond(context.Background(), req)
}

// releaser closes release when it receives the agent_error that ends the
// stuck call: the phase has ended and its batch been delivered while the
// call was still blocked.
type releaser struct {
	agent    string
	phase    agent.Phase
	release  chan struct{}
	released atomic.Bool
	once     sync.Once
}

func (r *releaser) OnEvent(e debate.Event) {
	d, ok := e.Data.(debate.AgentErrorData)
	if !ok || e.Agent != r.agent || d.Phase != r.phase {
		return
	}
	r.once.Do(func() {
		r.released.Store(true)
		close(r.release)
	})
}

// TestLateCallNeverHoldsPhaseOrCounts checks docs/debate.md#quorum-and-timeouts, docs/debate.md#cancellation-and-deadlines in
// every phase: an agent that ignores its context does not hold its phase
// past the call's deadline (the phase's events reach observers while the
// call is still blocked), the call is an agent_error of kind timeout, its
// late reply is discarded, and Run leaves no goroutine behind once the
// call has returned. No assertion depends on how long anything took.
func TestLateCallNeverHoldsPhaseOrCounts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const revised = "A late revision that must never be used."
	tests := []struct {
		name   string
		phase  agent.Phase
		cfg    debate.Config
		stuck  string   // who ignores the context: a participant, "judge" or "synth"
		votes  []string // of a, b, c; default a, a, a
		when   func(agent.Request) bool
		target string // critique target of the agent_error
		check  func(t *testing.T, res *debate.Result, rec *recorder)
	}{
		{
			name: "propose", phase: agent.PhasePropose, stuck: "a", cfg: debate.Config{Rounds: 1}, votes: []string{"b", "b", "b"},
			check: func(t *testing.T, res *debate.Result, rec *recorder) {
				for _, p := range res.Transcript[0].Proposals {
					assert.NotEqual(t, "a", p.Agent, "the late proposal is discarded")
				}
				assert.NotContains(t, eventsOf(rec, debate.EventProposal), "a")
			},
		},
		{
			name: "critique", phase: agent.PhaseCritique, stuck: "a", target: "b", cfg: debate.Config{Rounds: 1},
			when: func(req agent.Request) bool { return req.Target == "b" },
			check: func(t *testing.T, res *debate.Result, rec *recorder) {
				var pairs []string
				for _, c := range res.Transcript[0].Critiques {
					pairs = append(pairs, c.Critic+">"+c.Target)
				}
				assert.NotContains(t, pairs, "a>b", "the late critique is discarded")
				assert.Contains(t, pairs, "a>c", "a's other critique counts")
			},
		},
		{
			name: "revise", phase: agent.PhaseRevise, stuck: "a", cfg: debate.Config{Rounds: 2, DisableEarlyStop: true},
			check: func(t *testing.T, res *debate.Result, rec *recorder) {
				require.Len(t, res.Transcript, 2)
				p := res.Transcript[1].Proposals[0]
				assert.Equal(t, "a", p.Agent)
				assert.True(t, p.Carried, "a keeps its round-1 proposal")
				assert.Equal(t, texts["a"], p.Text)
				for _, e := range rec.all() {
					if d, ok := e.Data.(debate.ProposalData); ok {
						assert.NotEqual(t, revised, d.Content)
					}
				}
			},
		},
		{
			name: "vote", phase: agent.PhaseVote, stuck: "a", cfg: debate.Config{Rounds: 1},
			check: func(t *testing.T, res *debate.Result, rec *recorder) {
				assert.Equal(t, []string{"a"}, res.Consensus.Abstaining)
				assert.NotContains(t, eventsOf(rec, debate.EventVote), "a")
			},
		},
		{
			name: "vote, one call at a time: the slot is freed at the deadline", phase: agent.PhaseVote, stuck: "a",
			cfg: debate.Config{Rounds: 1, MaxConcurrency: 1},
			check: func(t *testing.T, res *debate.Result, rec *recorder) {
				assert.Equal(t, []string{"a"}, res.Consensus.Abstaining)
				assert.Equal(t, []string{"b", "c"}, eventsOf(rec, debate.EventVote))
			},
		},
		{
			name: "judge", phase: agent.PhaseJudge, stuck: "judge", cfg: debate.Config{Rounds: 1, Consensus: consensus.Judge{}},
			check: func(t *testing.T, res *debate.Result, rec *recorder) {
				var d debate.ConsensusCheckData
				for _, e := range rec.all() {
					if e.Type == debate.EventConsensusCheck {
						d = e.Data.(debate.ConsensusCheckData)
					}
				}
				require.NotNil(t, d.Fallback, "the round is decided by majority")
				assert.Equal(t, "majority", *d.Fallback)
				assert.Equal(t, "a", res.Winner, "the late judgement (c) is discarded")
			},
		},
		{
			name: "synthesize", phase: agent.PhaseSynthesize, stuck: "synth", cfg: debate.Config{Rounds: 1, Consensus: consensus.None{}},
			check: func(t *testing.T, res *debate.Result, rec *recorder) {
				assert.NotEqual(t, "synthesised answer", res.FinalAnswer, "the late synthesis is discarded")
				assert.Contains(t, res.FinalAnswer, "[a]\n"+texts["a"], "the final answer is the digest")
				assert.InDelta(t, 0.5, res.Confidence, 1e-9)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			votes := tt.votes
			if votes == nil {
				votes = []string{"a", "a", "a"}
			}
			ps, fakes := participants(votes...)
			judge := &fake{vote: "c"}
			synth := &fake{}
			var inner agent.Agent
			name := tt.stuck
			switch tt.stuck {
			case "judge":
				inner = judge
			case "synth":
				inner, name = synth, "synthesizer"
			default:
				f := fakes[tt.stuck]
				inner = agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
					if req.Phase == agent.PhaseRevise {
						return agent.Response{Text: revised}, nil
					}
					return f.Respond(ctx, req)
				})
			}
			when := tt.when
			if when == nil {
				when = func(agent.Request) bool { return true }
			}
			d := newDeaf(inner, func(req agent.Request) bool { return req.Phase == tt.phase && when(req) })
			switch tt.stuck {
			case "judge":
				tt.cfg.JudgeAgent = d
			case "synth":
				tt.cfg.SynthesizerAgent = d
			default:
				ps[0].Agent = d
			}
			rel := &releaser{agent: name, phase: tt.phase, release: d.release}
			tt.cfg.AgentTimeout = time.Second // generous: the honest fakes must answer even on a loaded machine
			tt.cfg.Observers = []debate.Observer{rel}
			res, rec, err := run(t, tt.cfg, ps)
			require.NoError(t, err)
			assert.True(t, rel.released.Load(), "the phase's agent_error was delivered")
			assert.False(t, d.gaveUp.Load(), "the phase ended while the call was still blocked")
			var errs []debate.AgentErrorData
			for _, e := range rec.all() {
				if e.Type == debate.EventAgentError {
					require.Equal(t, name, e.Agent)
					errs = append(errs, e.Data.(debate.AgentErrorData))
				}
			}
			require.Len(t, errs, 1)
			assert.Equal(t, agent.KindTimeout, errs[0].Kind)
			assert.Equal(t, tt.phase, errs[0].Phase)
			if tt.target != "" {
				require.NotNil(t, errs[0].Target)
				assert.Equal(t, tt.target, *errs[0].Target)
			}
			tt.check(t, res, rec)
			select {
			case <-d.returned: // Run waited for the late call's goroutine
			default:
				t.Fatal("Run returned before the late call it had released")
			}
		})
	}
}

// eventsOf returns the agents of the events of type typ, in order.
func eventsOf(rec *recorder, typ debate.EventType) []string {
	var agents []string
	for _, e := range rec.all() {
		if e.Type == typ {
			agents = append(agents, e.Agent)
		}
	}
	return agents
}

// TestConsensusThresholdRange: New refuses a consensus threshold outside
// (0, 1] for every method that has one, naming the field; the zero value
// keeps meaning the method's default.
func TestConsensusThresholdRange(t *testing.T) {
	t.Parallel()
	ps, _ := participants("a", "a")
	methods := map[string]func(th float64) consensus.Method{
		"supermajority":  func(th float64) consensus.Method { return consensus.Supermajority{Threshold: th} },
		"weighted":       func(th float64) consensus.Method { return consensus.Weighted{Threshold: th} },
		"*supermajority": func(th float64) consensus.Method { return &consensus.Supermajority{Threshold: th} },
		"*weighted":      func(th float64) consensus.Method { return &consensus.Weighted{Threshold: th} },
	}
	for name, method := range methods {
		for _, th := range []float64{-0.1, 1.0000001, 1.5, math.NaN(), math.Inf(1), math.Inf(-1), -1e-300} {
			_, err := debate.New(debate.Config{Consensus: method(th)}, ps...)
			require.ErrorIs(t, err, debate.ErrInvalidConfig, "%s %v", name, th)
			assert.Contains(t, err.Error(), "Consensus", "%s %v", name, th)
			assert.Contains(t, err.Error(), "Threshold", "%s %v", name, th)
		}
		for _, th := range []float64{1.0, 2.0 / 3, 0.5, 1e-9} {
			_, err := debate.New(debate.Config{Consensus: method(th)}, ps...)
			assert.NoError(t, err, "%s %v", name, th)
		}
		o, err := debate.New(debate.Config{Consensus: method(0), Rounds: 1}, ps...)
		require.NoError(t, err, "%s: the zero Threshold is the default", name)
		res, err := o.Run(context.Background(), "q?")
		require.NoError(t, err)
		want := map[string]float64{"supermajority": 2.0 / 3, "weighted": 0.6}[name[len(name)-len(res.Method):]]
		require.NotNil(t, res.Consensus.Threshold)
		assert.InDelta(t, want, *res.Consensus.Threshold, 1e-12, name)
	}
	_, err := debate.New(debate.Config{Consensus: (*consensus.Weighted)(nil)}, ps...)
	require.ErrorIs(t, err, debate.ErrInvalidConfig)
	for _, bad := range []debate.Config{{GroupingThreshold: math.NaN()}, {ConvergenceThreshold: math.NaN()},
		{Trickster: debate.Trickster{Sensitivity: math.NaN()}}} {
		_, err := debate.New(bad, ps...)
		require.ErrorIs(t, err, debate.ErrInvalidConfig, "NaN is out of every range")
	}
}

// TestSynthesizer: the synthesiser is the judge unless Config.Synthesizer
// names another participant (or the external judge), or SynthesizerAgent
// brings an external one.
func TestSynthesizer(t *testing.T) {
	t.Parallel()
	synthesiserOf := func(t *testing.T, cfg debate.Config, ps []debate.Participant) string {
		t.Helper()
		cfg.Consensus, cfg.Rounds = consensus.None{}, 1
		_, rec, err := run(t, cfg, ps)
		require.NoError(t, err)
		checks := eventsOf(rec, debate.EventConsensusCheck)
		require.Len(t, checks, 1)
		return checks[0]
	}
	callsTo := func(f *fake) int64 { return f.calls.Load() }
	t.Run("default: the judge, the last participant", func(t *testing.T) {
		t.Parallel()
		ps, _ := participants("a", "a", "a")
		assert.Equal(t, "c", synthesiserOf(t, debate.Config{}, ps))
	})
	t.Run("default follows Judge", func(t *testing.T) {
		t.Parallel()
		ps, _ := participants("a", "a", "a")
		assert.Equal(t, "b", synthesiserOf(t, debate.Config{Judge: "b"}, ps))
	})
	t.Run("a participant", func(t *testing.T) {
		t.Parallel()
		ps, _ := participants("a", "a", "a")
		assert.Equal(t, "a", synthesiserOf(t, debate.Config{Judge: "b", Synthesizer: "a"}, ps))
	})
	t.Run("the external judge by name", func(t *testing.T) {
		t.Parallel()
		ps, _ := participants("a", "a", "a")
		j := &fake{}
		assert.Equal(t, "referee", synthesiserOf(t, debate.Config{JudgeAgent: j, Judge: "referee", Synthesizer: "referee"}, ps))
		assert.Equal(t, int64(1), callsTo(j))
	})
	t.Run("an external agent", func(t *testing.T) {
		t.Parallel()
		ps, _ := participants("a", "a", "a")
		s := &fake{}
		assert.Equal(t, "synthesizer", synthesiserOf(t, debate.Config{SynthesizerAgent: s}, ps))
		assert.Equal(t, int64(1), callsTo(s))
		s2 := &fake{}
		assert.Equal(t, "scribe", synthesiserOf(t, debate.Config{SynthesizerAgent: s2, Synthesizer: "scribe"}, ps))
	})
	t.Run("Synthesize under majority", func(t *testing.T) {
		t.Parallel()
		ps, _ := participants("a", "a", "a")
		s := &fake{}
		res, _, err := run(t, debate.Config{Rounds: 1, Synthesize: true, SynthesizerAgent: s}, ps)
		require.NoError(t, err)
		assert.Equal(t, "synthesised answer", res.Synthesis)
		assert.Equal(t, int64(1), callsTo(s))
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		ps, _ := participants("a", "a")
		for _, cfg := range []debate.Config{{Synthesizer: "zed"}, {SynthesizerAgent: &fake{}, Synthesizer: "bad name"}} {
			_, err := debate.New(cfg, ps...)
			require.ErrorIs(t, err, debate.ErrInvalidConfig)
			assert.Contains(t, err.Error(), "synthesizer")
		}
	})
}

// cancelOnCritique makes every fake's critique call hang and cancel the
// returned context; critiques counts the critique calls that started.
func cancelOnCritique(t *testing.T, fakes map[string]*fake) (ctx context.Context, critiques *atomic.Int64) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	critiques = new(atomic.Int64)
	for _, f := range fakes {
		f.hang = func(req agent.Request) bool {
			if req.Phase == agent.PhaseCritique {
				critiques.Add(1)
				cancel()
				return true
			}
			return false
		}
	}
	return ctx, critiques
}

// TestCancelWithQueuedCalls: cancelling a debate while calls wait for a
// slot ends them with the cancellation, starts none of them, and leaves no
// goroutine behind.
func TestCancelWithQueuedCalls(t *testing.T) {
	t.Parallel()
	ps, fakes := participants("a", "a", "a")
	ctx, critiques := cancelOnCritique(t, fakes)
	o, err := debate.New(debate.Config{MaxConcurrency: 1}, ps...)
	require.NoError(t, err)
	res, err := o.Run(ctx, "Which database?")
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, store.StatusCancelled, res.Status)
	assert.Equal(t, int64(1), critiques.Load(), "the 5 queued critiques never started")
}
