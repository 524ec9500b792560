package debate

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/evidence"
	"github.com/aragora/aragora/internal/enum"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/similarity"
	"github.com/aragora/aragora/store"
)

// Sentinel errors (docs/debate.md#conventions).
var (
	// ErrInvalidConfig reports a bad Config, participant list or task.
	ErrInvalidConfig = errors.New("debate: invalid config")
	// ErrQuorum reports that fewer than Quorum agents answered a phase.
	ErrQuorum = errors.New("debate: quorum not met")
	// ErrFinished is returned by Resume for a debate that already ended.
	ErrFinished = errors.New("debate: already finished")
	// ErrNoStore is returned by Resume without a store implementing store.Checkpointer.
	ErrNoStore = errors.New("debate: no checkpoint store")
	// ErrSuspend, used as a context cause (context.WithCancelCause), suspends
	// a debate: the phase in flight is discarded, the stored status stays
	// running and Run returns ErrSuspend (docs/debate.md#cancellation-and-deadlines).
	ErrSuspend = errors.New("debate: suspended")
)

// Topology is who critiques whom (docs/debate.md#topologies). Its JSON
// form is its name; decoding rejects an unknown name.
type Topology string

// Topologies.
const (
	TopologyAllToAll Topology = "all-to-all"
	TopologyRing     Topology = "ring"
	TopologyStar     Topology = "star"
	TopologySparse   Topology = "sparse"
)

// Topologies lists every Topology.
var Topologies = []Topology{TopologyAllToAll, TopologyRing, TopologyStar, TopologySparse}

// ParseTopology returns the Topology named s ("all" is all-to-all); an
// unknown name is an error.
func ParseTopology(s string) (Topology, error) {
	if s == "all" {
		return TopologyAllToAll, nil
	}
	return enum.Parse("debate: topology", s, Topologies)
}

func (t Topology) String() string { return string(t) }

// MarshalText returns t's name.
func (t Topology) MarshalText() ([]byte, error) { return []byte(t), nil }

// UnmarshalText sets t from its name ("all" is all-to-all), rejecting an
// unknown one.
func (t *Topology) UnmarshalText(b []byte) error {
	if string(b) == "all" {
		b = []byte(TopologyAllToAll)
	}
	return enum.Unmarshal(t, b, "debate: topology", Topologies)
}

// Pricing is a participant's price in USD per million tokens.
type Pricing struct {
	InputPerMTok  float64 `json:"input_per_mtok"`
	OutputPerMTok float64 `json:"output_per_mtok"`
}

// Cost returns the price of u.
func (p Pricing) Cost(u agent.Usage) float64 {
	return (float64(u.InputTokens)*p.InputPerMTok + float64(u.OutputTokens)*p.OutputPerMTok) / 1e6
}

// Participant is one debater (docs/debate.md#configuration).
type Participant struct {
	Name  string      // 1–64 characters of [A-Za-z0-9._-], unique ignoring case
	Agent agent.Agent // required
	// Stance defaults to agent.StanceNeutral.
	Stance agent.Stance
	// Role is free text inserted in prompts; it carries no mechanics.
	Role string
	// AgreementIntensity is 0–10; nil means 5.
	AgreementIntensity *int
	// Weight is the vote weight (> 0); 0 means 1.
	Weight float64
	// Model labels the participant in receipts; empty means what the agent
	// says of itself (agent.InfoOf, for an agent.Describer), else none.
	Model string
	// Provider labels the participant in events ("" for non-provider agents).
	Provider string
	// Pricing applies when a Response carries no CostUSD.
	Pricing Pricing
}

// Task is one debate to run.
type Task struct {
	// ID is the debate id; empty means Config.NewID().
	ID       string
	Question string
	Context  string
	Metadata map[string]string
}

// Trickster configures hollow-consensus detection (docs/debate.md#evidence-and-the-trickster). The zero
// value is disabled; Enabled with zero fields gives the defaults.
type Trickster struct {
	Enabled          bool
	Sensitivity      float64 // default 0.5
	Cooldown         *int    // rounds between interventions; default 1
	MaxInterventions int     // default 5
	Penalty          float64 // confidence penalty per intervention; default 0.05
	Floor            float64 // default 0.10
	MinQuality       float64 // default 0.65
	Weights          evidence.Weights
}

// ReceiptOptions tunes the decision receipt a finished debate's result
// carries (unless Config.DisableReceipt).
type ReceiptOptions struct {
	Signer receipt.Signer // nil: unsigned (content hash only)
	Rand   io.Reader      // receipt id randomness; nil: Config.Rand
}

