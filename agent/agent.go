package agent

import (
	"context"
	"slices"

	"github.com/aragora/aragora/internal/enum"
)

// Agent produces one turn of a debate. Implementations must be safe for
// concurrent use and must return promptly once ctx is done.
type Agent interface {
	Respond(ctx context.Context, req Request) (Response, error)
}

// Func adapts an ordinary function to the Agent interface.
type Func func(ctx context.Context, req Request) (Response, error)

// Respond calls f(ctx, req).
func (f Func) Respond(ctx context.Context, req Request) (Response, error) { return f(ctx, req) }

// Middleware decorates an Agent.
type Middleware func(Agent) Agent

// Chain wraps a in mw; mw[0] becomes the outermost layer. Every middleware
// of this module is written with [Wrap], so the chain keeps the optional
// capabilities of a (Streamer, Critic, Voter, Judge) and applies each
// middleware to them too; a middleware of your own keeps them when it is
// written with Wrap as well.
func Chain(a Agent, mw ...Middleware) Agent {
	for i := len(mw) - 1; i >= 0; i-- {
		a = mw[i](a)
	}
	return a
}

// Phase names a debate phase. The values are the wire names of docs/events.md.
// Its text and JSON form is its name. [ParsePhase] rejects an unknown name
// where a phase comes in; decoding does not, because phases are read back
// from stored events and results that a newer version may have written.
type Phase string

// Debate phases (docs/debate.md#conventions).
const (
	PhasePropose    Phase = "propose"
	PhaseRevise     Phase = "revise"
	PhaseCritique   Phase = "critique"
	PhaseVote       Phase = "vote"
	PhaseJudge      Phase = "judge"
	PhaseSynthesize Phase = "synthesize"
)

// Phases lists every Phase in the order a debate runs them.
var Phases = []Phase{PhasePropose, PhaseRevise, PhaseCritique, PhaseVote, PhaseJudge, PhaseSynthesize}

// ParsePhase returns the Phase named s; an unknown name is an error.
func ParsePhase(s string) (Phase, error) { return enum.Parse("agent: phase", s, Phases) }

func (p Phase) String() string { return string(p) }

// MarshalText returns p's name.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p), nil }

// Stance is a participant's assigned position (docs/agents.md#phases-and-reply-formats).
// Its text and JSON form is its name; decoding and [ParseStance] reject an
// unknown name (empty text decodes as the zero value).
type Stance string

// Stances. The zero value means StanceNeutral.
const (
	StanceAffirmative    Stance = "affirmative"
	StanceNegative       Stance = "negative"
	StanceNeutral        Stance = "neutral"
	StanceDevilsAdvocate Stance = "devils_advocate"
)

// Stances lists every Stance.
var Stances = []Stance{StanceAffirmative, StanceNegative, StanceNeutral, StanceDevilsAdvocate}

// ParseStance returns the Stance named s; an unknown name is an error.
func ParseStance(s string) (Stance, error) { return enum.Parse("agent: stance", s, Stances) }

func (s Stance) String() string { return string(s) }

// MarshalText returns s's name.
func (s Stance) MarshalText() ([]byte, error) { return []byte(s), nil }

// UnmarshalText sets s from its name, rejecting an unknown one.
func (s *Stance) UnmarshalText(b []byte) error { return enum.Unmarshal(s, b, "agent: stance", Stances) }

// Valid reports whether s is one of the defined stances or empty.
func (s Stance) Valid() bool { return s == "" || slices.Contains(Stances, s) }

// Role texts commonly given to participants. Roles carry no mechanics: they
// only shape prompts (docs/debate.md#configuration).
const (
	RoleProposer = "proposer"
	RoleCritic   = "critic"
	RoleJudge    = "judge"
	RoleAnalyst  = "analyst"
)

// Usage counts the tokens of one call.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// Total returns InputTokens + OutputTokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Add returns u + v.
func (u Usage) Add(v Usage) Usage {
	return Usage{InputTokens: u.InputTokens + v.InputTokens, OutputTokens: u.OutputTokens + v.OutputTokens}
}

// Proposal is one participant's current proposal, as given to agents in a
// Request so that non-LLM agents need not parse prompts.
type Proposal struct {
	Agent string
	Text  string
}

// Critique is a structured critique, as returned by a native Critic and as
// given to a reviser in Request.Critiques.
type Critique struct {
	Critic      string
	Target      string
	Issues      []string
	Suggestions []string
	Severity    float64 // 0..10
	Reasoning   string
}

// Vote is a structured vote, as returned by a native Voter.
type Vote struct {
	Choice     string
	Confidence float64 // 0..1
	Reasoning  string
}

// Judgement is a structured judge decision, as returned by a native Judge.
type Judgement struct {
	Decided    bool
	Choice     string
	Confidence float64
	Reasoning  string
	Answer     string
}

// Request is one call to an agent. The prompts are complete; the structured
// fields repeat the material so that rule-based agents can use it. The
// slices of a Request may be shared with other calls of the same debate:
// an agent reads them and must not modify them.
type Request struct {
	DebateID    string
	Participant string // the name of the participant being asked
	Phase       Phase
	Round       int
	Rounds      int // rounds planned
	System      string
	Prompt      string
	MaxTokens   int
	Temperature float64

	Question string
	// Proposals are the current proposals the caller may see, in agent order.
	// For a reviser, its own previous proposal is Own.
	Proposals []Proposal
	// Own is the caller's own current (or previous, when revising) proposal.
	Own string
	// Target names the agent whose proposal is critiqued (critique phase).
	Target string
	// Critiques are the critiques addressed to the caller in the previous
	// round, highest severity first (revise phase).
	Critiques []Critique
	// Participants lists every participant name in agent order.
	Participants []string
	// PreviousLeader is the owner of the leading proposal of the previous
	// round's vote, "" if none.
	PreviousLeader string
	// AgreementIntensity is the participant's setting, 0..10.
	AgreementIntensity int
	// Stance is the participant's stance.
	Stance Stance
	// ForbidSelfVote tells a voter that its own proposal is not an option.
	ForbidSelfVote bool
	// Final is true in the last round (judge phase).
	Final bool
	// Schema, when set, asks for a structured reply matching it
	// (docs/agents.md#structured-replies). The engine sets it only for an
	// agent that supports schemas ([SupportsSchema]); an agent that does
	// not ignores it.
	Schema *Schema `json:",omitempty"`
}

