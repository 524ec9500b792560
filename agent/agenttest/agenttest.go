// Package agenttest provides fake agents for tests of code that calls
// agent.Agent, and a conformance suite for provider adapters.
//
// The fakes answer offline and deterministically:
//
//   - [Say] answers every call with the same text;
//   - [Scripted] answers by phase and round from a [Script], records its
//     calls, and can report token usage, wait, hang or fail on chosen calls;
//   - [Failing], [Hang], [Malformed], [Flaky] and [WithLatency] model
//     misbehaving agents, and [Streaming] adds agent.Streamer to any agent;
//   - [ServerError], [QuotaError], [RateLimitError], [AuthError] and
//     [ConnectionError] build the *agent.ProviderError values that real
//     adapters return, so agent.KindOf classifies them as a provider's would.
//
// Every fake is safe for concurrent use and honours its context: a call whose
// context is already done returns ctx.Err() (except [Failing], which always
// returns its error), and no fake sleeps past its context.
//
// [Conformance] checks a provider adapter against an httptest server
// speaking the provider's wire format; see its documentation.
package agenttest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/internal/plainjson"
	"github.com/aragora/aragora/agent/internal/wordstream"
)

// Model names reported in Response.Model by the fakes of this package.
const (
	ModelSay       = "agenttest-say"
	ModelScripted  = "agenttest-scripted"
	ModelMalformed = "agenttest-malformed"
)

// DefaultVoteConfidence is the confidence of a Scripted vote when
// Script.VoteConfidence is zero and Script.ZeroConfidence is false.
const DefaultVoteConfidence = 0.8

// Say returns an agent that answers every call, in every phase, with text.
// As a vote its reply has no JSON, so the debate reads the choice from the
// first participant name that occurs in text as a whole word (docs/agents.md#phases-and-reply-formats):
// Say("I back ada.") votes for ada. Its usage is zero and its model
// is ModelSay.
func Say(text string) agent.Agent {
	return agent.Func(func(ctx context.Context, _ agent.Request) (agent.Response, error) {
		if err := ctx.Err(); err != nil {
			return agent.Response{}, err
		}
		return agent.Response{Text: text, Model: ModelSay}, nil
	})
}

// Script configures a [ScriptedAgent]. The zero value is usable: every field
// has a default that gives a well-formed reply.
//
// Lists indexed by round use index Round−1; rounds past the end repeat the
// last element, and rounds below 1 use the first.
type Script struct {
	// Proposals are the proposal texts by round, used for both the propose
	// and the revise phase. Default: a text built from the participant's
	// name, distinct for different names.
	Proposals []string
	// Critique is the reply text of every critique. Default: a valid JSON
	// critique of the target with one issue, one suggestion and severity 5.
	Critique string
	// Votes are the vote choices by round. Each vote is rendered as
	// {"choice":..,"confidence":..,"reasoning":".."}. Default: the first
	// proposal in Request.Proposals that is not the caller's own, else the
	// first proposal, else the caller itself.
	Votes []string
	// VoteConfidence is the confidence of every vote; zero means
	// DefaultVoteConfidence (0.8). Set ZeroConfidence to send 0.
	VoteConfidence float64
	// ZeroConfidence makes every vote carry confidence 0, overriding
	// VoteConfidence.
	ZeroConfidence bool
	// Judge is the reply text of every judge call. Default: a JSON decision
	// for the owner of the first proposal in Request.Proposals, with
	// confidence 0.8.
	Judge string
	// Synthesis is the reply text of every synthesis call. Default: a JSON
	// answer quoting the first proposal, with confidence 0.8.
	Synthesis string
	// Model is reported in Response.Model; default ModelScripted.
	Model string
	// Usage is reported on every successful call.
	Usage agent.Usage
	// CostUSD is reported on every successful call.
	CostUSD float64
	// Delay is waited, respecting the context, before each answer or
	// failure.
	Delay time.Duration
	// OnCall, if non-nil, is called at the start of every call, before any
	// delay or failure, from the calling goroutine. Tests use it as a
	// barrier ("the critique call has started").
	OnCall func(req agent.Request)
	// Hang, if non-nil and true for req, makes the call block until its
	// context is done and return ctx.Err(), as a provider that never
	// answers (e.g. only in the vote phase).
	Hang func(req agent.Request) bool
	// Fail, if non-nil and returning an error for req, makes the call fail
	// with that error after Delay (e.g. only in PhaseVote of round 2).
	Fail func(req agent.Request) error
}

