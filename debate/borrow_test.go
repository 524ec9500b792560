package debate_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
)

// borrowingLog is a requestLog that answers at once and borrows its
// prompts (agent.Immediate, agent.PromptBorrower): it keeps a JSON copy
// of each request, never the prompt itself.
type borrowingLog struct{ *requestLog }

func (borrowingLog) Immediate() bool     { return true }
func (borrowingLog) BorrowsPrompt() bool { return true }

// asyncBorrowingLog is a requestLog behind agent.Async that borrows its
// prompts: RespondAsync records the request and computes the answer before
// it returns, then delivers it, from a goroutine every other call. It
// notes where each prompt's bytes were.
type asyncBorrowingLog struct {
	*requestLog
	calls *atomic.Int64
	addrs *sync.Map
}

func (asyncBorrowingLog) BorrowsPrompt() bool { return true }

func (l asyncBorrowingLog) RespondAsync(ctx context.Context, req agent.Request, done func(agent.Response, error)) {
	l.addrs.Store(unsafe.StringData(req.Prompt), true)
	resp, err := l.Respond(ctx, req)
	if l.calls.Add(1)%2 == 0 {
		go done(resp, err)
		return
	}
	done(resp, err)
}

// TestBorrowedPromptsMatch runs every pinned case with agents that borrow
// their prompts, which the engine then writes into reused memory (called
// inline, and behind agent.Async), and with agents called on goroutines
// (fresh prompts): every request, prompt included, must be the same.
func TestBorrowedPromptsMatch(t *testing.T) {
	t.Parallel()
	for _, c := range outputCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			var addrs sync.Map
			run := func(mode string) []string {
				logs := make([]*requestLog, len(c.styles))
				ps := make([]debate.Participant, len(c.styles))
				for i, s := range c.styles {
					logs[i] = &requestLog{a: demo.New(fmt.Sprintf("demo-%c", 'a'+i), s, c.seed)}
					ps[i] = debate.Participant{Name: logs[i].a.Name(), Agent: logs[i]}
					switch mode {
					case "inline":
						ps[i].Agent = borrowingLog{logs[i]}
					case "async":
						ps[i].Agent = asyncBorrowingLog{logs[i], &calls, &addrs}
					}
				}
				cfg := demoConfig()
				c.config(&cfg)
				o, err := debate.New(cfg, ps...)
				require.NoError(t, err)
				question := cmpOr(c.question, outputQuestion)
				for range 2 { // the second debate reuses the first's buffers
					_, err := o.RunTask(context.Background(), debate.Task{ID: "pinned", Question: question, Context: c.context})
					require.NoError(t, err)
				}
				var all []string
				for _, l := range logs {
					all = append(all, l.reqs...)
				}
				slices.Sort(all)
				return all
			}
			fresh := run("goroutines")
			require.NotEmpty(t, fresh)
			require.Equal(t, fresh, run("inline"))
			require.Equal(t, fresh, run("async"))
			if n := calls.Load(); n > 0 { // not when tokens are streamed
				var distinct int64
				addrs.Range(func(any, any) bool { distinct++; return true })
				require.Less(t, distinct, n/4, "async borrowed prompts are not written into reused memory")
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// digestAgent is a demo agent that borrows its prompts and records, for
// each call, a digest of its prompt and where the prompt's bytes are:
// both read the prompt during the call only.
type digestAgent struct {
	*demo.Agent
	mu    *sync.Mutex
	sums  *[]string
	addrs map[*byte]bool
}

func (a digestAgent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	sum := sha256.Sum256([]byte(req.Prompt))
	a.mu.Lock()
	*a.sums = append(*a.sums, fmt.Sprintf("%d %s %s %s %s", req.Round, req.Phase, req.Participant, req.Target, hex.EncodeToString(sum[:])))
	a.addrs[unsafe.StringData(req.Prompt)] = true
	a.mu.Unlock()
	return a.Agent.Respond(ctx, req)
}

// TestBorrowedPromptsReused runs debates at once on one Orchestrator whose
// participants borrow their prompts and whose external judge keeps every
// prompt it gets (an agent.Immediate that is no agent.PromptBorrower): the
// participants' prompts are those of a lone debate, they come from reused
// memory, and the judge's kept prompts are never written again. Then the
// same with a participant that keeps its prompts too, which every phase
// calls: no prompt it got is written again. Run it with -race: debates
// share the reused buffers one after the other.
func TestBorrowedPromptsReused(t *testing.T) {
	t.Parallel()
	const debates = 8
	run := func(n int, keeper bool) (sums []string, addrs, calls int, kept, copies []string) {
		var mu sync.Mutex
		keep := func(prompt string) {
			mu.Lock()
			kept = append(kept, prompt)
			copies = append(copies, strings.Clone(prompt))
			mu.Unlock()
		}
		seen := map[*byte]bool{}
		var ps []debate.Participant
		for i, s := range peerStyles(5) {
			name := fmt.Sprintf("demo-%c", 'a'+i)
			var a agent.Agent = digestAgent{demo.New(name, s, 42), &mu, &sums, seen}
			if keeper && i == 4 {
				d := demo.New(name, s, 42)
				a = immediateFunc{func(ctx context.Context, req agent.Request) (agent.Response, error) {
					keep(req.Prompt)
					return d.Respond(ctx, req)
				}}
			}
			ps = append(ps, debate.Participant{Name: name, Agent: a})
		}
		judge := immediateFunc{func(_ context.Context, req agent.Request) (agent.Response, error) {
			keep(req.Prompt)
			if req.Phase == agent.PhaseJudge {
				return agent.Response{Text: `{"decided":true,"choice":"demo-a","confidence":0.9,"reasoning":"clear"}`}, nil
			}
			return agent.Response{Text: `{"answer":"Migrate in stages.","confidence":0.8}`}, nil
		}}
		cfg := debate.Config{Rounds: 3, DisableEarlyStop: true, Consensus: consensus.Judge{}, Judge: "judge", JudgeAgent: judge}
		o, err := debate.New(cfg, ps...)
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for k := range n {
			wg.Go(func() { _, errs[k] = o.Run(context.Background(), "Should we migrate the billing service to Postgres?") })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		slices.Sort(sums)
		return sums, len(seen), len(sums), kept, copies
	}
	for _, keeper := range []bool{false, true} {
		one, _, _, _, _ := run(1, keeper)
		sums, addrs, calls, kept, copies := run(debates, keeper)
		require.NotEmpty(t, one)
		var want []string
		for _, s := range one {
			for range debates {
				want = append(want, s)
			}
		}
		require.Equal(t, want, sums, "a borrowed prompt differs from a lone debate's")
		if !keeper {
			require.Less(t, addrs, calls/4, "borrowed prompts are not written into reused memory")
		}
		require.NotEmpty(t, kept)
		require.Equal(t, copies, kept, "a prompt kept by its agent was written after its call")
	}
}
