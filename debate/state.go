package debate

import (
	"slices"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/store"
)

// Checkpoint phases.
const (
	cpInit       = "init"
	cpPropose    = "propose"
	cpCritique   = "critique"
	cpVote       = "vote"
	cpSynthesize = "synthesize"
	cpEnd        = "end"
)

// proposalState is one participant's current proposal.
type proposalState struct {
	Text    string `json:"text"`
	Has     bool   `json:"has"`
	Fresh   bool   `json:"fresh"` // produced by a successful call this round
	Carried bool   `json:"carried"`
}

type agentTotals struct {
	Usage  agent.Usage `json:"usage"`
	Cost   float64     `json:"cost"`
	Errors int         `json:"errors"`
}

type phaseTotal struct {
	Tokens int     `json:"tokens"`
	Cost   float64 `json:"cost"`
}

// state is everything a debate needs to continue; it is the checkpoint's
// opaque State document (docs/debate.md#persistence-and-resume).
type state struct {
	DebateID    string            `json:"debate_id"`
	Fingerprint string            `json:"fingerprint"`
	Question    string            `json:"question"`
	Context     string            `json:"context"`
	Metadata    map[string]string `json:"metadata"`
	Names       []string          `json:"names"`
	Weights     []float64         `json:"weights"`

	Round int    `json:"round"`
	Phase string `json:"phase"` // last completed checkpoint phase ("" before init)
	// ConvStop and Flagged describe the current round.
	ConvStop bool `json:"conv_stop"`
	Flagged  bool `json:"flagged"`

	Current   []proposalState `json:"current"`
	PrevFresh []string        `json:"prev_fresh"` // previous round's fresh proposals ("" if none)

	Transcript []Round `json:"transcript"`

	Interventions    int    `json:"interventions"`
	LastIntervention int    `json:"last_intervention"`
	PendingChallenge string `json:"pending_challenge"`

	Proposed    []bool                `json:"proposed"` // ever produced a fresh proposal
	RoundUsage  agent.Usage           `json:"round_usage"`
	RoundCost   float64               `json:"round_cost"`
	Usage       agent.Usage           `json:"usage"`
	Cost        float64               `json:"cost"`
	PerAgent    []agentTotals         `json:"per_agent"`
	LastPhase   map[string]phaseTotal `json:"last_phase"`
	Calls       int                   `json:"calls"`
	CallsTokens int                   `json:"calls_tokens"`
	CallsCost   float64               `json:"calls_cost"`

	StartedAt time.Time     `json:"started_at"`
	Elapsed   time.Duration `json:"elapsed"`
	Seq       int64         `json:"seq"`
	Status    store.Status  `json:"status"`

	Decision       *consensus.Result `json:"decision"`
	DecisionAnswer string            `json:"decision_answer"`
	EarlyStopHeld  bool              `json:"early_stop_held"`
	PrevLeader     string            `json:"prev_leader"`

	ConvergenceDetected bool    `json:"convergence_detected"`
	FinalSimilarity     float64 `json:"final_similarity"`

	Synthesis           string  `json:"synthesis"`
	SynthesisConfidence float64 `json:"synthesis_confidence"`
	SynthesisOK         bool    `json:"synthesis_ok"`

	StopReason StopReason `json:"stop_reason"`
	ErrMsg     string     `json:"error"`
	Resumes    int        `json:"resumes"`
	Final      *Result    `json:"final,omitempty"`
	// Memory is what the continuum memory recalled at the start.
	Memory []MemoryRef `json:"memory,omitempty"`

	// planned is the rounds planned (Config.Rounds), which the transcript
	// gets room for with its first round.
	planned int
}

// round returns the record of the current round, appended to the
// transcript if it has none yet.
func (st *state) round() *Round {
	if len(st.Transcript) < st.Round && cap(st.Transcript) < st.Round {
		st.Transcript = slices.Grow(st.Transcript, max(st.Round, st.planned)-len(st.Transcript))
	}
	for len(st.Transcript) < st.Round {
		st.Transcript = append(st.Transcript, Round{Round: len(st.Transcript) + 1})
	}
	return &st.Transcript[st.Round-1]
}