// ScriptedAgent answers calls as its Script says and records every call.
// Create it with [Scripted]. It is safe for concurrent use; its zero value
// behaves like Scripted(Script{}).
type ScriptedAgent struct {
	script Script

	mu    sync.Mutex
	calls []agent.Request
}

var _ agent.Agent = (*ScriptedAgent)(nil)

// Scripted returns an agent that answers by phase and round as s says.
// The Script's slices are copied, so later changes to s have no effect.
func Scripted(s Script) *ScriptedAgent {
	s.Proposals = append([]string(nil), s.Proposals...)
	s.Votes = append([]string(nil), s.Votes...)
	return &ScriptedAgent{script: s}
}

// Calls returns a copy of the requests received so far, in arrival order,
// including those that failed or hung.
func (a *ScriptedAgent) Calls() []agent.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]agent.Request(nil), a.calls...)
}

// CallsIn returns the recorded requests of phase p, in arrival order.
func (a *ScriptedAgent) CallsIn(p agent.Phase) []agent.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []agent.Request
	for _, r := range a.calls {
		if r.Phase == p {
			out = append(out, r)
		}
	}
	return out
}

// Respond records req, then answers it as the Script says.
func (a *ScriptedAgent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	a.mu.Lock()
	a.calls = append(a.calls, req)
	a.mu.Unlock()

	s := &a.script
	if s.OnCall != nil {
		s.OnCall(req)
	}
	if err := ctx.Err(); err != nil {
		return agent.Response{}, err
	}
	if s.Hang != nil && s.Hang(req) {
		<-ctx.Done()
		return agent.Response{}, ctx.Err()
	}
	if err := agent.Sleep(ctx, s.Delay); err != nil {
		return agent.Response{}, err
	}
	if s.Fail != nil {
		if err := s.Fail(req); err != nil {
			return agent.Response{}, err
		}
	}
	model := s.Model
	if model == "" {
		model = ModelScripted
	}
	return agent.Response{Text: a.reply(req), Usage: s.Usage, CostUSD: s.CostUSD, Model: model}, nil
}

// reply renders the Script's answer to req.
func (a *ScriptedAgent) reply(req agent.Request) string {
	s := &a.script
	switch req.Phase {
	case agent.PhaseCritique:
		if s.Critique != "" {
			return s.Critique
		}
		return plainjson.Marshal(struct {
			Issues      []string `json:"issues"`
			Suggestions []string `json:"suggestions"`
			Severity    float64  `json:"severity"`
			Reasoning   string   `json:"reasoning"`
		}{
			Issues:      []string{fmt.Sprintf("The proposal of %s leaves its assumptions implicit.", orDefault(req.Target, "the target"))},
			Suggestions: []string{"State the assumptions and the expected costs."},
			Severity:    5,
			Reasoning:   "Scripted critique.",
		})
	case agent.PhaseVote:
		choice := byRound(s.Votes, req.Round)
		if len(s.Votes) == 0 {
			choice = defaultChoice(req)
		}
		conf := s.VoteConfidence
		switch {
		case s.ZeroConfidence:
			conf = 0
		case conf == 0:
			conf = DefaultVoteConfidence
		}
		return plainjson.Marshal(struct {
			Choice     string  `json:"choice"`
			Confidence float64 `json:"confidence"`
			Reasoning  string  `json:"reasoning"`
		}{choice, conf, "Scripted vote."})
	case agent.PhaseJudge:
		if s.Judge != "" {
			return s.Judge
		}
		return plainjson.Marshal(struct {
			Decided    bool    `json:"decided"`
			Choice     string  `json:"choice"`
			Confidence float64 `json:"confidence"`
			Reasoning  string  `json:"reasoning"`
			Answer     string  `json:"answer"`
		}{true, firstProposal(req).Agent, DefaultVoteConfidence, "Scripted judgement.", ""})
	case agent.PhaseSynthesize:
		if s.Synthesis != "" {
			return s.Synthesis
		}
		return plainjson.Marshal(struct {
			Answer     string  `json:"answer"`
			Confidence float64 `json:"confidence"`
		}{orDefault(firstProposal(req).Text, "Scripted synthesis."), DefaultVoteConfidence})
	default: // propose, revise and anything else
		if len(s.Proposals) > 0 {
			return byRound(s.Proposals, req.Round)
		}
		return defaultProposal(req.Participant)
	}
}

