package debate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/store"
)

// Orchestrator runs debates among a fixed list of participants. It is safe
// for concurrent use: each Run or Resume is independent.
type Orchestrator struct {
	cfg Config
	// wallNow is set when cfg.Now is time.Now (Config.Now unset): a call
	// then reads the clock once as it starts and once as it returns, for
	// both its deadline and its latency (run.start, run.finish).
	wallNow      bool
	ps           []Participant
	names        []string
	quorum       int
	judge        role
	synth        role // the synthesiser
	log          *slog.Logger
	checkpointer store.Checkpointer
	// fp is the fingerprint of the settings and participants, computed once
	// (they do not change).
	fp string
	// system holds the participants' system prompts, by participant and
	// phase, built on first use and shared by every run (a prompt depends
	// only on the participant and the phase, except the devil's advocate's,
	// which names the previous leader and is kept per run).
	system []atomic.Pointer[string]
	// labels are the prompt labels naming each participant.
	labels []quoteLabels
	// pairNames are the names of the convergence pairs, "a|b" for
	// participants a < b, by a*n+b (nil beyond maxNamedPairs participants).
	pairNames []string
	// bufs and specs hold the phase buffers (*runBufs) and spec buffers
	// (*[]callSpec) of runs that need them no more (run.bufs), evidence
	// their evidence checkpoints (*[]evidence.Checkpoint, run.evidence),
	// scratch their phase scratch buffers (*phaseScratch).
	bufs, specs, evidence, scratch sync.Pool
}

// quoteLabels are the heads (quoteHead) of the quotes that name one
// participant.
type quoteLabels struct {
	current, target, proposal, critique string
}

// pairName is the name of the pair of participants a < b in a
// convergence event, "a|b".
func (o *Orchestrator) pairName(a, b int) string {
	if o.pairNames == nil {
		return o.names[a] + "|" + o.names[b]
	}
	return o.pairNames[a*len(o.names)+b]
}

// maxNamedPairs bounds the participants whose pair names New makes.
const maxNamedPairs = 16

// critiqueLabel is the head of a critique by critic in a reviser's
// prompt.
func (o *Orchestrator) critiqueLabel(critic string) string {
	if i := o.index(critic); i >= 0 {
		return o.labels[i].critique
	}
	return quoteHead("Critique from " + critic)
}

// New returns an Orchestrator, or an error wrapping ErrInvalidConfig for a
// bad cfg or fewer than two participants.
func New(cfg Config, participants ...Participant) (*Orchestrator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := validateParticipants(participants); err != nil {
		return nil, err
	}
	wall := cfg.Now == nil
	cfg = cfg.withDefaults()
	n := len(participants)
	o := &Orchestrator{cfg: cfg, wallNow: wall, ps: slices.Clone(participants), log: cfg.Logger}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range participants {
		o.names = append(o.names, p.Name)
	}
	o.quorum = cfg.Quorum
	if o.quorum == 0 {
		o.quorum = max(2, (n+1)/2)
	}
	if o.quorum > n {
		if cfg.Quorum != 0 {
			return nil, fmt.Errorf("%w: quorum %d exceeds %d participants", ErrInvalidConfig, cfg.Quorum, n)
		}
		o.quorum = n
	}
	if cfg.Moderator != "" && o.index(cfg.Moderator) < 0 {
		return nil, fmt.Errorf("%w: moderator %q is not a participant", ErrInvalidConfig, cfg.Moderator)
	}
	last := role{idx: n - 1, name: o.names[n-1], agent: o.ps[n-1].Agent}
	var err error
	if o.judge, err = o.resolveRole("judge", cfg.Judge, cfg.JudgeAgent, extJudge, last); err != nil {
		return nil, err
	}
	if o.synth, err = o.resolveRole("synthesizer", cfg.Synthesizer, cfg.SynthesizerAgent, extSynth, o.judge); err != nil {
		return nil, err
	}
	if cp, ok := cfg.Store.(store.Checkpointer); ok {
		o.checkpointer = cp
	}
	o.fp = o.fingerprint()
	o.system = make([]atomic.Pointer[string], n*numPhases)
	if n <= maxNamedPairs {
		o.pairNames = make([]string, n*n)
		for a := range n {
			for b := a + 1; b < n; b++ {
				o.pairNames[a*n+b] = o.names[a] + "|" + o.names[b]
			}
		}
	}
	for _, name := range o.names {
		o.labels = append(o.labels, quoteLabels{current: quoteHead("Current proposal of " + name),
			target: quoteHead("Proposal of " + name + " (the target)"), proposal: quoteHead("Proposal of " + name),
			critique: quoteHead("Critique from " + name)})
	}
	return o, nil
}

// Indexes of the external, non-debating agents (Config.JudgeAgent and
// Config.SynthesizerAgent) where a participant index is expected.
const (
	extJudge = -1
	extSynth = -2
)