// Response is an agent's answer to one call.
type Response struct {
	Text  string
	Usage Usage
	// CostUSD is the call's cost when the agent knows it; 0 means unknown,
	// and the orchestrator applies the participant's pricing.
	CostUSD float64
	Model   string
	// Provider names the provider that answered ("" for non-provider agents).
	Provider string
	// Fallback is set when middleware answered with a fallback agent.
	Fallback *Fallback
	// Attempts counts the provider attempts made, retries included (0 when unknown).
	Attempts int
	// FinishReason is why the provider stopped generating, in its own
	// words ("stop", "end_turn", "length", …); "" when unknown. Tracing
	// reports it as gen_ai.response.finish_reasons.
	FinishReason string
	// Structured is set when Text is the JSON value of a reply constrained
	// by Request.Schema (docs/agents.md#structured-replies); the engine
	// then reads it as JSON before any prose parsing.
	Structured bool

	// native is the structured value of a structural call (critique, vote,
	// judge) travelling through a Policy; see Call.On.
	native any
}

// Fallback records that a fallback agent answered instead of the primary.
type Fallback struct {
	FromProvider string
	FromModel    string
	ToProvider   string
	ToModel      string
	Reason       Kind  // the kind of the primary's error
	Err          error // the primary's error
}

// Streamer is an optional capability: an agent that can stream its reply.
// RespondStream calls onChunk for each chunk of text, in order, then returns
// the final Response whose Text is the whole reply.
type Streamer interface {
	Agent
	RespondStream(ctx context.Context, req Request, onChunk func(chunk string)) (Response, error)
}

// Immediate is an optional marker: an agent whose calls return at once,
// without I/O, waiting or blocking (the demo agents). The debate engine
// calls such an agent on the debate's own goroutine, one call after the
// other, without the goroutine, timer and deadline it gives each call of
// other agents, unless tokens are streamed
// (docs/agents.md#optional-capabilities). Middleware does not
// forward it: a wrapped agent (delays, retries, timeouts) is called like
// any other.
type Immediate interface {
	Agent
	Immediate() bool
}

// IsImmediate reports whether a implements [Immediate] and says it is.
func IsImmediate(a Agent) bool {
	i, ok := a.(Immediate)
	return ok && i.Immediate()
}

// PromptBorrower is an optional marker: an agent that only borrows a
// request's Prompt for the length of the call. Once the call has returned,
// the agent holds neither the Prompt nor any part of it (a substring, a
// string or slice sharing its memory): not in its state, not in a
// goroutine it started, not in what it returned (the Response, an error, a
// panic value). A copy of the bytes (strings.Clone, a hash of them) is
// not a part. For an agent that is also an [Async], the call has returned,
// for this promise, once RespondAsync has returned: it holds nothing of
// the prompt while it waits for its answer (it has sent the request, or
// copied what it needs). The debate engine may then write a later prompt
// into the same memory: it does so for the calls it makes on the debate's
// goroutine (agent.Immediate) and for agent.Async calls, when every call
// of the phase goes to such an agent (docs/agents.md#optional-capabilities);
// every other agent gets prompts that are never written again. Middleware
// does not forward it.
type PromptBorrower interface {
	Agent
	BorrowsPrompt() bool
}

// BorrowsPrompt reports whether a implements [PromptBorrower] and says
// it does.
func BorrowsPrompt(a Agent) bool {
	b, ok := a.(PromptBorrower)
	return ok && b.BorrowsPrompt()
}

// Async is an optional capability: an agent that can complete a call
// without a goroutine waiting for it, because whatever it waits on (a
// timer, a reply already queued elsewhere) calls back when it is ready.
// RespondAsync starts the call and returns without blocking; the agent
// then calls done exactly once, from any goroutine (possibly before
// RespondAsync returns), with what Respond would have returned. done does
// not block. Once ctx is done, the agent calls done promptly with ctx.Err()
// (context.AfterFunc does it without a goroutine), as Respond would return.
//
// The debate engine uses it for a plain call (not a streamed one, not one
// that goes to the agent's Critic, Voter or Judge method): it makes no
// goroutine for the call, and ctx is the call's own context, deadline
// included (docs/agents.md#optional-capabilities). It only helps agents
// that really can wait without a goroutine; an agent that would start one
// to block on I/O (an HTTP provider) gains nothing and should not
// implement it. Middleware does not forward it.
type Async interface {
	Agent
	RespondAsync(ctx context.Context, req Request, done func(Response, error))
}

// Critic is an optional capability: an agent that writes structured critiques
// natively, bypassing prompts and parsing.
type Critic interface {
	Agent
	Critique(ctx context.Context, req Request) (Critique, Usage, error)
}

// Voter is an optional capability: an agent that votes natively.
type Voter interface {
	Agent
	Vote(ctx context.Context, req Request) (Vote, Usage, error)
}

// Judge is an optional capability: an agent that judges natively.
type Judge interface {
	Agent
	Judge(ctx context.Context, req Request) (Judgement, Usage, error)
}