// byRound returns list[round-1], clamped to the list; "" for an empty list.
func byRound(list []string, round int) string {
	if len(list) == 0 {
		return ""
	}
	return list[min(max(round-1, 0), len(list)-1)]
}

func defaultChoice(req agent.Request) string {
	for _, p := range req.Proposals {
		if !strings.EqualFold(p.Agent, req.Participant) {
			return p.Agent
		}
	}
	if len(req.Proposals) > 0 {
		return req.Proposals[0].Agent
	}
	return req.Participant
}

func firstProposal(req agent.Request) agent.Proposal {
	if len(req.Proposals) > 0 {
		return req.Proposals[0]
	}
	return agent.Proposal{}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// defaultProposal builds a proposal whose words are picked by a hash of
// name, so that different names give texts that do not look alike to the
// similarity measures of docs/debate.md#convergence.
func defaultProposal(name string) string {
	proposalWords := [...]string{
		"postgres", "sqlite", "kafka", "queue", "cache", "shard", "replica", "index",
		"budget", "pilot", "rollout", "canary", "audit", "backup", "latency", "throughput",
		"vendor", "licence", "migration", "schema", "cluster", "region", "failover", "quorum",
		"monolith", "service", "gateway", "tenant", "billing", "compliance", "training", "roadmap",
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	x := h.Sum64()
	words := make([]string, 0, 8)
	for range 8 {
		words = append(words, proposalWords[x%uint64(len(proposalWords))])
		x = x/uint64(len(proposalWords)) ^ (x << 7) ^ 0x9e3779b97f4a7c15
	}
	return fmt.Sprintf("%s proposes: %s.", orDefault(name, "agent"), strings.Join(words, " "))
}

// ErrFailing is the error of Failing(nil).
var ErrFailing = errors.New("agenttest: failing agent")

// Failing returns an agent whose every call fails with err, even when its
// context is done; a nil err means ErrFailing.
func Failing(err error) agent.Agent {
	if err == nil {
		err = ErrFailing
	}
	return agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{}, err
	})
}

// Hang returns an agent whose every call blocks until its context is done
// and then returns ctx.Err(), like a provider that never answers.
func Hang() agent.Agent {
	return agent.Func(func(ctx context.Context, _ agent.Request) (agent.Response, error) {
		<-ctx.Done()
		return agent.Response{}, ctx.Err()
	})
}

// Replies of Malformed by phase. None contains a letter or digit, so no
// participant name can be read from them as a whole word.
const (
	malformedVote      = `{"": [[ ?? :: ,`
	malformedCritique  = `{"issues": ["unterminated`
	malformedJudge     = `{"decided": true, "choice": `
	malformedSynthesis = `{"answer": `
)

