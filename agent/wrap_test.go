package agent_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

// full has every optional capability and describes itself.
type full struct{ calls []agent.Capability }

func (f *full) Respond(context.Context, agent.Request) (agent.Response, error) {
	f.calls = append(f.calls, agent.CapRespond)
	return agent.Response{Text: "text"}, nil
}

func (f *full) RespondStream(_ context.Context, _ agent.Request, onChunk func(string)) (agent.Response, error) {
	f.calls = append(f.calls, agent.CapStream)
	onChunk("te")
	onChunk("xt")
	return agent.Response{Text: "text"}, nil
}

func (f *full) Critique(_ context.Context, req agent.Request) (agent.Critique, agent.Usage, error) {
	f.calls = append(f.calls, agent.CapCritique)
	return agent.Critique{Target: req.Target, Severity: 7}, agent.Usage{InputTokens: 1}, nil
}

func (f *full) Vote(context.Context, agent.Request) (agent.Vote, agent.Usage, error) {
	f.calls = append(f.calls, agent.CapVote)
	return agent.Vote{Choice: "ada", Confidence: 0.9}, agent.Usage{InputTokens: 2}, nil
}

func (f *full) Judge(context.Context, agent.Request) (agent.Judgement, agent.Usage, error) {
	f.calls = append(f.calls, agent.CapJudge)
	return agent.Judgement{Decided: true, Choice: "bob"}, agent.Usage{InputTokens: 3}, nil
}

func (f *full) Describe() agent.Info { return agent.Info{Provider: "acme", Model: "acme-1"} }

// through counts the calls a policy saw.
func through(seen *[]agent.Capability) agent.Policy {
	return func(ctx context.Context, c agent.Call) (agent.Response, error) {
		*seen = append(*seen, c.Capability)
		return c.Next(ctx)
	}
}

func TestWrapKeepsCapabilitiesAndRoutesThroughPolicy(t *testing.T) {
	t.Parallel()
	inner := &full{}
	var seen []agent.Capability
	w := agent.Wrap(inner, through(&seen))
	assert.Equal(t, agent.AllCapabilities, agent.Capabilities(w))

	ctx := context.Background()
	req := agent.Request{Target: "bob"}
	resp, err := w.Respond(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "text", resp.Text)

	var chunks []string
	resp, err = w.(agent.Streamer).RespondStream(ctx, req, func(s string) { chunks = append(chunks, s) })
	require.NoError(t, err)
	assert.Equal(t, []string{"te", "xt"}, chunks)
	assert.Equal(t, "text", resp.Text)

	cr, u, err := w.(agent.Critic).Critique(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, agent.Critique{Target: "bob", Severity: 7}, cr)
	assert.Equal(t, 1, u.InputTokens)

	v, u, err := w.(agent.Voter).Vote(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, agent.Vote{Choice: "ada", Confidence: 0.9}, v)
	assert.Equal(t, 2, u.InputTokens)

	j, u, err := w.(agent.Judge).Judge(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, agent.Judgement{Decided: true, Choice: "bob"}, j)
	assert.Equal(t, 3, u.InputTokens)

	assert.Equal(t, agent.AllCapabilities, seen, "every call went through the policy")
	assert.Equal(t, agent.AllCapabilities, inner.calls, "and reached the agent through its own method")

	info, ok := agent.InfoOf(agent.Wrap(w, through(&seen)))
	assert.True(t, ok)
	assert.Equal(t, agent.Info{Provider: "acme", Model: "acme-1"}, info, "InfoOf looks through middleware")
}

func TestWrapAddsNoCapability(t *testing.T) {
	t.Parallel()
	var seen []agent.Capability
	w := agent.Wrap(agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{Text: "plain"}, nil
	}), through(&seen))
	assert.Equal(t, []agent.Capability{agent.CapRespond}, agent.Capabilities(w))
	_, ok := agent.InfoOf(w)
	assert.False(t, ok, "nothing in the chain describes itself")
}

func TestWrapPolicyWithoutStructuredValue(t *testing.T) {
	t.Parallel()
	// A policy that answers a vote with a Response of its own loses the vote.
	w := agent.Wrap(&full{}, func(ctx context.Context, c agent.Call) (agent.Response, error) {
		if _, err := c.Next(ctx); err != nil {
			return agent.Response{}, err
		}
		return agent.Response{Text: "cached"}, nil
	})
	_, _, err := w.(agent.Voter).Vote(context.Background(), agent.Request{})
	require.ErrorIs(t, err, agent.ErrInvalidResponse)
	assert.Equal(t, agent.KindInvalidResponse, agent.KindOf(err))
}

func TestCallOnAnotherAgent(t *testing.T) {
	t.Parallel()
	plain := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{Text: "plain"}, nil
	})
	var c agent.Call
	policy := func(_ context.Context, call agent.Call) (agent.Response, error) {
		c = call
		return agent.Response{}, errors.New("stop")
	}

	_, _, _ = agent.Wrap(&full{}, policy).(agent.Voter).Vote(context.Background(), agent.Request{})
	assert.Equal(t, agent.CapVote, c.Capability)
	assert.False(t, c.Supported(plain), "a plain agent cannot vote structurally")
	_, err := c.On(context.Background(), plain)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	assert.True(t, c.Supported(&full{}))

	_, _ = agent.Wrap(&full{}, policy).(agent.Streamer).RespondStream(context.Background(), agent.Request{}, func(string) {})
	assert.Equal(t, agent.CapStream, c.Capability)
	assert.True(t, c.Supported(plain), "a stream falls back to Respond")
	resp, err := c.On(context.Background(), plain)
	require.NoError(t, err)
	assert.Equal(t, "plain", resp.Text)
}
