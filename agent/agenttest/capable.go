package agenttest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

// ModelCapable is the model a [Capable] agent reports.
const ModelCapable = "agenttest-capable"

// Answers of a Capable agent, by capability.
var (
	CapableText      = "capable reply"
	CapableChunks    = []string{"capable ", "reply"}
	CapableCritique  = agent.Critique{Issues: []string{"capable issue"}, Severity: 4}
	CapableVote      = agent.Vote{Choice: "capable-choice", Confidence: 0.75}
	CapableJudgement = agent.Judgement{Decided: true, Choice: "capable-choice", Confidence: 0.9}
	CapableUsage     = agent.Usage{InputTokens: 3, OutputTokens: 2}
)

// CapableCall is one call a [Capable] agent received.
type CapableCall struct {
	Capability agent.Capability
	Request    agent.Request
	// Deadline is the call context's deadline; zero without one.
	Deadline time.Time
}

// Capable is a fake agent with every optional capability (agent.Streamer,
// agent.Critic, agent.Voter, agent.Judge and agent.Describer), for tests of
// middleware: it records each call with the method it came through, and
// answers with the Capable* values (a critique's Target is the request's).
// [WithOnly] narrows it to fewer capabilities. It is safe for concurrent
// use; the zero value answers every call.
type Capable struct {
	// Err, when set, is returned by the first FailFirst calls (every call
	// when FailFirst is 0) instead of an answer.
	Err       error
	FailFirst int

	mu    sync.Mutex
	calls []CapableCall
}

var (
	_ agent.Streamer  = (*Capable)(nil)
	_ agent.Critic    = (*Capable)(nil)
	_ agent.Voter     = (*Capable)(nil)
	_ agent.Judge     = (*Capable)(nil)
	_ agent.Describer = (*Capable)(nil)
)

// Calls returns the calls received so far, in arrival order.
func (a *Capable) Calls() []CapableCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// record logs a call and returns the error it must fail with, if any.
func (a *Capable) record(ctx context.Context, c agent.Capability, req agent.Request) error {
	dl, _ := ctx.Deadline()
	a.mu.Lock()
	a.calls = append(a.calls, CapableCall{Capability: c, Request: req, Deadline: dl})
	n := len(a.calls)
	a.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.Err != nil && (a.FailFirst == 0 || n <= a.FailFirst) {
		return a.Err
	}
	return nil
}

// Describe names the fake's provider and model.
func (a *Capable) Describe() agent.Info {
	return agent.Info{Provider: "agenttest", Model: ModelCapable}
}

// Respond answers CapableText.
func (a *Capable) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	if err := a.record(ctx, agent.CapRespond, req); err != nil {
		return agent.Response{}, err
	}
	return agent.Response{Text: CapableText, Usage: CapableUsage, Model: ModelCapable, Provider: "agenttest"}, nil
}

// RespondStream delivers CapableChunks, then answers CapableText.
func (a *Capable) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	if err := a.record(ctx, agent.CapStream, req); err != nil {
		return agent.Response{}, err
	}
	for _, c := range CapableChunks {
		onChunk(c)
	}
	return agent.Response{Text: CapableText, Usage: CapableUsage, Model: ModelCapable, Provider: "agenttest"}, nil
}

// Critique answers CapableCritique aimed at req.Target.
func (a *Capable) Critique(ctx context.Context, req agent.Request) (agent.Critique, agent.Usage, error) {
	if err := a.record(ctx, agent.CapCritique, req); err != nil {
		return agent.Critique{}, agent.Usage{}, err
	}
	c := CapableCritique
	c.Target, c.Critic = req.Target, req.Participant
	c.Issues = slices.Clone(c.Issues)
	return c, CapableUsage, nil
}

// Vote answers CapableVote.
func (a *Capable) Vote(ctx context.Context, req agent.Request) (agent.Vote, agent.Usage, error) {
	if err := a.record(ctx, agent.CapVote, req); err != nil {
		return agent.Vote{}, agent.Usage{}, err
	}
	return CapableVote, CapableUsage, nil
}

// Judge answers CapableJudgement.
func (a *Capable) Judge(ctx context.Context, req agent.Request) (agent.Judgement, agent.Usage, error) {
	if err := a.record(ctx, agent.CapJudge, req); err != nil {
		return agent.Judgement{}, agent.Usage{}, err
	}
	return CapableJudgement, CapableUsage, nil
}