// Config controls a debate. The zero value runs three rounds decided by
// majority, all-to-all, and persists nothing (docs/debate.md#configuration).
type Config struct {
	Rounds           int  // 1–20; default 3
	MinRounds        int  // 1..Rounds; default 1
	DisableEarlyStop bool // run every round even after consensus
	// Consensus decides each round; default consensus.Majority{}. A
	// threshold outside (0, 1] is refused (consensus.Validate); the zero
	// Threshold of consensus.Supermajority and consensus.Weighted means
	// their default.
	Consensus consensus.Method
	// Topology is all-to-all (alias "all"), ring, star or sparse.
	Topology  Topology
	SparseK   int    // default 2, clamped to [1, n-1]
	Moderator string // hub of the star topology; default the first participant
	// Judge names the judge (method judge): a participant name, or with
	// JudgeAgent set the external, non-debating agent's name (default
	// "judge"). Default: the last participant.
	Judge      string
	JudgeAgent agent.Agent
	// Synthesizer names the synthesiser, who writes the final answer under
	// method none and the synthesis under Synthesize, by the same rule as
	// Judge: a participant name, or with SynthesizerAgent set the external
	// agent's name (default "synthesizer"). Without SynthesizerAgent it
	// may also name the external judge. Default: the judge.
	Synthesizer      string
	SynthesizerAgent agent.Agent
	Synthesize       bool // also write a synthesis for vote-based methods

	MaxConcurrency int           // agent calls in flight; default 8
	AgentTimeout   time.Duration // per call; default 60s
	Timeout        time.Duration // whole debate; default 20m; negative disables
	Quorum         int           // default max(2, ceil(n/2)) capped at n
	ForbidSelfVote bool

	DisableVoteGrouping bool
	GroupingThreshold   float64 // default 0.85

	WeightsFromELO bool
	Domain         string
	// Ratings, when set, records each finished debate's ELO match and
	// supplies vote weights under WeightsFromELO (docs/debate.md#elo-ratings).
	Ratings store.RatingStore
	// Memory, when set, is the continuum memory (docs/memory.md): a new
	// debate retrieves the entries relevant to its question and Domain into
	// its proposal prompts (event memory_recalled, Result.MemoryIDs, the
	// receipt's memory_ids metadata), and a finished one records its
	// outcome. Nil (the default) changes nothing.
	Memory Memory

	DisableConvergence   bool
	Similarity           similarity.Similarity // default similarity.TFIDF{}
	ConvergenceThreshold float64               // default 0.85
	StopOnConvergence    bool

	Trickster Trickster

	MaxTokens  int     // 0: unlimited
	MaxCostUSD float64 // 0: unlimited

	MaxQuoteRunes   int // default 1,500
	MaxContextRunes int // default 6,000
	MaxPromptRunes  int // default 24,000

	StreamTokens bool

	Store store.DebateStore // optional; checkpoints need store.Checkpointer
	// Receipt tunes the receipts; nil means unsigned receipts whose ids
	// come from Rand. Every finished debate's Result carries its receipt
	// (Result.Receipt is never nil once Status is final) unless
	// DisableReceipt is set.
	Receipt        *ReceiptOptions
	DisableReceipt bool

	// Finalize, when set, is called once with a debate's final result
	// before its last checkpoint is written; what it returns is committed
	// in that same store write (store.Checkpoint.Final), so the result
	// document, usage rows and outbox messages become durable together
	// with the final status and debate_end. It must not block.
	Finalize func(res *Result) *store.Final

	Observers      []Observer
	ObserverBuffer int           // default 1,024
	ObserverDrain  time.Duration // default 2s

	// OnRound, when set, is called synchronously after each round that ran
	// entirely in this process with its timing (for the orchestrator
	// overhead metric); it must return quickly.
	OnRound func(RoundTiming)

	// Logger receives the engine's own log lines (abandoned agents,
	// observer drops and panics); nil discards them.
	Logger *slog.Logger

	Now   func() time.Time // default time.Now
	NewID func() string    // default 16 random lowercase hex
	Rand  io.Reader        // default crypto/rand
	// Seed is recorded in the fingerprint (the caller seeds demo agents with it).
	Seed int64
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidName reports whether s is a valid participant or debate id.
func ValidName(s string) bool { return nameRE.MatchString(s) }

func (c Config) withDefaults() Config {
	if c.Rounds == 0 {
		c.Rounds = 3
	}
	if c.MinRounds == 0 {
		c.MinRounds = 1
	}
	if c.Consensus == nil {
		c.Consensus = consensus.Majority{}
	}
	if c.Topology == "" || c.Topology == "all" {
		c.Topology = TopologyAllToAll
	}
	if c.SparseK == 0 {
		c.SparseK = 2
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = 8
	}
	if c.AgentTimeout == 0 {
		c.AgentTimeout = 60 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 20 * time.Minute
	}
	if c.GroupingThreshold == 0 {
		c.GroupingThreshold = 0.85
	}
	if c.Similarity == nil {
		c.Similarity = similarity.TFIDF{}
	}
	if c.ConvergenceThreshold == 0 {
		c.ConvergenceThreshold = 0.85
	}
	t := &c.Trickster
	if t.Sensitivity == 0 {
		t.Sensitivity = 0.5
	}
	if t.Cooldown == nil {
		one := 1
		t.Cooldown = &one
	}
	if t.MaxInterventions == 0 {
		t.MaxInterventions = 5
	}
	if t.Penalty == 0 {
		t.Penalty = 0.05
	}
	if t.Floor == 0 {
		t.Floor = 0.10
	}
	if t.MinQuality == 0 {
		t.MinQuality = 0.65
	}
	if c.MaxQuoteRunes == 0 {
		c.MaxQuoteRunes = 1500
	}
	if c.MaxContextRunes == 0 {
		c.MaxContextRunes = 6000
	}
	if c.MaxPromptRunes == 0 {
		c.MaxPromptRunes = 24000
	}
	if c.ObserverBuffer == 0 {
		c.ObserverBuffer = 1024
	}
	if c.ObserverDrain == 0 {
		c.ObserverDrain = 2 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports settings out of range, wrapping ErrInvalidConfig. It
// checks the Config as given; zero values (defaults) are valid.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	d := c.withDefaults()
	switch {
	case d.Rounds < 1 || d.Rounds > 20:
		return bad("rounds %d out of range 1..20", c.Rounds)
	case d.MinRounds < 1 || d.MinRounds > d.Rounds:
		return bad("min rounds %d out of range 1..%d", c.MinRounds, d.Rounds)
	case d.SparseK < 1:
		return bad("sparse k %d must be >= 1", c.SparseK)
	case d.MaxConcurrency < 1:
		return bad("max concurrency %d must be >= 1", c.MaxConcurrency)
	case d.AgentTimeout < 0:
		return bad("agent timeout %s must be positive", c.AgentTimeout)
	case c.Quorum < 0:
		return bad("quorum %d must be >= 1", c.Quorum)
	case !inUnit(d.GroupingThreshold):
		return bad("grouping threshold %v out of range (0, 1]", c.GroupingThreshold)
	case !inUnit(d.ConvergenceThreshold):
		return bad("convergence threshold %v out of range (0, 1]", c.ConvergenceThreshold)
	case c.MaxTokens < 0:
		return bad("max tokens %d must be >= 0", c.MaxTokens)
	case c.MaxCostUSD < 0 || math.IsNaN(c.MaxCostUSD) || math.IsInf(c.MaxCostUSD, 0):
		return bad("max cost %v must be >= 0", c.MaxCostUSD)
	case d.MaxQuoteRunes < 1 || d.MaxContextRunes < 1 || d.MaxPromptRunes < 1000:
		return bad("prompt limits must be positive (max prompt runes >= 1000)")
	case d.ObserverBuffer < 1 || d.ObserverDrain < 0:
		return bad("observer buffer must be >= 1 and drain >= 0")
	case !(d.Trickster.Sensitivity >= 0 && d.Trickster.Sensitivity <= 1):
		return bad("trickster sensitivity %v out of range [0, 1]", c.Trickster.Sensitivity)
	case *d.Trickster.Cooldown < 0 || d.Trickster.MaxInterventions < 0:
		return bad("trickster cooldown and max interventions must be >= 0")
	case d.WeightsFromELO && d.Ratings == nil:
		return bad("weights from ELO need Ratings")
	case d.DisableReceipt && d.Receipt != nil:
		return bad("receipt options given with DisableReceipt")
	}
	if err := consensus.Validate(d.Consensus); err != nil {
		return bad("Consensus: %v", strings.TrimPrefix(err.Error(), "consensus: "))
	}
	switch d.Topology {
	case TopologyAllToAll, TopologyRing, TopologyStar, TopologySparse:
	default:
		return bad("unknown topology %q (want all-to-all, ring, star or sparse)", c.Topology)
	}
	if err := d.Trickster.Weights.Validate(); err != nil {
		return bad("trickster weights: %v", err)
	}
	return nil
}

// inUnit reports whether x lies in (0, 1] (false for NaN).
func inUnit(x float64) bool { return x > 0 && x <= 1 }

func validateParticipants(ps []Participant) error {
	if len(ps) < 2 {
		return fmt.Errorf("%w: need at least 2 participants, got %d", ErrInvalidConfig, len(ps))
	}
	seen := map[string]bool{}
	for i, p := range ps {
		if !ValidName(p.Name) {
			return fmt.Errorf("%w: participant %d: name %q must be 1-64 characters of [A-Za-z0-9._-]", ErrInvalidConfig, i, p.Name)
		}
		k := strings.ToLower(p.Name)
		if seen[k] {
			return fmt.Errorf("%w: duplicate participant name %q", ErrInvalidConfig, p.Name)
		}
		seen[k] = true
		if p.Agent == nil {
			return fmt.Errorf("%w: participant %q has no agent", ErrInvalidConfig, p.Name)
		}
		if !p.Stance.Valid() {
			return fmt.Errorf("%w: participant %q: unknown stance %q", ErrInvalidConfig, p.Name, p.Stance)
		}
		if p.AgreementIntensity != nil && (*p.AgreementIntensity < 0 || *p.AgreementIntensity > 10) {
			return fmt.Errorf("%w: participant %q: agreement intensity %d out of range 0..10", ErrInvalidConfig, p.Name, *p.AgreementIntensity)
		}
		if p.Weight < 0 || math.IsNaN(p.Weight) || math.IsInf(p.Weight, 0) {
			return fmt.Errorf("%w: participant %q: weight %v must be > 0", ErrInvalidConfig, p.Name, p.Weight)
		}
	}
	return nil
}
