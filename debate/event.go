package debate

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/evidence"
	"github.com/aragora/aragora/internal/enum"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/store"
)

// EventType names a debate event (docs/events.md). Its text and JSON form
// is its name. [ParseEventType] rejects an unknown name where a type comes
// in; decoding does not, because events are read back from stores and
// other replicas that a newer version may have written ([Event.UnmarshalJSON]
// keeps the data of an unknown type as json.RawMessage).
type EventType string

// Event types.
const (
	EventDebateStart           EventType = "debate_start"
	EventRoundStart            EventType = "round_start"
	EventRoundEnd              EventType = "round_end"
	EventAgentToken            EventType = "agent_token"
	EventProposal              EventType = "proposal"
	EventCritique              EventType = "critique"
	EventVote                  EventType = "vote"
	EventConsensusCheck        EventType = "consensus_check"
	EventConvergenceDetected   EventType = "convergence_detected"
	EventTricksterIntervention EventType = "trickster_intervention"
	EventAgentError            EventType = "agent_error"
	EventAgentFallback         EventType = "agent_fallback"
	EventDebateEnd             EventType = "debate_end"
)

// EventTypes lists every EventType, in the order of docs/events.md.
var EventTypes = []EventType{EventDebateStart, EventRoundStart, EventRoundEnd, EventAgentToken,
	EventProposal, EventCritique, EventVote, EventConsensusCheck, EventConvergenceDetected,
	EventTricksterIntervention, EventAgentError, EventAgentFallback, EventDebateEnd}

// ParseEventType returns the EventType named s; an unknown name is an error.
func ParseEventType(s string) (EventType, error) {
	return enum.Parse("debate: event type", s, EventTypes)
}

func (t EventType) String() string { return string(t) }

// MarshalText returns t's name.
func (t EventType) MarshalText() ([]byte, error) { return []byte(t), nil }

// Event is one debate event. It marshals to the wire form of docs/events.md
// (the server adds "epoch"). Data holds one of the *Data types of this
// package, or json.RawMessage for events read back from a store.
type Event struct {
	Seq      int64     `json:"seq"`
	DebateID string    `json:"debate_id"`
	Type     EventType `json:"type"`
	Round    int       `json:"round"`
	Agent    string    `json:"agent"`
	Time     time.Time `json:"ts"`
	Data     any       `json:"data"`
	// Replayed marks events redelivered by Resume with ResumeOptions.Replay.
	// It is not part of the wire form.
	Replayed bool `json:"-"`
}

// MarshalJSON writes the wire form, with ts in RFC 3339 UTC nanoseconds.
func (e Event) MarshalJSON() ([]byte, error) {
	type wire struct {
		Seq      int64     `json:"seq"`
		DebateID string    `json:"debate_id"`
		Type     EventType `json:"type"`
		Round    int       `json:"round"`
		Agent    string    `json:"agent"`
		TS       string    `json:"ts"`
		Data     any       `json:"data"`
	}
	data := e.Data
	if data == nil {
		data = struct{}{}
	}
	return json.Marshal(wire{e.Seq, e.DebateID, e.Type, e.Round, e.Agent, e.Time.UTC().Format(time.RFC3339Nano), data})
}

// UnmarshalJSON reads the wire form. Data becomes the *Data type of the
// event's type (DebateStartData, ProposalData, …), or json.RawMessage for a
// type this package does not know.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w struct {
		Seq      int64           `json:"seq"`
		DebateID string          `json:"debate_id"`
		Type     EventType       `json:"type"`
		Round    int             `json:"round"`
		Agent    string          `json:"agent"`
		TS       time.Time       `json:"ts"`
		Data     json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	data, err := decodeData(w.Type, w.Data)
	if err != nil {
		return fmt.Errorf("debate: event %d (%s): data: %w", w.Seq, w.Type, err)
	}
	*e = Event{Seq: w.Seq, DebateID: w.DebateID, Type: w.Type, Round: w.Round, Agent: w.Agent, Time: w.TS, Data: data}
	return nil
}

// decodeData decodes an event's data into the type of its event type.
func decodeData(t EventType, raw json.RawMessage) (any, error) {
	switch t {
	case EventDebateStart:
		return decode[DebateStartData](raw)
	case EventRoundStart:
		return decode[RoundStartData](raw)
	case EventRoundEnd:
		return decode[RoundEndData](raw)
	case EventAgentToken:
		return decode[AgentTokenData](raw)
	case EventProposal:
		return decode[ProposalData](raw)
	case EventCritique:
		return decode[CritiqueData](raw)
	case EventVote:
		return decode[VoteData](raw)
	case EventConsensusCheck:
		return decode[ConsensusCheckData](raw)
	case EventConvergenceDetected:
		return decode[ConvergenceData](raw)
	case EventTricksterIntervention:
		return decode[TricksterData](raw)
	case EventAgentError:
		return decode[AgentErrorData](raw)
	case EventAgentFallback:
		return decode[AgentFallbackData](raw)
	case EventDebateEnd:
		return decode[DebateEndData](raw)
	case EventMemoryRecalled:
		return decode[MemoryRecalledData](raw)
	}
	return raw, nil
}

func decode[T any](raw json.RawMessage) (any, error) {
	var v T
	if len(raw) == 0 || string(raw) == "null" {
		return v, nil
	}
	err := json.Unmarshal(raw, &v)
	return v, err
}

// Tokens is the wire form of agent.Usage.
type Tokens struct {
	Input  int `json:"input"`
	Output int `json:"output"`
}

func tokensOf(u agent.Usage) Tokens { return Tokens{Input: u.InputTokens, Output: u.OutputTokens} }

