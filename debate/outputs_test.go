package debate_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/similarity"
	"github.com/aragora/aragora/store/memstore"
)

// updateOutputs rewrites testdata/outputs. The files pin what the engine
// produces (results, receipts, events, stored checkpoints, every prompt)
// so that a change made for speed cannot change a debate; rewrite them
// only for a deliberate change of behaviour, never to make a speed-up pass.
var updateOutputs = flag.Bool("update-outputs", false, "rewrite testdata/outputs (deliberate behaviour changes only)")

// outputCase is one pinned debate: participants (demo agents with a seed)
// and a configuration.
type outputCase struct {
	name     string
	seed     int64
	styles   []demo.Style
	question string // default outputQuestion
	context  string
	config   func(*debate.Config)
}

// peerStyles cycles supportive, critical, balanced over n agents, as the
// peer benchmark does (docs/BENCHMARKS.md).
func peerStyles(n int) []demo.Style {
	cycle := []demo.Style{demo.StyleSupportive, demo.StyleCritical, demo.StyleBalanced}
	out := make([]demo.Style, n)
	for i := range out {
		out[i] = cycle[i%len(cycle)]
	}
	return out
}

var allStyles = []demo.Style{demo.StyleSupportive, demo.StyleCritical, demo.StyleBalanced, demo.StyleContrarian, demo.StyleHollow}

var outputCases = []outputCase{
	{name: "tight-prompts", seed: 13, styles: peerStyles(5), config: func(c *debate.Config) {
		c.Rounds, c.DisableEarlyStop = 3, true
		c.MaxPromptRunes, c.MaxQuoteRunes, c.MaxContextRunes = 3000, 400, 300
	}, question: "Sollen wir den Abrechnungsdienst auf Postgres migrieren — ja oder nein? « Übergang » ```code```",
		context: strings.Repeat("Kontext: Übergangsfrist 90 Tage, Kosten 40 % höher, Risiko ‘mittel’. ", 12)},
	{name: "peer-seed42", seed: 42, styles: peerStyles(5), config: func(c *debate.Config) {
		c.Rounds, c.DisableEarlyStop = 3, true
	}},
	{name: "peer-seed7", seed: 7, styles: peerStyles(5), config: func(c *debate.Config) {
		c.Rounds, c.DisableEarlyStop = 3, true
	}},
	{name: "early-stop", seed: 42, styles: peerStyles(4), config: func(c *debate.Config) {
		c.Rounds = 4
	}},
	{name: "trickster-judge", seed: 11, styles: allStyles, config: func(c *debate.Config) {
		c.Rounds, c.DisableEarlyStop = 3, true
		c.Trickster.Enabled = true
		c.Consensus = consensus.Judge{}
		c.Synthesize = true
	}},
	{name: "hollow-trickster", seed: 7, styles: []demo.Style{demo.StyleHollow, demo.StyleHollow, demo.StyleHollow}, question: "Which option is better?", config: func(c *debate.Config) {
		c.Trickster.Enabled = true
	}},
	{name: "hollow-converge-stop", seed: 5, styles: []demo.Style{demo.StyleHollow, demo.StyleHollow, demo.StyleSupportive}, config: func(c *debate.Config) {
		c.Rounds, c.DisableEarlyStop = 4, true
		c.StopOnConvergence = true
	}},
	{name: "jaccard-ring-none", seed: 3, styles: allStyles, config: func(c *debate.Config) {
		c.Rounds, c.DisableEarlyStop = 2, true
		c.Similarity = similarity.Jaccard{}
		c.Topology = debate.TopologyRing
		c.Consensus = consensus.None{}
	}},
	{name: "sparse-supermajority-selfvote", seed: 9, styles: peerStyles(6), config: func(c *debate.Config) {
		c.Rounds, c.DisableEarlyStop = 3, true
		c.Topology = debate.TopologySparse
		c.Consensus = consensus.Supermajority{}
		c.ForbidSelfVote = true
	}, question: "Should the city replace its diesel buses with electric ones by 2030?"},
	{name: "star-weighted-stream", seed: 21, styles: peerStyles(3), config: func(c *debate.Config) {
		c.Rounds, c.DisableEarlyStop = 2, true
		c.Topology = debate.TopologyStar
		c.Consensus = consensus.Weighted{}
		c.StreamTokens = true
	}},
}

// requestLog wraps an agent and records every request it receives.
type requestLog struct {
	a    *demo.Agent
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) record(req agent.Request) {
	b, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, string(b))
	l.mu.Unlock()
}

func (l *requestLog) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	l.record(req)
	return l.a.Respond(ctx, req)
}

func (l *requestLog) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	l.record(req)
	return l.a.RespondStream(ctx, req, onChunk)
}

func (l *requestLog) Describe() agent.Info { return l.a.Describe() }