// Malformed returns an agent whose replies are unusable: an empty text for
// proposals and revisions (an invalid_response, docs/agents.md#phases-and-reply-formats), and broken
// JSON for critiques, votes, judgements and syntheses. Its vote replies
// contain no letter or digit, so no choice can be read from them; its
// critiques and syntheses go down the parsing fallbacks, and its judgements
// have no usable choice. Calls succeed at the transport level: the error is
// in the text.
func Malformed() agent.Agent {
	return agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
		if err := ctx.Err(); err != nil {
			return agent.Response{}, err
		}
		var text string
		switch req.Phase {
		case agent.PhaseVote:
			text = malformedVote
		case agent.PhaseCritique:
			text = malformedCritique
		case agent.PhaseJudge:
			text = malformedJudge
		case agent.PhaseSynthesize:
			text = malformedSynthesis
		}
		return agent.Response{Text: text, Model: ModelMalformed}, nil
	})
}

// Flaky returns an agent whose first n calls fail with err (ErrFailing if
// nil) and whose later calls go to next. Calls are counted across
// goroutines; a call whose context is already done returns ctx.Err() and
// is not counted.
func Flaky(n int, err error, next agent.Agent) agent.Agent {
	if err == nil {
		err = ErrFailing
	}
	var count atomic.Int64
	return agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
		if cerr := ctx.Err(); cerr != nil {
			return agent.Response{}, cerr
		}
		if count.Add(1) <= int64(n) {
			return agent.Response{}, err
		}
		return next.Respond(ctx, req)
	})
}

// WithLatency returns an agent that waits d before passing each call to a.
// If the context ends first, the call returns ctx.Err() without calling a.
func WithLatency(d time.Duration, a agent.Agent) agent.Agent {
	return agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
		if err := agent.Sleep(ctx, d); err != nil {
			return agent.Response{}, err
		}
		return a.Respond(ctx, req)
	})
}

// Streaming returns a as an agent.Streamer: RespondStream calls a.Respond
// and then delivers its reply in word chunks (each word with the whitespace
// before the next), whose concatenation is Response.Text. A failed call
// delivers no chunk. If the context ends between chunks, RespondStream
// returns ctx.Err().
func Streaming(a agent.Agent) agent.Streamer {
	return streaming{a}
}

type streaming struct{ agent.Agent }

func (s streaming) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	return wordstream.Respond(ctx, req, s.Respond, onChunk)
}

// ServerError returns the *agent.ProviderError of a provider answering with
// status (a 5xx for agent.KindServer; the message mentions no quota).
func ServerError(provider string, status int) error {
	return &agent.ProviderError{Provider: provider, StatusCode: status,
		Err: fmt.Errorf("agenttest: server error %d", status)}
}

// QuotaError returns the *agent.ProviderError of a provider refusing a call
// for exhausted quota: status 429 wrapping agent.ErrQuotaExhausted, so
// agent.KindOf reports agent.KindQuotaExhausted and it is never retried.
func QuotaError(provider string) error {
	return &agent.ProviderError{Provider: provider, StatusCode: 429,
		Err: fmt.Errorf("%w: insufficient_quota", agent.ErrQuotaExhausted)}
}

// RateLimitError returns the *agent.ProviderError of a provider 429 that
// wraps agent.ErrRateLimited with the hint retryAfter (0 for none).
func RateLimitError(provider string, retryAfter time.Duration) error {
	return &agent.ProviderError{Provider: provider, StatusCode: 429, RetryAfter: retryAfter,
		Err: fmt.Errorf("%w: slow down", agent.ErrRateLimited)}
}

// AuthError returns the *agent.ProviderError of a provider 401 that wraps
// agent.ErrAuth.
func AuthError(provider string) error {
	return &agent.ProviderError{Provider: provider, StatusCode: 401,
		Err: fmt.Errorf("%w: invalid api key", agent.ErrAuth)}
}

// ConnectionError returns the *agent.ProviderError of a provider that could
// not be reached (StatusCode 0), which agent.KindOf reports as
// agent.KindServer and agent.Retryable retries.
func ConnectionError(provider string) error {
	return &agent.ProviderError{Provider: provider, StatusCode: 0,
		Err: errors.New("agenttest: connection refused")}
}