// ConsensusSpec is the method and threshold in debate_start.
type ConsensusSpec struct {
	Method    consensus.MethodName `json:"method"`
	Threshold *float64             `json:"threshold"`
}

// DebateStartData is the data of debate_start.
type DebateStartData struct {
	Topic     string        `json:"topic"`
	Agents    []string      `json:"agents"`
	Rounds    int           `json:"rounds"`
	MinRounds int           `json:"min_rounds"`
	Consensus ConsensusSpec `json:"consensus"`
	Topology  Topology      `json:"topology"`
	Quorum    int           `json:"quorum"`
}

// RoundStartData is the data of round_start.
type RoundStartData struct {
	Round int `json:"round"`
}

// RoundEndData is the data of round_end.
type RoundEndData struct {
	Round            int     `json:"round"`
	ConsensusReached bool    `json:"consensus_reached"`
	Interrupted      bool    `json:"interrupted"`
	Tokens           Tokens  `json:"tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// AgentTokenData is the data of the transient agent_token event.
type AgentTokenData struct {
	Phase    agent.Phase `json:"phase"`
	Text     string      `json:"text"`
	Index    int         `json:"index"`
	AfterSeq int64       `json:"after_seq"`
}

// ProposalData is the data of proposal.
type ProposalData struct {
	Content   string          `json:"content"`
	Revised   bool            `json:"revised"`
	Tokens    Tokens          `json:"tokens"`
	CostUSD   float64         `json:"cost_usd"`
	LatencyMS int64           `json:"latency_ms"`
	Evidence  evidence.Scores `json:"evidence"`
}

// CritiqueData is the data of critique.
type CritiqueData struct {
	Target      string   `json:"target"`
	Issues      []string `json:"issues"`
	Suggestions []string `json:"suggestions"`
	Severity    float64  `json:"severity"`
	Reasoning   string   `json:"reasoning"`
	Parse       string   `json:"parse"`
}

// VoteData is the data of vote.
type VoteData struct {
	Choice        string  `json:"choice"`
	Resolved      *string `json:"resolved"`
	Valid         bool    `json:"valid"`
	InvalidReason *string `json:"invalid_reason"`
	Confidence    float64 `json:"confidence"`
	Weight        float64 `json:"weight"`
	Reasoning     string  `json:"reasoning"`
	Parse         string  `json:"parse"`
}

// ConsensusCheckData is the data of consensus_check.
type ConsensusCheckData struct {
	Method      consensus.MethodName `json:"method"`
	Reached     bool                 `json:"reached"`
	Confidence  float64              `json:"confidence"`
	Leader      *string              `json:"leader"`
	LeaderShare float64              `json:"leader_share"`
	Threshold   *float64             `json:"threshold"`
	Tally       []consensus.Group    `json:"tally"`
	Supporting  []string             `json:"supporting"`
	Dissenting  []string             `json:"dissenting"`
	Abstaining  []string             `json:"abstaining"`
	EarlyStop   bool                 `json:"early_stop"`
	Fallback    *string              `json:"fallback"`
}

// ConvergenceData is the data of convergence_detected.
type ConvergenceData struct {
	Cross     float64            `json:"cross"`
	Stability *float64           `json:"stability"`
	Criteria  []string           `json:"criteria"`
	Backend   string             `json:"backend"`
	Pairs     map[string]float64 `json:"pairs"`
	Stop      bool               `json:"stop"`
}

// TricksterData is the data of trickster_intervention.
type TricksterData struct {
	Kind       string              `json:"kind"`
	Targets    []string            `json:"targets"`
	Severity   float64             `json:"severity"`
	Similarity float64             `json:"similarity"`
	Gaps       map[string][]string `json:"gaps"`
	Challenge  string              `json:"challenge"`
}

// AgentErrorData is the data of agent_error.
type AgentErrorData struct {
	Kind        agent.Kind  `json:"kind"`
	Message     string      `json:"message"`
	Phase       agent.Phase `json:"phase"`
	Target      *string     `json:"target"`
	Recoverable bool        `json:"recoverable"`
	Attempts    int         `json:"attempts"`
	StatusCode  *int        `json:"status_code"`
	Raw         *string     `json:"raw"`
}

// ProviderModel names a provider and model in agent_fallback.
type ProviderModel struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// AgentFallbackData is the data of agent_fallback.
type AgentFallbackData struct {
	Phase  agent.Phase   `json:"phase"`
	Target *string       `json:"target"`
	From   ProviderModel `json:"from"`
	To     ProviderModel `json:"to"`
	Reason agent.Kind    `json:"reason"`
}

// DebateEndData is the data of debate_end.
type DebateEndData struct {
	Status                 store.Status    `json:"status"`
	StopReason             StopReason      `json:"stop_reason"`
	Verdict                receipt.Verdict `json:"verdict"`
	Confidence             float64         `json:"confidence"`
	Winner                 string          `json:"winner"`
	FinalAnswer            string          `json:"final_answer"`
	RoundsUsed             int             `json:"rounds_used"`
	DurationSeconds        float64         `json:"duration_seconds"`
	Tokens                 Tokens          `json:"tokens"`
	CostUSD                float64         `json:"cost_usd"`
	TricksterInterventions int             `json:"trickster_interventions"`
	ConvergenceDetected    bool            `json:"convergence_detected"`
	ReceiptID              *string         `json:"receipt_id"`
}

// Observer receives a debate's events in emission order (docs/events.md).
// Each observer runs in its own goroutine with its own buffer; a slow or
// panicking observer affects only itself.
type Observer interface {
	OnEvent(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// OnEvent calls f(e).
func (f ObserverFunc) OnEvent(e Event) { f(e) }
