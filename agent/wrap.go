package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/aragora/aragora/internal/enum"
)

// Capability names one way of calling an agent: [Agent.Respond], which
// every agent has, or the method of one of the optional interfaces. Its
// text and JSON form is its name; decoding and [ParseCapability] reject an
// unknown name.
type Capability string

// Capabilities, in the order [Capabilities] lists them.
const (
	CapRespond  Capability = "respond"  // Agent.Respond
	CapStream   Capability = "stream"   // Streamer.RespondStream
	CapCritique Capability = "critique" // Critic.Critique
	CapVote     Capability = "vote"     // Voter.Vote
	CapJudge    Capability = "judge"    // Judge.Judge
)

// AllCapabilities lists every Capability, CapRespond first.
var AllCapabilities = []Capability{CapRespond, CapStream, CapCritique, CapVote, CapJudge}

// ParseCapability returns the Capability named s; an unknown name is an error.
func ParseCapability(s string) (Capability, error) {
	return enum.Parse("agent: capability", s, AllCapabilities)
}

func (c Capability) String() string { return string(c) }

// MarshalText returns c's name.
func (c Capability) MarshalText() ([]byte, error) { return []byte(c), nil }

// UnmarshalText sets c from its name, rejecting an unknown one.
func (c *Capability) UnmarshalText(b []byte) error {
	return enum.Unmarshal(c, b, "agent: capability", AllCapabilities)
}

// Structural reports whether c is answered with a structured value rather
// than text: CapCritique, CapVote or CapJudge.
func (c Capability) Structural() bool {
	return c == CapCritique || c == CapVote || c == CapJudge
}

// Has reports whether a implements c. Every agent has CapRespond.
func Has(a Agent, c Capability) bool {
	var ok bool
	switch c {
	case CapRespond:
		ok = a != nil
	case CapStream:
		_, ok = a.(Streamer)
	case CapCritique:
		_, ok = a.(Critic)
	case CapVote:
		_, ok = a.(Voter)
	case CapJudge:
		_, ok = a.(Judge)
	}
	return ok
}

// Capabilities returns the capabilities a implements, CapRespond first.
func Capabilities(a Agent) []Capability {
	var out []Capability
	for _, c := range AllCapabilities {
		if Has(a, c) {
			out = append(out, c)
		}
	}
	return out
}

// Call is one call of an agent as a [Policy] sees it, whatever the method
// the caller used. A Policy receives its own copy, so it may change Request
// or OnChunk before making the call.
type Call struct {
	// Capability is the method the caller used.
	Capability Capability
	// Request is the caller's request.
	Request Request
	// OnChunk receives the chunks of a CapStream call; it is nil for every
	// other capability. A Policy may replace it to observe the chunks (it
	// must still pass them on).
	OnChunk func(chunk string)

	next Agent
}

// Next makes the call on the agent the middleware wraps.
func (c Call) Next(ctx context.Context) (Response, error) { return c.On(ctx, c.next) }

// Supported reports whether [Call.On] can make c on a: always for
// CapRespond and CapStream (a CapStream call on an agent that cannot
// stream is made with Respond, delivering no chunk), and for a structural
// call only when a implements that capability.
func (c Call) Supported(a Agent) bool {
	return a != nil && (!c.Capability.Structural() || Has(a, c.Capability))
}

