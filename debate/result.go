package debate

import (
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/evidence"
	"github.com/aragora/aragora/internal/enum"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/store"
)

// StopReason says why a debate stopped (docs/debate.md#result-status-and-verdict).
// Its text and JSON form is its name; decoding and [ParseStopReason]
// reject an unknown name.
type StopReason string

// Stop reasons.
const (
	StopConverged          StopReason = "converged"
	StopConsensus          StopReason = "consensus"
	StopMaxRounds          StopReason = "max_rounds"
	StopBudget             StopReason = "budget"
	StopTimeout            StopReason = "timeout"
	StopCancelled          StopReason = "cancelled"
	StopInsufficientAgents StopReason = "insufficient_agents"
	StopError              StopReason = "error"
	// StopStale: the sweeper timed out a debate that no process could
	// resume (docs/operations.md).
	StopStale StopReason = "stale"
)

// StopReasons lists every StopReason.
var StopReasons = []StopReason{StopConverged, StopConsensus, StopMaxRounds, StopBudget, StopTimeout,
	StopCancelled, StopInsufficientAgents, StopError, StopStale}

// ParseStopReason returns the StopReason named s; an unknown name is an error.
func ParseStopReason(s string) (StopReason, error) {
	return enum.Parse("debate: stop reason", s, StopReasons)
}

func (r StopReason) String() string { return string(r) }

// MarshalText returns r's name.
func (r StopReason) MarshalText() ([]byte, error) { return []byte(r), nil }

// UnmarshalText sets r from its name, rejecting an unknown one.
func (r *StopReason) UnmarshalText(b []byte) error {
	return enum.Unmarshal(r, b, "debate: stop reason", StopReasons)
}

// Usage is a token total.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

func usageOf(u agent.Usage) Usage {
	return Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.Total()}
}

// ProposalRecord is one proposal in a round's transcript.
type ProposalRecord struct {
	Agent    string          `json:"agent"`
	Text     string          `json:"text"`
	Carried  bool            `json:"carried"`
	Evidence evidence.Scores `json:"evidence"`
	Usage    Usage           `json:"usage"`
}

// CritiqueRecord is one critique in a round's transcript.
type CritiqueRecord struct {
	Critic      string   `json:"critic"`
	Target      string   `json:"target"`
	Issues      []string `json:"issues"`
	Suggestions []string `json:"suggestions"`
	Severity    float64  `json:"severity"`
	Reasoning   string   `json:"reasoning"`
	Parse       string   `json:"parse"`
}

// VoteRecord is one vote in a round's transcript.
type VoteRecord struct {
	Agent         string  `json:"agent"`
	Choice        string  `json:"choice"`
	Resolved      string  `json:"resolved"`
	Valid         bool    `json:"valid"`
	InvalidReason string  `json:"invalid_reason,omitempty"`
	Confidence    float64 `json:"confidence"`
	Weight        float64 `json:"weight"`
	Reasoning     string  `json:"reasoning"`
	Parse         string  `json:"parse"`
}

// ErrorRecord is one failed call in a round's transcript.
type ErrorRecord struct {
	Agent       string      `json:"agent"`
	Phase       agent.Phase `json:"phase"`
	Kind        agent.Kind  `json:"kind"`
	Message     string      `json:"message"`
	Target      string      `json:"target,omitempty"`
	Recoverable bool        `json:"recoverable,omitempty"`
}

// ConvergenceRecord is one round's convergence figures.
type ConvergenceRecord struct {
	Cross     float64  `json:"cross"`
	Stability *float64 `json:"stability"`
	Converged bool     `json:"converged"`
}

// TricksterRecord is one round's trickster check.
type TricksterRecord struct {
	Hollow      bool     `json:"hollow"`
	Severity    float64  `json:"severity"`
	Flagged     bool     `json:"flagged"`
	Intervened  bool     `json:"intervened"`
	Targets     []string `json:"targets,omitempty"`
	Interrupted bool     `json:"-"`
}