// role is the judge or the synthesiser: a participant or an external agent.
type role struct {
	idx   int // participant index, extJudge or extSynth
	name  string
	agent agent.Agent
}

// resolveRole applies the rule of Config.Judge and Config.Synthesizer:
// with ext set, the external agent called name (what when empty); else
// the participant called name, or def named as such, or def when name is
// empty.
func (o *Orchestrator) resolveRole(what, name string, ext agent.Agent, extIdx int, def role) (role, error) {
	switch {
	case ext != nil:
		if name == "" {
			name = what
		}
		if !ValidName(name) {
			return role{}, fmt.Errorf("%w: %s name %q must be 1-64 characters of [A-Za-z0-9._-]", ErrInvalidConfig, what, name)
		}
		return role{idx: extIdx, name: name, agent: ext}, nil
	case name == "" || name == def.name:
		return def, nil
	}
	i := o.index(name)
	if i < 0 {
		return role{}, fmt.Errorf("%w: %s %q is not a participant (set %s%sAgent for an external %[2]s)", ErrInvalidConfig,
			what, name, strings.ToUpper(what[:1]), what[1:])
	}
	return role{idx: i, name: o.names[i], agent: o.ps[i].Agent}, nil
}

func (o *Orchestrator) index(name string) int {
	for i, n := range o.names {
		if n == name {
			return i
		}
	}
	return -1
}

// Participants returns the participant names in agent order.
func (o *Orchestrator) Participants() []string { return slices.Clone(o.names) }

// Quorum returns the effective quorum.
func (o *Orchestrator) Quorum() int { return o.quorum }

// Run debates question with a generated id. See RunTask.
func (o *Orchestrator) Run(ctx context.Context, question string) (*Result, error) {
	return o.RunTask(ctx, Task{Question: question})
}

// RunTask runs one debate to its end (docs/debate.md#flow). It returns a non-nil
// Result whenever the debate started; the error is nil for
// consensus_reached, no_consensus and budget_exceeded, and otherwise wraps
// ErrQuorum, the store error, context.Canceled, context.DeadlineExceeded or
// ErrSuspend. Run returns only after every goroutine it started has exited
// (an agent ignoring its context for more than 5 s is abandoned and logged).
func (o *Orchestrator) RunTask(ctx context.Context, t Task) (*Result, error) {
	q := strings.TrimSpace(t.Question)
	if q == "" {
		return nil, fmt.Errorf("%w: question is blank", ErrInvalidConfig)
	}
	if runes(t.Question) > 10000 {
		return nil, fmt.Errorf("%w: question exceeds 10000 characters", ErrInvalidConfig)
	}
	id := t.ID
	if id == "" {
		id = o.newID()
	}
	if !ValidName(id) {
		return nil, fmt.Errorf("%w: debate id %q must be 1-64 characters of [A-Za-z0-9._-]", ErrInvalidConfig, id)
	}
	st := &state{
		DebateID:    id,
		Fingerprint: o.fp,
		Question:    t.Question,
		Context:     t.Context,
		Metadata:    t.Metadata,
		Names:       o.names,
		Round:       1,
		Status:      store.StatusRunning,
		StartedAt:   o.cfg.Now(),
		PerAgent:    make([]agentTotals, len(o.ps)),
		Current:     make([]proposalState, len(o.ps)),
		Proposed:    make([]bool, len(o.ps)),
	}
	weights, err := o.weights(ctx)
	if err != nil {
		return nil, err
	}
	st.Weights = weights
	o.recall(ctx, st)
	r := o.newRun(st)
	return r.execute(ctx, true)
}

// ResumeOptions controls Resume.
type ResumeOptions struct {
	// Replay redelivers the stored events with seq > AfterSeq to observers
	// before continuing, each marked Replayed.
	Replay   bool
	AfterSeq int64
}