// On makes the call on a, which may be another agent than the wrapped one
// (a fallback, say), with the same method when a has it: RespondStream for
// a CapStream call on a Streamer, else Respond; Critique, Vote or Judge for
// a structural call. A structural call on an agent lacking the capability
// fails with an error wrapping [errors.ErrUnsupported]; check with
// [Call.Supported] first. For a structural call the Response carries the
// structured value (which the wrapper hands back to its caller) and the
// call's Usage; its other fields are zero.
func (c Call) On(ctx context.Context, a Agent) (Response, error) {
	switch c.Capability {
	case CapStream:
		if s, ok := a.(Streamer); ok {
			onChunk := c.OnChunk
			if onChunk == nil {
				onChunk = func(string) {}
			}
			return s.RespondStream(ctx, c.Request, onChunk)
		}
	case CapCritique:
		if cr, ok := a.(Critic); ok {
			v, u, err := cr.Critique(ctx, c.Request)
			return Response{Usage: u, native: &v}, err
		}
		return Response{}, unsupported(a, c.Capability)
	case CapVote:
		if vo, ok := a.(Voter); ok {
			v, u, err := vo.Vote(ctx, c.Request)
			return Response{Usage: u, native: &v}, err
		}
		return Response{}, unsupported(a, c.Capability)
	case CapJudge:
		if j, ok := a.(Judge); ok {
			v, u, err := j.Judge(ctx, c.Request)
			return Response{Usage: u, native: &v}, err
		}
		return Response{}, unsupported(a, c.Capability)
	}
	return a.Respond(ctx, c.Request)
}

func unsupported(a Agent, c Capability) error {
	return fmt.Errorf("agent: %T has no %s capability: %w", a, c, errors.ErrUnsupported)
}

// Policy is the behaviour of a middleware, written once for every method
// of the agent it wraps. It receives each call — Respond, RespondStream,
// Critique, Vote or Judge — and makes it with [Call.Next] (any number of
// times, as a retry does, or not at all, as an open circuit does) or with
// [Call.On] on another agent. It returns the Response of the call it
// settled on, unchanged but for the exported fields it sets (Attempts,
// Fallback, …): for a structural call that Response carries the structured
// value back to the caller. A Policy must be safe for concurrent use.
type Policy func(ctx context.Context, c Call) (Response, error)

// Wrap returns an agent that routes every call of next through p and has
// exactly the optional capabilities of next: it is a [Streamer], [Critic],
// [Voter] or [Judge] when next is one, so a middleware written with Wrap
// keeps streaming and structural answers, and applies its policy (a
// timeout, a retry, a circuit breaker, a rate limit, a metric) to them
// too. The result also has an Unwrap() Agent method returning next, which
// [InfoOf] follows.
//
// When p returns no error but no structured value for a structural call
// (it built a new Response instead of returning the call's), the call
// fails with an error wrapping [ErrInvalidResponse].
func Wrap(next Agent, p Policy) Agent {
	call := func(ctx context.Context, c Capability, req Request, onChunk func(string)) (Response, error) {
		return p(ctx, Call{Capability: c, Request: req, OnChunk: onChunk, next: next})
	}
	f := Funcs{
		Respond: func(ctx context.Context, req Request) (Response, error) {
			return call(ctx, CapRespond, req, nil)
		},
		Unwrapped: next,
	}
	if Has(next, CapStream) {
		f.RespondStream = func(ctx context.Context, req Request, onChunk func(string)) (Response, error) {
			return call(ctx, CapStream, req, onChunk)
		}
	}
	if Has(next, CapCritique) {
		f.Critique = func(ctx context.Context, req Request) (Critique, Usage, error) {
			resp, err := call(ctx, CapCritique, req, nil)
			return structured[Critique](resp, err, CapCritique)
		}
	}
	if Has(next, CapVote) {
		f.Vote = func(ctx context.Context, req Request) (Vote, Usage, error) {
			resp, err := call(ctx, CapVote, req, nil)
			return structured[Vote](resp, err, CapVote)
		}
	}
	if Has(next, CapJudge) {
		f.Judge = func(ctx context.Context, req Request) (Judgement, Usage, error) {
			resp, err := call(ctx, CapJudge, req, nil)
			return structured[Judgement](resp, err, CapJudge)
		}
	}
	return f.Agent()
}

// structured extracts the structured value of a structural call's Response.
func structured[T any](resp Response, err error, c Capability) (T, Usage, error) {
	v, ok := resp.native.(*T)
	if err != nil {
		var zero T
		if ok && v != nil {
			zero = *v
		}
		return zero, resp.Usage, err
	}
	if !ok || v == nil {
		var zero T
		return zero, resp.Usage, fmt.Errorf("%w: middleware returned no %s", ErrInvalidResponse, c)
	}
	return *v, resp.Usage, nil
}