// pinned is what one case produces; every field is compared byte for byte.
type pinned struct {
	Result         json.RawMessage `json:"result"`
	Events         json.RawMessage `json:"events"`
	StoredEvents   string          `json:"stored_events_sha256"`
	FinalState     json.RawMessage `json:"final_state"`
	Requests       int             `json:"requests"`
	RequestsSHA256 string          `json:"requests_sha256"`
}

// outputQuestion is the question of the pinned cases unless one sets its own.
const outputQuestion = "Should we migrate the billing service to Postgres?"

// runOutputCase runs c three ways: bare demo agents without observer or
// store (the benchmark's setting), bare agents with an observer and a
// store, and agents wrapped to log their requests. The result must be the
// same in all three.
func runOutputCase(t *testing.T, c outputCase) pinned {
	t.Helper()
	question := c.question
	if question == "" {
		question = outputQuestion
	}
	build := func(wrap bool, withIO bool) (*debate.Orchestrator, *recorder, *memstore.Store, []*requestLog) {
		cfg := demoConfig()
		c.config(&cfg)
		var rec *recorder
		var st *memstore.Store
		if withIO {
			rec = &recorder{}
			st = memstore.New()
			cfg.Observers = []debate.Observer{rec}
			cfg.Store = st
		}
		var logs []*requestLog
		ps := make([]debate.Participant, len(c.styles))
		for i, s := range c.styles {
			name := fmt.Sprintf("demo-%c", 'a'+i)
			a := demo.New(name, s, c.seed)
			ps[i] = debate.Participant{Name: name, Agent: a}
			if wrap {
				l := &requestLog{a: a}
				logs = append(logs, l)
				ps[i].Agent = l
			}
		}
		o, err := debate.New(cfg, ps...)
		require.NoError(t, err)
		return o, rec, st, logs
	}
	marshal := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return b
	}
	ctx := context.Background()

	o, _, _, _ := build(false, false)
	bare, err := o.RunTask(ctx, debate.Task{ID: "pinned", Question: question, Context: c.context})
	require.NoError(t, err)

	o, rec, st, _ := build(false, true)
	res, err := o.RunTask(ctx, debate.Task{ID: "pinned", Question: question, Context: c.context})
	require.NoError(t, err)
	var p pinned
	p.Result = marshal(res)
	require.Equal(t, string(p.Result), string(marshal(bare)), "a debate without observer or store must give the same result")
	p.Events = marshal(ordered(rec.all()))
	stored := storedEvents(t, st, "pinned")
	sum := sha256.Sum256(marshal(stored))
	p.StoredEvents = hex.EncodeToString(sum[:])
	cp, err := st.LatestCheckpoint(ctx, "pinned")
	require.NoError(t, err)
	p.FinalState = cp.State

	o, _, _, logs := build(true, false)
	wrapped, err := o.RunTask(ctx, debate.Task{ID: "pinned", Question: question, Context: c.context})
	require.NoError(t, err)
	require.Equal(t, string(p.Result), string(marshal(wrapped)), "wrapping the agents must not change the result")
	var all []string
	for _, l := range logs {
		all = append(all, l.reqs...)
	}
	slices.Sort(all) // calls run concurrently: their order is not part of the output
	sum = sha256.Sum256([]byte(strings.Join(all, "\n")))
	p.Requests, p.RequestsSHA256 = len(all), hex.EncodeToString(sum[:])
	return p
}

// ordered returns evs with the token events of concurrent calls, which
// interleave in any order (a critic's calls on several targets too), sorted
// by round, agent, phase, index and text; the
// durable events keep their order.
func ordered(evs []debate.Event) []debate.Event {
	var durable, tokens []debate.Event
	for _, e := range evs {
		if e.Type == debate.EventAgentToken {
			tokens = append(tokens, e)
		} else {
			durable = append(durable, e)
		}
	}
	slices.SortStableFunc(tokens, func(a, b debate.Event) int {
		da, db := a.Data.(debate.AgentTokenData), b.Data.(debate.AgentTokenData)
		return cmp.Or(cmp.Compare(a.Round, b.Round), cmp.Compare(a.Agent, b.Agent),
			cmp.Compare(da.Phase, db.Phase), cmp.Compare(da.Index, db.Index), cmp.Compare(da.Text, db.Text))
	})
	return append(durable, tokens...)
}

func encodePinned(t *testing.T, p pinned) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	require.NoError(t, enc.Encode(p))
	return buf.Bytes()
}

// TestOutputsPinned runs fixed-seed debates over the engine's paths
// (topologies, consensus methods, trickster, convergence stop, early stop,
// streaming, synthesis) and compares everything they produce with the
// files written from the engine before any speed work: results with their
// receipts, observed and stored events, the final checkpoint state, and a
// digest of every request the agents received (prompts included).
func TestOutputsPinned(t *testing.T) {
	t.Parallel()
	for _, c := range outputCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := encodePinned(t, runOutputCase(t, c))
			path := filepath.Join("testdata", "outputs", c.name+".json")
			if *updateOutputs {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, got, 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}