// Round is one round of the transcript.
type Round struct {
	Round       int                `json:"round"`
	Proposals   []ProposalRecord   `json:"proposals"`
	Critiques   []CritiqueRecord   `json:"critiques"`
	Votes       []VoteRecord       `json:"votes"`
	Decision    *consensus.Result  `json:"decision"`
	Convergence *ConvergenceRecord `json:"convergence"`
	Trickster   *TricksterRecord   `json:"trickster"`
	Errors      []ErrorRecord      `json:"errors"`
}

// ConsensusSummary is the consensus block of a Result.
type ConsensusSummary struct {
	Reached     bool                `json:"reached"`
	LeaderShare float64             `json:"leader_share"`
	Threshold   *float64            `json:"threshold"`
	Supporting  []string            `json:"supporting"`
	Dissenting  []string            `json:"dissenting"`
	Abstaining  []string            `json:"abstaining"`
	Dissents    []consensus.Dissent `json:"dissents"`
}

// AgentTotals are one participant's totals.
type AgentTotals struct {
	Usage   Usage   `json:"usage"`
	CostUSD float64 `json:"cost_usd"`
	Errors  int     `json:"errors"`
}

// Result is the outcome of a debate (docs/debate.md#result-status-and-verdict). Run returns a non-nil
// Result whenever the debate started.
type Result struct {
	DebateID               string                 `json:"debate_id"`
	Question               string                 `json:"question"`
	Status                 store.Status           `json:"status"`
	StopReason             StopReason             `json:"stop_reason"`
	Verdict                receipt.Verdict        `json:"verdict"`
	Confidence             float64                `json:"confidence"`
	RawConfidence          float64                `json:"raw_confidence"`
	FinalAnswer            string                 `json:"final_answer"`
	Winner                 string                 `json:"winner"`
	Method                 consensus.MethodName   `json:"method"`
	Consensus              ConsensusSummary       `json:"consensus"`
	Synthesis              string                 `json:"synthesis"`
	RoundsUsed             int                    `json:"rounds_used"`
	RoundsPlanned          int                    `json:"rounds_planned"`
	Transcript             []Round                `json:"transcript"`
	TricksterInterventions int                    `json:"trickster_interventions"`
	ConvergenceDetected    bool                   `json:"convergence_detected"`
	FinalSimilarity        float64                `json:"final_similarity"`
	Usage                  Usage                  `json:"usage"`
	CostUSD                float64                `json:"cost_usd"`
	PerAgent               map[string]AgentTotals `json:"per_agent"`
	StartedAt              time.Time              `json:"started_at"`
	EndedAt                time.Time              `json:"ended_at"`
	Duration               time.Duration          `json:"duration"`
	ObserverDrops          int                    `json:"observer_drops"`
	ObserverPanics         int                    `json:"observer_panics"`
	Resumes                int                    `json:"resumes"`
	Error                  string                 `json:"error"`
	// Receipt is the decision receipt: set whenever Status is final,
	// unless Config.DisableReceipt; nil while the debate is running or
	// suspended.
	Receipt *receipt.Receipt `json:"receipt,omitempty"`
	// MemoryIDs are the continuum memory entries that informed the debate
	// (Config.Memory); absent when none did.
	MemoryIDs []string `json:"memory_ids,omitempty"`

	// Context, Metadata and Agents feed receipts; they are not serialised.
	Context  string            `json:"-"`
	Metadata map[string]string `json:"-"`
	Agents   []receipt.Agent   `json:"-"`
}

// Verdict computes the verdict of docs/debate.md#result-status-and-verdict.
func Verdict(status store.Status, reached bool, dissenters, abstainers int, confidence float64) receipt.Verdict {
	switch status {
	case store.StatusConsensusReached, store.StatusNoConsensus:
	default:
		return receipt.VerdictNeedsReview
	}
	switch {
	case reached && dissenters == 0 && abstainers == 0 && confidence >= 0.8-eps:
		return receipt.VerdictApproved
	case reached:
		return receipt.VerdictApprovedWithConditions
	case confidence >= 0.4-eps:
		return receipt.VerdictNeedsReview
	}
	return receipt.VerdictRejected
}

const eps = 1e-9