// Resume continues an interrupted debate from its latest checkpoint
// (docs/debate.md#persistence-and-resume). The Orchestrator must have the same participants and
// config as the interrupted run. It returns ErrNoStore without a
// checkpointing store, an error wrapping store.ErrNotFound without a
// checkpoint, the stored result and ErrFinished for a finished debate, and
// ErrInvalidConfig for different participants or settings.
func (o *Orchestrator) Resume(ctx context.Context, id string, opts ResumeOptions) (*Result, error) {
	if o.checkpointer == nil {
		return nil, ErrNoStore
	}
	cp, err := o.checkpointer.LatestCheckpoint(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("debate: resume %q: %w", id, err)
	}
	var st state
	if err := json.Unmarshal(cp.State, &st); err != nil {
		return nil, fmt.Errorf("debate: resume %q: decode checkpoint: %w", id, err)
	}
	if !slices.Equal(st.Names, o.names) {
		return nil, fmt.Errorf("%w: resume %q: participants %v differ from the checkpoint's %v", ErrInvalidConfig, id, o.names, st.Names)
	}
	if st.Fingerprint != o.fp {
		return nil, fmt.Errorf("%w: resume %q: settings differ from the interrupted run", ErrInvalidConfig, id)
	}
	if store.Terminal(st.Status) {
		// Recording is idempotent: this covers a process that died between
		// the final checkpoint and the rating update.
		o.recordRatings(ctx, &st, st.Final)
		return st.Final, ErrFinished
	}
	st.Resumes++
	r := o.newRun(&st)
	if opts.Replay {
		evs, err := o.checkpointer.ListEvents(ctx, id, opts.AfterSeq, 0)
		if err != nil {
			return nil, fmt.Errorf("debate: resume %q: replay: %w", id, err)
		}
		for _, se := range evs {
			var e Event
			if err := json.Unmarshal(se.JSON, &e); err != nil {
				return nil, fmt.Errorf("debate: resume %q: replay event %d: %w", id, se.Seq, err)
			}
			e.Replayed = true
			r.obs.publish(e)
			r.delivered = e.Seq
		}
	}
	return r.execute(ctx, false)
}

func (o *Orchestrator) newID() string {
	if o.cfg.NewID != nil {
		return o.cfg.NewID()
	}
	var b [8]byte
	rd := o.cfg.Rand
	if rd == nil {
		rd = rand.Reader
	}
	if _, err := io.ReadFull(rd, b[:]); err != nil {
		// crypto/rand never fails on supported platforms; fall back to time.
		return fmt.Sprintf("%016x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}

// fingerprint hashes every setting that affects behaviour (docs/debate.md#persistence-and-resume).
func (o *Orchestrator) fingerprint() string {
	c := o.cfg
	type pfp struct {
		Name, Stance, Role, Model string
		Intensity                 int
		Weight                    float64
	}
	var ps []pfp
	for i := range o.ps {
		p := &o.ps[i]
		ps = append(ps, pfp{p.Name, string(p.Stance), p.Role, p.Model, intensity(p), p.Weight})
	}
	thr := consensus.ThresholdOf(c.Consensus)
	fp := struct {
		Participants                                   []pfp
		Rounds, MinRounds                              int
		EarlyStop                                      bool
		Method                                         consensus.MethodName
		Threshold                                      *float64
		Topology                                       Topology
		SparseK                                        int
		Judge                                          string
		Synthesize, ForbidSelfVote, Grouping           bool
		GroupingThreshold, ConvergenceThreshold        float64
		Convergence, StopOnConvergence, Trickster, ELO bool
		Similarity, Domain                             string
		MaxTokens                                      int
		MaxCostUSD                                     float64
		Seed                                           int64
		// Synthesizer is set only when it is not the judge, so that the
		// fingerprints of debates checkpointed before it existed still
		// match (docs/debate.md#persistence-and-resume).
		Synthesizer string `json:",omitempty"`
	}{ps, c.Rounds, c.MinRounds, !c.DisableEarlyStop, c.Consensus.Name(), thr, c.Topology, c.SparseK, o.judge.name,
		c.Synthesize, c.ForbidSelfVote, !c.DisableVoteGrouping, c.GroupingThreshold, c.ConvergenceThreshold,
		!c.DisableConvergence, c.StopOnConvergence, c.Trickster.Enabled, c.WeightsFromELO, c.Similarity.Name(), c.Domain,
		c.MaxTokens, c.MaxCostUSD, c.Seed, ""}
	if o.synth.name != o.judge.name {
		fp.Synthesizer = o.synth.name
	}
	b, _ := json.Marshal(fp)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// weights fixes each participant's vote weight at the start (docs/debate.md#consensus).
func (o *Orchestrator) weights(ctx context.Context) ([]float64, error) {
	w := make([]float64, len(o.ps))
	ratings := map[string]float64{}
	if o.cfg.WeightsFromELO {
		domains := []string{""}
		if o.cfg.Domain != "" {
			domains = append(domains, o.cfg.Domain) // domain ratings win
		}
		for _, d := range domains {
			rs, err := o.cfg.Ratings.Ratings(ctx, d)
			if err != nil {
				return nil, fmt.Errorf("debate: ratings: %w", err)
			}
			for _, r := range rs {
				ratings[r.Agent] = r.Elo
			}
		}
	}
	for i, p := range o.ps {
		switch {
		case o.cfg.WeightsFromELO:
			r, ok := ratings[p.Name]
			if !ok {
				r = 1500
			}
			w[i] = math.Min(2, math.Max(0.5, 1+0.3*(r-1500)/500))
		case p.Weight > 0:
			w[i] = p.Weight
		default:
			w[i] = 1
		}
	}
	return w, nil
}

var _ = errors.New