// WithOnly returns an agent that forwards to a but has only the optional
// capabilities among caps that a has (agent.CapRespond is implied), and an
// Unwrap method returning a. It builds the agents of every capability set
// a middleware must preserve.
func WithOnly(a agent.Agent, caps ...agent.Capability) agent.Agent {
	f := agent.Funcs{Respond: a.Respond, Unwrapped: a}
	keep := func(c agent.Capability) bool { return slices.Contains(caps, c) && agent.Has(a, c) }
	if keep(agent.CapStream) {
		f.RespondStream = a.(agent.Streamer).RespondStream
	}
	if keep(agent.CapCritique) {
		f.Critique = a.(agent.Critic).Critique
	}
	if keep(agent.CapVote) {
		f.Vote = a.(agent.Voter).Vote
	}
	if keep(agent.CapJudge) {
		f.Judge = a.(agent.Judge).Judge
	}
	return f.Agent()
}

// CapabilitySets returns every set of optional capabilities (the 16
// subsets of Streamer, Critic, Voter and Judge), each with CapRespond first.
func CapabilitySets() [][]agent.Capability {
	opt := []agent.Capability{agent.CapStream, agent.CapCritique, agent.CapVote, agent.CapJudge}
	out := make([][]agent.Capability, 0, 16)
	for mask := range 16 {
		set := []agent.Capability{agent.CapRespond}
		for i, c := range opt {
			if mask&(1<<i) != 0 {
				set = append(set, c)
			}
		}
		out = append(out, set)
	}
	return out
}

// CapabilityRequest is the request Invoke sends.
var CapabilityRequest = agent.Request{DebateID: "deb_capability", Participant: "capable", Phase: agent.PhaseVote,
	Round: 1, Rounds: 1, Prompt: "capability prompt", Target: "target", Participants: []string{"capable", "target"}}

// Invoke calls a through capability c with CapabilityRequest and returns
// what the caller received, normalised to a Response: the streamed chunks
// joined for CapStream, the structured value's fields as Text for the
// structural capabilities. a must have c.
func Invoke(ctx context.Context, a agent.Agent, c agent.Capability) (text string, usage agent.Usage, err error) {
	req := CapabilityRequest
	switch c {
	case agent.CapStream:
		var got []string
		resp, err := a.(agent.Streamer).RespondStream(ctx, req, func(s string) { got = append(got, s) })
		if err == nil && slices.Equal(got, CapableChunks) {
			return resp.Text, resp.Usage, nil
		}
		return resp.Text + " chunks " + joinQuoted(got), resp.Usage, err
	case agent.CapCritique:
		cr, u, err := a.(agent.Critic).Critique(ctx, req)
		return "critique " + cr.Target + " " + joinQuoted(cr.Issues), u, err
	case agent.CapVote:
		v, u, err := a.(agent.Voter).Vote(ctx, req)
		return "vote " + v.Choice, u, err
	case agent.CapJudge:
		j, u, err := a.(agent.Judge).Judge(ctx, req)
		return "judge " + j.Choice, u, err
	}
	resp, err := a.Respond(ctx, req)
	return resp.Text, resp.Usage, err
}

// CapableAnswer is what Invoke returns for capability c of a Capable agent.
func CapableAnswer(c agent.Capability) string {
	switch c {
	case agent.CapCritique:
		return "critique " + CapabilityRequest.Target + " " + joinQuoted(CapableCritique.Issues)
	case agent.CapVote:
		return "vote " + CapableVote.Choice
	case agent.CapJudge:
		return "judge " + CapableJudgement.Choice
	}
	return CapableText
}

func joinQuoted(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += "\"" + s + "\""
	}
	return "[" + out + "]"
}

// CheckMiddleware checks that mw keeps every capability set: for each of
// the 16 sets of optional capabilities, the agent mw returns around a
// [Capable] narrowed to that set has exactly that set, and a call through
// each capability reaches the wrapped agent through the same method (a
// vote stays a vote, never a Respond) and hands its answer back unchanged.
// It checks what every capability-preserving middleware must do; whether
// the middleware's own policy applies to each capability is for the
// middleware's tests to check. mw must let a successful call through.
func CheckMiddleware(t *testing.T, mw agent.Middleware) {
	t.Helper()
	for _, set := range CapabilitySets() {
		inner := &Capable{}
		next := WithOnly(inner, set...)
		got := mw(next)
		require.Equal(t, set, agent.Capabilities(got), "capabilities of the wrapped agent")
		info, ok := agent.InfoOf(got)
		assert.True(t, ok, "agent.InfoOf sees through the middleware")
		assert.Equal(t, ModelCapable, info.Model)
		for _, c := range set {
			before := len(inner.Calls())
			text, usage, err := Invoke(context.Background(), got, c)
			require.NoError(t, err, "capability %s of set %v", c, set)
			assert.Equal(t, CapableAnswer(c), text, "answer through capability %s", c)
			assert.Equal(t, CapableUsage, usage, "usage through capability %s", c)
			calls := inner.Calls()[before:]
			require.NotEmpty(t, calls, "capability %s reached the wrapped agent", c)
			for _, call := range calls {
				assert.Equal(t, c, call.Capability, "capability %s reached the wrapped agent through its own method", c)
			}
		}
	}
}
